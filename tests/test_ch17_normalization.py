"""Chapter 17 (normalization layers): every formula of the chapter, checked fast.

Tolerances: identities that are exact in real arithmetic (the scale invariance with eps / c^2,
the 1/c gradient, the SGD trajectory at lr * c^2, the norm growth with eps ~ 0) are checked to
rounding (1e-8 relative or better); approximate statements (eps neglected) to the share of eps in
the variance.
"""
import numpy as np
import pytest

import winit_edu as wi

DATA = wi.load_dataset("digits", rng=0)
X, Y = DATA.X_train[:256], DATA.y_train[:256]


def base(norm="batch", seeds=(0, 1)):
    return wi.MLP([64, 32, 32, 10], activation="relu", weight_init="he_normal", seeds=list(seeds), norm=norm)


def scaled(net, c, eps_too=True):
    out = wi.MLP.concatenate([net])
    for l in range(out.n_layers - 1):
        out.weights[l] *= c
    if eps_too:
        out.norm_eps = net.norm_eps * c**2
    return out


@pytest.mark.parametrize("norm", ["layer", "batch"])
@pytest.mark.parametrize("c", [0.01, 0.1, 10.0, 100.0])
def test_invariance_identity(norm, c):
    net = base(norm)
    a = scaled(net, c).forward(X[:32], training=True)
    b = net.forward(X[:32], training=True)
    assert np.abs(a - b).max() < 1e-12 * np.abs(b).max() * 100


def test_gradient_scales_as_one_over_c_and_is_orthogonal():
    net = base()
    g1 = net.trace(X[:32], labels=Y[:32], training=True).grad_weights
    g10 = scaled(net, 10.0).trace(X[:32], labels=Y[:32], training=True).grad_weights
    for l in range(2):
        np.testing.assert_allclose(10.0 * g10[l], g1[l], rtol=1e-9, atol=1e-14)
        cos = np.abs(np.sum(net.weights[l] * g1[l], axis=(1, 2))) / (
            np.linalg.norm(net.weights[l], axis=(1, 2)) * np.linalg.norm(g1[l], axis=(1, 2)))
        assert cos.max() < 1e-4


@pytest.mark.parametrize("c", [0.1, 10.0])
def test_sgd_trajectory_at_lr_times_c_squared(c):
    net = base()
    ref, other = wi.MLP.concatenate([net]), scaled(net, c)
    wi.train(ref, X, Y, lr=0.05, batch_size=32, epochs=2)
    wi.train(other, X, Y, lr=[0.05 * c**2] * 4 + [0.05, 0.05], batch_size=32, epochs=2)
    out = ref.forward(X, training=True)
    assert np.abs(other.forward(X, training=True) - out).max() < 1e-8 * np.abs(out).max()
    for l in range(2):
        np.testing.assert_allclose(other.weights[l] / c, ref.weights[l], rtol=0, atol=1e-8 * np.abs(ref.weights[l]).max())


def test_running_statistics_need_scaled_starts_for_the_identity():
    net = base()
    def run(c, fix):
        n = scaled(net, c)
        if fix:
            for l in range(2):
                n.running_means[l] *= c
                n.running_vars[l] *= c**2
        wi.train(n, X, Y, lr=[0.05 * c**2] * 4 + [0.05, 0.05], batch_size=32, epochs=1)
        return n.forward(X)
    ref = run(1.0, False)
    assert np.abs(run(10.0, True) - ref).max() < 1e-8 * np.abs(ref).max()
    assert np.abs(run(10.0, False) - ref).max() > 1e-3 * np.abs(ref).max()


def test_weight_norm_grows_by_eta_squared_g_squared():
    net = base()
    net.norm_eps = 1e-12
    loss = wi.losses.get_loss("cross_entropy")
    for step in range(10):
        idx = slice(32 * step % 256, 32 * step % 256 + 32)
        _, g = loss(net.forward(X[idx], training=True), Y[idx])
        net.backward(g)
        before = np.sum(net.weights[1] ** 2, axis=(1, 2))
        predicted = before + 0.25 * np.sum(net.grad_weights[1] ** 2, axis=(1, 2))
        for p, gp in zip(net.parameters(), net.gradients()):
            p -= 0.5 * gp
        after = np.sum(net.weights[1] ** 2, axis=(1, 2))
        assert np.abs(after - predicted).max() < 1e-6 * (after - before).max()
        assert np.all(after > before)


@pytest.mark.parametrize("opt,power", [("sgd", 2), ("adam", 1)])
def test_first_step_relative_size(opt, power):
    turn = {}
    for c in (1.0, 10.0):
        n = scaled(base(), c)
        start = n.weights[1].copy()
        wi.train(n, X[:32], Y[:32], lr=1e-3, batch_size=32, epochs=1, optimizer=opt)
        turn[c] = np.linalg.norm(n.weights[1] - start, axis=(1, 2)) / np.linalg.norm(start, axis=(1, 2))
    np.testing.assert_allclose(turn[1.0] / turn[10.0], 10.0**power, rtol=1e-3)


def test_batch_norm_gradient_grows_with_depth_at_initialization():
    ratios = {}
    for norm in (None, "batch"):
        for depth in (4, 16):
            net = wi.MLP([64] + [64] * depth + [10], activation="relu", weight_init="he_normal", seeds=range(3), norm=norm)
            t = net.trace(X[:64], labels=Y[:64], training=True)
            ratios[norm, depth] = np.median(np.linalg.norm(t.grad_weights[0], axis=(1, 2))
                                            / np.linalg.norm(t.grad_weights[depth - 1], axis=(1, 2)))
    assert ratios["batch", 16] > 5 * ratios["batch", 4] and ratios["batch", 16] > 5
    assert 0.2 < ratios[None, 16] < 5


def test_zero_gamma_plain_network_is_stuck():
    zg = wi.MLP([64, 32, 32, 10], activation="relu", seeds=0, norm="batch", norm_affine=True, norm_gain=0.0)
    t = zg.trace(X[:32], labels=Y[:32], training=True)
    assert all(np.all(h == 0) for h in t.activations)
    assert all(np.all(g == 0) for g in t.grad_weights + t.grad_norm_gains + t.grad_norm_biases)
    assert np.abs(t.grad_biases[-1]).max() > 0


def test_layer_norm_ignores_a_constant_bias_only():
    ln = wi.MLP([64, 32, 10], activation="relu", seeds=0, norm="layer")
    z0 = ln.trace(X[:16]).pre_activations[0]
    ln.biases[0] += 0.7
    assert np.abs(ln.trace(X[:16]).pre_activations[0] - z0).max() < 1e-12
    ln.biases[0] += np.linspace(-1, 1, 32)
    assert np.abs(ln.trace(X[:16]).pre_activations[0] - z0).max() > 0.01


def test_batch_norm_gradient_explosion_factor_matches_large_batch_theory():
    """Backward through BN-ReLU, |dL/dz| grows by sqrt(pi/(pi-1)) per layer for large width and batch.

    The chapter's own mean-field argument: E[relu'^2] / (2 Var(relu)) * 2 = pi/(pi-1) for the squared norm.
    Measured slope at width 256, batch 256: 1.20-1.21 over seeds (finite-size corrections below 0.015).
    """
    theory = np.sqrt(np.pi / (np.pi - 1))
    z = np.random.default_rng(0).standard_normal(2_000_000)
    relu = np.maximum(z, 0)
    np.testing.assert_allclose(0.5 / relu.var(), np.pi / (np.pi - 1), rtol=5e-3)   # the Monte Carlo of the ratio
    net = wi.MLP([64] + [256] * 32 + [10], activation="relu", weight_init="he_normal", seeds=[0, 1], norm="batch")
    t = net.trace(DATA.X_train[:256], labels=DATA.y_train[:256], training=True)
    gz = np.array([np.linalg.norm(g, axis=(1, 2)) for g in t.grad_pre_activations[:32]])
    slopes = [np.exp(-np.polyfit(np.arange(2, 30), np.log(gz[2:30, s]), 1)[0]) for s in range(2)]
    assert np.all(np.abs(np.array(slopes) - theory) < 0.015), slopes
    plain = wi.MLP([64] + [256] * 32 + [10], activation="relu", weight_init="he_normal", seeds=[0, 1])
    gp = np.array([np.linalg.norm(g, axis=(1, 2)) for g in
                   plain.trace(DATA.X_train[:256], labels=DATA.y_train[:256]).grad_pre_activations[:32]])
    plain_slopes = [np.exp(-np.polyfit(np.arange(2, 30), np.log(gp[2:30, s]), 1)[0]) for s in range(2)]
    assert np.all(np.abs(np.array(plain_slopes) - 1) < 0.03), plain_slopes          # He alone: no growth
