"""Losses return (loss, d loss / d output), averaged over the batch, per ensemble member."""
import math

import numpy as np
import pytest

from winit_edu import one_hot, softmax_cross_entropy, squared_error
from winit_edu.losses import get_loss

from gradcheck import numerical_gradient


@pytest.mark.parametrize("label_shape", ["shared", "per_member"])
def test_cross_entropy_gradient(label_shape):
    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 5, 4))  # 3 members, batch 5, 4 classes
    labels = rng.integers(0, 4, size=(5,) if label_shape == "shared" else (3, 5))
    loss, grad = softmax_cross_entropy(logits, labels)
    assert loss.shape == (3,) and grad.shape == logits.shape
    # the members are independent, so the gradient of the sum is each member's gradient
    numeric = numerical_gradient(lambda: softmax_cross_entropy(logits, labels)[0].sum(), logits)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_cross_entropy_matches_the_definition():
    rng = np.random.default_rng(1)
    logits, labels = rng.normal(size=(6, 3)), rng.integers(0, 3, 6)
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    loss, grad = softmax_cross_entropy(logits, labels)
    assert loss == pytest.approx(-np.mean(np.log(p[np.arange(6), labels])))
    np.testing.assert_allclose(grad, (p - one_hot(labels, 3)) / 6)


@pytest.mark.parametrize("n_classes", [1, 2, 10, 64, 65, 300])
def test_cross_entropy_is_the_plain_formula_to_the_bit(n_classes):
    # the row maxima are taken down the columns of a transposed copy for few classes: the same numbers
    from winit_edu.losses import _cross_entropy
    rng = np.random.default_rng(n_classes)
    for dtype in (np.float32, np.float64):
        logits = (rng.standard_normal((7, 13, n_classes)) * 30).astype(dtype)
        logits.flat[::17] = np.nan
        logits.flat[5::23] = np.inf
        labels = rng.integers(0, n_classes, size=(7, 13))
        with np.errstate(all="ignore"):
            shifted = logits - logits.max(axis=-1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
            grad = np.exp(log_probs)
            picked = np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
            np.put_along_axis(grad, labels[..., None], np.take_along_axis(grad, labels[..., None], axis=-1) - 1.0, -1)
            grad /= 13
            loss, got = _cross_entropy(logits, labels)
        np.testing.assert_array_equal(loss, -(picked.sum(axis=-1) / 13))
        np.testing.assert_array_equal(got, grad)


@pytest.mark.parametrize("n_classes", [2, 10, 1000])
def test_uniform_logits_give_log_c(n_classes):
    loss, _ = softmax_cross_entropy(np.full((8, n_classes), 3.7), np.arange(8) % n_classes)
    assert loss == pytest.approx(math.log(n_classes), rel=1e-14)


def test_cross_entropy_is_stable_for_huge_logits():
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # exp(-1000) may underflow to 0
        loss, grad = softmax_cross_entropy(np.array([[1000.0, 0.0], [0.0, 1000.0]]), np.array([1, 1]))
    assert loss == pytest.approx(500.0)
    assert np.isfinite(grad).all()


@pytest.mark.parametrize("labels", [[0, 3], [-1, 0]])
def test_labels_out_of_range_raise(labels):
    with pytest.raises(ValueError, match="labels must lie in"):
        softmax_cross_entropy(np.zeros((2, 3)), np.array(labels))


def test_label_shape_mismatch_raises():
    with pytest.raises(ValueError, match="labels shape"):
        softmax_cross_entropy(np.zeros((4, 3)), np.array([0, 1]))


@pytest.mark.parametrize("target_shape", [(5, 3), (2, 5, 3)])
def test_squared_error_gradient(target_shape):
    rng = np.random.default_rng(2)
    outputs, targets = rng.normal(size=(2, 5, 3)), rng.normal(size=target_shape)
    loss, grad = squared_error(outputs, targets)
    assert loss.shape == (2,)
    np.testing.assert_allclose(loss, 0.5 * ((outputs - targets) ** 2).sum(-1).mean(-1))
    numeric = numerical_gradient(lambda: squared_error(outputs, targets)[0].sum(), outputs)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


def test_squared_error_shape_mismatch_raises():
    with pytest.raises(ValueError, match="targets shape"):
        squared_error(np.zeros((4, 3)), np.zeros((4, 2)))


def test_one_hot():
    np.testing.assert_array_equal(one_hot([2, 0, 1], 3), [[0, 0, 1], [1, 0, 0], [0, 1, 0]])
    with pytest.raises(ValueError, match="labels"):
        one_hot([0, 3], 3)
    with pytest.raises(ValueError, match="labels"):
        one_hot([0.0, 1.0], 3)


def test_get_loss():
    assert get_loss("cross_entropy") is softmax_cross_entropy
    assert get_loss("squared_error") is squared_error
    with pytest.raises(ValueError, match="loss must be one of"):
        get_loss("hinge")


def test_non_finite_outputs_give_a_non_finite_loss_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss, _ = softmax_cross_entropy(np.array([[np.inf, 0.0], [np.nan, 1.0]]), np.array([0, 1]))
        assert np.isnan(loss)
        loss, _ = softmax_cross_entropy(np.array([[1e308, -1e308]]), np.array([1]))  # logits beyond the float range apart
        assert loss == np.inf
        assert squared_error(np.array([[1e300]]), np.array([[-1e300]]))[0] == np.inf


@pytest.mark.parametrize("logits, labels, error, match", [
    (np.zeros((2, 3)), np.array([0.0, 1.0]), TypeError, "labels must be integer"),
    (np.zeros((0, 3)), np.zeros(0, int), ValueError, "batch"),
    (np.zeros(3), np.array(0), ValueError, "logits must have shape"),
    (np.array([["a", "b"]]), np.array([0]), TypeError, "logits"),
])
def test_cross_entropy_argument_errors(logits, labels, error, match):
    with pytest.raises(error, match=match):
        softmax_cross_entropy(logits, labels)


def test_one_hot_checks_n_classes():
    with pytest.raises(ValueError, match="n_classes"):
        one_hot([0], 0)
    with pytest.raises(TypeError, match="n_classes"):
        one_hot([0], 2.0)
