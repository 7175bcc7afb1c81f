// The post's table of contents (themes/base/templates/post.html): folded on narrow
// screens, where it would push the text down, and on wide screens, where the
// stylesheet keeps it beside the text, the link of the section being read is marked
// with aria-current. Without this script the list is simply open everywhere.
(function () {
  "use strict";

  // Keep in step with the wide-screen rule in base.css.
  var WIDE = window.matchMedia("(min-width: 75rem)");
  // A heading counts as the current section once it is this close to the viewport top.
  var READING_LINE_PX = 96;

  var toc = document.querySelector("[data-toc]");
  if (!toc) {
    return;
  }
  var details = toc.querySelector("details");
  var links = Array.prototype.slice.call(toc.querySelectorAll('a[href^="#"]'));
  var entries = [];
  links.forEach(function (link) {
    var id = decodeURIComponent(link.getAttribute("href").slice(1));
    var heading = document.getElementById(id);
    if (heading) {
      entries.push({ link: link, heading: heading });
    }
  });

  function fitLayout() {
    if (details) {
      details.open = WIDE.matches;
    }
  }

  var current = null;
  function markCurrent() {
    var found = null;
    for (var i = 0; i < entries.length; i++) {
      if (entries[i].heading.getBoundingClientRect().top <= READING_LINE_PX) {
        found = entries[i];
      } else {
        break;
      }
    }
    if (found === current) {
      return;
    }
    if (current) {
      current.link.removeAttribute("aria-current");
    }
    current = found;
    if (current) {
      current.link.setAttribute("aria-current", "location");
    }
  }

  var pending = false;
  function onScroll() {
    if (!pending) {
      pending = true;
      window.requestAnimationFrame(function () {
        pending = false;
        markCurrent();
      });
    }
  }

  fitLayout();
  markCurrent();
  WIDE.addEventListener("change", fitLayout);
  window.addEventListener("scroll", onScroll, { passive: true });
  window.addEventListener("resize", onScroll, { passive: true });
  // Following a link on a phone: fold the list away so the section is visible.
  toc.addEventListener("click", function (event) {
    if (event.target.closest("a") && details && !WIDE.matches) {
      details.open = false;
    }
  });
})();
