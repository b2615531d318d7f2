"""train(): minibatch SGD with momentum for every member, and divergence detection."""
import re

import numpy as np
import pytest

from winit_edu import MLP, History, TrainingDiverged, evaluate, get_initializer, make_xor, train
from winit_edu.losses import get_loss


@pytest.fixture(scope="module")
def xor():
    return make_xor(200, rng=0)


def test_loss_decreases_on_xor(xor):
    X, y = xor
    net = MLP([2, 16, 2], activation="tanh", seeds=[0, 1])
    hist = train(net, X, y, lr=0.5, epochs=20, batch_size=20)
    assert np.all(hist.train_loss[-1] < 0.25 * hist.train_loss[0])
    assert np.all(hist.train_accuracy[-1] > 0.95)
    assert not hist.diverged.any()


def test_squared_error_with_labels_is_one_hot(xor):
    X, y = xor
    net = MLP([2, 16, 2], activation="tanh", seeds=0)
    hist = train(net, X, y, loss="squared_error", lr=0.5, epochs=20, batch_size=20)
    assert hist.train_loss[-1, 0] < 0.5 * hist.train_loss[0, 0]
    assert hist.train_accuracy[-1, 0] > 0.9


def test_history_shapes(xor):
    X, y = xor
    X_val, y_val = make_xor(50, rng=1)
    net = MLP([2, 4, 2], seeds=[0, 1, 2])
    # 200 samples in batches of 30: 6 steps per epoch, the last partial batch is dropped
    hist = train(net, X, y, lr=0.1, epochs=3, batch_size=30, X_val=X_val, y_val=y_val)
    assert isinstance(hist, History) and hist.seeds == [0, 1, 2]
    assert hist.step_loss.shape == (18, 3)
    np.testing.assert_array_equal(hist.eval_steps, [0, 6, 12, 18])  # step 0 = before training
    for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert getattr(hist, name).shape == (4, 3)
    np.testing.assert_array_equal(hist.diverged_step, -1)
    np.testing.assert_array_equal(hist.diverged_layer, -1)
    # evaluating at step 0 is the untrained network
    loss0, acc0 = evaluate(MLP([2, 4, 2], seeds=[0, 1, 2]), X, y)
    np.testing.assert_allclose(hist.train_loss[0], loss0)


def test_eval_every(xor):
    X, y = xor
    hist = train(MLP([2, 4, 2], seeds=0), X, y, epochs=2, batch_size=50, eval_every=3)
    np.testing.assert_array_equal(hist.eval_steps, [0, 3, 6, 8])  # and always the last step
    assert hist.val_loss.size == 0


# --- eval_at_start / eval_at_end: fewer full evaluations, the same training ------------------------

@pytest.mark.parametrize("start, end, expected", [
    (True, True, [0, 3, 6, 8]),      # the default
    (False, True, [3, 6, 8]),
    (True, False, [0, 3, 6]),
    (False, False, [3, 6]),
])
def test_eval_at_start_and_end_choose_the_evaluated_steps(xor, start, end, expected):
    X, y = xor
    X_val, y_val = make_xor(50, rng=1)
    hist = train(MLP([2, 4, 2], seeds=[0, 1]), X, y, epochs=2, batch_size=50, eval_every=3,
                 X_val=X_val, y_val=y_val, eval_at_start=start, eval_at_end=end)  # 8 steps
    np.testing.assert_array_equal(hist.eval_steps, expected)
    for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert getattr(hist, name).shape == (len(expected), 2)


def test_eval_at_end_false_keeps_a_last_step_that_eval_every_hits(xor):
    X, y = xor
    hist = train(MLP([2, 4, 2]), X, y, epochs=2, batch_size=50, eval_every=4, eval_at_end=False)
    np.testing.assert_array_equal(hist.eval_steps, [0, 4, 8])
    hist = train(MLP([2, 4, 2]), X, y, epochs=0, eval_at_start=False)  # no step: the start is the end
    np.testing.assert_array_equal(hist.eval_steps, [0])


@pytest.mark.parametrize("kind", ["plain", "batch norm and dropout", "adam"])
def test_skipped_evaluations_change_nothing_else_to_the_bit(xor, kind):
    X, y = xor
    X_val, y_val = make_xor(50, rng=1)
    net_kw = dict(norm="batch", norm_affine=True) if kind == "batch norm and dropout" else {}
    kw = dict(lr=0.05, epochs=3, batch_size=30, momentum=0.9, X_val=X_val, y_val=y_val, eval_every=4)
    if kind == "batch norm and dropout":
        kw["dropout"] = 0.2
    if kind == "adam":
        kw.update(optimizer="adam", momentum=0.0, lr=0.01)
    ref_net, net = (MLP([2, 8, 8, 2], activation="relu", seeds=[0, 1], **net_kw) for _ in range(2))
    ref = train(ref_net, X, y, **kw)
    hist = train(net, X, y, eval_at_start=False, eval_at_end=False, **kw)
    np.testing.assert_array_equal(hist.step_loss, ref.step_loss)
    for a, b in zip(net.parameters() + net.running_vars, ref_net.parameters() + ref_net.running_vars):
        np.testing.assert_array_equal(a, b)
    # the evaluated steps are a subset of the default's, with the same numbers
    np.testing.assert_array_equal(ref.eval_steps, [0, 4, 8, 12, 16, 18])
    np.testing.assert_array_equal(hist.eval_steps, [4, 8, 12, 16])
    rows = np.searchsorted(ref.eval_steps, hist.eval_steps)
    for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_array_equal(getattr(hist, name), getattr(ref, name)[rows])


def test_no_evaluation_at_all_gives_empty_curves(xor):
    X, y = xor
    X_val, y_val = make_xor(50, rng=1)
    hist = train(MLP([2, 4, 2], seeds=[0, 1, 2]), X, y, epochs=1, batch_size=50, eval_every=100,
                 X_val=X_val, y_val=y_val, eval_at_start=False, eval_at_end=False)
    assert hist.eval_steps.shape == (0,) and hist.eval_steps.dtype.kind == "i"
    for name in ("train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        assert getattr(hist, name).shape == (0, 3)
    assert hist.step_loss.shape == (4, 3) and np.isfinite(hist.step_loss).all()
    part = hist.members([0, 2])
    assert part.train_loss.shape == (0, 2) and part.val_accuracy.shape == (0, 2)


def test_skipping_evaluations_saves_full_passes(xor, monkeypatch):
    import winit_edu.training as training

    calls = []
    real = training.evaluate
    monkeypatch.setattr(training, "evaluate", lambda *a, **k: calls.append(1) or real(*a, **k))
    X, y = xor
    train(MLP([2, 4, 2]), X, y, epochs=1, batch_size=50, eval_every=10)  # 4 steps: start and end only
    assert len(calls) == 2
    train(MLP([2, 4, 2]), X, y, epochs=1, batch_size=50, eval_every=10, eval_at_start=False)
    assert len(calls) == 3


def test_a_member_that_diverges_is_nan_in_the_evaluations_that_remain(xor):
    X, y = xor
    net = MLP([2, 4, 2], seeds=[0, 1])
    net.weights[0][1] *= np.nan  # member 1 is non-finite from the first step
    hist = train(net, X, y, epochs=2, batch_size=50, eval_every=3, on_divergence="stop",
                 eval_at_start=False, eval_at_end=False)
    np.testing.assert_array_equal(hist.eval_steps, [3, 6])
    assert hist.diverged_step.tolist() == [-1, 0]
    assert np.isnan(hist.train_loss[:, 1]).all() and np.isfinite(hist.train_loss[:, 0]).all()


def test_zero_epochs_only_evaluates(xor):
    X, y = xor
    net = MLP([2, 4, 2], seeds=0)
    before = [p.copy() for p in net.parameters()]
    hist = train(net, X, y, epochs=0)
    np.testing.assert_array_equal(hist.eval_steps, [0])
    for a, b in zip(before, net.parameters()):
        np.testing.assert_array_equal(a, b)


def test_momentum_update_rule(xor):
    # v <- momentum * v - lr * grad;  p <- p + v.  Full batch: one step per epoch,
    # and the gradient does not depend on the (shuffled) order of the examples.
    X, y = xor
    lr, mu = 0.2, 0.9
    net = MLP([2, 6, 2], activation="tanh", seeds=0)
    ref = MLP([2, 6, 2], activation="tanh", seeds=0)
    train(net, X, y, lr=lr, momentum=mu, batch_size=len(X), epochs=3)

    velocity = [np.zeros_like(p) for p in ref.parameters()]
    for _ in range(3):
        _, g_out = get_loss("cross_entropy")(ref.forward(X), y)
        grad_w, grad_b, _ = ref.backward(g_out)
        grads = [g for pair in zip(grad_w, grad_b) for g in pair]
        for p, v, g in zip(ref.parameters(), velocity, grads):
            v *= mu
            v -= lr * g
            p += v
    for a, b in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_one_learning_rate_per_parameter_array(xor):
    # lr as a sequence: W_1, b_1, W_2, b_2 each take their own step (full batch, no momentum)
    X, y = xor
    rates = [0.3, 0.01, 2.0, 0.5]
    net = MLP([2, 6, 2], activation="tanh", seeds=0)
    ref = MLP([2, 6, 2], activation="tanh", seeds=0)
    train(net, X, y, lr=rates, batch_size=len(X), epochs=2)
    for _ in range(2):
        _, g_out = get_loss("cross_entropy")(ref.forward(X), y)
        grad_w, grad_b, _ = ref.backward(g_out)
        for p, g, rate in zip(ref.parameters(), [g for pair in zip(grad_w, grad_b) for g in pair], rates):
            p -= rate * g
    for a, b in zip(net.parameters(), ref.parameters()):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def test_equal_rates_reproduce_a_scalar_rate_bit_for_bit(xor):
    X, y = xor
    a, b = MLP([2, 8, 8, 2], seeds=[0, 1]), MLP([2, 8, 8, 2], seeds=[0, 1])
    ha = train(a, X, y, lr=0.1, momentum=0.9, epochs=3, batch_size=20)
    hb = train(b, X, y, lr=[0.1] * 6, momentum=0.9, epochs=3, batch_size=20)
    assert np.array_equal(ha.step_loss, hb.step_loss)
    assert all(np.array_equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


def test_callback_sees_every_step_and_the_updated_net(xor):
    X, y = xor
    net = MLP([2, 4, 2], seeds=[0, 1])
    seen = []
    hist = train(net, X, y, lr=0.1, epochs=2, batch_size=50,
                 callback=lambda step, n: seen.append((step, n is net, n.weights[0].copy())))
    assert [s for s, _, _ in seen] == list(range(1, 9)) and all(same for _, same, _ in seen)
    assert hist.step_loss.shape == (8, 2)
    np.testing.assert_array_equal(seen[-1][2], net.weights[0])  # called after the update


def test_a_callback_that_returns_true_stops_training(xor):
    """The stopping rule: the same parameters as an uninterrupted run at that step, then nothing more."""
    X, y = xor
    at_five = []

    def keep(step, n):
        if step == 5:
            at_five.extend(p.copy() for p in n.parameters())
        return 1 if step == 6 else None          # only True stops: 1 is not True

    full = train(MLP([2, 4, 2], seeds=[0, 1]), X, y, lr=0.1, epochs=3, batch_size=20, eval_every=2, callback=keep)
    assert np.isfinite(full.step_loss).all() and full.step_loss.shape == (30, 2)

    net = MLP([2, 4, 2], seeds=[0, 1])
    stopped = train(net, X, y, lr=0.1, epochs=3, batch_size=20, eval_every=2, callback=lambda step, n: np.int64(step) == 5)  # numpy's bool
    assert all(np.array_equal(p, q) for p, q in zip(net.parameters(), at_five))
    assert np.isfinite(stopped.step_loss[:5]).all() and np.isnan(stopped.step_loss[5:]).all()
    np.testing.assert_array_equal(stopped.step_loss[:5], full.step_loss[:5])
    assert list(stopped.eval_steps) == [0, 2, 4, 5]   # the last evaluation at the stop
    np.testing.assert_array_equal(stopped.train_loss[-1], evaluate(net, X, y)[0])


def test_momentum_speeds_up_small_learning_rates(xor):
    X, y = xor
    plain = train(MLP([2, 16, 2], seeds=[0, 1]), X, y, lr=0.02, epochs=5, batch_size=20)
    heavy = train(MLP([2, 16, 2], seeds=[0, 1]), X, y, lr=0.02, momentum=0.9, epochs=5, batch_size=20)
    assert np.all(heavy.train_loss[-1] < plain.train_loss[-1])


# --- divergence ------------------------------------------------------------------------------------

def huge_net(seeds=0):
    # weights ~ 1e100 and ReLU: the pre-activations overflow to inf within a few layers
    return MLP([2, 16, 16, 16, 2], activation="relu", weight_init=get_initializer("normal", std=1e100), seeds=seeds)


def test_divergence_raises_by_default_with_step_and_layer(xor):
    X, y = xor
    with pytest.raises(TrainingDiverged, match=r"seed 0 .* at step 0, first non-finite values in layer \d") as err:
        train(huge_net(), X, y, lr=1e10, epochs=2, batch_size=20)
    assert isinstance(err.value, FloatingPointError)
    # Layers are counted from 1, as in the plots. The one named is the first whose
    # pre-activations are not finite (here the same for every example, so the full data show it).
    layer = int(re.search(r"layer (\d+)", str(err.value)).group(1))
    with np.errstate(all="ignore"):
        pre = huge_net().trace(X).pre_activations
    assert 1 <= layer <= len(pre)
    assert all(np.isfinite(z).all() for z in pre[:layer - 1])
    assert not np.isfinite(pre[layer - 1]).any()


def test_divergence_during_training_raises_at_that_step(xor):
    # Large init and a large learning rate on the squared error: finite at first, then it blows up.
    X, y = xor
    net = MLP([2, 16, 16, 2], activation="relu", weight_init=get_initializer("normal", std=10.0), seeds=0)
    with pytest.raises(TrainingDiverged, match=r"at step [1-9]\d*, first non-finite values in layer \d"):
        train(net, X, y, loss="squared_error", lr=100.0, momentum=0.9, epochs=5, batch_size=20)


def diverging_ensemble(seeds, bad_seed=1):
    """An ensemble in which only ``bad_seed``'s member starts 5x too large (it diverges after a few steps)."""
    net = MLP([2, 16, 16, 2], activation="relu", weight_init="he_normal", seeds=seeds)
    if bad_seed in seeds:
        for w in net.weights:
            w[seeds.index(bad_seed)] *= 5.0
    return net


TRAIN = dict(loss="squared_error", lr=0.5, momentum=0.9, epochs=10, batch_size=20, on_divergence="stop")


def test_stop_records_divergence_and_leaves_other_members_alone(xor):
    X, y = xor
    net = diverging_ensemble([0, 1, 2])
    hist = train(net, X, y, **TRAIN)
    step = hist.diverged_step[1]
    total = hist.step_loss.shape[0]
    assert 0 < step < total, "setup: member 1 should diverge during training"
    np.testing.assert_array_equal(hist.diverged, [False, True, False])
    assert 1 <= hist.diverged_layer[1] <= net.n_layers  # counted from 1
    np.testing.assert_array_equal(hist.diverged_layer[[0, 2]], -1)

    # The diverged member: finite losses before, a non-finite one at the step, nan afterwards.
    assert np.isfinite(hist.step_loss[:step, 1]).all()
    assert not np.isfinite(hist.step_loss[step, 1])
    assert np.isnan(hist.step_loss[step + 1:, 1]).all()
    assert np.isnan(hist.train_loss[hist.eval_steps > step, 1]).all()
    assert np.isnan(hist.train_accuracy[hist.eval_steps > step, 1]).all()

    # The healthy members trained exactly as they would have without it.
    healthy = diverging_ensemble([0, 2])
    h2 = train(healthy, X, y, **TRAIN)
    assert not h2.diverged.any()
    for a, b in zip(net.parameters(), healthy.parameters()):
        np.testing.assert_allclose(a[[0, 2]], b, rtol=1e-10, atol=1e-14)
    for name in ("step_loss", "train_loss", "train_accuracy"):
        np.testing.assert_allclose(getattr(hist, name)[:, [0, 2]], getattr(h2, name), rtol=1e-10)

    # The diverged member is frozen at its parameters of the failing step (also with momentum):
    # training it alone stops right there, and gives the same parameters.
    alone = diverging_ensemble([1])
    h1 = train(alone, X, y, **TRAIN)
    assert h1.diverged_step[0] == step
    for a, b in zip(net.parameters(), alone.parameters()):
        np.testing.assert_array_equal(a[1], b[0])

    report = hist.report()
    assert report == f"seed 1: non-finite values at step {step}, first in layer {hist.diverged_layer[1]}"


def test_stop_when_every_member_diverges(xor):
    X, y = xor
    hist = train(huge_net(seeds=[0, 1]), X, y, lr=1.0, epochs=3, batch_size=20, on_divergence="stop")
    np.testing.assert_array_equal(hist.diverged_step, [0, 0])
    assert np.isnan(hist.step_loss[1:]).all()  # training stopped after the first step
    assert len(hist.report().splitlines()) == 2


def test_an_evaluation_that_fails_after_the_last_update_is_a_divergence(xor):
    # One full-batch step with an enormous rate: the only minibatch loss (before the update) is
    # finite, the evaluation after the update is not. The member diverged at step 1, in the
    # History and as an error, with the layer where the full pass stopped being finite.
    X, y = xor
    kw = dict(lr=1e30, epochs=1, batch_size=len(X))
    hist = train(MLP([2, 8, 2], activation="relu", seeds=[0, 1], dtype="float32"), X, y, on_divergence="stop", **kw)
    assert np.isfinite(hist.step_loss).all()
    np.testing.assert_array_equal(hist.eval_steps, [0, 1])
    assert not np.isfinite(hist.train_loss[1]).any()
    np.testing.assert_array_equal(hist.diverged_step, [1, 1])
    assert (hist.diverged_layer >= 1).all() and all(hist.diverged_quantity)
    with pytest.raises(TrainingDiverged, match="non-finite loss on the full training data at step 1, first non-finite") as err:
        train(MLP([2, 8, 2], activation="relu", seeds=[0, 1], dtype="float32"), X, y, **kw)
    assert (err.value.step, err.value.data) == (1, "training data")


def test_a_validation_set_the_network_cannot_pass_is_a_divergence_and_freezes_the_member(xor):
    # Finite validation inputs at float32's limit overflow in the first layer: every member
    # diverged at step 0 (the evaluation of the untrained network) and is never updated.
    X, y = xor
    net = MLP([2, 8, 2], activation="relu", weight_init=get_initializer("normal", std=10.0), seeds=[0, 1],
              dtype="float32")
    start = [p.copy() for p in net.parameters()]
    X_val, y_val = np.full((10, 2), 3e38, dtype=np.float32), y[:10]
    hist = train(net, X, y, X_val=X_val, y_val=y_val, lr=0.1, epochs=2, batch_size=20, on_divergence="stop")
    np.testing.assert_array_equal(hist.diverged_step, [0, 0])
    np.testing.assert_array_equal(hist.diverged_layer, [1, 1])
    assert hist.diverged_quantity == ["pre-activations"] * 2
    assert np.isnan(hist.step_loss).all()
    for a, b in zip(start, net.parameters()):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(TrainingDiverged, match="on the full validation data at step 0, first non-finite values in layer 1"):
        train(net, X, y, X_val=X_val, y_val=y_val, lr=0.1, epochs=2, batch_size=20)


def test_report_when_nothing_diverged(xor):
    X, y = xor
    hist = train(MLP([2, 4, 2], seeds=[0, 1]), X, y, epochs=1, batch_size=50)
    assert hist.report() == "all 2 runs stayed finite"


@pytest.mark.parametrize("index, picked", [(slice(1, 3), [1, 2]), ([2, 0], [2, 0]), (1, [1]), (-1, [2]),
                                           (np.array([True, False, True]), [0, 2])])
def test_members_restricts_every_per_member_array(xor, index, picked):
    X, y = xor
    hist = train(diverging_ensemble([0, 1, 2]), X, y, grad_norm=True, X_val=X[:50], y_val=y[:50], **TRAIN)
    assert hist.diverged.tolist() == [False, True, False] and hist.grad_norm.size
    part = hist.members(index)
    assert isinstance(part, History) and part.seeds == [hist.seeds[i] for i in picked]
    for name in ("step_loss", "train_loss", "train_accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_array_equal(getattr(part, name), getattr(hist, name)[:, picked])
    np.testing.assert_array_equal(part.grad_norm, hist.grad_norm[..., picked])
    np.testing.assert_array_equal(part.diverged_step, hist.diverged_step[picked])
    np.testing.assert_array_equal(part.diverged_layer, hist.diverged_layer[picked])
    assert part.diverged_quantity == [hist.diverged_quantity[i] for i in picked]
    np.testing.assert_array_equal(part.eval_steps, hist.eval_steps)
    part.step_loss[...] = 0.0
    assert not (hist.step_loss == 0).all()                              # copies: the original is unchanged


def test_members_of_a_history_without_validation_or_gradient_norms(xor):
    X, y = xor
    hist = train(MLP([2, 4, 2], seeds=[0, 1, 2, 3]), X, y, epochs=1, batch_size=50)
    part = hist.members(slice(2, 4))
    assert part.seeds == [2, 3] and part.val_loss.size == 0 and part.grad_norm.size == 0
    assert part.report() == "all 2 runs stayed finite"
    for bad, error, match in ((slice(4, 6), ValueError, "selects no member"), ([], ValueError, "selects no member"),
                              ([4], ValueError, r"must be in \[-4, 4\)"), (1.5, TypeError, "index must be an int"),
                              (np.ones(3, bool), ValueError, "one entry per member")):
        with pytest.raises(error, match=match):
            hist.members(bad)


# --- evaluate -------------------------------------------------------------------------------------

def test_evaluate(xor):
    X, y = xor
    net = MLP([2, 4, 2], seeds=[0, 1, 2])
    loss, acc = evaluate(net, X, y)
    assert loss.shape == acc.shape == (3,)
    assert np.all((acc >= 0) & (acc <= 1))
    np.testing.assert_allclose(acc, (net.forward(X).argmax(-1) == y).mean(-1))
    # squared error: integer labels are one-hot encoded ...
    loss_se, acc_se = evaluate(net, X, y, loss="squared_error")
    np.testing.assert_allclose(loss_se, get_loss("squared_error")(net.forward(X), np.eye(2)[y])[0])
    np.testing.assert_allclose(acc_se, acc)
    # ... real-valued targets have no accuracy
    _, acc_real = evaluate(net, X, np.eye(2)[y] * 0.9, loss="squared_error")
    assert np.isnan(acc_real).all()
    with pytest.raises(ValueError, match="loss must be one of"):
        evaluate(net, X, y, loss="hinge")


# --- bad input -------------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, error, match", [
    (dict(lr=0.0), ValueError, "lr"),
    (dict(lr=-0.1), ValueError, "lr"),
    (dict(lr="0.1"), TypeError, "lr"),
    (dict(momentum=1.0), ValueError, "momentum"),
    (dict(momentum=-0.1), ValueError, "momentum"),
    (dict(batch_size=201), ValueError, "batch_size"),
    (dict(batch_size=0), ValueError, "batch_size"),
    (dict(batch_size=2.0), TypeError, "batch_size"),
    (dict(epochs=-1), ValueError, "epochs"),
    (dict(eval_every=0), ValueError, "eval_every"),
    (dict(loss="hinge"), ValueError, "loss must be one of"),
    (dict(on_divergence="ignore"), ValueError, "on_divergence must be one of"),
    (dict(lr=[0.1, 0.1, 0.1]), ValueError, "one rate per parameter array"),
    (dict(lr=[0.1, 0.1, -0.1, 0.1]), ValueError, r"lr\[2\]"),
    (dict(callback="print"), TypeError, "callback must be callable"),
    (dict(eval_at_start=0), TypeError, "eval_at_start must be True or False"),
    (dict(eval_at_end="no"), TypeError, "eval_at_end must be True or False"),
])
def test_invalid_arguments(xor, kwargs, error, match):
    X, y = xor
    with pytest.raises(error, match=match):
        train(MLP([2, 4, 2], seeds=0), X, y, **kwargs)


def test_x_and_y_lengths_must_agree(xor):
    X, y = xor
    with pytest.raises(ValueError, match="same number of samples"):
        train(MLP([2, 4, 2], seeds=0), X, y[:-1])


# --- divergence is reported once, as TrainingDiverged ---------------------------------------------

def test_training_diverged_carries_step_layer_and_quantity(xor):
    X, y = xor
    with pytest.raises(TrainingDiverged) as err:
        train(huge_net(seeds=[4, 5]), X, y, lr=1e10, epochs=2, batch_size=20)
    e = err.value
    assert (e.seed, e.step) == (4, 0) and e.quantity == "pre-activations" and 1 <= e.layer <= 4
    assert f"layer {e.layer} (pre-activations)" in str(e)


def test_a_diverging_run_gives_no_numpy_warning(xor):
    import warnings

    X, y = xor
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow warning would fail here
        hist = train(diverging_ensemble([0, 1, 2]), X, y, **TRAIN)
        with pytest.raises(TrainingDiverged):
            train(huge_net(), X, y, lr=1e10, epochs=2, batch_size=20)
        evaluate(huge_net(), X, y)
    assert hist.diverged_quantity[1] in ("weights", "biases", "pre-activations") and hist.diverged_quantity[0] == ""


def test_the_callback_runs_outside_the_silenced_arithmetic(xor):
    X, y = xor
    seen = []
    train(MLP([2, 4, 2], seeds=0), X, y, epochs=1, batch_size=100, callback=lambda step, net: seen.append(np.geterr()))
    assert seen and all(state["over"] == "warn" for state in seen)


# --- arguments are checked once, before the first step --------------------------------------------

def test_labels_are_checked_once_per_call_not_at_every_step(xor, monkeypatch):
    import winit_edu.training as training

    calls = []
    check = training.check_labels
    monkeypatch.setattr(training, "check_labels", lambda *a, **k: calls.append(1) or check(*a, **k))
    X, y = xor
    hist = train(MLP([2, 4, 2], seeds=0), X, y, epochs=2, batch_size=10)  # 40 steps
    assert len(calls) == 1 + len(hist.eval_steps)  # train's own check, then one per full evaluation


@pytest.mark.parametrize("change, error, match", [
    (lambda X, y: (X, y.astype(float)), TypeError, "y must be a 1-D array of integer labels"),
    (lambda X, y: (X, y + 1), ValueError, r"y must lie in \[0, 2\)"),
    (lambda X, y: (np.where(X > 1, np.nan, X), y), ValueError, "X must be finite"),
    (lambda X, y: (X[:, :1], y), ValueError, r"X must have shape \(n_samples, 2\)"),
])
def test_bad_data_is_refused_before_training(xor, change, error, match):
    X, y = change(*xor)
    net = MLP([2, 4, 2], seeds=0)
    before = [p.copy() for p in net.parameters()]
    with pytest.raises(error, match=match):
        train(net, X, y)
    for a, b in zip(before, net.parameters()):
        np.testing.assert_array_equal(a, b)


def test_validation_data_come_in_pairs(xor):
    X, y = xor
    with pytest.raises(ValueError, match="X_val and y_val"):
        train(MLP([2, 4, 2], seeds=0), X, y, X_val=X)


def test_train_needs_an_mlp(xor):
    with pytest.raises(TypeError, match="net must be a winit_edu.MLP"):
        train("net", *xor)


def test_a_member_with_non_finite_outputs_has_no_accuracy(xor):
    X, y = xor
    net = MLP([2, 4, 2], seeds=[0, 1])
    net.weights[1][1, 0, 0] = np.nan
    loss, acc = evaluate(net, X, y)
    assert np.isnan(acc[1]) and not np.isfinite(loss[1])
    assert np.isfinite(acc[0]) and np.isfinite(loss[0])
