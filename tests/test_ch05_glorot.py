"""Chapter 5 (Glorot/Xavier): the formulas the chapter derives, checked by simulation.

* the uniform limit sqrt(6 / (fan_in + fan_out)) and the variance 2 / (fan_in + fan_out);
* the "standard" initialization U[-1/sqrt(n_in), 1/sqrt(n_in)] has variance 1 / (3 n_in);
* forward variance = product of n_in Var(w), backward variance = product of n_out Var(w),
  in a linear network with changing widths, for the fan_in, fan_out and fan_avg rules;
* the factors at a 512 -> 16 -> 512 bottleneck;
* with tanh, the per-layer backward factor is n_out Var(w) E[tanh'(z)^2];
* wi.theory (propagate_second_moment, gradient_factors) predicts the activations and the backward
  factors of the deep tanh network, with the first layer's own sigma_w^2;
* the normalized and the standard initialization draw the same numbers for one seed (sqrt(3) apart
  in a square layer), which pairs the chapter's training comparison;
* the uniform limit used as a standard deviation multiplies the variance by 3 per layer (3**5 = 243);
* the truncated Glorot normal keeps Glorot's variance within its bound 2 sigma / 0.8796;
* the singular values of a square random layer fill a quarter circle: with n Var(w) = c their mean
  square is c, their mean 8/(3 pi) sqrt(c), their geometric mean e^(-1/2) sqrt(c);
* the layer-to-layer Jacobian J_l = W_l diag(tanh'(z_l)) has mean squared singular value
  n Var(w) E[tanh'(z_l)^2] and mean singular value 8/(3 pi) times its root, and products of the J_l are
  the input-to-layer Jacobians of wi.diagnostics.jacobians.

Tolerances are relative errors of means over several seeds (the chapter states the same ones).
"""
import math

import numpy as np
import pytest

import winit_edu as wi
from stats_helpers import KURTOSIS, assert_fills_interval, assert_mean_and_variance

TOL = 0.05
MODES = ("fan_in", "fan_out", "fan_avg")


def _uniform(mode, scale=1.0):
    return wi.get_initializer("variance_scaling", scale=scale, mode=mode, distribution="uniform")


def _weight_variances(sizes, mode):
    n_in, n_out = np.array(sizes[:-1], float), np.array(sizes[1:], float)
    return 1.0 / {"fan_in": n_in, "fan_out": n_out, "fan_avg": (n_in + n_out) / 2}[mode]


def _predicted_profiles(sizes, v):
    n_in, n_out = np.array(sizes[:-1], float), np.array(sizes[1:], float)
    forward = np.cumprod(n_in * v)
    backward = np.append(np.cumprod((n_out * v)[:0:-1])[::-1], 1.0)
    return forward, backward


def _trace(net, batch, seed=1):
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((batch, net.sizes[0]))
    G = gen.standard_normal((net.n_members, batch, net.sizes[-1]))
    return X, G, net.trace(X, grad_output=G)


@pytest.mark.parametrize("fan_in, fan_out", [(300, 1000), (1000, 300), (784, 256)])
def test_glorot_uniform_limit_and_variance(fan_in, fan_out):
    w = wi.glorot_uniform((fan_in, fan_out), rng=0)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    assert_fills_interval(w, -limit, limit)
    assert_mean_and_variance(w, 0.0, 2.0 / (fan_in + fan_out), KURTOSIS["uniform"])
    assert math.isclose(wi.theory.uniform_limit(2.0 / (fan_in + fan_out)), limit)


def test_glorot_is_symmetric_in_the_fans():
    a = wi.glorot_uniform((784, 256), rng=0, layout="in_out")
    b = wi.glorot_uniform((256, 784), rng=0, layout="out_in")
    assert np.array_equal(a.ravel(), b.ravel())   # same draws, same limit: only the fans matter


def test_standard_initialization_has_a_third_of_lecuns_variance():
    fan_in, fan_out = 400, 300
    w = _uniform("fan_in", scale=1 / 3)((fan_in, fan_out), rng=0)
    assert_fills_interval(w, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
    assert_mean_and_variance(w, 0.0, 1 / (3 * fan_in), KURTOSIS["uniform"])
    # the same distribution as PyTorch's nn.Linear default, kaiming_uniform_(a=sqrt(5))
    w_torch = wi.he_uniform((fan_out, fan_in), rng=0, layout="out_in", nonlinearity="leaky_relu", param=math.sqrt(5))
    assert math.isclose(abs(w_torch).max(), 1 / math.sqrt(fan_in), rel_tol=0.01)


@pytest.mark.parametrize("mode", MODES)
def test_forward_and_backward_variance_products(mode):
    sizes = [64, 256, 32, 128, 16, 128, 64]
    net = wi.MLP(sizes, activation="linear", weight_init=_uniform(mode), seeds=range(20))
    X, G, tr = _trace(net, batch=100)
    pred_fwd, pred_bwd = _predicted_profiles(sizes, _weight_variances(sizes, mode))
    fwd = np.array([np.mean(z**2) for z in tr.pre_activations]) / np.mean(X**2)
    bwd = np.array([np.mean(g**2) for g in tr.grad_pre_activations]) / np.mean(G**2)
    np.testing.assert_allclose(fwd, pred_fwd, rtol=TOL)
    np.testing.assert_allclose(bwd, pred_bwd, rtol=TOL)


def test_fan_in_backward_product_telescopes():
    sizes = [64, 256, 32, 128, 16, 128, 64]
    _, pred_bwd = _predicted_profiles(sizes, _weight_variances(sizes, "fan_in"))
    np.testing.assert_allclose(pred_bwd, sizes[-1] / np.array(sizes[1:], float))


@pytest.mark.parametrize("mode", MODES)
def test_bottleneck_factors(mode):
    sizes = [512, 512, 16, 512, 512]
    net = wi.MLP(sizes, activation="linear", weight_init=_uniform(mode), seeds=range(10))
    X, G, tr = _trace(net, batch=100, seed=2)
    v = _weight_variances(sizes, mode)
    ms = lambda a: float(np.mean(a**2))
    for l in (1, 2):   # into and out of the 16 units
        fwd = ms(tr.pre_activations[l]) / ms(tr.pre_activations[l - 1])
        bwd = ms(tr.grad_pre_activations[l - 1]) / ms(tr.grad_pre_activations[l])
        assert fwd == pytest.approx(sizes[l] * v[l], rel=TOL)
        assert bwd == pytest.approx(sizes[l + 1] * v[l], rel=TOL)
    block = np.prod(np.array(sizes[:-1]) * v)
    if mode == "fan_avg":
        assert block == pytest.approx(4 * 512 * 16 / 528**2)
    else:
        assert block == pytest.approx(1.0)
    assert ms(tr.pre_activations[-1]) / ms(X) == pytest.approx(block, rel=TOL)
    assert ms(tr.grad_pre_activations[0]) / ms(G) == pytest.approx(block, rel=TOL)


@pytest.mark.parametrize("init", ["standard", "glorot_uniform"])
def test_tanh_backward_factor_includes_the_squared_slope(init):
    gen = np.random.default_rng(0)
    X, y = gen.standard_normal((300, 64)), gen.integers(0, 10, size=300)
    sizes = [64] + [128] * 4 + [10]
    weight_init = _uniform("fan_in", scale=1 / 3) if init == "standard" else init
    net = wi.MLP(sizes, activation="tanh", weight_init=weight_init, seeds=range(6))
    tr = net.trace(X, labels=y)
    n_in, n_out = np.array(sizes[:-1], float), np.array(sizes[1:], float)
    v = 1 / (3 * n_in) if init == "standard" else 2 / (n_in + n_out)
    g2 = [np.mean(g**2) for g in tr.grad_pre_activations]
    for l in range(3):
        slope2 = np.mean((1 - tr.activations[l] ** 2) ** 2)
        assert g2[l] / g2[l + 1] == pytest.approx(n_out[l + 1] * v[l + 1] * slope2, rel=TOL)


def test_tanh_gradient_profile_is_flattest_near_c_2():
    # chapter 5's scrubber in numbers: std(layer-1 gradient) / std(layer-5 gradient) in a 5-layer tanh net
    data = wi.load_dataset("digits", rng=0)
    X, y = data.X_train[:300], data.y_train[:300]
    ratio = {}
    for c in (1.0, 2.0, 4.0):
        net = wi.MLP([64] + [256] * 5 + [10], activation="tanh", weight_init=_uniform("fan_in", scale=c),
                     seeds=range(3))
        g = [d.std(axis=(1, 2)) for d in net.trace(X, labels=y).grad_pre_activations[:-1]]
        ratio[c] = float(np.median(g[0] / g[-1]))
    assert ratio[1.0] < 1 < ratio[4.0]
    assert abs(math.log(ratio[2.0])) < min(abs(math.log(ratio[1.0])), abs(math.log(ratio[4.0])))


def _square_deep_inputs(n=300, n0=64, seed=0):
    """Gaussian inputs rescaled so that every one has mean square exactly 1 (q0 = 1 for each input)."""
    gen = np.random.default_rng(seed)
    X = gen.standard_normal((n, n0))
    X *= math.sqrt(n0) / np.linalg.norm(X, axis=1, keepdims=True)
    return X, gen.integers(0, 10, size=n)


@pytest.mark.parametrize("init", ["standard", "glorot_uniform"])
def test_theory_with_the_tanh_predicts_the_deep_profiles(init):
    # the chapter's use of wi.theory: the first layer has its own sigma_w^2, the square hidden layers share one;
    # starting the recursion at q0 = q_1 / sigma_w^2 makes its first layer come out at q_1
    X, y = _square_deep_inputs()
    sizes = [64] + [128] * 5 + [10]
    weight_init = _uniform("fan_in", scale=1 / 3) if init == "standard" else init
    tr = wi.MLP(sizes, activation="tanh", weight_init=weight_init, seeds=range(6)).trace(X, labels=y)
    n_in, n_out = np.array(sizes[:-1], float), np.array(sizes[1:], float)
    v = 1 / (3 * n_in) if init == "standard" else 2 / (n_in + n_out)
    s_first, s_hidden = n_in[0] * v[0], n_in[1] * v[1]
    q0 = s_first * 1.0 / s_hidden
    q = wi.theory.propagate_second_moment(5, "tanh", s_hidden, q0=q0)
    chi = wi.theory.gradient_factors(5, "tanh", s_hidden, q0=q0)
    pre = np.array([np.mean(z**2) for z in tr.pre_activations[:5]])
    act = np.array([np.mean(h**2) for h in tr.activations])
    g2 = np.array([np.mean(g**2) for g in tr.grad_pre_activations[:5]])
    np.testing.assert_allclose(pre, q, rtol=TOL)
    np.testing.assert_allclose(act, [wi.theory.second_moment_after("tanh", ql) for ql in q], rtol=TOL)
    np.testing.assert_allclose(g2[:-1] / g2[1:], chi[:-1], rtol=TOL)     # hidden layer l+1 -> l: chi_l


def test_normalized_weights_are_sqrt3_times_the_standard_ones_in_square_layers():
    # the pairing of the chapter's training comparison: same seed, same uniform draws, another scale
    sizes = [64, 64, 64, 10]
    a = wi.MLP(sizes, weight_init=_uniform("fan_in", scale=1 / 3), seeds=[0, 5])
    b = wi.MLP(sizes, weight_init="glorot_uniform", seeds=[0, 5])
    np.testing.assert_allclose(b.weights[1], math.sqrt(3) * a.weights[1], rtol=1e-9)
    # the non-square layers are scaled copies too, by the ratio of the two limits
    n_in, n_out = 64, 10
    np.testing.assert_allclose(b.weights[2], math.sqrt(6 / (n_in + n_out)) * math.sqrt(n_in) * a.weights[2], rtol=1e-9)


def test_uniform_limit_used_as_a_standard_deviation_gives_3_to_the_depth():
    # ex-ch5-limit-as-std: N(0, 6/(n+n)) in five square linear layers multiplies the variance by 3**5 = 243
    net = wi.MLP([256] * 6, activation="linear", weight_init=wi.get_initializer("normal", std=math.sqrt(6 / 512)),
                 seeds=range(10))
    X = np.random.default_rng(1).standard_normal((200, 256))
    gain = np.mean(net.forward(X) ** 2, axis=(1, 2)) / np.mean(X**2)
    assert abs(gain.mean() - 243) < 4 * gain.std(ddof=1) / math.sqrt(len(gain))
    assert gain.mean() == pytest.approx(243, rel=TOL)


def test_truncated_glorot_normal_keeps_glorots_variance():
    fan_in, fan_out = 784, 256
    var = 2 / (fan_in + fan_out)
    w = wi.glorot_normal((fan_in, fan_out), rng=0, truncated=True)
    bound = 2 * math.sqrt(var) / wi.distributions.truncated_std_factor(2.0)
    assert abs(w).max() <= bound and abs(w).max() > 0.999 * bound
    assert w.var() == pytest.approx(var, rel=0.02)


QUARTER = 8 / (3 * math.pi)   # mean / root mean square of the quarter-circle law
TOL_JAC = 0.03                # the chapter's tolerance


@pytest.mark.parametrize("c", [1 / 3, 1.0])
def test_singular_values_of_a_square_layer_fill_a_quarter_circle(c):
    # Marchenko-Pastur with ratio 1 for s^2, i.e. the quarter circle sqrt(4 - s^2) / pi for s, scaled by sqrt(c)
    n = 256
    init = _uniform("fan_in", scale=c)
    s = np.linalg.svd(np.stack([init((n, n), rng=k) for k in range(4)]), compute_uv=False)
    assert np.mean(s**2) == pytest.approx(c, rel=0.02)
    assert s.mean() == pytest.approx(QUARTER * math.sqrt(c), rel=0.02)
    assert np.exp(np.mean(np.log(s))) == pytest.approx(math.exp(-0.5) * math.sqrt(c), rel=TOL_JAC)
    assert s.max() == pytest.approx(2 * math.sqrt(c), rel=0.05)          # the edge of the quarter circle


@pytest.mark.parametrize("init", ["standard", "glorot_uniform"])
def test_layer_jacobians_quarter_circle_and_the_package_jacobians(init):
    sizes = [64] + [256] * 3 + [10]
    weight_init = _uniform("fan_in", scale=1 / 3) if init == "standard" else init
    net = wi.MLP(sizes, activation="tanh", weight_init=weight_init, seeds=[0, 1])
    x = np.random.default_rng(3).standard_normal((2, 64))
    tr = net.trace(x)
    J = [net.weights[l][:, None] * (1 - tr.activations[l][:, :, None, :] ** 2) for l in range(3)]
    product = J[0]
    for k, J_in in wi.diagnostics.jacobians(net, x):                  # d h_k / d x = J_0 J_1 ... J_{k-1}
        product = product if k == 1 else product @ J[k - 1]
        np.testing.assert_allclose(product, J_in, rtol=1e-10, atol=1e-15)
    v = 1 / (3 * 256) if init == "standard" else 1 / 256
    for l in (1, 2):                                                  # the square layers
        s = np.linalg.svd(J[l], compute_uv=False)
        m1 = 256 * v * np.mean((1 - tr.activations[l] ** 2) ** 2)    # n v E[tanh'(z_l)^2]
        assert np.mean(s**2) == pytest.approx(m1, rel=TOL_JAC)
        assert s.mean() == pytest.approx(QUARTER * math.sqrt(m1), rel=TOL_JAC)
