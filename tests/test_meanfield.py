"""winit_edu.meanfield: exact where exact, against independent computations, and against wide networks.

Tolerances: quadrature results are compared with closed forms or with a second
method to the accuracy the docstrings state; simulations of width-n networks are
compared in finite-width standard errors (a mean of n squares of normals has a
relative standard deviation sqrt(2/n), a correlation of n normal pairs about
(1 - c**2) / sqrt(n)) or in standard errors over seeds, ``N_SE`` of them
(see ``stats_helpers.py``).
"""
import math

import numpy as np
import pytest

import winit_edu as wi
from winit_edu import meanfield as mf
from winit_edu.theory import gaussian_expectation, propagate_second_moment

from stats_helpers import N_SE
from widenet_helpers import map_z_scores, run_at_the_fixed_point, tanh_net

SB2 = 0.05


def arc_cosine(c):
    """ReLU's normalized correlation map without bias (Cho and Saul 2009)."""
    return (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi


# --- the two-dimensional expectation -------------------------------------------------------

@pytest.mark.parametrize("var", [0.3, 1.0, 7.0])
@pytest.mark.parametrize("c", [-0.7, 0.0, 0.4, 0.99, 1.0])
def test_2d_expectation_is_exact_for_low_moments(var, c):
    e = lambda fn: mf.gaussian_expectation_2d(fn, var, c)  # noqa: E731
    assert e(lambda a, b: a * b) == pytest.approx(var * c, abs=1e-12)
    assert e(lambda a, b: a * a + 0 * b) == pytest.approx(var, rel=1e-12)
    assert e(lambda a, b: a * a * b * b) == pytest.approx(var**2 * (1 + 2 * c * c), rel=1e-11)   # Isserlis


@pytest.mark.parametrize("q", [0.5, 1.0, 5.0, 20.0, 100.0])
@pytest.mark.parametrize("c", [-0.5, 0.3, 0.9, 0.999])
def test_2d_expectation_matches_williams_closed_form_for_erf(q, c):
    """E[erf(u1) erf(u2)] = (2/pi) asin(2 q c / (1 + 2 q)) (Williams 1997): analytic like tanh, any q."""
    from scipy.special import erf

    exact = 2 / math.pi * math.asin(2 * q * c / (1 + 2 * q))
    assert mf.gaussian_expectation_2d(lambda a, b: erf(a) * erf(b), q, c) == pytest.approx(exact, abs=1e-13)


@pytest.mark.parametrize("c", [-0.3, 0.5, 0.9])
def test_2d_expectation_for_relu_has_the_stated_kink_accuracy(c):
    relu = lambda a: np.maximum(a, 0)  # noqa: E731
    exact = arc_cosine(c) / 2                               # E[relu(u1) relu(u2)] at var = 1
    default = mf.gaussian_expectation_2d(lambda a, b: relu(a) * relu(b), 1.0, c)
    fine = mf.gaussian_expectation_2d(lambda a, b: relu(a) * relu(b), 1.0, c, points=2000)
    assert abs(default - exact) < 2e-4 and abs(fine - exact) < 2e-6        # the docstring's statement


def test_2d_expectation_at_c_one_is_the_1d_expectation_and_tanh_agrees_with_monte_carlo():
    for q in (0.2, 3.0, 40.0):
        two = mf.gaussian_expectation_2d(lambda a, b: np.tanh(a) * np.tanh(b), q, 1.0)
        assert two == pytest.approx(gaussian_expectation(lambda x: np.tanh(x) ** 2, q), rel=1e-12)
    rng = np.random.default_rng(0)
    z1, z2 = rng.normal(size=(2, 1_000_000))
    q, c = 1.7, 0.6
    u1, u2 = math.sqrt(q) * z1, math.sqrt(q) * (c * z1 + math.sqrt(1 - c * c) * z2)
    for fn in (lambda a, b: np.tanh(a) * np.tanh(b), lambda a, b: (1 - np.tanh(a) ** 2) * (1 - np.tanh(b) ** 2)):
        samples = fn(u1, u2)
        se = samples.std() / math.sqrt(samples.size)
        assert abs(samples.mean() - mf.gaussian_expectation_2d(fn, q, c)) < N_SE * se


# --- the length map and q* -----------------------------------------------------------------

def test_length_map_is_one_step_of_propagate_second_moment_and_exact_for_relu():
    for act, s, b in [("tanh", 1.3, 0.1), ("scaled_tanh", 1.0, 0.0), ("gelu", 2.0, 0.2)]:
        q = propagate_second_moment(2, act, s, q0=0.8, sigma_b2=b)
        assert mf.length_map(q[0], act, s, b) == pytest.approx(q[1], rel=1e-12)
    assert mf.length_map(3.0, "relu", 1.5, 0.2) == pytest.approx(1.5 * 3.0 / 2 + 0.2, rel=1e-12)


@pytest.mark.parametrize("s, b", [(1.0, 0.05), (1.76, 0.05), (3.0, 0.05), (2.0, 0.5), (4.0, 0.0)])
def test_length_map_slope_is_schoenholz_form_and_a_finite_difference(s, b):
    q = mf.q_star("tanh", s, b)
    slope = mf.length_map_slope(q, "tanh", s)
    t = lambda x: np.tanh(x)  # noqa: E731
    d1 = lambda x: 1 - np.tanh(x) ** 2  # noqa: E731
    d2 = lambda x: -2 * np.tanh(x) * (1 - np.tanh(x) ** 2)  # noqa: E731
    schoenholz = s * gaussian_expectation(lambda x: d1(x) ** 2 + d2(x) * t(x), q)
    h = 1e-4 * q
    finite = (mf.length_map(q + h, "tanh", s, b) - mf.length_map(q - h, "tanh", s, b)) / (2 * h)
    assert slope == pytest.approx(schoenholz, rel=1e-9)
    assert slope == pytest.approx(finite, rel=1e-6)


@pytest.mark.parametrize("s, b", [(0.5, 0.05), (1.0, 0.05), (1.76, 0.05), (3.0, 0.05), (2.0, 0.0), (4.0, 1.0)])
def test_q_star_is_a_fixed_point_reached_from_above_and_below(s, b):
    q = mf.q_star("tanh", s, b)
    assert q > 0 and mf.length_map(q, "tanh", s, b) == pytest.approx(q, rel=1e-11)
    for q0 in (1e-3, 10.0):
        assert propagate_second_moment(40, "tanh", s, q0=q0, sigma_b2=b)[-1] == pytest.approx(q, rel=1e-7)
        assert mf.q_star("tanh", s, b, q0=q0) == pytest.approx(q, rel=1e-11)


def test_q_star_special_cases():
    assert mf.q_star("tanh", 0.7) == 0.0 and mf.q_star("tanh", 1.0) == 0.0      # the signal dies without bias
    assert mf.q_star("tanh", 1.2) > 0.05                                        # and survives above sigma_w2 = 1
    assert mf.q_star("relu", 1.0, 0.3) == pytest.approx(0.3 / (1 - 0.5), rel=1e-11)
    assert mf.q_star("linear", 1.0, q0=2.5) == 2.5                              # every q is a fixed point
    with pytest.raises(ValueError, match="no fixed point"):
        mf.q_star("relu", 3.0, 0.1)


# --- the correlation map, chi_1 and c* ------------------------------------------------------

def test_correlation_map_fixes_one_and_matches_the_arc_cosine_kernel_for_relu():
    assert mf.correlation_map(1.0, 0.7, "tanh", 2.5, 0.1) == 1.0
    for s in (1.0, 2.0, 3.0):                 # ReLU without bias: independent of sigma_w2 and q
        for c in (-0.5, 0.0, 0.5, 0.9):
            assert mf.correlation_map(c, 2.3, "relu", s, points=2000) == pytest.approx(arc_cosine(c), abs=1e-5)


@pytest.mark.parametrize("c", [0.0, 0.3, 0.8])
@pytest.mark.parametrize("s, b, q", [(1.0, 0.05, 0.5), (3.0, 0.05, 1.4), (2.0, 0.3, 4.0)])
def test_correlation_map_slope_is_a_finite_difference(c, s, b, q):
    h = 1e-5
    finite = (mf.correlation_map(c + h, q, "tanh", s, b) - mf.correlation_map(c - h, q, "tanh", s, b)) / (2 * h)
    assert mf.correlation_map_slope(c, q, "tanh", s, b) == pytest.approx(finite, rel=1e-6)


@pytest.mark.parametrize("s, b", [(1.0, 0.05), (1.5, 0.05), (3.0, 0.05), (25 / 9, 0.0)])
def test_chi_1_is_the_slope_of_the_correlation_map_at_one(s, b):
    q = mf.q_star("tanh", s, b)
    chi = mf.chi_1("tanh", s, b)
    assert chi == pytest.approx(mf.correlation_map_slope(1.0, q, "tanh", s, b), rel=1e-12)
    h = 1e-4                                    # one-sided difference; the map is smooth up to c = 1
    one_sided = (1 - mf.correlation_map(1 - h, q, "tanh", s, b)) / h
    assert chi == pytest.approx(one_sided, rel=2e-3)
    assert chi == pytest.approx(wi.theory.gradient_factors(30, "tanh", s, q0=1.0, sigma_b2=b)[-1], rel=1e-6)


def test_c_star_is_a_stable_fixed_point_in_the_chaotic_phase_and_one_in_the_ordered_phase():
    assert mf.c_star("tanh", 1.0, SB2) == 1.0 and mf.c_star("tanh", 1.5, SB2) == 1.0
    for s, b in [(2.2, SB2), (3.0, SB2), (4.0, SB2), (3.0, 0.5)]:
        q, c = mf.q_star("tanh", s, b), mf.c_star("tanh", s, b)
        assert 0 < c < 1
        assert mf.correlation_map(c, q, "tanh", s, b) == pytest.approx(c, abs=1e-11)
        assert 0 < mf.correlation_map_slope(c, q, "tanh", s, b) < 1
    assert mf.c_star("tanh", 25 / 9) == 0.0        # odd activation, no bias
    with pytest.raises(ValueError, match="no signal"):
        mf.c_star("tanh", 0.8)


# --- depth scales and the critical line --------------------------------------------------------

def _decay(step, x_star, x0, n):
    xs = [x0]
    for _ in range(n):
        xs.append(step(xs[-1]))
    d = np.abs(np.array(xs) - x_star)
    keep = np.flatnonzero(d > 1e-9 * max(1.0, abs(x_star)))
    return d[keep[-1]] / d[keep[-1] - 1]


@pytest.mark.parametrize("s", [1.0, 2.5, 4.0])
def test_depth_scales_are_the_decay_rates_of_the_iterated_maps(s):
    q, c = mf.q_star("tanh", s, SB2), mf.c_star("tanh", s, SB2)
    rq = _decay(lambda v: mf.length_map(v, "tanh", s, SB2), q, 1.01 * q, 60)
    rc = _decay(lambda v: mf.correlation_map(v, q, "tanh", s, SB2), c, c - 0.01 if c == 1 else c + 0.01, 60)
    assert -1 / math.log(rq) == pytest.approx(mf.xi_q("tanh", s, SB2), rel=1e-3)
    assert -1 / math.log(rc) == pytest.approx(mf.xi_c("tanh", s, SB2), rel=2e-2)


def test_xi_c_diverges_like_a_simple_pole_at_the_critical_point_and_xi_q_does_not():
    crit = mf.critical_sigma_w2("tanh", SB2)
    products = [d * mf.xi_c("tanh", crit + sign * d, SB2) for d in (1e-3, 1e-4) for sign in (-1, 1)]
    assert max(products) / min(products) < 1.01
    assert mf.xi_c("tanh", crit + 1e-4, SB2) > 1e4
    assert mf.xi_q("tanh", crit, SB2) < 2
    assert mf.xi_q("tanh", 1.0) == math.inf          # q* = 0 with slope 1: no exponential approach


@pytest.mark.parametrize("sb2", [0.0, 0.01, 0.05, 0.3, 1.0])
def test_critical_sigma_w2_gives_chi_1_one_and_lies_on_the_parametrized_line(sb2):
    s = mf.critical_sigma_w2("tanh", sb2)
    assert mf.chi_1("tanh", s, sb2) == pytest.approx(1.0, abs=1e-9)
    if sb2 == 0:
        assert s == pytest.approx(1.0, abs=1e-10)
        return
    q = mf.q_star("tanh", s, sb2)
    sw2_line, sb2_line = mf.critical_line("tanh", [q])
    assert sw2_line[0] == pytest.approx(s, rel=1e-8) and sb2_line[0] == pytest.approx(sb2, rel=1e-6)


def test_critical_line_moves_to_larger_weights_with_more_bias():
    sw2, sb2 = mf.critical_line("tanh", np.geomspace(0.01, 5, 50))
    assert np.all(np.diff(sw2) > 0) and np.all(np.diff(sb2) > 0)
    assert sw2.shape == (50,)


# --- bad input ---------------------------------------------------------------------------------

def test_bad_input_raises_naming_the_argument():
    with pytest.raises(ValueError, match="q must be"):
        mf.length_map(-1.0, "tanh", 1.0)
    with pytest.raises(TypeError, match="sigma_w2"):
        mf.length_map(1.0, "tanh", "big")
    with pytest.raises(ValueError, match="sigma_b2"):
        mf.q_star("tanh", 1.0, -0.1)
    with pytest.raises(ValueError, match="c must be"):
        mf.correlation_map(1.5, 1.0, "tanh", 1.0)
    with pytest.raises(ValueError, match="q must be"):
        mf.correlation_map(0.5, 0.0, "tanh", 1.0)
    with pytest.raises(TypeError, match="activation"):
        mf.chi_1(3, 1.0)
    with pytest.raises(ValueError, match="activation"):
        mf.xi_c("softplus", 1.0)
    with pytest.raises(ValueError, match="points"):
        mf.gaussian_expectation_2d(np.multiply, 1.0, 0.5, points=1)
    with pytest.raises(ValueError, match="var"):
        mf.gaussian_expectation_2d(np.multiply, -1.0, 0.5)
    with pytest.raises(ValueError, match="q must be"):
        mf.critical_line("tanh", [0.5, 0.0])
    with pytest.raises(TypeError, match="q must be real"):
        mf.critical_line("tanh", ["a"])
    with pytest.raises(ValueError, match="depth"):
        mf.propagate_correlation(0, "tanh", 1.0, 0.5)
    with pytest.raises(ValueError, match="c0"):
        mf.propagate_correlation(3, "tanh", 1.0, 1.2)


# --- against wide networks -------------------------------------------------------------------

@pytest.mark.parametrize("s", [1.0, 1.76, 3.0])
def test_both_maps_predict_each_layer_of_a_wide_network_within_finite_width_errors(s):
    n, depth = 600, 6
    rng = np.random.default_rng(1)
    basis, _ = np.linalg.qr(rng.normal(size=(n, 4)))
    X = np.array([basis[:, 0] * 0.5, basis[:, 0] * 2.0, basis[:, 1] * 1.0,
                  (0.6 * basis[:, 1] + 0.8 * basis[:, 2]) * 1.0, (0.95 * basis[:, 1] + math.sqrt(1 - 0.95**2) * basis[:, 3])])
    X = X * math.sqrt(n)
    zs = []
    for seed in (0, 1):
        z = np.stack(tanh_net([n] * (depth + 1), s, [seed], SB2).trace(X).pre_activations)[:, 0]  # (layers, inputs, units)
        zq, zc = map_z_scores(z, s, SB2, pairs=[(2, 3), (2, 4)])
        zs.append(np.concatenate([zq.ravel(), zc.ravel()]))
    zs = np.concatenate(zs)
    assert np.abs(zs).max() < 5                     # every step within 5 finite-width standard errors
    assert 0.5 < np.sqrt(np.mean(zs**2)) < 1.7


@pytest.mark.parametrize("s", [1.0, 3.0])
def test_a_network_started_at_the_fixed_point_stays_there_and_its_gradients_grow_by_chi_1(s):
    q_layers, c_last, factor, target = run_at_the_fixed_point(s, SB2, n=600, depth=3, seeds=range(8), pairs=6,
                                                              rng_seed=2)
    assert target["q_end"] == pytest.approx(target["q"], rel=1e-6)
    for pred, meas in [(target["q_end"], q_layers[:, -1]), (target["c"], c_last), (target["chi_1"], factor)]:
        assert abs(meas.mean() - pred) < N_SE * meas.std(ddof=1) / math.sqrt(meas.size)
