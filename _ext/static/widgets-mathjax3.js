// The ipywidgets HTML manager typesets widget labels with the MathJax 2 API,
// `MathJax.Hub.Queue(["Typeset", MathJax.Hub, element])`; the book loads
// MathJax 3, which has no `Hub`, so every widget label would throw. Bridge
// that one call to MathJax 3. Loaded only on pages with widgets, before the
// widget manager, which renders on the window's load event as this does.
window.addEventListener("load", function () {
  var mj = window.MathJax;
  if (!mj || mj.Hub || !mj.startup || !mj.startup.promise) return;
  mj.Hub = {
    Queue: function (job) {
      var element = Array.isArray(job) ? job[2] : undefined;
      return mj.startup.promise
        .then(function () { return mj.typesetPromise(element ? [element] : undefined); })
        .catch(function (err) { console.warn("MathJax could not typeset a widget label:", err); });
    },
  };
});
