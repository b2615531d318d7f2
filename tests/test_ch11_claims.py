"""Checks of the mechanisms behind the verdicts of chapter 11, "Popular claims on trial".

Each test recomputes a fact or a formula of the chapter with winit_edu on small
inputs (each runs in well under a second):

* zero initialization: every weight and hidden-bias gradient is exactly 0.0
  (tanh, ReLU, one and two hidden layers), and stays so under dropout;
* a small start N(0, eps^2): the gradient norm is proportional to eps^(L-1);
* the zero point with the output bias at the log prior is a stationary point
  with curvature -s1 along the top singular pair of C = X^T (Y - pi) / N, and
  full-batch gradient descent from a tiny start grows by 1 + lr s1 per step
  (with momentum, by the larger root of the exercise's quadratic);
* zero weights with random biases: W2 has rank one after one update, W1
  after two;
* the mean-field term of a one-sided range: the mean over the units of z is
  n mean(w) mean(h);
* dropout makes twin units of a constant start differ after one update;
* layer normalization in the forward pass removes the scale of the hidden
  weights exactly.

Tolerances are stated at each test, from the size of the neglected terms or
from the sampling error.
"""
import math

import numpy as np
import pytest

import winit_edu as wi


@pytest.fixture(scope="module")
def digits():
    """The digits training images of the chapter (a fixed subset, for speed)."""
    data = wi.load_dataset("digits", rng=0)
    return data.X_train[:400], data.y_train[:400]


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("sizes", [[64, 32, 10], [64, 32, 32, 10]])
def test_zero_start_has_exactly_zero_hidden_gradients(digits, activation, sizes):
    X, y = digits
    t = wi.MLP(sizes, activation=activation, weight_init="zeros", seeds=[0, 1]).trace(X, labels=y)
    assert all(np.all(g == 0) for g in t.grad_weights)
    assert all(np.all(g == 0) for g in t.grad_biases[:-1])
    # the output biases: 1/k - class share of the batch, exactly as chapter 2 derives
    share = np.bincount(y, minlength=10) / len(y)
    np.testing.assert_allclose(t.grad_biases[-1][0], 0.1 - share, rtol=0, atol=1e-15)


def test_zero_start_stays_zero_under_training_and_dropout(digits):
    X, y = digits
    net = wi.MLP([64, 32, 10], activation="tanh", weight_init="zeros", seeds=[0, 1])
    wi.train(net, X, y, lr=0.3, momentum=0.9, batch_size=50, epochs=2, dropout=0.2)
    assert all(np.all(W == 0) for W in net.weights) and all(np.all(b == 0) for b in net.biases[:-1])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
@pytest.mark.parametrize("L", [2, 3])
def test_gradient_of_a_small_start_scales_like_eps_to_the_L_minus_1(digits, activation, L):
    """Every path from the loss to a weight crosses L - 1 other matrices of size eps: slope L - 1.

    The corrections are relative O(eps^2) (tanh) or O(eps^L) (the softmax), far below the 0.01 allowed.
    """
    X, y = digits
    sizes = [64] + [32] * (L - 1) + [10]
    eps = [1e-2, 1e-3, 1e-4]
    norms = []
    for e in eps:
        t = wi.MLP(sizes, activation=activation, weight_init=wi.get_initializer("normal", std=e),
                   seeds=[0, 1, 2]).trace(X, labels=y)
        norms.append(np.sqrt(sum(np.sum(g**2, axis=(1, 2)) for g in t.grad_weights)))
    slopes = np.polyfit(np.log(eps), np.log(np.array(norms)), 1)[0]
    assert np.all(np.abs(slopes - (L - 1)) < 0.01), slopes


def _cross_covariance(X, y):
    prior = np.bincount(y, minlength=10) / len(y)
    C = X.T @ (np.eye(10)[y] - prior) / len(X)
    return prior, np.linalg.svd(C)


def test_zero_point_is_a_saddle_with_curvature_minus_s1(digits):
    """L(r) = L(0) - s1 r^2 + O(r^4) along W1 = r u e1^T, W2 = r e1 v^T (relative error ~ r^2)."""
    X, y = digits
    prior, (U, s, Vt) = _cross_covariance(X, y)

    def net_at(r):
        net = wi.MLP([64, 32, 10], activation="tanh", weight_init="zeros", seeds=0)
        net.biases[-1][0] = np.log(prior)
        net.weights[0][0, :, 0] = r * U[:, 0]
        net.weights[1][0, 0, :] = r * Vt[0]
        return net

    t = net_at(0.0).trace(X, labels=y)
    assert max(np.abs(g).max() for g in t.grad_weights + t.grad_biases) < 1e-12     # a stationary point
    L0 = wi.evaluate(net_at(0.0), X, y)[0][0]
    for r in (1e-2, 1e-3):
        curvature = (wi.evaluate(net_at(r), X, y)[0][0] - L0) / r**2
        assert curvature == pytest.approx(-s[0], rel=1e-3)


def test_tiny_start_grows_by_one_plus_lr_s1_per_step(digits):
    """Full-batch gradient descent from eps = 1e-6: the weights' component along the top singular pair
    grows by (1 + lr s1) per step once it dominates the random start. Over steps 150-200 the start is
    aligned and the weights are still tiny (the linear regime of the derivation). Tolerance 2% on the
    rate ln(growth): the second singular value would give a rate 20% lower."""
    X, y = digits
    _, (_, s, _) = _cross_covariance(X, y)
    lr = 0.05
    net = wi.MLP([64, 32, 10], activation="tanh", weight_init=wi.get_initializer("normal", std=1e-6), seeds=0)
    norms = []
    for _ in range(201):
        t = net.trace(X, labels=y)
        norms.append(math.sqrt(sum(float(np.sum(g**2)) for g in t.grad_weights)))
        for p, g in zip(net.parameters(), [g for pair in zip(t.grad_weights, t.grad_biases) for g in pair]):
            p -= lr * g
    rate = math.log(norms[200] / norms[150]) / 50
    assert rate == pytest.approx(math.log(1 + lr * s[0]), rel=0.02)
    assert abs(rate / math.log(1 + lr * s[1]) - 1) > 0.1         # and not the second singular value's
    assert norms[200] < 1e-2                                     # still on the plateau


def test_momentum_growth_factor_is_the_larger_root(digits):
    """With momentum beta (winit_edu's v <- beta v - lr g, p <- p + v), the component along the top singular
    pair grows by the larger root of lambda^2 - (1 + beta + lr s1) lambda + beta = 0 per step (exercise
    ex-ch11-momentum). Full-batch training from eps = 1e-8, rate over steps 300-399; tolerance 2%. The
    shortcut 1 + lr s1 / (1 - beta) is 25% off here."""
    X, y = digits
    _, (_, s, _) = _cross_covariance(X, y)
    beta, lr = 0.9, 0.005
    b = 1 + beta + lr * s[0]
    lam = (b + math.sqrt(b * b - 4 * beta)) / 2
    norms = []

    def record(step, net):
        t = net.trace(X, labels=y)
        norms.append(math.sqrt(sum(float(np.sum(g**2)) for g in t.grad_weights)))

    net = wi.MLP([64, 32, 10], activation="tanh", weight_init=wi.get_initializer("normal", std=1e-8), seeds=0)
    wi.train(net, X, y, lr=lr, momentum=beta, batch_size=len(X), epochs=400, eval_every=400, callback=record)
    rate = math.log(norms[399] / norms[300]) / 99
    assert rate == pytest.approx(math.log(lam), rel=0.02)
    assert abs(rate / math.log(1 + lr * s[0] / (1 - beta)) - 1) > 0.15
    assert norms[399] < 1e-2


def test_zero_weights_random_biases_give_rank_one_layers(digits):
    X, y = digits
    net = wi.MLP([64, 32, 10], activation="tanh", weight_init="zeros",
                 bias_init=wi.get_initializer("normal", std=1.0), seeds=3)

    def sv(W):
        return np.linalg.svd(W[0], compute_uv=False)

    for step in (1, 2):
        t = net.trace(X[:128], labels=y[:128])
        for p, g in zip(net.parameters(), [g for pair in zip(t.grad_weights, t.grad_biases) for g in pair]):
            p -= 0.1 * g
        w2 = sv(net.weights[1])
        assert w2[0] > 0 and w2[1] < 1e-12 * w2[0]                 # W2 = -lr f(b) s^T: rank one
        if step == 1:
            assert np.all(net.weights[0] == 0)
        else:
            w1 = sv(net.weights[0])
            assert w1[0] > 0 and w1[1] < 1e-12 * w1[0]             # every column of W1 along one direction


@pytest.mark.parametrize("high", [1.0, 0.1])
def test_mean_field_term_of_a_one_sided_range(high):
    """Mean over m units of z = sum_i w_ij h_i with w ~ U[0, high]: n mean(w) mean(h), up to sampling
    noise of standard deviation sd(w) |h| / sqrt(m); checked per input within 5 of those."""
    rng = np.random.default_rng(0)
    n, m = 64, 4096
    h = np.tanh(rng.normal(0.5, 1.0, size=(200, n)))              # inputs of mixed sign, positive on average
    W = wi.uniform((n, m), rng=1, low=0.0, high=high)
    z = h @ W
    mu, sd = high / 2, high / math.sqrt(12)
    predicted = n * mu * h.mean(axis=1)
    se = sd * np.linalg.norm(h, axis=1) / math.sqrt(m)
    assert np.all(np.abs(z.mean(axis=1) - predicted) < 5 * se)
    # the ratio of the common push to the spread across units does not depend on the range
    ratio = np.abs(predicted) / (sd * np.linalg.norm(h, axis=1))
    np.testing.assert_allclose(ratio, math.sqrt(3 * n) * np.abs(h.mean(axis=1)) / np.sqrt(np.mean(h**2, axis=1)),
                               rtol=1e-12)


def test_dropout_separates_twins_of_a_constant_start(digits):
    """With constant weights the error reaching the hidden layer is sum_k (p_k - y_k) * c = 0 at the first
    step, so dropout acts first on W2 (its rows get h_j * mask_j * delta), then, from the second step, on W1."""
    X, y = digits

    def constant_net():
        return wi.MLP([64, 8, 10], activation="tanh", weight_init=wi.get_initializer("constant", value=0.1), seeds=0)

    def all_differ(rows):
        return all(np.abs(rows[i] - rows[j]).max() > 1e-6 for i in range(len(rows)) for j in range(i))

    net = constant_net()
    wi.train(net, X[:64], y[:64], lr=0.1, batch_size=64, epochs=1, dropout=0.5)       # one update
    assert all_differ(net.weights[1][0]) and np.all(net.weights[0] == 0.1)
    net = constant_net()
    wi.train(net, X[:192], y[:192], lr=0.1, batch_size=64, epochs=1, dropout=0.5)     # three updates
    assert all_differ(net.weights[0][0].T) and all_differ(net.weights[1][0])
    twin = constant_net()
    wi.train(twin, X[:192], y[:192], lr=0.1, batch_size=64, epochs=1)                 # no dropout: twins
    for W in (twin.weights[0][0].T, twin.weights[1][0]):
        assert all(np.abs(W[i] - W[0]).max() <= 1e-12 for i in range(8))


def test_layer_normalized_forward_pass_ignores_the_hidden_scale(digits):
    X, _ = digits

    def normalized_tanh(z):
        return np.tanh((z - z.mean(axis=-1, keepdims=True)) / z.std(axis=-1, keepdims=True))

    def no_backward(z, h):
        raise NotImplementedError

    act = wi.Activation("layernorm+tanh", normalized_tanh, no_backward)
    sizes = [64] + [32] * 6 + [10]
    out = {}
    for c in (0.25, 1.0, 4.0):
        init = wi.get_initializer("variance_scaling", scale=c * c)
        tr = wi.MLP(sizes, activation=act, weight_init=init, seeds=[0, 1]).trace(X)
        out[c] = (tr.activations[-1], tr.pre_activations[-1])
    for c in (0.25, 4.0):
        np.testing.assert_allclose(out[c][0], out[1.0][0], rtol=0, atol=1e-12)      # hidden layers: the same
        np.testing.assert_allclose(out[c][1], c * out[1.0][1], rtol=1e-9, atol=1e-12)  # logits: scaled by c
    with pytest.raises(NotImplementedError):
        wi.MLP(sizes, activation=act, seeds=0).trace(X[:5], labels=np.zeros(5, dtype=int))
