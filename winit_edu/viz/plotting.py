"""One figure style for the whole book, and the few plots every chapter draws.

Call :func:`use_style` once at the top of a notebook. Every helper takes an
optional ``ax`` and returns it, so figures compose into small multiples.
"""
from __future__ import annotations

import numpy as np

import matplotlib as mpl
import matplotlib.pyplot as plt

#: Colors used consistently, so that an initializer keeps its color in every chapter.
COLORS = {
    "zeros": "#7f7f7f", "constant": "#8c564b", "uniform": "#bcbd22", "normal": "#17becf",
    "lecun": "#9467bd", "glorot": "#1f77b4", "he": "#d62728", "orthogonal": "#2ca02c",
    "sparse": "#e377c2", "default": "#ff7f0e",
}

STYLE = {
    "figure.figsize": (6.4, 3.8),
    "figure.dpi": 100,
    "savefig.dpi": 100,
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "figure.constrained_layout.use": True,
}


def use_style():
    """Apply the book's matplotlib style (white background, light grid, readable sizes).

    Figures are drawn on white so they stay readable when the HTML book is
    shown in a dark theme.
    """
    mpl.rcParams.update(STYLE)


def color_for(name):
    """The book's color for an initializer family (``"he_normal"`` -> He's red).

    Examples
    --------
    >>> color_for("he_normal")
    '#d62728'
    """
    name = str(name).replace("xavier", "glorot").replace("kaiming", "he")
    for key, value in COLORS.items():
        if name.startswith(key):
            return value
    return COLORS["default"]


def _ax(ax):
    return plt.gca() if ax is None else ax


def label_axes(ax, title=None, xlabel=None, ylabel=None):
    """Set title and axis labels in one call; returns ``ax``."""
    if title is not None:
        ax.set_title(title)
    if xlabel is not None:
        ax.set_xlabel(xlabel)
    if ylabel is not None:
        ax.set_ylabel(ylabel)
    return ax


def log_ticks(ax, axis="y", subs=(1.0, 2.0, 5.0)):
    """Label a log axis at 1, 2 and 5 times each power of ten, as plain numbers.

    Matplotlib labels a log axis at the powers of ten only, so a panel that
    spans less than a decade can show one label or none. This puts labelled
    ticks at ``subs`` times every power of ten (``0.2, 0.5, 1, 2, 5, 10, ...``)
    and removes the unlabelled minor ticks. Call it after the axis is set to
    log scale.

    Parameters
    ----------
    ax : matplotlib Axes
    axis : {"y", "x"}, default "y"
        Which axis to label.
    subs : sequence of float, default (1.0, 2.0, 5.0)
        The multiples of each power of ten that get a labelled tick.

    Returns
    -------
    matplotlib Axes
        ``ax``.

    Raises
    ------
    ValueError
        If ``axis`` is not ``"x"`` or ``"y"``.

    Examples
    --------
    >>> fig, ax = plt.subplots()
    >>> ax.set_yscale("log")
    >>> _ = ax.set_ylim(1, 20)
    >>> [float(t) for t in log_ticks(ax).get_yticks() if 1 <= t <= 20]
    [1.0, 2.0, 5.0, 10.0, 20.0]
    >>> plt.close(fig)
    """
    if axis not in ("x", "y"):
        raise ValueError(f"axis must be 'x' or 'y', got {axis!r}")
    a = ax.yaxis if axis == "y" else ax.xaxis
    a.set_major_locator(mpl.ticker.LogLocator(subs=tuple(subs)))
    a.set_major_formatter(mpl.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
    a.set_minor_locator(mpl.ticker.NullLocator())
    return ax


def plot_layer_histograms(arrays, ax=None, layers=None, bins=80, value_range=None,
                          title=None, xlabel="value", cmap="viridis"):
    """Overlaid normalized histograms, one per layer (Glorot & Bengio's figure style).

    Parameters
    ----------
    arrays : list of numpy.ndarray
        One array per layer (activations or gradients).
    ax : matplotlib Axes, optional
    layers : list of int, optional
        Which layers to draw (default: all); labels are 1-based.
    bins : int, default 80
    value_range : (float, float), optional
        Histogram range; default is the 0.5th to 99.5th percentile of all data.
    title, xlabel : str
    cmap : str
        Colormap from first (dark) to last layer.

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    layers = list(range(len(arrays))) if layers is None else list(layers)
    finite = [np.asarray(arrays[l]).ravel() for l in layers]
    finite = [a[np.isfinite(a)] for a in finite]
    if value_range is None:
        allv = np.concatenate(finite)
        value_range = tuple(np.percentile(allv, [0.5, 99.5])) if allv.size else (-1.0, 1.0)
        if value_range[0] == value_range[1]:
            value_range = (value_range[0] - 1.0, value_range[1] + 1.0)
    colors = plt.get_cmap(cmap)(np.linspace(0.0, 0.9, max(len(layers), 1)))
    for color, l, a in zip(colors, layers, finite):
        ax.hist(a, bins=bins, range=value_range, density=True, histtype="step", color=color,
                label=f"layer {l + 1}", linewidth=1.2)
    ax.legend(ncol=2)
    return label_axes(ax, title, xlabel, "density")


def plot_depth_profile(values, ax=None, label=None, color=None, ylabel="standard deviation",
                       title=None, logy=True, marker="o"):
    """A per-layer quantity against depth; several rows (seeds) give a mean line and a min-max band.

    Parameters
    ----------
    values : array, shape (layers,) or (runs, layers)
    ax : matplotlib Axes, optional
    label, color : str, optional
    ylabel, title : str
    logy : bool, default True
    marker : str, default "o"

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    values = np.atleast_2d(np.asarray(values, dtype=float))
    depth = np.arange(1, values.shape[1] + 1)
    mean = np.nanmean(values, axis=0) if np.isfinite(values).any() else values[0]
    line, = ax.plot(depth, mean, marker=marker, markersize=3, label=label, color=color)
    if values.shape[0] > 1:
        ax.fill_between(depth, np.nanmin(values, axis=0), np.nanmax(values, axis=0),
                        color=line.get_color(), alpha=0.2, linewidth=0)
    if logy:
        ax.set_yscale("log")
    ax.xaxis.set_major_locator(mpl.ticker.MaxNLocator(integer=True))  # layers are whole numbers
    if label is not None:
        ax.legend()
    return label_axes(ax, title, "layer", ylabel)


def plot_curves(history, ax=None, metric="train_loss", label=None, color=None, title=None,
                logy=False, per_seed=False, linestyle="-", marker=None, markevery=None):
    """Learning curves of an ensemble: median and min-max band over seeds, failures marked.

    Members that diverged are marked with an ``x`` at the step where they
    failed and counted in the legend, so a failure is never plotted as if it
    were a curve.

    Parameters
    ----------
    history : History
    ax : matplotlib Axes, optional
    metric : str, default "train_loss"
        ``"train_loss"``, ``"train_accuracy"``, ``"val_loss"``, ``"val_accuracy"``
        or ``"step_loss"`` (minibatch loss at every step).
    label, color, title : optional
    logy : bool, default False
    per_seed : bool, default False
        Also draw every member as a thin line.
    linestyle : str, default "-"
        Line style of the median (``"--"``, ``":"``, ``"-."``, ...): with
        ``marker``, what tells curves apart without their colors.
    marker : str, optional
        Marker on the median line (``"o"``, ``"s"``, ``"^"``, ...).
    markevery : int, optional
        Draw a marker at every ``markevery``-th point; default about ten
        markers per curve.

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    if not hasattr(history, metric):
        raise ValueError(f"metric must be an attribute of History such as 'train_loss', got {metric!r}")
    values = np.asarray(getattr(history, metric), dtype=float)
    steps = np.arange(values.shape[0]) if metric == "step_loss" else np.asarray(history.eval_steps)
    n_bad = int(history.diverged.sum())
    if label is not None and n_bad:
        label = f"{label} ({n_bad}/{len(history.seeds)} diverged)"
    ok = ~history.diverged
    finite_rows = values[:, ok] if ok.any() else np.full((len(steps), 1), np.nan)
    with np.errstate(all="ignore"):
        median = np.nanmedian(finite_rows, axis=1) if ok.any() else finite_rows[:, 0]
    if markevery is None:
        markevery = max(1, len(steps) // 10)
    line, = ax.plot(steps, median, label=label, color=color, linewidth=1.6, linestyle=linestyle, marker=marker,
                    markevery=markevery, markersize=4)
    if ok.sum() > 1:
        ax.fill_between(steps, np.nanmin(finite_rows, axis=1), np.nanmax(finite_rows, axis=1),
                        color=line.get_color(), alpha=0.2, linewidth=0)
    if per_seed:
        ax.plot(steps, values, color=line.get_color(), alpha=0.3, linewidth=0.6)
    for s in np.flatnonzero(history.diverged):
        step = history.diverged_step[s]
        ax.axvline(step, color=line.get_color(), linestyle=":", linewidth=0.8)
        ax.plot([step], [ax.get_ylim()[1]], marker="x", color=line.get_color(), clip_on=False)
    if logy:
        ax.set_yscale("log")
    if label is not None:
        ax.legend()
    pretty = metric.replace("_", " ")
    return label_axes(ax, title, "training step", pretty)


def plot_decision_boundary(net, X, y, member=0, ax=None, title=None, resolution=150, margin=0.5):
    """Class regions of a 2-D classifier with the data on top.

    Parameters
    ----------
    net : MLP
        A network with two inputs.
    X : (n, 2) array
    y : (n,) int array
    member : int, default 0
        Which ensemble member to draw.
    ax : matplotlib Axes, optional
    title : str, optional
    resolution : int, default 150
        Grid points per axis.
    margin : float, default 0.5
        Space around the data, in input units.

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    X = np.asarray(X)
    if net.sizes[0] != 2 or X.ndim != 2 or X.shape[1] != 2:
        raise ValueError("plot_decision_boundary needs a network and data with exactly 2 input features")
    (x0, y0), (x1, y1) = X.min(axis=0) - margin, X.max(axis=0) + margin
    gx, gy = np.meshgrid(np.linspace(x0, x1, resolution), np.linspace(y0, y1, resolution))
    grid = np.column_stack([gx.ravel(), gy.ravel()])
    with np.errstate(all="ignore"):
        # only the member drawn: the whole ensemble on the grid would need members x grid x width memory
        pred = net.member(member).forward(grid)[0].argmax(axis=-1).reshape(gx.shape)
    n_classes = net.sizes[-1]
    cmap = plt.get_cmap("coolwarm" if n_classes == 2 else "tab10")
    ax.contourf(gx, gy, pred, levels=np.arange(n_classes + 1) - 0.5, cmap=cmap, alpha=0.25)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap=cmap, s=8, edgecolors="none",
               vmin=-0.5, vmax=n_classes - 0.5)
    ax.set_aspect("equal")
    ax.grid(False)
    return label_axes(ax, title, "$x_1$", "$x_2$")
