// The static site (`blog build`) has no server to remember a reader's script, so this
// remembers it in the browser: choosing a variant in the switcher stores it, and an
// unprefixed page (shown in each post's own script, nothing marked current) then replaces
// itself with the remembered variant's page. Without JavaScript or storage the switcher's
// plain links still work; nothing else depends on this file.
(function () {
  "use strict";

  var KEY = "blog.variant";

  function read() {
    try {
      return window.localStorage.getItem(KEY);
    } catch (error) {
      return null; // storage disabled: behave as a first visit
    }
  }

  function store(code) {
    try {
      window.localStorage.setItem(KEY, code);
    } catch (error) {
      // storage disabled or full: the link itself still works
    }
  }

  var switcher = document.querySelector(".variant-switcher");
  if (!switcher) {
    return;
  }
  var links = switcher.querySelectorAll("a[hreflang]");
  links.forEach(function (link) {
    link.addEventListener("click", function () {
      store(link.getAttribute("hreflang"));
    });
  });
  if (switcher.querySelector("[aria-current]")) {
    return; // a prefixed page: the reader asked for this variant by its URL
  }
  var chosen = read();
  for (var i = 0; i < links.length; i++) {
    if (chosen && links[i].getAttribute("hreflang") === chosen) {
      // The switcher's ?variant= is for the server; a search page keeps its own query.
      var target = new URL(links[i].href);
      target.search = window.location.search;
      target.hash = window.location.hash;
      // replace(): Back returns to where the reader came from, not to this page.
      window.location.replace(target.href);
      return;
    }
  }
})();
