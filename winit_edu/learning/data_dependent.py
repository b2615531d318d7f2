"""Data-dependent initialization: LSUV, and per-unit normalization with a centring bias.

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

:func:`per_unit_init` measures per *unit* instead, as the data-dependent
initializations of Krähenbühl et al. (2016, the within-layer step) and
Salimans and Kingma (2016, for weight normalization) do: one forward pass per
layer gives each unit's mean ``mu_j`` and standard deviation ``sigma_j`` of
``z_j`` over the batch, and::

    w_j <- w_j / sigma_j,    b_j <- (b_j - mu_j) / sigma_j

makes every unit's pre-activation exactly mean 0 and variance 1 on that batch.

The orthogonal start is the caller's (``MLP(..., weight_init="orthogonal")``):
both functions rescale whatever weights the network has.
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
        Forward passes per layer at the most (``T_max``; the authors' script sets 20,
        and its loop allows 21 rescales).
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

    See Also
    --------
    per_unit_init : one scale per unit instead of per layer, and a bias that centres each unit.

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
    _check_net(net)
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


def per_unit_init(net, X, *, layers=None):
    """Per-unit data-dependent start: each unit's pre-activation centred, with unit variance, on a batch.

    Layer by layer, in order, every member for itself: forward a batch to the
    layer's pre-activations ``z_l``, compute each unit's mean ``mu_j`` and
    standard deviation ``sigma_j`` over the examples, and set::

        w_j <- w_j / sigma_j,    b_j <- (b_j - mu_j) / sigma_j

    (``w_j`` the unit's column of ``W_l``). ``z_j`` is affine in ``(w_j, b_j)``,
    so afterwards it is ``(z_j - mu_j) / sigma_j``: mean 0 and variance 1 on
    the batch, exactly, for every unit, in one pass per layer (on a fixed
    batch the pass carries on from the layer before). This is the
    within-layer step of Krähenbühl et al. (2016) and the data-dependent
    initialization of weight normalization (Salimans and Kingma 2016). Unlike
    :func:`lsuv`, which divides a whole layer by one number and leaves the
    biases, it changes the biases, and a unit's constant offset (the mean of
    a sigmoid's output reaching it, say) is removed instead of being counted
    as signal. A unit whose ``z_j`` is constant on the batch (a zero column
    of ``W_l``, or inputs that are all dead ReLU units) cannot be rescaled
    and is left as it is.
    The statistics are computed in double precision.

    Parameters
    ----------
    net : MLP
        Without normalization (``norm=None``); changed in place.
    X : array_like or iterator of array_like
        The batch, shape ``(B, n_0)`` with ``B >= 2``, or one per member
        ``(S, B, n_0)``; or an iterator that gives a new batch for every layer.
    layers : iterable of int, optional
        Which layers (from 0), in the order to treat them; default all, from
        the input to the output.

    Returns
    -------
    numpy.ndarray of int, shape (S, L)
        For each member and layer, the units left as they were because their
        pre-activation is constant on the batch (0 for a layer not treated).

    Raises
    ------
    TypeError
        If ``net`` is not an :class:`~winit_edu.network.MLP`, or an argument
        has the wrong type.
    ValueError
        If ``net`` has normalization, a layer index is out of range, or a
        batch has the wrong shape or non-finite values.

    See Also
    --------
    lsuv : one scale per layer, found by iterating; the biases are left as they are.

    References
    ----------
    P. Krähenbühl, C. Doersch, J. Donahue and T. Darrell, "Data-dependent
    initializations of convolutional neural networks", ICLR 2016, Algorithm 1.
    T. Salimans and D. P. Kingma, "Weight normalization: a simple
    reparameterization to accelerate training of deep neural networks",
    NeurIPS 2016, section 2.2.

    Examples
    --------
    >>> from winit_edu import MLP
    >>> net = MLP([8, 16, 16, 2], activation="sigmoid", weight_init="orthogonal", seeds=[0, 1])
    >>> X = np.random.default_rng(0).standard_normal((64, 8))
    >>> per_unit_init(net, X).tolist()
    [[0, 0, 0], [0, 0, 0]]
    >>> z = net.trace(X).pre_activations[1]          # (members, examples, units)
    >>> bool(np.allclose(z.mean(axis=1), 0) and np.allclose(z.var(axis=1), 1))
    True
    """
    _check_net(net)
    order = range(net.n_layers) if layers is None else [_layer_index(l, net.n_layers) for l in layers]
    batches = X if isinstance(X, Iterator) else None
    constant = np.zeros((net.n_members, net.n_layers), dtype=int)
    h, h_layer = None, None          # on a fixed batch: h is the input of layer h_layer, the layers before it final
    for l in order:
        if batches is not None or h_layer != l:
            h = _layer_input(net, next(batches) if batches is not None else X, l)
        z = (h @ net.weights[l] + net.biases[l][:, None, :]).astype(np.float64)   # (S, B, units)
        mu, sd = z.mean(axis=1), z.std(axis=1)                        # (S, units): per member and unit
        # constant means exactly constant: the std of equal float64 values can come out ~1e-16, not 0
        live = z.max(axis=1) > z.min(axis=1)
        constant[:, l] = np.sum(~live, axis=1)
        scale = np.where(live, sd, 1.0)
        net.weights[l][...] = np.where(live[:, None, :], net.weights[l] / scale[:, None, :], net.weights[l])
        net.biases[l][...] = np.where(live, (net.biases[l] - mu) / scale, net.biases[l])
        if l + 1 < net.n_layers:     # carry the batch forward through the layer just set
            h, h_layer = net.activations[l].f(h @ net.weights[l] + net.biases[l][:, None, :]), l + 1
    return constant


def _check_net(net):
    """``net`` checked as a network these functions can rescale: an MLP without normalization."""
    if not isinstance(net, MLP):
        raise TypeError(f"net must be an MLP, got {type(net).__name__}")
    if net.norm is not None:
        raise ValueError(f"net must have no normalization (norm=None), got norm={net.norm!r}: "
                         "a normalized layer has unit variance whatever its weights")


def _layer_index(layer, n_layers):
    """``layer`` checked as an index into the layers, ``0 <= layer < n_layers``."""
    return check_int(layer, name="layers", min_value=0, max_value=n_layers - 1)


def _pre_activation(net, X, layer):
    """``z_layer`` of every member, (S, B, units): the forward pass up to ``layer`` and no further."""
    return _layer_input(net, X, layer) @ net.weights[layer] + net.biases[layer][:, None, :]


def _layer_input(net, X, layer):
    """``h_layer``, the input of ``layer``, of every member: ``X`` itself (checked) for layer 0, else (S, B, units)."""
    h = check_array(X, name="X", dtype=net.dtype)
    S, n_in = net.n_members, net.sizes[0]
    if h.ndim not in (2, 3) or h.shape[-1] != n_in or (h.ndim == 3 and h.shape[0] != S) or h.shape[-2] < 2:
        raise ValueError(f"X must have shape (batch, {n_in}) or ({S}, batch, {n_in}) with batch >= 2, got {h.shape}")
    for l in range(layer):
        h = net.activations[l].f(h @ net.weights[l] + net.biases[l][:, None, :])
    return h
