"""Scale-aware initializers: LeCun, Glorot (Xavier) and He (Kaiming).

All of them are one rule, :func:`variance_scaling`: draw weights with

    Var(w) = scale / n,   n = fan_in, fan_out or (fan_in + fan_out) / 2,

from a normal, a truncated normal or a uniform distribution.

=================== ======= ========== ==========================================
initializer         scale   mode       derived in
=================== ======= ========== ==========================================
lecun_*             1       fan_in     LeCun et al. (1998), "Efficient BackProp"
glorot_* (xavier)   1       fan_avg    Glorot & Bengio (2010)
he_* (kaiming)      2       fan_in     He et al. (2015)
pytorch_default     1/3     fan_in     PyTorch's nn.Linear and nn.ConvNd (weights and biases)
=================== ======= ========== ==========================================

**Which "normal"?** The frameworks disagree, so we make it a switch:

* PyTorch's ``xavier_normal_`` and ``kaiming_normal_`` draw from a *plain*
  normal with the target standard deviation.
* Keras' and JAX's ``glorot_normal``, ``he_normal`` and ``lecun_normal``
  draw from a normal *truncated at two standard deviations*, and divide the
  standard deviation by 0.8796 (the standard deviation of a unit normal cut
  at +-2) so that the variance still equals the target.

Here the ``*_normal`` functions default to the plain normal
(``truncated=False``), the distribution the derivations in the book assume;
pass ``truncated=True`` for the Keras/JAX behaviour. Either way the variance
is exactly ``scale / n``. :func:`variance_scaling` itself takes a
``distribution`` argument and defaults to ``"normal"`` as well (Keras'
``VarianceScaling`` defaults to ``"truncated_normal"``).

**Layout.** Shapes are read in the ``"in_out"`` layout by default (Keras,
JAX, ``x @ W``); pass ``layout="out_in"`` for PyTorch-shaped tensors. See
:func:`winit_edu.fans.compute_fans`.

**Calling convention** (every initializer of the package): ``f(shape, rng,
*, options)``. ``rng`` is a seed, a Generator or None
(:func:`winit_edu.rng.as_generator`); everything after it is keyword-only
(``gain=``, ``mode=``, ``truncated=``, ``layout=``, ``dtype=``, ...), so a
value passed by position can never be taken for another option. The result
is float64 unless ``dtype="float32"``. All conventions: :ref:`api-conventions`.

This module used to be called ``variance_scaling``, like its function
:func:`variance_scaling` (``winit_edu.variance_scaling``), which then hid it:
``import winit_edu.variance_scaling as vs`` gave the function.
"""
from __future__ import annotations

import math

from .._checks import check_choice, check_dtype, check_flag, check_int, check_real, check_shape
from .distributions import _cast, truncated_normal, truncated_std_factor
from .fans import compute_fans
from .gains import calculate_gain
from ..rng import as_generator

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("normal", "truncated_normal", "uniform")
_ALIASES = {"untruncated_normal": "normal"}  # Keras' name for the plain normal


def fan_for_mode(shape, mode="fan_in", layout="in_out"):
    """The ``n`` in ``Var(w) = scale / n``: fan_in, fan_out or their mean.

    Parameters
    ----------
    shape : tuple of int
        Weight shape, at least 2-D.
    mode : {"fan_in", "fan_out", "fan_avg"}, default "fan_in"
    layout : {"in_out", "out_in"}, default "in_out"

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For an unknown ``mode`` or ``layout`` or an invalid ``shape``.

    Examples
    --------
    >>> fan_for_mode((100, 300), "fan_avg")
    200.0
    """
    check_choice(mode, MODES, name="mode")
    fan_in, fan_out = compute_fans(shape, layout=layout)
    return float({"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode])


def variance_scaling(shape, rng=None, *, scale=1.0, mode="fan_in", distribution="normal", layout="in_out",
                     dtype="float64"):
    """Draw weights with variance ``scale / n`` where ``n`` is chosen by ``mode``.

    Parameters
    ----------
    shape : tuple of int
        Weight shape, at least 2-D (dense or convolution).
    rng : int, numpy.random.Generator or None
    scale : float, default 1.0
        Target ``Var(w) * n``; ``> 0``. Equals ``gain**2`` in PyTorch's terms.
    mode : {"fan_in", "fan_out", "fan_avg"}, default "fan_in"
    distribution : {"normal", "truncated_normal", "uniform"}, default "normal"
        ``"normal"``: ``N(0, scale/n)``. ``"truncated_normal"``: a normal cut
        at two standard deviations, rescaled so the variance is still
        ``scale/n``. ``"uniform"``: ``U[-limit, limit]`` with
        ``limit = sqrt(3 scale / n)``. Keras' name ``"untruncated_normal"``
        is accepted for ``"normal"``.
    layout : {"in_out", "out_in"}, default "in_out"
        How to read fans from ``shape``; see :func:`winit_edu.fans.compute_fans`.
    dtype : {"float64", "float32"}, default "float64"
        The draws are made in float64 and rounded to ``dtype``.

    Returns
    -------
    numpy.ndarray
        Array of the given shape and ``dtype``.

    Raises
    ------
    ValueError
        For ``scale <= 0`` (or so large that draws overflow), an unknown
        ``mode``, ``distribution``, ``layout`` or ``dtype``, or a shape with
        fewer than two or non-positive dimensions.
    TypeError
        For a non-numeric ``scale`` or a badly typed ``shape`` or ``rng``.

    Notes
    -----
    Keras ``VarianceScaling(scale, mode, distribution)`` (default
    distribution ``"truncated_normal"``); JAX
    ``jax.nn.initializers.variance_scaling(scale, mode, distribution,
    in_axis=-2, out_axis=-1)``; PyTorch has no single function: use
    ``kaiming_*`` / ``xavier_*`` with ``gain = sqrt(scale)``.

    References
    ----------
    LeCun et al. (1998); Glorot & Bengio (2010); He et al. (2015).

    Examples
    --------
    >>> w = variance_scaling((500, 500), rng=0, scale=2.0)
    >>> round(float(w.var() * 500), 1)
    2.0
    """
    shape = check_shape(shape, min_ndim=2)
    scale = check_real(scale, name="scale", min_value=0.0, min_inclusive=False)
    if isinstance(distribution, str):
        distribution = _ALIASES.get(distribution, distribution)
    check_choice(distribution, DISTRIBUTIONS, name="distribution")
    dtype = check_dtype(dtype)
    var = scale / fan_for_mode(shape, mode, layout)
    if var == 0.0:  # scale so small that scale / n underflows
        raise ValueError(f"scale must give a positive variance scale / n, got scale={scale} (underflows)")
    gen = as_generator(rng)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * var)
        if not math.isfinite(2.0 * limit):
            raise ValueError(f"scale is too large: the uniform limit sqrt(3 scale / n) overflows, got scale={scale}")
        return _cast(gen.uniform(-limit, limit, size=shape), dtype, "scale")
    if distribution == "truncated_normal":
        std = math.sqrt(var) / truncated_std_factor(2.0)
        return _cast(truncated_normal(shape, gen, std=std, cutoff=2.0), dtype, "scale")
    return _cast(gen.normal(0.0, math.sqrt(var), size=shape), dtype, "scale")


def _normal(truncated):
    return "truncated_normal" if check_flag(truncated, name="truncated") else "normal"


def _he_gain(nonlinearity, a, param):
    """calculate_gain(nonlinearity, slope), the slope given as PyTorch's ``a`` or as ``param``."""
    if a is not None and param is not None:
        raise TypeError(f"give the negative slope as a or as param, not both (got a={a!r}, param={param!r})")
    name, slope = ("a", a) if a is not None else ("param", param)
    if slope is not None:
        if nonlinearity != "leaky_relu":
            raise ValueError(f"{name} (the negative slope) is only accepted with nonlinearity='leaky_relu', "
                             f"got nonlinearity={nonlinearity!r}")
        check_real(slope, name=name, min_value=-1e100, max_value=1e100)
    return calculate_gain(nonlinearity, slope)


def lecun_uniform(shape, rng=None, *, layout="in_out", dtype="float64"):
    """LeCun uniform: ``U[-sqrt(3/fan_in), sqrt(3/fan_in)]``, so ``Var(w) = 1/fan_in``.

    Parameters
    ----------
    shape : tuple of int
        Weight shape, at least 2-D.
    rng : int, numpy.random.Generator or None
    layout : {"in_out", "out_in"}, default "in_out"
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling`.

    Notes
    -----
    Keras ``LecunUniform``; JAX ``lecun_uniform``; PyTorch
    ``kaiming_uniform_(w, a=..., nonlinearity="linear")`` gives the same
    variance. PyTorch's *default* for ``nn.Linear`` is
    ``kaiming_uniform_(a=sqrt(5))``, i.e. ``U[-1/sqrt(fan_in), 1/sqrt(fan_in)]``
    with variance ``1/(3 fan_in)``: a third of LeCun's.

    References
    ----------
    LeCun, Bottou, Orr & Mueller (1998), "Efficient BackProp".

    Examples
    --------
    >>> bool(abs(lecun_uniform((300, 10), rng=0)).max() <= (3 / 300) ** 0.5)
    True
    """
    return variance_scaling(shape, rng, scale=1.0, mode="fan_in", distribution="uniform", layout=layout, dtype=dtype)


def lecun_normal(shape, rng=None, *, truncated=False, layout="in_out", dtype="float64"):
    """LeCun normal: ``Var(w) = 1/fan_in``.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    truncated : bool, default False
        ``False``: plain ``N(0, 1/fan_in)``. ``True``: Keras/JAX's truncated
        normal at two standard deviations, rescaled to the same variance.
    layout : {"in_out", "out_in"}, default "in_out"
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling`; TypeError for a non-bool ``truncated``.

    Notes
    -----
    Keras ``LecunNormal`` and JAX ``lecun_normal`` are ``truncated=True``;
    PyTorch ``kaiming_normal_(w, nonlinearity="linear")`` is ``truncated=False``.
    The initializer SELU networks assume (Klambauer et al., 2017).

    References
    ----------
    LeCun et al. (1998).

    Examples
    --------
    >>> lecun_normal((64, 32), rng=0).shape
    (64, 32)
    """
    return variance_scaling(shape, rng, scale=1.0, mode="fan_in", distribution=_normal(truncated), layout=layout,
                            dtype=dtype)


def glorot_uniform(shape, rng=None, *, gain=1.0, layout="in_out", dtype="float64"):
    """Glorot/Xavier uniform: ``U[-a, a]`` with ``a = gain * sqrt(6/(fan_in + fan_out))``.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    gain : float, default 1.0
        Multiplies the standard deviation, as PyTorch's ``gain`` argument;
        ``1e-100 <= gain <= 1e100``.
    layout : {"in_out", "out_in"}, default "in_out"
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling`.

    Notes
    -----
    Keras ``GlorotUniform`` (the Keras default for ``Dense``), JAX
    ``glorot_uniform`` / ``xavier_uniform``, PyTorch ``xavier_uniform_``.

    References
    ----------
    Glorot & Bengio (2010), eq. 16.

    Examples
    --------
    >>> w = glorot_uniform((100, 200), rng=0)
    >>> bool(abs(w).max() <= (6 / 300) ** 0.5)
    True
    """
    gain = check_real(gain, name="gain", min_value=1e-100, max_value=1e100)
    return variance_scaling(shape, rng, scale=gain**2, mode="fan_avg", distribution="uniform", layout=layout,
                            dtype=dtype)


def glorot_normal(shape, rng=None, *, gain=1.0, truncated=False, layout="in_out", dtype="float64"):
    """Glorot/Xavier normal: ``Var(w) = gain**2 * 2 / (fan_in + fan_out)``.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    gain : float, default 1.0
        ``1e-100 <= gain <= 1e100``.
    truncated : bool, default False
        ``True`` for Keras' and JAX's truncated-and-rescaled normal.
    layout : {"in_out", "out_in"}, default "in_out"
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling`.

    Notes
    -----
    PyTorch ``xavier_normal_`` (plain normal); Keras ``GlorotNormal`` and
    JAX ``glorot_normal`` (truncated).

    References
    ----------
    Glorot & Bengio (2010).

    Examples
    --------
    >>> glorot_normal((10, 20), rng=0).shape
    (10, 20)
    """
    gain = check_real(gain, name="gain", min_value=1e-100, max_value=1e100)
    return variance_scaling(shape, rng, scale=gain**2, mode="fan_avg", distribution=_normal(truncated),
                            layout=layout, dtype=dtype)


def he_uniform(shape, rng=None, *, a=None, mode="fan_in", nonlinearity="relu", param=None, layout="in_out",
               dtype="float64"):
    """He/Kaiming uniform: ``U[-b, b]`` with ``b = gain * sqrt(3 / n)``.

    With the defaults (ReLU, fan_in) ``b = sqrt(6 / fan_in)`` and
    ``Var(w) = 2 / fan_in``.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    a : float, optional
        Negative slope for ``nonlinearity="leaky_relu"``, as PyTorch's
        ``kaiming_uniform_(w, a=...)`` calls it.
    mode : {"fan_in", "fan_out"}, default "fan_in"
        ``"fan_in"`` preserves the forward signal, ``"fan_out"`` the
        backward gradient.
    nonlinearity : {"relu", "leaky_relu", ...}, default "relu"
        Chooses the gain via :func:`winit_edu.gains.calculate_gain`.
        (PyTorch's default is ``"leaky_relu"`` with ``a=0``: the same gain.)
    param : float, optional
        The same slope under :func:`~winit_edu.gains.calculate_gain`'s
        name; give ``a`` or ``param``, not both.
    layout : {"in_out", "out_in"}, default "in_out"
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling` and :func:`~winit_edu.gains.calculate_gain`;
        also for ``mode="fan_avg"``, which He initialization does not define,
        and for a slope given with another nonlinearity than ``"leaky_relu"``
        or given twice (``a`` and ``param``).

    Notes
    -----
    PyTorch ``kaiming_uniform_(w, a, mode, nonlinearity)`` with
    ``layout="out_in"``; Keras ``HeUniform`` and JAX ``he_uniform`` are
    the default ``fan_in``/ReLU case.

    References
    ----------
    He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers".

    Examples
    --------
    >>> bool(abs(he_uniform((50, 50), rng=0)).max() <= (6 / 50) ** 0.5)
    True
    >>> w = he_uniform((256, 784), rng=0, a=5 ** 0.5, nonlinearity="leaky_relu", layout="out_in")
    >>> round(float(abs(w).max()) * 784 ** 0.5, 3)     # PyTorch's nn.Linear(784, 256): U[-1/28, 1/28]
    1.0
    """
    check_choice(mode, ("fan_in", "fan_out"), name="mode")
    gain = _he_gain(nonlinearity, a, param)
    return variance_scaling(shape, rng, scale=gain**2, mode=mode, distribution="uniform", layout=layout, dtype=dtype)


def he_normal(shape, rng=None, *, a=None, mode="fan_in", nonlinearity="relu", param=None, truncated=False,
              layout="in_out", dtype="float64"):
    """He/Kaiming normal: ``Var(w) = gain**2 / n``, ``2 / fan_in`` for ReLU.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    a : float, optional
        Negative slope for ``nonlinearity="leaky_relu"``:
        ``gain**2 = 2 / (1 + a**2)`` (PyTorch's name).
    mode : {"fan_in", "fan_out"}, default "fan_in"
    nonlinearity : str, default "relu"
    param : float, optional
        The same slope under :func:`~winit_edu.gains.calculate_gain`'s
        name; give ``a`` or ``param``, not both.
    truncated : bool, default False
        ``True`` for Keras' and JAX's truncated-and-rescaled normal.
    layout : {"in_out", "out_in"}, default "in_out"
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`he_uniform`.

    Notes
    -----
    PyTorch ``kaiming_normal_`` (plain normal, ``layout="out_in"``); Keras
    ``HeNormal`` and JAX ``he_normal`` (truncated).

    References
    ----------
    He et al. (2015), eq. 10 (forward) and eq. 14 (backward).

    Examples
    --------
    >>> w = he_normal((1000, 1000), rng=0)
    >>> round(float(w.var() * 1000), 1)
    2.0
    """
    check_choice(mode, ("fan_in", "fan_out"), name="mode")
    gain = _he_gain(nonlinearity, a, param)
    return variance_scaling(shape, rng, scale=gain**2, mode=mode, distribution=_normal(truncated), layout=layout,
                            dtype=dtype)


def pytorch_default(shape, rng=None, *, fan_in=None, layout="in_out", dtype="float64"):
    """PyTorch's default for ``nn.Linear`` and ``nn.ConvNd``: ``U[-b, b]``, ``b = 1 / sqrt(fan_in)``.

    Weights *and* biases. The weight is PyTorch's ``kaiming_uniform_(w,
    a=sqrt(5))``: He uniform with the leaky-ReLU gain for slope ``sqrt(5)``,
    ``gain**2 = 2 / (1 + 5) = 1/3``, so ``b = gain * sqrt(3 / fan_in) = 1 /
    sqrt(fan_in)`` and ``fan_in * Var(w) = 1/3`` (a third of LeCun's 1). The
    bias is drawn from the same interval, with the fan-in of its layer's
    weight. A bias has no fan-in of its own, so it must be given:
    :class:`~winit_edu.network.MLP` and
    :class:`~winit_edu.residual.ResidualMLP` pass ``fan_in`` to a
    ``bias_init`` that takes it, so ``MLP(sizes, weight_init="pytorch_default",
    bias_init="pytorch_default")`` starts as a stack of ``nn.Linear`` layers.

    Parameters
    ----------
    shape : tuple of int
        A weight (at least 2-D), or any shape with ``fan_in`` given.
    rng : int, numpy.random.Generator or None
    fan_in : int, optional
        The fan-in that sets the range; required for a bias (a 1-D shape).
        Default: read from ``shape`` (see ``layout``).
    layout : {"in_out", "out_in"}, default "in_out"
        How to read the fan-in from ``shape`` when ``fan_in`` is not given:
        ``"out_in"`` for PyTorch-shaped weights.
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        For a 1-D shape without ``fan_in``, ``fan_in < 1``, or as
        :func:`variance_scaling`.
    TypeError
        For a ``fan_in`` that is not an int, or badly typed arguments.

    Notes
    -----
    The same numbers as ``he_uniform(shape, rng, a=sqrt(5),
    nonlinearity="leaky_relu")``. Keras and Flax start their dense layers
    differently (``glorot_uniform``, ``lecun_normal``; zero biases).

    References
    ----------
    PyTorch, ``torch.nn.Linear.reset_parameters``; He, Zhang, Ren & Sun (2015).

    Examples
    --------
    >>> w = pytorch_default((64, 256), rng=0, layout="out_in")   # nn.Linear(256, 64).weight
    >>> bool(abs(w).max() <= 1 / 16)
    True
    >>> b = pytorch_default((64,), rng=1, fan_in=256)            # nn.Linear(256, 64).bias
    >>> bool(abs(b).max() <= 1 / 16)
    True
    """
    scale = calculate_gain("leaky_relu", math.sqrt(5)) ** 2  # 1/3
    if fan_in is None:
        shape = check_shape(shape)
        if len(shape) < 2:
            raise ValueError(f"shape {shape} has no fan-in of its own (a bias?): give fan_in=, the fan-in of "
                             "its layer's weight (MLP and ResidualMLP pass it to a bias_init that takes fan_in)")
        return variance_scaling(shape, rng, scale=scale, mode="fan_in", distribution="uniform", layout=layout,
                                dtype=dtype)
    fan_in = check_int(fan_in, name="fan_in", min_value=1)
    shape, dtype = check_shape(shape), check_dtype(dtype)
    limit = math.sqrt(3.0 * (scale / fan_in))  # as variance_scaling computes it, so weights match he_uniform
    return _cast(as_generator(rng).uniform(-limit, limit, size=shape), dtype, "fan_in")
