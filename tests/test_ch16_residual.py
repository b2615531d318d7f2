"""Chapter 16 (residual networks): the formulas of the text, checked by simulation.

* a block with He-initialized ReLU branches multiplies the second moment of the residual stream by
  1 + 2 alpha^2, forward (exact in expectation at any width) and backward (approximately, wide layers);
* LeCun's rule in the first branch layer gives 1 + alpha^2; with pre-LN the stream grows by 2 alpha^2 per block;
* a zero last layer (and Fixup) start every block as the identity;
* Fixup's K^(-1/(2m-2)) rescaling makes the first SGD step's change of the output independent of the depth,
  while a zero last layer alone makes it grow in proportion to K;
* a branch whose layers are all zero, or a fixed alpha = 0, never learns;
* GPT-2's scaled last layer moves the output between 1 and K times more than a branch multiplier after one SGD step,
  at most sqrt(K) times more after Adam's first step; Fixup's multiplier does not change the first step.

Tolerances are four standard errors of the estimate, and a relative bound of 6% (10% where stated)
as a sanity limit on the standard error itself.
"""
import copy

import numpy as np
import pytest
from threadpoolctl import threadpool_limits

import winit_edu as wi

WIDE, N_SEEDS = 256, 8
X_WIDE = np.random.default_rng(1).normal(size=(64, WIDE))


@pytest.fixture(autouse=True)
def _one_blas_thread():
    with threadpool_limits(1):   # small matrices: one thread is faster, and the results deterministic
        yield


def layer_norm(x, eps=1e-5):
    c = x - x.mean(axis=-1, keepdims=True)
    return c / np.sqrt((c * c).mean(axis=-1, keepdims=True) + eps)


def stream_of(net, X):
    """x_0 .. x_K of a ResidualMLP: x_(k+1) = x_k + alpha F_k(N(x_k))."""
    W, b, m = net.weights, net.biases, net.branch_depth
    alpha = net.branch_scale[:, None, None]
    x = np.asarray(X, dtype=W[0].dtype) @ W[0] + b[0][:, None, :]
    out = [x]
    for k in range(net.n_blocks):
        a = layer_norm(x) if net.norm == "layer" else x
        for j in range(m):
            l = 1 + k * m + j
            z = a @ W[l] + b[l][:, None, :]
            a = net.activation.f(z) if j < m - 1 else z
        x = x + alpha * a
        out.append(x)
    return out


def mean_square(arrays):
    return np.stack([np.mean(a.astype(np.float64) ** 2, axis=(1, 2)) for a in arrays], axis=1)


def assert_mean(predicted, samples, n_se=4.0, rel=0.06):
    samples = np.asarray(samples, dtype=float).ravel()
    measured, se = samples.mean(), samples.std(ddof=1) / np.sqrt(samples.size)
    assert abs(measured - predicted) <= n_se * se, (measured, predicted, se)
    assert abs(measured / predicted - 1) < rel, (measured, predicted)


def wide_net(alpha, n_blocks=4, **kwargs):
    args = dict(weight_init="lecun_normal", branch_init="he_normal", branch_scale=alpha, seeds=range(N_SEEDS),
                dtype="float32")
    args.update(kwargs)
    return wi.ResidualMLP(WIDE, WIDE, n_blocks, WIDE, **args)


@pytest.mark.parametrize("norm", [None, "layer"])
def test_stream_helper_is_the_forward_pass(norm):
    net = wi.ResidualMLP(12, 16, 3, 5, branch_depth=3, norm=norm, seeds=[0, 1], branch_scale=[0.5, 1.0],
                         bias_init=wi.get_initializer("normal", std=0.1))
    X = np.random.default_rng(0).normal(size=(7, 12))
    x_K = stream_of(net, X)[-1]
    u = layer_norm(x_K) if norm else x_K
    np.testing.assert_allclose(u @ net.weights[-1] + net.biases[-1][:, None, :], net.forward(X), rtol=1e-10)


@pytest.mark.parametrize("alpha", [1.0, 0.5, 0.25])
def test_he_branches_multiply_the_stream_and_the_gradient_by_1_plus_2_alpha_squared(alpha):
    net = wide_net(alpha)
    q = mean_square(stream_of(net, X_WIDE))
    assert_mean(1 + 2 * alpha**2, q[:, 1:] / q[:, :-1])                   # forward: unbiased at any width
    G = np.random.default_rng(2).normal(size=(N_SEEDS, 64, WIDE)).astype("float32")
    net.forward(X_WIDE)
    _, _, g_stream = net.backward(G)
    r = mean_square(g_stream + [G @ np.swapaxes(net.weights[-1], 1, 2)])
    assert_mean(1 + 2 * alpha**2, r[:, :-1] / r[:, 1:])                   # backward: independence approximation
    assert_mean((1 + 2 * alpha**2) ** net.n_blocks, r[:, 0] / r[:, -1], rel=0.15)   # first block / top


@pytest.mark.parametrize("alpha", [1.0, 0.5])
def test_a_lecun_first_layer_gives_1_plus_alpha_squared(alpha):
    net = wide_net(alpha, branch_init="lecun_normal", last_init="he_normal")
    q = mean_square(stream_of(net, X_WIDE))
    assert_mean(1 + alpha**2, q[:, 1:] / q[:, :-1])


def test_pre_layernorm_stream_grows_by_2_alpha_squared_per_block():
    net = wide_net(1.0, n_blocks=16, norm="layer")
    q = mean_square(stream_of(net, X_WIDE))
    assert_mean(2.0, np.diff(q, axis=1), rel=0.1)


def test_zero_last_layer_and_fixup_start_as_the_identity():
    X = np.random.default_rng(3).normal(size=(32, 20))
    for last_init, inner in [("zeros", "he_normal"), ("zeros", wi.get_initializer("variance_scaling", scale=2 / 8))]:
        net = wi.ResidualMLP(20, 16, 8, 10, branch_init=inner, last_init=last_init, seeds=[0, 1, 2])
        q = mean_square(stream_of(net, X))
        np.testing.assert_array_equal(q, np.repeat(q[:, :1], q.shape[1], axis=1))
        G = np.random.default_rng(4).normal(size=(3, 32, 10))
        net.forward(X)
        _, _, g_stream = net.backward(G)
        top = G @ np.swapaxes(net.weights[-1], 1, 2)
        for g in g_stream:
            np.testing.assert_allclose(g, top, rtol=1e-12)
    net.weights[-1][...] = 0.0                                             # Fixup's zero read-out
    loss, _ = wi.softmax_cross_entropy(net.forward(X), np.arange(32) % 10)
    np.testing.assert_allclose(loss, np.log(10), rtol=1e-12)


def _first_step_change(net, X, y, lr=1e-3, adam=False):
    """rms change of the logits per unit rate after one SGD step, or Adam's first step -lr g / (|g| + eps)."""
    net = copy.deepcopy(net)
    before = net.forward(X)
    _, grad = wi.softmax_cross_entropy(before, y)
    grad_w, _, _ = net.backward(grad)
    for l in range(1, net.n_layers - 1):
        g = grad_w[l]
        net.weights[l] -= lr * (g / (np.abs(g) + 1e-8) if adam else g)
    return np.sqrt(np.mean((net.forward(X) - before) ** 2, axis=(1, 2))) / lr


@pytest.mark.parametrize("m", [2, 3])
def test_fixup_makes_the_first_update_independent_of_depth(m):
    data = wi.load_dataset("digits", rng=0)
    X, y = data.X_train[:64], data.y_train[:64]
    depths = np.array([4, 8, 16, 32])
    slopes = {}
    for name, scale in [("zero", lambda K: 2.0), ("fixup", lambda K: 2.0 * K ** (-1 / (m - 1)))]:
        change = [np.median(_first_step_change(
            wi.ResidualMLP(64, 64, K, 10, branch_depth=m, last_init="zeros", seeds=range(6),
                           branch_init=wi.get_initializer("variance_scaling", scale=scale(K))), X, y))
            for K in depths]
        slopes[name] = np.polyfit(np.log(depths), np.log(change), 1)[0]
    assert abs(slopes["zero"] - 1) < 0.2 and abs(slopes["fixup"]) < 0.2, slopes   # predicted: 1 and 0


def test_a_branch_multiplier_and_a_scaled_last_layer_agree_at_initialization_only():
    X = np.random.default_rng(5).normal(size=(16, 12))
    y = np.arange(16) % 10
    K = 16
    multiplier = wi.ResidualMLP(12, 24, K, 10, branch_scale=1 / np.sqrt(K), seeds=range(4))
    scaled = wi.ResidualMLP(12, 24, K, 10, last_init=wi.get_initializer("variance_scaling", scale=2.0 / K),
                            seeds=range(4))
    np.testing.assert_allclose(multiplier.forward(X), scaled.forward(X), rtol=1e-10, atol=1e-12)
    ratio = _first_step_change(scaled, X, y) / _first_step_change(multiplier, X, y)
    assert np.all(ratio > 2) and np.all(ratio < K)                          # between 1 and K (text: ~K/2)


@pytest.mark.parametrize("K", [8, 32])
def test_under_adams_first_step_the_scaled_last_layer_moves_at_most_sqrt_k_times_more(K):
    # Adam's first step is -lr sign(g) up to eps: W_2 takes the same step in both networks and only the factor
    # alpha = 1/sqrt(K) on its effect remains; W_1's steps are identical. So the ratio lies in [1, sqrt(K)] (when
    # the two contributions do not point against each other), and is well below the SGD ratio. Every network.
    data = wi.load_dataset("digits", rng=0)
    X, y = data.X_train[:64], data.y_train[:64]
    multiplier = wi.ResidualMLP(64, 64, K, 10, branch_scale=1 / np.sqrt(K), seeds=range(4))
    scaled = wi.ResidualMLP(64, 64, K, 10, last_init=wi.get_initializer("variance_scaling", scale=2.0 / K),
                            seeds=range(4))
    adam = _first_step_change(scaled, X, y, 1e-5, True) / _first_step_change(multiplier, X, y, 1e-5, True)
    sgd = _first_step_change(scaled, X, y) / _first_step_change(multiplier, X, y)
    assert np.all(adam > 1) and np.all(adam < np.sqrt(K)) and np.all(adam < sgd / 2), (adam, sgd)


def test_fixups_multiplier_behind_a_zero_last_layer_does_not_change_the_first_step():
    # step 3 of Fixup: a learnable scale started at 1 behind the zero last layer gets dL/dalpha = sum g * F = 0 at
    # the first step, and every weight gets exactly the gradient it gets without the multiplier
    X, y = wi.make_xor(64, rng=0)
    args = dict(last_init="zeros", branch_scale=1.0, seeds=[0, 1],
                branch_init=wi.get_initializer("variance_scaling", scale=2.0 / 3))
    t_mult = wi.ResidualMLP(2, 8, 3, 2, learn_branch_scale=True, **args).trace(X, labels=y)
    t_none = wi.ResidualMLP(2, 8, 3, 2, **args).trace(X, labels=y)
    assert all(np.all(g == 0) for g in t_mult.grad_alphas)
    for a, b in zip(t_mult.grad_weights, t_none.grad_weights):
        np.testing.assert_array_equal(a, b)
    assert any(np.any(t_mult.grad_weights[l] != 0) for l in range(2, len(t_mult.grad_weights) - 1, 2))


def test_an_all_zero_branch_and_a_fixed_zero_alpha_never_learn():
    X, y = wi.make_xor(128, rng=0)
    both_zero = wi.ResidualMLP(2, 8, 3, 2, branch_init="zeros", last_init="zeros", seeds=[0, 1])
    gate_zero = wi.ResidualMLP(2, 8, 3, 2, branch_scale=0.0, seeds=[0, 1])
    before = [w.copy() for w in gate_zero.weights]
    for net in (both_zero, gate_zero):
        wi.train(net, X, y, lr=0.05, momentum=0.9, batch_size=16, epochs=3)
    for l in range(1, both_zero.n_layers - 1):
        assert np.all(both_zero.weights[l] == 0)
        np.testing.assert_array_equal(gate_zero.weights[l], before[l])
    assert not np.array_equal(gate_zero.weights[0], before[0])             # the rest of the network does learn


def test_growth_of_the_scaled_stack_is_bounded_by_e_squared():
    factors = np.array([(1 + 2 / K) ** K for K in range(1, 1001)])
    assert np.all(np.diff(factors) > 0) and factors[-1] < np.e**2 and factors[-1] > 7.37


def test_rezero_gates_open_at_the_first_step_and_then_the_branches_learn():
    # pitfalls: a learnable alpha_k = 0 (ReZero) gets dL/dalpha_k = sum g_(k+1) * F_k(x_k) != 0 while the branch
    # weights get 0; one step later they get a gradient too. With a zero last layer both factors are 0: stuck.
    X, y = wi.make_xor(128, rng=0)
    rezero = wi.ResidualMLP(2, 8, 3, 2, branch_scale=0.0, learn_branch_scale=True, seeds=[0, 1])
    t = rezero.trace(X[:16], labels=y[:16])
    branch = range(1, rezero.n_layers - 1)
    assert all(np.all(t.grad_weights[l] == 0) for l in branch) and all(np.all(g != 0) for g in t.grad_alphas)
    before = [w.copy() for w in rezero.weights]
    wi.train(rezero, X, y, lr=0.05, momentum=0.9, batch_size=16, epochs=1)
    assert np.all(rezero.scales != 0) and all(not np.array_equal(rezero.weights[l], before[l]) for l in branch)
    stuck = wi.ResidualMLP(2, 8, 3, 2, branch_scale=0.0, learn_branch_scale=True, last_init="zeros", seeds=[0, 1])
    wi.train(stuck, X, y, lr=0.05, momentum=0.9, batch_size=16, epochs=1)
    assert np.all(stuck.scales == 0)
