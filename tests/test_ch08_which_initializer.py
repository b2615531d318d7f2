"""Checks behind chapter 8 (which initializer for which activation), fast versions of its cells.

The chapter's formulas, each against a simulation or an independent computation:

* the two conditions of its Eq. (eq-ch8-conditions), ``sigma_w^2 = 1 / E[f(u)^2]`` (forward) and
  ``1 / E[f'(u)^2]`` (backward), ``u ~ N(0, 1)``: known answers where there is one (identity, ReLU,
  leaky ReLU, whose *gain* is the square root), the order the text states for tanh and sigmoid, the
  package's gain for GELU and SiLU, and both per-layer factors in a wide network;
* the tanh fixed point: ``q* = 0`` and ``chi* = sigma_w^2`` up to ``sigma_w^2 = 1``, ``chi* > 1`` above
  (the values the text quotes), a deep wide network settling at ``q*`` with gradients growing by
  ``chi*`` per layer, and the slow decay ``q_l ~ 1/(2l)`` at ``sigma_w^2 = 1``;
* GELU and SiLU keep a quarter of a small signal's second moment and half of a large one's;
* Glorot's loss ``4nm/(n+m)^2`` per bottleneck (the chapter's network and the autoencoder exercise);
* convolution fans ``k^2 c_in`` and ``k^2 c_out``, forward and through the transposed convolution,
  and PyTorch's default convolution variance ``1 / (3 fan_in)``.
"""
import math

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import threadpool_limits

import winit_edu as wi
from winit_edu.diagnostics import layer_rms
from winit_edu.theory import propagate_second_moment, second_moment_after, slope_after

ACTIVATIONS = ["linear", "tanh", "sigmoid", "relu", "leaky_relu", "selu", "gelu", "silu"]


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """Small matrices: one BLAS thread is faster (as in the notebook), and it leaves the other cores alone."""
    with threadpool_limits(1):
        yield


def conditions(name):
    return 1 / second_moment_after(name, 1.0), 1 / slope_after(name, 1.0)


def vs(scale, mode="fan_in"):
    return wi.get_initializer("variance_scaling", scale=scale, mode=mode)


@pytest.mark.parametrize("name, expected", [("linear", 1.0), ("relu", 2.0), ("leaky_relu", 2 / (1 + 0.01**2))])
def test_forward_and_backward_conditions_agree_with_the_gain(name, expected):
    forward, backward = conditions(name)
    assert forward == pytest.approx(expected, rel=1e-3)
    assert backward == pytest.approx(expected, rel=1e-3)
    assert wi.calculate_gain(name) ** 2 == pytest.approx(expected, rel=1e-3)


def test_leaky_relu_gain_is_the_square_root_of_the_variance_factor():
    a = 0.2
    act = wi.get_activation("leaky_relu", slope=a)
    assert 1 / second_moment_after(act, 1.0) == pytest.approx(2 / (1 + a**2), rel=1e-4)
    assert 1 / slope_after(act, 1.0) == pytest.approx(2 / (1 + a**2), rel=1e-4)
    assert wi.calculate_gain("leaky_relu", a) == pytest.approx(math.sqrt(2 / (1 + a**2)), rel=1e-12)


def test_tanh_forward_condition_asks_for_more_than_the_backward_one():
    forward, backward = conditions("tanh")
    assert 1 < backward < forward < wi.calculate_gain("tanh") ** 2


def test_sigmoid_backward_condition_is_above_16():
    _, backward = conditions("sigmoid")
    assert backward > 16  # sigmoid' <= 1/4 everywhere


def test_selu_forward_condition_is_one_and_backward_below():
    forward, backward = conditions("selu")
    assert forward == pytest.approx(1.0, abs=0.01)
    assert 0.9 < backward < 1


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_package_gain_of_gelu_and_silu_is_the_forward_condition(name):
    forward, backward = conditions(name)
    assert wi.calculate_gain(name) ** 2 == pytest.approx(forward, rel=1e-6)
    assert 2 < backward < forward < 3  # near He's 2, and the two conditions differ


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_both_factors_match_a_wide_network(name):
    rng = np.random.default_rng(0)
    X, labels = rng.standard_normal((400, 400)), rng.integers(0, 10, size=400)
    trace = wi.MLP([400, 400, 400, 10], activation=name, weight_init="lecun_normal", seeds=[0, 1]).trace(X, labels=labels)
    q1, q2 = layer_rms(trace.pre_activations[:2]) ** 2
    g1, g2 = layer_rms(trace.grad_pre_activations[:2]) ** 2
    assert abs(q2 / second_moment_after(name, q1) - 1) < 0.03
    assert abs(g1 / g2 / slope_after(name, q1) - 1) < 0.05


def chi_star(s2, depth=40):
    if s2 <= 1:
        return 0.0, s2 * slope_after("tanh", 0.0)
    q = propagate_second_moment(depth, "tanh", s2)
    return q[-1], s2 * slope_after("tanh", q[-1])


def test_tanh_fixed_point_phases():
    for s2 in (0.5, 0.75):
        assert chi_star(s2) == (0.0, pytest.approx(s2))
    assert chi_star(1.0)[1] == pytest.approx(1.0)
    for s2 in (1.25, 1.5, 2.0, 25 / 9, 4.0):
        q_star, chi = chi_star(s2)
        assert q_star > 0 and chi > 1
        assert s2 * second_moment_after("tanh", q_star) == pytest.approx(q_star, rel=1e-3)  # a fixed point
    # the values the chapter quotes (spot-checked independently by the review): He and PyTorch's 5/3
    assert chi_star(2.0) == (pytest.approx(0.618, abs=1e-3), pytest.approx(1.106, abs=1e-3))
    assert chi_star(25 / 9) == (pytest.approx(1.178, abs=1e-3), pytest.approx(1.210, abs=1e-3))


def test_a_deep_tanh_network_settles_at_the_fixed_point_and_its_gradients_grow_by_chi_star():
    s2, depth, width = 2.0, 24, 300
    X = np.random.default_rng(1).standard_normal((200, width))
    labels = np.random.default_rng(2).integers(0, 10, size=200)
    net = wi.MLP([width] * (depth + 1) + [10], activation="tanh", weight_init=vs(s2), seeds=[0, 1])
    trace = net.trace(X, labels=labels)
    q = layer_rms(trace.pre_activations[:-1]) ** 2
    g = layer_rms(trace.grad_pre_activations[:-1]) ** 2
    q_star, chi = chi_star(s2)
    assert np.all(np.abs(q[-8:] / q_star - 1) < 0.05)
    per_layer = (g[8] / g[-2]) ** (1 / (depth - 10))      # geometric mean over layers 9 .. depth-1
    assert per_layer == pytest.approx(chi, rel=0.03)


def test_deep_tanh_ratios_follow_the_recursions():
    depth, width = 20, 100
    X = np.random.default_rng(3).standard_normal((128, width))
    labels = np.random.default_rng(4).integers(0, 10, size=128)
    for s2 in (1.0, 25 / 9):
        trace = wi.MLP([width] * (depth + 1) + [10], activation="tanh", weight_init=vs(s2), seeds=range(4)).trace(
            X, labels=labels)
        q = layer_rms(trace.pre_activations[:-1], per_member=True) ** 2
        g = layer_rms(trace.grad_pre_activations[:-1], per_member=True) ** 2
        q_theory = propagate_second_moment(depth, "tanh", s2)
        chi = wi.theory.gradient_factors(depth, "tanh", s2)
        assert abs(np.median(q[:, -1] / q[:, 0]) / (q_theory[-1] / q_theory[0]) - 1) < 0.1
        assert abs(np.log(np.median(g[:, 0] / g[:, -1]) / np.prod(chi[:-1]))) < np.log(1.6)


def test_tanh_signal_decays_like_one_over_2l_at_the_edge_of_chaos():
    q = propagate_second_moment(100, "tanh", 1.0)
    assert 2 * 50 * q[49] == pytest.approx(1.0, abs=0.06)
    assert 2 * 100 * q[99] == pytest.approx(1.0, abs=0.03)   # and closer the deeper


@pytest.mark.parametrize("name", ["gelu", "silu"])
def test_smooth_relus_keep_a_quarter_of_small_and_half_of_large_signals(name):
    assert second_moment_after(name, 1e-4) / 1e-4 == pytest.approx(0.25, abs=2e-3)
    assert second_moment_after(name, 1e4) / 1e4 == pytest.approx(0.5, abs=2e-3)
    rng = np.random.default_rng(5)
    W = rng.standard_normal((400, 400)) / 20.0
    f = wi.get_activation(name).f
    for q in (1e-2, 1e2):   # Monte Carlo through one wide layer
        z = math.sqrt(q) * rng.standard_normal((256, 400))
        assert np.mean((f(z) @ W) ** 2) / q == pytest.approx(second_moment_after(name, q) / q, rel=0.03)


def test_glorot_loses_at_each_bottleneck_in_both_directions():
    sizes = [64, 64, 16, 64, 16, 64, 16, 64, 10]
    X = np.random.default_rng(6).standard_normal((256, 64))
    labels = np.random.default_rng(7).integers(0, 10, size=256)
    predicted = (4 * 64 * 16 / 80**2) ** 3
    for mode, fwd_expected in (("fan_avg", predicted), ("fan_in", 1.0)):
        trace = wi.MLP(sizes, activation="linear", weight_init=vs(1.0, mode), seeds=range(40)).trace(X, labels=labels)
        q = layer_rms(trace.pre_activations[:-1], per_member=True) ** 2
        assert np.mean(q[:, -1] / q[:, 0]) == pytest.approx(fwd_expected, rel=0.1)


def test_autoencoder_fan_average_factor():
    n, m = 784, 32
    X = np.random.default_rng(8).standard_normal((64, n))
    net = wi.MLP([n, m, n], activation="linear", weight_init="glorot_normal", seeds=range(20))
    out = net.forward(X)
    assert np.mean(out**2) == pytest.approx(4 * n * m / (n + m) ** 2, rel=0.05)


def conv2d(x, w):
    windows = sliding_window_view(x, w.shape[:2], axis=(1, 2))
    return np.einsum("bhwcij,ijco->bhwo", windows, w)


def test_convolution_fans_forward_and_backward():
    k, c_in, c_out = 3, 16, 32
    fan_in, fan_out = wi.compute_fans((k, k, c_in, c_out))
    assert (fan_in, fan_out) == wi.compute_fans((c_out, c_in, k, k), layout="out_in") == (k * k * c_in, k * k * c_out)
    rng = np.random.default_rng(1)
    forward, backward = [], []
    for seed in range(20):
        w = wi.lecun_normal((k, k, c_in, c_out), rng=seed)
        forward.append(np.mean(conv2d(rng.standard_normal((4, 12, 12, c_in)), w) ** 2))
        delta = np.pad(rng.standard_normal((4, 10, 10, c_out)), ((0, 0), (k - 1, k - 1), (k - 1, k - 1), (0, 0)))
        grad_x = conv2d(delta, w[::-1, ::-1].transpose(0, 1, 3, 2))
        backward.append(np.mean(grad_x[:, k - 1:-(k - 1), k - 1:-(k - 1)] ** 2))
    assert np.mean(forward) == pytest.approx(1.0, rel=0.03)
    assert np.mean(backward) == pytest.approx(fan_out / fan_in, rel=0.03)


def test_transposed_convolution_is_the_gradient():
    """The chapter's transposed convolution is the exact gradient of its convolution (finite differences)."""
    rng = np.random.default_rng(9)
    x, w = rng.standard_normal((1, 5, 5, 2)), rng.standard_normal((3, 3, 2, 3))
    delta = rng.standard_normal((1, 3, 3, 3))
    grad_x = conv2d(np.pad(delta, ((0, 0), (2, 2), (2, 2), (0, 0))), w[::-1, ::-1].transpose(0, 1, 3, 2))
    eps = 1e-6
    for idx in [(0, 0, 0, 0), (0, 2, 3, 1), (0, 4, 4, 0)]:
        xp, xm = x.copy(), x.copy()
        xp[idx] += eps
        xm[idx] -= eps
        numeric = (np.sum(conv2d(xp, w) * delta) - np.sum(conv2d(xm, w) * delta)) / (2 * eps)
        assert grad_x[idx] == pytest.approx(numeric, rel=1e-6)


def test_pytorch_default_convolution_variance_is_a_sixth_of_he():
    fan_in, _ = wi.compute_fans((3, 3, 64, 128))
    bound = 1 / math.sqrt(fan_in)
    default = wi.theory.uniform_variance(-bound, bound)
    assert default == pytest.approx(1 / (3 * fan_in), rel=1e-12)
    assert (2 / fan_in) / default == pytest.approx(6.0, rel=1e-12)
    w = wi.get_initializer("he_uniform", a=math.sqrt(5), nonlinearity="leaky_relu")((3, 3, 64, 128), rng=0)
    assert np.var(w) == pytest.approx(default, rel=0.02)
