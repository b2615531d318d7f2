"""Closed-form predictions, to be checked against simulation.

The central object is the *second moment* ``q_l = E[z_l**2]`` of a layer's
pre-activations. For a wide layer with independent, zero-mean weights of
variance ``sigma_w**2 / fan_in`` and biases of variance ``sigma_b**2``,

    q_{l+1} = sigma_w**2 * E[f(sqrt(q_l) * u)**2] + sigma_b**2,   u ~ N(0, 1),

(the same recursion LeCun, Glorot and He solve in special cases; Poole et
al. 2016 and Schoenholz et al. 2017 study it in general). For ReLU,
``E[relu(x)**2] = q / 2``, which is where He's factor 2 comes from.
"""
from __future__ import annotations

import math

import numpy as np

from ._checks import check_int, check_real
from .activations import get_activation

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(101)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()  # expectation over N(0, 1)


def gaussian_expectation(fn, var=1.0):
    """``E[fn(x)]`` for ``x ~ N(0, var)``, by 101-point Gauss-Hermite quadrature.

    Parameters
    ----------
    fn : callable
        Vectorized function of a numpy array.
    var : float, default 1.0
        Variance of ``x``, ``>= 0``.

    Returns
    -------
    float

    Examples
    --------
    >>> round(gaussian_expectation(lambda x: x**2, 3.0), 10)
    3.0
    """
    var = check_real(var, name="var", min_value=0.0)
    return float(np.dot(_WEIGHTS, fn(math.sqrt(var) * _NODES)))


def second_moment_after(activation, q):
    """``E[f(x)**2]`` for ``x ~ N(0, q)``: what a nonlinearity does to the signal.

    Parameters
    ----------
    activation : str or Activation
    q : float
        Second moment (variance) of the pre-activation.

    Returns
    -------
    float

    Examples
    --------
    >>> round(second_moment_after("relu", 2.0), 10)
    1.0
    """
    f = get_activation(activation).f
    return gaussian_expectation(lambda x: f(x) ** 2, q)


def propagate_second_moment(depth, activation, sigma_w2, q0=1.0, sigma_b2=0.0):
    """Predicted ``q_l`` of the pre-activations of layers ``1..depth``.

    The first layer sees the input directly, so ``q_1 = sigma_w2 * q0 +
    sigma_b2`` where ``q0`` is the mean squared input feature; every later
    layer applies the nonlinearity first.

    Parameters
    ----------
    depth : int
        Number of layers, ``>= 1``.
    activation : str or Activation
    sigma_w2 : float
        ``fan_in * Var(w)``: 1 for LeCun, 2 for He (ReLU).
    q0 : float, default 1.0
        Mean squared input feature (1 for standardized inputs).
    sigma_b2 : float, default 0.0
        Bias variance.

    Returns
    -------
    numpy.ndarray, shape (depth,)

    Examples
    --------
    >>> propagate_second_moment(3, "relu", 2.0).round(6)   # He: constant over depth
    array([2., 2., 2.])
    """
    depth = check_int(depth, name="depth", min_value=1)
    sigma_w2 = check_real(sigma_w2, name="sigma_w2", min_value=0.0)
    q0 = check_real(q0, name="q0", min_value=0.0)
    sigma_b2 = check_real(sigma_b2, name="sigma_b2", min_value=0.0)
    q = [sigma_w2 * q0 + sigma_b2]
    for _ in range(depth - 1):
        q.append(sigma_w2 * second_moment_after(activation, q[-1]) + sigma_b2)
    return np.array(q)


def uniform_limit(variance):
    """Half-width ``a`` of ``U[-a, a]`` with the given variance: ``sqrt(3 * variance)``.

    Examples
    --------
    >>> uniform_limit(1 / 3)
    1.0
    """
    variance = check_real(variance, name="variance", min_value=0.0)
    return math.sqrt(3.0 * variance)


def uniform_variance(low, high):
    """Variance ``(high - low)**2 / 12`` of ``U[low, high]``.

    Examples
    --------
    >>> uniform_variance(-1, 1)
    0.3333333333333333
    """
    low, high = check_real(low, name="low"), check_real(high, name="high")
    if not low < high:
        raise ValueError(f"low must be smaller than high, got low={low}, high={high}")
    return (high - low) ** 2 / 12.0


def gaussian_expectation_fine(fn, var=1.0, points=100_000, width=12.0):
    """``E[fn(x)]`` for ``x ~ N(0, var)`` on a fine, evenly spaced grid.

    :func:`gaussian_expectation` (Gauss-Hermite quadrature) is exact for
    polynomials, but its nodes near 0 are about 0.2 standard deviations
    apart. A function with a feature much narrower than ``sqrt(var)`` is
    then missed or over-weighted: ``tanh'(x)**2`` when ``var`` is large (a
    spike of width about 1 at the origin), or a step such as ``relu'(x)``
    (the node at 0 takes a whole weight). This rule cuts ``+-width``
    standard deviations into ``points`` equal cells, evaluates ``fn`` at the
    cell midpoints and weights them by the normal density, normalized to sum
    to one (the midpoint rule). Its resolution is ``2 * width * sqrt(var) /
    points``; with an even ``points``, 0 is a cell boundary, so a step at 0
    is split exactly in half.

    Parameters
    ----------
    fn : callable
        Vectorized function of a numpy array.
    var : float, default 1.0
        Variance of ``x``, ``>= 0`` (``var = 0`` gives ``fn(0)``).
    points : int, default 100000
        Number of cells, ``>= 2``.
    width : float, default 12.0
        Half-width of the grid in standard deviations, ``> 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a negative ``var``, ``points < 2`` or ``width <= 0``.
    TypeError
        For non-numeric arguments.

    Examples
    --------
    >>> round(gaussian_expectation_fine(lambda x: (x > 0).astype(float)), 6)   # P(x > 0)
    0.5
    >>> round(gaussian_expectation(lambda x: (x > 0).astype(float)), 3)        # quadrature misses the step
    0.438
    """
    var = check_real(var, name="var", min_value=0.0)
    points = check_int(points, name="points", min_value=2)
    width = check_real(width, name="width", min_value=0.0, min_inclusive=False)
    u = -width + (np.arange(points) + 0.5) * (2.0 * width / points)
    density = np.exp(-0.5 * u * u)
    return float(np.dot(density, fn(math.sqrt(var) * u)) / density.sum())
