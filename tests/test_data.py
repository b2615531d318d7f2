"""Datasets: generated 2-D problems, scikit-learn's digits, splitting and standardization."""
import subprocess
import sys

import numpy as np
import pytest

from winit_edu import load_dataset, load_digits, make_moons, make_spirals, make_xor, train_test_split


@pytest.fixture(scope="module")
def digits():
    return load_digits()


@pytest.mark.parametrize("make", [make_spirals, make_moons, make_xor])
def test_generated_shapes_labels_and_determinism(make):
    X, y = make(101, rng=0)
    assert X.shape == (101, 2) and X.dtype == np.float64
    assert y.shape == (101,) and np.issubdtype(y.dtype, np.integer)
    assert set(np.unique(y)) == {0, 1}
    assert abs(np.sum(y == 0) - np.sum(y == 1)) <= 1  # balanced classes
    X2, y2 = make(101, rng=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.array_equal(X, make(101, rng=1)[0])


def test_spirals_with_more_classes():
    X, y = make_spirals(300, n_classes=3, rng=0)
    np.testing.assert_array_equal(np.bincount(y), [100, 100, 100])
    assert np.abs(X).max() < 4  # roughly unit scale: radius <= 2 plus noise


def test_xor_labels_are_the_sign_xor():
    X, y = make_xor(400, noise=0.0, rng=0)
    np.testing.assert_array_equal((X[:, 0] * X[:, 1] < 0).astype(int), y)
    assert set(map(tuple, X)) == {(1.0, 1.0), (-1.0, -1.0), (1.0, -1.0), (-1.0, 1.0)}


def test_moons_without_noise_lie_on_two_half_circles():
    X, y = make_moons(200, noise=0.0, rng=0)
    centers = np.array([[0.0, 0.0], [1.0, 0.5]]) - np.array([0.5, 0.25])
    radius = np.linalg.norm(X - centers[y], axis=1)
    np.testing.assert_allclose(radius, 1.0)


@pytest.mark.parametrize("make, kwargs, match", [
    (make_spirals, dict(n_samples=1), "n_samples"),
    (make_spirals, dict(n_classes=1), "n_classes"),
    (make_spirals, dict(noise=-0.1), "noise"),
    (make_moons, dict(n_samples=1), "n_samples"),
    (make_xor, dict(n_samples=3), "n_samples"),
    (make_xor, dict(noise=-1.0), "noise"),
])
def test_generator_bad_arguments(make, kwargs, match):
    with pytest.raises(ValueError, match=match):
        make(rng=0, **kwargs)


def test_load_digits(digits):
    X, y = digits
    assert X.shape == (1797, 64) and X.dtype == np.float64
    assert y.shape == (1797,)
    np.testing.assert_array_equal(np.unique(y), np.arange(10))
    assert X.min() == 0 and X.max() == 16


def test_load_digits_reads_the_same_arrays_as_scikit_learn_without_importing_it(digits, monkeypatch):
    from sklearn.datasets import load_digits as sklearn_digits

    X, y = digits
    bunch = sklearn_digits()
    np.testing.assert_array_equal(X, bunch.data)
    np.testing.assert_array_equal(y, bunch.target)
    assert X.flags.c_contiguous and y.dtype == np.int64
    # a scikit-learn that moved its file: its own loader, the same arrays
    monkeypatch.setattr("winit_edu.learning.data._sklearn_digits_file", lambda: None)
    X2, y2 = load_digits()
    np.testing.assert_array_equal(X2, X)
    np.testing.assert_array_equal(y2, y)
    assert X2.dtype == X.dtype and y2.dtype == y.dtype
    # and the fast path leaves scikit-learn unimported (a fresh interpreter)
    code = "import sys, winit_edu as wi; wi.load_dataset('digits', rng=0); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_train_test_split_standardizes_with_training_statistics(digits):
    X, y = digits
    split = train_test_split(X, y, test_fraction=0.25, rng=0)
    assert split.X_train.shape == (1348, 64) and split.X_test.shape == (449, 64)
    assert len(split.y_train) == 1348 and len(split.y_test) == 449
    train_std = split.X_train.std(axis=0)
    np.testing.assert_allclose(split.X_train.mean(axis=0), 0.0, atol=1e-12)
    # features with spread get unit std; constant (always-blank) pixels are left at 0
    varying = train_std > 0
    np.testing.assert_allclose(train_std[varying], 1.0, rtol=1e-12)
    np.testing.assert_array_equal(split.X_train[:, ~varying], 0.0)
    assert 55 <= varying.sum() < 64  # a few border pixels are blank in every training image
    # the test set is transformed with the training statistics: close to, not exactly, standard
    assert np.abs(split.X_test.mean(axis=0)).max() < 0.5


def test_train_test_split_is_a_permutation():
    X = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    split = train_test_split(X, y, test_fraction=0.3, rng=0, standardize=False)
    assert len(split.y_test) == 3
    np.testing.assert_array_equal(np.sort(np.concatenate([split.y_train, split.y_test])), y)
    np.testing.assert_array_equal(split.X_train[:, 0], 2 * split.y_train)  # rows stay with labels
    again = train_test_split(X, y, test_fraction=0.3, rng=0, standardize=False)
    np.testing.assert_array_equal(split.y_test, again.y_test)


@pytest.mark.parametrize("fraction", [0.0, 1.0, 1.5])
def test_train_test_split_bad_fraction(fraction):
    with pytest.raises(ValueError, match="test_fraction"):
        train_test_split(np.zeros((10, 2)), np.zeros(10), test_fraction=fraction)


def test_train_test_split_length_mismatch():
    with pytest.raises(ValueError, match="same length"):
        train_test_split(np.zeros((10, 2)), np.zeros(9))


@pytest.mark.parametrize("name, n_features", [("spirals", 2), ("moons", 2), ("xor", 2)])
def test_load_dataset_generated(name, n_features):
    split = load_dataset(name, rng=0)
    assert split.X_train.shape == (300, n_features) and split.X_test.shape == (100, n_features)
    np.testing.assert_allclose(split.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_array_equal(load_dataset(name, rng=0).X_test, split.X_test)


def test_load_dataset_digits():
    split = load_dataset("digits")
    assert split.X_train.shape == (1348, 64)


def test_load_dataset_unknown_name():
    with pytest.raises(ValueError, match="name must be one of"):
        load_dataset("mnist")


@pytest.mark.parametrize("X, y, kwargs, match", [
    (np.zeros((1, 2)), np.zeros(1), {}, "n_samples >= 2"),
    (np.zeros((4, 2)), np.zeros(3), {}, "same length"),
    (np.zeros(4), np.zeros(4), {}, "X must have shape"),
    (np.full((4, 2), np.nan), np.zeros(4), {}, "X must be finite"),
    (np.zeros((2, 2)), np.zeros(2), dict(test_fraction=0.9), "leaves no training sample"),
    (np.array([[1e300, 0.0], [-1e300, 0.0], [1e300, 0.0], [0.0, 0.0]]), np.zeros(4), {}, "too large to standardize"),
])
def test_train_test_split_refuses_bad_data(X, y, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_test_split(X, y, **kwargs)


def test_generators_bound_their_arguments():
    with pytest.raises(ValueError, match="n_samples"):
        make_xor(2**40)
    with pytest.raises(ValueError, match="noise"):
        make_moons(10, noise=1e200)
