"""Layer and batch normalization in the MLP: gradients, forward formulas, modes, state, errors.

Conventions tested here (PyTorch's): eps = 1e-5, the biased variance normalizes, batch norm's
running statistics are updated as ``(1 - 0.1) * running + 0.1 * batch`` with the unbiased batch
variance, training mode uses batch statistics and inference mode the running ones. The PyTorch
comparisons skip when torch is not installed (they fail instead with WINIT_REQUIRE_FRAMEWORKS=1,
as in tests/test_frameworks.py).

Tolerances: gradients against central differences (eps 1e-6, float64) agree to a relative error
of order 1e-9 for smooth activations; we accept 1e-6, as tests/test_network.py does. Forward
formulas computed another way agree to a few ulp: rtol 1e-12.
"""
import importlib
import os

import numpy as np
import pytest

import winit_edu as wi
from winit_edu import MLP, get_initializer, train
from winit_edu.losses import get_loss

from gradcheck import numerical_gradient

SIZES = [3, 5, 4, 4, 3]  # three hidden layers: hidden depth >= 2
EPS = 1e-5
REQUIRE = os.environ.get("WINIT_REQUIRE_FRAMEWORKS") == "1"


def torch_or_skip():
    if REQUIRE:
        return importlib.import_module("torch")
    return pytest.importorskip("torch")


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


def make_net(norm, affine, activation="tanh", seeds=(0, 1), sizes=SIZES, randomize=True, **kw):
    """A network whose gains, biases and running statistics are random (so every term is tested)."""
    net = MLP(sizes, activation=activation, weight_init="glorot_normal",
              bias_init=get_initializer("normal", std=0.3), seeds=list(seeds), norm=norm, norm_affine=affine, **kw)
    if randomize:
        rng = np.random.default_rng(42)
        for arrays, lo, hi in ((net.norm_gains, 0.5, 1.5), (net.norm_biases, -0.5, 0.5),
                               (net.running_means, -0.5, 0.5), (net.running_vars, 0.5, 2.0)):
            for a in arrays:
                a[...] = rng.uniform(lo, hi, size=a.shape)
    return net


def data(n=6, seed=0, sizes=SIZES):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, sizes[0])), rng.integers(0, sizes[-1], n)


# --- gradients: every configuration the layers allow ------------------------------------------------

MODES = [("layer", False), ("batch", True), ("batch", False)]  # (norm, training)


@pytest.mark.parametrize("use_masks", [False, True])
@pytest.mark.parametrize("activation", ["tanh", "gelu", "relu"])
@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("norm,training", MODES)
def test_backward_matches_finite_differences(norm, training, affine, activation, use_masks):
    # two members, three hidden layers; random inputs keep relu's kinks away from +-1e-6 with prob ~1
    net = make_net(norm, affine, activation)
    X, y = data()
    S, B = net.n_members, len(X)
    masks = None
    if use_masks:
        rng = np.random.default_rng(7)
        masks = [(rng.random((S, B, n)) >= 0.3) / 0.7 for n in SIZES[1:-1]]
    loss_fn = get_loss("cross_entropy")
    running = [a.copy() for a in net.running_means + net.running_vars]

    def total_loss():
        return loss_fn(net.forward(X, masks=masks, training=training), y)[0].sum()

    _, grad_out = loss_fn(net.forward(X, masks=masks, training=training), y)
    net.backward(grad_out)
    analytic = [g.copy() for g in net.gradients()]
    assert len(analytic) == len(net.parameters()) == 2 * net.n_layers + (2 * (net.n_layers - 1) if affine else 0)
    for p, g in zip(net.parameters(), analytic):
        assert g.shape == p.shape
        numeric = numerical_gradient(total_loss, p)
        # the biases before batch norm have gradient 0 (the batch mean removes them): compare absolutely there
        assert relative_error(g, numeric) < 1e-6 or np.abs(g - numeric).max() < 1e-8
    if norm == "batch" and not training:  # inference never touches the running statistics
        for a, b in zip(net.running_means + net.running_vars, running):
            np.testing.assert_array_equal(a, b)


def test_bias_before_batch_norm_gets_no_gradient_in_training_mode():
    # the batch mean removes any constant shift: dL/db of a normalized layer is zero (up to rounding)
    net = make_net("batch", True)
    X, y = data()
    _, g = get_loss("cross_entropy")(net.forward(X, training=True), y)
    net.backward(g)
    for l in range(net.n_layers - 1):
        assert np.abs(net.grad_biases[l]).max() < 1e-12
    assert np.abs(net.grad_biases[-1]).max() > 1e-3  # the output layer is not normalized


# --- forward: independent formulas ----------------------------------------------------------------

def reference_forward(net, X, training, s):
    """Member s's forward pass written out with numpy's var (biased) and a loop over layers."""
    h = X
    for l in range(net.n_layers):
        z = h @ net.weights[l][s] + net.biases[l][s]
        if l == net.n_layers - 1:
            return z
        if net.norm == "layer":
            z = (z - z.mean(axis=1, keepdims=True)) / np.sqrt(z.var(axis=1, keepdims=True) + EPS)
        elif training:
            z = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + EPS)
        else:
            z = (z - net.running_means[l][s]) / np.sqrt(net.running_vars[l][s] + EPS)
        if net.norm_affine:
            z = net.norm_gains[l][s] * z + net.norm_biases[l][s]
        h = net.activations[l].f(z)


@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("norm,training", MODES)
def test_forward_is_the_documented_formula(norm, training, affine):
    net = make_net(norm, affine, "relu")
    X, _ = data(9)
    ref = [reference_forward(net, X, training, s) for s in range(net.n_members)]
    out = net.forward(X, training=training)
    for s in range(net.n_members):
        np.testing.assert_allclose(out[s], ref[s], rtol=1e-12, atol=1e-13)


def test_normalized_pre_activations_have_zero_mean_and_unit_variance():
    net = MLP([4, 64, 64, 2], activation="relu", weight_init="he_normal", seeds=[0, 1], norm="batch")
    X = np.random.default_rng(1).normal(size=(32, 4))
    t = net.trace(X, training=True)
    assert t.norm_statistics == "batch"
    for z in t.pre_activations[:-1]:
        np.testing.assert_allclose(z.mean(axis=1), 0.0, atol=1e-12)
        assert np.all(np.abs(z.var(axis=1) - 1.0) < 1e-3)  # var / (var + eps) with var ~ O(1)
    ln = MLP([4, 64, 64, 2], activation="relu", weight_init="he_normal", seeds=0, norm="layer").trace(X)
    assert ln.norm_statistics == "example"
    for z in ln.pre_activations[:-1]:
        np.testing.assert_allclose(z.mean(axis=-1), 0.0, atol=1e-12)
        assert np.all(np.abs(z.var(axis=-1) - 1.0) < 1e-3)


# --- against PyTorch --------------------------------------------------------------------------------

@pytest.mark.parametrize("affine", [False, True])
def test_batch_norm_matches_torch_batchnorm1d(affine):
    torch = torch_or_skip()
    net = make_net("batch", affine, "tanh", seeds=[3], sizes=[3, 6, 2], randomize=False)
    if affine:
        net.norm_gains[0][...] = np.linspace(0.5, 1.5, 6)
        net.norm_biases[0][...] = np.linspace(-0.3, 0.3, 6)
    bn = torch.nn.BatchNorm1d(6, affine=affine).double()  # PyTorch's defaults: eps 1e-5, momentum 0.1
    assert (bn.eps, bn.momentum) == (net.norm_eps, net.norm_momentum)
    if affine:
        with torch.no_grad():
            bn.weight.copy_(torch.from_numpy(net.norm_gains[0][0]))
            bn.bias.copy_(torch.from_numpy(net.norm_biases[0][0]))
    rng = np.random.default_rng(0)
    for step in range(3):  # three training batches of different sizes update the running statistics
        X = rng.normal(size=(5 + 3 * step, 3))
        z = X @ net.weights[0][0] + net.biases[0][0]
        bn.train()
        expected = bn(torch.from_numpy(z)).detach().numpy()
        t = net.trace(X, training=True)
        np.testing.assert_allclose(t.pre_activations[0][0], expected, rtol=1e-12, atol=1e-12)
        net.forward(X, training=True)  # the trace does not update; forward does
        np.testing.assert_allclose(net.running_means[0][0], bn.running_mean.numpy(), rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(net.running_vars[0][0], bn.running_var.numpy(), rtol=1e-12)
    bn.eval()
    X = rng.normal(size=(4, 3))
    z = X @ net.weights[0][0] + net.biases[0][0]
    t = net.trace(X)
    assert t.norm_statistics == "running"
    np.testing.assert_allclose(t.pre_activations[0][0], bn(torch.from_numpy(z)).detach().numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("affine", [False, True])
def test_layer_norm_matches_torch_layernorm(affine):
    torch = torch_or_skip()
    net = make_net("layer", affine, "tanh", seeds=[3], sizes=[3, 6, 2])
    ln = torch.nn.LayerNorm(6, elementwise_affine=affine).double()
    assert ln.eps == net.norm_eps
    if affine:
        with torch.no_grad():
            ln.weight.copy_(torch.from_numpy(net.norm_gains[0][0]))
            ln.bias.copy_(torch.from_numpy(net.norm_biases[0][0]))
    X = np.random.default_rng(0).normal(size=(5, 3))
    z = X @ net.weights[0][0] + net.biases[0][0]
    t = net.trace(X)
    np.testing.assert_allclose(t.pre_activations[0][0], ln(torch.from_numpy(z)).detach().numpy(), rtol=1e-12, atol=1e-12)


def test_batch_norm_gradients_match_torch_autograd():
    torch = torch_or_skip()
    net = make_net("batch", True, "tanh", seeds=[0], sizes=[3, 6, 5, 2])
    X, y = data(7, sizes=[3, 6, 5, 2])
    params = [torch.tensor(p[0], requires_grad=True) for p in net.parameters()]
    W1, b1, W2, b2, W3, b3, g1, be1, g2, be2 = params
    h = torch.from_numpy(X)
    for W, b, g, be in ((W1, b1, g1, be1), (W2, b2, g2, be2)):
        z = h @ W + b
        z = (z - z.mean(0)) / torch.sqrt(z.var(0, unbiased=False) + EPS)
        h = torch.tanh(g * z + be)
    out = h @ W3 + b3
    torch.nn.functional.cross_entropy(out, torch.from_numpy(y), reduction="mean").backward()
    _, g = get_loss("cross_entropy")(net.forward(X, training=True), y)
    net.backward(g)
    for ours, p in zip(net.gradients(), params):
        np.testing.assert_allclose(ours[0], p.grad.numpy(), rtol=1e-10, atol=1e-13)


# --- running statistics, modes --------------------------------------------------------------------

def test_running_statistics_update_rule():
    net = MLP([3, 4, 2], seeds=[0, 1], norm="batch")
    np.testing.assert_array_equal(net.running_means[0], 0.0)
    np.testing.assert_array_equal(net.running_vars[0], 1.0)
    rng = np.random.default_rng(0)
    mean, var = np.zeros((2, 4)), np.ones((2, 4))
    for B in (2, 5, 8):
        X = rng.normal(size=(B, 3))
        z = X @ net.weights[0] + net.biases[0][:, None, :]  # (S, B, 4)
        net.forward(X, training=True)
        mean = 0.9 * mean + 0.1 * z.mean(axis=1)
        var = 0.9 * var + 0.1 * z.var(axis=1, ddof=1)  # unbiased
        np.testing.assert_allclose(net.running_means[0], mean, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(net.running_vars[0], var, rtol=1e-12)
    net.forward(X)  # inference mode changes nothing
    net.trace(X, training=True)  # nor does a trace
    np.testing.assert_allclose(net.running_vars[0], var, rtol=1e-12)


def test_norm_momentum_can_be_changed():
    net = MLP([3, 4, 2], norm="batch")
    net.norm_momentum = 1.0  # keep only the last batch
    X = np.random.default_rng(0).normal(size=(6, 3))
    net.forward(X, training=True)
    z = X @ net.weights[0][0] + net.biases[0][0]
    np.testing.assert_allclose(net.running_vars[0][0], z.var(axis=0, ddof=1), rtol=1e-12)
    # with the running statistics equal to this batch's, inference matches training up to the Bessel factor:
    # the running variance is the unbiased one, B / (B - 1) times the biased one training normalizes with
    net.norm_eps = 1e-12  # so that eps's share (eps / var) stays below the tolerance
    trained, inferred = net.trace(X, training=True), net.trace(X)
    np.testing.assert_allclose(inferred.pre_activations[0] * np.sqrt(6 / 5), trained.pre_activations[0], rtol=1e-9)
    # and a copy of the member keeps the momentum and the running statistics
    copy = net.member(0)
    assert copy.norm_momentum == 1.0
    np.testing.assert_array_equal(copy.running_vars[0], net.running_vars[0])


def test_training_mode_output_depends_on_the_batch_and_inference_mode_does_not():
    net = MLP([3, 8, 2], activation="relu", weight_init="he_normal", seeds=0, norm="batch")
    X = np.random.default_rng(0).normal(size=(10, 3))
    full_train, half_train = net.forward(X, training=True), net.forward(X[:5], training=True)
    assert np.abs(full_train[0, :5] - half_train[0]).max() > 1e-3  # the other examples change the statistics
    full_eval, half_eval = net.forward(X), net.forward(X[:5])
    np.testing.assert_allclose(full_eval[0, :5], half_eval[0], rtol=1e-13, atol=1e-14)


def test_train_uses_batch_statistics_for_steps_and_running_statistics_for_evaluation():
    X, y = wi.make_xor(200, rng=0)
    net = MLP([2, 16, 16, 2], activation="relu", weight_init="he_normal", seeds=[0, 1], norm="batch",
              norm_affine=True)
    steps = []
    hist = train(net, X, y, lr=0.1, batch_size=20, epochs=2, callback=lambda step, n: steps.append(step))
    # evaluations are inference mode: evaluate() after training gives the last recorded loss
    loss, acc = wi.evaluate(net, X, y)
    np.testing.assert_allclose(hist.train_loss[-1], loss, rtol=1e-12)
    # every step updated the running statistics (20 steps of momentum 0.1 move them far from 0 and 1)
    assert np.abs(net.running_means[0]).max() > 0.05
    # the steps themselves used batch statistics: replay the first step by hand
    replay = MLP([2, 16, 16, 2], activation="relu", weight_init="he_normal", seeds=[0, 1], norm="batch",
                 norm_affine=True)
    order = [wi.seed_streams(s)[2].permutation(len(X))[:20] for s in (0, 1)]
    out = replay.forward(X[np.stack(order)], training=True)
    _, g = get_loss("cross_entropy")(out, y[np.stack(order)])
    replay.backward(g)
    expected = [p - 0.1 * d for p, d in zip(replay.parameters(), replay.gradients())]
    fresh = MLP([2, 16, 16, 2], activation="relu", weight_init="he_normal", seeds=[0, 1], norm="batch",
                norm_affine=True)
    with pytest.raises(_Stop):
        train(fresh, X, y, lr=0.1, batch_size=20, epochs=1, callback=_stop_after_one)
    for a, b in zip(fresh.parameters(), expected):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-15)


class _Stop(Exception):
    pass


def _stop_after_one(step, net):
    if step == 1:
        raise _Stop


@pytest.mark.parametrize("norm", ["layer", "batch"])
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_norm_gains_and_biases_are_trained(norm, optimizer):
    X, y = wi.make_xor(120, rng=0)
    net = MLP([2, 8, 8, 2], activation="tanh", seeds=[0, 1], norm=norm, norm_affine=True, norm_gain=0.5)
    before = [p.copy() for p in net.parameters()]
    hist = train(net, X, y, lr=0.05, batch_size=20, epochs=2, optimizer=optimizer, grad_norm=True)
    assert hist.grad_norm.shape[1] == len(net.parameters()) == 10
    for a, b in zip(net.parameters()[6:], before[6:]):  # gamma_1, beta_1, gamma_2, beta_2 moved
        assert np.abs(a - b).max() > 1e-4
    np.testing.assert_array_equal(before[6], 0.5)
    np.testing.assert_array_equal(before[7], 0.0)
    # the first 2 L arrays are still W_1, b_1, W_2, b_2, ...
    assert [p.shape for p in net.parameters()[:6]] == [w.shape for pair in zip(net.weights, net.biases) for w in pair]


def test_zero_gamma_start_makes_hidden_activations_constant():
    net = MLP([3, 8, 8, 2], activation="relu", seeds=0, norm="batch", norm_affine=True, norm_gain=[1.0, 0.0])
    np.testing.assert_array_equal(net.norm_gains[1], 0.0)
    t = net.trace(np.random.default_rng(0).normal(size=(5, 3)), training=True)
    np.testing.assert_array_equal(t.pre_activations[1], 0.0)  # gamma = 0, beta = 0


# --- scale invariance -------------------------------------------------------------------------------

@pytest.mark.parametrize("affine", [False, True])
@pytest.mark.parametrize("norm,training", [("layer", False), ("batch", True)])
def test_scaling_a_normalized_layer_leaves_the_output_unchanged(norm, training, affine):
    net = MLP(SIZES, activation="tanh", weight_init="he_normal", seeds=[0, 1], norm=norm, norm_affine=affine)
    X, _ = data(8)
    out = net.forward(X, training=training)
    for c in (0.1, 10.0, 1e3):
        scaled = MLP.concatenate([net])
        for l in range(net.n_layers - 1):  # every normalized layer (biases are zero here)
            scaled.weights[l] *= c
        # exactly: N_eps(c z) = N_{eps / c^2}(z), so only eps's share of the variance changes
        same = MLP.concatenate([net])
        same.norm_eps = net.norm_eps / c ** 2
        np.testing.assert_allclose(scaled.forward(X, training=training), same.forward(X, training=training),
                                   rtol=1e-10, atol=1e-12)
        # and approximately N(z): the normalized values move by at most ~eps / var(z) relative
        np.testing.assert_allclose(scaled.forward(X, training=training), out, rtol=0, atol=1e-2 if c < 1 else 1e-4)


# --- ensembles, copies, dtypes ----------------------------------------------------------------------

@pytest.mark.parametrize("norm", ["layer", "batch"])
def test_members_equal_single_networks_to_the_bit(norm):
    kw = dict(activation="relu", weight_init="he_normal", norm=norm, norm_affine=True, norm_gain=0.7)
    X, y = wi.make_xor(100, rng=1)
    ens = MLP([2, 8, 8, 2], seeds=[0, 1, 2], **kw)
    train(ens, X, y, lr=0.1, batch_size=10, epochs=2, momentum=0.9)
    for s in range(3):
        single = MLP([2, 8, 8, 2], seeds=[s], **kw)
        train(single, X, y, lr=0.1, batch_size=10, epochs=2, momentum=0.9)
        for a, b in zip(ens.member(s).parameters(), single.parameters()):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(ens.member(s).running_vars, single.running_vars):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ens.forward(X)[s], single.forward(X)[0])


def test_member_and_concatenate_carry_the_norm_state():
    a = make_net("batch", True, seeds=[0, 1])
    b = MLP(SIZES, activation="tanh", seeds=[0], norm="batch", norm_affine=True, norm_gain=0.0)
    both = MLP.concatenate([a, b])
    assert both.norm == "batch" and both.norm_affine and both.n_members == 3
    for name in ("norm_gains", "norm_biases", "running_means", "running_vars"):
        for l in range(len(SIZES) - 2):
            np.testing.assert_array_equal(getattr(both, name)[l], np.concatenate([getattr(a, name)[l], getattr(b, name)[l]]))
            m = both.member(1)
            np.testing.assert_array_equal(getattr(m, name)[l], getattr(a, name)[l][1:2])
    m = a.member(0)
    m.norm_gains[0] += 1.0  # a copy
    assert not np.array_equal(m.norm_gains[0], a.norm_gains[0][:1])
    X, _ = data()
    np.testing.assert_array_equal(a.member(1).forward(X)[0], a.forward(X)[1])
    with pytest.raises(ValueError, match="norm_affine"):
        MLP.concatenate([a, MLP(SIZES, activation="tanh", norm="batch")])
    with pytest.raises(ValueError, match="norm"):
        MLP.concatenate([a, MLP(SIZES, activation="tanh", norm="layer", norm_affine=True)])


@pytest.mark.parametrize("norm", ["layer", "batch"])
def test_float32_keeps_float32(norm):
    net = MLP([3, 8, 8, 2], activation="relu", seeds=[0, 1], dtype="float32", norm=norm, norm_affine=True)
    X, y = wi.make_xor(60, rng=0)
    X = np.hstack([X, X[:, :1]])
    train(net, X, y, lr=0.05, batch_size=10, epochs=1, optimizer="adam")
    for a in net.parameters() + net.running_means + net.running_vars:
        assert a.dtype == np.float32
    assert net.forward(X, training=True).dtype == np.float32
    assert net.member(1).norm_gains[0].dtype == np.float32


# --- errors -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs,error,match", [
    (dict(norm="group"), ValueError, "norm must be"),
    (dict(norm_affine=True), ValueError, "needs a normalization"),
    (dict(norm="batch", norm_affine=1), TypeError, "norm_affine must be"),
    (dict(norm="batch", norm_gain=0.0), ValueError, "norm_gain"),
    (dict(norm="batch", norm_affine=True, norm_gain=[1.0]), ValueError, "one per hidden layer"),
    (dict(norm="batch", norm_affine=True, norm_gain=np.nan), ValueError, "finite"),
    (dict(norm="batch", norm_affine=True, norm_gain="1"), TypeError, "real number"),
])
def test_constructor_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        MLP([3, 4, 4, 2], **kwargs)


# --- norm_eps and norm_momentum: constructor arguments, checked again on every assignment -------------

def test_norm_eps_and_momentum_are_constructor_arguments():
    net = MLP([3, 4, 2], norm="batch", norm_eps=1e-3, norm_momentum=0.01)  # Keras' defaults, in PyTorch's convention
    assert (net.norm_eps, net.norm_momentum) == (1e-3, 0.01)
    X = np.random.default_rng(0).normal(size=(6, 3))
    z = X @ net.weights[0][0] + net.biases[0][0]
    out = net.trace(X, training=True).pre_activations[0][0]
    np.testing.assert_allclose(out, (z - z.mean(0)) / np.sqrt(z.var(0) + 1e-3), rtol=1e-12)
    net.forward(X, training=True)
    np.testing.assert_allclose(net.running_means[0][0], 0.01 * z.mean(0), rtol=1e-12)
    # the copies keep them, and concatenate insists that they agree
    assert (net.member(0).norm_eps, net.member(0).norm_momentum) == (1e-3, 0.01)
    assert MLP.concatenate([net, net]).norm_momentum == 0.01
    with pytest.raises(ValueError, match="norm_momentum"):
        MLP.concatenate([net, MLP([3, 4, 2], norm="batch", norm_eps=1e-3)])
    # the defaults are PyTorch's
    assert (MLP([3, 4, 2], norm="layer").norm_eps, MLP([3, 4, 2]).norm_momentum) == (1e-5, 0.1)


@pytest.mark.parametrize("name,value,error,match", [
    ("norm_eps", 0.0, ValueError, "norm_eps must be > 0"),
    ("norm_eps", -1e-5, ValueError, "norm_eps must be > 0"),
    ("norm_eps", np.inf, ValueError, "norm_eps must be finite"),
    ("norm_eps", np.nan, ValueError, "norm_eps must be finite"),
    ("norm_eps", "1e-5", TypeError, "norm_eps must be a real number"),
    ("norm_momentum", -0.1, ValueError, "norm_momentum must be >= 0"),
    ("norm_momentum", 1.5, ValueError, "norm_momentum must be <= 1"),
    ("norm_momentum", np.nan, ValueError, "norm_momentum must be finite"),
    ("norm_momentum", True, TypeError, "norm_momentum must be a real number"),
])
def test_bad_norm_eps_and_momentum_are_refused_in_the_constructor_and_on_assignment(name, value, error, match):
    with pytest.raises(error, match=match):
        MLP([3, 4, 2], norm="batch", **{name: value})
    net = MLP([3, 4, 2], norm="batch")
    with pytest.raises(error, match=match):
        setattr(net, name, value)
    assert (net.norm_eps, net.norm_momentum) == (1e-5, 0.1)  # the refused value was not stored
    X = np.random.default_rng(0).normal(size=(4, 3))
    assert np.isfinite(net.forward(X, training=True)).all()


def test_valid_assignments_are_stored_as_floats_and_used():
    net = MLP([3, 4, 2], norm="batch")
    net.norm_eps, net.norm_momentum = np.float32(1e-3), 1  # the range ends: momentum 1 keeps only the last batch
    assert type(net.norm_eps) is float and type(net.norm_momentum) is float
    net.norm_momentum = 0  # 0 freezes the running statistics
    net.forward(np.random.default_rng(0).normal(size=(4, 3)), training=True)
    np.testing.assert_array_equal(net.running_vars[0], 1.0)


@pytest.mark.parametrize("norm,kwargs,match", [
    (None, dict(norm_eps=1e-3), "norm_eps"),
    (None, dict(norm_momentum=0.01), "norm_momentum"),
    ("layer", dict(norm_momentum=0.01), "norm_momentum"),  # layer norm keeps no running statistics
])
def test_norm_constants_without_the_normalization_that_uses_them_are_refused(norm, kwargs, match):
    with pytest.raises(ValueError, match=match):
        MLP([3, 4, 2], norm=norm, **kwargs)
    MLP([3, 4, 2], norm="batch", **kwargs)  # fine where they are used
    net = MLP([3, 4, 2], norm=norm)
    for name, value in kwargs.items():  # an assignment is allowed (code may treat every network alike)
        setattr(net, name, value)


# --- first_nonfinite looks at the normalization's parameters and state too --------------------------

@pytest.mark.parametrize("name,quantity", [("norm_gains", "norm gains"), ("norm_biases", "norm biases")])
def test_first_nonfinite_names_a_non_finite_norm_gain_or_bias(name, quantity):
    net = MLP([3, 4, 4, 2], activation="tanh", seeds=[0, 1], norm="layer", norm_affine=True)
    getattr(net, name)[1][1, 2] = np.nan  # hidden layer 2 of member 1
    with np.errstate(all="ignore"):
        net.forward(np.ones((3, 3)))
    assert net.first_nonfinite(0) == (-1, "")
    assert net.first_nonfinite(1) == (2, quantity)  # named before the pre-activations it spoils


def test_first_nonfinite_names_running_statistics_only_after_finite_pre_activations():
    net = MLP([3, 4, 4, 2], activation="tanh", seeds=[0, 1], norm="batch")
    net.running_vars[0][1, 0] = np.inf  # inference divides by sqrt(inf): the pre-activations stay finite
    net.forward(np.ones((3, 3)))
    assert net.first_nonfinite(0) == (-1, "")
    assert net.first_nonfinite(1) == (1, "running variances")
    net.running_means[1][0, 0] = np.nan  # this one spoils the pre-activations of layer 2, which are named
    with np.errstate(all="ignore"):
        net.forward(np.ones((3, 3)))
    assert net.first_nonfinite(0) == (2, "pre-activations")


def test_train_reports_a_non_finite_norm_gain_as_where_it_diverged():
    X, y = wi.make_xor(40, rng=0)
    net = MLP([2, 4, 4, 2], activation="tanh", seeds=[0, 1], norm="batch", norm_affine=True)
    net.norm_gains[1][1, 0] = np.nan  # (an inf gain would not do: tanh(inf * z) is finite)
    hist = train(net, X, y, lr=0.1, batch_size=10, epochs=1, on_divergence="stop")
    assert hist.diverged_step.tolist() == [-1, 0]
    assert (hist.diverged_layer[1], hist.diverged_quantity[1]) == (2, "norm gains")


def test_batch_of_one_is_refused_in_training_mode_only():
    net = MLP([3, 4, 2], norm="batch")
    X = np.ones((1, 3))
    with pytest.raises(ValueError, match="at least 2 examples"):
        net.forward(X, training=True)
    with pytest.raises(ValueError, match="at least 2 examples"):
        net.trace(X, training=True)
    assert np.isfinite(net.forward(X)).all()  # inference: the running statistics
    Xt, yt = wi.make_xor(20, rng=0)
    with pytest.raises(ValueError, match="batch_size >= 2"):
        train(MLP([2, 4, 2], norm="batch"), Xt, yt, batch_size=1)
    train(MLP([2, 4, 2], norm="layer"), Xt, yt, batch_size=1, epochs=1)  # layer norm does not need a batch


def test_training_flag_must_be_a_bool():
    net = MLP([3, 4, 2], norm="batch")
    with pytest.raises(TypeError, match="training"):
        net.forward(np.ones((2, 3)), training="yes")
    with pytest.raises(TypeError, match="training"):
        net.trace(np.ones((2, 3)), training=1)


def test_gradients_before_backward():
    with pytest.raises(RuntimeError, match="backward"):
        MLP([3, 4, 2], norm="batch", norm_affine=True).gradients()
