"""Checks behind chapter 14 (dynamical isometry), fast versions of the notebook's cells.

The input-output Jacobian J = W_0 D_0 W_1 D_1 ... W_{L-1} D_{L-1} is built from the package's forward
pass as in the notebook. The formulas checked:

* E[m_1(J)] = prod_l chi_l (the mean squared singular value is what the variance rules control),
  compared in standard errors over networks (``N_SE`` of them, see ``stats_helpers.py``);
* orthogonal products are isometries: every singular value of a product of L orthogonal matrices
  with gain g is g^L (to rounding), and with tanh slopes in between they lie between the products of
  the smallest and largest slopes;
* the spread v = Var(s^2) / m_1^2 adds up layer by layer (free probability, wide limit):
  v = sum_l (mu_2 / mu_1^2 - 1) + L v_W, v_W = 1 (Gaussian) or 0 (orthogonal); checked within 10%
  (orthogonal tanh) or 20% (the others, which fluctuate more at finite width);
* hard-tanh (slopes 0 or 1): mu_1 = mu_2 = p = erf(1 / sqrt(2 q*)), so v = L (1/p - 1) or L / p;
* the wrong orthogonal gain (sigma_w^2 instead of sigma_w) moves q*, and m_1 grows about twofold, not
  by sigma_w^(2L);
* ReLU: rank(J) <= the number of active units of the last layer;
* the Fuss-Catalan moments m_2 = L + 1 and edge (L+1)^(L+1) / L^L of a product of Gaussian matrices.
"""
import math

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import winit_edu as wi
from winit_edu import meanfield as mf

from stats_helpers import N_SE

Q_STAR = 1 / 64
SW2, SB2 = (float(v[0]) for v in mf.critical_line("tanh", [Q_STAR]))


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small matrices: one BLAS thread is faster, and the results do not depend on the thread count."""
    with threadpool_limits(1):
        yield


def make_net(activation, weights, sigma_w2, sigma_b2, sizes, seeds):
    hidden = (wi.get_initializer("orthogonal", gain=math.sqrt(sigma_w2)) if weights == "orthogonal"
              else wi.get_initializer("variance_scaling", scale=sigma_w2, mode="fan_in"))
    out = wi.get_initializer("variance_scaling", scale=1.0, mode="fan_in")
    bias = wi.get_initializer("normal", std=math.sqrt(sigma_b2)) if sigma_b2 > 0 else "zeros"
    return wi.MLP(sizes, activation=activation, weight_init=[hidden] * (len(sizes) - 2) + [out],
                  bias_init=bias, seeds=seeds)


def jacobian(net, x, depth):
    """J_depth = dh_depth/dx for one input per member, x of shape (S, 1, n): shape (S, n, n), and the slopes."""
    tr = net.trace(x)
    J, slopes = None, []
    for l in range(depth):
        d = net.activations[l].df(tr.pre_activations[l], tr.activations[l])[:, 0, :]
        slopes.append(d)
        step = net.weights[l] * d[:, None, :]
        J = step if J is None else J @ step
    return J, slopes


def inputs(n_members, n, mean_square, seed=7):
    x = np.random.default_rng(seed).normal(size=(n_members, 1, n))
    return x * math.sqrt(mean_square * n) / np.linalg.norm(x, axis=-1, keepdims=True)


def spread(s):
    lam = s**2
    return lam.var(axis=-1) / lam.mean(axis=-1) ** 2


def spread_prediction(activation, weights, sigma_w2, sigma_b2, q0, depth):
    q = wi.theory.propagate_second_moment(depth, activation, sigma_w2, q0=q0, sigma_b2=sigma_b2)
    act = wi.activations.get_activation(activation)
    d2 = lambda z: act.df(z, act.f(z)) ** 2  # noqa: E731
    mu1 = np.array([wi.theory.gaussian_expectation(d2, v, points=4000) for v in q])
    mu2 = np.array([wi.theory.gaussian_expectation(lambda z: d2(z) ** 2, v, points=4000) for v in q])
    return float(np.sum(mu2 / mu1**2 - 1 + (1.0 if weights == "gaussian" else 0.0)))


# --- the setting of the chapter ---------------------------------------------------------------------

def test_the_tanh_setting_is_critical_with_the_chosen_fixed_point():
    assert mf.q_star("tanh", SW2, SB2) == pytest.approx(Q_STAR, rel=1e-8)
    assert mf.chi_1("tanh", SW2, SB2) == pytest.approx(1.0, abs=1e-9)
    chi = wi.theory.gradient_factors(50, "tanh", SW2, q0=(Q_STAR - SB2) / SW2, sigma_b2=SB2)
    assert np.allclose(chi, 1.0, atol=1e-3)      # inputs at q*: every layer has chi_l = chi_1


def test_jacobian_matches_finite_differences():
    net = make_net("tanh", "gaussian", 1.5, 0.05, [30] * 8, [0])
    x = np.random.default_rng(1).normal(size=(1, 1, 30))
    v = np.random.default_rng(2).normal(size=(1, 1, 30))
    J, _ = jacobian(net, x, 6)
    eps = 1e-6
    numeric = (net.trace(x + eps * v).activations[5] - net.trace(x - eps * v).activations[5]) / (2 * eps)
    assert np.linalg.norm(v[0] @ J[0] - numeric[0]) < 1e-6 * np.linalg.norm(numeric[0])


# --- the mean squared singular value --------------------------------------------------------------

@pytest.mark.parametrize("weights", ["orthogonal", "gaussian"])
@pytest.mark.parametrize("activation, sigma_w2", [("tanh", 1.0), ("tanh", 2.5), ("relu", 2.0)])
def test_mean_squared_singular_value_is_the_product_of_chi(activation, sigma_w2, weights):
    n, depth, seeds = 80, 12, list(range(24))
    net = make_net(activation, weights, sigma_w2, 0.0, [n] * (depth + 2), seeds)
    J, _ = jacobian(net, inputs(len(seeds), n, 1.0), depth)
    m1 = np.sum(J**2, axis=(1, 2)) / n
    predicted = np.prod(wi.theory.gradient_factors(depth, activation, sigma_w2, q0=1.0))
    se = m1.std(ddof=1) / math.sqrt(m1.size)
    assert abs(m1.mean() - predicted) <= N_SE * se, (m1.mean(), predicted, se)


# --- orthogonal products ----------------------------------------------------------------------------

def test_a_product_of_orthogonal_matrices_is_an_isometry():
    gain, depth, n = 1.1, 40, 60
    P = wi.orthogonal((n, n), rng=0, gain=gain)
    for k in range(1, depth):
        P = P @ wi.orthogonal((n, n), rng=k, gain=gain)
    s = np.linalg.svd(P, compute_uv=False)
    assert np.max(np.abs(s / gain**depth - 1)) < 1e-10


def test_orthogonal_tanh_singular_values_lie_between_the_products_of_extreme_slopes():
    n, depth = 100, 30
    net = make_net("tanh", "orthogonal", SW2, SB2, [n] * (depth + 2), [0, 1])
    J, slopes = jacobian(net, inputs(2, n, (Q_STAR - SB2) / SW2), depth)
    s = np.linalg.svd(J, compute_uv=False)
    g = math.sqrt(SW2) ** depth
    low = g * np.prod([d.min(axis=1) for d in slopes], axis=0)
    high = g * np.prod([d.max(axis=1) for d in slopes], axis=0)
    assert np.all(s[:, -1] >= low * (1 - 1e-10)) and np.all(s[:, 0] <= high * (1 + 1e-10))
    assert np.all(s[:, 0] <= g)                  # the bound sigma_w^L of the exercise


# --- the spread ----------------------------------------------------------------------------------

def test_small_q_expansion_of_the_slope_variance():
    d2 = lambda z: (1 - np.tanh(z) ** 2) ** 2  # noqa: E731
    for q in (1e-3, 1e-2):
        mu1 = wi.theory.gaussian_expectation(d2, q, points=4000)
        mu2 = wi.theory.gaussian_expectation(lambda z: d2(z) ** 2, q, points=4000)
        assert (mu2 / mu1**2 - 1) / (8 * q * q) == pytest.approx(1.0, abs=12 * q)   # O(q) correction


def test_relu_slopes_add_exactly_one_per_layer():
    for q0 in (0.5, 1.0, 3.0):
        assert spread_prediction("relu", "orthogonal", 2.0, 0.0, q0, 10) == pytest.approx(10.0, abs=1e-9)
        assert spread_prediction("relu", "gaussian", 2.0, 0.0, q0, 10) == pytest.approx(20.0, abs=1e-9)


def test_spread_of_orthogonal_tanh_matches_free_probability():
    n, depth = 200, 32
    q0 = (Q_STAR - SB2) / SW2
    net = make_net("tanh", "orthogonal", SW2, SB2, [n] * (depth + 2), [0, 1])
    J, _ = jacobian(net, inputs(2, n, q0), depth)
    v = spread(np.linalg.svd(J, compute_uv=False))
    predicted = spread_prediction("tanh", "orthogonal", SW2, SB2, q0, depth)
    assert predicted < 0.1                        # concentrated: dynamical isometry
    assert np.all(np.abs(v / predicted - 1) < 0.1), (v, predicted)


@pytest.mark.parametrize("activation, weights", [("tanh", "gaussian"), ("relu", "orthogonal"), ("relu", "gaussian")])
def test_spread_without_isometry_grows_like_depth(activation, weights):
    n, depth, seeds = 200, 16, [0, 1, 2, 3]
    s2, b2 = (SW2, SB2) if activation == "tanh" else (2.0, 0.0)
    q0 = (Q_STAR - SB2) / SW2 if activation == "tanh" else 1.0
    net = make_net(activation, weights, s2, b2, [n] * (depth + 2), seeds)
    J, _ = jacobian(net, inputs(len(seeds), n, q0), depth)
    v = spread(np.linalg.svd(J, compute_uv=False))
    predicted = spread_prediction(activation, weights, s2, b2, q0, depth)
    assert predicted >= depth
    assert abs(v.mean() / predicted - 1) < 0.2, (v, predicted)


def test_hard_tanh_spread_is_l_times_one_over_p_minus_one():
    """Pennington et al.'s closed form: mu_1 = mu_2 = p = erf(1/sqrt(2 q*)), v = L (1/p - 1) or L / p."""
    hard_tanh = wi.activations.Activation("hard_tanh", lambda z: np.clip(z, -1.0, 1.0),
                                          lambda z, h: (np.abs(z) < 1).astype(np.result_type(z, 0.0)))
    q, depth, n, seeds = 0.5, 20, 200, [0, 1, 2, 3]
    p = math.erf(1 / math.sqrt(2 * q))
    d2 = lambda z: (np.abs(z) < 1).astype(float)  # noqa: E731
    assert wi.theory.gaussian_expectation(d2, q) == pytest.approx(p, abs=1e-4)
    s2 = 1 / p
    b2 = q - s2 * wi.theory.gaussian_expectation(lambda z: np.clip(z, -1.0, 1.0) ** 2, q)
    for weights, predicted in [("orthogonal", depth * (1 / p - 1)), ("gaussian", depth / p)]:
        net = make_net(hard_tanh, weights, s2, b2, [n] * (depth + 2), seeds)
        J, _ = jacobian(net, inputs(len(seeds), n, (q - b2) / s2), depth)
        v = spread(np.linalg.svd(J, compute_uv=False))
        se = v.std(ddof=1) / math.sqrt(v.size)
        assert abs(v.mean() - predicted) <= N_SE * se, (weights, v, predicted)
        assert abs(v.mean() / predicted - 1) < 0.15


def test_the_wrong_orthogonal_gain_moves_q_star_and_m1_grows_about_twofold_not_twentyfold():
    """gain = sigma_w^2 instead of sigma_w: fan_in Var(w) = sigma_w^4, q relaxes to a new, larger q*."""
    depth, n, seeds = 100, 100, [0, 1, 2, 3]
    q0 = (Q_STAR - SB2) / SW2
    predicted = float(np.prod(wi.theory.gradient_factors(depth, "tanh", SW2**2, q0=q0, sigma_b2=SB2)))
    assert SW2**depth > 15 and 1.8 < predicted < 2.5
    assert mf.q_star("tanh", SW2**2, SB2) == pytest.approx(2 * Q_STAR, rel=0.1)
    assert 1.0 < mf.chi_1("tanh", SW2**2, SB2) < 1.005             # mildly chaotic
    net = make_net("tanh", "orthogonal", SW2**2, SB2, [n] * (depth + 2), seeds)   # gain sqrt(sigma_w^4)
    J, _ = jacobian(net, inputs(len(seeds), n, q0), depth)
    m1 = np.sum(J**2, axis=(1, 2)) / n
    se = m1.std(ddof=1) / math.sqrt(m1.size)
    assert abs(m1.mean() - predicted) <= N_SE * se, (m1, predicted)


def test_relu_jacobian_rank_is_at_most_the_number_of_active_units():
    n, depth = 120, 8
    for weights in ("orthogonal", "gaussian"):
        net = make_net("relu", weights, 2.0, 0.0, [n] * (depth + 2), [0])
        x = inputs(1, n, 1.0)
        active = int(np.sum(net.trace(x).pre_activations[depth - 1] > 0))
        J, _ = jacobian(net, x, depth)
        s = np.linalg.svd(J[0], compute_uv=False)
        assert np.sum(s > 1e-10 * s[0]) <= active < n


# --- linear Gaussian products: the Fuss-Catalan law ----------------------------------------------------

def test_gaussian_products_have_fuss_catalan_moments_and_edge():
    n, depth = 400, 4
    draw = wi.get_initializer("variance_scaling", scale=1.0)
    m1, m2, top = [], [], []
    for seed in range(6):
        P = draw((n, n), rng=seed)
        for k in range(1, depth):
            P = P @ draw((n, n), rng=100 * seed + k)
        lam = np.linalg.svd(P, compute_uv=False) ** 2
        m1.append(lam.mean())
        m2.append(np.mean(lam**2))
        top.append(lam[0])
    assert np.mean(m1) == pytest.approx(1.0, abs=0.05)
    assert np.mean(m2) == pytest.approx(depth + 1, rel=0.1)
    assert np.mean(top) == pytest.approx((depth + 1) ** (depth + 1) / depth**depth, rel=0.1)
