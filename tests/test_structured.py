"""Structured initializers: orthogonal, identity, sparse."""
import math

import numpy as np
import pytest
from stats_helpers import KURTOSIS, assert_mean_and_variance

from winit_edu import identity, orthogonal, sparse

# --- orthogonal -------------------------------------------------------------------


def test_orthogonal_tall_has_orthonormal_columns():
    q = orthogonal((64, 32), rng=0)  # 64 inputs, 32 output units
    np.testing.assert_allclose(q.T @ q, np.eye(32), atol=1e-12)


def test_orthogonal_wide_has_orthonormal_rows():
    q = orthogonal((32, 64), rng=0)
    np.testing.assert_allclose(q @ q.T, np.eye(32), atol=1e-12)


def test_orthogonal_square_is_orthogonal():
    q = orthogonal((16, 16), rng=0)
    np.testing.assert_allclose(q.T @ q, np.eye(16), atol=1e-12)
    np.testing.assert_allclose(q @ q.T, np.eye(16), atol=1e-12)


@pytest.mark.parametrize("shape, layout, n_out", [
    ((3, 3, 16, 32), "in_out", 32),   # Keras kernel: (144, 32) matrix, columns orthonormal
    ((32, 16, 3, 3), "out_in", 32),   # PyTorch weight: (32, 144) matrix, rows orthonormal
    ((3, 3, 2, 64), "in_out", 64),    # more outputs than inputs*kernel (18): rows orthonormal
    ((64, 2, 3, 3), "out_in", 64),
])
def test_orthogonal_conv_shapes(shape, layout, n_out):
    w = orthogonal(shape, rng=1, layout=layout)
    assert w.shape == shape
    # one column per output unit, one row per (input channel, kernel position)
    m = w.reshape(-1, n_out) if layout == "in_out" else w.reshape(n_out, -1).T
    rows, cols = m.shape
    if rows >= cols:
        np.testing.assert_allclose(m.T @ m, np.eye(cols), atol=1e-12)
    else:
        np.testing.assert_allclose(m @ m.T, np.eye(rows), atol=1e-12)


def test_orthogonal_dense_layouts_are_transposes():
    # The same draw, stored as Keras (in, out) or as PyTorch (out, in).
    np.testing.assert_array_equal(orthogonal((20, 8), rng=3), orthogonal((8, 20), rng=3, layout="out_in").T)


@pytest.mark.parametrize("gain", [0.5, 1.0, math.sqrt(2.0)])
def test_orthogonal_gain_scales_all_singular_values(gain):
    s = np.linalg.svd(orthogonal((50, 30), rng=2, gain=gain), compute_uv=False)
    np.testing.assert_allclose(s, gain, rtol=1e-12)


def test_deep_linear_orthogonal_network_preserves_norms():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((5, 32))
    h = x
    for _ in range(50):
        h = h @ orthogonal((32, 32), rng=rng)
    np.testing.assert_allclose(np.linalg.norm(h, axis=1), np.linalg.norm(x, axis=1), rtol=1e-10)


def test_orthogonal_is_not_always_the_same_matrix():
    # The sign fix (Mezzadri) makes Q Haar-distributed; in particular the entries are
    # symmetric around 0: averaged over many draws, the diagonal has mean ~0.
    rng = np.random.default_rng(0)
    diag = np.array([np.diag(orthogonal((4, 4), rng=rng)) for _ in range(2000)])
    # each entry of a Haar 4x4 orthogonal matrix has variance 1/4: SE of the mean = 0.5/sqrt(2000)
    assert np.all(np.abs(diag.mean(axis=0)) < 6 * 0.5 / math.sqrt(2000))


def test_orthogonal_bad_arguments():
    with pytest.raises(ValueError, match="gain"):
        orthogonal((4, 4), rng=0, gain=0.0)
    with pytest.raises(ValueError, match="shape"):
        orthogonal((4,), rng=0)
    with pytest.raises(ValueError, match="layout must be one of"):
        orthogonal((4, 4), rng=0, layout="oi")


# --- identity ------------------------------------------------------------------------


def test_identity_square_and_rectangular():
    np.testing.assert_array_equal(identity((3, 3)), np.eye(3))
    np.testing.assert_array_equal(identity((2, 3)), [[1, 0, 0], [0, 1, 0]])
    np.testing.assert_array_equal(identity((3, 2)), [[1, 0], [0, 1], [0, 0]])


def test_identity_gain_and_ignored_rng():
    np.testing.assert_array_equal(identity((3, 3), rng=5, gain=0.5), 0.5 * np.eye(3))


def test_identity_gain_cannot_be_passed_by_position():
    # identity((2, 2), 2.0) used to return gain 1: the 2.0 landed in the unused rng
    with pytest.raises(TypeError, match="positional"):
        identity((2, 2), 2.0)


@pytest.mark.parametrize("shape", [(3, 3, 4, 4), (3, 3, 3)])
def test_identity_is_two_dimensional_only(shape):
    with pytest.raises(ValueError, match="2-D"):
        identity(shape)


# --- sparse --------------------------------------------------------------------------


def test_sparse_n_nonzero_per_output_unit():
    w = sparse((200, 50), rng=0, n_nonzero=15)  # in_out: one column per output unit
    np.testing.assert_array_equal((w != 0).sum(axis=0), 15)


def test_sparse_out_in_layout_counts_per_row():
    w = sparse((50, 200), rng=0, n_nonzero=15, layout="out_in")  # PyTorch: one row per output unit
    np.testing.assert_array_equal((w != 0).sum(axis=1), 15)


@pytest.mark.parametrize("sparsity, fan_in, k", [(0.9, 200, 20), (0.5, 7, 3), (0.0, 10, 10), (0.95, 100, 5)])
def test_sparse_sparsity_sets_the_zero_fraction(sparsity, fan_in, k):
    # k = fan_in - ceil(sparsity * fan_in) non-zeros per unit; sparsity wins over n_nonzero
    w = sparse((fan_in, 30), rng=1, sparsity=sparsity, n_nonzero=1)
    np.testing.assert_array_equal((w != 0).sum(axis=0), k)


@pytest.mark.parametrize("sparsity, fan_in", [(0.95, 10), (0.999, 100), (0.5, 1)])
def test_sparsity_that_leaves_a_unit_without_inputs_raises(sparsity, fan_in):
    # Martens (2010): every unit keeps a fixed number (>= 1) of incoming weights
    with pytest.raises(ValueError, match="sparsity.*no incoming weight"):
        sparse((fan_in, 4), rng=0, sparsity=sparsity)


def test_sparse_every_unit_has_an_input_at_the_largest_sparsity():
    w = sparse((10, 6), rng=0, sparsity=0.9)
    np.testing.assert_array_equal((w != 0).sum(axis=0), 1)


def test_sparse_n_nonzero_is_capped_at_fan_in():
    w = sparse((10, 5), rng=0, n_nonzero=15)
    np.testing.assert_array_equal((w != 0).sum(axis=0), 10)


def test_sparse_positions_differ_between_units():
    w = sparse((100, 20), rng=0, n_nonzero=5)
    supports = {tuple(np.flatnonzero(w[:, j])) for j in range(20)}
    assert len(supports) > 1


@pytest.mark.parametrize("std", [1.0, 0.01])
def test_sparse_nonzeros_are_gaussian_with_std(std):
    w = sparse((500, 400), rng=2, n_nonzero=50, std=std)  # 20,000 non-zeros
    nonzero = w[w != 0]
    assert nonzero.size == 400 * 50
    assert_mean_and_variance(nonzero, 0.0, std**2, KURTOSIS["normal"])


@pytest.mark.parametrize("sparsity", [1.0, -0.1, 1.5])
def test_sparsity_outside_unit_interval_raises(sparsity):
    with pytest.raises(ValueError, match="sparsity"):
        sparse((10, 10), rng=0, sparsity=sparsity)


def test_sparse_bad_arguments():
    with pytest.raises(ValueError, match="n_nonzero"):
        sparse((10, 10), rng=0, n_nonzero=0)
    with pytest.raises(TypeError, match="n_nonzero"):
        sparse((10, 10), rng=0, n_nonzero=2.5)
    with pytest.raises(ValueError, match="std"):
        sparse((10, 10), rng=0, std=-1.0)
    with pytest.raises(ValueError, match="std"):
        sparse((10, 10), rng=0, std=0.0)  # "non-zero" weights that are all zero
    with pytest.raises(ValueError, match="2-D"):
        sparse((3, 3, 4, 4), rng=0)
    with pytest.raises(ValueError, match="layout must be one of"):
        sparse((10, 10), rng=0, layout="io")
