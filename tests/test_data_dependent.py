"""winit_edu.data_dependent: lsuv (Mishkin and Matas's Algorithm 1, against the loop written out, member by
member) and per_unit_init (every unit centred by its bias and scaled to unit variance on a batch)."""
import inspect
import itertools

import numpy as np
import pytest

from winit_edu import MLP, ResidualMLP, get_initializer, lsuv, per_unit_init


def batch(n=128, d=8, seed=0):
    return np.random.default_rng(seed).standard_normal((n, d))


def reference_lsuv(net, X, tol=0.02, max_passes=20):
    """Algorithm 1 for a one-member network, measured with the network's own forward pass."""
    passes = []
    for l in range(net.n_layers):
        for t in range(1, max_passes + 1):
            var = net.trace(X).pre_activations[l][0].var()
            if abs(var - 1) < tol:
                break
            net.weights[l][0] /= np.sqrt(var)
        passes.append(t)
    return passes


@pytest.mark.parametrize("activation", ["tanh", "relu", "gelu"])
def test_every_layer_ends_at_unit_variance_and_members_are_the_single_seed_networks(activation):
    X = batch()
    sizes = [8, 32, 32, 32, 3]
    net = MLP(sizes, activation=activation, weight_init="orthogonal", seeds=[0, 1, 2])
    biases = [b.copy() for b in net.biases]
    passes = lsuv(net, X)
    assert passes.shape == (4,) and passes.dtype.kind == "i" and (passes >= 1).all()
    for z in net.trace(X).pre_activations:
        assert np.all(np.abs(z.var(axis=(1, 2)) - 1) < 0.02)
    assert all(np.array_equal(a, b) for a, b in zip(biases, net.biases))        # biases untouched
    for s in range(3):
        alone = MLP(sizes, activation=activation, weight_init="orthogonal", seeds=s)
        ref_passes = reference_lsuv(alone, X)
        assert max(ref_passes) <= passes.max()
        for w, w_ref in zip(net.weights, alone.weights):
            np.testing.assert_allclose(w[s], w_ref[0], rtol=1e-12)


def test_float32_network_measures_in_its_own_dtype_and_a_batch_per_member():
    X = np.stack([batch(seed=s) for s in range(2)])                            # (S, B, n): one batch per member
    net = MLP([8, 16, 16, 2], activation="silu", weight_init="orthogonal", seeds=[0, 1], dtype="float32")
    lsuv(net, X)
    assert all(w.dtype == np.float32 for w in net.weights)
    assert np.all(np.abs(net.trace(X).pre_activations[-1].var(axis=(1, 2)) - 1) < 0.02)


def test_an_iterator_gives_a_new_batch_to_every_pass():
    net = MLP([8, 16, 16, 2], activation="tanh", weight_init="orthogonal", seeds=[0])
    counter = itertools.count()
    batches = (batch(64, seed=next(counter)) for _ in itertools.count())
    passes = lsuv(net, batches, tol=1e-6, max_passes=3)                       # a tolerance no new batch meets
    assert passes.tolist() == [3, 3, 3] and next(counter) == 9


def test_layers_restricts_the_procedure_and_a_dead_member_is_left_alone():
    X = batch()
    net = MLP([8, 16, 16, 2], activation="relu", weight_init="orthogonal", seeds=[0, 1])
    net.weights[0][1] = 0.0                                                   # member 1: z_0 is zero, Var = 0
    before = [w.copy() for w in net.weights]
    passes = lsuv(net, X, layers=[0, 1])
    assert passes[2] == 0 and np.array_equal(net.weights[2], before[2])
    assert np.array_equal(net.weights[0][1], before[0][1]) and np.isfinite(net.weights[1]).all()
    assert abs(net.trace(X).pre_activations[0][0].var() - 1) < 0.02


def test_biases_larger_than_unit_variance_leave_no_solution_and_use_every_pass():
    X = batch()
    net = MLP([8, 32, 32, 2], activation="tanh", weight_init="orthogonal", seeds=[0],
              bias_init=get_initializer("normal", std=1.5))
    passes = lsuv(net, X, max_passes=7, layers=[1])
    assert passes.tolist() == [0, 7, 0]
    assert abs(net.trace(X).pre_activations[1].var() - 1) >= 0.02


@pytest.mark.parametrize("call, error, match", [
    (lambda net, X: lsuv(ResidualMLP(8, 8, 1, 2), X), TypeError, "net must be an MLP"),
    (lambda net, X: lsuv(MLP([8, 4, 2], norm="layer"), X), ValueError, "no normalization"),
    (lambda net, X: lsuv(net, X, tol=0.0), ValueError, "tol must be > 0"),
    (lambda net, X: lsuv(net, X, tol=1.0), ValueError, "tol must be < 1"),
    (lambda net, X: lsuv(net, X, max_passes=0), ValueError, "max_passes must be >= 1"),
    (lambda net, X: lsuv(net, X, layers=[3]), ValueError, "layers must be <= 1"),
    (lambda net, X: lsuv(net, X[:, :5]), ValueError, "X must have shape"),
    (lambda net, X: lsuv(net, X[:1]), ValueError, "batch >= 2"),
    (lambda net, X: lsuv(net, np.full_like(X, np.nan)), ValueError, "X"),
])
def test_bad_arguments_name_the_argument(call, error, match):
    with pytest.raises(error, match=match):
        call(MLP([8, 4, 2], seeds=[0]), batch())


def test_defaults_are_the_authors_script():   # chapter 18 quotes them
    params = inspect.signature(lsuv).parameters
    assert (params["tol"].default, params["max_passes"].default) == (0.02, 20)


# ---------------------------------------------------------------- per_unit_init


def _unit_stats(net, X):
    """Mean and variance over the batch of every unit's pre-activation: lists of (S, units)."""
    zs = net.trace(X).pre_activations
    return [z.mean(axis=1) for z in zs], [z.var(axis=1) for z in zs]


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu", "gelu"])
def test_per_unit_init_centres_every_unit_at_unit_variance_and_members_are_independent(activation):
    X = batch(200, 8) * 2.5 + 1.0                                          # not standardized
    sizes = [8, 24, 24, 24, 3]
    kwargs = dict(activation=activation, weight_init="orthogonal", bias_init=get_initializer("normal", std=1.5))
    net = MLP(sizes, seeds=[0, 1, 2], **kwargs)
    X_before = X.copy()
    constant = per_unit_init(net, X)
    np.testing.assert_array_equal(X, X_before)                              # the batch is not changed
    assert constant.shape == (3, 4) and constant.dtype.kind == "i" and not constant.any()
    means, variances = _unit_stats(net, X)
    for m, v in zip(means, variances):                                      # every member, layer and unit
        np.testing.assert_allclose(m, 0.0, atol=1e-12)
        np.testing.assert_allclose(v, 1.0, rtol=1e-12)
    for s in range(3):                                                      # each member as if it were alone
        alone = MLP(sizes, seeds=s, **kwargs)
        per_unit_init(alone, X)
        for w, w_alone, b, b_alone in zip(net.weights, alone.weights, net.biases, alone.biases):
            np.testing.assert_allclose(w[s], w_alone[0], rtol=1e-12)
            np.testing.assert_allclose(b[s], b_alone[0], rtol=1e-12, atol=1e-15)


def test_per_unit_init_is_one_affine_step_per_layer():
    # the first layer against the formula written out: w_j / sigma_j, (b_j - mu_j) / sigma_j
    X = batch(100, 8)
    net = MLP([8, 16, 4], activation="sigmoid", weight_init="orthogonal",
              bias_init=get_initializer("normal", std=0.7), seeds=[0, 1])
    W, b = net.weights[0].copy(), net.biases[0].copy()
    z = X @ W + b[:, None, :]
    mu, sd = z.mean(axis=1), z.std(axis=1)
    per_unit_init(net, X, layers=[0])
    np.testing.assert_allclose(net.weights[0], W / sd[:, None, :], rtol=1e-12)
    np.testing.assert_allclose(net.biases[0], (b - mu) / sd, rtol=1e-12, atol=1e-15)


def test_per_unit_init_float32_a_batch_per_member_and_an_iterator():
    X = np.stack([batch(seed=s) for s in range(2)])                        # (S, B, n): one batch per member
    net = MLP([8, 16, 16, 2], activation="silu", weight_init="orthogonal", seeds=[0, 1], dtype="float32")
    per_unit_init(net, X)
    assert all(w.dtype == np.float32 for w in net.weights) and all(b.dtype == np.float32 for b in net.biases)
    z = net.trace(X).pre_activations[-1].astype(np.float64)
    assert np.abs(z.mean(axis=1)).max() < 1e-5 and np.abs(z.var(axis=1) - 1).max() < 1e-5
    counter = itertools.count()
    batches = (batch(64, seed=next(counter)) for _ in itertools.count())
    net = MLP([8, 16, 16, 2], activation="tanh", weight_init="orthogonal", seeds=[0])
    per_unit_init(net, batches, layers=[2, 0])
    assert next(counter) == 2                                               # one new batch per layer treated


def test_per_unit_init_layers_and_a_constant_unit():
    X = batch()
    net = MLP([8, 16, 16, 2], activation="tanh", weight_init="orthogonal", seeds=[0, 1])
    net.weights[1][1, :, 3] = 0.0                            # member 1, unit 3 of layer 1: z = b, constant
    before_w, before_b = [w.copy() for w in net.weights], [b.copy() for b in net.biases]
    constant = per_unit_init(net, X, layers=[0, 1])
    assert constant.tolist() == [[0, 0, 0], [0, 1, 0]]
    np.testing.assert_array_equal(net.weights[2], before_w[2])              # layer 2 not treated
    np.testing.assert_array_equal(net.biases[2], before_b[2])
    np.testing.assert_array_equal(net.weights[1][1, :, 3], before_w[1][1, :, 3])   # the constant unit: unchanged
    assert net.biases[1][1, 3] == before_b[1][1, 3] and np.isfinite(net.weights[1]).all()
    means, variances = _unit_stats(net, X)
    live = np.arange(16) != 3
    np.testing.assert_allclose(variances[1][1, live], 1.0, rtol=1e-12)     # the member's other units: treated
    np.testing.assert_allclose(means[1][0], 0.0, atol=1e-12)


def test_per_unit_init_leaves_units_fed_by_a_dead_layer_alone_in_float64():
    # every input of layer 1 is a dead ReLU unit, so z = b there, with biases whose float64 mean over the batch is
    # not exact (np.std of equal values can come out ~1e-16): they must count as constant, not be divided by ~1e-16
    X = batch()
    net = MLP([8, 16, 16, 2], activation="relu", weight_init="orthogonal", seeds=[0, 1], dtype="float64")
    net.weights[0][...] = 0.0
    net.biases[0][...] = -1.0
    net.biases[1][...] = np.random.default_rng(1).standard_normal(net.biases[1].shape)
    before_w, before_b = net.weights[1].copy(), net.biases[1].copy()
    constant = per_unit_init(net, X)
    assert constant[:, :2].tolist() == [[16, 16], [16, 16]]
    np.testing.assert_array_equal(net.weights[1], before_w)
    np.testing.assert_array_equal(net.biases[1], before_b)


def test_per_unit_init_removes_biases_lsuv_cannot_handle():
    # biases with more than unit variance across units: LSUV has no fixed point, one per-unit pass is exact
    X = batch()
    net = MLP([8, 32, 32, 2], activation="tanh", weight_init="orthogonal", seeds=[0],
              bias_init=get_initializer("normal", std=1.5))
    per_unit_init(net, X, layers=[1])
    z = net.trace(X).pre_activations[1]
    assert abs(z.var() - 1) < 1e-12                                        # all entries, LSUV's measure, too


@pytest.mark.parametrize("call, error, match", [
    (lambda net, X: per_unit_init(ResidualMLP(8, 8, 1, 2), X), TypeError, "net must be an MLP"),
    (lambda net, X: per_unit_init(MLP([8, 4, 2], norm="layer"), X), ValueError, "no normalization"),
    (lambda net, X: per_unit_init(net, X, layers=[2]), ValueError, "layers must be <= 1"),
    (lambda net, X: per_unit_init(net, X, layers=[-1]), ValueError, "layers must be >= 0"),
    (lambda net, X: per_unit_init(net, X, layers=["0"]), TypeError, "layers"),
    (lambda net, X: per_unit_init(net, X[:, :5]), ValueError, "X must have shape"),
    (lambda net, X: per_unit_init(net, X[:1]), ValueError, "batch >= 2"),
    (lambda net, X: per_unit_init(net, np.stack([X] * 3)), ValueError, "X must have shape"),
    (lambda net, X: per_unit_init(net, np.full_like(X, np.inf)), ValueError, "X"),
    (lambda net, X: per_unit_init(net, "not an array"), (TypeError, ValueError), "X"),
])
def test_per_unit_init_bad_arguments_name_the_argument(call, error, match):
    net, X = MLP([8, 4, 2], seeds=[0]), batch()
    before = [w.copy() for w in net.weights]
    with pytest.raises(error, match=match):
        call(net, X)
    assert all(np.array_equal(w, w0) for w, w0 in zip(net.weights, before))   # nothing changed
