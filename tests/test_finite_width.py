"""winit_edu.finite_width: the exact law of the signal length of a bias-free He-normal ReLU network.

API tests: return types and shapes, edge cases (width 1, depth 0, dead layers, underflow), argument errors,
closed forms, and agreement with simulation at ``N_SE`` standard errors (``stats_helpers.py``). The chapter's
checks against deeper networks are in ``test_ch15b_finite_width.py``.
"""
import math

import numpy as np
import pytest
from scipy import integrate, stats

import winit_edu as wi
from winit_edu import finite_width as fw

from stats_helpers import N_SE


def test_is_a_module_of_the_package():
    assert wi.finite_width is fw
    assert fw.__name__ == "winit_edu.theory.finite_width"  # its flat name, winit_edu.finite_width, is the same module


# --- log_ratio_moments ---------------------------------------------------------------------------------------

def test_width_one_has_closed_forms():
    # R = 2 chi^2_1 given K = 1: E[log R] = 2 log 2 + digamma(1/2) = -Euler's gamma, Var = trigamma(1/2) = pi^2/2
    mean, var, p_dead = fw.log_ratio_moments(1)
    assert mean == pytest.approx(-np.euler_gamma, rel=1e-12)
    assert var == pytest.approx(math.pi**2 / 2, rel=1e-12)
    assert p_dead == 0.5
    assert all(type(v) is float for v in (mean, var, p_dead))


@pytest.mark.parametrize("n", [2, 3, 16])
def test_moments_agree_with_quadrature(n):
    # E[log R | K >= 1] and E[(log R)^2 | K >= 1] by quadrature against chi^2 densities (no digamma)
    w = stats.binom.pmf(np.arange(1, n + 1), n, 0.5) / (1 - 0.5**n)
    m1 = m2 = 0.0
    for k, wk in zip(range(1, n + 1), w):
        f = lambda x, j: math.log(2 * x / n) ** j * stats.chi2.pdf(x, k)
        m1 += wk * sum(integrate.quad(f, a, b, args=(1,), limit=200)[0] for a, b in [(0, 1), (1, np.inf)])
        m2 += wk * sum(integrate.quad(f, a, b, args=(2,), limit=200)[0] for a, b in [(0, 1), (1, np.inf)])
    mean, var, p_dead = fw.log_ratio_moments(n)
    assert mean == pytest.approx(m1, abs=1e-8) and var == pytest.approx(m2 - m1**2, abs=1e-8)
    assert p_dead == 0.5**n


def test_moments_tend_to_first_order_and_p_dead_underflows():
    mean, var, p_dead = fw.log_ratio_moments(4096)
    assert abs(4096 * mean + 2.5) < 10 / 4096 and abs(4096 * var - 5) < 20 / 4096
    assert p_dead == 0.0 and math.isfinite(mean)            # 2**-4096 underflows; the moments do not care


def test_one_gaussian_layer_follows_the_law():
    # real layers: x W with W ~ N(0, 2/n), n = 3 (a dead layer 1 time in 8); R = |relu(x W)|^2 / |x|^2
    n, S = 3, 200_000
    rng = np.random.default_rng(0)
    x = np.array([0.3, -1.2, 2.0])
    W = rng.normal(0.0, math.sqrt(2 / n), size=(S, n, n))
    R = np.sum(np.maximum(x @ W, 0) ** 2, axis=-1) / np.sum(x**2)
    mean, var, p_dead = fw.log_ratio_moments(n)
    dead = R == 0
    assert abs(dead.mean() - p_dead) < N_SE * math.sqrt(p_dead * (1 - p_dead) / S)
    log_r = np.log(R[~dead])
    assert abs(log_r.mean() - mean) < N_SE * log_r.std() / math.sqrt(log_r.size)
    se_var = math.sqrt(np.mean((log_r - log_r.mean()) ** 4) - log_r.var() ** 2) / math.sqrt(log_r.size)
    assert abs(log_r.var() - var) < N_SE * se_var


@pytest.mark.parametrize("bad, error", [(0, ValueError), (-3, ValueError), (2.0, TypeError), (True, TypeError),
                                        ("4", TypeError), (None, TypeError)])
def test_width_is_checked(bad, error):
    for call in [lambda: fw.log_ratio_moments(bad), lambda: fw.log_gain_distribution(bad, 2),
                 lambda: fw.prob_outside(bad, 2), lambda: fw.prob_alive(bad, 2)]:
        with pytest.raises(error, match=r"^n must"):
            call()


# --- prob_alive --------------------------------------------------------------------------------------------------

def test_prob_alive():
    assert fw.prob_alive(4, 2) == (15 / 16) ** 2
    assert fw.prob_alive(1, 0) == 1.0 and fw.prob_alive(1, 3) == 1 / 8
    assert fw.prob_alive(np.int64(2), np.int64(1)) == 0.75
    with pytest.raises(ValueError, match="depth"):
        fw.prob_alive(4, -1)
    with pytest.raises(TypeError, match="depth"):
        fw.prob_alive(4, 1.5)


# --- log_gain_distribution ---------------------------------------------------------------------------------------

def test_distribution_shapes_and_types():
    y, p = fw.log_gain_distribution(8, 4)
    assert y.shape == p.shape and y.ndim == 1
    assert np.all(p >= 0) and p.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.allclose(np.diff(y), 0.02)
    law = fw.log_gain_distribution(8, np.array([4, 1]))
    assert list(law) == [4, 1] and all(type(L) is int for L in law)
    assert np.array_equal(law[4][1], p) and np.array_equal(law[4][0], y)
    y0, p0 = fw.log_gain_distribution(8, 0)                  # depth 0: G = 1 exactly
    assert y0.tolist() == [0.0] and p0.tolist() == [1.0]


def test_distribution_has_the_exact_moments_and_adds_over_layers():
    mean, var, _ = fw.log_ratio_moments(2)
    law = fw.log_gain_distribution(2, [1, 2, 7])
    m1 = np.sum(law[1][0] * law[1][1])
    assert abs(m1 - mean) < 1e-3                                    # binning error of one layer
    for L in [2, 7]:
        y, p = law[L]
        m = np.sum(p * y)
        assert m == pytest.approx(L * m1, abs=1e-9)                 # a convolution adds the means exactly
        assert np.sum(p * (y - m) ** 2) == pytest.approx(L * var, rel=1e-3)


@pytest.mark.parametrize("n, L", [(1, 1), (1, 6), (2, 5)])
def test_distribution_matches_the_scalar_law(n, L):
    # Monte Carlo of log G given alive: L independent log((2/n) chi^2_K), K ~ Bin(n, 1/2) given K >= 1
    M = 40_000
    rng = np.random.default_rng(n * 100 + L)
    K = rng.binomial(n, 0.5, size=(4 * M, L))
    K = K[np.all(K > 0, axis=1)][:M]
    log_g = np.sort(np.sum(np.log(2 / n * rng.chisquare(K)), axis=1))
    y, p = fw.log_gain_distribution(n, L)
    emp = np.searchsorted(log_g, y + 0.01, side="right") / log_g.size   # at the upper edge of each bin
    # 1% Kolmogorov-Smirnov value, plus the binning: each of the L terms moves by up to half a bin
    assert np.max(np.abs(emp - np.cumsum(p))) < 1.63 / math.sqrt(log_g.size) + L * p.max()


def test_finer_grid_gives_the_same_law():
    y1, p1 = fw.log_gain_distribution(4, 8)
    y2, p2 = fw.log_gain_distribution(4, 8, dy=0.01)
    assert np.max(np.abs(np.interp(y1 + 0.01, y2 + 0.005, np.cumsum(p2)) - np.cumsum(p1))) < 0.01


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(depths=[]), ValueError, "depths"), (dict(depths=[2, -1]), ValueError, "depths"),
    (dict(depths=[1.5]), TypeError, "depths"), (dict(depths="3"), TypeError, "depths"),
    (dict(depths=None), TypeError, "depths"), (dict(depths=True), TypeError, "depths"),
    (dict(dy=0.0), ValueError, "dy"), (dict(dy=-0.1), ValueError, "dy"), (dict(dy="0.1"), TypeError, "dy"),
    (dict(lo=6.0, hi=-30.0), ValueError, "lo"), (dict(lo=float("nan")), ValueError, "lo"),
    (dict(lo=0.0, hi=0.01), ValueError, "two bins")])
def test_distribution_arguments_are_checked(kwargs, error, name):
    args = dict(n=4, depths=2) | kwargs
    with pytest.raises(error, match=name):
        fw.log_gain_distribution(args.pop("n"), args.pop("depths"), **args)


# --- prob_outside ------------------------------------------------------------------------------------------------

def test_prob_outside_types_order_and_depth_zero():
    below, above = fw.prob_outside(8, 4)
    assert type(below) is float and type(above) is float
    b, a = fw.prob_outside(8, [4, 0, 1])
    assert b.shape == a.shape == (3,)
    assert b[0] == below and a[0] == above and b[1] == 0.0 and a[1] == 0.0
    assert np.all(b + a <= 1.0)


def test_prob_outside_width_one_closed_form_and_dead_networks():
    # one layer of width 1: dead with probability 1/2, else G = 2 chi^2_1
    below, above = fw.prob_outside(1, 1)
    assert below == pytest.approx(0.5 + 0.5 * stats.chi2.cdf(0.05, 1), abs=1e-3)    # one bin of mass, at most
    assert above == pytest.approx(0.5 * stats.chi2.sf(5.0, 1), abs=1e-3)
    # dead networks count as below: at least 1 - 2^-L of them
    b, a = fw.prob_outside(1, [2, 5, 10])
    assert np.all(b >= 1 - 0.5 ** np.array([2, 5, 10])) and np.all(np.diff(b) > 0)


def test_prob_outside_thresholds():
    b_wide, a_wide = fw.prob_outside(8, 8, low=0.01, high=100.0)
    b, a = fw.prob_outside(8, 8)
    assert b_wide < b and a_wide < a
    assert sum(fw.prob_outside(8, 8, low=1.0, high=1.0)) == pytest.approx(1.0, abs=0.02)  # all but a bin or so


@pytest.mark.parametrize("kwargs, error, name", [
    (dict(low=0.0), ValueError, "low"), (dict(low=-1.0), ValueError, "low"), (dict(high=0.0), ValueError, "high"),
    (dict(low=10.0, high=0.1), ValueError, "low"), (dict(low="0.1"), TypeError, "low"),
    (dict(high=float("inf")), ValueError, "high"), (dict(dy=0.0), ValueError, "dy")])
def test_prob_outside_arguments_are_checked(kwargs, error, name):
    with pytest.raises(error, match=name):
        fw.prob_outside(4, [2], **kwargs)


def test_prob_outside_matches_narrow_networks():
    # real networks of width 2 (a dead layer 1 time in 4), 4,000 seeds: dead, vanishing and exploding fractions
    n, L, S = 2, 4, 4000
    net = wi.MLP([n] * (L + 1) + [1], activation="relu", weight_init="he_normal", seeds=list(range(S)))
    x = np.array([[0.7, -0.4]])
    g = np.sum(net.trace(x).activations[L - 1][:, 0] ** 2, axis=-1) / np.sum(x**2)
    alive = fw.prob_alive(n, L)
    below, above = fw.prob_outside(n, L)
    for meas, pred in [(np.mean(g == 0), 1 - alive), (np.mean(g < 0.1), below), (np.mean(g > 10), above)]:
        assert abs(meas - pred) < N_SE * math.sqrt(pred * (1 - pred) / S), (meas, pred)
