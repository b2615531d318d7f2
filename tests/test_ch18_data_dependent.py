"""The formulas of chapter 18 (Data-dependent initialization), checked by simulation.

* LSUV with zero biases: one rescale makes Var(z_l) = 1 on the same batch, so a fixed batch
  takes two forward passes per layer, sum_l p_l (l + 1) = L (L + 1) layer evaluations
  (eq-ch18-one-step, eq-ch18-cost);
* for a square orthogonal layer E[z^2] = c^2 E[h^2] exactly, so LSUV's scale is
  c^2 = (1 + mean(z)^2) / E[h^2], close to 1 / E[f(u)^2] for unit Gaussian pre-activations
  (eq-ch18-scale);
* with biases, LSUV iterates V(c) = c^2 A + 2 c C + D, converging at the rate D + c* C, and
  never when min V > 1 (eq-ch18-bias, eq-ch18-rate);
* the loss at step 0 with a zero last layer: ln K, H(prior) with the log-prior bias, and
  H(prior) + KL(prior || estimate) with an estimated prior (eq-ch18-prior);
* the relative sd of a batch's variance estimate, CV(s) sqrt((N - B) / (B (N - 1)));
* with zero biases LSUV keeps every ReLU unit's on/off pattern and scales a ReLU network's
  output by prod c_l; a member with a zero-variance layer is left unchanged;
* the input-dependent share of an orthogonal first layer's variance,
  tr(Sigma) / (tr(Sigma) + |mean x|^2 - n mean(xQ)^2);
* per unit: w_j / sigma_j and (b_j - mu_j) / sigma_j give every unit mean 0 and variance 1 on the batch in
  one pass, whatever the biases (eq-ch18-per-unit); for a square orthogonal layer the harmonic mean of
  |w_j|^2 is 1 / (mean over units of Var_batch(h)) exactly, close to 1 / Var f(u) for unit Gaussian
  pre-activations (eq-ch18-per-unit-scale); it revives the dead layers of narrow ReLU networks.

LSUV is `wi.lsuv` and the per-unit start `wi.per_unit_init` (winit_edu/learning/data_dependent.py, unit-tested
in test_data_dependent.py), as in the notebook.
"""
import math

import numpy as np
import pytest

import winit_edu as wi


def _scales(net):
    return np.array([W.shape[1] * np.mean(W**2, axis=(1, 2)) for W in net.weights])


@pytest.mark.parametrize("activation", ["gelu", "tanh", "sigmoid"])
def test_zero_bias_lsuv_needs_one_rescale_per_layer(activation):
    X = np.random.default_rng(0).standard_normal((128, 32)) * 3.0 + 1.0
    net = wi.MLP([32] + [32] * 6 + [5], activation=activation, weight_init="orthogonal", seeds=range(4))
    passes = wi.lsuv(net, X)
    assert (passes == 2).all()
    for z in net.trace(X).pre_activations:
        np.testing.assert_allclose(z.var(axis=(1, 2)), 1.0, rtol=1e-10)
    L = net.n_layers
    assert sum(p * (l + 1) for l, p in enumerate(passes)) == L * (L + 1)


@pytest.mark.parametrize("activation", ["gelu", "silu", "sigmoid"])
def test_square_orthogonal_layer_scale_identity(activation):
    X = np.random.default_rng(1).standard_normal((200, 48)) * 1.7
    net = wi.MLP([48] * 6 + [10], activation=activation, weight_init="orthogonal", seeds=range(3))
    wi.lsuv(net, X)
    c2 = _scales(net)
    tr = net.trace(X)
    z0 = tr.pre_activations[0]
    np.testing.assert_allclose(c2[0], (1 + z0.mean(axis=(1, 2)) ** 2) / np.mean(X**2), rtol=1e-9)
    for l in range(1, net.n_layers - 1):          # square layers after a nonlinearity
        h, z = tr.activations[l - 1], tr.pre_activations[l]
        np.testing.assert_allclose(np.mean(z**2, axis=(1, 2)), c2[l] * np.mean(h**2, axis=(1, 2)), rtol=1e-9)
        np.testing.assert_allclose(c2[l], (1 + z.mean(axis=(1, 2)) ** 2) / np.mean(h**2, axis=(1, 2)), rtol=1e-9)


@pytest.mark.parametrize("activation", ["gelu", "silu", "tanh", "relu"])
def test_scale_is_the_unit_second_moment_gain_for_gaussian_inputs(activation):
    # wide layers and Gaussian inputs: every example has nearly the same scale, so the pre-activations
    # after LSUV are close to N(0, 1) and c^2 close to 1 / E[f(u)^2] (relu: He's 2). Width 128, 8 seeds:
    # the mean over layers 2-3 and seeds was within 2% for each activation; tolerance 4%
    X = np.random.default_rng(2).standard_normal((256, 128))
    net = wi.MLP([128] * 4 + [10], activation=activation, weight_init="orthogonal", seeds=range(8))
    wi.lsuv(net, X)
    predicted = 1 / wi.theory.second_moment_after(activation, 1.0)
    measured = _scales(net)[1:-1].mean()
    assert abs(measured / predicted - 1) < 0.04, (measured, predicted)


def _bias_run(sigma_b, passes, seeds=range(6)):
    X = np.random.default_rng(3).standard_normal((256, 64))
    net = wi.MLP([64, 64, 64, 10], activation="tanh", weight_init="orthogonal",
                 bias_init=wi.get_initializer("normal", std=sigma_b), seeds=seeds)
    b = net.biases[1][:, None, :]
    u = net.trace(X).pre_activations[1] - b
    du, db = u - u.mean(axis=(1, 2), keepdims=True), b - b.mean(axis=(1, 2), keepdims=True)
    A, C, D = u.var(axis=(1, 2)), np.mean(du * db, axis=(1, 2)), np.mean(db**2, axis=(1, 2))
    c = np.ones(len(seeds))
    measured, predicted = [], []
    for _ in range(passes):
        measured.append(net.trace(X).pre_activations[1].var(axis=(1, 2)))
        predicted.append(c**2 * A + 2 * c * C + D)
        net.weights[1] /= np.sqrt(measured[-1])[:, None, None]
        c = c / np.sqrt(predicted[-1])
    return np.array(measured), np.array(predicted), A, C, D


def test_biased_lsuv_is_the_quadratic_iteration_and_contracts_at_d_plus_c_star_c():
    measured, predicted, A, C, D = _bias_run(0.5, 8)
    np.testing.assert_allclose(measured, predicted, rtol=1e-10)
    c_star = (-C + np.sqrt(C**2 + A * (1 - D))) / A
    rho = D + c_star * C
    err = np.abs(measured - 1)
    observed = err[5] / err[4]                 # well inside the linear regime
    np.testing.assert_allclose(observed, rho, atol=0.02)
    # the fixed point: the weights carry A c*^2 = 1 - D - 2 c* C of the unit variance
    np.testing.assert_allclose(A * c_star**2 + 2 * c_star * C + D, 1.0, rtol=1e-12)


def test_biased_lsuv_has_no_fixed_point_when_the_biases_alone_exceed_unit_variance():
    measured, predicted, A, C, D = _bias_run(1.5, 20)
    np.testing.assert_allclose(measured, predicted, rtol=1e-10)
    assert np.all(D - C**2 / A > 1)
    floor = D - C**2 / A                                      # the smallest value of V(c)
    assert np.all(measured >= floor - 1e-12)                  # never below it: the tolerance is never met
    assert np.all(measured > 1 + 0.02)
    # every pass divides the weights by sqrt(V) > 1: after 20 passes by prod sqrt(V_t), at least floor^10
    shrink = np.sqrt(np.prod(measured, axis=0))
    assert np.all(shrink >= floor**10 * (1 - 1e-9)) and np.all(shrink > 10)


def test_loss_at_step_zero_with_a_zero_last_layer():
    rng = np.random.default_rng(4)
    K = 7
    prior = rng.dirichlet(np.ones(K) * 0.7)
    y = rng.choice(K, size=4000, p=prior)
    pi = np.bincount(y, minlength=K) / len(y)
    pi = np.maximum(pi, 1e-12)
    X = rng.standard_normal((len(y), 12))
    net = wi.MLP([12, 20, 20, K], activation="silu", weight_init="orthogonal", seeds=range(3))
    net.weights[-1][:] = 0.0
    loss, _ = wi.evaluate(net, X, y)
    np.testing.assert_allclose(loss, np.log(K), rtol=1e-12)
    net.biases[-1][:] = np.log(pi)
    loss, _ = wi.evaluate(net, X, y)
    H = -np.sum(pi * np.log(pi))
    np.testing.assert_allclose(loss, H, rtol=1e-10)
    # an estimated prior adds KL(pi || estimate)
    counts = np.bincount(rng.choice(y, 32, replace=False), minlength=K)
    estimate = (counts + 1) / (counts.sum() + K)
    net.biases[-1][:] = np.log(estimate)
    loss, _ = wi.evaluate(net, X, y)
    np.testing.assert_allclose(loss, H + np.sum(pi * np.log(pi / estimate)), rtol=1e-10)


def test_unit_variance_logits_start_above_log_k():
    X = np.random.default_rng(5).standard_normal((400, 16))
    y = np.random.default_rng(6).integers(0, 10, 400)
    net = wi.MLP([16, 32, 32, 10], activation="gelu", weight_init="orthogonal", seeds=range(4))
    wi.lsuv(net, X)
    loss, _ = wi.evaluate(net, X, y)
    assert np.all(loss > np.log(10) + 0.1)


@pytest.mark.parametrize("B", [16, 64, 256])
def test_relative_sd_of_a_batch_variance_estimate(B):
    rng = np.random.default_rng(7)
    s = rng.lognormal(0.0, 1.0, size=1000)         # skewed per-example mean squares
    N = len(s)
    cv = s.std() / s.mean()
    means = np.array([s[rng.choice(N, B, replace=False)].mean() for _ in range(6000)])
    predicted = cv * math.sqrt((N - B) / (B * (N - 1)))
    assert abs(means.std() / s.mean() / predicted - 1) < 0.05


def test_layer_one_variance_is_the_batch_mean_of_the_examples_mean_squares():
    X = np.random.default_rng(8).standard_normal((64, 32)) * np.random.default_rng(9).lognormal(0, 1, (64, 1))
    net = wi.MLP([32, 32, 10], activation="tanh", weight_init="orthogonal", seeds=range(2))
    z = net.trace(X).pre_activations[0]
    s = np.mean(X**2, axis=1)                       # |x_i|^2 / n, kept by the orthogonal layer
    np.testing.assert_allclose(np.mean(z**2, axis=(1, 2)), s.mean(), rtol=1e-12)


def test_lsuv_keeps_relu_patterns_and_scales_the_output():
    X = np.random.default_rng(10).standard_normal((300, 24))
    orth = wi.MLP([24] + [24] * 5 + [6], activation="relu", weight_init="orthogonal", seeds=range(3))
    scaled = wi.MLP([24] + [24] * 5 + [6], activation="relu", weight_init="orthogonal", seeds=range(3))
    wi.lsuv(scaled, X)
    for a, b in zip(orth.trace(X).pre_activations, scaled.trace(X).pre_activations):
        assert np.array_equal(a > 0, b > 0)
    factor = np.prod(np.sqrt(_scales(scaled)), axis=0)
    np.testing.assert_allclose(scaled.forward(X), factor[:, None, None] * orth.forward(X), rtol=1e-10)


def test_a_member_with_a_zero_variance_layer_is_left_unchanged():
    X = np.random.default_rng(11).standard_normal((50, 8))
    net = wi.MLP([8, 8, 8, 3], activation="relu", weight_init="orthogonal", seeds=range(3))
    net.weights[0][1] = 0.0                         # member 1: layer 1 outputs zero for every input
    before = [w.copy() for w in net.weights]
    wi.lsuv(net, X)
    for l in range(net.n_layers):
        assert np.isfinite(net.weights[l]).all()
        np.testing.assert_array_equal(net.weights[l][1], before[l][1])   # nothing to measure: unchanged
        assert not np.array_equal(net.weights[l][0], before[l][0])       # the others are rescaled


def test_input_dependent_share_of_an_orthogonal_first_layer():
    rng = np.random.default_rng(12)
    X = rng.uniform(0, 16, (200, 40)) * rng.uniform(0.2, 1.0, 40)   # all positive, like raw pixels
    net = wi.MLP([40, 40, 10], activation="tanh", weight_init="orthogonal", seeds=range(3))
    wi.lsuv(net, X)
    z = net.trace(X).pre_activations[0]
    share = z.var(axis=1).mean(axis=-1) / z.var(axis=(1, 2))
    c = np.sqrt(40 * np.mean(net.weights[0] ** 2, axis=(1, 2)))
    u_bar = z.mean(axis=(1, 2)) / c
    mean_x, tr_cov = X.mean(axis=0), np.trace(np.cov(X.T, bias=True))
    np.testing.assert_allclose(share, tr_cov / (tr_cov + mean_x @ mean_x - 40 * u_bar**2), rtol=1e-10)
    assert np.all(share < 0.5)                      # most of the variance is the input-independent offset


def _variance_after(activation):
    """Var f(u) for u ~ N(0, 1)."""
    return (wi.theory.second_moment_after(activation, 1.0)
            - wi.theory.gaussian_expectation(wi.get_activation(activation).f) ** 2)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "gelu"])
def test_per_unit_step_is_exact_in_one_pass_whatever_the_biases(activation):
    X = np.random.default_rng(13).standard_normal((150, 16)) * 2.0 + 0.5
    net = wi.MLP([16] + [16] * 4 + [4], activation=activation, weight_init="orthogonal",
                 bias_init=wi.get_initializer("normal", std=2.0), seeds=range(3))
    assert not wi.per_unit_init(net, X).any()
    for z in net.trace(X).pre_activations:
        np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-12)
        np.testing.assert_allclose(z.var(axis=1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(z.var(axis=(1, 2)), 1.0, rtol=1e-12)   # so LSUV's measure is 1 too


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "silu"])
def test_per_unit_scale_harmonic_mean_identity(activation):
    X = np.random.default_rng(14).standard_normal((200, 48)) * 1.3
    net = wi.MLP([48] * 6 + [10], activation=activation, weight_init="orthogonal", seeds=range(3))
    wi.per_unit_init(net, X)
    tr = net.trace(X)
    for l in range(1, net.n_layers - 1):          # square layers after a nonlinearity
        c2 = np.sum(net.weights[l] ** 2, axis=1)                       # (S, units): |w_j|^2
        var_h = tr.activations[l - 1].var(axis=1).mean(axis=1)          # mean over units of Var_batch(h)
        np.testing.assert_allclose(1 / np.mean(1 / c2, axis=1), 1 / var_h, rtol=1e-10)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_per_unit_scale_is_one_over_the_variance_of_the_activation(activation):
    # wide layers, Gaussian inputs: the centred, unit-variance pre-activations are close to N(0, 1), so the
    # harmonic mean of |w_j|^2 is close to 1 / Var f(u) (sigmoid: about 23, gain 4.8; LSUV: 1 / E[f^2], 3.4).
    # Width 128, 6 seeds: within 1% for both; tolerance 3%
    X = np.random.default_rng(15).standard_normal((512, 128))
    net = wi.MLP([128] * 4 + [10], activation=activation, weight_init="orthogonal", seeds=range(6))
    wi.per_unit_init(net, X)
    c2 = np.array([1 / np.mean(1 / np.sum(W**2, axis=1), axis=1) for W in net.weights[1:-1]])
    assert abs(c2.mean() * _variance_after(activation) - 1) < 0.03, (c2.mean(), 1 / _variance_after(activation))


def test_per_unit_revives_the_dead_layers_of_narrow_relu_networks():
    X = np.random.default_rng(16).standard_normal((256, 16))
    net = wi.MLP([16] + [3] * 15 + [4], activation="relu", weight_init="orthogonal", seeds=range(60))
    dead = np.array([z.var(axis=(1, 2)) == 0 for z in net.trace(X).pre_activations]).any(axis=0)
    assert dead.sum() > 5                                     # many members have a layer dead on the whole batch
    assert not wi.per_unit_init(net, X).any()                 # no unit is constant once the layers before are set
    hidden = net.trace(X).pre_activations[:-1]
    for z in hidden:                                          # every unit positive for some inputs, not for all
        assert np.all((z > 0).any(axis=1)) and np.all((z <= 0).any(axis=1))
