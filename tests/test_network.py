"""The MLP: hand-written backprop, the ensemble axis, dtypes, and its argument checks.

Shapes: weights[l] is (S, n_l, n_{l+1}) ("in_out", x @ W), biases[l] is
(S, n_{l+1}), the output is (S, B, n_L) for S ensemble members.
"""
import numpy as np
import pytest

from winit_edu import ACTIVATIONS, MLP, Trace, get_initializer, make_xor, seed_streams, train
from winit_edu.losses import get_loss

from gradcheck import numerical_gradient

SIZES = [3, 5, 4, 3]


def loss_and_data(loss, n=7, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, SIZES[0]))
    y = rng.integers(0, SIZES[-1], n) if loss == "cross_entropy" else rng.normal(size=(n, SIZES[-1]))
    return X, y


def relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300)


@pytest.mark.parametrize("loss", ["cross_entropy", "squared_error"])
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_backward_matches_finite_differences(activation, loss):
    # float64, two members (the ensemble axis must not mix members), random inputs:
    # with probability ~1 no pre-activation lies within eps of a relu/selu kink.
    net = MLP(SIZES, activation=activation, weight_init="glorot_normal",
              bias_init=get_initializer("normal", std=0.1), seeds=[0, 1])
    X, y = loss_and_data(loss)
    loss_fn = get_loss(loss)

    def total_loss():
        return loss_fn(net.forward(X), y)[0].sum()  # members are independent: sum of the losses

    _, grad_out = loss_fn(net.forward(X), y)
    grad_w, grad_b, grad_pre = net.backward(grad_out)
    assert len(grad_pre) == net.n_layers
    np.testing.assert_array_equal(grad_pre[-1], grad_out)
    for l in range(net.n_layers):
        assert grad_w[l].shape == net.weights[l].shape and grad_b[l].shape == net.biases[l].shape
        assert relative_error(grad_w[l], numerical_gradient(total_loss, net.weights[l])) < 1e-6
        assert relative_error(grad_b[l], numerical_gradient(total_loss, net.biases[l])) < 1e-6


def test_forward_is_the_documented_formula():
    net = MLP([2, 4, 3], activation="tanh", bias_init=get_initializer("normal", std=0.5), seeds=[0, 1])
    X = np.random.default_rng(0).normal(size=(6, 2))
    out = net.forward(X)
    assert out.shape == (2, 6, 3)
    for s in range(2):
        h = np.tanh(X @ net.weights[0][s] + net.biases[0][s])
        np.testing.assert_allclose(out[s], h @ net.weights[1][s] + net.biases[1][s], rtol=1e-14)


# --- the ensemble axis ------------------------------------------------------------------------------

def test_ensemble_members_equal_single_seed_networks():
    kwargs = dict(activation="relu", weight_init="he_normal", bias_init=get_initializer("normal", std=0.1))
    ensemble = MLP([4, 8, 8, 3], seeds=[3, 5, 7], **kwargs)
    assert ensemble.n_members == 3 and ensemble.n_layers == 3
    for s, seed in enumerate([3, 5, 7]):
        alone = MLP([4, 8, 8, 3], seeds=seed, **kwargs)
        for a, b in zip(ensemble.parameters(), alone.parameters()):
            np.testing.assert_array_equal(a[s], b[0])


def test_weights_and_biases_use_separate_streams():
    # changing the bias initializer never changes the weights drawn for the same seed
    a = MLP([4, 8, 3], bias_init="zeros", seeds=3)
    b = MLP([4, 8, 3], bias_init=get_initializer("normal", std=1.0), seeds=3)
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_array_equal(wa, wb)


def test_layers_get_different_weights():
    net = MLP([8, 8, 8, 8], weight_init="orthogonal", seeds=0)
    assert not np.array_equal(net.weights[0], net.weights[1])


def test_train_on_an_ensemble_equals_training_each_seed_alone():
    X, y = make_xor(200, rng=0)
    X_val, y_val = make_xor(60, rng=1)
    kwargs = dict(lr=0.3, momentum=0.5, batch_size=20, epochs=3, X_val=X_val, y_val=y_val)
    ensemble = MLP([2, 8, 2], activation="tanh", seeds=[3, 5, 7])
    hist = train(ensemble, X, y, **kwargs)
    for s, seed in enumerate([3, 5, 7]):
        alone = MLP([2, 8, 2], activation="tanh", seeds=seed)
        h1 = train(alone, X, y, **kwargs)
        for a, b in zip(ensemble.parameters(), alone.parameters()):
            np.testing.assert_allclose(a[s], b[0], rtol=1e-10, atol=1e-14)
        for name in ("step_loss", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
            np.testing.assert_allclose(getattr(hist, name)[:, s], getattr(h1, name)[:, 0], rtol=1e-10)
        np.testing.assert_array_equal(hist.eval_steps, h1.eval_steps)


def test_per_member_inputs():
    net = MLP([3, 4, 2], seeds=[0, 1])
    X = np.random.default_rng(0).normal(size=(2, 5, 3))  # (S, B, n_0): one batch per member
    out = net.forward(X)
    for s in range(2):
        np.testing.assert_allclose(out[s], net.member(s).forward(X[s])[0], rtol=1e-14)


def test_member_is_a_copy():
    net = MLP([3, 4, 2], seeds=[10, 11, 12])
    X = np.ones((2, 3))
    m = net.member(1)
    assert m.seeds == [11] and m.n_members == 1 and m.sizes == net.sizes
    np.testing.assert_array_equal(m.forward(X)[0], net.forward(X)[1])
    before = net.weights[0].copy()
    m.weights[0] += 1.0
    m.biases[0] += 1.0
    np.testing.assert_array_equal(net.weights[0], before)
    assert not np.array_equal(m.forward(X)[0], net.forward(X)[1])


def test_parameters_are_weights_then_biases_layer_by_layer():
    net = MLP([3, 4, 2], seeds=0)
    params = net.parameters()
    assert params[0] is net.weights[0] and params[1] is net.biases[0]
    assert params[2] is net.weights[1] and params[3] is net.biases[1]
    assert [p.shape for p in params] == [(1, 3, 4), (1, 4), (1, 4, 2), (1, 2)]


def test_per_layer_activations_and_initializers():
    net = MLP([2, 3, 3, 2], activation=["relu", "tanh"], weight_init=["zeros", "ones", "identity"], seeds=0)
    assert [a.name for a in net.activations] == ["relu", "tanh"]
    np.testing.assert_array_equal(net.weights[0], 0.0)
    np.testing.assert_array_equal(net.weights[1], 1.0)
    np.testing.assert_array_equal(net.weights[2][0], np.eye(3, 2))


# --- float32 ------------------------------------------------------------------------------------

def test_float32_mode_stays_float32():
    X, y = make_xor(100, rng=0)
    net = MLP([2, 8, 2], activation="relu", weight_init="he_normal", seeds=[0, 1], dtype="float32")
    assert all(p.dtype == np.float32 for p in net.parameters())
    out = net.forward(X)  # float64 input is cast
    assert out.dtype == np.float32
    _, grad = get_loss("cross_entropy")(out, y)
    grad_w, grad_b, grad_pre = net.backward(grad)
    assert all(g.dtype == np.float32 for g in grad_w + grad_b + grad_pre)
    hist = train(net, X, y, lr=0.1, momentum=0.9, epochs=2, batch_size=20)
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert np.isfinite(hist.step_loss).all()
    # the float32 network computes the same function as the float64 one, to float32 precision
    ref = MLP([2, 8, 2], activation="relu", weight_init="he_normal", seeds=[0, 1])
    np.testing.assert_allclose(MLP([2, 8, 2], activation="relu", weight_init="he_normal", seeds=[0, 1],
                                   dtype=np.float32).forward(X), ref.forward(X), rtol=1e-4, atol=1e-5)


# --- trace -----------------------------------------------------------------------------------------

def test_trace_records_every_layer():
    net = MLP([3, 5, 4, 2], activation="tanh", seeds=[0, 1])
    X = np.random.default_rng(0).normal(size=(6, 3))
    t = net.trace(X)
    assert isinstance(t, Trace)
    assert [z.shape for z in t.pre_activations] == [(2, 6, 5), (2, 6, 4), (2, 6, 2)]
    assert [h.shape for h in t.activations] == [(2, 6, 5), (2, 6, 4)]
    np.testing.assert_array_equal(t.activations[0], np.tanh(t.pre_activations[0]))
    assert t.grad_weights == [] and t.grad_pre_activations == []

    labels = np.array([0, 1, 1, 0, 1, 0])
    t = net.trace(X, labels=labels)
    _, grad_out = get_loss("cross_entropy")(net.forward(X), labels)
    grad_w, _, _ = net.backward(grad_out)
    for a, b in zip(t.grad_weights, grad_w):
        np.testing.assert_array_equal(a, b)
    assert len(t.grad_biases) == len(t.grad_pre_activations) == 3

    t = net.trace(X, labels=np.zeros((6, 2)), loss="squared_error")
    assert len(t.grad_weights) == 3
    t = net.trace(X, grad_output=np.ones((2, 6, 2)))
    np.testing.assert_array_equal(t.grad_pre_activations[-1], 1.0)


# --- seed_streams ---------------------------------------------------------------------------------

def test_seed_streams():
    w, b, d = seed_streams(0)
    assert all(isinstance(g, np.random.Generator) for g in (w, b, d))
    draws = [g.random(3) for g in (w, b, d)]
    assert not np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[1], draws[2])
    again = [g.random(3) for g in seed_streams(0)]
    for a, b_ in zip(draws, again):
        np.testing.assert_array_equal(a, b_)
    with pytest.raises(ValueError, match="seed"):
        seed_streams(-1)
    with pytest.raises(TypeError, match="seed"):
        seed_streams(1.5)


# --- bad input ------------------------------------------------------------------------------------

@pytest.mark.parametrize("X", [np.zeros((5, 4)), np.zeros(3), np.zeros((1, 2, 5, 3))],
                         ids=["wrong width", "1-D", "4-D"])
def test_forward_shape_errors(X):
    with pytest.raises(ValueError, match="X must have shape"):
        MLP([3, 4, 2], seeds=0).forward(X)


def test_backward_needs_forward():
    with pytest.raises(RuntimeError, match="forward"):
        MLP([3, 4, 2], seeds=0).backward(np.zeros((1, 2, 2)))


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(sizes=[3]), ValueError, "sizes"),
    (dict(sizes="34"), ValueError, "sizes"),
    (dict(sizes=[3, 0, 2]), ValueError, "sizes"),
    (dict(sizes=[3, 2.5, 2]), TypeError, "sizes"),
    (dict(activation=["tanh"]), ValueError, "activation"),
    (dict(activation="swish"), ValueError, "activation must be one of"),
    (dict(weight_init=["zeros"]), ValueError, "weight_init"),
    (dict(weight_init="he"), ValueError, "name must be one of"),
    (dict(seeds=[]), ValueError, "seeds"),
    (dict(seeds=-1), ValueError, "seed"),
    (dict(seeds=[0, 1.5]), TypeError, "seed"),
    (dict(seeds=[2, 2]), ValueError, "seeds must be distinct"),
    (dict(matmul="ordered"), TypeError, "matmul"),
    (dict(dtype="int32"), ValueError, "dtype"),
    (dict(dtype="float16"), ValueError, "dtype"),
])
def test_constructor_errors(kwargs, error, match):
    args = dict(sizes=[3, 4, 4, 2])
    args.update(kwargs)
    with pytest.raises(error, match=match):
        MLP(**args)


# --- no side effects --------------------------------------------------------------------------------

SIDE_EFFECTS = r"""
import ctypes, json, os, sys, warnings
import matplotlib
import numpy as np

requested = []  # every symbol looked up in a shared library (glibc's mallopt would be one)
_getattr = ctypes.CDLL.__getattr__
def spy(self, name):
    requested.append(name)
    return _getattr(self, name)
ctypes.CDLL.__getattr__ = spy

def state():
    return repr((np.geterr(), np.get_printoptions(), warnings.filters, dict(os.environ),
                 dict(matplotlib.rcParams), sys.getrecursionlimit(), np.random.get_state()[1][:4].tolist()))

before = state()
import winit_edu as wi
X, y = wi.make_xor(64, rng=0)
for dtype in ("float64", "float32"):
    net = wi.MLP([2, 16, 16, 2], activation="relu", weight_init="he_normal", seeds=[0, 1, 2], dtype=dtype)
    wi.train(net, X, y, lr=0.1, momentum=0.9, batch_size=16, epochs=2)
    net.trace(X, labels=y)
print(json.dumps({"same": state() == before, "requested": requested}))
"""


def test_importing_and_using_the_package_changes_nothing_process_wide():
    # In a fresh process: import, build and train networks; the process-wide state is as before,
    # and no C library symbol was looked up (the package once retuned glibc's allocator with
    # mallopt, through ctypes, whenever an MLP was built).
    import json
    import os
    import subprocess
    import sys

    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run([sys.executable, "-c", SIDE_EFFECTS], capture_output=True, text=True, env=env,
                          check=True, timeout=120)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["same"]
    assert "mallopt" not in result["requested"]


# --- buffers: same arithmetic, new outputs -----------------------------------------------------------

def reference_train(net, X, y, lr, momentum, batch_size, epochs):
    """wi.train's SGD written the plain way, a new array for every intermediate result.

    The package writes into reused arrays and scales gradients in place; the operations
    are the same, so the parameters must agree to the bit (on any BLAS: both call the
    same matrix products).
    """
    weights = [w.copy() for w in net.weights]
    biases = [b.copy() for b in net.biases]
    velocity = [np.zeros_like(p) for pair in zip(weights, biases) for p in pair]
    rngs = [seed_streams(s)[2] for s in net.seeds]
    loss_fn = get_loss("cross_entropy")
    n = len(X)
    X = X.astype(net.dtype)
    for _ in range(epochs):
        order = np.stack([r.permutation(n) for r in rngs])
        for i in range(n // batch_size):
            idx = order[:, i * batch_size:(i + 1) * batch_size]
            hs, zs = [X[idx]], []
            for l, (W, b) in enumerate(zip(weights, biases)):
                z = np.matmul(hs[-1], W)
                z += b[:, None, :]
                zs.append(z)
                if l < len(weights) - 1:
                    hs.append(net.activations[l].f(z))
            _, g = loss_fn(zs[-1], y[idx])
            grads = []
            for l in range(len(weights) - 1, -1, -1):
                grads[:0] = [np.matmul(np.swapaxes(hs[l], -1, -2), g), g.sum(axis=1)]
                if l > 0:
                    g = np.matmul(g, np.swapaxes(weights[l], -1, -2)) * net.activations[l - 1].df(zs[l - 1], hs[l])
            params = [p for pair in zip(weights, biases) for p in pair]
            for k, (p, g) in enumerate(zip(params, grads)):
                velocity[k] = momentum * velocity[k] - lr * g
                p += velocity[k]
    return weights, biases


@pytest.mark.parametrize("activation, dtype, momentum, seeds", [
    ("relu", "float32", 0.9, [3, 5, 7]), ("tanh", "float64", 0.0, [3, 5, 7]), ("sigmoid", "float64", 0.5, [3, 5, 7]),
    ("selu", "float32", 0.0, [3, 5, 7]), ("relu", "float32", 0.9, list(range(9))),  # 9: the batch sums' fast path
])
def test_training_with_reused_buffers_equals_plain_numpy_to_the_bit(activation, dtype, momentum, seeds):
    X, y = make_xor(120, rng=0)
    kwargs = dict(activation=activation, weight_init="he_normal", bias_init=get_initializer("normal", std=0.1),
                  seeds=seeds, dtype=dtype)
    net = MLP([2, 16, 16, 2], **kwargs)
    weights, biases = reference_train(MLP([2, 16, 16, 2], **kwargs), X, y, lr=0.05, momentum=momentum,
                                      batch_size=20, epochs=3)
    train(net, X, y, lr=0.05, momentum=momentum, batch_size=20, epochs=3)
    for a, b in zip(net.weights + net.biases, weights + biases):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)


TRAINING_SETUPS = [dict(lr=0.05, momentum=0.9), dict(lr=0.01, optimizer="adam"),
                   dict(member_lr=[0.01, 0.05, 0.2], momentum=0.5), dict(lr="one per array")]


@pytest.mark.parametrize("options", TRAINING_SETUPS)
@pytest.mark.parametrize("norm", [None, "batch"])
def test_one_update_for_all_parameters_equals_the_update_array_by_array_to_the_bit(options, norm):
    # The network keeps its parameters in one array (each array of parameters() a view of it),
    # and its gradients in another, so that train updates all of them with a few numpy calls.
    # A replaced array turns that off (train then updates array by array): the same numbers.
    X, y = make_xor(120, rng=0)
    kwargs = dict(activation="relu", weight_init="he_normal", seeds=[3, 5, 7], dtype="float32", norm=norm,
                  norm_affine=norm is not None)
    together, one_by_one = MLP([2, 16, 16, 2], **kwargs), MLP([2, 16, 16, 2], **kwargs)
    one_by_one.weights[0] = one_by_one.weights[0].copy()
    assert together._flat_parameters() is not None and one_by_one._flat_parameters() is None
    views = together.parameters()
    if options.get("lr") == "one per array":
        options = dict(lr=np.resize([0.1, 0.05, 0.02, 0.2], len(views)).tolist())
    for net in (together, one_by_one):
        train(net, X, y, batch_size=20, epochs=3, **options)
    assert all(a is b for a, b in zip(together.parameters(), views))  # updated in place
    assert together._flat_gradients() is not None
    for a, b in zip(together.parameters(), one_by_one.parameters()):
        np.testing.assert_array_equal(a, b)


def test_copies_and_joined_networks_train_their_own_arrays():
    # A deep copy's arrays no longer share one buffer: train must update them array by array,
    # never a buffer they left. member() and concatenate() build networks that share one again.
    import copy

    X, y = make_xor(60, rng=0)
    net = MLP([2, 8, 2], activation="tanh", seeds=[0, 1])
    copied = copy.deepcopy(net)
    assert copied._flat_parameters() is None
    start = [p.copy() for p in copied.parameters()]
    train(net, X, y, lr=0.5, momentum=0.9, epochs=2, batch_size=20)
    train(copied, X, y, lr=0.5, momentum=0.9, epochs=2, batch_size=20)
    assert not np.array_equal(start[0], copied.weights[0])
    for a, b in zip(net.parameters(), copied.parameters()):
        np.testing.assert_array_equal(a, b)
    assert net.member(1)._flat_parameters() is not None
    assert MLP.concatenate([net, net.member(0)])._flat_parameters() is not None


def test_sum_over_batch_gives_numpys_sum_to_the_bit():
    # the bias gradients' sum over the batch: a faster order of loops for many narrow members, the same additions
    from winit_edu.network import _sum_over_batch
    rng = np.random.default_rng(0)
    for S in (1, 3, 4, 9, 50):
        for B in (1, 2, 9, 33, 128):
            for n in (1, 2, 3, 10, 64, 65, 200):
                for dtype in (np.float32, np.float64):
                    g = rng.standard_normal((S, B, n)).astype(dtype)
                    g.flat[::11] *= 1e6  # large and small terms together, so that the order of additions shows
                    got = _sum_over_batch(g)
                    assert got.dtype == dtype and got.shape == (S, n)
                    np.testing.assert_array_equal(got, g.sum(axis=1))


def test_forward_returns_a_new_array_and_a_trace_keeps_its_arrays():
    net = MLP([3, 8, 8, 2], seeds=[0, 1])
    rng = np.random.default_rng(0)
    X1, X2 = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
    out1 = net.forward(X1)
    t1 = net.trace(X1, labels=np.array([0, 1, 0, 1, 1]))
    kept = [a.copy() for a in t1.pre_activations + t1.activations + t1.grad_weights + t1.grad_pre_activations]
    out2 = net.forward(X2)
    net.trace(X2, labels=np.array([1, 1, 0, 0, 1]))
    assert not np.array_equal(out1, out2)
    np.testing.assert_array_equal(out1, net.forward(X1))
    for a, b in zip(kept, t1.pre_activations + t1.activations + t1.grad_weights + t1.grad_pre_activations):
        np.testing.assert_array_equal(a, b)


def test_backward_fills_the_networks_gradient_arrays():
    # like PyTorch's .grad: the same arrays, overwritten by the next backward
    net = MLP([3, 4, 2], seeds=[0, 1])
    X = np.ones((6, 3))
    grad_w, grad_b, _ = net.backward(get_loss("cross_entropy")(net.forward(X), np.zeros(6, int))[1])
    assert grad_w is net.grad_weights and grad_b is net.grad_biases
    first = [g.copy() for g in grad_w]
    again, _, _ = net.backward(np.zeros((2, 6, 2)))
    assert again[0] is grad_w[0]
    assert all(np.all(g == 0) for g in again) and not all(np.all(g == 0) for g in first)


def test_first_nonfinite_names_layer_and_quantity():
    net = MLP([2, 3, 3, 2], activation="relu", seeds=[0, 1, 2])
    net.biases[1][1, 0] = np.nan
    net.weights[0][2] *= 1e300
    with np.errstate(all="ignore"):
        net.forward(np.full((4, 2), 1e10))
    assert net.first_nonfinite(0) == (-1, "")
    assert net.first_nonfinite(1) == (2, "biases")
    assert net.first_nonfinite(2) == (1, "pre-activations")
    with pytest.raises(ValueError, match="member"):
        net.first_nonfinite(3)


# --- the ensemble axis must match -----------------------------------------------------------------

def test_input_with_another_number_of_members_is_refused():
    net = MLP([3, 4, 2], seeds=0)
    with pytest.raises(ValueError, match=r"X must have shape .*\(1, batch, 3\)"):
        net.forward(np.zeros((5, 4, 3)))  # a 5-member batch for a 1-member network
    ok = MLP([3, 4, 2], seeds=[0, 1]).forward(np.zeros((2, 4, 3)))
    assert ok.shape == (2, 4, 2)


def test_grad_output_must_have_the_shape_of_the_output():
    net = MLP([3, 4, 2], seeds=[0, 1])
    net.forward(np.zeros((5, 3)))
    for bad in (np.zeros((5, 2)), np.zeros((1, 5, 2)), np.zeros((2, 5, 3))):
        with pytest.raises(ValueError, match="grad_output"):
            net.backward(bad)


@pytest.mark.parametrize("X, error", [(np.full((2, 3), np.nan), ValueError), (np.zeros((0, 3)), ValueError),
                                      (np.array([["a", "b", "c"]]), TypeError), (np.full((2, 3), 1e39), ValueError)])
def test_forward_refuses_bad_inputs(X, error):
    with pytest.raises(error, match="X"):
        MLP([3, 4, 2], seeds=0, dtype="float32").forward(X)


def test_repeated_seeds_are_refused():
    with pytest.raises(ValueError, match="distinct"):
        MLP([3, 4, 2], seeds=[0, 0])


def test_member_index_is_checked():
    net = MLP([3, 4, 2], seeds=[10, 11, 12])
    np.testing.assert_array_equal(net.member(-1).weights[0], net.weights[0][2:])
    for bad, error in ((3, ValueError), (-4, ValueError), (1.0, TypeError)):
        with pytest.raises(error, match="index"):
            net.member(bad)


def test_member_is_built_by_the_constructor():
    # no attribute sharing with the ensemble (it used to be a __dict__ copy)
    net = MLP([3, 4, 2], activation="relu", seeds=[10, 11], dtype="float32")
    net.forward(np.zeros((5, 3)))
    m = net.member(1)
    assert m.activations == net.activations and m.dtype == net.dtype and m.matmul is net.matmul
    assert m.grad_weights == [] and m._work is not net._work


@pytest.mark.parametrize("init, match", [(lambda shape, rng=None: np.zeros((2, 2)), "shape"),
                                         (lambda shape, rng=None: np.full(shape, np.inf), "finite")])
def test_a_custom_initializer_is_checked(init, match):
    with pytest.raises(ValueError, match=match):
        MLP([3, 4, 2], weight_init=init, seeds=0)


def test_a_bias_init_that_takes_fan_in_gets_its_layers():
    """PyTorch's nn.Linear default: weights and biases U(+-1/sqrt(fan_in)), each layer its own fan-in."""
    sizes = [30, 200, 12, 5]
    net = MLP(sizes, weight_init="pytorch_default", bias_init="pytorch_default", seeds=range(300))
    for l, fan_in in enumerate(sizes[:-1]):
        b = net.biases[l]
        assert np.abs(b).max() <= 1 / np.sqrt(fan_in) and np.abs(b).max() >= 0.99 / np.sqrt(fan_in)
        se = (1 / (3 * fan_in)) * np.sqrt(0.8 / b.size)            # a uniform's kurtosis is 1.8
        assert abs(b.var() - 1 / (3 * fan_in)) <= 6 * se, (l, b.var())
    seen = []

    def custom(shape, rng=None, *, fan_in):
        seen.append((shape, fan_in))
        return np.zeros(shape)

    MLP(sizes, bias_init=custom)
    assert seen == [((200,), 30), ((12,), 200), ((5,), 12)]
    # an initializer without a fan_in option is called as before
    np.testing.assert_array_equal(MLP(sizes, bias_init="ones").biases[1], np.ones((1, 12)))


@pytest.mark.parametrize("norm", [None, "layer", "batch"])
def test_predict_is_forward_to_the_bit_and_keeps_nothing(norm):
    X = np.random.default_rng(0).normal(size=(50, 6))
    net = MLP([6, 16, 16, 3], activation="relu", seeds=[0, 1, 2], dtype="float32", norm=norm)
    Xb = X[:8]
    net.forward(Xb, training=True)                       # a training pass, whose cache backward will use
    kept = [a.copy() for a in net._pre]
    work = {k: id(v) for k, v in net._work.items()}
    out = net.predict(X)
    assert [a.shape for a in net._pre] == [a.shape for a in kept]   # backward still sees the training pass
    assert all(np.array_equal(a, b) for a, b in zip(net._pre, kept))
    assert {k: id(v) for k, v in net._work.items()} == work         # no work array made for the full data
    np.testing.assert_array_equal(out, net.forward(X))              # inference mode: the same numbers
    with pytest.raises(ValueError, match="X must have shape"):
        net.predict(np.zeros((4, 5)))


@pytest.mark.parametrize("norm", [None, "layer"])
def test_predict_holds_a_layer_or_two_not_all_of_them(norm):
    """predict's peak memory does not grow with depth: 20 layers held by forward, a couple by predict."""
    import tracemalloc

    net = MLP([16] + [64] * 20 + [4], activation="relu", norm=norm, seeds=range(2))
    X = np.random.default_rng(0).normal(size=(500, 16))
    peaks = {}
    for name, run in (("predict", net.predict), ("forward", net.forward)):
        tracemalloc.start()
        run(X)
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert peaks["predict"] < peaks["forward"] / 5, peaks
