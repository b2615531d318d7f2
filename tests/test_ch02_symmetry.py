"""Chapter 2 (symmetry): the claims the chapter proves, checked on small networks.

* constant initialization keeps every hidden layer a set of bit-identical units
  under SGD with momentum and any minibatch order (the twin-units lemma);
* a pair of twins inside a random network stays a pair of twins;
* all-zero weights: only the output biases get a gradient (tanh, ReLU); for the
  sigmoid the output weights do too, with identical rows; a zero tanh network
  never moves its weights, a zero sigmoid network wakes up one layer per step;
* a constant network of width n trains exactly like a width-one network with
  outgoing weights n*c and per-layer learning rates eta*a**2/K;
* where the randomness has to be: a hidden layer with constant matrices on
  both sides stays collapsed;
* coherent sums: z2 = n c h1 for constant weights.

Bit-for-bit equality holds on every machine because these networks use
``matmul=wi.ordered_matmul``, which computes every entry of a product by the
same chain of correctly rounded operations. With the default BLAS products it
is a property of the machine's kernels (the chapter's caveat).
"""
import numpy as np
import pytest

import winit_edu as wi

SIZES = [2, 32, 32, 2]
SETUP = dict(lr=0.05, momentum=0.9, batch_size=32)
C = 0.1


@pytest.fixture(scope="module")
def spirals():
    return wi.load_dataset("spirals", rng=0)


def unit_table(net, layer):
    return np.concatenate([net.weights[layer], net.biases[layer][:, None, :],
                           np.swapaxes(net.weights[layer + 1], 1, 2)], axis=1)


def distinct_units(net, layer):
    return np.array([np.unique(t, axis=1).shape[1] for t in unit_table(net, layer)])


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "relu"])
def test_constant_init_units_stay_bit_identical(spirals, activation):
    net = wi.MLP(SIZES, activation=activation, weight_init=wi.get_initializer("constant", value=C), seeds=[0, 1, 2],
                 matmul=wi.ordered_matmul)
    wi.train(net, spirals.X_train, spirals.y_train, epochs=15, **SETUP)
    for layer in (0, 1):
        np.testing.assert_array_equal(distinct_units(net, layer), 1)
    # the seeds (data orders) led to different weights, but never to different units
    assert len(np.unique(net.weights[0][:, 0, 0])) == 3


@pytest.mark.parametrize("sizes, dtype", [([2, 33, 33, 2], "float64"), (SIZES, "float32")])
def test_ordered_products_keep_twins_where_blas_need_not(spirals, sizes, dtype):
    """The chapter's caveat: at width 33 or in float32 a BLAS may break the last bit;
    ordered products never do."""
    const = wi.get_initializer("constant", value=C)
    net = wi.MLP(sizes, weight_init=const, seeds=[0, 1], dtype=dtype, matmul=wi.ordered_matmul)
    wi.train(net, spirals.X_train, spirals.y_train, epochs=5, **SETUP)
    for layer in (0, 1):
        np.testing.assert_array_equal(distinct_units(net, layer), 1)
    blas = wi.MLP(sizes, weight_init=const, seeds=[0, 1], dtype=dtype)
    wi.train(blas, spirals.X_train, spirals.y_train, epochs=5, **SETUP)
    table = unit_table(blas, 1).astype(np.float64)   # with BLAS: equal up to rounding, whatever the bits
    assert np.abs(table - table[..., :1]).max() <= 1e-5 * np.abs(table).max()


def test_twins_inside_a_random_network_stay_twins(spirals):
    net = wi.MLP(SIZES, weight_init="glorot_uniform", seeds=[0, 1], matmul=wi.ordered_matmul)
    net.weights[0][:, :, 1] = net.weights[0][:, :, 0]
    net.weights[1][:, 1, :] = net.weights[1][:, 0, :]
    wi.train(net, spirals.X_train, spirals.y_train, epochs=15, **SETUP)
    for t in unit_table(net, 0):
        np.testing.assert_array_equal(t[:, 0], t[:, 1])
    np.testing.assert_array_equal(distinct_units(net, 0), 31)


def test_all_zeros_gradient_pattern(spirals):
    Xb, yb = spirals.X_train[:32], spirals.y_train[:32]
    pi = np.bincount(yb, minlength=2) / len(yb)
    for act in ("tanh", "relu", "sigmoid"):
        t = wi.MLP(SIZES, activation=act, weight_init="zeros", seeds=0).trace(Xb, labels=yb)
        # every gradient below the output layer is exactly zero
        for g in t.grad_weights[:-1] + t.grad_biases[:-1]:
            assert np.all(g == 0)
        # output bias: 1/k - class fraction of the minibatch
        np.testing.assert_allclose(t.grad_biases[-1][0], 0.5 - pi, rtol=1e-12, atol=1e-15)
        if act == "sigmoid":   # f(0) = 1/2: identical rows, half the bias gradient
            gw = t.grad_weights[-1][0]
            np.testing.assert_allclose(gw, np.broadcast_to(0.5 * t.grad_biases[-1][0], gw.shape), rtol=1e-12)
            assert np.abs(gw).max() > 0
        else:                  # f(0) = 0
            assert np.all(t.grad_weights[-1] == 0)


def test_zero_tanh_network_learns_only_the_output_bias(spirals):
    net = wi.MLP(SIZES, weight_init="zeros", seeds=[0, 1])
    hist = wi.train(net, spirals.X_train, spirals.y_train, X_val=spirals.X_test, y_val=spirals.y_test,
                    epochs=10, **SETUP)
    assert all(np.all(W == 0) for W in net.weights) and all(np.all(b == 0) for b in net.biases[:-1])
    assert np.abs(net.biases[-1]).max() > 0
    favoured = net.biases[-1].argmax(axis=1)
    np.testing.assert_array_equal(hist.val_accuracy[-1], np.mean(spirals.y_test[None] == favoured[:, None], axis=1))


@pytest.mark.parametrize("sizes, expected", [(SIZES, [3, 2, 1]), ([2, 8, 8, 8, 8, 2], [5, 4, 3, 2, 1])])
def test_zero_sigmoid_network_wakes_up_one_layer_per_step(spirals, sizes, expected):
    Xb, yb = spirals.X_train[:32], spirals.y_train[:32]
    net = wi.MLP(sizes, activation="sigmoid", weight_init="zeros", seeds=0)
    moved = {}
    for step in range(1, len(sizes) + 1):
        t = net.trace(Xb, labels=yb)
        for W, b, gW, gb in zip(net.weights, net.biases, t.grad_weights, t.grad_biases):
            W -= 0.05 * gW
            b -= 0.05 * gb
        for l, W in enumerate(net.weights):
            if np.any(W != 0):
                moved.setdefault(l, step)
    assert [moved[l] for l in range(len(sizes) - 1)] == expected


def test_width_one_equivalence(spirals):
    X, y = spirals.X_train, spirals.y_train
    n, eta, epochs, seeds = 32, SETUP["lr"], 20, [0, 1]
    wide = wi.MLP(SIZES, weight_init=wi.get_initializer("constant", value=C), seeds=seeds)
    narrow_init = [wi.get_initializer("constant", value=v) for v in (C, n * C, n * C)]
    narrow = wi.MLP([2, 1, 1, 2], weight_init=narrow_init, seeds=seeds)
    # same function at the start
    np.testing.assert_allclose(narrow.forward(spirals.X_test), wide.forward(spirals.X_test), rtol=0, atol=1e-13)
    hist = wi.train(wide, X, y, epochs=epochs, **SETUP)
    naive = wi.MLP([2, 1, 1, 2], weight_init=narrow_init, seeds=seeds)
    naive_hist = wi.train(naive, X, y, epochs=epochs, **SETUP)
    # rates eta * a**2 / K (W1, b1, W2, b2, W3, b3): identical training up to rounding; the naive net drifts away
    rates = [eta / n, eta / n, eta, eta / n, n * eta, eta]
    loss = wi.train(narrow, X, y, epochs=epochs, **{**SETUP, "lr": rates}).step_loss
    assert np.abs(loss - hist.step_loss).max() < 1e-10
    assert np.abs(naive_hist.step_loss - hist.step_loss).max() > 1e-2
    np.testing.assert_allclose(narrow.weights[0][:, :, 0], wide.weights[0][:, :, 0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(narrow.weights[2][:, 0, :], n * wide.weights[2][:, 0, :], rtol=0, atol=1e-12)


def test_where_randomness_has_to_be(spirals):
    const, g = wi.get_initializer("constant", value=C), "glorot_uniform"
    expected = {  # weight inits -> (distinct units in hidden layer 1, in hidden layer 2)
        (g, const, const): (32, 1),
        (const, g, const): (32, 32),
        (const, const, g): (1, 32),
    }
    for inits, (d1, d2) in expected.items():
        net = wi.MLP(SIZES, weight_init=list(inits), seeds=[0, 1], matmul=wi.ordered_matmul)
        wi.train(net, spirals.X_train, spirals.y_train, epochs=10, **SETUP)
        np.testing.assert_array_equal(distinct_units(net, 0), d1)
        np.testing.assert_array_equal(distinct_units(net, 1), d2)


def test_coherent_sum_of_constant_weights():
    digits = wi.load_dataset("digits", rng=0)
    net = wi.MLP([64, 32, 32, 10], weight_init="ones", seeds=0)
    t = net.trace(digits.X_train[:200])
    z2, h1 = t.pre_activations[1][0], t.activations[0][0]
    np.testing.assert_allclose(z2, 32 * np.broadcast_to(h1[:, :1], z2.shape), rtol=1e-12, atol=1e-12)
    assert wi.diagnostics.saturation_fraction(t.activations[1], "tanh") > 0.9


# --- dropout (the chapter's section on d2l's remark) ---------------------------------------------

def test_inverted_dropout_leaves_the_expected_activation_unchanged():
    """Masks 0 or 1/(1-p): averaged over masks, a linear network computes what it computes without dropout
    (the chapter's "the expected activation is unchanged"); tolerance 5 standard errors of the mask average."""
    p, draws = 0.3, 4000
    net = wi.MLP([3, 8, 2], activation="linear", weight_init="glorot_normal", seeds=0)
    X = np.random.default_rng(0).normal(size=(4, 3))
    rng = np.random.default_rng(1)
    outs = np.stack([net.forward(X, masks=[(rng.random((1, 4, 8)) >= p) / (1 - p)])[0] for _ in range(draws)])
    mean, se = outs.mean(axis=0), outs.std(axis=0, ddof=1) / np.sqrt(draws)
    assert np.all(np.abs(mean - net.forward(X)[0]) <= 5 * se)


def test_a_dropped_twin_gets_no_gradient_its_kept_twin_does(spirals):
    """The chapter's argument: with unit 0 dropped and unit 1 kept for a whole minibatch, the incoming
    weights and bias of unit 0 get exactly zero gradient, those of its twin do not."""
    net = wi.MLP(SIZES, weight_init="glorot_uniform", seeds=0)
    net.weights[0][:, :, 1] = net.weights[0][:, :, 0]     # units 0 and 1 of hidden layer 1: twins
    net.weights[1][:, 1, :] = net.weights[1][:, 0, :]
    Xb, yb = spirals.X_train[:32], spirals.y_train[:32]
    masks = [np.ones((1, 32, 32)), np.ones((1, 32, 32))]
    masks[0][..., 0] = 0.0
    out = net.forward(Xb, masks=masks)
    _, grad = wi.softmax_cross_entropy(out, yb)
    grad_w, grad_b, _ = net.backward(grad)
    assert np.all(grad_w[0][0, :, 0] == 0) and grad_b[0][0, 0] == 0
    assert np.abs(grad_w[0][0, :, 1]).max() > 0 and grad_b[0][0, 1] != 0


@pytest.mark.parametrize("p", [0.1, 0.5])
def test_dropout_breaks_the_exact_symmetry_of_a_constant_start(spirals, p):
    const = wi.get_initializer("constant", value=C)
    net = wi.MLP(SIZES, weight_init=const, seeds=[0, 1], matmul=wi.ordered_matmul)
    wi.train(net, spirals.X_train, spirals.y_train, epochs=3, dropout=p, **SETUP)
    for layer in (0, 1):   # with ordered products the same run without dropout keeps 1 (tested above)
        np.testing.assert_array_equal(distinct_units(net, layer), 32)


def test_digits_have_61_varying_pixels():
    """Chapter 2 compares the spread of the pixel sum with sqrt(61), not sqrt(64)."""
    digits = wi.load_dataset("digits", rng=0)
    assert int(np.sum(digits.X_train.std(axis=0) > 0)) == 61
