"""Checks behind chapter 15b (finite width), fast versions of the notebook's cells.

For a bias-free ReLU network with He-normal weights the ratio of mean squares per unit of two consecutive
layers is R_l = (2/n_l) chi^2_K, K ~ Binomial(n_l, 1/2), independent of the input and across layers.
The formulas checked (simulation tolerances in standard errors, ``N_SE`` of ``stats_helpers.py``):

* E[R] = 1 and E[R^2] = 1 + 5/n (closed form against the binomial sum, and against networks);
* the exact E[log R] = log(4/n) + E[psi(K/2)] and Var[log R] = E[psi'(K/2)] + Var[psi(K/2)] given K >= 1
  (against a direct simulation of the scalar law and against networks), and their first-order limits
  -5/(2n) and 5/n;
* dead networks: P(alive after L layers) = (1 - 2^-n)^L;
* equal beta = sum 1/n_l: log G has (nearly) the same law at different depths, exactly as predicted;
* the Jacobian (``winit_edu.diagnostics.jacobians``): E[Z^2] = 1/n_0, E[Z^4]/E[Z^2]^2 = 6 prod_{l<L}(1 + 5/n_l),
  and |u J_L|^2 / |u|^2 has the law of G_L;
* the gridded law of log G (FFT convolution) has the exact mean and variance, and its tails and median
  (``prob_outside``) agree with a Monte Carlo of the scalar law.

The exact law is ``winit_edu.finite_width`` (``log_ratio_moments``, ``log_gain_distribution``, ``prob_outside``),
which the chapter calls; its API (errors, edge cases) is tested in ``test_finite_width.py``, its agreement with
networks here.
"""
import math

import numpy as np
import pytest
from scipy import stats
from threadpoolctl import threadpool_limits

import winit_edu as wi
from winit_edu.finite_width import log_gain_distribution, log_ratio_moments, prob_outside

from stats_helpers import N_SE


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):
        yield


def log_gains(width, depth, seeds):
    x = np.random.default_rng(11).normal(size=(1, width))
    net = wi.MLP([width] * (depth + 1) + [1], activation="relu", weight_init="he_normal", seeds=seeds)
    sq = np.stack([np.sum(h[:, 0] ** 2, -1) for h in net.trace(x).activations], axis=1)
    with np.errstate(divide="ignore"):
        return np.log(sq / np.sum(x**2))


def se_var(v):
    return math.sqrt(np.mean((v - v.mean()) ** 4) - v.var() ** 2) / math.sqrt(v.size)


@pytest.mark.parametrize("n", [1, 2, 5, 16, 100])
def test_first_two_moments_of_r_are_exact(n):
    k = np.arange(0, n + 1)
    p = stats.binom.pmf(k, n, 0.5)
    ER = np.sum(p * 2 / n * k)                              # E[chi^2_k] = k
    ER2 = np.sum(p * (2 / n) ** 2 * (k**2 + 2 * k))         # E[(chi^2_k)^2] = k^2 + 2k
    assert ER == pytest.approx(1.0, rel=1e-12) and ER2 == pytest.approx(1 + 5 / n, rel=1e-12)


def test_exact_log_moments_tend_to_first_order():
    for n in [256, 1024, 4096]:
        m, v, _ = log_ratio_moments(n)
        # next order is O(1/n^2): n * (exact) is within 10/n of the first-order constant
        assert abs(n * m + 2.5) < 10 / n and abs(n * v - 5) < 20 / n
    # and they are larger in size than first order for narrow layers
    m, v, _ = log_ratio_moments(16)
    assert v > 1.3 * 5 / 16 and m < -2.5 / 16


@pytest.mark.parametrize("n", [2, 4, 16])
def test_exact_log_moments_match_the_scalar_law(n):
    rng = np.random.default_rng(n)
    K = rng.binomial(n, 0.5, size=400_000)
    K = K[K > 0]
    log_r = np.log(2 / n * rng.chisquare(K))
    m, v, p_dead = log_ratio_moments(n)
    assert abs(log_r.mean() - m) < N_SE * log_r.std() / math.sqrt(log_r.size)
    assert abs(log_r.var() - v) < N_SE * se_var(log_r)


def test_networks_follow_the_layer_law_and_the_dead_rate():
    n, depth = 4, 12
    lg = log_gains(n, depth, list(range(600)))
    alive = np.isfinite(lg)
    p_alive = (1 - 0.5**n) ** np.arange(1, depth + 1)
    se = np.sqrt(p_alive * (1 - p_alive) / len(lg))
    assert np.all(np.abs(alive.mean(axis=0) - p_alive) < N_SE * se)
    prev = np.concatenate([np.zeros((len(lg), 1)), lg[:, :-1]], axis=1)
    ok = np.isfinite(prev) & np.isfinite(lg)
    log_r = (lg - np.where(np.isfinite(prev), prev, 0.0))[ok]
    m, v, _ = log_ratio_moments(n)
    assert abs(log_r.mean() - m) < N_SE * log_r.std() / math.sqrt(log_r.size)
    assert abs(log_r.var() - v) < N_SE * se_var(log_r)
    r = np.exp(log_r)                                       # E[R | K >= 1] = 1 / (1 - 2^-n)
    assert abs(r.mean() - 1 / (1 - 0.5**n)) < N_SE * r.std() / math.sqrt(r.size)


def test_equal_beta_gives_the_predicted_laws():
    # beta = 1/2 at (depth 4, width 8) and (depth 16, width 32): exact means and variances, and close to
    # each other and to the first-order 5 beta = 2.5 for the wider one
    for depth, width in [(4, 8), (16, 32)]:
        lg = log_gains(width, depth, list(range(800)))[:, -1]
        lg = lg[np.isfinite(lg)]
        m, v, _ = log_ratio_moments(width)
        assert abs(lg.mean() - depth * m) < N_SE * lg.std() / math.sqrt(lg.size)
        assert abs(lg.var() - depth * v) < N_SE * se_var(lg)
    assert abs(16 * log_ratio_moments(32)[1] / 2.5 - 1) < 0.15
    assert abs(4 * log_ratio_moments(8)[1] / 2.5 - 1) > 0.9      # width 8 is far from first order


def test_jacobian_entry_moments_and_directional_law():
    n, depth, S = 16, 4, 1500
    net = wi.MLP([n] * (depth + 1) + [1], activation="relu", weight_init="he_normal", seeds=list(range(S)))
    x = np.random.default_rng(3).normal(size=(1, n))
    m, v, _ = log_ratio_moments(n)
    for l, J in wi.diagnostics.jacobians(net, x):
        Z2 = J[:, 0] ** 2
        a, b = np.mean(Z2**2, axis=(1, 2)), np.mean(Z2, axis=(1, 2))
        assert abs(b.mean() - 1 / n) < N_SE * b.std() / math.sqrt(S)              # E[Z^2] = 1/n_0
        ratio, pred = a.mean() / b.mean() ** 2, 6 * (1 + 5 / n) ** (l - 1)
        grad = np.array([1 / b.mean() ** 2, -2 * a.mean() / b.mean() ** 3])
        se = math.sqrt(grad @ np.cov(np.stack([a, b])) @ grad / S)
        assert abs(ratio - pred) < N_SE * se, (l, ratio, pred)
        d = np.log(np.sum(J[:, 0, 0, :] ** 2, axis=-1))                        # |e_1 J_l|^2, law of G_l
        d = d[np.isfinite(d)]
        assert abs(d.mean() - l * m) < N_SE * d.std() / math.sqrt(d.size)
        assert abs(d.var() - l * v) < N_SE * se_var(d)


@pytest.mark.parametrize("n, L", [(4, 8), (32, 32)])
def test_gridded_law_has_the_exact_moments(n, L):
    y, p = log_gain_distribution(n, L)
    m, v, _ = log_ratio_moments(n)
    mean = np.sum(p * y)
    assert abs(mean - L * m) < 0.01 and abs(np.sum(p * (y - mean) ** 2) - L * v) < 0.01 * L * v


def test_gridded_law_matches_networks():
    n, L = 8, 8
    lg = log_gains(n, L, list(range(1000)))[:, -1]
    y, p = log_gain_distribution(n, L)
    alive = (1 - 0.5**n) ** L
    cdf = 1 - alive + alive * np.cumsum(p)
    emp = np.searchsorted(np.sort(lg), y, side="right") / lg.size
    assert np.max(np.abs(emp - cdf)) < 1.63 / math.sqrt(lg.size)          # 1% Kolmogorov-Smirnov value


def test_jacobian_fourth_moment_at_non_constant_widths():
    # widths 10-6-20-8-12: the product runs over the hidden layers before the last, l < L
    sizes, S = [10, 6, 20, 8, 12, 1], 4000
    net = wi.MLP(sizes, activation="relu", weight_init="he_normal", seeds=list(range(S)))
    x = np.random.default_rng(4).normal(size=(1, sizes[0]))
    z_alt = []
    for l, J in wi.diagnostics.jacobians(net, x):
        Z2 = J[:, 0] ** 2
        a, b = np.mean(Z2**2, axis=(1, 2)), np.mean(Z2, axis=(1, 2))
        assert abs(b.mean() - 1 / sizes[0]) < N_SE * b.std() / math.sqrt(S)
        pred = 6 * np.prod([1 + 5 / n for n in sizes[1:l]])                  # prod over 1 <= l' < l
        alt = 6 * np.prod([1 + 5 / n for n in sizes[2:l + 1]])               # the wrong index, 1 < l' <= l
        grad = np.array([1 / b.mean() ** 2, -2 * a.mean() / b.mean() ** 3])
        se = math.sqrt(grad @ np.cov(np.stack([a, b])) @ grad / S)
        assert abs(a.mean() / b.mean() ** 2 - pred) < N_SE * se, (l, pred)
        z_alt.append(abs(a.mean() / b.mean() ** 2 - alt) / se)
    # the wrong index (which agrees with the right one at constant width) is rejected: about 5 s.e. away at
    # the last layer (22.3 against 17.3)
    assert max(z_alt) > 3, z_alt


def test_prob_outside_tails_and_median_match_the_scalar_law():
    # Monte Carlo of the scalar law: log G_L = sum of L independent log((2/n) chi^2_K), K ~ Bin(n, 1/2)
    n, L, M = 16, 32, 200_000
    rng = np.random.default_rng(12)
    K = rng.binomial(n, 0.5, size=(M, L))
    with np.errstate(divide="ignore"):
        log_g = np.sum(np.log(2 / n * np.where(K > 0, rng.chisquare(np.maximum(K, 1)), 0.0)), axis=1)
    below, above = prob_outside(n, L)
    for pred, meas in [(below, np.mean(log_g < math.log(0.1))), (above, np.mean(log_g > math.log(10)))]:
        assert abs(meas - pred) < N_SE * math.sqrt(pred * (1 - pred) / M), (pred, meas)
    assert below == pytest.approx(0.819, abs=0.002)
    # the median: where the gridded CDF crosses 1/2 (as in the notebook), against the sample median
    y, p = log_gain_distribution(n, L)
    alive = (1 - 0.5**n) ** L
    med = y[np.searchsorted(1 - alive + alive * np.cumsum(p), 0.5)]
    assert abs(np.mean(log_g <= med) - 0.5) < N_SE * 0.5 / math.sqrt(M) + 0.002     # + half a grid bin of mass
