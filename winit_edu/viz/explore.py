"""Interactive explorations that also work in the static HTML book.

Two kinds of widget, for two kinds of reader:

* :func:`live` wires controls to a drawing function through the running
  kernel. It needs Python: in the HTML book it would be frozen, so chapters
  hide its output there and say how to run it.
* :func:`scrubber` draws every setting of one parameter *in advance* and
  links the slider to the pictures in the browser (``jslink``), so it
  responds in the HTML book with no kernel at all.

And :func:`glue`, which hands a number a cell computed to the book's text.

A drawing function takes keyword arguments and returns a matplotlib Figure.

Nothing here is kept beyond the widgets themselves: a :func:`live` widget
remembers its last :data:`LIVE_CACHE_SIZE` pictures, and they go when the
widget goes.
"""
from __future__ import annotations

import base64
import functools
import html
import io
import traceback

import matplotlib.pyplot as plt

#: How many pictures (PNG, some 10-100 kB each) a :func:`live` widget remembers.
LIVE_CACHE_SIZE = 64


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
    frame, and remembered (the last :data:`LIVE_CACHE_SIZE` settings):
    moving a control back to a setting already seen shows it at once,
    without calling ``draw`` again (so ``draw`` must depend on its arguments
    only).

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
        The controls; a status line that says, as soon as a control moves,
        that the new setting is being drawn (drawing can take a few hundred
        milliseconds) and is empty again once it is shown; the picture; and an
        area that shows an error raised by ``draw`` (instead of losing it in
        the kernel's log).
    """
    w = _widgets()
    ctrls = {name: _control(name, spec) for name, spec in controls.items()}
    picture = w.Image(format="png")
    status = w.HTML("")  # says at once that a new setting is being drawn (a screen reader hears it too)
    messages = w.Output()
    names = list(ctrls)

    @functools.lru_cache(maxsize=LIVE_CACHE_SIZE)
    def png(*values):  # the control values, in the order of ``names`` (hashable, so they can be a key)
        return figure_png(draw(**dict(zip(names, values))), dpi=dpi)

    def redraw(change=None):
        with messages:
            messages.clear_output()
            values = tuple(c.value for c in ctrls.values())
            if change is not None:  # the message reaches the browser before the drawing starts
                shown = ", ".join(f"{name} = {value}" for name, value in zip(names, values))
                status.value = f'<span role="status">Drawing {html.escape(shown)} ...</span>'
            try:
                picture.value = png(*values)
            except Exception:
                if change is None:  # at creation: fail the cell
                    raise
                traceback.print_exc()  # on a slider move: show it under the picture
            finally:
                status.value = ""

    for c in ctrls.values():
        c.observe(redraw, names="value")
    redraw()
    return w.VBox([w.HBox(list(ctrls.values())), status, picture, messages])


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


def scrubber(draw, name, values, dpi=80, alt=None, **fixed):
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
    alt : str or callable, optional
        The text alternative of each frame, for readers who cannot see it: a
        string with ``{value}`` where the slider's value goes, or
        ``alt(value) -> str``. Say what the picture shows, not that it is a
        figure. Default: the function's name and the value, a poor substitute.
    **fixed
        The other keywords of ``draw``.

    Returns
    -------
    Scrubber
        Displays as the widget; its text form names the frames.

    Raises
    ------
    ValueError
        If ``values`` is empty.
    TypeError
        If ``alt`` is neither a string nor a callable.

    Notes
    -----
    Each frame is an ``<img>`` with an ``alt`` attribute inside an
    ``ipywidgets.HTML`` (an ``ipywidgets.Image`` has no text alternative).
    """
    w = _widgets()
    values = list(values)
    if not values:
        raise ValueError("values must contain at least one value")
    if alt is None:
        alt = f"{getattr(draw, '__name__', 'draw')} with {name} = {{value}}"
    if isinstance(alt, str):
        describe = lambda v, template=alt: template.replace("{value}", str(v))  # noqa: E731
    elif callable(alt):
        describe = alt
    else:
        raise TypeError(f"alt must be a string or a callable, got {type(alt).__name__}")
    labels = [str(v) for v in values]
    frames = [w.HTML(value=_img_tag(figure_png(draw(**{name: v}, **fixed), dpi=dpi), str(describe(v))))
              for v in values]
    slider = w.SelectionSlider(options=labels, description=name,
                               layout=w.Layout(width="60%"), style={"description_width": "initial"})
    stack = w.Stack(frames, selected_index=0)
    w.jslink((slider, "index"), (stack, "selected_index"))
    return Scrubber(w.VBox([slider, stack]), f"<scrubber over {name}: {', '.join(labels)}>")


def glue(name, variable, display=True):
    """Show ``variable`` and record it under ``name`` for the book's text: ``myst_nb.glue``'s output.

    Jupyter Book's ``glue:text`` role quotes in the text a value that a cell
    computed, so that no number in the prose is typed by hand. This writes
    the same display output as ``myst_nb.glue`` (myst-nb 1.x: the value's
    display data, with ``application/papermill.record/`` before each MIME
    type when ``display`` is False, and ``{"scrapbook": {"name": name,
    "mime_prefix": ...}}`` in its metadata; the tests compare the two), without
    importing ``myst_nb.ext.glue``: that imports nbformat, whose schema
    checker's import builds a grammar parser (about 1 s in every kernel
    that glues a value).

    Parameters
    ----------
    name : str
        The key the text quotes.
    variable : object
        Anything IPython can display; its display data is what is stored.
    display : bool, default True
        Whether the notebook also shows the value.

    Raises
    ------
    TypeError
        If ``name`` is not a string or ``display`` not a bool.
    ValueError
        If ``name`` is empty.
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a string (the key the text quotes), got {type(name).__name__}")
    if not name:
        raise ValueError("name must not be empty: it is the key the text quotes")
    if not isinstance(display, bool):
        raise TypeError(f"display must be True or False, got {display!r}")
    from IPython.core.formatters import format_display_data
    from IPython.display import display as ipy_display

    bundle, metadata = format_display_data(variable)
    prefix = "" if display else "application/papermill.record/"
    metadata["scrapbook"] = {"name": name, "mime_prefix": prefix}
    ipy_display({prefix + kind: value for kind, value in bundle.items()}, raw=True, metadata=metadata)


def _img_tag(png, alt):
    """An ``<img>`` element holding ``png`` (bytes) inline, with the text alternative ``alt``."""
    data = base64.b64encode(png).decode("ascii")
    return (f'<img src="data:image/png;base64,{data}" alt="{html.escape(alt, quote=True)}" '
            f'style="max-width: 100%; height: auto;">')
