"""Data-dependent initialization: LSUV, layer-sequential unit variance.

Mishkin and Matas (2016, "All you need is a good init", Algorithm 1) start
from orthogonal weights and then *measure* instead of deriving: for each layer,
from the input to the output, forward a batch, compute the variance of the
layer's output ``B_L`` and divide the layer's weights by its square root,
until the variance is within a tolerance of one::

    for each layer L:
        while |Var(B_L) - 1| >= tol and fewer than max_passes passes:
            W_L <- W_L / sqrt(Var(B_L))

What the paper leaves open is settled as in the authors' script (chapter 18
of the book discusses each choice): ``B_L`` is the pre-activation
``z_l = h_l W_l + b_l``, before the nonlinearity; the variance is one number
per layer, over every example and unit of the batch; only the weights change,
never the biases; a pass measures first and rescales only if the variance is
off, so the loop ends with the last measured variance within the tolerance.
With an ensemble every member is measured and rescaled on its own.

The orthogonal start is the caller's (``MLP(..., weight_init="orthogonal")``):
:func:`lsuv` rescales whatever weights the network has.
"""
from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .._checks import check_array, check_int, check_real
from ..nn.network import MLP


def lsuv(net, X, *, tol=0.02, max_passes=20, layers=None):
    """Layer-sequential unit variance (Mishkin and Matas 2016): rescale ``net``'s weights in place.

    Layer by layer, in order, every member for itself: forward a batch to the
    layer's pre-activations ``z_l``, compute ``Var(z_l)`` over all its entries,
    and while ``|Var - 1| >= tol`` divide ``W_l`` by ``sqrt(Var)``, with at
    most ``max_passes`` forward passes per layer. A member whose ``z_l`` has
    zero variance (a dead layer) cannot be rescaled and is left as it is.
    Biases are not touched.

    Parameters
    ----------
    net : MLP
        Without normalization (``norm=None``); changed in place.
    X : array_like or iterator of array_like
        The batch every pass measures, shape ``(B, n_0)`` or one per member
        ``(S, B, n_0)``; or an iterator that gives a new batch for every pass
        (the authors' script takes the next batch of the data each time).
    tol : float, default 0.02
        Tolerance on the variance, ``0 < tol < 1`` (the authors' script: 0.02).
    max_passes : int, default 20
        Forward passes per layer at the most (``T_max``; the script: about 20).
    layers : iterable of int, optional
        Which layers (from 0), in the order to treat them; default all, from
        the input to the output.

    Returns
    -------
    numpy.ndarray of int, shape (L,)
        The forward passes spent on each layer (0 for a layer not treated).
        A layer that reached ``max_passes`` may not be within the tolerance.

    Raises
    ------
    TypeError
        If ``net`` is not an :class:`~winit_edu.network.MLP`, or an argument
        has the wrong type.
    ValueError
        If ``net`` has normalization, ``tol`` or ``max_passes`` is out of
        range, a layer index is out of range, or a batch has the wrong shape
        or non-finite values.

    Examples
    --------
    >>> from winit_edu import MLP
    >>> net = MLP([8, 16, 16, 2], activation="tanh", weight_init="orthogonal", seeds=[0, 1])
    >>> X = np.random.default_rng(0).standard_normal((64, 8))
    >>> passes = lsuv(net, X)
    >>> passes.tolist()
    [2, 2, 2]
    >>> bool(np.all(np.abs(net.trace(X).pre_activations[1].var(axis=(1, 2)) - 1) < 0.02))
    True
    """
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {type(net).__name__}")
    if net.norm is not None:
        raise ValueError(f"net must have no normalization (norm=None), got norm={net.norm!r}: "
                         "a normalized layer has unit variance whatever its weights")
    tol = check_real(tol, name="tol", min_value=0.0, max_value=1.0, min_inclusive=False, max_inclusive=False)
    max_passes = check_int(max_passes, name="max_passes", min_value=1)
    order = range(net.n_layers) if layers is None else [_layer_index(l, net.n_layers) for l in layers]
    batches = X if isinstance(X, Iterator) else None
    passes = np.zeros(net.n_layers, dtype=int)
    for l in order:
        while passes[l] < max_passes:
            batch = next(batches) if batches is not None else X
            var = _pre_activation(net, batch, l).var(axis=(1, 2))   # one variance per member
            passes[l] += 1
            off = (np.abs(var - 1) >= tol) & (var > 0)
            if not off.any():
                break
            net.weights[l][off] /= np.sqrt(var[off])[:, None, None]
    return passes


def _layer_index(layer, n_layers):
    """``layer`` checked as an index into the layers, ``0 <= layer < n_layers``."""
    return check_int(layer, name="layers", min_value=0, max_value=n_layers - 1)


def _pre_activation(net, X, layer):
    """``z_layer`` of every member, (S, B, units): the forward pass up to ``layer`` and no further."""
    h = check_array(X, name="X", dtype=net.dtype)
    S, n_in = net.n_members, net.sizes[0]
    if h.ndim not in (2, 3) or h.shape[-1] != n_in or (h.ndim == 3 and h.shape[0] != S) or h.shape[-2] < 2:
        raise ValueError(f"X must have shape (batch, {n_in}) or ({S}, batch, {n_in}) with batch >= 2, got {h.shape}")
    for l in range(layer + 1):
        z = h @ net.weights[l] + net.biases[l][:, None, :]
        if l < layer:
            h = net.activations[l].f(z)
    return z
