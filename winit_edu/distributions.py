"""The basic initializers: constants and plain random distributions.

None of these looks at the layer's size; they are the "fixed recipe"
initializers that the scale-aware ones (:mod:`winit_edu.variance_scaling`)
replaced. All of them return a new ``float64`` array (cast it with
``.astype`` if you need float32) and accept any shape, including the 1-D
shapes of biases.
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import check_real, check_shape
from .rng import as_generator


def zeros(shape, rng=None):
    """All zeros. ``rng`` is accepted (and ignored) for a uniform signature.

    Parameters
    ----------
    shape : int or tuple of int
    rng : ignored

    Returns
    -------
    numpy.ndarray

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
    return constant(shape, value=0.0)


def ones(shape, rng=None):
    """All ones. ``rng`` is accepted (and ignored) for a uniform signature.

    Parameters
    ----------
    shape : int or tuple of int
    rng : ignored

    Returns
    -------
    numpy.ndarray

    Notes
    -----
    PyTorch ``ones_``, Keras ``Ones``, JAX ``jax.nn.initializers.ones``.

    Examples
    --------
    >>> ones(3)
    array([1., 1., 1.])
    """
    return constant(shape, value=1.0)


def constant(shape, rng=None, value=0.0):
    """Every entry equal to ``value``.

    Parameters
    ----------
    shape : int or tuple of int
    rng : ignored
        Accepted so that every initializer has the signature ``(shape, rng, ...)``.
    value : float, default 0.0

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    TypeError, ValueError
        For a bad shape or a non-finite ``value``.

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
    value = check_real(value, name="value")
    return np.full(shape, value, dtype=np.float64)


def uniform(shape, rng=None, low=-0.05, high=0.05):
    """Independent draws from the uniform distribution on ``[low, high)``.

    Mean ``(low + high) / 2``, variance ``(high - low)**2 / 12``.

    Parameters
    ----------
    shape : int or tuple of int
    rng : int, numpy.random.Generator or None
        See :func:`winit_edu.rng.as_generator`.
    low, high : float, default -0.05, 0.05
        The range; ``low < high``. The defaults are Keras' ``RandomUniform``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``low >= high`` or the shape is invalid.

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
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low}, high={high}")
    return as_generator(rng).uniform(low, high, size=shape)


def normal(shape, rng=None, mean=0.0, std=0.05):
    """Independent draws from the normal distribution ``N(mean, std**2)``.

    Parameters
    ----------
    shape : int or tuple of int
    rng : int, numpy.random.Generator or None
    mean : float, default 0.0
    std : float, default 0.05
        Standard deviation, ``>= 0``. The default is Keras' ``RandomNormal``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``std`` is negative or the shape is invalid.

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
    return as_generator(rng).normal(mean, std, size=shape)


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
    pdf = math.exp(-0.5 * c * c) / math.sqrt(2.0 * math.pi)
    mass = math.erf(c / math.sqrt(2.0))  # = 2 Phi(c) - 1
    return math.sqrt(1.0 - 2.0 * c * pdf / mass)


def truncated_normal(shape, rng=None, mean=0.0, std=0.05, cutoff=2.0):
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
        Half-width of the kept interval in units of ``std``, ``> 0``.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``std`` is negative, ``cutoff`` is not positive or the shape is
        invalid.

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
    cutoff = check_real(cutoff, name="cutoff", min_value=0.0, min_inclusive=False)
    gen = as_generator(rng)
    z = gen.standard_normal(size=shape)
    outside = np.abs(z) > cutoff
    while outside.any():  # each pass redraws about 5% of what is left at cutoff=2
        z[outside] = gen.standard_normal(size=int(outside.sum()))
        outside = np.abs(z) > cutoff
    return mean + std * z
