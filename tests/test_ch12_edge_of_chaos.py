"""Checks behind chapter 12 (the edge of chaos), fast versions of the notebook's cells.

Simulations are compared with the mean-field predictions in standard errors over
seeds (``N_SE`` of them, see ``stats_helpers.py``) or in finite-width standard
errors (sqrt(2/n) for a mean square, (1 - c**2)/sqrt(n) for a correlation);
the module's own accuracy is tested in ``test_meanfield.py``.
"""
import math

import numpy as np
import pytest

import winit_edu as wi
from winit_edu import meanfield as mf

from stats_helpers import N_SE
from widenet_helpers import map_z_scores, run_at_the_fixed_point, tanh_net as _tanh_net

SB2 = 0.05
CRIT = mf.critical_sigma_w2("tanh", SB2)
PHASES = {"ordered": 1.0, "critical": CRIT, "chaotic": 3.0}


def tanh_net(sizes, sigma_w2, seeds, sigma_b2=SB2, dtype="float64"):
    return _tanh_net(sizes, sigma_w2, seeds, sigma_b2, dtype)


def cosines(z):
    u = z / np.linalg.norm(z, axis=-1, keepdims=True)
    return u @ np.swapaxes(u, -1, -2)


def assert_close(per_seed, predicted, n_se=N_SE):
    per_seed = np.asarray(per_seed, dtype=float)
    se = per_seed.std(ddof=1) / math.sqrt(per_seed.size)
    assert abs(per_seed.mean() - predicted) <= n_se * se, (per_seed.mean(), predicted, se)


# --- the opening figure: ordered inputs merge, chaotic ones settle at c*, the gap lasts longest at criticality

def test_digit_pairs_merge_in_the_ordered_phase_and_settle_near_c_star_in_the_chaotic_phase():
    data = wi.load_dataset("digits", rng=0)
    pick = np.concatenate([np.flatnonzero(data.y_train == k)[:20] for k in range(10)])
    X = data.X_train[pick] / np.sqrt(np.mean(data.X_train[pick] ** 2, axis=1, keepdims=True))
    y = data.y_train[pick]
    same = (y[:, None] == y[None, :]) & ~np.eye(len(y), dtype=bool)
    diff = y[:, None] != y[None, :]
    gap, c_diff = {}, {}
    for name, s in PHASES.items():
        tr = tanh_net([64] + [256] * 40, s, seeds=[0, 1, 2]).trace(X)
        C = cosines(tr.pre_activations[-1])                              # (seeds, B, B), layer 40
        gap[name] = (C[:, same].mean() - C[:, diff].mean())
        c_diff[name] = C[:, diff].mean(axis=1)
    assert np.all(c_diff["ordered"] > 0.99)
    assert abs(c_diff["chaotic"].mean() - mf.c_star("tanh", 3.0, SB2)) < 0.05      # width 256: c* +- noise
    assert gap["critical"] > gap["chaotic"] > gap["ordered"] >= -1e-3


# --- q* and the two maps against wide networks -------------------------------------------------

def test_q_star_is_where_the_recursion_ends_from_either_side():
    for s in (1.0, 3.0):
        q = mf.q_star("tanh", s, SB2)
        for q0 in (0.01, 4.0):
            assert wi.theory.propagate_second_moment(60, "tanh", s, q0=q0, sigma_b2=SB2)[-1] == pytest.approx(q, abs=1e-9)


@pytest.mark.parametrize("name", list(PHASES))
def test_each_layer_of_a_width_1000_network_follows_the_maps(name):
    s, n, depth = PHASES[name], 1000, 5
    rng = np.random.default_rng(12)
    basis, _ = np.linalg.qr(rng.normal(size=(n, 5)))
    ref = basis[:, 0] * math.sqrt(n)
    X = np.array([math.sqrt(q0) * ref for q0 in (0.2, 1.0, 4.0)]
                 + [(c * basis[:, 0] + math.sqrt(1 - c * c) * basis[:, k + 1]) * math.sqrt(n)
                    for k, c in enumerate((0.0, 0.5, 0.9, 0.99))])
    z = np.stack(tanh_net([n] * (depth + 1), s, seeds=[0]).trace(X).pre_activations)[:, 0]
    rq, rc = map_z_scores(z, s, SB2, pairs=[(1, k) for k in range(3, 7)])
    assert np.abs(rq).max() < 5 and np.abs(rc).max() < 5


@pytest.mark.parametrize("name", list(PHASES))
def test_started_at_the_fixed_point_the_network_stays_and_gradients_grow_by_chi_1(name):
    q_layers, c_last, grad_factor, target = run_at_the_fixed_point(PHASES[name], SB2, n=1000, depth=4,
                                                                   seeds=range(10, 16), pairs=8, rng_seed=14)
    assert target["q_end"] == pytest.approx(target["q"], rel=1e-6)
    assert_close(q_layers[:, 1:].mean(axis=1), target["q"], n_se=4)
    assert_close(c_last, target["c"], n_se=4)
    assert_close(grad_factor, target["chi_1"], n_se=4)


# --- the phase diagram and the depth scales -----------------------------------------------------

def test_critical_line_two_ways_and_its_start():
    assert mf.critical_sigma_w2("tanh", 0.0) == pytest.approx(1.0, abs=1e-9)
    sw_line, sb_line = mf.critical_line("tanh", np.geomspace(1e-3, 8, 200))
    for b in (0.05, 0.2, 0.5, 1.0):
        assert np.interp(b, sb_line, sw_line) == pytest.approx(mf.critical_sigma_w2("tanh", b), abs=2e-3)
    assert 1.7 < CRIT < 1.8


def test_depth_scales_from_iterating_and_the_pole_at_criticality():
    for s in (1.0, 3.0):
        q, c = mf.q_star("tanh", s, SB2), mf.c_star("tanh", s, SB2)
        dq, dc = 0.01 * q, (-0.01 if c == 1 else 0.01)
        x, y = q + dq, c + dc
        for _ in range(5):
            x, y = mf.length_map(x, "tanh", s, SB2), mf.correlation_map(y, q, "tanh", s, SB2)
        rate_q = (abs(x - q) / abs(dq)) ** (1 / 5)
        rate_c = (abs(y - c) / abs(dc)) ** (1 / 5)
        assert -1 / math.log(rate_q) == pytest.approx(mf.xi_q("tanh", s, SB2), rel=0.05)
        assert -1 / math.log(rate_c) == pytest.approx(mf.xi_c("tanh", s, SB2), rel=0.05)
    products = [d * mf.xi_c("tanh", CRIT + sign * d, SB2) for d in (1e-2, 1e-3) for sign in (-1, 1)]
    assert max(products) / min(products) < 1.05


# --- at the critical point correlations still approach 1, like 1/l ------------------------------

def test_at_criticality_one_minus_c_falls_like_two_over_c2_l():
    q = mf.q_star("tanh", CRIT, SB2)
    c2 = CRIT * q * wi.theory.gaussian_expectation(lambda z: (2 * np.tanh(z) / np.cosh(z) ** 2) ** 2, q)  # C''(1)
    h = 1e-3                                                     # C''(1) by a finite difference of the map
    fd = (mf.correlation_map(1 - 2 * h, q, "tanh", CRIT, SB2) - 2 * mf.correlation_map(1 - h, q, "tanh", CRIT, SB2)
          + 1.0) / h**2
    assert fd == pytest.approx(c2, rel=0.01)
    c = [0.0]
    for _ in range(600):
        c.append(mf.correlation_map(c[-1], q, "tanh", CRIT, SB2))
    eps = 1 - np.array(c)
    assert eps[600] * c2 * 600 / 2 == pytest.approx(1.0, abs=0.03)          # O(log l / l) corrections
    assert (1 / eps[600] - 1 / eps[599]) == pytest.approx(c2 / 2, rel=0.01)  # O(epsilon) corrections


def test_at_criticality_the_mean_field_gap_between_digit_pairs_fades():
    _, same = mf.propagate_correlation(40, "tanh", CRIT, 0.36, q0=1.0, sigma_b2=SB2)
    _, diff = mf.propagate_correlation(40, "tanh", CRIT, -0.04, q0=1.0, sigma_b2=SB2)
    gap = same - diff
    assert gap[0] == pytest.approx(0.389, abs=0.005) and gap[39] == pytest.approx(0.018, abs=0.005)
    assert np.all(np.diff(gap) < 0)


# --- where the usual initializations sit ---------------------------------------------------------

def test_the_usual_initializations_on_the_map():
    assert mf.q_star("tanh", 1.0) == 0.0 and mf.chi_1("tanh", 1.0) == pytest.approx(1.0, abs=1e-12)  # LeCun
    chi_he, chi53 = mf.chi_1("tanh", 2.0), mf.chi_1("tanh", 25 / 9)
    assert 1.05 < chi_he < chi53 and chi53 == pytest.approx(1.21, abs=0.01)
    assert mf.c_star("tanh", 25 / 9) == 0.0
    assert 10 < mf.xi_c("tanh", 25 / 9) < 15
    assert mf.chi_1("tanh", 25 / 9, SB2) > 1.1          # still chaotic with a small bias


# --- the trainability experiment, reduced ----------------------------------------------------------

def test_deep_networks_train_only_near_the_critical_point():
    data = wi.load_dataset("digits", rng=0)
    X, y = data.X_train[:512], data.y_train[:512]
    sw2 = [1.0, CRIT, 4.0]
    acc = {}
    for depth in (8, 32):
        net = wi.MLP.concatenate([tanh_net([64] + [32] * depth + [10], s, [0, 1], dtype="float32") for s in sw2])
        hist = wi.train(net, X, y, optimizer="adam", lr=1e-3, batch_size=32, epochs=10, eval_every=10**6,
                        on_divergence="stop")
        acc[depth] = np.nan_to_num(hist.train_accuracy[-1], nan=0.0).reshape(3, 2).mean(axis=1)
    assert np.all(acc[8] > 0.85)                                     # shallow: every sigma_w^2 trains
    assert acc[32][1] > acc[32][0] + 0.3 and acc[32][1] > acc[32][2] + 0.3   # deep: only near criticality


# --- exercises --------------------------------------------------------------------------------

def test_relu_has_no_chaotic_phase_and_correlations_approach_one_polynomially():
    for s in (1.0, 2.0, 3.0):
        assert mf.correlation_map(0.5, 1.0, "relu", s, points=2000) == pytest.approx(
            mf.correlation_map(0.5, 1.0, "relu", 2.0, points=2000), abs=1e-12)
        assert mf.correlation_map_slope(1.0, 1.0, "relu", s) == pytest.approx(1.0, abs=1e-12)
    c = 0.0
    for _ in range(1000):
        c = (math.sqrt(1 - c * c) + (math.pi - math.acos(c)) * c) / math.pi
    assert 30 < (1 - c) * 1000**2 < 50


def test_the_bias_that_makes_the_gain_5_3_critical():
    sw2, sb2 = mf.critical_line("tanh", np.geomspace(0.05, 10, 2000))
    b = float(np.interp(25 / 9, sw2, sb2))
    assert mf.chi_1("tanh", 25 / 9, b) == pytest.approx(1.0, abs=1e-3)
    assert mf.critical_sigma_w2("tanh", b) == pytest.approx(25 / 9, abs=1e-3)


def test_gradients_of_the_gain_5_3_grow_by_chi_1_per_layer():
    s, n, depth = 25 / 9, 400, 20
    q0 = mf.q_star("tanh", s) / s
    net = tanh_net([n] * (depth + 1), s, seeds=[0, 1, 2], sigma_b2=0.0)
    X = np.random.default_rng(3).normal(size=(32, n)) * math.sqrt(q0)
    tr = net.trace(X, grad_output=np.random.default_rng(4).normal(size=(3, 32, n)))
    r = wi.diagnostics.layer_rms(tr.grad_pre_activations, per_member=True) ** 2
    per_layer = np.log(r[:, 0] / r[:, -1]) / (depth - 1)
    predicted = np.log(np.prod(wi.theory.gradient_factors(depth, "tanh", s, q0=q0)[:-1])) / (depth - 1)
    assert predicted == pytest.approx(math.log(mf.chi_1("tanh", s)), rel=1e-6)
    assert_close(per_layer, predicted, n_se=N_SE)
