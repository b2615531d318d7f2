"""Checks behind chapter 6 (He / Kaiming initialization), fast versions of the notebook's cells.

Every statistical comparison allows ``N_SE`` standard errors of the measured mean
(see ``stats_helpers.py``); all seeds are fixed, so the tests are reproducible.
"""
import math

import numpy as np
import pytest

import winit_edu as wi
from stats_helpers import N_SE


def assert_mean_close(samples, predicted, n_se=N_SE):
    samples = np.asarray(samples, dtype=float).ravel()
    measured = samples.mean()
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(measured - predicted) <= n_se * se, (
        f"measured {measured:.6g}, predicted {predicted:.6g}, tolerance {n_se * se:.3g}")
    return measured


def second_moments(arrays):
    """Mean square per ensemble member and layer: (members, layers)."""
    return wi.diagnostics.layer_rms(arrays, per_member=True) ** 2


def funnel_prediction(sizes, variances, q0=1.0):
    """Forward E[z_l^2] and backward E[delta_l^2]/E[delta_L^2] of a ReLU MLP whose n Var(w) changes from layer
    to layer, as chapter 6 computes them: running products of wi.theory's one-layer factors."""
    keep = wi.theory.second_moment_after("relu", 1.0)
    s_in = [a * v for a, v in zip(sizes[:-1], variances)]
    s_out = [b * v for b, v in zip(sizes[1:], variances)]
    q = q0 * s_in[0] * np.cumprod([1.0] + [s * keep for s in s_in[1:]])
    chi = [wi.theory.gradient_factors(1, "relu", s)[0] for s in s_out[1:]]
    r = np.append(np.cumprod(chi[::-1])[::-1], 1.0)
    return q, r


# --- a ReLU keeps half of the second moment of a symmetric input ---------------------------

@pytest.mark.parametrize("dist, m2", [
    ("normal", 1.0), ("uniform", 1 / 3), ("laplace", 2.0), ("sign", 1.0),
])
def test_relu_halves_the_second_moment_of_symmetric_inputs(dist, m2):
    rng = np.random.default_rng(0)
    n = 400_000
    y = {"normal": lambda: rng.normal(size=n), "uniform": lambda: rng.uniform(-1, 1, size=n),
         "laplace": lambda: rng.laplace(size=n), "sign": lambda: rng.choice([-1.0, 1.0], size=n)}[dist]()
    assert_mean_close(np.maximum(y, 0) ** 2 / m2, 0.5)


def test_relu_halving_fails_without_symmetry_and_variance_is_not_second_moment():
    rng = np.random.default_rng(1)
    y = rng.normal(size=400_000)
    # shifted input: the kept fraction is the quadrature value, far from 1/2
    pred = wi.theory.gaussian_expectation(lambda t: np.maximum(t + 0.5, 0) ** 2) / 1.25
    assert abs(pred - 0.5) > 0.3
    assert_mean_close(np.maximum(y + 0.5, 0) ** 2 / 1.25, pred)
    # the variance of relu(y) is (1/2 - 1/(2 pi)) E[y^2], not E[y^2] / 2
    assert abs(np.var(np.maximum(y, 0)) - (0.5 - 0.5 / np.pi)) < 0.003
    assert wi.theory.second_moment_after("relu", 3.0) == pytest.approx(1.5, rel=1e-10)


# --- He preserves the second moment over depth; Glorot halves it --------------------------

@pytest.fixture(scope="module")
def wide_traces():
    """30 ReLU layers of width 500, He and Glorot (same seeds), forward and backward."""
    width, depth, seeds = 500, 30, range(4)
    X = np.random.default_rng(1).normal(size=(32, width))
    G = np.random.default_rng(2).normal(size=(len(seeds), 32, width))
    out = {}
    for name in ("he", "glorot"):
        net = wi.MLP([width] * (depth + 1), activation="relu", weight_init=f"{name}_normal",
                     seeds=seeds, dtype="float32")
        tr = net.trace(X, grad_output=G)
        out[name] = (second_moments(tr.pre_activations), second_moments(tr.activations),
                     second_moments(tr.grad_pre_activations), float(np.mean(X**2)))
    return out


@pytest.mark.parametrize("name, sigma_w2", [("he", 2.0), ("glorot", 1.0)])
def test_forward_second_moment_matches_propagate_second_moment(wide_traces, name, sigma_w2):
    q, h, _, q0 = wide_traces[name]
    depth = q.shape[1]
    pred = wi.theory.propagate_second_moment(depth, "relu", sigma_w2, q0=q0)
    # the ReLU inside the network keeps half of the second moment of its input
    assert_mean_close(h / q[:, :-1], 0.5)
    # layer-to-layer factor: 1 for He, 1/2 for Glorot (unbiased by the symmetry of the weights)
    factor = np.mean(pred[1:] / pred[:-1])
    assert factor == pytest.approx(sigma_w2 / 2, rel=1e-9)
    assert_mean_close(q[:, 1:] / q[:, :-1], factor)
    # first layer exactly as predicted on average, last layer within the seed-to-seed spread
    assert_mean_close(q[:, 0], pred[0])
    assert_mean_close(q[:, -1], pred[-1])


def test_he_keeps_the_last_layer_within_tolerance_at_width_500(wide_traces):
    q, _, _, q0 = wide_traces["he"]
    ratio = q[:, -1].mean() / (2 * q0)
    assert 0.5 < ratio < 2.0, ratio                       # He: O(1) after 30 layers
    q_g = wide_traces["glorot"][0]
    assert q_g[:, -1].mean() / q_g[:, 0].mean() < 2.0 ** -25   # Glorot: about 2**-29


@pytest.mark.parametrize("name, sigma_w2", [("he", 2.0), ("glorot", 1.0)])
def test_backward_gradient_second_moment(wide_traces, name, sigma_w2):
    _, _, r, q0 = wide_traces[name]
    chi = wi.theory.gradient_factors(r.shape[1], "relu", sigma_w2, q0=q0)   # what the chapter plots and checks
    np.testing.assert_allclose(chi, sigma_w2 / 2, rtol=1e-6)
    assert_mean_close(r[:, :-1] / r[:, 1:], float(np.mean(chi)))


# --- fan_in vs fan_out with changing widths -------------------------------------------------

def test_fan_in_preserves_forward_and_fan_out_preserves_backward_in_a_funnel():
    sizes = [64, 512, 256, 128, 64, 32, 10]
    X = np.random.default_rng(3).normal(size=(128, sizes[0]))
    G = np.random.default_rng(4).normal(size=(16, 128, sizes[-1]))
    q0 = float(np.mean(X**2))
    for mode in ("fan_in", "fan_out"):
        variances = [2 / wi.fan_for_mode((a, b), mode) for a, b in zip(sizes[:-1], sizes[1:])]
        q_pred, r_pred = funnel_prediction(sizes, variances, q0=q0)
        net = wi.MLP(sizes, activation="relu", weight_init=wi.get_initializer("he_normal", mode=mode),
                     seeds=range(16))
        tr = net.trace(X, grad_output=G)
        q, r = second_moments(tr.pre_activations), second_moments(tr.grad_pre_activations)
        assert_mean_close(q[:, -1], q_pred[-1])
        assert_mean_close(r[:, 0] / r[:, -1], r_pred[0])
        # the layer-to-layer factors, unbiased at any width (the chapter's tighter check)
        assert_mean_close((q[:, 1:] / q[:, :-1]) / (q_pred[1:] / q_pred[:-1]), 1.0)
        assert_mean_close((r[:, :-1] / r[:, 1:]) / (r_pred[:-1] / r_pred[1:]), 1.0)
    # the telescoping products of the chapter
    v_in = [2 / a for a in sizes[:-1]]
    v_out = [2 / b for b in sizes[1:]]
    q_in, r_in = funnel_prediction(sizes, v_in)
    q_out, r_out = funnel_prediction(sizes, v_out)
    assert np.allclose(q_in, 2.0) and np.allclose(r_out, 1.0)
    assert r_in[0] == pytest.approx(sizes[-1] / sizes[1])
    assert q_out[-1] == pytest.approx(2.0 * sizes[0] / sizes[-1])


def test_pytorch_layout_and_default_mode():
    shape = (256, 64)  # torch nn.Linear(64, 256).weight: (out, in)
    w = wi.he_normal(shape, rng=0, layout="out_in")
    n = w.size
    assert abs(w.var() - 2 / 64) <= N_SE * (2 / 64) * math.sqrt(2 / n)
    w_wrong = wi.he_normal(shape, rng=0)  # read as (in, out): fan_in = 256
    assert abs(w_wrong.var() - 2 / 256) <= N_SE * (2 / 256) * math.sqrt(2 / n)
    # PyTorch's nn.Linear default, kaiming_uniform_(a=sqrt(5)): Var = 1 / (3 fan_in)
    w_default = wi.he_uniform((512, 512), rng=0, nonlinearity="leaky_relu", param=math.sqrt(5))
    assert abs(w_default.var() - 1 / (3 * 512)) <= N_SE * (1 / 1536) * math.sqrt(0.8 / w_default.size)


def test_glorot_normal_is_a_scaled_he_normal_with_the_same_seed():
    sizes = [64] + [64] * 30 + [10]
    nets = {k: wi.MLP(sizes, activation="relu", weight_init=f"{k}_normal", seeds=[0, 1]) for k in ("glorot", "he")}
    ratios = [math.sqrt((2 / (a + b)) / (2 / a)) for a, b in zip(sizes[:-1], sizes[1:])]
    for wg, wh, c in zip(nets["glorot"].weights, nets["he"].weights, ratios):
        assert np.allclose(wg, c * wh, rtol=1e-12)
    X = np.random.default_rng(7).normal(size=(64, 64))
    c = float(np.prod(ratios))
    assert c == pytest.approx(2.0**-15 * math.sqrt(64 / 74))
    assert np.allclose(nets["glorot"].forward(X), c * nets["he"].forward(X), rtol=1e-9, atol=1e-300)


# --- leaky ReLU -----------------------------------------------------------------------------

@pytest.mark.parametrize("a", [0.0, 0.01, 0.2, 0.5, 1.0, -1.0])
def test_leaky_relu_gain_and_kept_fraction(a):
    assert wi.calculate_gain("leaky_relu", a) ** 2 == pytest.approx(2 / (1 + a**2), rel=1e-12)
    y = np.random.default_rng(5).normal(size=400_000)
    act = wi.get_activation("leaky_relu", slope=a)
    assert_mean_close(act.f(y) ** 2, (1 + a**2) / 2)
    assert_mean_close(act.df(y, act.f(y)) ** 2, (1 + a**2) / 2)
    assert wi.theory.second_moment_after(act, 1.0) == pytest.approx((1 + a**2) / 2, rel=1e-3)


@pytest.mark.parametrize("a", [0.2, 0.5])
def test_leaky_he_network_preserves_second_moment(a):
    width, depth = 256, 20
    X = np.random.default_rng(6).normal(size=(32, width))
    act = wi.get_activation("leaky_relu", slope=a)
    init = wi.get_initializer("he_normal", nonlinearity="leaky_relu", param=a)
    net = wi.MLP([width] * (depth + 1), activation=act, weight_init=init, seeds=range(4), dtype="float32")
    q = second_moments(net.trace(X).pre_activations)
    pred = wi.theory.propagate_second_moment(depth, act, 2 / (1 + a**2), q0=float(np.mean(X**2)))
    assert np.allclose(pred[1:] / pred[:-1], 1.0, rtol=1e-3)
    assert_mean_close(q[:, 1:] / q[:, :-1], 1.0)
    # the ReLU gain in this network makes every layer grow by 1 + a**2
    wrong = wi.theory.propagate_second_moment(depth, act, 2.0)
    assert wrong[-1] / wrong[0] == pytest.approx((1 + a**2) ** (depth - 1), rel=1e-3)


def test_pitfall_factors():
    # PyTorch's nn.Linear default, Var(w) = 1/(3 fan_in), keeps 1/6 of the second moment per ReLU layer
    q = wi.theory.propagate_second_moment(2, "relu", 1 / 3)
    assert q[1] / q[0] == pytest.approx(1 / 6, rel=1e-6)
    # a normal cut at +-2 without rescaling keeps 1 - 2 a phi(a) / (2 Phi(a) - 1) of its variance, a = 2
    phi2, Phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi), 0.5 * (1 + math.erf(math.sqrt(2)))
    assert wi.truncated_std_factor(2.0) ** 2 == pytest.approx(1 - 4 * phi2 / (2 * Phi2 - 1), abs=1e-9)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
def test_mnist_funnel_exercise(mode):
    sizes = [784, 1024, 512, 256, 128, 10]
    v = [2 / wi.fan_for_mode((a, b), mode) for a, b in zip(sizes[:-1], sizes[1:])]
    q, r = funnel_prediction(sizes, v)
    assert q[-1] == pytest.approx(2 * 784 / 10 if mode == "fan_out" else 2)
    assert r[0] == pytest.approx(10 / 1024 if mode == "fan_in" else 1)


# --- convolutions ---------------------------------------------------------------------------

def test_conv_fans_in_both_layouts():
    assert wi.compute_fans((3, 3, 16, 32)) == (144, 288)
    assert wi.compute_fans((32, 16, 3, 3), layout="out_in") == (144, 288)


# --- SGD and Adam at 30 layers ----------------------------------------------------------------

def test_adam_step_does_not_see_the_scale_of_the_gradient():
    """The chapter's box: Adam's step is unchanged when every gradient of a parameter is multiplied by c, as
    long as sqrt(v) >> eps (here to 1e-6 relative); when sqrt(v) << eps it is about (lr / eps) m_hat (to 1%)."""
    from winit_edu.training import _Adam
    rng = np.random.default_rng(0)
    grads = [rng.choice([-1.0, 1.0], size=(5, 4)) * rng.uniform(0.5, 1.5, size=(5, 4)) for _ in range(20)]
    lr, betas = 1e-3, (0.9, 0.999)

    def steps(scale, eps):
        p = [np.zeros((5, 4))]
        opt, out = _Adam(p, [lr], betas, eps), []
        for g in grads:
            before = p[0].copy()
            opt.update([scale * g.copy()])
            out.append(p[0] - before)
        return np.array(out), opt

    base, _ = steps(1.0, 1e-8)
    np.testing.assert_allclose(steps(1e-3, 1e-8)[0], base, rtol=1e-4)       # gradients of about 1e-3 >> eps
    small, opt = steps(1e-9, 1e-4)                                            # sqrt(v) ~ 1e-9 << eps: SGD with lr / eps
    m_hat = opt.m[0] / (1 - betas[0] ** opt.t)
    np.testing.assert_allclose(small[-1], -lr * m_hat / 1e-4, rtol=1e-2)


def test_glorot_weight_gradients_halve_every_two_layers():
    """Chapter 6: the rms of a hidden weight-gradient entry of a Glorot ReLU network falls by 2**(-1/2) per
    layer of depth (fitted slope of log2 rms against depth within 0.1 of -1/2)."""
    digits = wi.load_dataset("digits", rng=0)
    X, y = digits.X_train[:64], digits.y_train[:64]
    depths, rms = [20, 30, 40], []
    for depth in depths:
        net = wi.MLP([64] + [64] * depth + [10], activation="relu", weight_init="glorot_normal", seeds=range(6),
                     dtype="float32")
        rms.append(np.median([np.sqrt(np.mean(g.astype(float) ** 2)) for g in net.trace(X, labels=y).grad_weights[:-1]]))
    slope = np.polyfit(depths, np.log2(rms), 1)[0]
    assert abs(slope + 0.5) < 0.1, slope


def test_deep_glorot_network_stalls_with_sgd_and_trains_with_adam():
    """The chapter's headline, small: 30 ReLU layers, Glorot normal, one seed, 126 steps. SGD (momentum 0.9,
    lr 0.02) stays at ln 10; Adam (lr 1e-3) falls clearly below it; Adam with eps = 1e-4 stays at ln 10."""
    digits = wi.load_dataset("digits", rng=0)
    sizes = [64] + [64] * 30 + [10]
    final = {}
    for name, options in [("sgd", dict(optimizer="sgd", lr=0.02, momentum=0.9)),
                          ("adam", dict(optimizer="adam", lr=1e-3)),
                          ("adam_eps", dict(optimizer="adam", lr=1e-3, eps=1e-4))]:
        net = wi.MLP(sizes, activation="relu", weight_init="glorot_normal", seeds=[0], dtype="float32")
        hist = wi.train(net, digits.X_train, digits.y_train, batch_size=64, epochs=6, eval_every=10**9, **options)
        final[name] = hist.train_loss[-1]
    assert np.all(np.abs(final["sgd"] - np.log(10)) < 0.01)
    assert np.all(np.abs(final["adam_eps"] - np.log(10)) < 0.01)
    assert np.all(final["adam"] < 2.0)
