// Adds a copy button to every highlighted code block. Progressive enhancement: without
// JavaScript the code is still there to select. Loaded with `defer`; no inline script.
(function () {
  "use strict";
  // The theme carries the button's words in the site's UI language (converted with the
  // page); a theme without them gets Chinese in the page's script.
  function label(name, fallback) {
    var found = document.querySelector(".script-labels [data-label=" + name + "]");
    return found ? found.textContent : fallback;
  }
  var traditional = /^zh-(hant|tw|hk|mo)/i.test(document.documentElement.lang || "");
  var LABEL = label("copy", traditional ? "複製" : "复制");
  var DONE = label("copied", traditional ? "已複製" : "已复制");

  function codeText(block) {
    var code = block.querySelector("pre code") || block.querySelector("pre");
    if (!code) return "";
    var copy = code.cloneNode(true);
    copy.querySelectorAll(".linenos").forEach(function (n) { n.remove(); });
    return copy.textContent;
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } finally { area.remove(); }
    return Promise.resolve();
  }

  function addButton(block) {
    var button = document.createElement("button");
    button.type = "button";
    button.className = "code-copy";
    button.textContent = LABEL;
    button.addEventListener("click", function () {
      var text = codeText(block);
      var copied = navigator.clipboard && window.isSecureContext
        ? navigator.clipboard.writeText(text)
        : fallbackCopy(text);
      copied.then(function () {
        button.textContent = DONE;
        setTimeout(function () { button.textContent = LABEL; }, 1500);
      });
    });
    block.appendChild(button);
  }

  document.querySelectorAll("figure.code-block").forEach(addButton);
})();
