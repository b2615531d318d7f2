"""Closed-form predictions, to be checked against simulation.

The central object is the *second moment* ``q_l = E[z_l**2]`` of a layer's
pre-activations. For a wide layer with independent, zero-mean weights of
variance ``sigma_w**2 / fan_in`` and biases of variance ``sigma_b**2``,

    q_{l+1} = sigma_w**2 * E[f(sqrt(q_l) * u)**2] + sigma_b**2,   u ~ N(0, 1),

(the same recursion LeCun, Glorot and He solve in special cases; Poole et
al. 2016 and Schoenholz et al. 2017 study it in general). For ReLU,
``E[relu(x)**2] = q / 2``, which is where He's factor 2 comes from.

Going backward, each layer multiplies the second moment of the gradient by

    chi_l = sigma_w**2 * E[f'(sqrt(q_l) * u)**2]

(for a layer whose fan-out equals its fan-in), which is 1 for every layer
exactly when the initialization keeps gradients at a constant scale.

Every expectation here is computed by :func:`gaussian_expectation`, whose
default rule (a fine grid) is accurate also for functions with kinks and
narrow spikes (``relu'``, ``tanh'(x)**2`` at large variance), where
Gauss-Hermite quadrature, the textbook choice, is badly off.
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_int, check_real
from ..nn.activations import get_activation

_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(101)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()  # expectation over N(0, 1)
METHODS = ("grid", "hermite")


def gaussian_expectation(fn, var=1.0, *, method="grid", points=100_000, width=12.0):
    """``E[fn(x)]`` for ``x ~ N(0, var)``.

    Two rules:

    ``"grid"`` (default)
        The midpoint rule on a fine grid: ``+-width`` standard deviations cut
        into ``points`` equal cells, ``fn`` evaluated at the cell midpoints and
        weighted by the normal density (normalized to sum to one). Resolution
        ``2 * width * sqrt(var) / points``; with an even ``points``, 0 is a cell
        boundary, so a step at 0 is split exactly in half. Accurate for kinks,
        steps and narrow spikes, to about 1e-9 for the book's functions.
    ``"hermite"``
        101-point Gauss-Hermite quadrature: exact for polynomials up to degree
        201 and fast, but its nodes near 0 are about 0.2 standard deviations
        apart, so a feature much narrower than ``sqrt(var)`` is missed or
        over-weighted: it gives 0.438 for ``P(x > 0)``, and ``E[tanh'(x)**2]``
        at ``var = 100`` more than twice too large. ``points`` and ``width``
        are ignored.

    Parameters
    ----------
    fn : callable
        Vectorized function of a numpy array.
    var : float, default 1.0
        Variance of ``x``, ``>= 0`` (``var = 0`` gives ``fn(0)``).
    method : {"grid", "hermite"}, default "grid"
    points : int, default 100000
        Number of grid cells, ``>= 2`` (``"grid"`` only).
    width : float, default 12.0
        Half-width of the grid in standard deviations, ``> 0`` (``"grid"`` only).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a negative ``var``, an unknown ``method``, ``points < 2`` or ``width <= 0``.
    TypeError
        For non-numeric arguments.

    Examples
    --------
    >>> round(gaussian_expectation(lambda x: x**2, 3.0), 8)
    3.0
    >>> round(gaussian_expectation(lambda x: (x > 0).astype(float)), 6)                    # P(x > 0)
    0.5
    >>> round(gaussian_expectation(lambda x: (x > 0).astype(float), method="hermite"), 3)  # misses the step
    0.438
    """
    var = check_real(var, name="var", min_value=0.0)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "hermite":
        return float(np.dot(_WEIGHTS, fn(math.sqrt(var) * _NODES)))
    points = check_int(points, name="points", min_value=2)
    width = check_real(width, name="width", min_value=0.0, min_inclusive=False)
    u = -width + (np.arange(points) + 0.5) * (2.0 * width / points)
    density = np.exp(-0.5 * u * u)
    return float(np.dot(density, fn(math.sqrt(var) * u)) / density.sum())


def second_moment_after(activation, q, *, points=100_000):
    """``E[f(x)**2]`` for ``x ~ N(0, q)``: what a nonlinearity does to the signal.

    Parameters
    ----------
    activation : str or Activation
    q : float
        Second moment (variance) of the pre-activation, ``>= 0``.
    points : int, default 100000
        Grid cells of :func:`gaussian_expectation`'s midpoint rule: fewer
        for speed in a loop, more for a narrow feature at a large ``q``.

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        For an unknown activation, a negative ``q`` or ``points < 2``.

    Examples
    --------
    >>> round(second_moment_after("relu", 2.0), 10)
    1.0
    """
    f = get_activation(activation).f
    return gaussian_expectation(lambda x: f(x) ** 2, q, points=points)


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
    sigma_w2 : float or sequence of float
        ``fan_in * Var(w)``: 1 for LeCun, 2 for He (ReLU). A sequence gives
        one value per layer (``depth`` of them), for networks whose layers
        are scaled differently (widths that change, a different output layer).
    q0 : float, default 1.0
        Mean squared input feature (1 for standardized inputs).
    sigma_b2 : float, default 0.0
        ``Var(b)`` itself, the variance of each bias (not multiplied by the
        fan-in: a bias adds its variance to every pre-activation once).

    Returns
    -------
    numpy.ndarray, shape (depth,)

    Examples
    --------
    >>> propagate_second_moment(3, "relu", 2.0).round(6)   # He: constant over depth
    array([2., 2., 2.])
    """
    depth = check_int(depth, name="depth", min_value=1)
    s2 = _per_layer(sigma_w2, depth)
    q0 = check_real(q0, name="q0", min_value=0.0)
    sigma_b2 = check_real(sigma_b2, name="sigma_b2", min_value=0.0)
    q = [s2[0] * q0 + sigma_b2]
    for l in range(1, depth):
        q.append(s2[l] * second_moment_after(activation, q[-1]) + sigma_b2)
    return np.array(q)


def _per_layer(sigma_w2, depth):
    """``sigma_w2`` as ``depth`` checked values: one number repeated, or one per layer."""
    if np.ndim(sigma_w2) == 0:
        return [check_real(sigma_w2, name="sigma_w2", min_value=0.0)] * depth
    values = list(sigma_w2)
    if len(values) != depth:
        raise ValueError(f"sigma_w2 must be a number or one value per layer ({depth}), got {len(values)} values")
    return [check_real(v, name=f"sigma_w2[{l}]", min_value=0.0) for l, v in enumerate(values)]


def slope_after(activation, q, *, points=100_000):
    """``E[f'(x)**2]`` for ``x ~ N(0, q)``: what a nonlinearity does to the gradient.

    Parameters
    ----------
    activation : str or Activation
    q : float
        Second moment (variance) of the pre-activation, ``>= 0``.
    points : int, default 100000
        Grid cells of :func:`gaussian_expectation`'s midpoint rule (as in
        :func:`second_moment_after`).

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        For an unknown activation, a negative ``q`` or ``points < 2``.

    Examples
    --------
    >>> round(slope_after("relu", 3.0), 6)    # relu' is 1 on half the line
    0.5
    """
    act = get_activation(activation)
    return gaussian_expectation(lambda x: act.df(x, act.f(x)) ** 2, q, points=points)


def gradient_factors(depth, activation, sigma_w2, q0=1.0, sigma_b2=0.0):
    """Predicted ``chi_l = sigma_w2 * E[f'(z_l)**2]`` of layers ``1..depth``.

    ``chi_l`` is the factor by which the second moment of the back-propagated
    gradient grows from layer ``l + 1`` down to layer ``l`` in a wide network
    whose layers have equal fan-in and fan-out; the gradient reaching the
    first layer is the product of these factors. It is evaluated at the
    second moments ``q_l`` of :func:`propagate_second_moment` (same
    arguments). ``chi_l = 1`` for every layer is the backward counterpart of
    a constant ``q_l``; for ReLU and He (``sigma_w2 = 2``) both hold.

    Parameters
    ----------
    depth, activation, sigma_w2, q0, sigma_b2
        As in :func:`propagate_second_moment`. With one ``sigma_w2`` per
        layer, ``chi_l`` pairs layer ``l``'s pre-activation with layer
        ``l``'s own ``sigma_w2[l]``; the factor the gradient actually picks up
        between layers ``l + 1`` and ``l`` uses the weights of layer
        ``l + 1`` (``sigma_w2[l + 1]``, for equal widths), which differs when
        the layers are scaled differently: shift the values, or multiply in
        the notebook (chapter 5 of the book shows how).

    Returns
    -------
    numpy.ndarray, shape (depth,)

    Examples
    --------
    >>> gradient_factors(3, "relu", 2.0).round(6)
    array([1., 1., 1.])
    >>> gradient_factors(2, "relu", [2.0, 4.0]).round(6)   # one value per layer
    array([1., 2.])
    """
    q = propagate_second_moment(depth, activation, sigma_w2, q0=q0, sigma_b2=sigma_b2)
    return np.array([s2 * slope_after(activation, ql) for s2, ql in zip(_per_layer(sigma_w2, depth), q)])


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
    """``E[fn(x)]`` on a fine grid: the same as ``gaussian_expectation(fn, var, method="grid")``.

    Kept for code written before :func:`gaussian_expectation` took a
    ``method``; see there.

    Parameters
    ----------
    fn : callable
    var : float, default 1.0
    points : int, default 100000
    width : float, default 12.0

    Returns
    -------
    float

    Examples
    --------
    >>> round(gaussian_expectation_fine(lambda x: (x > 0).astype(float)), 6)
    0.5
    """
    return gaussian_expectation(fn, var, method="grid", points=points, width=width)
