"""ResidualMLP: backward against finite differences, the residual-stream variance, and training with train()."""
import numpy as np
import pytest

from gradcheck import numerical_gradient
from winit_edu import ResidualTrace, get_initializer, make_xor, train
from winit_edu.losses import get_loss
from winit_edu.residual import ResidualMLP


def check_gradients(net, X, y):
    """Every array of net.gradients() against central differences of the summed per-member losses."""
    loss = get_loss("cross_entropy")

    def total():
        return loss(net.forward(X), y)[0].sum()

    net.backward(loss(net.forward(X), y)[1])
    analytic = [a.copy() for a in net.gradients()]
    assert len(analytic) == len(net.parameters())
    for p, a in zip(net.parameters(), analytic):
        np.testing.assert_allclose(a, numerical_gradient(total, p), rtol=1e-5, atol=1e-8)
    return analytic


# Every configuration ResidualMLP allows: norm (none, pre-norm, post-norm) x branch depth x fixed or learnable scales
# x activation, two members with different scales, one of them 0 (ReZero's start when learnable). Small and float64:
# the whole grid takes ~3 s.
@pytest.mark.parametrize("activation", ["relu", "tanh", "gelu"])
@pytest.mark.parametrize("learn", [False, True])
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("norm", [None, "layer", "post_layer"])
def test_backward_matches_finite_differences(activation, depth, norm, learn):
    rng = np.random.default_rng(0)
    net = ResidualMLP(3, 4, 2, 2, activation=activation, branch_depth=depth, norm=norm, seeds=[0, 1],
                      branch_scale=[0.0, 1.3], learn_branch_scale=learn, bias_init=get_initializer("normal", std=0.1))
    X, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    analytic = check_gradients(net, X, y)
    branch = [a for l in range(1, net.n_layers - 1) for a in analytic[2 * l:2 * l + 2]]
    assert all(np.all(g[0] == 0) for g in branch)          # alpha = 0: member 0's branches get no gradient
    assert all(np.any(g[1] != 0) for g in branch if g.ndim == 3)
    if learn:                                               # ... but its gates do: ReZero's first step
        assert len(analytic) == 2 * net.n_layers + net.n_blocks
        assert all(np.all(g != 0) for g in analytic[2 * net.n_layers:])
        for k in range(net.n_blocks):                       # distinct scales in every block and member, none 0
            net.alphas[k][:] = [0.4 + 0.3 * k, -0.8 + 0.5 * k]
        check_gradients(net, X, y)
    else:
        assert len(analytic) == 2 * net.n_layers


def test_gates_of_fixed_members_get_no_gradient():
    X, y = np.random.default_rng(1).standard_normal((5, 3)), np.array([0, 1, 1, 0, 1])
    net = ResidualMLP(3, 4, 3, 2, seeds=[0, 1], branch_scale=[0.5, 0.0], learn_branch_scale=[False, True],
                      bias_init=get_initializer("normal", std=0.1))
    loss = get_loss("cross_entropy")
    net.backward(loss(net.forward(X), y)[1])
    grads = [g.copy() for g in net.gradients()]
    for p, g in zip(net.parameters(), grads):   # the weights of both members and member 1's gates: true gradients
        numeric = numerical_gradient(lambda: loss(net.forward(X), y)[0].sum(), p)
        if p.ndim == 1 and p.shape == (2,) and any(p is a for a in net.alphas):
            assert g[0] == 0 and numeric[0] != 0            # member 0's gates are constants: no gradient, by design
            numeric[0] = 0.0
        np.testing.assert_allclose(g, numeric, rtol=1e-5, atol=1e-8)
    assert all(g[1] != 0 for g in grads[2 * net.n_layers:])


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
    u, inv, inputs, pre, _ = net._cache["blocks"][0]
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
    (dict(norm="batch"), ValueError, r"norm must be None, 'layer' \(pre-norm\) or 'post_layer' \(post-norm\)"),
    (dict(norm="post"), ValueError, "norm must be None, 'layer'"),
    (dict(branch_scale=[1.0, 2.0, 3.0]), ValueError, "branch_scale must be"),
    (dict(branch_scale=float("nan")), ValueError, "branch_scale must be"),
    (dict(activation="swish"), ValueError, "activation must be one of"),
    (dict(seeds=[1, 1]), ValueError, "seeds must be distinct"),
    (dict(width=2.5), TypeError, "width"),
    (dict(norm_eps=-1e-5), ValueError, "norm_eps must be >= 0"),
    (dict(norm_eps="1e-5"), TypeError, "norm_eps must be a real number"),
    (dict(learn_branch_scale="yes"), TypeError, "learn_branch_scale must be True or False"),
    (dict(learn_branch_scale=1), TypeError, "learn_branch_scale must be True or False"),
    (dict(learn_branch_scale=[True, 0]), TypeError, "learn_branch_scale must be True or False"),
    (dict(learn_branch_scale=[True, False, True]), ValueError, r"one of them per member \(2\)"),
    (dict(learn_branch_scale=[[True, False]]), ValueError, "learn_branch_scale must be True, False or one"),
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
    original, original_predict, modes = net.forward, net.predict, []

    def spy(X, masks=None, training=False):
        modes.append(training)
        return original(X, masks=masks, training=training)

    def spy_predict(X):  # inference, by construction
        modes.append("predict")
        return original_predict(X)

    net.forward, net.predict = spy, spy_predict
    train(net, X, y, epochs=2, batch_size=10)  # 8 steps, evaluations at steps 0, 4, 8
    assert modes.count(True) == 8 and modes.count("predict") == 3 and len(modes) == 11


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

    def layer_norm(x):
        c = x - x.mean(axis=-1, keepdims=True)
        return c / np.sqrt((c * c).mean(axis=-1, keepdims=True) + eps)

    pre = layer_norm if net.norm == "layer" else (lambda x: x)       # N in front of the branches and the read-out
    post = layer_norm if net.norm == "post_layer" else (lambda x: x)  # LN after the addition
    stream, branches = [X @ W[0] + b[0][:, None, :]], []
    for k in range(net.n_blocks):
        a = pre(stream[-1])
        for j in range(m):
            z = a @ W[1 + k * m + j] + b[1 + k * m + j][:, None, :]
            a = f(z) if j < m - 1 else z
        branches.append(a)
        stream.append(post(stream[-1] + alpha * a))
    return stream, branches, pre(stream[-1]) @ W[-1] + b[-1][:, None, :]


@pytest.mark.parametrize("norm, eps", [(None, 1e-5), ("layer", 1e-5), ("layer", 0.0), ("post_layer", 1e-5),
                                       ("post_layer", 0.0)])
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
    if norm == "post_layer":
        return
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


# ---- learnable branch scales (ReZero) ----

def rezero_batch():
    X, y = make_xor(64, rng=0)
    return X, y


def test_fixed_scales_are_unchanged_to_the_bit():
    # learn_branch_scale=False is the default; with True, the same start computes the same pass and the same
    # weight gradients to the bit (alpha_k * F equals alpha * F), and only adds the gates to parameters().
    X, y = rezero_batch()
    args = dict(n_in=2, width=6, n_blocks=3, n_out=2, activation="tanh", seeds=[0, 1], branch_scale=[0.5, 1.0],
                norm="layer")
    fixed, learned = ResidualMLP(**args, learn_branch_scale=False), ResidualMLP(**args, learn_branch_scale=True)
    default = ResidualMLP(**args)
    np.testing.assert_array_equal(default.forward(X), fixed.forward(X))
    assert fixed.alphas == [] and len(fixed.parameters()) == 2 * fixed.n_layers
    t_fixed, t_learned = fixed.trace(X, labels=y), learned.trace(X, labels=y)
    np.testing.assert_array_equal(t_fixed.output, t_learned.output)
    for a, b in zip(t_fixed.stream + t_fixed.grad_weights + t_fixed.grad_biases + t_fixed.grad_stream,
                    t_learned.stream + t_learned.grad_weights + t_learned.grad_biases + t_learned.grad_stream):
        np.testing.assert_array_equal(a, b)
    assert t_fixed.grad_alphas == [] and len(t_learned.grad_alphas) == 3
    for k in range(3):
        np.testing.assert_array_equal(t_fixed.branch_scales[k], fixed.branch_scale)
        np.testing.assert_array_equal(t_learned.branch_scales[k], learned.alphas[k])
    np.testing.assert_array_equal(fixed.scales, np.repeat(fixed.branch_scale[:, None], 3, axis=1))


@pytest.mark.parametrize("train_args", [dict(lr=0.05, momentum=0.9), dict(lr=0.01, optimizer="adam")])
def test_fixed_members_of_a_mixed_ensemble_train_as_alone(train_args):
    # a fixed-scale network concatenated with a ReZero one: its gates get zero gradients, SGD, momentum and Adam
    # leave them at branch_scale, and its losses are those of the fixed network trained alone, to the bit
    X, y = make_xor(100, rng=0)
    fixed = ResidualMLP(2, 8, 3, 2, seeds=[0, 1], branch_scale=0.5)
    rezero = ResidualMLP(2, 8, 3, 2, seeds=[0, 1], branch_scale=0.0, learn_branch_scale=True)
    joined = ResidualMLP.concatenate([fixed, rezero])
    assert list(joined.learn_branch_scale) == [False, False, True, True] and len(joined.alphas) == 3
    h = train(joined, X, y, epochs=2, batch_size=20, **train_args)
    alone = train(ResidualMLP(2, 8, 3, 2, seeds=[0, 1], branch_scale=0.5), X, y, epochs=2, batch_size=20, **train_args)
    np.testing.assert_array_equal(h.step_loss[:, :2], alone.step_loss)
    assert np.all(joined.scales[:2] == 0.5) and np.all(joined.scales[2:] != 0)
    rezero_alone = train(rezero, X, y, epochs=2, batch_size=20, **train_args)
    np.testing.assert_array_equal(h.step_loss[:, 2:], rezero_alone.step_loss)


def test_rezero_starts_as_the_identity_and_only_its_gates_move_at_first():
    # Bachlechner et al. (2020): with alpha_k = 0 the branch parameters get zero gradients at the start, but
    # dL/dalpha_k = sum (dL/dx_{k+1}) F_k(x_k) does not vanish, so one step opens the gates and the next one
    # reaches the branch weights.
    X, y = rezero_batch()
    net = ResidualMLP(2, 8, 4, 2, seeds=[0, 1, 2], branch_scale=0.0, learn_branch_scale=True)
    x0 = X @ net.weights[0] + net.biases[0][:, None, :]
    np.testing.assert_array_equal(net.forward(X), x0 @ net.weights[-1] + net.biases[-1][:, None, :])
    t = net.trace(X, labels=y)
    branch = range(1, net.n_layers - 1)
    assert all(np.all(t.grad_weights[l] == 0) and np.all(t.grad_biases[l] == 0) for l in branch)
    for k in range(net.n_blocks):                   # dL/dalpha_k by hand, from the trace: g_{k+1} . F_k
        g_next = t.grad_stream[k + 1] if k + 1 < net.n_blocks else None
        if g_next is not None:
            np.testing.assert_allclose(t.grad_alphas[k], (g_next * t.branch_outputs[k]).sum(axis=(1, 2)), rtol=1e-12)
        assert np.all(t.grad_alphas[k] != 0)
    before = [w.copy() for w in net.weights]
    steps = []
    train(net, X, y, lr=0.1, batch_size=64, epochs=2, callback=lambda step, n: steps.append(n.scales.copy()))
    assert np.all(steps[0] != 0)                   # step 1 moved every gate off 0 ...
    assert all(np.array_equal(net.weights[l], before[l]) is False for l in branch)   # ... and then the branches


def test_rezero_trains_where_a_fixed_zero_does_not_move_the_branches():
    X, y = make_xor(200, rng=0)
    args = dict(n_in=2, width=16, n_blocks=3, n_out=2, activation="tanh", seeds=[0, 1], branch_scale=0.0)
    fixed, rezero = ResidualMLP(**args), ResidualMLP(**args, learn_branch_scale=True)
    before = [w.copy() for w in fixed.weights]
    h_fixed = train(fixed, X, y, lr=0.05, optimizer="adam", epochs=20, batch_size=20)
    h_rezero = train(rezero, X, y, lr=0.05, optimizer="adam", epochs=20, batch_size=20)
    assert all(np.array_equal(fixed.weights[l], before[l]) for l in range(1, fixed.n_layers - 1))
    assert np.all(np.abs(rezero.scales) > 0.01)
    assert np.all(h_rezero.train_loss[-1] < 0.5 * h_fixed.train_loss[-1])   # XOR needs the nonlinear branches


def test_rezero_with_zero_branches_never_starts():
    # both factors zero: alpha_k's gradient is g . F_k = 0 and the last layer's is alpha_k h^T g = 0
    X, y = rezero_batch()
    net = ResidualMLP(2, 8, 2, 2, seeds=[0, 1], branch_scale=0.0, learn_branch_scale=True, last_init="zeros")
    train(net, X, y, lr=0.1, epochs=3, batch_size=16)
    assert np.all(net.scales == 0) and all(np.all(net.weights[l] == 0) for l in (2, 4))


def test_member_and_concatenate_carry_the_gates():
    X = np.random.default_rng(5).standard_normal((4, 3))
    net = ResidualMLP(3, 5, 2, 2, seeds=[3, 4, 5], branch_scale=[0.0, 0.5, 1.0], learn_branch_scale=True,
                      norm="layer", norm_eps=0.0)
    for k in range(2):
        net.alphas[k][:] = [0.1 * k, 0.7, -0.2 - k]              # as if trained
    out = net.forward(X)
    for s in range(3):
        single = net.member(s)
        assert single.seeds == [net.seeds[s]] and single.n_members == 1 and single.norm_eps == 0.0
        np.testing.assert_array_equal(single.scales, net.scales[s:s + 1])
        np.testing.assert_allclose(single.forward(X), out[s:s + 1], rtol=1e-12, atol=1e-12)
        assert len(single.parameters()) == len(net.parameters())
        single.alphas[0][:] = 9.0
        assert net.alphas[0][s] != 9.0                           # a copy
    np.testing.assert_array_equal(net.member(-1).scales, net.scales[2:])
    rejoined = ResidualMLP.concatenate([net.member(s) for s in range(3)])
    np.testing.assert_array_equal(rejoined.scales, net.scales)
    np.testing.assert_allclose(rejoined.forward(X), out, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="index must be in"):
        net.member(3)
    with pytest.raises(TypeError, match="index must be an int"):
        net.member(1.0)


def test_grad_norm_and_per_array_rates_see_the_gates():
    X, y = make_xor(40, rng=0)
    net = ResidualMLP(2, 4, 2, 2, seeds=[0, 1], branch_scale=0.0, learn_branch_scale=True)
    L = net.n_layers
    rates = [0.1] * (2 * L) + [0.0001, 0.5]                     # one rate per array: the gates last
    h = train(net, X, y, lr=rates, epochs=1, batch_size=20, grad_norm=True)
    assert h.grad_norm.shape == (2, 2 * L + 2, 2)
    assert np.all(h.grad_norm[0, :2 * L][2:2 * L - 2] == 0)   # step 0: the branch arrays, zero
    assert np.all(h.grad_norm[0, 2 * L:] > 0)                   # ... the gates, not
    assert np.all(np.abs(net.alphas[0]) < np.abs(net.alphas[1]))
    with pytest.raises(ValueError, match="one rate per parameter array"):
        train(net, X, y, lr=[0.1] * (2 * L), epochs=1, batch_size=20)


def test_first_nonfinite_names_a_gate():
    net = ResidualMLP(2, 4, 3, 2, branch_depth=2, seeds=[0, 1], learn_branch_scale=True)
    assert net.first_nonfinite(1) == (-1, "")
    net.alphas[1][1] = np.inf
    assert net.first_nonfinite(1) == (5, "branch scales") and net.first_nonfinite(0) == (-1, "")


def test_residual_bias_init_gets_each_layers_fan_in():
    seen = []

    def custom(shape, rng=None, *, fan_in):
        seen.append((shape, fan_in))
        return np.zeros(shape)

    ResidualMLP(5, 8, 2, 3, branch_depth=2, bias_init=custom)            # n_in 5, width 8, 2 blocks, 3 outputs
    assert seen == [((8,), 5)] + [((8,), 8)] * 4 + [((3,), 8)]


@pytest.mark.parametrize("norm", [None, "layer", "post_layer"])
def test_residual_predict_is_forward_to_the_bit_and_keeps_nothing(norm):
    X = np.random.default_rng(0).normal(size=(40, 5))
    net = ResidualMLP(5, 8, 3, 2, seeds=[0, 1], norm=norm, learn_branch_scale=True, branch_scale=0.5)
    net.forward(X[:4])
    cache = net._cache
    out = net.predict(X)
    assert net._cache is cache                                      # backward still sees the last forward
    np.testing.assert_array_equal(out, net.forward(X))


# ---- post-norm ----

@pytest.mark.parametrize("eps", [1e-5, 0.0, 0.5])
def test_post_norm_stream_is_normalized_after_every_block(eps):
    # x_(k+1) = LN(s_k): per example, mean 0 and mean square var(s_k) / (var(s_k) + eps), so exactly 1 when eps = 0;
    # x_0, the embedding, is not normalized. A loud embedding (std 3) and a quiet one (std 0.01) show eps's share.
    X = np.random.default_rng(6).standard_normal((9, 5))
    for std in (3.0, 0.01):
        net = ResidualMLP(5, 16, 4, 3, activation="tanh", norm="post_layer", norm_eps=eps, seeds=[0, 1],
                          weight_init=get_initializer("normal", std=std), branch_init="lecun_normal",
                          bias_init=get_initializer("normal", std=0.1))
        t = net.trace(X)
        assert np.abs(t.stream[0].mean(axis=-1)).max() > 1e-3                 # the embedding: not centred
        for k in range(net.n_blocks):
            x = t.stream[k + 1]
            s = t.stream[k] + net.branch_scale[:, None, None] * t.branch_outputs[k]   # the sum the block normalizes
            var = s.var(axis=-1)
            np.testing.assert_allclose(x.mean(axis=-1), 0.0, atol=1e-14)
            np.testing.assert_allclose((x * x).mean(axis=-1), var / (var + eps), rtol=1e-12)
            if eps == 0.0:
                np.testing.assert_allclose((x * x).mean(axis=-1), 1.0, rtol=1e-12)
        np.testing.assert_allclose(t.output, t.stream[-1] @ net.weights[-1] + net.biases[-1][:, None, :],
                                   rtol=1e-12, atol=1e-14)                      # no second LN before the read-out


def test_post_norm_members_and_concatenate_keep_the_placement():
    X = np.random.default_rng(7).standard_normal((4, 3))
    net = ResidualMLP(3, 6, 3, 2, norm="post_layer", seeds=[0, 1], learn_branch_scale=True, branch_scale=0.5)
    out = net.forward(X)
    single = net.member(1)
    assert single.norm == "post_layer"
    np.testing.assert_allclose(single.forward(X), out[1:], rtol=1e-12, atol=1e-12)
    joined = ResidualMLP.concatenate([net.member(0), single])
    np.testing.assert_allclose(joined.forward(X), out, rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="nets must agree"):
        ResidualMLP.concatenate([net, ResidualMLP(3, 6, 3, 2, norm="layer", seeds=[2, 3])])
