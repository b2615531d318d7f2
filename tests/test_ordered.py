"""winit_edu.ordered: the matrix product computed the same way for every entry."""
import numpy as np
import pytest

import winit_edu as wi


def test_equals_matmul_up_to_rounding_and_broadcasts():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(3, 5, 7)), rng.normal(size=(7, 4))
    np.testing.assert_allclose(wi.ordered_matmul(a, b), a @ b, rtol=1e-12, atol=1e-12)
    assert wi.ordered_matmul(a, b).shape == (3, 5, 4)
    assert wi.ordered_matmul(a.astype(np.float32), b.astype(np.float32)).dtype == np.float32


def test_is_the_left_to_right_sum_of_rounded_products():
    a = np.array([[1e16, 1.0, -1e16]])
    b = np.ones((3, 1))
    # ((1e16 + 1) - 1e16) in float64 is 0: the order of the sum is the one documented
    assert wi.ordered_matmul(a, b)[0, 0] == 0.0


@pytest.mark.parametrize("width", [31, 32, 33, 67])
def test_equal_columns_and_rows_give_bit_identical_results(width):
    rng = np.random.default_rng(width)
    for dtype in (np.float64, np.float32):
        a = rng.normal(size=(2, 17, width)).astype(dtype)
        b = rng.normal(size=(2, width, width)).astype(dtype)
        b[..., :] = b[..., :1]           # every column of b equal
        a[:, 5] = a[:, 11]               # two equal rows of a
        c = wi.ordered_matmul(a, b)
        assert np.all(c == c[..., :1])
        np.testing.assert_array_equal(c[:, 5], c[:, 11])


def test_empty_inner_axis_gives_zeros():
    np.testing.assert_array_equal(wi.ordered_matmul(np.ones((2, 0)), np.ones((0, 3))), np.zeros((2, 3)))


@pytest.mark.parametrize("a, b", [(np.ones(3), np.ones((3, 2))), (np.ones((2, 3)), np.ones((4, 2)))])
def test_bad_shapes_raise(a, b):
    with pytest.raises(ValueError, match="a"):
        wi.ordered_matmul(a, b)


def test_mlp_takes_it_and_rejects_a_non_callable():
    net = wi.MLP([2, 4, 2], seeds=[0, 1], matmul=wi.ordered_matmul)
    ref = wi.MLP([2, 4, 2], seeds=[0, 1])
    X = np.random.default_rng(1).normal(size=(5, 2))
    np.testing.assert_allclose(net.forward(X), ref.forward(X), rtol=1e-12, atol=1e-12)
    assert net.member(1).matmul is wi.ordered_matmul
    with pytest.raises(TypeError, match="matmul"):
        wi.MLP([2, 4, 2], matmul="ordered")
