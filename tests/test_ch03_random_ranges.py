"""Chapter 3 (random ranges): every formula derived in the chapter, checked by simulation.

Same checks as the notebook, on smaller networks so the file runs in a few seconds:

* moments of U[a, b] (eq-ch3-uniform-moments);
* one layer: E[z] = n mu_w mu_x and Var(z) = n (sigma^2 m_x + mu_w^2 v_x) (eq-ch3-mean-shift,
  eq-ch3-one-layer-variance);
* the shared push R(x) of a positive-only range (eq-ch3-push-ratio) and the ReLU mean growth
  n mu_w per layer (eq-ch3-relu-mean-growth);
* the rule of thumb U[-1/sqrt(n), 1/sqrt(n)]: variance 1/(3n), equal to PyTorch's default and to
  variance_scaling(scale=1/3), per-layer factors of linear and tanh networks (eq-ch3-recursion,
  eq-ch3-chi, against wi.theory.propagate_second_moment);
* the excess kurtosis (kappa_w - 3)/n of a unit with uniform weights (eq-ch3-kurtosis);
* wi.theory.gaussian_expectation_fine, added for this chapter.
"""
import math

import numpy as np
import pytest

import winit_edu as wi
from stats_helpers import N_SE, UNIFORM_KURTOSIS, assert_mean_and_variance
from winit_edu.theory import gaussian_expectation, gaussian_expectation_fine, propagate_second_moment


def second_moments(arrays):
    return np.array([np.mean(a**2) for a in arrays])


def predicted_chi(activation, sigma_w2, q):
    """eq-ch3-chi: sigma_w^2 E[f'(z)^2], z ~ N(0, q), per layer."""
    return np.array([sigma_w2 * gaussian_expectation_fine(lambda z: wi.derivative(activation, z) ** 2, ql)
                     for ql in q])


def predicted_q(activation, sigma_w2, depth, q0):
    """eq-ch3-recursion on the fine grid (accurate also for saturated tanh)."""
    f = wi.get_activation(activation).f
    q = [sigma_w2 * q0]
    for _ in range(depth - 1):
        q.append(sigma_w2 * gaussian_expectation_fine(lambda z: f(z) ** 2, q[-1]))
    return np.array(q)


# --- the moments of a range -------------------------------------------------------------------

@pytest.mark.parametrize("low, high", [(-0.3, 0.3), (-1.0, 1.0), (0.0, 1.0), (0.0, 0.1), (-0.2, 0.7)])
def test_uniform_moments(low, high):
    mean, var = (low + high) / 2, (high - low) ** 2 / 12
    assert math.isclose(var, wi.theory.uniform_variance(low, high))
    assert math.isclose(mean**2 + var, (low**2 + low * high + high**2) / 3)   # E[w^2]
    w = wi.uniform((400, 500), rng=0, low=low, high=high)
    assert_mean_and_variance(w, mean, var, UNIFORM_KURTOSIS)


# --- one layer --------------------------------------------------------------------------------

@pytest.mark.parametrize("init, mu_w, var_w", [
    (wi.get_initializer("uniform", low=0.0, high=1.0), 0.5, 1 / 12),
    (wi.get_initializer("uniform", low=0.0, high=0.1), 0.05, 0.01 / 12),
    (wi.get_initializer("uniform", low=-0.3, high=0.3), 0.0, 0.03),
    (wi.get_initializer("normal", std=1.0), 0.0, 1.0),
])
def test_one_layer_mean_shift_and_variance(init, mu_w, var_w):
    n, M = 64, 20_000
    x = np.random.default_rng(1).uniform(0, 1, size=(M, n))     # mu_x = 1/2, m_x = 1/3, v_x = 1/12
    w = init((M, n), rng=2)
    z = np.einsum("mi,mi->m", w, x)
    mean_pred = n * mu_w * 0.5
    var_pred = n * (var_w / 3 + mu_w**2 / 12)
    assert abs(z.mean() - mean_pred) <= N_SE * math.sqrt(var_pred / M)
    assert abs(z.var() / var_pred - 1) <= N_SE * math.sqrt(2 / M)


def test_push_ratio_of_positive_range_does_not_depend_on_the_range():
    X, _ = wi.load_digits()
    X = X[:100] / 16.0
    predicted = math.sqrt(3) * X.sum(axis=1) / np.linalg.norm(X, axis=1)
    for high in (1.0, 0.1):
        Z = X @ wi.uniform((64, 4096), rng=3, low=0.0, high=high)
        measured = Z.mean(axis=1) / Z.std(axis=1)
        np.testing.assert_allclose(measured, predicted, rtol=0.06)


def test_relu_mean_grows_by_n_mu_w_per_layer():
    width = 128
    X, y = wi.load_digits()
    X, y = X[:64] / 16.0, y[:64]
    for high in (1.0, 0.1):
        net = wi.MLP([64] + [width] * 6 + [10], activation="relu",
                     weight_init=wi.get_initializer("uniform", low=0.0, high=high), seeds=[0, 1])
        tr = net.trace(X, labels=y)
        means = wi.diagnostics.layer_means(tr.activations)
        np.testing.assert_allclose(means[2:] / means[1:-1], width * high / 2, rtol=0.02)
        assert wi.diagnostics.dead_fraction(tr.pre_activations[-2]) == 0.0
        assert np.all(tr.pre_activations[-2] > 0)                     # never inactive, let alone dead


def test_positive_range_saturates_tanh_and_zeroes_the_gradient():
    X, y = wi.load_digits()
    X, y = X[:64] / 16.0, y[:64]
    net = wi.MLP([64] + [128] * 4 + [10], activation="tanh",
                 weight_init=wi.get_initializer("uniform", low=0.0, high=1.0), seeds=[0])
    tr = net.trace(X, labels=y)
    for h in tr.activations:
        assert wi.diagnostics.saturation_fraction(h) == 1.0
        assert np.all(h > 0.95)
    assert np.all(tr.grad_pre_activations[0] == 0.0)


# --- the rule of thumb ------------------------------------------------------------------------

@pytest.mark.parametrize("n_in", [16, 256, 4096])
def test_rule_of_thumb_is_pytorch_default_and_variance_scaling_one_third(n_in):
    shape = (n_in, 32)
    rule = wi.uniform(shape, rng=5, low=-1 / math.sqrt(n_in), high=1 / math.sqrt(n_in))
    vs = wi.variance_scaling(shape, rng=5, scale=1 / 3, mode="fan_in", distribution="uniform")
    torch_default = wi.he_uniform(shape, rng=5, nonlinearity="leaky_relu", param=math.sqrt(5))
    np.testing.assert_allclose(vs, rule, rtol=1e-12, atol=0)
    np.testing.assert_allclose(torch_default, rule, rtol=1e-12, atol=0)
    assert math.isclose(wi.calculate_gain("leaky_relu", math.sqrt(5)) ** 2, 1 / 3)
    assert_mean_and_variance(rule, 0.0, 1 / (3 * n_in), UNIFORM_KURTOSIS)


@pytest.mark.parametrize("activation", ["linear", "tanh"])
def test_rule_of_thumb_per_layer_factor(activation):
    width, depth, batch = 128, 6, 64
    gen = np.random.default_rng(7)
    X, y = gen.normal(size=(batch, width)), gen.integers(0, 10, size=batch)
    q0 = float(np.mean(X**2))
    init = wi.get_initializer("variance_scaling", scale=1 / 3, mode="fan_in", distribution="uniform")
    net = wi.MLP([width] * (depth + 1) + [10], activation=activation, weight_init=init, seeds=range(4))
    tr = net.trace(X, labels=y)
    q_pred = propagate_second_moment(depth, activation, 1 / 3, q0=q0)
    np.testing.assert_allclose(second_moments(tr.pre_activations[:-1]), q_pred, rtol=0.1)
    # the forward factor is 1/3 for linear, slightly below and tending to 1/3 for tanh (eq-ch3-rule-tanh)
    factor = q_pred[1:] / q_pred[:-1]
    if activation == "linear":
        np.testing.assert_allclose(factor, 1 / 3)
    else:
        assert np.all(factor < 1 / 3) and np.all(np.diff(factor) > 0)
        small = q_pred[:-1] < 0.03                       # the expansion needs a small q_l
        assert small.sum() >= 3
        np.testing.assert_allclose(factor[small], (1 - 2 * q_pred[:-1][small]) / 3, rtol=0.01)
    g2 = second_moments(tr.grad_pre_activations[:-1])
    np.testing.assert_allclose(g2[:-1] / g2[1:], predicted_chi(activation, 1 / 3, q_pred)[:-1], rtol=0.1)


@pytest.mark.parametrize("low_high", [(-0.3, 0.3), (-1.0, 1.0)])
def test_large_symmetric_range_saturates_tanh_and_gradients_grow_backward(low_high):
    width, depth, batch = 128, 6, 64
    low, high = low_high
    sigma_w2 = width * (high - low) ** 2 / 12
    gen = np.random.default_rng(8)
    X, y = gen.normal(size=(batch, width)), gen.integers(0, 10, size=batch)
    net = wi.MLP([width] * (depth + 1) + [10], activation="tanh",
                 weight_init=wi.get_initializer("uniform", low=low, high=high), seeds=range(4))
    tr = net.trace(X, labels=y)
    q_pred = predicted_q("tanh", sigma_w2, depth, float(np.mean(X**2)))
    np.testing.assert_allclose(second_moments(tr.pre_activations[:-1]), q_pred, rtol=0.15)
    chi = predicted_chi("tanh", sigma_w2, q_pred)
    assert np.all(chi > 1)                                            # exploding, not vanishing
    g2 = second_moments(tr.grad_pre_activations[:-1])
    np.testing.assert_allclose(g2[:-1] / g2[1:], chi[:-1], rtol=0.15)


def test_fixed_range_gain_grows_with_width_rule_does_not():
    for width in (16, 256):
        X = np.random.default_rng(width).normal(size=(64, width))
        for init, expected in [(wi.get_initializer("uniform", low=-0.3, high=0.3), 0.03 * width),
                               (wi.get_initializer("variance_scaling", scale=1 / 3, distribution="uniform"), 1 / 3)]:
            net = wi.MLP([width] * 3 + [2], activation="linear", weight_init=init, seeds=range(4))
            q = second_moments(net.trace(X).pre_activations[:-1])
            assert abs(np.exp(np.mean(np.log(q[1:] / q[:-1]))) / expected - 1) < 0.15


# --- uniform or normal ------------------------------------------------------------------------

@pytest.mark.parametrize("n_in", [1, 2, 4, 16])
def test_excess_kurtosis_of_a_unit_with_uniform_weights(n_in):
    g = np.random.default_rng(n_in)
    x = g.choice([-1.0, 1.0], size=n_in)
    a = math.sqrt(3 / n_in)
    z = sum(x_i * g.uniform(-a, a, size=200_000) for x_i in x)
    m2, m4 = np.mean(z**2), np.mean(z**4)
    se = np.std(z**4 / m2**2 - 2 * (m4 / m2**3) * z**2) / math.sqrt(len(z))
    assert abs(m4 / m2**2 - 3 - (UNIFORM_KURTOSIS - 3) / n_in) < N_SE * se


def test_second_moment_does_not_see_the_shape():
    width = 256
    X = np.random.default_rng(0).normal(size=(128, width))
    q = {}
    for dist in ("uniform", "normal", "truncated_normal"):
        init = wi.get_initializer("variance_scaling", scale=1.0, distribution=dist)
        net = wi.MLP([width, width, 2], activation="linear", weight_init=init, seeds=range(4))
        q[dist] = np.mean(net.trace(X).pre_activations[0] ** 2)
    for dist in q:
        assert abs(q[dist] / np.mean(X**2) - 1) < 0.05


def test_shape_matters_at_small_fan_in_only():
    from scipy.special import ndtri

    def rel_diff(n_in, draws=50_000):
        g = np.random.default_rng(n_in)
        z_u, z_n = np.zeros(draws), np.zeros(draws)
        for _ in range(n_in):
            p, x = g.uniform(size=draws), g.normal(size=draws)
            z_u += math.sqrt(3 / n_in) * (2 * p - 1) * x
            z_n += math.sqrt(1 / n_in) * ndtri(p) * x
        return np.mean(np.tanh(z_u) ** 2) / np.mean(np.tanh(z_n) ** 2) - 1

    assert rel_diff(1) > 0.05
    assert 0 < rel_diff(4) < rel_diff(1)
    assert abs(rel_diff(64)) < 0.01


def test_edgeworth_correction_predicts_the_small_fan_in_shift():
    tanh2 = lambda z: np.tanh(z) ** 2  # noqa: E731
    base = gaussian_expectation_fine(tanh2, 1.0)
    he4 = gaussian_expectation_fine(lambda z: tanh2(z) * (z**4 - 6 * z**2 + 3), 1.0)
    n_in = 4
    predicted = base + (UNIFORM_KURTOSIS - 3) / n_in / 24 * he4
    g = np.random.default_rng(n_in)
    a = math.sqrt(3 / n_in)
    t = np.tanh(sum(g.uniform(-a, a, size=1_000_000) for _ in range(n_in))) ** 2
    se = t.std() / math.sqrt(len(t))
    assert abs(t.mean() - predicted) < N_SE * se + 0.1 * abs(predicted - base)


# --- gaussian_expectation_fine ----------------------------------------------------------------

def test_gaussian_expectation_fine_matches_closed_forms():
    assert math.isclose(gaussian_expectation_fine(lambda x: x**2, 3.0), 3.0, rel_tol=1e-6)
    assert math.isclose(gaussian_expectation_fine(lambda x: (x > 0).astype(float), 5.0), 0.5, rel_tol=1e-9)
    assert math.isclose(gaussian_expectation_fine(np.cos, 0.0), 1.0, rel_tol=1e-12)
    # E[cos x] = exp(-var / 2)
    assert math.isclose(gaussian_expectation_fine(np.cos, 2.0), math.exp(-1.0), rel_tol=1e-6)
    # smooth functions: the same as Gauss-Hermite quadrature
    for q in (0.1, 1.0, 3.0):
        assert math.isclose(gaussian_expectation_fine(lambda x: np.tanh(x) ** 2, q),
                            gaussian_expectation(lambda x: np.tanh(x) ** 2, q), rel_tol=1e-6)
    # a narrow spike: E[sech^4 x] ~ (4/3) phi(0) / sqrt(q) for large q; quadrature is off by a factor 2 or more
    sech4 = lambda x: 1.0 / np.cosh(np.minimum(np.abs(x), 100.0)) ** 4  # noqa: E731
    for q in (100.0, 400.0):
        asymptotic = (4 / 3) / math.sqrt(2 * math.pi * q)
        assert math.isclose(gaussian_expectation_fine(sech4, q), asymptotic, rel_tol=0.01)
        assert gaussian_expectation(sech4, q, method="hermite") > 1.5 * asymptotic


@pytest.mark.parametrize("kwargs, error", [
    (dict(var=-1.0), ValueError),
    (dict(points=1), ValueError),
    (dict(width=0.0), ValueError),
    (dict(var="1"), TypeError),
    (dict(points=10.5), TypeError),
])
def test_gaussian_expectation_fine_validates(kwargs, error):
    with pytest.raises(error):
        gaussian_expectation_fine(np.square, **kwargs)


def test_relu_layer_factor_is_half_the_weight_variance_times_fan_in():
    # chapter 3's check: a ReLU layer multiplies the second moment by sigma_w^2 / 2 (within 15%)
    X = np.random.default_rng(0).standard_normal((128, 256))
    net = wi.MLP([256] * 6 + [2], activation="relu",
                 weight_init=wi.get_initializer("uniform", low=-0.3, high=0.3), seeds=range(4))
    q = np.array([np.mean(z**2) for z in net.trace(X).pre_activations[:-1]])
    factor = 256 * 0.6**2 / 12 / 2
    np.testing.assert_allclose(q[1:] / q[:-1], factor, rtol=0.15)


def test_lecun_tanh_std_approaches_one_over_sqrt_2l():
    std = np.sqrt(wi.theory.propagate_second_moment(30, "tanh", 1.0))
    gap = [abs(std[l - 1] * np.sqrt(2 * l) - 1) for l in (10, 30)]
    assert gap[1] < gap[0] < 0.1
