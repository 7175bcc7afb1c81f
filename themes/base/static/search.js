// Search on the static site (`blog build`): reads the variant's search-index.json and
// matches queries with the server's tokens: bigrams for Chinese, Japanese and Korean
// runs, whole case-folded words otherwise, words of three letters or more as prefixes.
// The index's character map stands in for the server's script normalisation.
(function () {
  "use strict";

  var BIGRAM = "\\p{sc=Han}\\p{sc=Hiragana}\\p{sc=Katakana}\\p{sc=Hangul}";
  var RUNS = new RegExp("([" + BIGRAM + "]+)|((?:(?![" + BIGRAM + "])[\\p{L}\\p{N}])+)", "gu");
  var MAX_TOKEN_CHARS = 64;
  var MAX_QUERY_CHARS = 100;
  var MAX_TERMS = 12;
  var PREFIX_MIN_CHARS = 3;
  var MAX_RESULTS = 50;
  // Field bits of a posting (see blog/build/search_index.py) and the server's weights.
  var WEIGHTS = [[1, 10], [2, 5], [4, 3], [8, 1]];

  function normalize(text, map) {
    var out = "";
    for (var ch of text) {
      out += Object.prototype.hasOwnProperty.call(map, ch) ? map[ch] : ch;
    }
    return out;
  }

  function terms(query) {
    var found = [];
    var seen = new Set();
    for (var match of query.matchAll(RUNS)) {
      var term;
      if (match[1]) {
        var run = Array.from(match[1]);
        if (run.length === 1) {
          term = { tokens: run, prefix: true };
        } else {
          var grams = [];
          for (var i = 0; i + 1 < run.length; i++) grams.push(run[i] + run[i + 1]);
          term = { tokens: grams, prefix: false };
        }
      } else {
        var word = Array.from(match[2].toLowerCase()).slice(0, MAX_TOKEN_CHARS).join("");
        term = { tokens: [word], prefix: Array.from(word).length >= PREFIX_MIN_CHARS };
      }
      var key = term.tokens.join(" ") + (term.prefix ? "*" : "");
      if (!seen.has(key)) {
        seen.add(key);
        found.push(term);
      }
    }
    return found;
  }

  function postingsOf(index, token, prefix) {
    // doc -> field bits where ``token`` (or, for a prefix, any token it begins) occurs.
    var docs = new Map();
    var add = function (list) {
      for (var value of list) {
        var doc = Math.floor(value / 16);
        docs.set(doc, (docs.get(doc) || 0) | (value % 16));
      }
    };
    if (prefix) {
      for (var key of index.keys) {
        if (key.startsWith(token)) add(index.tokens[key]);
      }
    } else if (Object.prototype.hasOwnProperty.call(index.tokens, token)) {
      add(index.tokens[token]);
    }
    return docs;
  }

  function matchTerm(index, term) {
    var result = null;
    for (var token of term.tokens) {
      var docs = postingsOf(index, token, term.prefix);
      if (result === null) {
        result = docs;
        continue;
      }
      var both = new Map();
      for (var [doc, bits] of result) {
        if (docs.has(doc)) both.set(doc, bits & docs.get(doc) || bits | docs.get(doc));
      }
      result = both;
    }
    return result || new Map();
  }

  function score(bits) {
    var total = 0;
    for (var [bit, weight] of WEIGHTS) if (bits & bit) total += weight;
    return total;
  }

  function run(index, query) {
    var wanted = terms(normalize(query, index.map)).slice(0, MAX_TERMS);
    if (wanted.length === 0) return null;
    var scores = null;
    for (var term of wanted) {
      var docs = matchTerm(index, term);
      var next = new Map();
      for (var [doc, bits] of docs) {
        if (scores === null || scores.has(doc)) {
          next.set(doc, (scores === null ? 0 : scores.get(doc)) + score(bits));
        }
      }
      scores = next;
    }
    // Documents are stored newest first: equal scores keep that order.
    return Array.from(scores.entries())
      .sort(function (a, b) { return b[1] - a[1] || a[0] - b[0]; })
      .map(function (entry) { return index.docs[entry[0]]; });
  }

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function marked(text, words) {
    // The excerpt with query words in <mark>; built from text nodes, never from HTML.
    var node = element("p", "excerpt");
    var lower = text.toLowerCase();
    var cursor = 0;
    while (cursor < text.length) {
      var best = -1;
      var length = 0;
      for (var word of words) {
        var at = lower.indexOf(word, cursor);
        if (at !== -1 && (best === -1 || at < best)) {
          best = at;
          length = word.length;
        }
      }
      if (best === -1) break;
      node.append(text.slice(cursor, best), element("mark", "", text.slice(best, best + length)));
      cursor = best + length;
    }
    node.append(text.slice(cursor));
    return node;
  }

  // The page carries the script's words in the site's UI language (and, converted with
  // the page, in its variant); the fallbacks are the English message ids.
  function label(name, fallback) {
    var found = document.querySelector(".search-labels [data-label=" + name + "]");
    return found ? found.textContent : fallback;
  }

  function count(number) {
    var form = number === 1 ? label("count-one", "%(num)d post") : label("count-other", "%(num)d posts");
    return form.replace("%(num)d", String(number));
  }

  function show(output, root, query, docs) {
    output.replaceChildren();
    if (!query) {
      output.append(element("p", "search-message", label("empty", "Please enter something to search for.")));
      return;
    }
    if (docs === null) {
      var none = "The search has no words to look for (punctuation and symbols are ignored).";
      output.append(element("p", "search-message", label("no-words", none)));
      return;
    }
    if (docs.length === 0) {
      var nothing = label("nothing", "Nothing matched \u201c%(query)s\u201d.");
      output.append(element("p", "search-message", nothing.replace("%(query)s", query)));
      return;
    }
    output.append(element("p", "listing-count", count(docs.length)));
    var list = element("ol", "search-results");
    var words = query.toLowerCase().split(/\s+/).filter(Boolean);
    for (var doc of docs.slice(0, MAX_RESULTS)) {
      var article = element("article", "search-result");
      var heading = element("h2", "post-card-title");
      var link = element("a", "", doc.t);
      link.href = root + doc.u;
      heading.append(link);
      article.append(heading);
      if (doc.d) {
        var meta = element("p", "post-meta");
        // "f" is the date as the site's pages print it (an older build's entry has only "d").
        var time = element("time", "", doc.f || doc.d);
        time.dateTime = doc.d;
        meta.append(time);
        // Every category, linked, as the server's search page shows them; an entry kept
        // from an older build has only the primary one's name ("c").
        var categories = doc.k || (doc.c ? [[doc.c, ""]] : []);
        categories.forEach(function (category, number) {
          var separator = element("span", "meta-sep", " · ");
          separator.setAttribute("aria-hidden", "true");
          meta.append(separator);
          var kind = number ? "category category-extra" : "category";
          var name = element(category[1] ? "a" : "span", kind, category[0]);
          if (category[1]) name.href = root + category[1];
          meta.append(name);
        });
        article.append(meta);
      }
      article.append(marked(doc.e, words));
      var item = element("li");
      item.append(article);
      list.append(item);
    }
    output.append(list);
  }

  function start() {
    var form = document.querySelector("form[data-search-root]");
    var output = document.querySelector(".search-static");
    if (!form || !output) return;
    var root = form.getAttribute("data-search-root");
    var input = form.querySelector("input[name=q]");
    var loading = null;
    var load = function () {
      if (loading === null) {
        loading = fetch(root + "search-index.json")
          .then(function (response) {
            if (!response.ok) throw new Error(response.status);
            return response.json();
          })
          .then(function (index) {
            index.keys = Object.keys(index.tokens);
            return index;
          });
      }
      return loading;
    };
    var search = function (query) {
      query = query.split(/\s+/).filter(Boolean).join(" ").slice(0, MAX_QUERY_CHARS);
      output.setAttribute("aria-busy", "true");
      return load()
        .then(function (index) { show(output, root, query, query ? run(index, query) : []); })
        .catch(function () {
          var failed = "The search index could not be loaded; please try again later.";
          output.replaceChildren(element("p", "search-message", label("unavailable", failed)));
        })
        .finally(function () { output.removeAttribute("aria-busy"); });
    };
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var query = input.value;
      history.replaceState(null, "", "?q=" + encodeURIComponent(query));
      search(query);
    });
    var initial = new URLSearchParams(location.search).get("q");
    if (initial) {
      input.value = initial;
      search(initial);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
