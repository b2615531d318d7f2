"""The basic initializers: constants and plain random distributions.

None of these looks at the layer's size; they are the "fixed recipe"
initializers that the scale-aware ones (:mod:`winit_edu.scaling`)
replaced. All of them return a new array (``float64`` unless ``dtype`` says
``"float32"``) and accept any shape, including the 1-D shapes of biases.

Every initializer of the package is called as ``f(shape, rng, *, options)``:
the options are keyword-only, so a value can never land in the wrong
parameter. :func:`zeros`, :func:`ones` and :func:`constant` draw nothing, so
they take ``rng`` by keyword only (``constant((2, 2), 6.0)`` is an error, not
an array of zeros); it is accepted so that any initializer can be called as
``init(shape, rng=...)``. The conventions shared by every initializer:
:ref:`api-conventions`.
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_dtype, check_real, check_shape
from ..rng import as_generator, check_rng


def zeros(shape, *, rng=None, dtype="float64"):
    """All zeros.

    Parameters
    ----------
    shape : int or tuple of int
    rng : int, numpy.random.Generator or None, keyword-only
        Checked but not used: nothing is drawn.
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError, ValueError
        For a bad ``shape``, ``rng`` or ``dtype``.

    Notes
    -----
    The standard bias initializer. As a *weight* initializer it makes every
    hidden unit identical and, in a network with two or more layers, most
    gradients exactly zero (see the symmetry chapter). PyTorch ``zeros_``,
    Keras ``Zeros``, JAX ``jax.nn.initializers.zeros``.

    Examples
    --------
    >>> zeros((2, 3)).sum()
    np.float64(0.0)
    """
    return constant(shape, rng=rng, value=0.0, dtype=dtype)


def ones(shape, *, rng=None, dtype="float64"):
    """All ones.

    Parameters
    ----------
    shape : int or tuple of int
    rng : int, numpy.random.Generator or None, keyword-only
        Checked but not used: nothing is drawn.
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError, ValueError
        For a bad ``shape``, ``rng`` or ``dtype``.

    Notes
    -----
    PyTorch ``ones_``, Keras ``Ones``, JAX ``jax.nn.initializers.ones``.

    Examples
    --------
    >>> ones(3)
    array([1., 1., 1.])
    """
    return constant(shape, rng=rng, value=1.0, dtype=dtype)


def constant(shape, *, rng=None, value=0.0, dtype="float64"):
    """Every entry equal to ``value``.

    Parameters
    ----------
    shape : int or tuple of int
    rng : int, numpy.random.Generator or None, keyword-only
        Checked but not used: nothing is drawn. Keyword-only, so that
        ``constant(shape, 0.1)`` fails instead of ignoring the 0.1.
    value : float, default 0.0
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError, ValueError
        For a bad ``shape``, ``rng`` or ``dtype``, or a non-finite ``value``
        (or one beyond the range of ``dtype``).

    Notes
    -----
    PyTorch ``constant_(t, val)``, Keras ``Constant(value)``, JAX
    ``jax.nn.initializers.constant(value)``.

    Examples
    --------
    >>> constant((2,), value=0.1)
    array([0.1, 0.1])
    """
    shape = check_shape(shape)
    check_rng(rng)
    value = check_real(value, name="value")
    dtype = check_dtype(dtype)
    if abs(value) > float(np.finfo(dtype).max):
        raise ValueError(f"value must fit in {dtype}, got {value}")
    return np.full(shape, value, dtype=dtype)


def uniform(shape, rng=None, *, low=-0.05, high=0.05, dtype="float64"):
    """Independent draws from the uniform distribution on ``[low, high)``.

    Mean ``(low + high) / 2``, variance ``(high - low)**2 / 12``.

    Parameters
    ----------
    shape : int or tuple of int
    rng : int, numpy.random.Generator or None
        See :func:`winit_edu.rng.as_generator`.
    low, high : float, default -0.05, 0.05
        The range; ``low < high``, both finite and ``high - low`` too. The
        defaults are Keras' ``RandomUniform``.
    dtype : {"float64", "float32"}, default "float64"
        The draws are made in float64 and rounded to ``dtype``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``low >= high``, the range is not finite, or ``shape`` or
        ``dtype`` is invalid.
    TypeError
        For badly typed arguments.

    Notes
    -----
    PyTorch ``uniform_(t, a=0, b=1)`` (other defaults!), Keras
    ``RandomUniform(minval, maxval)``, JAX ``uniform(scale)`` draws on
    ``[0, scale)``.

    Examples
    --------
    >>> w = uniform((1000, 100), rng=0, low=-1, high=1)
    >>> bool(abs(w.var() - 1 / 3) < 0.01)
    True
    """
    shape = check_shape(shape)
    low = check_real(low, name="low")
    high = check_real(high, name="high")
    dtype = check_dtype(dtype)
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low}, high={high}")
    if not math.isfinite(high - low):
        raise ValueError(f"high - low must be finite, got low={low}, high={high}")
    return _cast(as_generator(rng).uniform(low, high, size=shape), dtype, "low, high")


def normal(shape, rng=None, *, mean=0.0, std=0.05, dtype="float64"):
    """Independent draws from the normal distribution ``N(mean, std**2)``.

    Parameters
    ----------
    shape : int or tuple of int
    rng : int, numpy.random.Generator or None
    mean : float, default 0.0
    std : float, default 0.05
        Standard deviation, ``>= 0``. The default is Keras' ``RandomNormal``.
    dtype : {"float64", "float32"}, default "float64"
        The draws are made in float64 and rounded to ``dtype``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``std`` is negative, a draw is not finite (``mean`` or ``std``
        near the largest float), or ``shape`` or ``dtype`` is invalid.
    TypeError
        For badly typed arguments.

    Notes
    -----
    PyTorch ``normal_(t, mean=0, std=1)`` (other default!), Keras
    ``RandomNormal(mean, stddev)``, JAX ``normal(stddev=0.01)``.

    Examples
    --------
    >>> w = normal((1000, 100), rng=0, std=0.1)
    >>> bool(abs(w.std() - 0.1) < 0.001)
    True
    """
    shape = check_shape(shape)
    mean = check_real(mean, name="mean")
    std = check_real(std, name="std", min_value=0.0)
    dtype = check_dtype(dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # mean + std * z may overflow: reported by _cast
        w = as_generator(rng).normal(mean, std, size=shape)
    return _cast(w, dtype, "mean, std")


def _cast(w, dtype, names):
    """``w`` as ``dtype``; a draw that overflowed (float64, or in the cast) is an error, not an inf."""
    with np.errstate(over="ignore"):
        w = w.astype(dtype, copy=False)
    if not np.isfinite(w).all():
        raise ValueError(f"{names}: too large, some draws are not finite in {dtype}")
    return w


def truncated_std_factor(cutoff=2.0):
    """Standard deviation of a standard normal truncated to ``[-cutoff, cutoff]``.

    ``sqrt(1 - 2 c phi(c) / (2 Phi(c) - 1))`` with ``phi`` and ``Phi`` the
    standard normal density and distribution function. For ``cutoff=2`` this
    is 0.8796..., the constant Keras and JAX divide by in ``variance_scaling``.

    Parameters
    ----------
    cutoff : float, default 2.0
        Half-width of the interval in standard deviations, ``> 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``cutoff`` is not positive.

    Examples
    --------
    >>> round(truncated_std_factor(2.0), 8)
    0.87962566
    """
    c = check_real(cutoff, name="cutoff", min_value=0.0, min_inclusive=False)
    if c < 1e-2:  # the formula below cancels to nothing; its series, c**2/3 - 2c**4/45, is exact here
        return c * math.sqrt(1.0 / 3.0 - 2.0 * c * c / 45.0)
    if c > 40.0:  # phi(c) is 0 in floating point: nothing is cut (and 2 c would overflow near the largest float)
        return 1.0
    pdf = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    mass = math.erf(c / math.sqrt(2.0))  # = 2 Phi(c) - 1
    return math.sqrt(1.0 - 2.0 * c * pdf / mass)


def truncated_normal(shape, rng=None, *, mean=0.0, std=0.05, cutoff=2.0, dtype="float64"):
    """Normal draws ``N(mean, std**2)`` with everything beyond ``cutoff`` std redrawn.

    Values outside ``[mean - cutoff*std, mean + cutoff*std]`` are discarded
    and drawn again, so the result follows the truncated normal. ``std`` is
    the standard deviation *before* truncation: the draws have the smaller
    standard deviation ``std * truncated_std_factor(cutoff)`` (0.88 ``std``
    at the default cut of 2). :func:`winit_edu.variance_scaling` corrects
    for this; this function, like Keras' ``TruncatedNormal``, does not.

    Parameters
    ----------
    shape : int or tuple of int
    rng : int, numpy.random.Generator or None
    mean : float, default 0.0
    std : float, default 0.05
        Standard deviation of the normal before truncation, ``>= 0``.
    cutoff : float, default 2.0
        Half-width of the kept interval in units of ``std``, ``>= 0.1``
        (a narrower cut keeps under 8% of the draws and the loop below
        needs many passes).
    dtype : {"float64", "float32"}, default "float64"
        The draws are made in float64 and rounded to ``dtype``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``std`` is negative, ``cutoff < 0.1``, a draw is not finite
        (``mean`` or ``std`` near the largest float), or ``shape`` or
        ``dtype`` is invalid.
    TypeError
        For badly typed arguments.

    Notes
    -----
    Keras ``TruncatedNormal(mean, stddev)`` and JAX
    ``truncated_normal(stddev)`` cut at two standard deviations, as here.
    PyTorch ``trunc_normal_(t, mean, std, a=-2, b=2)`` cuts at the *absolute*
    values ``a`` and ``b``; pass ``a = mean - 2*std, b = mean + 2*std`` to get
    this function's distribution.

    Examples
    --------
    >>> w = truncated_normal((100, 100), rng=0, std=1.0)
    >>> bool(abs(w).max() <= 2.0)
    True
    """
    shape = check_shape(shape)
    mean = check_real(mean, name="mean")
    std = check_real(std, name="std", min_value=0.0)
    cutoff = check_real(cutoff, name="cutoff", min_value=0.1)
    dtype = check_dtype(dtype)
    gen = as_generator(rng)
    z = gen.standard_normal(size=shape)
    outside = np.abs(z) > cutoff
    while outside.any():  # each pass redraws about 5% of what is left at cutoff=2
        z[outside] = gen.standard_normal(size=int(outside.sum()))
        outside = np.abs(z) > cutoff
    with np.errstate(over="ignore", invalid="ignore"):  # reported by _cast
        w = mean + std * z
    return _cast(w, dtype, "mean, std")
