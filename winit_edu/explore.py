"""Interactive explorations that also work in the static HTML book.

Two kinds of widget, for two kinds of reader:

* :func:`live` wires controls to a drawing function through the running
  kernel. It needs Python: in the HTML book it would be frozen, so chapters
  hide its output there and say how to run it.
* :func:`scrubber` draws every setting of one parameter *in advance* and
  links the slider to the pictures in the browser (``jslink``), so it
  responds in the HTML book with no kernel at all.

A drawing function takes keyword arguments and returns a matplotlib Figure.
"""
from __future__ import annotations

import io
import traceback

import matplotlib.pyplot as plt

#: Every widget built in this process as ``(kind, draw, controls, fixed)``, where
#: ``controls`` maps each control to its list of values. The benchmark suite
#: replays them to time one update per slider move; nothing else reads it.
BUILT = []


def _widgets():
    import ipywidgets

    return ipywidgets


def _control(name, spec):
    w = _widgets()
    if isinstance(spec, w.Widget):
        return spec
    if isinstance(spec, (list, tuple)) and spec and all(isinstance(v, str) for v in spec):
        return w.Dropdown(options=list(spec), description=name)
    if isinstance(spec, (list, tuple)):
        return w.SelectionSlider(options=list(spec), description=name, continuous_update=False)
    raise TypeError(f"control {name!r} must be a list of options or an ipywidgets widget, got {type(spec).__name__}")


def live(draw, dpi=80, **controls):
    """Controls on top, the figure of ``draw(**values)`` below, redrawn on every change.

    The figure is shown as a PNG at ``dpi``, the same as a :func:`scrubber`
    frame, and remembered: moving a control back to a setting already seen
    shows it at once, without calling ``draw`` again (so ``draw`` must depend
    on its arguments only).

    Parameters
    ----------
    draw : callable
        ``draw(**values) -> matplotlib.figure.Figure``.
    dpi : int, default 80
        Resolution of the picture.
    **controls
        For each keyword of ``draw``: a list of strings (a dropdown), a list of
        numbers (a slider over exactly those values) or any ipywidgets widget.

    Returns
    -------
    ipywidgets.VBox
        The controls, the picture, and an area that shows an error raised by
        ``draw`` (instead of losing it in the kernel's log).
    """
    w = _widgets()
    ctrls = {name: _control(name, spec) for name, spec in controls.items()}
    picture = w.Image(format="png")
    messages = w.Output()
    seen = {}

    def redraw(change=None):
        values = {n: c.value for n, c in ctrls.items()}
        key = tuple(values.values())
        with messages:
            messages.clear_output()
            try:
                if key not in seen:
                    seen[key] = figure_png(draw(**values), dpi=dpi)
                picture.value = seen[key]
            except Exception:
                if change is None:  # at creation: fail the cell
                    raise
                traceback.print_exc()  # on a slider move: show it under the picture

    for c in ctrls.values():
        c.observe(redraw, names="value")
    BUILT.append(("live", draw, {n: list(getattr(c, "options", [c.value])) for n, c in ctrls.items()}, {}))
    redraw()
    return w.VBox([w.HBox(list(ctrls.values())), picture, messages])


def figure_png(fig, dpi=80):
    """PNG bytes of ``fig``; the figure is closed afterwards.

    Logarithmic axes lose their minor ticks first: at widget resolution they
    are unreadable, and laying them out took about half of the drawing time.
    """
    from matplotlib.ticker import NullLocator

    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            if axis.get_scale() == "log":
                axis.set_minor_locator(NullLocator())
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi)
    plt.close(fig)
    return buf.getvalue()


class Scrubber:
    """A slider over precomputed frames, linked in the browser (see :func:`scrubber`)."""

    def __init__(self, box, description):
        self.box = box
        self.description = description

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.box._repr_mimebundle_(**kwargs)
        bundle["text/plain"] = self.description
        return bundle

    def __repr__(self):
        return self.description


def scrubber(draw, name, values, dpi=80, **fixed):
    """Precompute ``draw(name=v, **fixed)`` for every ``v`` and show them behind one slider.

    The slider and the pictures are linked with ``ipywidgets.jslink``, which
    runs in the browser, so the widget keeps working in the HTML book where
    no kernel is running.

    Parameters
    ----------
    draw : callable
        ``draw(**kwargs) -> matplotlib.figure.Figure``.
    name : str
        The keyword of ``draw`` that the slider scrubs.
    values : list
        Its values, in slider order.
    dpi : int, default 80
        Resolution of the stored frames (they are kept in the notebook).
    **fixed
        The other keywords of ``draw``.

    Returns
    -------
    Scrubber
        Displays as the widget; its text form names the frames.
    """
    w = _widgets()
    values = list(values)
    if not values:
        raise ValueError("values must contain at least one value")
    BUILT.append(("scrubber", draw, {name: values}, dict(fixed)))
    frames = [w.Image(value=figure_png(draw(**{name: v}, **fixed), dpi=dpi), format="png") for v in values]
    labels = [str(v) for v in values]
    slider = w.SelectionSlider(options=labels, description=name,
                               layout=w.Layout(width="60%"), style={"description_width": "initial"})
    stack = w.Stack(frames, selected_index=0)
    w.jslink((slider, "index"), (stack, "selected_index"))
    return Scrubber(w.VBox([slider, stack]), f"<scrubber over {name}: {', '.join(labels)}>")
