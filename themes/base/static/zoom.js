// Click (or Enter) on an image in a post to see it as large as the window allows; click,
// Escape or the close button returns to the text. A <dialog> keeps focus inside while open
// and gives it back afterwards. Without JavaScript images are simply shown in the column.
(function () {
  "use strict";

  function start() {
    var images = document.querySelectorAll(".post-body img");
    if (images.length === 0 || typeof HTMLDialogElement === "undefined") {
      return;
    }
    var dialog = document.createElement("dialog");
    dialog.className = "zoom";
    dialog.setAttribute("aria-label", document.documentElement.lang.indexOf("en") === 0 ? "Image" : "图片");
    var large = document.createElement("img");
    large.className = "zoom-image";
    large.alt = "";
    var caption = document.createElement("p");
    caption.className = "zoom-caption";
    dialog.appendChild(large);
    dialog.appendChild(caption);
    document.body.appendChild(dialog);

    var original = null; // the larger file being fetched for the open dialog

    function open(image) {
      // The original (the src) is the largest file; srcset copies are for the column. The
      // copy the column already shows goes up at once, and the original replaces it once it
      // has arrived, so a slow connection shows a picture rather than an empty dialog.
      var shown = image.currentSrc || image.src;
      var wanted = image.srcset ? image.src : shown;
      large.src = shown;
      if (wanted !== shown) {
        original = new Image();
        original.onload = function () {
          if (dialog.open && this === original) {
            large.src = wanted;
          }
        };
        original.src = wanted;
      }
      large.alt = image.alt;
      var figure = image.closest("figure");
      var text = figure && figure.querySelector("figcaption");
      caption.textContent = text ? text.textContent : image.alt;
      caption.hidden = caption.textContent === "";
      dialog.showModal();
      document.documentElement.classList.add("zoom-open");
    }

    dialog.addEventListener("click", function () {
      dialog.close();
    });
    dialog.addEventListener("close", function () {
      document.documentElement.classList.remove("zoom-open");
      original = null;
      large.removeAttribute("src");
    });

    Array.prototype.forEach.call(images, function (image) {
      if (image.closest("a")) {
        return; // a linked image goes where its link says
      }
      image.classList.add("zoomable");
      image.tabIndex = 0;
      image.setAttribute("role", "button");
      image.setAttribute("aria-haspopup", "dialog");
      image.addEventListener("click", function () {
        open(image);
      });
      image.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          open(image);
        }
      });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
