"""fan_in and fan_out of a weight tensor, in both common memory layouts.

The *fan-in* of a unit is the number of inputs it sums over; the *fan-out*
is the number of units each input feeds. For a convolution both include the
receptive field (``kh * kw``), because each output sums over
``in_channels * kh * kw`` inputs.

Two layouts are in use:

``"in_out"`` (the default here; Keras, JAX/Flax and the ``x @ W`` convention)
    dense ``(fan_in, fan_out)``, convolution ``(kh, kw, in_channels, out_channels)``.
``"out_in"`` (PyTorch: ``nn.Linear.weight`` and ``nn.Conv2d.weight``)
    dense ``(fan_out, fan_in)``, convolution ``(out_channels, in_channels, kh, kw)``.

The same layer therefore has transposed shapes in the two conventions, and a
mode of ``"fan_in"`` means the same thing in both once the layout is stated.
"""
from __future__ import annotations

import math

from .._checks import check_choice, check_shape

LAYOUTS = ("in_out", "out_in")


def compute_fans(shape, layout="in_out"):
    """Return ``(fan_in, fan_out)`` of a dense or convolution weight shape.

    Parameters
    ----------
    shape : tuple of int
        Weight shape with at least two dimensions. A dense layer has two;
        an N-d convolution has ``N + 2``.
    layout : {"in_out", "out_in"}, default "in_out"
        ``"in_out"``: channels are the last two axes, ``(..., in, out)`` as in
        Keras, JAX and ``x @ W``. ``"out_in"``: channels are the first two
        axes, ``(out, in, ...)`` as in PyTorch.

    Returns
    -------
    fan_in, fan_out : int

    Raises
    ------
    ValueError
        If ``shape`` has fewer than two dimensions (fans are undefined: use
        the layer's weight shape, not a bias shape), a non-positive
        dimension, or ``layout`` is unknown.
    TypeError
        If ``shape`` is not a tuple of ints.

    Notes
    -----
    PyTorch's ``torch.nn.init._calculate_fan_in_and_fan_out`` implements the
    ``"out_in"`` rule; Keras' and JAX's ``variance_scaling`` implement the
    ``"in_out"`` rule. Keras additionally accepts 1-D shapes (fan_in =
    fan_out = the length); we refuse them on purpose, because a 1-D array is
    a bias and a fan computed from it is almost always a bug.

    Examples
    --------
    >>> compute_fans((784, 256))
    (784, 256)
    >>> compute_fans((3, 3, 16, 32))            # Keras conv kernel
    (144, 288)
    >>> compute_fans((32, 16, 3, 3), layout="out_in")  # the same conv in PyTorch
    (144, 288)
    """
    shape = check_shape(shape, min_ndim=2)
    check_choice(layout, LAYOUTS, name="layout")
    if layout == "in_out":
        receptive_field = math.prod(shape[:-2])
        n_in, n_out = shape[-2], shape[-1]
    else:
        receptive_field = math.prod(shape[2:])
        n_out, n_in = shape[0], shape[1]
    return n_in * receptive_field, n_out * receptive_field
