// The ipywidgets HTML manager shows a control's description as a <label> that
// is not tied to the control, so a screen reader meets an unnamed slider
// (axe-core: aria-input-field-name, WCAG 4.1.2); and the handle of a
// SelectionSlider announces the option's index ("0") where the readout shows
// the option ("0.01"). Name every control by its label and let a slider
// announce what its readout shows. Loaded only on pages with widgets, before
// the widget manager; the widgets render after this runs, and re-render their
// readout on every move, so a MutationObserver keeps both in step.
(function () {
  var CONTROLS = "[role=slider], input, select, textarea";
  var next = 0;

  function label(control) {
    if (control.hasAttribute("aria-label") || control.hasAttribute("aria-labelledby")) return;
    if (control.labels && control.labels.length) return;
    var row = control.closest(".widget-inline-hbox");
    var text = row && row.querySelector(":scope > .widget-label");
    if (!text || !text.textContent.trim()) return;
    if (!text.id) text.id = "widget-label-" + ++next;
    control.setAttribute("aria-labelledby", text.id);
  }

  function announceReadout(handle) {
    var row = handle.closest(".widget-slider");
    var readout = row && row.querySelector(".widget-readout");
    var text = readout && readout.textContent.trim();
    if (text && handle.getAttribute("aria-valuetext") !== text) handle.setAttribute("aria-valuetext", text);
  }

  function update() {
    var controls = document.querySelectorAll(".jupyter-widgets :is(" + CONTROLS + ")");
    for (var i = 0; i < controls.length; i++) {
      label(controls[i]);
      if (controls[i].getAttribute("role") === "slider") announceReadout(controls[i]);
    }
  }

  new MutationObserver(update).observe(document.documentElement, {
    subtree: true, childList: true, characterData: true, attributeFilter: ["aria-valuetext"],
  });
})();
