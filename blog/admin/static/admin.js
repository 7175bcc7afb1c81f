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

    function refresh() {
      // The whole form, read on the server as a save reads it: front matter set outside
      // the text (conversion groups, language) renders in the preview as it will once saved.
      var body = new FormData(form);
      body.delete("password");
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
          // Plugins' scripts (diagrams) draw the new content: blog.api.CONTENT_REPLACED_EVENT.
          target.dispatchEvent(new CustomEvent("blog:content-replaced", { bubbles: true }));
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
    form.addEventListener("change", schedule);
    refresh();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

// Images dropped on or pasted into the editor: each is uploaded (same endpoint and CSRF
// header as the upload page) and its Markdown inserted where the cursor was when it
// arrived. Without JavaScript the upload page still gives the Markdown to copy.
(function () {
  "use strict";

  function start() {
    var source = document.getElementById("source");
    if (!source || !source.dataset.uploadUrl) {
      return;
    }
    var status = document.getElementById("upload-status");
    var tokenMeta = document.querySelector('meta[name="csrf-token"]');

    function say(text, failed) {
      if (status) {
        status.textContent = text;
        status.classList.toggle("upload-failed", Boolean(failed));
      }
    }

    function insertAtCursor(text) {
      var start = source.selectionStart;
      var end = source.selectionEnd;
      var before = source.value.slice(0, start);
      var after = source.value.slice(end);
      // An image is a paragraph of its own: blank lines around it unless already there.
      var lead = before === "" || /\n\n$/.test(before) ? "" : /\n$/.test(before) ? "\n" : "\n\n";
      var tail = after === "" || /^\n\n/.test(after) ? "" : /^\n/.test(after) ? "\n" : "\n\n";
      var block = lead + text + tail;
      source.setRangeText(block, start, end, "end");
      source.dispatchEvent(new Event("input", { bubbles: true }));
    }

    function upload(file) {
      var body = new FormData();
      body.append("file", file, file.name || "image");
      say("正在上传 " + (file.name || "图片") + "……");
      return fetch(source.dataset.uploadUrl, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": tokenMeta ? tokenMeta.content : "" },
      })
        .then(function (response) {
          return response.json().catch(function () {
            return { error: "上传失败（HTTP " + response.status + "）" };
          });
        })
        .then(function (data) {
          if (data.markdown) {
            insertAtCursor(data.markdown);
            say("已上传并插入：" + data.markdown);
          } else {
            say("上传失败：" + (data.error || "未知错误"), true);
          }
        })
        .catch(function () {
          say("上传失败：无法连接服务器", true);
        });
    }

    function images(list) {
      return Array.prototype.filter.call(list || [], function (file) {
        return /^image\//.test(file.type);
      });
    }

    function uploadAll(files) {
      // One after another, so several images land in the order they were given.
      files.reduce(function (previous, file) {
        return previous.then(function () {
          return upload(file);
        });
      }, Promise.resolve());
    }

    source.addEventListener("dragover", function (event) {
      if (event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0) {
        event.preventDefault();
        source.classList.add("drop-target");
      }
    });
    source.addEventListener("dragleave", function () {
      source.classList.remove("drop-target");
    });
    source.addEventListener("drop", function (event) {
      source.classList.remove("drop-target");
      var files = images(event.dataTransfer && event.dataTransfer.files);
      if (files.length === 0) {
        return;
      }
      event.preventDefault();
      source.focus();
      uploadAll(files);
    });
    source.addEventListener("paste", function (event) {
      var files = images(event.clipboardData && event.clipboardData.files);
      if (files.length === 0) {
        return; // ordinary text paste
      }
      event.preventDefault();
      uploadAll(files);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
