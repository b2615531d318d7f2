"""Checks of the formulas in chapter 9, "What the frameworks actually do".

Each test compares a formula of the chapter with a simulation (or an exact
computation) using winit_edu only; tests/test_frameworks.py is what ties the
winit_edu calls to the frameworks themselves.

Tolerances. A sample second moment of N zero-mean draws has standard error
sd(w**2) / sqrt(N), which we estimate from the draws and allow N_SE = 6 of
(a correct formula fails with probability below 1e-8; a factor error, a
third or a fan off by the channel count, is hundreds of standard errors off).
"""
import math
from fractions import Fraction

import numpy as np
import pytest

import winit_edu as wi
from winit_edu.diagnostics import layer_rms

N_SE = 6.0


def close_moment(w, expected):
    w2 = np.asarray(w, dtype=float).ravel() ** 2
    se = w2.std(ddof=1) / math.sqrt(w2.size)
    assert abs(w2.mean() - expected) <= N_SE * se, (w2.mean(), expected, se)


def torch_default(shape, rng, layout="out_in"):
    return wi.he_uniform(shape, rng=rng, a=math.sqrt(5), nonlinearity="leaky_relu", layout=layout)


def test_gain_of_a_sqrt5_is_a_third():
    gain2 = wi.calculate_gain("leaky_relu", param=math.sqrt(5)) ** 2
    assert Fraction(gain2).limit_denominator(100) == Fraction(1, 3)
    assert gain2 == pytest.approx(1 / 3, rel=1e-12)


@pytest.mark.parametrize("shape", [(160, 250), (48, 16, 3, 3)])
def test_torch_default_is_u_of_one_over_sqrt_fan_in(shape):
    """kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)): variance 1/(3 fan_in), LeCun/3, He/6."""
    fan_in = wi.compute_fans(shape, layout="out_in")[0]
    w = torch_default(shape, rng=0)
    bound = 1 / math.sqrt(fan_in)
    assert np.abs(w).max() <= bound and np.abs(w).max() >= 0.99 * bound
    close_moment(w, 1 / (3 * fan_in))


def test_truncated_std_factor_formula_and_simulation():
    c = 2.0
    pdf = math.exp(-c * c / 2) / math.sqrt(2 * math.pi)
    factor = math.sqrt(1 - 2 * c * pdf / math.erf(c / math.sqrt(2)))
    assert factor == pytest.approx(0.8796256610342398, rel=1e-12)
    assert wi.truncated_std_factor(2.0) == pytest.approx(factor, rel=1e-14)
    x = wi.truncated_normal(400_000, rng=1, std=1.0, cutoff=c)
    assert np.abs(x).max() <= c
    close_moment(x, factor**2)


@pytest.mark.parametrize("std", [1.0, 0.02])
def test_torch_trunc_normal_absolute_bounds(std):
    """trunc_normal_(std, a=-2, b=2) cuts at 2/std standard deviations and does not correct."""
    w = wi.truncated_normal((400, 500), rng=2, std=std, cutoff=min(2 / std, 40.0))
    expected = (std * wi.truncated_std_factor(min(2 / std, 40.0))) ** 2
    close_moment(w, expected)
    if std == 1.0:
        assert expected == pytest.approx(0.7737, abs=1e-4)
    else:
        assert expected == pytest.approx(std**2, rel=1e-12)       # nothing is cut


def test_keras_family_is_variance_scaling():
    s = (256, 128)
    pairs = [
        (wi.lecun_normal(s, rng=0, truncated=True), dict(scale=1.0, mode="fan_in", distribution="truncated_normal")),
        (wi.lecun_uniform(s, rng=0), dict(scale=1.0, mode="fan_in", distribution="uniform")),
        (wi.glorot_normal(s, rng=0, truncated=True), dict(scale=1.0, mode="fan_avg", distribution="truncated_normal")),
        (wi.glorot_uniform(s, rng=0), dict(scale=1.0, mode="fan_avg", distribution="uniform")),
        (wi.he_normal(s, rng=0, truncated=True), dict(scale=2.0, mode="fan_in", distribution="truncated_normal")),
        (wi.he_uniform(s, rng=0), dict(scale=2.0, mode="fan_in", distribution="uniform")),
    ]
    for w, options in pairs:
        np.testing.assert_allclose(w, wi.variance_scaling(s, rng=0, **options), rtol=1e-12, atol=0)
        close_moment(w, options["scale"] / wi.fan_for_mode(s, options["mode"]))
    assert np.mean(wi.orthogonal(s, rng=0) ** 2) == pytest.approx(1 / 256, rel=1e-12)
    assert np.mean(wi.identity(s) ** 2) == pytest.approx(1 / 256, rel=1e-12)


def test_depthwise_fans_disagree():
    k, c = 3, 32
    assert wi.compute_fans((c, 1, k, k), layout="out_in")[0] == k * k              # PyTorch groups=C
    assert wi.compute_fans((k, k, 1, c), layout="in_out")[0] == k * k              # Flax feature_group_count=C
    assert wi.compute_fans((k, k, c, 1), layout="in_out") == (k * k * c, k * k)    # Keras DepthwiseConv2D
    kernel = wi.he_normal((k, k, c, 1), rng=3, truncated=True).reshape(k * k, c)
    x = np.random.default_rng(4).normal(size=(20_000, k * k, c))
    z = np.einsum("npc,pc->nc", x, kernel)
    assert np.mean(z**2) == pytest.approx(2 * k * k / (k * k * c), rel=0.1)       # 1/16 instead of 2


def test_resnet_fan_out():
    shape = (128, 64, 3, 3)
    fan_in, fan_out = wi.compute_fans(shape, layout="out_in")
    assert (fan_in, fan_out) == (576, 1152)
    close_moment(wi.he_normal(shape, rng=5, mode="fan_out", nonlinearity="relu", layout="out_in"), 2 / fan_out)


@pytest.mark.parametrize("activation, sigma_w2", [("relu", 1 / 3), ("tanh", 1 / 3), ("tanh", 1.0)])
def test_deep_network_factor_matches_the_recursion(activation, sigma_w2):
    """The forward factor per layer of a width-256 network with uniform weights, against the recursion."""
    depth, width = 10, 256
    x = np.random.default_rng(6).normal(size=(64, width))
    init = wi.get_initializer("variance_scaling", scale=sigma_w2, distribution="uniform")
    net = wi.MLP([width] * (depth + 1), activation=activation, weight_init=init, seeds=range(3))
    q = layer_rms(net.trace(x).pre_activations, per_member=True) ** 2
    pred = wi.theory.propagate_second_moment(depth, activation, sigma_w2, q0=float(np.mean(x**2)))
    measured = (q[:, -1] / q[:, 0]) ** (1 / (depth - 1))
    predicted = (pred[-1] / pred[0]) ** (1 / (depth - 1))
    # 6%: the geometric mean of the per-layer factors drifts below the mean-field factor at finite
    # width (a few percent per layer at width 256, see the chapter), far from a wrong variance (x2, x3)
    assert measured.mean() == pytest.approx(predicted, rel=0.06)
    if activation == "relu":
        assert predicted == pytest.approx(sigma_w2 / 2, rel=1e-9)   # a sixth per layer for PyTorch's default


def test_pytorch_bias_fixed_point():
    """q = q/6 + sigma_b^2 settles at 6/5 sigma_b^2 (ReLU, PyTorch default weights and biases)."""
    sb2 = 1 / (3 * 256)
    pred = wi.theory.propagate_second_moment(20, "relu", 1 / 3, q0=1.0, sigma_b2=sb2)
    assert pred[-1] == pytest.approx(1.2 * sb2, rel=1e-6)


def test_log_of_the_relu_layer_factor_has_variance_five_over_width():
    """Chapter 9's finite-width remark: with Gaussian (He) weights and ReLU, log(q_{l+1} / q_l) has a
    variance of about 5/n (a ReLU of a Gaussian has E[f^4] / E[f^2]^2 = 6, and 6 - 1 = 5)."""
    width, depth, seeds = 256, 12, range(12)
    net = wi.MLP([width] * (depth + 1), activation="relu", weight_init="he_normal", seeds=seeds)
    X = np.random.default_rng(1).normal(size=(128, width))
    q = np.array([[np.mean(z[s] ** 2) for z in net.trace(X).pre_activations] for s in range(len(seeds))])
    steps = np.diff(np.log(q), axis=1).ravel()
    assert abs(steps.var(ddof=1) / (5 / width) - 1) < 4 * np.sqrt(2 / (steps.size - 1))


def test_depthwise_torch_fan_out():
    """PyTorch's fan-out of a depthwise weight (C, 1, k, k) is C*k*k, C times the true k*k; kaiming_normal_
    (mode="fan_out") there multiplies the second moment by 2/C (1/16 at C = 32) instead of He's 2.
    Simulated with 16 kernels (4,608 weights: their mean square scatters by sqrt(2/4608) = 2%, so 10% is
    5 standard deviations)."""
    k, c = 3, 32
    assert wi.compute_fans((c, 1, k, k), layout="out_in") == (k * k, k * k * c)
    x = np.random.default_rng(7).normal(size=(20_000, k * k, c))
    gains = []
    for seed in range(16):
        kernel = wi.he_normal((c, 1, k, k), rng=seed, mode="fan_out", layout="out_in").reshape(c, k * k)
        z = np.einsum("npc,cp->nc", x, kernel)
        gains.append(np.mean(z**2) / np.mean(x**2))
    assert np.mean(gains) == pytest.approx(2 / c, rel=0.1)


def test_resnet_bottleneck_fan_out_factors():
    """A bottleneck block inside a stage (1x1 256->64, 3x3 64->64, 1x1 64->256) under mode="fan_out":
    forward factors fan_in Var(w) = 8, 2, 1/2, whose product is He's 2^3."""
    shapes = [(64, 256, 1, 1), (64, 64, 3, 3), (256, 64, 1, 1)]
    factors = []
    for i, shape in enumerate(shapes):
        fan_in, fan_out = wi.compute_fans(shape, layout="out_in")
        close_moment(wi.he_normal(shape, rng=10 + i, mode="fan_out", nonlinearity="relu", layout="out_in"), 2 / fan_out)
        factors.append(Fraction(2 * fan_in, fan_out))
    assert factors == [8, 2, Fraction(1, 2)] and math.prod(factors) == 8


def test_tanh_lecun_keeps_a_factor_0_83_per_layer():
    """Chapter 9: LeCun's rule in a tanh network (width 256, 20 layers) slows the loss of the second moment to
    about 0.83 per layer, so that about 3% of the first layer's second moment reaches the last one; the
    recursion and a simulation (8 seeds) agree. The simulated share is a product of 19 random layer factors
    (each with a relative scatter of a few percent at width 256): 15% covers its spread over 8 seeds."""
    depth, width = 20, 256
    x = np.random.default_rng(1).normal(size=(128, width))
    pred = wi.theory.propagate_second_moment(depth, "tanh", 1.0, q0=float(np.mean(x**2)))
    share = pred[-1] / pred[0]
    assert 0.80 < share ** (1 / (depth - 1)) < 0.85 and 0.025 < share < 0.035
    net = wi.MLP([width] * (depth + 1), activation="tanh", weight_init="lecun_normal", seeds=range(8))
    q = layer_rms(net.trace(x).pre_activations, per_member=True) ** 2
    assert np.mean(q[:, -1] / q[:, 0]) == pytest.approx(share, rel=0.15)


def test_pytorch_biases_drown_the_input_and_gradients_vanish():
    """Chapter 9, Experiment 2's network (10 ReLU layers of 64, PyTorch's default) at initialization: with
    PyTorch's biases the last hidden layer barely varies across images (variance across images / mean square
    below 1e-4; about 0.2 with zero biases), and the gradient's mean square at the first hidden layer is about
    (1/6)^9 of the last one's (a factor of 3 either way: each of the 9 layer factors scatters at width 64)."""
    data = wi.load_dataset("digits", rng=0)
    sizes = [64] + [64] * 10 + [10]
    ratios = {}
    for bias in ("pytorch_default", "zeros"):
        net = wi.MLP(sizes, activation="relu", weight_init="pytorch_default", bias_init=bias, seeds=range(8))
        tr = net.trace(data.X_train[:256], labels=data.y_train[:256])
        h = tr.activations[-1]
        ratios[bias] = h.var(axis=1).mean() / np.mean(h**2)
        g = layer_rms(tr.grad_pre_activations[:-1], per_member=True) ** 2
        geo = np.exp(np.mean(np.log(g[:, 0] / g[:, -1])))
        assert 1 / 3 < geo / (1 / 6) ** 9 < 3, (bias, geo)
    assert ratios["pytorch_default"] < 1e-4 and ratios["zeros"] > 0.05
