// Comments, enhanced: posting works without this file (a plain form POST and a redirect).
// With it: a token fetched at page load (so the minimum fill time counts from now, not
// from when the cached page was rendered), replies written in place, posting without
// leaving the page.
(function () {
  "use strict";
  var section = document.querySelector("section.comments[data-token-url]");
  var form = section && section.querySelector("form.comment-form");
  if (!form) return;
  var tokenField = form.querySelector("input[name=token]");
  var parentField = form.querySelector("input[name=parent]");
  var title = form.querySelector(".comment-form-title");
  var originalTitle = title ? title.textContent : "";
  var home = form.parentNode;

  // The page carries the script's words as text, so they read in the page's variant.
  function label(name, fallback) {
    var found = section.querySelector(".comment-labels [data-label=" + name + "]");
    return found ? found.textContent : fallback;
  }
  var homeNext = form.nextSibling;

  function refreshToken() {
    return fetch(section.getAttribute("data-token-url"), {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) { if (data && data.token) tokenField.value = data.token; })
      .catch(function () { /* keep the page's own token */ });
  }

  function notice(message, isError) {
    var box = section.querySelector(".comment-notice");
    if (!box) {
      box = document.createElement("p");
      box.className = "comment-notice";
      box.setAttribute("role", "status");
      form.insertBefore(box, form.firstChild);
    }
    box.textContent = message;
    box.classList.toggle("comment-error", Boolean(isError));
  }

  // "N 条评论": the heading's leading number counts the comment just inserted.
  function countOneMore() {
    var heading = section.querySelector("#comments-title");
    var text = heading && heading.firstChild;
    if (!text || text.nodeType !== 3) return;
    var match = /^(\d+)/.exec(text.nodeValue);
    if (match) text.nodeValue = String(Number(match[1]) + 1) + text.nodeValue.slice(match[1].length);
  }

  function cancelReply() {
    parentField.value = "";
    if (title) title.textContent = originalTitle;
    home.insertBefore(form, homeNext);
  }

  section.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("a.comment-reply") : null;
    if (!link) return;
    event.preventDefault();
    parentField.value = link.getAttribute("data-reply-to");
    var name = link.getAttribute("data-reply-name");
    if (title) title.textContent = label("reply", "回复") + " " + name;
    link.closest("article").appendChild(form);
    var cancel = form.querySelector(".comment-cancel");
    if (!cancel) {
      cancel = document.createElement("button");
      cancel.type = "button";
      cancel.className = "comment-cancel";
      cancel.textContent = label("cancel", "取消回复");
      cancel.addEventListener("click", cancelReply);
      form.querySelector("button[type=submit]").parentNode.appendChild(cancel);
    }
    form.querySelector("textarea").focus();
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.error) {
          notice(data.error, true);
          if (data.token) tokenField.value = data.token;
          return;
        }
        notice(data.message, false);
        if (data.html) {
          var holder = document.createElement("ol");
          holder.innerHTML = data.html;
          var item = holder.firstElementChild;
          var parentId = parentField.value;
          var list;
          if (parentId) {
            var parent = document.getElementById("comment-" + parentId);
            list = parent.querySelector(":scope > ol.comment-replies");
            if (!list) {
              list = document.createElement("ol");
              list.className = "comment-replies";
              parent.appendChild(list);
            }
          } else {
            list = section.querySelector("ol.comment-list");
            if (!list) {
              list = document.createElement("ol");
              list.className = "comment-list";
              home.insertBefore(list, form);
            }
          }
          list.appendChild(item);
          countOneMore();
        }
        form.querySelector("textarea").value = "";
        cancelReply();
        return refreshToken();
      })
      .catch(function () { form.submit(); })
      .then(function () { button.disabled = false; });
  });

  // Preview: the server renders the draft exactly as it would store it (math, code).
  var previewUrl = section.getAttribute("data-preview-url");
  var submitRow = form.querySelector("button[type=submit]").parentNode;
  if (previewUrl) {
    var previewButton = document.createElement("button");
    previewButton.type = "button";
    previewButton.className = "comment-preview-button";
    previewButton.textContent = label("preview", "预览");
    submitRow.appendChild(previewButton);
    var previewBox = document.createElement("div");
    previewBox.className = "comment-preview comment-content";
    previewBox.hidden = true;
    submitRow.parentNode.insertBefore(previewBox, submitRow);
    previewButton.addEventListener("click", function () {
      var data = new FormData();
      data.append("body", form.querySelector("textarea").value);
      fetch(previewUrl, {
        method: "POST",
        body: data,
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      })
        .then(function (response) { return response.json(); })
        .then(function (result) {
          previewBox.hidden = false;
          if (result.error) {
            previewBox.textContent = result.error;
          } else {
            previewBox.innerHTML = result.html;
          }
        })
        .catch(function () { previewBox.hidden = true; });
    });
  }

  refreshToken();
})();
