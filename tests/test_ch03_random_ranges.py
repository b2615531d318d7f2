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
* the excess kurtosis (kappa_w - 3)/n of a unit with uniform weights (eq-ch3-kurtosis), the
  first-order (Edgeworth) shift it causes, against the exact value (a Fourier integral) and the
  c/n law of uniform minus normal weights;
* chi also multiplies the squared distance of two nearby inputs per layer (order and chaos);
* PyTorch's default biases U(+-1/sqrt(n)): the floor q* ~ 1/(2n) of eq-ch3-recursion-bias, while
  the input-dependent part of the signal and the gradient still shrink by chi per layer;
* the logistic sigmoid: the next layer's second moment is sigma_w^2 E[h^2], mean 1/2 included
  (eq-ch3-sigmoid-second-moment), and chi <= sigma_w^2 / 16 in a deep sigmoid network;
* wi.theory.gaussian_expectation_fine, added for this chapter.

The predictions come from the package (propagate_second_moment, gradient_factors), as in the chapter.
"""
import math

import numpy as np
import pytest

import winit_edu as wi
from stats_helpers import N_SE, UNIFORM_KURTOSIS, assert_mean_and_variance
from winit_edu.theory import (gaussian_expectation, gaussian_expectation_fine, gradient_factors,
                              propagate_second_moment, second_moment_after, slope_after)


def second_moments(arrays):
    return np.array([np.mean(a**2) for a in arrays])


def spreads(arrays):
    """Input-dependent part: the variance over the batch, per unit, averaged (per layer)."""
    return np.array([np.mean(a.var(axis=-2)) for a in arrays])


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
    np.testing.assert_allclose(g2[:-1] / g2[1:], gradient_factors(depth, activation, 1 / 3, q0=q0)[:-1], rtol=0.1)


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
    q0 = float(np.mean(X**2))
    q_pred = propagate_second_moment(depth, "tanh", sigma_w2, q0=q0)
    np.testing.assert_allclose(second_moments(tr.pre_activations[:-1]), q_pred, rtol=0.15)
    chi = gradient_factors(depth, "tanh", sigma_w2, q0=q0)
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


# --- chi and nearby inputs --------------------------------------------------------------------

@pytest.mark.parametrize("half_width", [1.0, 1 / 16])        # chaotic (chi ~ 5) and ordered (chi ~ 1/3) at n = 128
def test_chi_multiplies_the_distance_of_nearby_inputs(half_width):
    width, depth = 128, 6
    X = np.random.default_rng(7).normal(size=(32, width))
    X_near = X + 1e-6 * np.random.default_rng(8).normal(size=X.shape)
    net = wi.MLP([width] * (depth + 1) + [2], activation="tanh",
                 weight_init=wi.get_initializer("uniform", low=-half_width, high=half_width), seeds=range(4))
    z = net.trace(np.concatenate([X, X_near])).pre_activations[:-1]
    dist2 = np.array([np.mean((a[:, :32] - a[:, 32:]) ** 2) for a in z])
    sigma_w2 = width * (2 * half_width) ** 2 / 12
    chi = gradient_factors(depth, "tanh", sigma_w2, q0=float(np.mean(X**2)))
    np.testing.assert_allclose(dist2[1:] / dist2[:-1], chi[:-1], rtol=0.15)


# --- PyTorch's default biases ------------------------------------------------------------------

def _fixed_point(sigma_w2, sigma_b2):
    """q* = sigma_w2 E[tanh(sqrt(q*) u)^2] + sigma_b2, by root finding."""
    from scipy.optimize import brentq
    return brentq(lambda q: sigma_w2 * second_moment_after("tanh", q) + sigma_b2 - q, 1e-9, 10.0, xtol=1e-14)


@pytest.mark.parametrize("n", [16, 256, 4096])
def test_bias_floor_closed_form(n):
    q_star = _fixed_point(1 / 3, 1 / (3 * n))
    q_rec = propagate_second_moment(30, "tanh", 1 / 3, sigma_b2=1 / (3 * n))[-1]   # converges by 1/3 per layer
    assert q_rec == pytest.approx(q_star, rel=1e-6)
    q_closed = (math.sqrt(1 + 2 / n) - 1) / 2                 # root of q^2 + q = 1/(2n)
    assert q_closed == pytest.approx(q_star, rel=0.01)
    assert 1 / (2 * n) == pytest.approx(q_star, rel=0.05)


@pytest.mark.parametrize("n", [256, 4096])
def test_lecun_weights_with_pytorch_biases_settle_near_one_over_sqrt_6n(n):
    q_star = _fixed_point(1.0, 1 / (3 * n))
    assert q_star == pytest.approx(1 / math.sqrt(6 * n), rel=0.05)
    chi_star = slope_after("tanh", q_star)
    assert chi_star == pytest.approx(1 - 2 * q_star + 7 * q_star**2, abs=40 * q_star**3)   # E[sech^4] expanded


def test_pytorch_default_biases_keep_the_signal_but_not_the_input():
    width, depth = 128, 20
    gen = np.random.default_rng(7)
    X, y = gen.normal(size=(64, width)), gen.integers(0, 10, size=64)
    q0, sigma_b2 = float(np.mean(X**2)), 1 / (3 * width)
    bound = 1 / math.sqrt(width)
    net = wi.MLP([width] * (depth + 1) + [10], activation="tanh",
                 weight_init=wi.get_initializer("variance_scaling", scale=1 / 3, distribution="uniform"),
                 bias_init=wi.get_initializer("uniform", low=-bound, high=bound), seeds=range(4))
    tr = net.trace(X, labels=y)
    q = second_moments(tr.pre_activations[:-1])
    q_pred = propagate_second_moment(depth, "tanh", 1 / 3, q0=q0, sigma_b2=sigma_b2)
    np.testing.assert_allclose(q, q_pred, rtol=0.2)                   # 4 random bias vectors of 128 entries
    assert np.mean(q[8:]) == pytest.approx(q_pred[-1], rel=0.1)        # the floor, not zero
    chi = gradient_factors(depth, "tanh", 1 / 3, q0=q0, sigma_b2=sigma_b2)
    d = spreads(tr.pre_activations[:-1])                               # the input-dependent part
    factor = (d[-1] / d[8]) ** (1 / (depth - 9))
    assert factor == pytest.approx(chi[-1], rel=0.03)
    assert d[-1] < 1e-7 * q[-1]                                        # the input is forgotten
    g2 = second_moments(tr.grad_pre_activations[:-1])
    assert (g2[0] / g2[-1]) == pytest.approx(np.prod(chi[:-1]), rel=0.5)   # gradients still vanish
    assert np.prod(chi[:-1]) < 1e-9


# --- the logistic sigmoid ----------------------------------------------------------------------

def test_sigmoid_mean_is_half_and_enters_the_next_layer():
    assert gaussian_expectation(wi.get_activation("sigmoid").f, 1.0) == pytest.approx(0.5, abs=1e-12)
    width = 256
    X = np.random.default_rng(7).normal(size=(64, width))
    net = wi.MLP([width] * 3 + [2], activation="sigmoid", weight_init="lecun_normal", seeds=range(8))
    tr = net.trace(X)
    h1, z2 = tr.activations[0], tr.pre_activations[1]
    per_unit = np.mean(z2**2, axis=1).ravel()
    se = per_unit.std(ddof=1) / math.sqrt(per_unit.size)
    assert abs(per_unit.mean() - np.mean(h1**2)) < N_SE * se           # sigma_w^2 E[h^2]
    assert per_unit.mean() > 5 * np.var(h1)                            # not sigma_w^2 Var(h)
    common = np.mean(z2.mean(axis=1) ** 2)                             # the same for every input
    assert common == pytest.approx(np.mean(h1.mean(axis=1) ** 2), rel=0.1)
    assert common > 0.8 * per_unit.mean()


def test_deep_sigmoid_network_forgets_its_input_by_chi_per_layer():
    width, depth = 128, 8
    gen = np.random.default_rng(3)
    X, y = gen.normal(size=(64, width)), gen.integers(0, 10, size=64)
    q0 = float(np.mean(X**2))
    net = wi.MLP([width] * (depth + 1) + [10], activation="sigmoid", weight_init="lecun_normal", seeds=range(4))
    tr = net.trace(X, labels=y)
    chi = gradient_factors(depth, "sigmoid", 1.0, q0=q0)
    assert np.all(chi <= 1 / 16 + 1e-12)
    np.testing.assert_allclose(second_moments(tr.pre_activations[:-1]),
                               propagate_second_moment(depth, "sigmoid", 1.0, q0=q0), rtol=0.15)
    g2 = second_moments(tr.grad_pre_activations[:-1])
    np.testing.assert_allclose(g2[:-1] / g2[1:], chi[:-1], rtol=0.15)
    d = spreads(tr.pre_activations[:-1])
    assert (d[-1] / d[3]) ** (1 / (depth - 4)) == pytest.approx(chi[-1], rel=0.05)


# --- the Edgeworth correction, exactly --------------------------------------------------------

def _exact_tanh2_sum_of_uniforms(n_in):
    """E[tanh(z)^2], z a sum of n_in iid uniforms with Var(z) = 1, from the Fourier transform of sech^2."""
    from scipy.integrate import quad
    a = math.sqrt(3 / n_in)

    def kernel(t):
        return (math.pi * t / math.sinh(math.pi * t / 2) if t > 0 else 2.0) * np.sinc(a * t / math.pi) ** n_in
    return 1 - quad(kernel, 0, 200, limit=500)[0] / math.pi


def test_fourier_formula_is_exact_for_one_uniform_and_for_many():
    a = math.sqrt(3)
    assert _exact_tanh2_sum_of_uniforms(1) == pytest.approx(1 - math.tanh(a) / a, abs=1e-9)
    # many uniforms: the Gaussian limit, approached as the Edgeworth correction says
    tanh2 = lambda z: np.tanh(z) ** 2  # noqa: E731
    gauss = gaussian_expectation(tanh2, 1.0)
    he4 = gaussian_expectation(lambda z: tanh2(z) * (z**4 - 6 * z**2 + 3), 1.0)
    shift = _exact_tanh2_sum_of_uniforms(400) - gauss
    assert shift == pytest.approx(-1.2 / 400 / 24 * he4, rel=0.02)


@pytest.mark.parametrize("n_in", [4, 16])
def test_edgeworth_accounts_for_most_of_the_exact_shift(n_in):
    tanh2 = lambda z: np.tanh(z) ** 2  # noqa: E731
    base = gaussian_expectation(tanh2, 1.0)
    he4 = gaussian_expectation(lambda z: tanh2(z) * (z**4 - 6 * z**2 + 3), 1.0)
    edgeworth = base + (UNIFORM_KURTOSIS - 3) / n_in / 24 * he4
    exact = _exact_tanh2_sum_of_uniforms(n_in)
    share = (edgeworth - base) / (exact - base)
    assert 0.9 < share < 1.0
    assert abs(1 - share) < 2.0 / n_in            # the neglected terms are O(1/n^2) against O(1/n)


def test_uniform_minus_normal_follows_c_over_n():
    from scipy.special import ndtri
    tanh2 = lambda z: np.tanh(z) ** 2  # noqa: E731
    G = second_moment_after("tanh", 1.0)
    H = gaussian_expectation(lambda z: tanh2(z) * (z**4 - 6 * z**2 + 3), 1.0)
    c = (3 * UNIFORM_KURTOSIS - 9) / 24 * H / G
    for n_in in (16, 32):
        draws = 100_000
        g = np.random.default_rng(n_in)
        z_u, z_n = np.zeros(draws), np.zeros(draws)
        for _ in range(n_in):
            p, x = g.uniform(size=draws), g.normal(size=draws)
            z_u += math.sqrt(3 / n_in) * (2 * p - 1) * x
            z_n += math.sqrt(1 / n_in) * ndtri(p) * x
        d = tanh2(z_u) - tanh2(z_n)
        rel, se = d.mean() / tanh2(z_n).mean(), d.std() / math.sqrt(draws) / tanh2(z_n).mean()
        assert abs(rel - c / n_in) < 3 * se
