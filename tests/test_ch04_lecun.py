"""Chapter 4 (LeCun): the formulas the chapter derives, checked by simulation.

* Var(y) = n Var(w) E[x^2] for y = sum_i w_i x_i with iid zero-mean weights independent
  of the inputs; it equals n Var(w) Var(x) only for zero-mean inputs, and it holds for
  correlated inputs too;
* LeCun weights preserve the second moment of a deep linear network on average over
  weight draws, at finite width;
* the three LeCun distributions: uniform bound sqrt(3 / fan_in), normal, and the
  truncated normal (std / 0.8796, cut at two std), all with variance 1 / fan_in;
* the recursion facts the chapter quotes: l q_l -> 1/2 for tanh, a positive fixed point
  for the scaled tanh, and the properties of 1.7159 tanh(2x/3);
* the first-layer second moment on raw digits is the mean of x^2, not of Var(x);
* the backward pass (eq-ch4-chi): per-layer gradient factors chi_l from wi.theory.gradient_factors,
  chi_l ~ 1 - 2 q_l for tanh under LeCun, and the balanced update-to-data ratio it gives;
* PyTorch's tanh gain 5/3: 1/sqrt(E[tanh(u)^2]) rounded up, the fixed point q* it gives, the
  saturated fraction there, and chi* > 1 (for every gain above 1).

Statistical tolerances are six standard errors (the convention of ``stats_helpers``).
"""
import math

import numpy as np
import pytest

import winit_edu as wi
from stats_helpers import KURTOSIS, N_SE, assert_fills_interval, assert_mean_and_variance
from winit_edu.theory import propagate_second_moment, second_moment_after


def _var_of_sum(x, rng):
    """Sample variance of y = sum_i w_i x_i with w ~ U[-sqrt(3/n), sqrt(3/n)], one w per row."""
    n = x.shape[1]
    limit = wi.theory.uniform_limit(1.0 / n)
    w = wi.uniform(x.shape, rng=rng, low=-limit, high=limit)
    y = np.sum(w * x, axis=1)
    kurtosis = np.mean(y**4) / np.mean(y**2) ** 2
    return y.var(), N_SE * math.sqrt((kurtosis - 1.0) / len(y))


@pytest.mark.parametrize("kind", ["centred", "shifted", "relu", "sigmoid", "all_equal"])
def test_var_y_is_n_var_w_times_second_moment_of_x(kind):
    rng = np.random.default_rng(11)
    N, n = 20_000, 64
    z = rng.standard_normal((N, n))
    x = {
        "centred": z,
        "shifted": 2.0 + z,
        "relu": np.maximum(z, 0.0),
        "sigmoid": 1.0 / (1.0 + np.exp(-z)),
        "all_equal": np.repeat(rng.standard_normal((N, 1)), n, axis=1),
    }[kind]
    measured, rel_tol = _var_of_sum(x, rng)
    predicted = np.mean(x**2)  # n Var(w) E[x^2] with n Var(w) = 1
    assert abs(measured / predicted - 1) < rel_tol
    if kind in ("shifted", "relu", "sigmoid"):
        # the zero-mean formula n Var(w) Var(x) is measurably wrong for uncentred inputs
        assert abs(measured / x.var() - 1) > 5 * rel_tol


def test_var_y_for_zero_mean_inputs_is_n_var_w_var_x():
    rng = np.random.default_rng(12)
    N, n = 20_000, 50
    x = rng.normal(0.0, 1.7, size=(N, n))
    w = wi.normal((N, n), rng=rng, std=0.3)
    y = np.sum(w * x, axis=1)
    predicted = n * 0.3**2 * 1.7**2
    se = predicted * math.sqrt(2.0 / N) * 1.1  # y is nearly normal (kurtosis slightly above 3)
    assert abs(y.var() - predicted) < N_SE * se


def test_linear_network_preserves_second_moment_on_average():
    X = np.random.default_rng(0).standard_normal((16, 32))
    q0 = np.mean(X**2)
    net = wi.MLP([32] + [64] * 10, activation="linear", weight_init="lecun_normal", seeds=range(100))
    trace = net.trace(X)
    q = np.stack([np.mean(z**2, axis=(1, 2)) for z in trace.pre_activations], axis=1) / q0  # (seeds, layers)
    se = q.std(axis=0, ddof=1) / math.sqrt(q.shape[0])
    assert np.all(np.abs(q.mean(axis=0) - 1.0) < N_SE * se)
    # and the prediction of the recursion is exactly "no change"
    assert np.allclose(propagate_second_moment(10, "linear", 1.0, q0=q0), q0)


def test_linear_network_shrinks_without_lecun_scale():
    X = np.random.default_rng(0).standard_normal((16, 32))
    init = wi.get_initializer("variance_scaling", scale=0.5)
    net = wi.MLP([32] + [64] * 10, activation="linear", weight_init=init, seeds=range(20))
    ratio = np.mean(net.forward(X) ** 2) / np.mean(X**2)
    assert ratio == pytest.approx(0.5**10, rel=0.3)


@pytest.mark.parametrize("fan_in, fan_out", [(64, 32), (300, 100)])
def test_lecun_uniform_bound_and_variance(fan_in, fan_out):
    w = wi.lecun_uniform((fan_in, fan_out), rng=0)
    bound = math.sqrt(3.0 / fan_in)
    assert_fills_interval(w, -bound, bound)
    assert_mean_and_variance(w, 0.0, 1.0 / fan_in, KURTOSIS["uniform"])
    assert wi.theory.uniform_limit(1.0 / fan_in) == pytest.approx(bound)


def test_lecun_uniform_bound_in_pytorch_layout_and_for_convolutions():
    w = wi.lecun_uniform((128, 64, 3, 3), rng=1, layout="out_in")  # fan_in = 64 * 9
    assert_fills_interval(w, -math.sqrt(3 / 576), math.sqrt(3 / 576))


def test_lecun_normal_plain_and_truncated():
    fan_in = 200
    w = wi.lecun_normal((fan_in, 400), rng=0)
    assert_mean_and_variance(w, 0.0, 1.0 / fan_in, KURTOSIS["normal"])
    wt = wi.lecun_normal((fan_in, 400), rng=0, truncated=True)
    assert_mean_and_variance(wt, 0.0, 1.0 / fan_in, KURTOSIS["truncated_normal"])
    std_before = 1.0 / math.sqrt(fan_in) / 0.87962566103423978
    assert np.abs(wt).max() <= 2 * std_before
    assert np.abs(wt).max() > 0.99 * 2 * std_before  # the cut is where it should be
    assert wi.truncated_std_factor(2.0) == pytest.approx(0.87962566103423978, rel=1e-12)


def test_uncorrected_truncation_loses_23_percent_of_the_variance():
    fan_in = 256
    w = wi.truncated_normal((fan_in, 400), rng=0, std=1 / math.sqrt(fan_in), cutoff=2.0)
    assert_mean_and_variance(w, 0.0, wi.truncated_std_factor(2.0) ** 2 / fan_in, KURTOSIS["truncated_normal"])


def test_tanh_second_moment_decays_like_one_over_2l():
    q = propagate_second_moment(500, "tanh", 1.0)
    assert np.all(np.diff(q) < 0)
    assert 500 * q[-1] == pytest.approx(0.5, abs=0.01)
    assert 500 * q[-1] < 100 * q[99] < 20 * q[19]                    # approaching 1/2 from above
    assert 20 * q[19] == pytest.approx(0.546, abs=0.001)


@pytest.mark.parametrize("q0", [0.01, 1.0, 3.0])
def test_scaled_tanh_has_a_positive_fixed_point(q0):
    q = propagate_second_moment(200, "scaled_tanh", 1.0, q0=q0)
    assert q[-1] == pytest.approx(0.3824, abs=1e-3)
    assert second_moment_after("scaled_tanh", q[-1]) == pytest.approx(q[-1], abs=1e-9)


def test_scaled_tanh_constants():
    f = wi.get_activation("scaled_tanh")
    assert float(f(np.array(1.0))) == pytest.approx(1.0, abs=1e-5)
    assert float(f(np.array(-1.0))) == pytest.approx(-1.0, abs=1e-5)
    assert wi.derivative("scaled_tanh", np.array(0.0)) == pytest.approx(1.7159 * 2 / 3)
    x = np.linspace(0, 3, 30_001)
    second = np.gradient(wi.derivative("scaled_tanh", x), x)
    assert x[np.argmax(np.abs(second))] == pytest.approx(0.988, abs=0.01)
    assert second_moment_after("scaled_tanh", 1.0) == pytest.approx(0.7504, abs=1e-4)


def test_first_layer_second_moment_on_raw_digits_is_mean_square():
    X, _ = wi.load_digits()
    X = X[:400]
    net = wi.MLP([64, 64, 10], activation="tanh", weight_init="lecun_normal", seeds=range(20))
    z1 = net.trace(X).pre_activations[0]
    per_unit = np.mean(z1**2, axis=1).ravel()
    se = per_unit.std(ddof=1) / math.sqrt(per_unit.size)
    assert abs(per_unit.mean() - np.mean(X**2)) < N_SE * se
    assert abs(per_unit.mean() - np.mean(X.var(axis=0))) > 10 * se  # Var(x) would be wrong
    h1 = net.trace(X).activations[0]
    assert wi.diagnostics.saturation_fraction(h1) > 0.5


def test_scaled_tanh_grows_a_small_signal_by_its_squared_slope():
    q = wi.theory.propagate_second_moment(2, "scaled_tanh", 1.0, q0=1e-4)
    assert q[1] / q[0] == pytest.approx((1.7159 * 2 / 3) ** 2, abs=0.01)


def test_uncorrected_truncation_compounds_over_depth():
    # a normal cut at +-2 without rescaling keeps truncated_std_factor(2)^2 of the variance per linear layer
    keep = wi.truncated_std_factor(2.0) ** 2
    q = wi.theory.propagate_second_moment(20, "linear", keep, q0=1.0)
    assert q[-1] == pytest.approx(keep**20, rel=1e-9)


# --- the backward pass -------------------------------------------------------------------------

def _gain_net(activation, gain, width=128, depth=12, seeds=4, seed=5):
    gen = np.random.default_rng(seed)
    X, y = gen.standard_normal((64, width)), gen.integers(0, 10, size=64)
    net = wi.MLP([width] * (depth + 1) + [10], activation=activation,
                 weight_init=wi.get_initializer("variance_scaling", scale=gain**2), seeds=range(seeds))
    return net, net.trace(X, labels=y), float(np.mean(X**2))


def _second_moments(arrays):
    return np.array([np.mean(a**2) for a in arrays])


@pytest.mark.parametrize("activation, gain", [("linear", 1.0), ("tanh", 1.0), ("scaled_tanh", 1.0), ("tanh", 5 / 3)])
def test_gradient_second_moment_follows_chi(activation, gain):
    depth = 12
    _, tr, q0 = _gain_net(activation, gain, depth=depth)
    g2 = _second_moments(tr.grad_pre_activations[:-1])
    chi = wi.theory.gradient_factors(depth, activation, gain**2, q0=q0)
    np.testing.assert_allclose(g2[:-1] / g2[1:], chi[:-1], rtol=0.15)
    # and over the whole depth: the product of the chi_l
    assert g2[0] / g2[-1] == pytest.approx(np.prod(chi[:-1]), rel=0.2)


def test_lecun_tanh_chi_is_one_minus_twice_q():
    q = propagate_second_moment(80, "tanh", 1.0)
    chi = wi.theory.gradient_factors(80, "tanh", 1.0)
    deep = slice(30, None)                                              # q_l < 0.02
    np.testing.assert_allclose(chi[deep], 1 - 2 * q[deep], atol=8 * np.max(q[deep]) ** 2)
    assert np.all(chi < 1) and np.all(np.diff(chi) > 0)                 # shrinking gradients, less so deeper


def test_update_to_data_ratio_is_balanced_under_lecun_tanh_and_not_under_five_thirds():
    depth = 12
    ratios = {}
    for gain in (1.0, 5 / 3):
        net, tr, q0 = _gain_net("tanh", gain, depth=depth)
        upd = (wi.diagnostics.gradient_norms(tr.grad_weights) / wi.diagnostics.gradient_norms(net.weights))
        ratios[gain] = upd.mean(axis=0)[:depth]
        # prediction: sqrt(E[h_{l-1}^2] E[g_l^2]) up to a common factor
        q = propagate_second_moment(depth, "tanh", gain**2, q0=q0)
        chi = wi.theory.gradient_factors(depth, "tanh", gain**2, q0=q0)
        h2 = np.concatenate([[q0], q[1:] / gain**2])                  # E[h_{l-1}^2] = q_l / sigma_w^2
        g2 = np.append(np.cumprod(chi[:-1][::-1])[::-1], 1.0)
        pred = np.sqrt(h2 * g2)
        assert ratios[gain][0] / ratios[gain][-1] == pytest.approx(pred[0] / pred[-1], rel=0.15)
    assert ratios[1.0].max() / ratios[1.0].min() < 1.3
    assert ratios[5 / 3][0] / ratios[5 / 3][-1] > 3


# --- PyTorch's tanh gain 5/3 ------------------------------------------------------------------

def _tanh_fixed_point(gain):
    from scipy.optimize import brentq
    return brentq(lambda q: gain**2 * second_moment_after("tanh", q) - q, 1e-6, 100.0, xtol=1e-12)


def test_five_thirds_is_a_little_above_the_unit_second_moment_gain():
    e = second_moment_after("tanh", 1.0)
    assert 1 / math.sqrt(e) == pytest.approx(1.5925, abs=1e-3)
    assert 1 / math.sqrt(e) < 5 / 3 < 1.7
    assert (5 / 3) ** 2 * e == pytest.approx(1.0953, abs=1e-3)


def test_five_thirds_fixed_point_saturation_and_chi_in_theory_and_simulation():
    gain = 5 / 3
    q_star = _tanh_fixed_point(gain)
    assert q_star == pytest.approx(1.1785, abs=1e-3)
    assert propagate_second_moment(30, "tanh", gain**2)[-1] == pytest.approx(q_star, rel=1e-6)
    chi_star = gain**2 * wi.theory.slope_after("tanh", q_star)
    assert chi_star == pytest.approx(1.2098, abs=1e-3)
    sat = wi.theory.gaussian_expectation(lambda z: (np.abs(np.tanh(z)) > 0.95).astype(float), q_star)
    assert sat == pytest.approx(0.0915, abs=1e-3)
    # a wide network settles there
    depth = 12
    _, tr, _ = _gain_net("tanh", gain, width=256, depth=depth)
    q = _second_moments(tr.pre_activations[:-1])
    assert np.mean(q[6:]) == pytest.approx(q_star, rel=0.05)
    assert wi.diagnostics.saturation_fraction(tr.activations[-1]) == pytest.approx(sat, abs=0.02)
    g2 = _second_moments(tr.grad_pre_activations[:-1])
    assert (g2[5] / g2[10]) ** (1 / 5) == pytest.approx(chi_star, rel=0.05)


def test_no_tanh_gain_above_one_makes_chi_one_at_the_fixed_point():
    chis = [g**2 * wi.theory.slope_after("tanh", _tanh_fixed_point(g)) for g in (1.05, 1.1, 1.3, 1.5, 5 / 3, 2.0, 3.0)]
    assert all(c > 1 for c in chis) and np.all(np.diff(chis) > 0)
    # small q*: chi* = 1 + (4/3) q*^2 + ..., from the expansions of E[tanh^2] and E[tanh'^2]
    q_star = _tanh_fixed_point(1.05)
    assert chis[0] - 1 == pytest.approx(4 / 3 * q_star**2, rel=0.3)
