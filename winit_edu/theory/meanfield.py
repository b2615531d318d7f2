"""Mean-field theory of wide random networks: order, chaos and depth scales.

A fully connected network whose weights are independent ``N(0, sigma_w2 /
fan_in)`` and whose biases are independent ``N(0, sigma_b2)`` is fed two
inputs ``a`` and ``b``. When the layers are wide, the pre-activations of one
unit for the two inputs are jointly Gaussian, with the variances ``q_l`` (one
per input) and the correlation ``c_l``, and three maps carry these numbers
from one layer to the next (Poole et al. 2016; Schoenholz et al. 2017)::

    q_{l+1} = sigma_w2 * E[f(u)**2] + sigma_b2,                   u ~ N(0, q_l)
    c_{l+1} = (sigma_w2 * E[f(u1) f(u2)] + sigma_b2) / q_{l+1},   (u1, u2) ~ N(0, q_l [[1, c_l], [c_l, 1]])

The *length map* (the first line) is the recursion of
:func:`winit_edu.theory.propagate_second_moment`; this module adds its fixed
point ``q*``, the *correlation map* (the second line), its fixed point
``c*``, their slopes, and what follows from them:

``chi_1 = sigma_w2 * E[f'(u)**2]``, ``u ~ N(0, q*)``
    the slope of the correlation map at ``c = 1``: two nearby inputs move
    apart (``chi_1 > 1``, the *chaotic* phase) or together (``chi_1 < 1``,
    the *ordered* phase); ``chi_1 = 1`` is the *critical line*, the "edge of
    chaos". It is also the factor :func:`~winit_edu.theory.gradient_factors`
    gives for the backward pass at the fixed point.
``xi_q = -1 / log(dq_{l+1}/dq_l at q*)``, ``xi_c = -1 / log(dc_{l+1}/dc_l at c*)``
    the *depth scales* of Schoenholz et al. (2017): the number of layers over
    which a deviation of ``q_l`` from ``q*`` and of ``c_l`` from ``c*`` decays
    by a factor ``e``. ``xi_c`` diverges on the critical line.

Every one-dimensional expectation is the midpoint rule of
:func:`winit_edu.theory.gaussian_expectation` with 4,000 cells over +-12
standard deviations. For the smooth activations (tanh, scaled tanh,
sigmoid, GELU in both forms, SiLU, SELU's smooth pieces) the rule converges exponentially
fast in the number of cells: it agrees with the default 100,000-cell rule to
about 1e-14 for variances up to 100. The two-dimensional expectation,
:func:`gaussian_expectation_2d`, is the same rule on a product grid.
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_int, check_real
from ..nn.activations import Activation, get_activation
from .moments import gaussian_expectation, propagate_second_moment, slope_after

_POINTS = 4000   # cells of the one-dimensional rule; see the module docstring
_TINY_Q = 1e-10  # below this, a second moment counts as zero (a network whose signal has died)


def _act(activation):
    """An Activation, with a TypeError/ValueError naming the argument."""
    if not isinstance(activation, (str, Activation)):
        raise TypeError(f"activation must be an activation name or an Activation, got {type(activation).__name__}")
    return get_activation(activation)


def _expect(fn, q):
    """``E[fn(u)]`` for ``u ~ N(0, q)`` with the module's 1-D rule."""
    return gaussian_expectation(fn, q, points=_POINTS)


def _df(act):
    """``f'`` as a function of ``z`` alone."""
    return lambda z: act.df(z, act.f(z))


def _root(g, lo, hi, g_lo, g_hi, tol):
    """A zero of ``g`` between ``lo`` and ``hi``, given that ``g_lo`` and ``g_hi`` have opposite signs.

    The Illinois variant of regula falsi, with a bisection step whenever two
    steps in a row fail to halve the bracket: the bracket always holds a
    sign change and shrinks to ``tol``. Typically 10 to 30 evaluations.
    """
    slow = 0
    for _ in range(300):
        width = abs(hi - lo)
        if width <= tol:
            break
        if slow >= 2 or g_hi == g_lo:
            mid, slow = 0.5 * (lo + hi), 0
        else:
            mid = hi - g_hi * (hi - lo) / (g_hi - g_lo)
            if not min(lo, hi) < mid < max(lo, hi):
                mid = 0.5 * (lo + hi)
        g_mid = g(mid)
        if g_mid == 0.0:
            return mid
        if (g_mid > 0) == (g_lo > 0):      # the sign change is between mid and hi
            lo, g_lo = mid, g_mid
            g_hi *= 0.5                    # Illinois: keep the retained end from stalling
        else:
            hi, g_hi = mid, g_mid
            g_lo *= 0.5
        slow = slow + 1 if abs(hi - lo) > 0.5 * width else 0
    return 0.5 * (lo + hi)


def gaussian_expectation_2d(fn, var, c, *, points=None, width=10.0):
    """``E[fn(u1, u2)]`` for ``u1, u2 ~ N(0, var)`` with correlation ``c``.

    Writes ``u1 = sqrt(var) x`` and ``u2 = sqrt(var) (c x + sqrt(1 - c**2) y)``
    with ``x, y`` independent standard normals and applies the midpoint rule
    of :func:`winit_edu.theory.gaussian_expectation` to ``x`` and to ``y``
    (a product grid of ``points**2`` cells).

    Accuracy: for integrands that are analytic in a strip ``|Im u| < d``
    (``tanh`` and its derivatives: ``d = pi / 2``), the error of the midpoint
    rule falls like ``exp(-2 pi d / (h sqrt(var)))`` with the cell width
    ``h = 2 width / points``. The default ``points`` keeps
    ``h sqrt(var) <= 0.2``, which puts the error of the tanh expectations
    this module needs below 1e-12 (checked in the tests against Williams'
    closed form for the error function and against the one-dimensional rule
    at ``c = 1``). For functions with a kink (ReLU) the kink runs across the
    grid's cells and the error is only ``O(h**2)``: up to about ``2e-4 * var``
    (absolute) with the default, ``2e-6 * var`` with ``points=2000`` (checked
    against the arc-cosine kernel of Cho and Saul 2009).

    Parameters
    ----------
    fn : callable
        ``fn(u1, u2)``, vectorized and broadcasting: it is called with arrays
        of shapes ``(points, 1)`` and ``(points, points)``.
    var : float
        Common variance of ``u1`` and ``u2``, ``>= 0``.
    c : float
        Correlation, in ``[-1, 1]``.
    points : int, optional
        Cells per axis, ``2 <= points <= 10000``; default ``max(200, 10 * width * sqrt(var))``
        rounded up to an even number, at most 4,000.
    width : float, default 10.0
        Half-width of the grid in standard deviations, ``> 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For ``var < 0``, ``|c| > 1``, ``points`` out of range or ``width <= 0``.
    TypeError
        For non-numeric arguments.

    References
    ----------
    Williams, C. K. I. (1997). Computing with infinite networks. NeurIPS 9.
    Cho, Y. and Saul, L. K. (2009). Kernel methods for deep learning. NeurIPS 22.

    Examples
    --------
    >>> round(gaussian_expectation_2d(lambda a, b: a * b, 2.0, 0.3), 10)   # the covariance
    0.6
    >>> round(gaussian_expectation_2d(lambda a, b: np.tanh(a) * np.tanh(b), 1.0, 1.0), 10)
    0.3942944904
    """
    var = check_real(var, name="var", min_value=0.0)
    c = check_real(c, name="c", min_value=-1.0, max_value=1.0)
    width = check_real(width, name="width", min_value=0.0, min_inclusive=False)
    if points is None:
        points = min(4000, max(200, 2 * math.ceil(5.0 * width * math.sqrt(var))))
    points = check_int(points, name="points", min_value=2, max_value=10_000)
    x = -width + (np.arange(points) + 0.5) * (2.0 * width / points)
    w = np.exp(-0.5 * x * x)
    w /= w.sum()
    s = math.sqrt(var)
    u1 = s * x[:, None]
    u2 = s * (c * x[:, None] + math.sqrt(max(0.0, 1.0 - c * c)) * x[None, :])
    values = np.broadcast_to(fn(u1, u2), (points, points))
    return float(w @ values @ w)


def length_map(q, activation, sigma_w2, sigma_b2=0.0):
    """The second moment of the next layer's pre-activations: ``sigma_w2 E[f(u)**2] + sigma_b2``.

    One step of :func:`winit_edu.theory.propagate_second_moment`, with
    ``u ~ N(0, q)`` (Poole et al. 2016, their length map).

    Parameters
    ----------
    q : float
        Second moment of this layer's pre-activations, ``>= 0``.
    activation : str or Activation
    sigma_w2 : float
        ``fan_in * Var(w)``, ``>= 0``.
    sigma_b2 : float, default 0.0
        ``Var(b)``, ``>= 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For a negative ``q``, ``sigma_w2`` or ``sigma_b2``, or an unknown activation.
    TypeError
        For non-numeric arguments.

    References
    ----------
    Poole, B., Lahiri, S., Raghu, M., Sohl-Dickstein, J. and Ganguli, S.
    (2016). Exponential expressivity in deep neural networks through
    transient chaos. NeurIPS 29.

    Examples
    --------
    >>> round(length_map(3.0, "relu", 2.0), 10)          # He: a ReLU layer keeps q
    3.0
    >>> round(length_map(1.0, "tanh", 1.0, 0.05), 4)
    0.4443
    """
    q = check_real(q, name="q", min_value=0.0)
    sigma_w2 = check_real(sigma_w2, name="sigma_w2", min_value=0.0)
    sigma_b2 = check_real(sigma_b2, name="sigma_b2", min_value=0.0)
    f = _act(activation).f
    return sigma_w2 * _expect(lambda u: f(u) ** 2, q) + sigma_b2


def length_map_slope(q, activation, sigma_w2):
    """``d q_{l+1} / d q_l``: the slope of :func:`length_map` at ``q``.

    By Gaussian integration by parts (Stein's lemma),

        d/dq E[f(sqrt(q) z)**2] = E[z f(sqrt(q) z) f'(sqrt(q) z)] / sqrt(q)
                                = E[f'(u)**2] + E[f(u) f''(u)],

    so the slope is ``chi_1 + sigma_w2 E[f''(u) f(u)]``, the quantity in
    Schoenholz et al.'s (2017) depth scale ``xi_q``. The first form needs
    only ``f`` and ``f'``; it is what is computed. At ``q = 0`` it is the
    limit ``sigma_w2 (f'(0)**2 + f(0) f''(0))``, with ``f''(0)`` from a
    central difference of ``f'`` (so ``f`` must be twice differentiable at 0).

    Parameters
    ----------
    q : float
        ``>= 0``.
    activation : str or Activation
    sigma_w2 : float
        ``>= 0``.

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        As :func:`length_map`.

    References
    ----------
    Schoenholz, S. S., Gilmer, J., Ganguli, S. and Sohl-Dickstein, J. (2017).
    Deep information propagation. ICLR.

    Examples
    --------
    >>> round(length_map_slope(2.5, "relu", 2.0), 10)    # the ReLU map is linear
    1.0
    >>> round(length_map_slope(0.0, "tanh", 1.5), 10)    # tanh'(0) = 1
    1.5
    """
    q = check_real(q, name="q", min_value=0.0)
    sigma_w2 = check_real(sigma_w2, name="sigma_w2", min_value=0.0)
    act = _act(activation)
    df = _df(act)
    if q <= _TINY_Q:
        h = 1e-5
        d2f0 = float(df(np.array(h)) - df(np.array(-h))) / (2 * h)
        return sigma_w2 * (float(df(np.array(0.0))) ** 2 + float(act.f(np.array(0.0))) * d2f0)
    s = math.sqrt(q)
    return sigma_w2 * _expect(lambda u: (u / s) * act.f(u) * df(u), q) / s


def q_star(activation, sigma_w2, sigma_b2=0.0, q0=1.0, tol=1e-13):
    """The fixed point ``q*`` of :func:`length_map` reached from ``q0``.

    The length map of a monotone activation is increasing, so iterating it
    from ``q0`` moves monotonically to the nearest fixed point in the
    direction of the first step; that fixed point is returned (found by a
    bracketing root search, not by iterating, which is slow near ``q* = 0``).
    For tanh with ``sigma_b2 > 0`` there is exactly one fixed point; with
    ``sigma_b2 = 0`` it is 0 for ``sigma_w2 <= 1`` and positive above.

    Parameters
    ----------
    activation : str or Activation
    sigma_w2, sigma_b2 : float
        As in :func:`length_map`.
    q0 : float, default 1.0
        Starting second moment, ``> 0``.
    tol : float, default 1e-13
        Absolute tolerance, relative to ``max(1, q*)``.

    Returns
    -------
    float
        ``q*``; 0.0 when the signal dies out.

    Raises
    ------
    ValueError
        If the map grows without bound (no fixed point above ``q0``: ReLU
        with ``sigma_w2 > 2``, say), or for invalid arguments.
    TypeError
        For non-numeric arguments.

    Examples
    --------
    >>> round(q_star("tanh", 1.0, 0.05), 6)
    0.193593
    >>> q_star("tanh", 0.8)                           # ordered, no bias: the signal dies
    0.0
    >>> round(q_star("relu", 1.0, 0.5), 10)           # sigma_b2 / (1 - sigma_w2 / 2)
    1.0
    """
    sigma_w2 = check_real(sigma_w2, name="sigma_w2", min_value=0.0)
    sigma_b2 = check_real(sigma_b2, name="sigma_b2", min_value=0.0)
    q0 = check_real(q0, name="q0", min_value=0.0, min_inclusive=False)
    tol = check_real(tol, name="tol", min_value=0.0, min_inclusive=False)
    f = _act(activation).f

    def g(q):
        return sigma_w2 * _expect(lambda u: f(u) ** 2, q) + sigma_b2 - q

    g0 = g(q0)
    if abs(g0) <= 1e-14 * q0:                    # q0 is a fixed point to rounding (a linear map, ReLU at 2)
        return q0
    if g0 > 0:                                   # the iteration moves up: bracket above q0
        lo, g_lo, hi = q0, g0, 2.0 * q0
        g_hi = g(hi)
        while g_hi > 0:
            if hi > 1e12:
                raise ValueError(f"the length map has no fixed point above q0={q0} for sigma_w2={sigma_w2}, "
                                 f"sigma_b2={sigma_b2}: the signal grows without bound")
            lo, g_lo, hi = hi, g_hi, 2.0 * hi
            g_hi = g(hi)
        if g_hi == 0.0:
            return hi
        return _root(g, lo, hi, g_lo, g_hi, tol * max(1.0, hi))
    # the iteration moves down: g(0) = sigma_w2 f(0)**2 + sigma_b2 >= 0, so [0, q0] holds a sign change
    lo, g_lo = 0.0, g(0.0)
    if g_lo == 0.0:                              # 0 is a fixed point: does the map rise above the diagonal?
        lo, g_lo = _TINY_Q, g(_TINY_Q)
        if g_lo <= 0.0:                          # no: the iteration goes down to 0
            return 0.0
    root = _root(g, lo, q0, g_lo, g0, tol * max(1.0, q0))
    return 0.0 if root <= _TINY_Q else root


def chi_1(activation, sigma_w2, sigma_b2=0.0, q=None):
    """``chi_1 = sigma_w2 E[f'(u)**2]``, ``u ~ N(0, q*)``: the slope of the correlation map at ``c = 1``.

    Poole et al. (2016) call ``chi_1 < 1`` the ordered phase and
    ``chi_1 > 1`` the chaotic one. It is also the factor by which the
    second moment of the gradient grows per layer going backward
    (Schoenholz et al. 2017): the ``chi_l`` of
    :func:`winit_edu.theory.gradient_factors` once ``q_l`` has reached ``q*``.
    Computed with :func:`winit_edu.theory.slope_after`.

    Parameters
    ----------
    activation : str or Activation
    sigma_w2, sigma_b2 : float
        As in :func:`length_map`.
    q : float, optional
        The second moment at which to evaluate it; default :func:`q_star`.

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        As :func:`q_star`.

    References
    ----------
    Poole et al. (2016), see :func:`length_map`; Schoenholz et al. (2017), see
    :func:`length_map_slope`.

    Examples
    --------
    >>> round(chi_1("tanh", 1.0, 0.05), 4)      # ordered
    0.759
    >>> round(chi_1("tanh", 25 / 9), 4)         # PyTorch's tanh gain 5/3, no bias: chaotic
    1.2098
    """
    if q is None:
        q = q_star(activation, sigma_w2, sigma_b2)
    else:
        q = check_real(q, name="q", min_value=0.0)
    sigma_w2 = check_real(sigma_w2, name="sigma_w2", min_value=0.0)
    return sigma_w2 * slope_after(activation, q)


def correlation_map(c, q, activation, sigma_w2, sigma_b2=0.0, points=None):
    """The correlation ``c_{l+1}`` of two inputs' pre-activations, given ``c_l = c`` and ``q_l = q``.

    ``(sigma_w2 E[f(u1) f(u2)] + sigma_b2) / length_map(q)`` with ``(u1, u2)``
    jointly normal, variances ``q`` and correlation ``c`` (both inputs at the
    same second moment, as they are once ``q_l`` has reached ``q*``). Poole
    et al. (2016), their correlation map; the expectation is
    :func:`gaussian_expectation_2d`.

    Parameters
    ----------
    c : float
        In ``[-1, 1]``.
    q : float
        ``> 0``.
    activation : str or Activation
    sigma_w2, sigma_b2 : float
        As in :func:`length_map`.
    points : int, optional
        Passed to :func:`gaussian_expectation_2d`.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For ``|c| > 1``, ``q <= 0``, a negative variance, or a next layer
        without signal (``length_map(q) = 0``).
    TypeError
        For non-numeric arguments.

    References
    ----------
    Poole et al. (2016), see :func:`length_map`.

    Examples
    --------
    >>> correlation_map(1.0, 0.5, "tanh", 2.0, 0.1)      # identical inputs stay identical
    1.0
    >>> round(correlation_map(0.5, 1.0, "relu", 2.0, points=2000), 5)  # arc-cosine kernel: 0.608998
    0.609
    """
    c = check_real(c, name="c", min_value=-1.0, max_value=1.0)
    q = check_real(q, name="q", min_value=0.0, min_inclusive=False)
    f = _act(activation).f
    q_next = length_map(q, activation, sigma_w2, sigma_b2)
    if q_next <= 0:
        raise ValueError(f"the next layer has no signal (length_map = {q_next}): its correlation is undefined")
    if c == 1.0:
        return 1.0
    cov = sigma_w2 * gaussian_expectation_2d(lambda a, b: f(a) * f(b), q, c, points=points) + sigma_b2
    return float(min(1.0, max(-1.0, cov / q_next)))


def correlation_map_slope(c, q, activation, sigma_w2, sigma_b2=0.0, points=None):
    """``d c_{l+1} / d c_l`` at ``(c, q)``: ``sigma_w2 q E[f'(u1) f'(u2)] / length_map(q)``.

    Because ``d E[f(u1) f(u2)] / d Cov(u1, u2) = E[f'(u1) f'(u2)]`` for
    jointly normal ``u1, u2`` (Price's theorem). At the fixed point
    ``q = q*`` the factor ``q / length_map(q)`` is 1 and the slope is
    ``sigma_w2 E[f'(u1) f'(u2)]``, the quantity in Schoenholz et al.'s
    (2017) ``xi_c``; at ``c = 1`` it is :func:`chi_1`.

    Parameters
    ----------
    c, q, activation, sigma_w2, sigma_b2, points
        As in :func:`correlation_map`.

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        As :func:`correlation_map`.

    Examples
    --------
    >>> q = q_star("tanh", 1.5, 0.05)
    >>> abs(correlation_map_slope(1.0, q, "tanh", 1.5, 0.05) - chi_1("tanh", 1.5, 0.05)) < 1e-12
    True
    """
    c = check_real(c, name="c", min_value=-1.0, max_value=1.0)
    q = check_real(q, name="q", min_value=0.0, min_inclusive=False)
    df = _df(_act(activation))
    q_next = length_map(q, activation, sigma_w2, sigma_b2)
    if q_next <= 0:
        raise ValueError(f"the next layer has no signal (length_map = {q_next}): its correlation is undefined")
    e = gaussian_expectation_2d(lambda a, b: df(a) * df(b), q, c, points=points)
    return sigma_w2 * q * e / q_next


def c_star(activation, sigma_w2, sigma_b2=0.0, tol=1e-12):
    """The stable fixed point ``c*`` of the correlation map at ``q = q*``.

    In the ordered phase (``chi_1 <= 1``) it is 1: all inputs end up
    perfectly correlated. In the chaotic phase ``c = 1`` repels, and the
    correlation map, a convex function of ``c`` on ``[0, 1]`` with
    ``C(0) >= 0`` (a power series with non-negative coefficients, by
    Mehler's formula), crosses the diagonal exactly once below 1: that point
    is ``c*`` (0 for an odd activation without bias).

    Parameters
    ----------
    activation : str or Activation
    sigma_w2, sigma_b2 : float
        As in :func:`length_map`.
    tol : float, default 1e-12

    Returns
    -------
    float
        ``c*`` in ``[0, 1]``. Within about ``1e-9`` of the critical line
        ``chi_1 = 1`` the crossing cannot be told from 1 at double
        precision, and 1.0 is returned.

    Raises
    ------
    ValueError
        If there is no signal (``q* = 0``): in the ordered phase without
        bias every input is mapped to 0 and the correlation is undefined.
    TypeError
        For non-numeric arguments.

    Examples
    --------
    >>> c_star("tanh", 1.0, 0.05)
    1.0
    >>> round(c_star("tanh", 3.0, 0.05), 4)
    0.2993
    """
    tol = check_real(tol, name="tol", min_value=0.0, min_inclusive=False)
    q = q_star(activation, sigma_w2, sigma_b2)
    return _c_star(activation, sigma_w2, sigma_b2, q, chi_1(activation, sigma_w2, sigma_b2, q=q), tol)


def _c_star(activation, sigma_w2, sigma_b2, q, chi, tol=1e-12):
    """:func:`c_star`, given ``q*`` and ``chi_1``."""
    if q <= 0.0:
        raise ValueError(f"q* = 0 for sigma_w2={sigma_w2}, sigma_b2={sigma_b2}: no signal, no correlation")
    if chi <= 1.0:
        return 1.0

    def g(c):
        return correlation_map(c, q, activation, sigma_w2, sigma_b2) - c

    lo, g_lo = 0.0, g(0.0)
    if g_lo <= 1e-14:        # C(0) = 0 (odd f, no bias): 0 is the fixed point below 1
        return 0.0
    for k in range(1, 31):   # walk toward 1 until the map is below the diagonal; convexity: one crossing
        hi = 1.0 - 2.0 ** -k
        g_hi = g(hi)
        if g_hi < 0.0:
            return _root(g, lo, hi, g_lo, g_hi, tol)
        if g_hi == 0.0:
            return hi
        lo, g_lo = hi, g_hi
    return 1.0


def xi_q(activation, sigma_w2, sigma_b2=0.0):
    """Depth scale of the length: ``xi_q = -1 / log(length_map_slope(q*))``.

    ``|q_l - q*|`` shrinks like ``exp(-l / xi_q)`` (Schoenholz et al. 2017,
    who write the slope as ``chi_1 + sigma_w2 E[f''(u) f(u)]``; see
    :func:`length_map_slope`).

    Parameters
    ----------
    activation : str or Activation
    sigma_w2, sigma_b2 : float
        As in :func:`length_map`.

    Returns
    -------
    float
        ``inf`` where the slope is 1 or more (a fixed point that does not
        attract exponentially, such as ``q* = 0`` at ``sigma_w2 = 1`` for
        tanh without bias).

    Raises
    ------
    ValueError, TypeError
        As :func:`q_star`.

    References
    ----------
    Schoenholz et al. (2017), see :func:`length_map_slope`.

    Examples
    --------
    >>> round(xi_q("tanh", 1.0, 0.05), 3)
    1.748
    """
    q = q_star(activation, sigma_w2, sigma_b2)
    slope = length_map_slope(q, activation, sigma_w2)
    if slope >= 1.0:
        return math.inf
    if slope <= 0.0:
        return 0.0
    return -1.0 / math.log(slope)


def xi_c(activation, sigma_w2, sigma_b2=0.0):
    """Depth scale of the correlation: ``xi_c = -1 / log(sigma_w2 E[f'(u1) f'(u2)])`` at ``(q*, c*)``.

    ``|c_l - c*|`` shrinks like ``exp(-l / xi_c)`` (Schoenholz et al. 2017).
    In the ordered phase ``c* = 1`` and the slope is ``chi_1``; in the
    chaotic phase it is the slope of the correlation map at ``c* < 1``.
    Both tend to 1 at the critical line, where ``xi_c`` diverges.

    Parameters
    ----------
    activation : str or Activation
    sigma_w2, sigma_b2 : float
        As in :func:`length_map`.

    Returns
    -------
    float
        ``inf`` on the critical line (to the precision of :func:`c_star`).

    Raises
    ------
    ValueError, TypeError
        As :func:`c_star`.

    References
    ----------
    Schoenholz et al. (2017), see :func:`length_map_slope`.

    Examples
    --------
    >>> round(xi_c("tanh", 1.0, 0.05), 3)       # ordered: -1 / log(chi_1)
    3.627
    >>> round(xi_c("tanh", 3.0, 0.05), 3)       # chaotic
    9.051
    """
    q = q_star(activation, sigma_w2, sigma_b2)
    slope = chi_1(activation, sigma_w2, sigma_b2, q=q)
    c = _c_star(activation, sigma_w2, sigma_b2, q, slope)
    if c < 1.0:
        slope = correlation_map_slope(c, q, activation, sigma_w2, sigma_b2)
    if slope >= 1.0:
        return math.inf
    if slope <= 0.0:
        return 0.0
    return -1.0 / math.log(slope)


def critical_sigma_w2(activation, sigma_b2=0.0, tol=1e-10):
    """The ``sigma_w2`` on the critical line ``chi_1 = 1`` for a given ``sigma_b2``.

    A root search in ``sigma_w2`` on ``chi_1(sigma_w2, sigma_b2) - 1``
    (:func:`chi_1` at :func:`q_star`). :func:`critical_line` computes the
    same line another way.

    Parameters
    ----------
    activation : str or Activation
    sigma_b2 : float, default 0.0
        ``>= 0``.
    tol : float, default 1e-10
        Absolute tolerance in ``sigma_w2``.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``chi_1 - 1`` does not change sign for ``sigma_w2`` between
        ``2**-10`` and ``2**10``, or for invalid arguments.
    TypeError
        For non-numeric arguments.

    Examples
    --------
    >>> round(critical_sigma_w2("tanh"), 10)       # sigma_w = 1 without bias (Poole et al.)
    1.0
    >>> round(critical_sigma_w2("tanh", 0.05), 4)
    1.761
    """
    sigma_b2 = check_real(sigma_b2, name="sigma_b2", min_value=0.0)
    tol = check_real(tol, name="tol", min_value=0.0, min_inclusive=False)

    def g(s):
        return chi_1(activation, s, sigma_b2) - 1.0

    lo, hi = 1.0, 2.0
    g_lo = g(lo)
    if g_lo == 0.0:
        return lo
    while g_lo > 0:
        if lo < 2.0 ** -10:
            raise ValueError(f"chi_1 > 1 for every sigma_w2 down to {lo}: no critical point for sigma_b2={sigma_b2}")
        hi, lo = lo, lo / 2
        g_lo = g(lo)
    g_hi = g(hi)
    while g_hi < 0:
        if hi > 2.0 ** 10:
            raise ValueError(f"chi_1 < 1 for every sigma_w2 up to {hi}: no critical point for sigma_b2={sigma_b2}")
        lo, g_lo, hi = hi, g_hi, 2 * hi
        g_hi = g(hi)
    if g_hi == 0.0:
        return hi
    return _root(g, lo, hi, g_lo, g_hi, tol)


def critical_line(activation, q):
    """Points ``(sigma_w2, sigma_b2)`` of the critical line, parametrized by the fixed point ``q*``.

    On the critical line ``chi_1 = 1`` and ``q*`` is a fixed point, so
    ``sigma_w2 = 1 / E[f'(u)**2]`` and ``sigma_b2 = q* - sigma_w2 E[f(u)**2]``
    with ``u ~ N(0, q*)``: two one-dimensional expectations per point and no
    root search (Pennington et al. 2017 parametrize the line the same way).
    Values of ``q*`` that give ``sigma_b2 < 0`` are not on the line
    (there ``sigma_b2`` is nan).

    Parameters
    ----------
    activation : str or Activation
    q : float or array_like
        Values of ``q* > 0``.

    Returns
    -------
    sigma_w2, sigma_b2 : numpy.ndarray
        Same shape as ``q``.

    Raises
    ------
    ValueError
        For ``q <= 0``.
    TypeError
        For non-numeric ``q``.

    References
    ----------
    Pennington, J., Schoenholz, S. S. and Ganguli, S. (2017). Resurrecting
    the sigmoid in deep learning through dynamical isometry: theory and
    practice. NeurIPS 30.

    Examples
    --------
    >>> sw2, sb2 = critical_line("tanh", [0.5])
    >>> abs(critical_sigma_w2("tanh", float(sb2[0])) - float(sw2[0])) < 1e-8
    True
    """
    act = _act(activation)
    df = _df(act)
    qs = np.atleast_1d(np.asarray(q))
    if qs.dtype.kind not in "iuf":
        raise TypeError(f"q must be real numbers, got an array of {qs.dtype}")
    shape = np.shape(q)
    qs = [check_real(v, name="q", min_value=0.0, min_inclusive=False) for v in qs.ravel()]
    sw2 = np.array([1.0 / _expect(lambda u: df(u) ** 2, v) for v in qs])
    sb2 = np.array([v - s * _expect(lambda u: act.f(u) ** 2, v) for v, s in zip(qs, sw2)])
    sb2 = np.where(sb2 < 0, np.nan, sb2)
    return sw2.reshape(shape), sb2.reshape(shape)


def propagate_correlation(depth, activation, sigma_w2, c0, q0=1.0, sigma_b2=0.0):
    """Predicted ``q_l`` and ``c_l`` of the pre-activations of layers ``1..depth`` for two inputs.

    The two inputs have the same mean square ``q0`` (per feature) and the
    correlation ``c0`` (their cosine similarity). The first layer sees them
    directly: ``q_1 = sigma_w2 q0 + sigma_b2`` and
    ``c_1 = (sigma_w2 q0 c0 + sigma_b2) / q_1``; every later layer applies
    :func:`correlation_map`. ``q_l`` is
    :func:`winit_edu.theory.propagate_second_moment`.

    Parameters
    ----------
    depth : int
        ``>= 1``.
    activation : str or Activation
    sigma_w2 : float
    c0 : float
        In ``[-1, 1]``.
    q0 : float, default 1.0
        ``> 0``.
    sigma_b2 : float, default 0.0

    Returns
    -------
    q, c : numpy.ndarray, shape (depth,)

    Raises
    ------
    ValueError, TypeError
        For invalid arguments; ValueError also if the signal dies out
        (``q_l = 0``) before ``depth``.

    Examples
    --------
    >>> q, c = propagate_correlation(3, "tanh", 1.0, 0.5, sigma_b2=0.05)
    >>> c.round(4)
    array([0.5238, 0.5504, 0.6126])
    """
    depth = check_int(depth, name="depth", min_value=1)
    c0 = check_real(c0, name="c0", min_value=-1.0, max_value=1.0)
    q0 = check_real(q0, name="q0", min_value=0.0, min_inclusive=False)
    q = propagate_second_moment(depth, activation, sigma_w2, q0=q0, sigma_b2=sigma_b2)
    if q[0] <= 0:
        raise ValueError("the first layer has no signal (sigma_w2 * q0 + sigma_b2 = 0)")
    c = [(sigma_w2 * q0 * c0 + sigma_b2) / q[0]]
    for l in range(depth - 1):
        if q[l] <= 0:
            raise ValueError(f"the signal died out at layer {l + 1}: its correlation is undefined")
        c.append(correlation_map(c[-1], q[l], activation, sigma_w2, sigma_b2))
    return q, np.array(c)
