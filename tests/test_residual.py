"""ResidualMLP: backward against finite differences, the residual-stream variance, and training with train()."""
import numpy as np
import pytest

from gradcheck import numerical_gradient
from winit_edu import ResidualTrace, get_initializer, make_xor, train
from winit_edu.losses import get_loss
from winit_edu.residual import ResidualMLP


@pytest.mark.parametrize("activation, depth, norm", [("tanh", 2, None), ("relu", 2, "layer"), ("tanh", 3, "layer"),
                                                     ("relu", 1, None)])
def test_backward_matches_finite_differences(activation, depth, norm):
    rng = np.random.default_rng(0)
    net = ResidualMLP(3, 5, 2, 2, activation=activation, branch_depth=depth, norm=norm, seeds=[0, 1],
                      branch_scale=[0.7, 1.3], bias_init=get_initializer("normal", std=0.1))
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    loss = get_loss("cross_entropy")

    def total():
        return loss(net.forward(X), y)[0].sum()

    _, g = loss(net.forward(X), y)
    grad_w, grad_b, _ = net.backward(g)
    analytic = [a.copy() for pair in zip(grad_w, grad_b) for a in pair]
    for p, a in zip(net.parameters(), analytic):
        np.testing.assert_allclose(a, numerical_gradient(total, p), rtol=1e-5, atol=1e-8)


def test_zero_last_layer_makes_every_block_the_identity():
    net = ResidualMLP(4, 8, 5, 3, last_init="zeros", seeds=[0, 1])
    X = np.random.default_rng(1).standard_normal((10, 4))
    x0 = X @ net.weights[0] + net.biases[0][:, None, :]
    expected = x0 @ net.weights[-1] + net.biases[-1][:, None, :]
    np.testing.assert_allclose(net.forward(X), expected, rtol=1e-12)


@pytest.mark.parametrize("alpha", [1.0, 0.3])
def test_he_branches_grow_the_stream_by_1_plus_2_alpha_squared(alpha):
    # ReLU branch W2 relu(W1 x), both He: E[r^2] = 2 E[x^2] (x is not rectified), E[x r] = 0,
    # so q_{k+1} = (1 + 2 alpha^2) q_k. Width 1000, 40 seeds x 200 inputs: relative error ~1.5%.
    X = np.random.default_rng(2).standard_normal((200, 1000))
    net = ResidualMLP(1000, 1000, 1, 2, seeds=range(8), branch_scale=alpha, weight_init="lecun_normal",
                      branch_init="he_normal", dtype="float32")
    net.forward(X)
    stream_in = net._cache["stream"][0]
    u, inv, inputs, pre = net._cache["blocks"][0]
    stream_out = stream_in + alpha * pre[-1]
    ratio = np.mean(stream_out.astype(float) ** 2) / np.mean(stream_in.astype(float) ** 2)
    assert abs(ratio / (1 + 2 * alpha ** 2) - 1) < 0.05


def test_trains_with_train_and_a_per_member_rate():
    X, y = make_xor(200, rng=0)
    net = ResidualMLP(2, 16, 3, 2, activation="tanh", seeds=[0, 1], branch_scale=0.5, last_init="zeros")
    hist = train(net, X, y, member_lr=[0.05, 0.1], optimizer="adam", epochs=30, batch_size=20)
    assert (hist.train_loss[-1] < 0.5 * hist.train_loss[0]).all()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(n_blocks=0), ValueError, "n_blocks"),
    (dict(branch_depth=0), ValueError, "branch_depth"),
    (dict(norm="batch"), ValueError, "norm must be None or 'layer'"),
    (dict(branch_scale=[1.0, 2.0, 3.0]), ValueError, "branch_scale must be"),
    (dict(branch_scale=float("nan")), ValueError, "branch_scale must be"),
    (dict(activation="swish"), ValueError, "activation must be one of"),
    (dict(seeds=[1, 1]), ValueError, "seeds must be distinct"),
    (dict(width=2.5), TypeError, "width"),
    (dict(norm_eps=-1e-5), ValueError, "norm_eps must be >= 0"),
    (dict(norm_eps="1e-5"), TypeError, "norm_eps must be a real number"),
])
def test_bad_arguments(kwargs, error, match):
    args = dict(n_in=2, width=4, n_blocks=2, n_out=2, seeds=[0, 1])
    args.update(kwargs)
    with pytest.raises(error, match=match):
        ResidualMLP(**args)


def test_forward_checks_and_backward_order():
    net = ResidualMLP(2, 4, 1, 2)
    with pytest.raises(RuntimeError, match="forward before backward"):
        net.backward(np.zeros((1, 3, 2)))
    with pytest.raises(ValueError, match="X must have shape"):
        net.forward(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="dropout"):
        net.forward(np.zeros((3, 2)), masks=[np.ones(4)])
    X, y = make_xor(40, rng=0)
    with pytest.raises(ValueError, match="dropout"):
        train(net, X, y, dropout=0.5, epochs=1, batch_size=10)


def test_training_flag_is_accepted_and_changes_nothing():
    net = ResidualMLP(2, 6, 2, 2, activation="tanh", seeds=[0, 1], norm="layer")
    X = np.random.default_rng(0).normal(size=(5, 2))
    np.testing.assert_array_equal(net.forward(X, training=True), net.forward(X))  # layer norm: same in both modes
    t_train, t_eval = net.trace(X, labels=np.zeros(5, int), training=True), net.trace(X, labels=np.zeros(5, int))
    for a, b in zip(t_train.grad_weights + t_train.stream, t_eval.grad_weights + t_eval.stream):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TypeError, match="training"):
        net.forward(X, training="yes")
    with pytest.raises(TypeError, match="training"):
        net.trace(X, training=1)


def test_train_runs_its_steps_in_training_mode_and_evaluates_in_inference_mode():
    X, y = make_xor(40, rng=0)
    net = ResidualMLP(2, 4, 1, 2, seeds=[0, 1])
    original, modes = net.forward, []

    def spy(X, masks=None, training=False):
        modes.append(training)
        return original(X, masks=masks, training=training)

    net.forward = spy
    train(net, X, y, epochs=2, batch_size=10)  # 8 steps, evaluations at steps 0, 4, 8
    assert modes.count(True) == 8 and modes.count(False) == 3


def test_gradients_are_the_backward_arrays_in_parameter_order():
    net = ResidualMLP(2, 4, 2, 2, seeds=[0, 1])
    with pytest.raises(RuntimeError, match="backward"):
        net.gradients()
    grad_w, grad_b, _ = net.backward(get_loss("cross_entropy")(net.forward(np.ones((3, 2))), np.zeros(3, int))[1])
    grads = net.gradients()
    assert len(grads) == len(net.parameters())
    assert all(g is e for g, e in zip(grads, [a for pair in zip(grad_w, grad_b) for a in pair]))
    assert all(g.shape == p.shape for g, p in zip(grads, net.parameters()))


@pytest.mark.parametrize("value, error, match", [(-1e-5, ValueError, "norm_eps must be >= 0"),
                                                 (float("nan"), ValueError, "norm_eps must be finite"),
                                                 ("1e-5", TypeError, "norm_eps must be a real number")])
def test_norm_eps_assignment_is_checked(value, error, match):
    net = ResidualMLP(2, 4, 1, 2, norm="layer")
    with pytest.raises(error, match=match):
        net.norm_eps = value
    assert net.norm_eps == 1e-5
    net.norm_eps = 0  # the exact scale-free map
    assert net.norm_eps == 0.0 and type(net.norm_eps) is float


def test_concatenate_trains_like_the_parts():
    X, y = make_xor(100, rng=0)
    parts = [ResidualMLP(2, 8, 2, 2, seeds=[0, 1], branch_scale=a, last_init=li)
             for a, li in ((1.0, None), (0.5, "zeros"))]
    joined = ResidualMLP.concatenate(parts)
    assert joined.seeds == [0, 1, 0, 1] and list(joined.branch_scale) == [1.0, 1.0, 0.5, 0.5]
    h = train(joined, X, y, lr=0.05, epochs=2, batch_size=20)
    for k, part in enumerate(parts):
        assert np.array_equal(h.step_loss[:, 2 * k:2 * k + 2], train(part, X, y, lr=0.05, epochs=2, batch_size=20).step_loss)
    with pytest.raises(ValueError, match="nets must agree"):
        ResidualMLP.concatenate([parts[0], ResidualMLP(2, 8, 3, 2)])
    with pytest.raises(TypeError, match=r"nets\[1\] must be a ResidualMLP"):
        ResidualMLP.concatenate([parts[0], "x"])


def reference_stream(net, X, eps):
    """x_0 .. x_K and F_k(N(x_k)) written out from the equations of the module docstring."""
    W, b, m, f = net.weights, net.biases, net.branch_depth, net.activation.f
    alpha = net.branch_scale[:, None, None]

    def norm(x):
        c = x - x.mean(axis=-1, keepdims=True)
        return c / np.sqrt((c * c).mean(axis=-1, keepdims=True) + eps) if net.norm == "layer" else x

    stream, branches = [X @ W[0] + b[0][:, None, :]], []
    for k in range(net.n_blocks):
        a = norm(stream[-1])
        for j in range(m):
            z = a @ W[1 + k * m + j] + b[1 + k * m + j][:, None, :]
            a = f(z) if j < m - 1 else z
        branches.append(a)
        stream.append(stream[-1] + alpha * a)
    return stream, branches, norm(stream[-1]) @ W[-1] + b[-1][:, None, :]


@pytest.mark.parametrize("norm, eps", [(None, 1e-5), ("layer", 1e-5), ("layer", 0.0)])
def test_trace_is_the_stream_of_the_equations_and_of_forward(norm, eps):
    X = np.random.default_rng(3).standard_normal((7, 3))
    net = ResidualMLP(3, 6, 4, 2, activation="tanh", branch_depth=3, norm=norm, norm_eps=eps, seeds=[0, 1, 2],
                      branch_scale=[1.0, 0.5, 0.2], bias_init=get_initializer("normal", std=0.1))
    t = net.trace(X)
    assert isinstance(t, ResidualTrace) and len(t.stream) == 5 and len(t.branch_outputs) == 4
    assert t.grad_stream == [] and t.grad_weights == []
    np.testing.assert_array_equal(t.output, net.forward(X))                 # the same pass, to the bit
    stream, branches, logits = reference_stream(net, X, eps)
    for ours, ref in zip(t.stream + t.branch_outputs + [t.output], stream + branches + [logits]):
        assert ours.shape == (3, 7, ref.shape[-1])
        np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-12)
    for k in range(4):                                                      # x_(k+1) = x_k + alpha F_k, exactly
        np.testing.assert_array_equal(t.stream[k + 1], t.stream[k] + net.branch_scale[:, None, None] * t.branch_outputs[k])


def test_trace_members_are_the_single_seed_networks():
    X = np.random.default_rng(4).standard_normal((5, 3))
    args = dict(n_in=3, width=8, n_blocks=3, n_out=2, norm="layer")
    t = ResidualMLP(**args, seeds=[4, 7, 9]).trace(X)
    for s, seed in enumerate([4, 7, 9]):
        alone = ResidualMLP(**args, seeds=seed).trace(X)
        for ours, single in zip(t.stream + [t.output], alone.stream + [alone.output]):
            np.testing.assert_allclose(ours[s], single[0], rtol=1e-12, atol=1e-12)


def test_trace_gradients_are_backwards_and_owned():
    X, y = make_xor(12, rng=0)
    net = ResidualMLP(2, 5, 2, 2, norm="layer", seeds=[0, 1])
    t = net.trace(X, labels=y)
    _, g = get_loss("cross_entropy")(net.forward(X), y)
    grad_w, grad_b, grad_stream = net.backward(g)
    for ours, ref in zip(t.grad_weights + t.grad_biases + t.grad_stream, grad_w + grad_b + grad_stream):
        np.testing.assert_array_equal(ours, ref)
    assert len(t.grad_stream) == 2
    first = [x.copy() for x in t.stream]
    net.trace(X[::-1] * 2.0)
    assert all(np.array_equal(a, b) for a, b in zip(first, t.stream))       # a later pass leaves the trace alone
