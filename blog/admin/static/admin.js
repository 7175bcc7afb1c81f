// Live preview for the editor: posts the text (with the CSRF token) to the preview
// endpoint, which renders it through the same pipeline as the public page, and swaps in
// the returned sanitized HTML. Without JavaScript the "预览" button does the same.
(function () {
  "use strict";

  function start() {
    var source = document.getElementById("source");
    if (!source || !source.dataset.previewUrl) {
      return;
    }
    var target = document.getElementById(source.dataset.previewTarget);
    var form = source.form;
    var tokenMeta = document.querySelector('meta[name="csrf-token"]');
    var timer = null;
    var sequence = 0;

    function field(name) {
      var element = form.elements.namedItem(name);
      return element && "value" in element ? element.value : "";
    }

    function refresh() {
      var body = new FormData();
      body.append("source", source.value);
      body.append("title", field("title"));
      body.append("lang", field("lang"));
      body.append("kind", field("kind"));
      var mine = ++sequence;
      fetch(source.dataset.previewUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": tokenMeta ? tokenMeta.content : "" },
      })
        .then(function (response) {
          return response.json();
        })
        .then(function (data) {
          if (mine !== sequence) {
            return; // a newer preview request is on its way
          }
          if (data.html !== undefined) {
            target.innerHTML = data.html;
          } else {
            target.textContent = data.error || "预览失败";
          }
          target.dataset.previewSequence = String(mine);
        })
        .catch(function () {
          target.textContent = "预览失败：无法连接服务器";
        });
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 300);
    }

    source.addEventListener("input", schedule);
    ["title", "lang"].forEach(function (name) {
      var element = form.elements.namedItem(name);
      if (element) {
        element.addEventListener("change", schedule);
      }
    });
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
