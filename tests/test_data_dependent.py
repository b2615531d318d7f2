"""winit_edu.data_dependent.lsuv: Mishkin and Matas's Algorithm 1, against the loop written out, member by member."""
import inspect
import itertools

import numpy as np
import pytest

from winit_edu import MLP, ResidualMLP, get_initializer, lsuv


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
