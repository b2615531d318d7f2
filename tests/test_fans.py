"""compute_fans: fan_in and fan_out of dense and convolution weights, in both layouts.

"in_out" (default; Keras, JAX, ``x @ W``): dense (in, out), conv (k..., in, out).
"out_in" (PyTorch ``weight``):            dense (out, in), conv (out, in, k...).
The same layer has the same fans in both layouts; a convolution's fans include
the receptive field (the product of the kernel sizes).
"""
import numpy as np
import pytest

from winit_edu import compute_fans

# (description, shape in "in_out", the same layer's shape in "out_in", fan_in, fan_out)
LAYERS = [
    ("dense 784 -> 256", (784, 256), (256, 784), 784, 256),
    ("conv1d k=5, 16 -> 32", (5, 16, 32), (32, 16, 5), 5 * 16, 5 * 32),
    ("conv2d 3x3, 16 -> 32", (3, 3, 16, 32), (32, 16, 3, 3), 9 * 16, 9 * 32),
    ("conv2d 5x3 (non-square), 4 -> 8", (5, 3, 4, 8), (8, 4, 5, 3), 15 * 4, 15 * 8),
    ("conv3d 3x3x3, 8 -> 16", (3, 3, 3, 8, 16), (16, 8, 3, 3, 3), 27 * 8, 27 * 16),
]


@pytest.mark.parametrize("name, in_out_shape, out_in_shape, fan_in, fan_out", LAYERS,
                         ids=[layer[0] for layer in LAYERS])
def test_fans_in_both_layouts(name, in_out_shape, out_in_shape, fan_in, fan_out):
    assert compute_fans(in_out_shape) == (fan_in, fan_out)  # "in_out" is the default
    assert compute_fans(in_out_shape, layout="in_out") == (fan_in, fan_out)
    assert compute_fans(out_in_shape, layout="out_in") == (fan_in, fan_out)


def test_layout_matters_for_a_dense_shape():
    # The same tuple read in the two conventions describes transposed layers.
    assert compute_fans((100, 30), layout="in_out") == (100, 30)
    assert compute_fans((100, 30), layout="out_in") == (30, 100)


def test_returns_python_ints_and_accepts_lists_and_numpy_ints():
    fans = compute_fans([np.int64(3), np.int32(4)])
    assert fans == (3, 4)
    assert all(type(f) is int for f in fans)


@pytest.mark.parametrize("shape", [(5,), 5, ()], ids=["1-D tuple", "int (a 1-D shape)", "0-D"])
def test_fewer_than_two_dimensions_raise(shape):
    # A 1-D array is a bias; its "fans" are undefined and asking for them is a bug.
    with pytest.raises(ValueError, match="shape"):
        compute_fans(shape)


@pytest.mark.parametrize("shape", [(0, 3), (3, -1), (3, 3, 0, 8)])
def test_non_positive_dimensions_raise(shape):
    with pytest.raises(ValueError, match="shape.*positive"):
        compute_fans(shape)


@pytest.mark.parametrize("shape", [(3.0, 4), ("3", 4), (True, 4), (3, None), "34", 3.5, None])
def test_non_int_dimensions_raise_type_error(shape):
    with pytest.raises(TypeError, match="shape"):
        compute_fans(shape)


@pytest.mark.parametrize("layout", ["NCHW", "out-in", "", None, 1])
def test_unknown_layout_raises_and_lists_accepted_values(layout):
    with pytest.raises(ValueError, match=r"layout must be one of \['in_out', 'out_in'\]"):
        compute_fans((3, 4), layout=layout)
