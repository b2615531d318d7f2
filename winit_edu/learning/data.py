"""Small datasets that need no download.

Three generated 2-D problems (two spirals, two moons, XOR) and one real
dataset shipped inside scikit-learn: the 8x8 handwritten digits (1,797
images, 10 classes, 64 features). All generators take ``rng`` like the
initializers do (see :func:`winit_edu.rng.as_generator`).
"""
from __future__ import annotations

import gzip
import importlib.util
import pathlib
from dataclasses import dataclass

import numpy as np

from .._checks import MAX_ELEMENTS, check_array, check_choice, check_flag, check_int, check_real
from ..rng import as_generator

MAX_SAMPLES = MAX_ELEMENTS // 2  # two features per point
MAX_NOISE = 1e100  # beyond it the points overflow


def make_spirals(n_samples=400, noise=0.2, n_classes=2, turns=1.5, rng=None):
    """Interleaved spirals, one arm per class, in the plane.

    Parameters
    ----------
    n_samples : int, default 400
        Total number of points, split evenly between classes (``>= n_classes``).
    noise : float, default 0.2
        Standard deviation of the Gaussian noise added to each coordinate,
        ``0 <= noise <= 1e100``.
    n_classes : int, default 2
    turns : float, default 1.5
        How many times each arm winds around the origin, ``0 < turns <= 1e6``.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    X : (n, 2) float array, roughly unit scale
    y : (n,) int array

    Examples
    --------
    >>> X, y = make_spirals(100, rng=0)
    >>> X.shape, y.shape
    ((100, 2), (100,))
    """
    n_classes = check_int(n_classes, name="n_classes", min_value=2)
    n_samples = check_int(n_samples, name="n_samples", min_value=n_classes, max_value=MAX_SAMPLES)
    noise = check_real(noise, name="noise", min_value=0.0, max_value=MAX_NOISE)
    turns = check_real(turns, name="turns", min_value=0.0, min_inclusive=False, max_value=1e6)
    gen = as_generator(rng)
    y = np.arange(n_samples) % n_classes
    t = gen.uniform(0.05, 1.0, size=n_samples)  # position along the arm
    angle = 2 * np.pi * (turns * t + y / n_classes)
    radius = 2.0 * t
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    X += gen.normal(0.0, noise * 0.5, size=X.shape)
    return X, y


def make_moons(n_samples=400, noise=0.1, rng=None):
    """Two interleaving half circles (as scikit-learn's ``make_moons``), centred.

    Parameters
    ----------
    n_samples : int, default 400
    noise : float, default 0.1
        ``0 <= noise <= 1e100``.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    X : (n, 2) float array
    y : (n,) int array

    Examples
    --------
    >>> X, y = make_moons(10, rng=0)
    >>> sorted(set(y.tolist()))
    [0, 1]
    """
    n_samples = check_int(n_samples, name="n_samples", min_value=2, max_value=MAX_SAMPLES)
    noise = check_real(noise, name="noise", min_value=0.0, max_value=MAX_NOISE)
    gen = as_generator(rng)
    y = np.arange(n_samples) % 2
    theta = gen.uniform(0.0, np.pi, size=n_samples)
    X = np.where(y[:, None] == 0,
                 np.column_stack([np.cos(theta), np.sin(theta)]),
                 np.column_stack([1.0 - np.cos(theta), 0.5 - np.sin(theta)]))
    X = X - np.array([0.5, 0.25])
    X += gen.normal(0.0, noise, size=X.shape)
    return X, y


def make_xor(n_samples=400, noise=0.15, rng=None):
    """Four Gaussian blobs at (+-1, +-1); the label is the XOR of the signs.

    Parameters
    ----------
    n_samples : int, default 400
    noise : float, default 0.15
        Standard deviation of each blob, ``0 <= noise <= 1e100``.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    X : (n, 2) float array
    y : (n,) int array

    Examples
    --------
    >>> X, y = make_xor(8, noise=0.0, rng=0)
    >>> bool(((X[:, 0] * X[:, 1] < 0) == (y == 1)).all())
    True
    """
    n_samples = check_int(n_samples, name="n_samples", min_value=4, max_value=MAX_SAMPLES)
    noise = check_real(noise, name="noise", min_value=0.0, max_value=MAX_NOISE)
    gen = as_generator(rng)
    corners = np.array([[1.0, 1.0], [-1.0, -1.0], [1.0, -1.0], [-1.0, 1.0]])
    which = np.arange(n_samples) % 4
    X = corners[which] + gen.normal(0.0, noise, size=(n_samples, 2))
    y = (which >= 2).astype(int)
    return X, y


def load_digits():
    """The 8x8 handwritten digits shipped with scikit-learn (no download).

    Returns
    -------
    X : (1797, 64) float array
        Pixel intensities 0..16.
    y : (1797,) int array
        Digit labels 0..9.

    References
    ----------
    Alpaydin & Kaynak (1998), UCI "Optical Recognition of Handwritten Digits".

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape
    (1797, 64)

    Notes
    -----
    The same arrays as ``sklearn.datasets.load_digits()``, read from the file
    scikit-learn ships (``sklearn/datasets/data/digits.csv.gz``: one image per
    row, 64 pixels then the label) without importing scikit-learn, whose import
    takes about 0.8 s, ten times as long as reading the file; nearly every
    chapter loads the digits once per run. Where that file is not found (a
    scikit-learn that moved it), scikit-learn's own loader is used.
    """
    path = _sklearn_digits_file()
    if path is None:
        from sklearn.datasets import load_digits as _load

        bunch = _load()
        return bunch.data.astype(np.float64), bunch.target.astype(np.int64)
    with gzip.open(path, "rt", encoding="utf-8") as rows:
        table = np.loadtxt(rows, delimiter=",")
    return table[:, :-1].copy(), table[:, -1].astype(np.int64)


def _sklearn_digits_file():
    """The path of scikit-learn's ``digits.csv.gz``, or None; scikit-learn is located, not imported."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ImportError("the digits data set ships with scikit-learn: pip install scikit-learn")
    for folder in spec.submodule_search_locations or ():
        path = pathlib.Path(folder, "datasets", "data", "digits.csv.gz")
        if path.is_file():
            return path
    return None


@dataclass
class Split:
    """A train/test split with standardized features."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def train_test_split(X, y, test_fraction=0.25, rng=0, standardize=True):
    """Shuffle, split, and (by default) standardize with the training statistics.

    Parameters
    ----------
    X : (n, d) array
    y : (n,) array
    test_fraction : float in (0, 1), default 0.25
    rng : int, numpy.random.Generator or None, default 0
    standardize : bool, default True
        Subtract the training mean and divide by the training standard
        deviation (features with zero spread are left unscaled), the
        normalization LeCun et al. (1998) ask for.

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        If ``X`` is not a finite 2-D array, ``y`` does not have one entry
        per row, or ``test_fraction`` is outside (0, 1) or leaves the
        training or the test set empty.
    TypeError
        For badly typed arguments.

    Examples
    --------
    >>> X, y = make_xor(100, rng=0)
    >>> s = train_test_split(X, y, 0.2)
    >>> s.X_train.shape, s.X_test.shape
    ((80, 2), (20, 2))
    """
    X = check_array(X, name="X")
    if X.ndim != 2 or len(X) < 2:
        raise ValueError(f"X must have shape (n_samples, n_features) with n_samples >= 2, got {X.shape}")
    y = np.asarray(y)
    if y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"X and y must have the same length, got {len(X)} and y of shape {y.shape}")
    test_fraction = check_real(test_fraction, name="test_fraction", min_value=0.0, max_value=1.0,
                               min_inclusive=False, max_inclusive=False)
    standardize = check_flag(standardize, name="standardize")
    n_test = max(1, int(round(test_fraction * len(X))))
    if n_test >= len(X):
        raise ValueError(f"test_fraction={test_fraction} leaves no training sample out of {len(X)}")
    perm = as_generator(rng).permutation(len(X))
    test, train = perm[:n_test], perm[n_test:]
    X_train, X_test = X[train], X[test]
    if standardize:
        with np.errstate(over="ignore"):
            mean, std = X_train.mean(axis=0), X_train.std(axis=0)
        if not np.isfinite(std).all():
            raise ValueError("X is too large to standardize: its variance overflows")
        std = np.where(std > 0, std, 1.0)
        X_train, X_test = (X_train - mean) / std, (X_test - mean) / std
    return Split(X_train, y[train], X_test, y[test])


DATASETS = ("spirals", "moons", "xor", "digits")


def load_dataset(name, rng=0, test_fraction=0.25):
    """A named dataset, split and standardized: the one-liner the chapters use.

    Parameters
    ----------
    name : {"spirals", "moons", "xor", "digits"}
    rng : int, numpy.random.Generator or None, default 0
        Seeds the generated data and the split.
    test_fraction : float, default 0.25

    Returns
    -------
    Split

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> load_dataset("digits").X_train.shape
    (1348, 64)
    """
    check_choice(name, DATASETS, name="name")
    gen = as_generator(rng)
    if name == "digits":
        X, y = load_digits()
    else:
        X, y = {"spirals": make_spirals, "moons": make_moons, "xor": make_xor}[name](rng=gen)
    return train_test_split(X, y, test_fraction, rng=gen)
