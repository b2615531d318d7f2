"""What sweeps need: Adam, one learning rate per member, members initialized differently (MLP.concatenate),
the order of the minibatches separate from the start (order_seeds), and dropout."""
import numpy as np
import pytest

from gradcheck import numerical_gradient
from winit_edu import MLP, get_initializer, make_xor, train
from winit_edu.losses import get_loss


@pytest.fixture(scope="module")
def xor():
    return make_xor(200, rng=0)


def _flat(grads_w, grads_b):
    return [g for pair in zip(grads_w, grads_b) for g in pair]


def test_adam_update_rule(xor):
    # m <- b1 m + (1-b1) g; v <- b2 v + (1-b2) g^2; p <- p - lr m_hat / (sqrt(v_hat) + eps), full batch
    X, y = xor
    lr, (b1, b2), eps = 0.01, (0.8, 0.99), 1e-6
    net, ref = MLP([2, 6, 2], seeds=0), MLP([2, 6, 2], seeds=0)
    train(net, X, y, optimizer="adam", lr=lr, betas=(b1, b2), eps=eps, batch_size=len(X), epochs=4)
    m = [np.zeros_like(p) for p in ref.parameters()]
    v = [np.zeros_like(p) for p in ref.parameters()]
    for t in range(1, 5):
        _, g_out = get_loss("cross_entropy")(ref.forward(X), y)
        for p, mk, vk, g in zip(ref.parameters(), m, v, _flat(*ref.backward(g_out)[:2])):
            mk[...] = b1 * mk + (1 - b1) * g
            vk[...] = b2 * vk + (1 - b2) * g ** 2
            p -= lr * (mk / (1 - b1 ** t)) / (np.sqrt(vk / (1 - b2 ** t)) + eps)
    for a, b in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_adam_first_step_moves_every_weight_by_lr(xor):
    # with bias correction, the first step is lr * g / (|g| + eps): lr in size wherever g is not tiny
    X, y = xor
    net = MLP([2, 6, 2], seeds=0)
    before = [p.copy() for p in net.parameters()]
    train(net, X, y, optimizer="adam", lr=1e-3, eps=1e-12, batch_size=len(X), epochs=1)
    step = np.abs(net.weights[0] - before[0])
    np.testing.assert_allclose(step, 1e-3, rtol=1e-6)


@pytest.mark.parametrize("optimizer, momentum", [("sgd", 0.0), ("sgd", 0.9), ("adam", 0.0)])
def test_member_lr_equals_separate_runs_bit_for_bit(xor, optimizer, momentum):
    X, y = xor
    rates = [0.05, 0.2, 0.5]
    same = MLP.concatenate([MLP([2, 8, 2], seeds=0)] * 3)   # three copies of one start
    hist = train(same, X, y, member_lr=rates, optimizer=optimizer, momentum=momentum, epochs=3, batch_size=20)
    for k, rate in enumerate(rates):
        alone = MLP([2, 8, 2], seeds=0)
        h = train(alone, X, y, lr=rate, optimizer=optimizer, momentum=momentum, epochs=3, batch_size=20)
        assert np.array_equal(hist.step_loss[:, k], h.step_loss[:, 0])
        assert all(np.array_equal(p[k], q[0]) for p, q in zip(same.parameters(), alone.parameters()))


def test_concatenate_keeps_every_member_and_trains_like_the_parts(xor):
    X, y = xor
    parts = [MLP([2, 8, 8, 2], weight_init=w, seeds=[3, 4]) for w in ("lecun_normal", "he_uniform",
                                                                       get_initializer("normal", std=0.3))]
    joined = MLP.concatenate(parts)
    assert joined.seeds == [3, 4, 3, 4, 3, 4] and joined.n_members == 6
    for k, part in enumerate(parts):
        for p, q in zip(joined.parameters(), part.parameters()):
            assert np.array_equal(p[2 * k:2 * k + 2], q)
    hist = train(joined, X, y, lr=0.1, epochs=2, batch_size=20)
    for k, part in enumerate(parts):
        h = train(part, X, y, lr=0.1, epochs=2, batch_size=20)
        assert np.array_equal(hist.step_loss[:, 2 * k:2 * k + 2], h.step_loss)
    joined.weights[0][0] += 1.0  # a copy: the parts are unchanged
    assert not np.array_equal(joined.weights[0][0], parts[0].weights[0][0])


def test_concatenate_refuses_networks_that_differ():
    with pytest.raises(ValueError, match="nets must be a non-empty list"):
        MLP.concatenate([])
    with pytest.raises(TypeError, match=r"nets\[1\] must be an MLP"):
        MLP.concatenate([MLP([2, 3, 2]), "net"])
    with pytest.raises(ValueError, match="nets must agree in sizes"):
        MLP.concatenate([MLP([2, 3, 2]), MLP([2, 4, 2])])
    with pytest.raises(ValueError, match="nets must agree in activations"):
        MLP.concatenate([MLP([2, 3, 2]), MLP([2, 3, 2], activation="relu")])
    with pytest.raises(ValueError, match="nets must agree in dtype"):
        MLP.concatenate([MLP([2, 3, 2]), MLP([2, 3, 2], dtype="float32")])


def test_order_seeds_separate_the_start_from_the_order(xor):
    X, y = xor
    kw = dict(lr=0.3, epochs=2, batch_size=20)
    default = train(MLP([2, 8, 2], seeds=[0, 1]), X, y, **kw)
    explicit = train(MLP([2, 8, 2], seeds=[0, 1]), X, y, order_seeds=[0, 1], **kw)
    assert np.array_equal(default.step_loss, explicit.step_loss)  # the default is the member's own seed
    # same start, two orders: the first step's losses differ (other minibatches)
    twins = MLP.concatenate([MLP([2, 8, 2], seeds=0)] * 2)
    h = train(twins, X, y, order_seeds=[5, 6], **kw)
    assert h.step_loss[0, 0] != h.step_loss[0, 1]
    # two starts, one order: member 1 (seed 1) with order seed 0 trains like seed 1 alone... seeing seed 0's batches
    h = train(MLP([2, 8, 2], seeds=[0, 1]), X, y, order_seeds=7, **kw)
    ref = train(MLP([2, 8, 2], seeds=1), X, y, order_seeds=[7], **kw)
    assert np.array_equal(h.step_loss[:, 1], ref.step_loss[:, 0])


def test_dropout_masks_in_backward_match_finite_differences():
    rng = np.random.default_rng(0)
    net = MLP([3, 5, 4, 2], activation="tanh", seeds=[0, 1])
    X, y = rng.standard_normal((6, 3)), rng.integers(0, 2, 6)
    masks = [(rng.random((2, 6, n)) > 0.5) / 0.5 for n in (5, 4)]
    loss = get_loss("cross_entropy")

    def total():
        return loss(net.forward(X, masks=masks), y)[0].sum()

    _, g = loss(net.forward(X, masks=masks), y)
    grad_w, grad_b, _ = net.backward(g)
    analytic = [a.copy() for a in _flat(grad_w, grad_b)]
    for p, a in zip(net.parameters(), analytic):
        np.testing.assert_allclose(a, numerical_gradient(total, p), rtol=1e-6, atol=1e-8)


def test_dropout_drops_the_expected_fraction_and_evaluation_uses_the_whole_net(xor):
    X, y = xor
    seen, modes = [], []
    net = MLP([2, 64, 2], seeds=[0, 1])
    original = net.forward

    def spy(X, masks=None, training=False):
        modes.append((masks is not None, training))
        if masks is not None:
            seen.append((masks[0] == 0).mean())
        return original(X, masks=masks, training=training)

    original_predict = net.predict

    def spy_predict(X):                          # evaluations: inference mode, no masks, by construction
        modes.append("predict")
        return original_predict(X)

    net.forward, net.predict = spy, spy_predict
    hist = train(net, X, y, lr=0.1, epochs=3, batch_size=50, dropout=0.3)
    assert len(seen) == 12                       # training steps only, not the evaluations
    assert abs(np.mean(seen) - 0.3) < 0.02       # 12 x 2 x 50 x 64 Bernoulli draws: sd ~0.003
    # masks exactly in the training-mode passes (12 steps); the 4 evaluations predict
    assert modes.count((True, True)) == 12 and modes.count("predict") == 4 and len(modes) == 16
    assert np.isfinite(hist.train_loss).all()


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(optimizer="rmsprop"), ValueError, "optimizer must be one of"),
    (dict(optimizer="adam", momentum=0.9), ValueError, "momentum is an SGD option"),
    (dict(optimizer="adam", betas=(0.9,)), ValueError, "betas must be a pair"),
    (dict(optimizer="adam", betas=(0.9, 1.0)), ValueError, r"betas\[1\]"),
    (dict(optimizer="adam", eps=0.0), ValueError, "eps"),
    (dict(member_lr=[0.1]), ValueError, "one learning rate per member"),
    (dict(member_lr=[0.1, -0.1]), ValueError, r"member_lr\[1\]"),
    (dict(member_lr=[0.1, 0.1], lr=[0.1] * 4), ValueError, "member_lr cannot be combined"),
    (dict(order_seeds=[0]), ValueError, "one seed per member"),
    (dict(order_seeds=[0, -1]), ValueError, "order_seeds"),
    (dict(dropout=1.0), ValueError, "dropout"),
    (dict(dropout=-0.1), ValueError, "dropout"),
])
def test_invalid_sweep_arguments(xor, kwargs, error, match):
    X, y = xor
    with pytest.raises(error, match=match):
        train(MLP([2, 4, 2], seeds=[0, 1]), X, y, **kwargs)


def test_forward_refuses_masks_of_the_wrong_length():
    net = MLP([2, 4, 4, 2])
    with pytest.raises(ValueError, match="masks must be a list of one array per hidden layer"):
        net.forward(np.ones((3, 2)), masks=[np.ones((1, 3, 4))])


@pytest.mark.parametrize("activation", ["tanh", "relu"])
def test_layer_norm_backward_matches_finite_differences(activation):
    rng = np.random.default_rng(1)
    net = MLP([3, 6, 5, 2], activation=activation, seeds=[0, 1], norm="layer")
    X, y = rng.standard_normal((7, 3)), rng.integers(0, 2, 7)
    loss = get_loss("cross_entropy")

    def total():
        return loss(net.forward(X), y)[0].sum()

    _, g = loss(net.forward(X), y)
    analytic = [a.copy() for a in _flat(*net.backward(g)[:2])]
    for p, a in zip(net.parameters(), analytic):
        np.testing.assert_allclose(a, numerical_gradient(total, p), rtol=1e-5, atol=1e-8)


def test_layer_norm_makes_the_hidden_signal_independent_of_the_weight_scale():
    X = np.random.default_rng(2).standard_normal((50, 8))
    small = MLP([8, 16, 16, 3], weight_init=get_initializer("normal", std=0.1), seeds=0, norm="layer")
    large = MLP([8, 16, 16, 3], weight_init=get_initializer("normal", std=10.0), seeds=0, norm="layer")
    t_small, t_large = small.trace(X), large.trace(X)
    for z in t_small.pre_activations[:-1] + t_large.pre_activations[:-1]:
        np.testing.assert_allclose(z.mean(axis=-1), 0.0, atol=1e-10)
        np.testing.assert_allclose(z.var(axis=-1), 1.0, rtol=1e-3)   # eps = 1e-5 against variances of ~0.06 and more
    # same draws up to the factor 100: the first normalized layer is the same (eps aside)
    np.testing.assert_allclose(t_small.pre_activations[0], t_large.pre_activations[0], rtol=1e-2, atol=1e-3)
    with pytest.raises(ValueError, match="norm must be None, 'layer' or 'batch'"):
        MLP([2, 3, 2], norm="group")
    with pytest.raises(ValueError, match="nets must agree in norm"):
        MLP.concatenate([MLP([2, 3, 2]), MLP([2, 3, 2], norm="layer")])
    assert small.member(0).norm == "layer"


def test_grad_norm_is_the_norm_of_the_whole_gradient_before_each_update(xor):
    X, y = xor
    net, ref = MLP([2, 6, 2], seeds=[0, 1]), MLP([2, 6, 2], seeds=[0, 1])
    hist = train(net, X, y, lr=0.1, batch_size=len(X), epochs=3, grad_norm=True)
    assert hist.grad_norm.shape == (3, 4, 2)                       # steps, (W_1, b_1, W_2, b_2), members
    for step in range(3):
        _, g_out = get_loss("cross_entropy")(ref.forward(X), y)
        grads = _flat(*ref.backward(g_out)[:2])
        for k, g in enumerate(grads):
            np.testing.assert_allclose(hist.grad_norm[step, k], np.sqrt((g.reshape(2, -1) ** 2).sum(axis=1)), rtol=1e-12)
        for p, g in zip(ref.parameters(), grads):
            p -= 0.1 * g
    assert train(MLP([2, 6, 2]), X, y, epochs=1).grad_norm.size == 0
    with pytest.raises(TypeError, match="grad_norm must be True or False"):
        train(MLP([2, 6, 2]), X, y, epochs=1, grad_norm="yes")
