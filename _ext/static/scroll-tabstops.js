// A code block or output that is hidden when the page loads (in a collapsed exercise
// solution or "going deeper" box) gets no tab stop from the theme, which looks for
// scrollable blocks only at load and when the window resizes; once the box opens, a
// keyboard user could not scroll a wide block (axe-core: scrollable-region-focusable,
// WCAG 2.1.1). Look again whenever a block's size changes, as it does when its box opens.
(function () {
  var SELECTOR = "pre, .cell_output > .output, .pst-scrollable-table-container";

  function update(el) {
    if (el.scrollWidth > el.clientWidth || el.scrollHeight > el.clientHeight) el.tabIndex = 0;
  }

  function start() {
    if (!window.ResizeObserver) return;
    var observer = new ResizeObserver(function (entries) {
      entries.forEach(function (entry) { update(entry.target); });
    });
    document.querySelectorAll(SELECTOR).forEach(function (el) { observer.observe(el); });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
