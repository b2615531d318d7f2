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
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import check_choice, check_real, check_shape
from .distributions import truncated_normal, truncated_std_factor
from .fans import compute_fans
from .gains import calculate_gain
from .rng import as_generator

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


def variance_scaling(shape, rng=None, scale=1.0, mode="fan_in", distribution="normal", layout="in_out"):
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

    Returns
    -------
    numpy.ndarray
        float64 array of the given shape.

    Raises
    ------
    ValueError
        For ``scale <= 0``, an unknown ``mode``, ``distribution`` or
        ``layout``, or a shape with fewer than two or non-positive dimensions.
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
    distribution = _ALIASES.get(distribution, distribution)
    check_choice(distribution, DISTRIBUTIONS, name="distribution")
    var = scale / fan_for_mode(shape, mode, layout)
    gen = as_generator(rng)
    if distribution == "uniform":
        limit = math.sqrt(3.0 * var)
        return gen.uniform(-limit, limit, size=shape)
    if distribution == "truncated_normal":
        std = math.sqrt(var) / truncated_std_factor(2.0)
        return truncated_normal(shape, gen, std=std, cutoff=2.0)
    return gen.normal(0.0, math.sqrt(var), size=shape)


def _normal(truncated):
    if not isinstance(truncated, (bool, np.bool_)):
        raise TypeError(f"truncated must be True or False, got {truncated!r}")
    return "truncated_normal" if truncated else "normal"


def lecun_uniform(shape, rng=None, layout="in_out"):
    """LeCun uniform: ``U[-sqrt(3/fan_in), sqrt(3/fan_in)]``, so ``Var(w) = 1/fan_in``.

    Parameters
    ----------
    shape : tuple of int
        Weight shape, at least 2-D.
    rng : int, numpy.random.Generator or None
    layout : {"in_out", "out_in"}, default "in_out"

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
    return variance_scaling(shape, rng, 1.0, "fan_in", "uniform", layout)


def lecun_normal(shape, rng=None, layout="in_out", truncated=False):
    """LeCun normal: ``Var(w) = 1/fan_in``.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    layout : {"in_out", "out_in"}, default "in_out"
    truncated : bool, default False
        ``False``: plain ``N(0, 1/fan_in)``. ``True``: Keras/JAX's truncated
        normal at two standard deviations, rescaled to the same variance.

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
    return variance_scaling(shape, rng, 1.0, "fan_in", _normal(truncated), layout)


def glorot_uniform(shape, rng=None, layout="in_out", gain=1.0):
    """Glorot/Xavier uniform: ``U[-a, a]`` with ``a = gain * sqrt(6/(fan_in + fan_out))``.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    layout : {"in_out", "out_in"}, default "in_out"
    gain : float, default 1.0
        Multiplies the standard deviation, as PyTorch's ``gain`` argument.

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
    gain = check_real(gain, name="gain", min_value=0.0, min_inclusive=False)
    return variance_scaling(shape, rng, gain**2, "fan_avg", "uniform", layout)


def glorot_normal(shape, rng=None, layout="in_out", gain=1.0, truncated=False):
    """Glorot/Xavier normal: ``Var(w) = gain**2 * 2 / (fan_in + fan_out)``.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    layout : {"in_out", "out_in"}, default "in_out"
    gain : float, default 1.0
    truncated : bool, default False
        ``True`` for Keras' and JAX's truncated-and-rescaled normal.

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
    gain = check_real(gain, name="gain", min_value=0.0, min_inclusive=False)
    return variance_scaling(shape, rng, gain**2, "fan_avg", _normal(truncated), layout)


def he_uniform(shape, rng=None, layout="in_out", mode="fan_in", nonlinearity="relu", param=None):
    """He/Kaiming uniform: ``U[-b, b]`` with ``b = gain * sqrt(3 / n)``.

    With the defaults (ReLU, fan_in) ``b = sqrt(6 / fan_in)`` and
    ``Var(w) = 2 / fan_in``.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    layout : {"in_out", "out_in"}, default "in_out"
    mode : {"fan_in", "fan_out"}, default "fan_in"
        ``"fan_in"`` preserves the forward signal, ``"fan_out"`` the
        backward gradient.
    nonlinearity : {"relu", "leaky_relu", ...}, default "relu"
        Chooses the gain via :func:`winit_edu.gains.calculate_gain`.
    param : float, optional
        Negative slope for ``"leaky_relu"``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling` and :func:`~winit_edu.gains.calculate_gain`;
        also for ``mode="fan_avg"``, which He initialization does not define.

    Notes
    -----
    PyTorch ``kaiming_uniform_(w, a=param, mode, nonlinearity)`` with
    ``layout="out_in"``; Keras ``HeUniform`` and JAX ``he_uniform`` are
    the default ``fan_in``/ReLU case.

    References
    ----------
    He, Zhang, Ren & Sun (2015), "Delving deep into rectifiers".

    Examples
    --------
    >>> bool(abs(he_uniform((50, 50), rng=0)).max() <= (6 / 50) ** 0.5)
    True
    """
    check_choice(mode, ("fan_in", "fan_out"), name="mode")
    gain = calculate_gain(nonlinearity, param)
    return variance_scaling(shape, rng, gain**2, mode, "uniform", layout)


def he_normal(shape, rng=None, layout="in_out", mode="fan_in", nonlinearity="relu", param=None,
              truncated=False):
    """He/Kaiming normal: ``Var(w) = gain**2 / n``, ``2 / fan_in`` for ReLU.

    Parameters
    ----------
    shape : tuple of int
    rng : int, numpy.random.Generator or None
    layout : {"in_out", "out_in"}, default "in_out"
    mode : {"fan_in", "fan_out"}, default "fan_in"
    nonlinearity : str, default "relu"
    param : float, optional
        Negative slope for ``"leaky_relu"``: ``gain**2 = 2 / (1 + param**2)``.
    truncated : bool, default False
        ``True`` for Keras' and JAX's truncated-and-rescaled normal.

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
    gain = calculate_gain(nonlinearity, param)
    return variance_scaling(shape, rng, gain**2, mode, _normal(truncated), layout)
