"""winit_edu.dropout: the alpha-dropout constants, the masks, and what MLP.forward / trace / backward and
train do with them. Statistical checks allow ``N_SE`` standard errors (``stats_helpers.py``); seeds are fixed."""
import importlib
import math
import os

import numpy as np
import pytest

import winit_edu as wi
from winit_edu import MLP, alpha_dropout_constants, dropout_masks, train
from winit_edu.activations import SELU_ALPHA, SELU_SCALE, selu
from winit_edu.dropout import SELU_SATURATION, dropout_stream
from winit_edu.losses import get_loss
from gradcheck import numerical_gradient
from stats_helpers import N_SE


def selu_net(sizes=(3, 5, 4, 2), seeds=(0, 1), **kw):
    return MLP(list(sizes), activation="selu", weight_init="lecun_normal", seeds=list(seeds), **kw)


# --- the constants ---------------------------------------------------------------------------------


@pytest.mark.parametrize("rate", [0.0, 0.05, 0.1, 0.5, 0.9])
def test_constants_are_the_papers_closed_form(rate):
    a, b, sat = alpha_dropout_constants(rate)
    q = 1 - rate
    assert sat == -SELU_SCALE * SELU_ALPHA == SELU_SATURATION
    # Klambauer et al. (2017): a = (q + alpha'^2 q (1 - q))^(-1/2), b = -a (1 - q) alpha'; PyTorch writes the
    # same a as ((1 - p)(1 + p alpha'^2))^(-1/2) with p the drop rate
    assert a == pytest.approx((q + sat**2 * q * (1 - q)) ** -0.5, rel=1e-14)
    assert a == pytest.approx(((1 - rate) * (1 + rate * sat**2)) ** -0.5, rel=1e-14)
    assert b == pytest.approx(-a * (1 - q) * sat, rel=1e-14, abs=1e-300)
    # the two conditions, exactly: for h with mean 0 and variance 1, a (d h + alpha' (1 - d)) + b has
    # mean a (1 - q) alpha' + b = 0 and variance a^2 (q + q (1 - q) alpha'^2) = 1
    assert a * (1 - q) * sat + b == pytest.approx(0.0, abs=1e-15)
    assert a**2 * (q + q * (1 - q) * sat**2) == pytest.approx(1.0, rel=1e-14)
    if rate == 0:
        assert (a, b) == (1.0, 0.0)


def test_constants_match_pytorch_alpha_dropout():
    # skipped without torch, a failure instead with WINIT_REQUIRE_FRAMEWORKS=1 (CI's frameworks step)
    torch = importlib.import_module("torch") if os.environ.get("WINIT_REQUIRE_FRAMEWORKS") == "1" else \
        pytest.importorskip("torch")
    a, b, sat = alpha_dropout_constants(0.2)
    torch.manual_seed(0)
    y = torch.nn.functional.alpha_dropout(torch.full((10_000,), 0.5, dtype=torch.float64), 0.2, True).numpy()
    values = np.unique(np.round(y, 12))
    np.testing.assert_allclose(values, sorted([a * sat + b, a * 0.5 + b]), rtol=1e-12)


@pytest.mark.parametrize("rate, error", [(1.0, ValueError), (-0.1, ValueError), (float("nan"), ValueError),
                                         ("0.1", TypeError)])
def test_constants_refuse_a_rate_outside_0_1(rate, error):
    with pytest.raises(error, match="rate"):
        alpha_dropout_constants(rate)


# --- mean and variance at the SELU fixed point, by simulation ----------------------------------------


@pytest.mark.parametrize("rate", [0.05, 0.1, 0.3])
def test_alpha_dropout_keeps_mean_0_and_variance_1_at_the_fixed_point(rate):
    # h = selu(z), z ~ N(0, 1) has mean 0 and variance 1 (SELU's fixed point); 1000 x 1000 = 1e6 units
    net = selu_net((1, 1000, 1), seeds=[0])
    h = selu(np.random.default_rng(1).normal(size=(1, 1000, 1000)))
    (multiplier, shift), = dropout_masks(net, 1000, rate, kind="alpha", rngs=[2])
    y = h * multiplier + shift
    n = y.size
    se_mean = y.std() / math.sqrt(n)
    se_var = math.sqrt(np.mean((y - y.mean()) ** 4) - y.var() ** 2) / math.sqrt(n)  # SE of the sample variance
    assert abs(y.mean()) < N_SE * se_mean                      # N_SE = 6 standard errors, ~0.006 and ~0.01 here
    assert abs(y.var() - 1) < N_SE * se_var
    assert np.mean(multiplier == 0) == pytest.approx(rate, abs=N_SE * math.sqrt(rate * (1 - rate) / n))
    # inverted dropout on the same draws keeps the mean and multiplies the variance by 1 / (1 - rate)
    inverted, = dropout_masks(net, 1000, rate, rngs=[2])
    assert np.array_equal(inverted == 0, multiplier == 0)     # same generator, same units dropped
    assert (h * inverted).var() == pytest.approx(1 / (1 - rate), rel=0.01)


def test_deep_selu_network_with_alpha_dropout_stays_at_0_1():
    # 20 layers of width 256, two seeds, 256 examples: the pooled tail statistics move by ~0.01 between seeds
    net = MLP([256] * 21 + [10], activation="selu", weight_init="lecun_normal", seeds=[0, 1])
    X = np.random.default_rng(7).normal(size=(256, 256))
    t = net.trace(X, masks=dropout_masks(net, 256, 0.1, kind="alpha"))
    after = np.stack(t.activations_after_dropout[10:])
    assert abs(after.mean()) < 0.02 and abs(after.var() - 1) < 0.03
    t = net.trace(X, masks=dropout_masks(net, 256, 0.1))     # inverted: the variance settles well above 1
    assert np.stack(t.activations_after_dropout[10:]).var() > 1.3


# --- forward, trace and backward with affine masks ------------------------------------------------------


def test_forward_and_trace_apply_the_affine_form():
    net = selu_net()
    X = np.random.default_rng(0).normal(size=(6, 3))
    masks = dropout_masks(net, 6, 0.4, kind="alpha", rngs=[3, 4])
    a, b, sat = alpha_dropout_constants(0.4)
    h, expected = X, []
    for l in range(2):                                         # the definition, layer by layer
        fz = selu(h @ net.weights[l] + net.biases[l][:, None, :])
        d = masks[l][0] != 0
        h = a * (d * fz + sat * (1 - d)) + b
        expected.append((fz, h))
    out = net.forward(X, masks=masks)
    np.testing.assert_allclose(out, h @ net.weights[2] + net.biases[2][:, None, :], rtol=1e-12)
    t = net.trace(X, masks=masks)
    for l, (fz, after) in enumerate(expected):
        np.testing.assert_allclose(t.activations[l], fz, rtol=1e-12)                 # f(z), before dropout
        np.testing.assert_allclose(t.activations_after_dropout[l], after, rtol=1e-12)
    plain = net.trace(X)
    assert all(x is y for x, y in zip(plain.activations, plain.activations_after_dropout))


def test_backward_with_alpha_masks_matches_finite_differences():
    rng = np.random.default_rng(0)
    net = selu_net(seeds=(0, 1))
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    masks = dropout_masks(net, 6, 0.3, kind="alpha", rngs=[5, 6])
    loss = get_loss("cross_entropy")

    def total():
        return loss(net.forward(X, masks=masks), y)[0].sum()

    _, g = loss(net.forward(X, masks=masks), y)
    grad_w, grad_b, _ = net.backward(g)
    analytic = [x.copy() for pair in zip(grad_w, grad_b) for x in pair]
    for p, a in zip(net.parameters(), analytic):
        np.testing.assert_allclose(a, numerical_gradient(total, p), rtol=1e-6, atol=1e-8)


def test_forward_refuses_bad_masks():
    net = selu_net()
    X = np.ones((6, 3))
    good = dropout_masks(net, 6, 0.1, kind="alpha")
    with pytest.raises(ValueError, match=r"masks\[1\] must be an array .* or a pair"):
        net.forward(X, masks=[good[0], good[1] + (good[1][0],)])
    with pytest.raises(ValueError, match=r"masks\[0\]\[1\] must broadcast to the activations of hidden layer 1"):
        net.forward(X, masks=[(good[0][0], np.zeros((2, 6, 4))), good[1]])
    with pytest.raises(ValueError, match=r"masks\[1\] must broadcast"):
        net.forward(X, masks=[good[0], np.ones((3, 6, 4))])    # a bigger shape would broadcast the activations
    with pytest.raises(ValueError, match=r"masks\[0\]\[0\] must be finite"):
        net.forward(X, masks=[(np.full((2, 6, 5), np.nan), good[0][1]), good[1]])
    with pytest.raises(TypeError, match=r"masks\[1\]"):
        net.trace(X, masks=[good[0], "keep"])


# --- the masks and train ----------------------------------------------------------------------------------


def test_inverted_masks_are_the_stream_train_always_used():
    # pins the inverted masks to the bit: uniforms of SeedSequence(seed).spawn(4)[3], kept where u >= rate,
    # divided by 1 - rate (as train drew them before alpha dropout existed)
    net = MLP([3, 5, 4, 2], seeds=[8, 9], dtype="float32")
    masks = dropout_masks(net, 7, 0.3)
    for s, seed in enumerate([8, 9]):
        r = np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])
        for l, n in enumerate([5, 4]):
            expected = (r.random((7, n)) >= 0.3).astype("float32") / (1.0 - 0.3)
            assert masks[l].dtype == np.float32 and np.array_equal(masks[l][s], expected)
    assert float(dropout_stream(8).random()) == float(np.random.default_rng(np.random.SeedSequence(8).spawn(4)[3]).random())


@pytest.mark.parametrize("kind", ["inverted", "alpha"])
def test_train_draws_the_first_masks_from_the_order_seeds(kind):
    X, y = wi.make_xor(100, rng=0)
    net = selu_net((2, 16, 8, 2), seeds=(0, 1))
    seen, modes = [], []
    original = net.forward

    def spy(X, masks=None, training=False):
        modes.append(masks is not None)
        seen.append(masks)
        return original(X, masks=masks, training=training)

    original_predict = net.predict

    def spy_predict(X):                          # evaluations: no masks, by construction
        modes.append("predict")
        return original_predict(X)

    net.forward, net.predict = spy, spy_predict
    hist = train(net, X, y, lr=0.05, epochs=2, batch_size=25, dropout=0.2, dropout_kind=kind, order_seeds=[3, 4])
    first = dropout_masks(selu_net((2, 16, 8, 2)), 25, 0.2, kind=kind, rngs=[3, 4])
    training_masks = [m for m in seen if m is not None]
    assert len(training_masks) == 8 and modes.count("predict") == 3 and len(modes) == 11   # 8 steps, 3 evaluations
    for got, want in zip(training_masks[0], first):
        for g, w in zip(got if kind == "alpha" else [got], want if kind == "alpha" else [want]):
            assert np.array_equal(g, w)
    assert not np.array_equal(training_masks[1][0][0] if kind == "alpha" else training_masks[1][0],
                              first[0][0] if kind == "alpha" else first[0])   # a new draw at every step
    assert np.isfinite(hist.train_loss).all()


def test_alpha_and_inverted_dropout_train_differently_and_without_dropout_alike():
    X, y = wi.make_xor(100, rng=0)
    runs = {}
    for kind in ["inverted", "alpha"]:
        for rate in [0.0, 0.2]:
            net = selu_net((2, 16, 2), seeds=(0,))
            runs[kind, rate] = train(net, X, y, lr=0.05, epochs=2, batch_size=25, dropout=rate,
                                     dropout_kind=kind).step_loss
    assert np.array_equal(runs["inverted", 0.0], runs["alpha", 0.0])
    assert not np.array_equal(runs["inverted", 0.2], runs["alpha", 0.2])


@pytest.mark.parametrize("call", ["train", "masks"])
@pytest.mark.parametrize("activation", ["relu", "tanh", ["selu", "relu"]])
def test_alpha_dropout_refuses_a_network_that_is_not_selu(call, activation):
    net = MLP([2, 4, 4, 2], activation=activation, seeds=[0])
    with pytest.raises(ValueError, match="alpha dropout needs SELU in every hidden layer"):
        if call == "train":
            X, y = wi.make_xor(20, rng=0)
            train(net, X, y, epochs=1, batch_size=10, dropout=0.1, dropout_kind="alpha")
        else:
            dropout_masks(net, 4, 0.1, kind="alpha")


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(rate=1.0), ValueError, "rate"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(kind="gaussian"), ValueError, "kind must be one of"),
    (dict(rngs=[0]), ValueError, "one seed or generator per member"),
    (dict(rngs=0), TypeError, "rngs must be a sequence"),
    (dict(rngs=[0, 1.5]), TypeError, "rngs must hold int seeds"),
    (dict(rngs=[0, -1]), ValueError, "seed"),
])
def test_dropout_masks_refuse_bad_arguments(kwargs, error, match):
    args = dict(batch_size=4, rate=0.1) | kwargs
    with pytest.raises(error, match=match):
        dropout_masks(selu_net(), args.pop("batch_size"), args.pop("rate"), **args)


def test_train_refuses_an_unknown_dropout_kind():
    X, y = wi.make_xor(20, rng=0)
    with pytest.raises(ValueError, match="dropout_kind must be one of"):
        train(selu_net((2, 4, 2)), X, y, epochs=1, batch_size=10, dropout=0.1, dropout_kind="gaussian")
