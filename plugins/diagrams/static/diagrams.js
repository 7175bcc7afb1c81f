// Draw every <pre class="mermaid"> of the page with Mermaid (loaded just before this
// script, and only on pages that have a diagram). securityLevel "strict": labels are
// text, click handlers and HTML in labels are refused, so a diagram cannot run script.
//
// The page's Content-Security-Policy refuses <style> elements and style attributes,
// and Mermaid's SVG carries both. So each SVG is parsed off-page first: its <style> text
// becomes a constructed stylesheet and its style attributes are set through the CSSOM,
// which the policy allows, before the SVG joins the page.
//
// The admin editor's live preview replaces its content while the author types and then
// sends "blog:content-replaced" (blog.api.CONTENT_REPLACED_EVENT): the diagrams it now
// holds are drawn, and those that left the page are forgotten.
(function () {
  "use strict";

  var darkQuery = window.matchMedia("(prefers-color-scheme: dark)");
  var blocks = [];
  var sheet = null;
  var drawing = Promise.resolve();
  var counter = 0;

  function isDark() {
    var scheme = getComputedStyle(document.documentElement).colorScheme || "";
    if (/^\s*dark\s*$/.test(scheme)) {
      return true;
    }
    if (/^\s*light\s*$/.test(scheme)) {
      return false;
    }
    return darkQuery.matches;
  }

  function place(block, svgText, styles) {
    // The HTML parser, not the XML one: labels hold HTML (<br>) that is not well-formed XML.
    var parsed = new DOMParser().parseFromString(svgText, "text/html");
    var svg = parsed.querySelector("svg");
    if (!svg) {
      throw new Error("Mermaid returned no SVG");
    }
    Array.prototype.forEach.call(svg.querySelectorAll("style"), function (style) {
      styles.push(style.textContent);
      style.remove();
    });
    var styled = [];
    Array.prototype.forEach.call(svg.querySelectorAll("[style]"), function (element) {
      styled.push([element, element.getAttribute("style")]);
      element.removeAttribute("style");
    });
    if (svg.hasAttribute("style")) {
      styled.push([svg, svg.getAttribute("style")]);
      svg.removeAttribute("style");
    }
    document.adoptNode(svg);
    styled.forEach(function (pair) {
      pair[0].style.cssText = pair[1];
    });
    svg.setAttribute("role", "img");
    block.holder.replaceChildren(svg);
    block.holder.hidden = false;
    block.pre.classList.add("diagram-drawn");
    block.pre.classList.remove("diagram-failed");
  }

  function fail(block, error) {
    block.holder.replaceChildren();
    block.holder.hidden = true;
    block.pre.classList.remove("diagram-drawn");
    block.pre.classList.add("diagram-failed");
    block.pre.title = "图表无法绘制：" + (error && error.message ? error.message : error);
  }

  function drawAll() {
    var styles = [];
    // Content replaced meanwhile (the live preview) takes its blocks away.
    blocks = blocks.filter(function (block) {
      return block.pre.isConnected;
    });
    window.mermaid.initialize({
      startOnLoad: false,
      securityLevel: "strict",
      theme: isDark() ? "dark" : "default",
    });
    return blocks
      .reduce(function (previous, block) {
        return previous.then(function () {
          return window.mermaid.render(block.id, block.source).then(
            function (result) {
              try {
                place(block, result.svg, styles);
              } catch (error) {
                fail(block, error);
              }
            },
            function (error) {
              fail(block, error);
            }
          );
        });
      }, Promise.resolve())
      .then(function () {
        var next = new CSSStyleSheet();
        next.replaceSync(styles.join("\n"));
        document.adoptedStyleSheets = document.adoptedStyleSheets
          .filter(function (old) {
            return old !== sheet;
          })
          .concat([next]);
        sheet = next;
        document.documentElement.dataset.diagrams = "drawn";
      });
  }

  function draw() {
    // One drawing at a time: a scheme change waits for the drawing under way.
    drawing = drawing.then(drawAll);
  }

  function collect(root) {
    // Blocks not seen before; each gets a holder for its SVG after it.
    var found = Array.prototype.filter
      .call(root.querySelectorAll("pre.mermaid"), function (pre) {
        return !pre.dataset.diagram;
      })
      .map(function (pre) {
        counter += 1;
        pre.dataset.diagram = String(counter);
        var holder = document.createElement("div");
        holder.className = "diagram";
        holder.hidden = true;
        pre.after(holder);
        return { pre: pre, holder: holder, source: pre.textContent, id: "diagram-" + counter };
      });
    blocks = blocks.concat(found);
    return found.length;
  }

  function start() {
    if (!window.mermaid) {
      return; // the library is missing: the source stays as it is
    }
    document.addEventListener("blog:content-replaced", function (event) {
      if (collect(event.target)) {
        draw();
      }
    });
    darkQuery.addEventListener("change", draw);
    if (collect(document)) {
      draw();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
