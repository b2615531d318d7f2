"""Per-layer statistics: the numbers behind every "signal propagation" plot.

The statistics take the arrays recorded by :meth:`winit_edu.MLP.trace`
(ensemble axis first) and pool over members, examples and units unless
said otherwise. ``layer_means``, ``layer_stds`` and ``layer_rms`` take
``per_member=True`` to keep one row per ensemble member instead, shape
``(members, layers)``: what a plot of the spread over seeds needs.

:func:`jacobians`, :func:`jacobian` and :func:`jacobian_singular_values` take
a network and inputs instead: the input-output Jacobian of every hidden
layer, built from one forward pass.

Non-finite values (a diverged member) give nan or inf statistics, without a
numpy warning; empty arrays are refused.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_choice, check_flag, check_int, check_real


def _numbers(a, name):
    """``a`` as a non-empty array of numbers (nan and inf allowed)."""
    a = np.asarray(a)
    if a.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of numbers, got dtype {a.dtype}")
    if a.size == 0:
        raise ValueError(f"{name} must not be empty, got shape {a.shape}")
    return a


def _layers(arrays, name="arrays"):
    """``arrays`` as a list of non-empty arrays of numbers, one per layer."""
    if not isinstance(arrays, (list, tuple)):
        raise TypeError(f"{name} must be a list of arrays (one per layer), got {type(arrays).__name__}")
    return [_numbers(a, f"{name}[{l}]") for l, a in enumerate(arrays)]


def _stats(arrays, stat, per_member):
    """``stat`` of each array, or of each member's values in each array: (layers,) or (members, layers)."""
    arrays = _layers(arrays)
    with np.errstate(over="ignore", invalid="ignore"):  # a diverged member's inf: an inf or nan statistic
        if not check_flag(per_member, name="per_member"):
            return np.array([float(stat(a, axis=None)) for a in arrays])
        if not arrays:
            raise ValueError("arrays must contain at least one array with per_member=True")
        if any(a.ndim < 2 for a in arrays):
            raise ValueError("per_member=True needs arrays with a leading ensemble axis (at least 2-D)")
        return np.stack([stat(a.reshape(a.shape[0], -1).astype(np.float64), axis=1) for a in arrays], axis=1)


def _rms(x, axis):
    return np.sqrt(np.mean(np.square(x), axis=axis))


def layer_means(arrays, per_member=False):
    """Mean of each array in ``arrays``: one number per layer.

    Parameters
    ----------
    arrays : list of numpy.ndarray
    per_member : bool, default False
        Keep the leading ensemble axis: one row per member.

    Returns
    -------
    numpy.ndarray, shape (len(arrays),), or (members, len(arrays)) with ``per_member``

    Raises
    ------
    TypeError
        If ``per_member`` is not a bool, or ``arrays`` is not a list of
        arrays of numbers.
    ValueError
        For an empty array, or with ``per_member=True`` for an array
        without an ensemble axis.

    Examples
    --------
    >>> layer_means([np.zeros(3), np.ones(2)])
    array([0., 1.])
    >>> layer_means([np.array([[0.0, 2.0], [4.0, 6.0]])], per_member=True)  # 2 members, 1 layer
    array([[1.],
           [5.]])
    """
    return _stats(arrays, np.mean, per_member)


def layer_stds(arrays, per_member=False):
    """Standard deviation of each array in ``arrays``: one number per layer.

    ``per_member`` as in :func:`layer_means`.

    Examples
    --------
    >>> layer_stds([np.array([1.0, -1.0])])
    array([1.])
    """
    return _stats(arrays, np.std, per_member)


def layer_rms(arrays, per_member=False):
    """Root mean square ``sqrt(mean(a**2))`` of each array: the second-moment scale.

    ``per_member`` as in :func:`layer_means`.

    Examples
    --------
    >>> layer_rms([np.array([3.0, 4.0])]).round(3)
    array([3.536])
    """
    return _stats(arrays, _rms, per_member)


def saturation_fraction(h, activation="tanh", threshold=0.95):
    """Fraction of outputs in the flat tails of a tanh or sigmoid.

    A tanh output counts as saturated when ``|h| > threshold``; a sigmoid
    output when it is farther than ``(1 - threshold) / 2`` from 0 or 1
    (the same points on the curve, since ``sigmoid(z) = (1 + tanh(z/2))/2``).
    There the derivative is at most ``1 - threshold**2`` (tanh), so the
    gradient through the unit nearly vanishes.

    Parameters
    ----------
    h : numpy.ndarray
        Activations (outputs of the nonlinearity).
    activation : {"tanh", "sigmoid"}, default "tanh"
    threshold : float in (0, 1), default 0.95

    Returns
    -------
    float

    Raises
    ------
    ValueError
        For another activation, a threshold outside (0, 1) or an empty ``h``.
    TypeError
        If ``h`` is not an array of numbers.

    Examples
    --------
    >>> saturation_fraction(np.array([0.0, 0.99, -0.999, 0.5]))
    0.5
    """
    check_choice(activation, ("tanh", "sigmoid"), name="activation")
    threshold = check_real(threshold, name="threshold", min_value=0.0, max_value=1.0,
                           min_inclusive=False, max_inclusive=False)
    h = _numbers(h, "h")
    if activation == "sigmoid":
        with np.errstate(over="ignore"):
            h = 2.0 * h - 1.0
    return float(np.mean(np.abs(h) > threshold))


def dead_fraction(z, axis=-2):
    """Fraction of ReLU units that are inactive on *every* example of the batch.

    A unit whose pre-activation is ``<= 0`` for all inputs passes no signal
    forward and gets no gradient: it is "dead" for this data.

    Parameters
    ----------
    z : numpy.ndarray, shape (..., batch, units)
        Pre-activations.
    axis : int, default -2
        The batch axis.

    Returns
    -------
    float
        Dead units divided by all units (pooled over leading axes).

    Raises
    ------
    ValueError
        For an empty ``z`` or an ``axis`` it does not have.
    TypeError
        If ``z`` is not an array of numbers or ``axis`` not an int.

    Examples
    --------
    >>> dead_fraction(np.array([[-1.0, 2.0], [-3.0, -1.0]]))
    0.5
    """
    z = _numbers(z, "z")
    axis = check_int(axis, name="axis")
    if not -z.ndim <= axis < z.ndim or z.ndim < 2:
        raise ValueError(f"axis must be a batch axis of z (z needs at least (batch, units)), got axis={axis} "
                         f"for shape {z.shape}")
    return float(np.mean(np.all(z <= 0, axis=axis)))


def gradient_norms(grads):
    """Frobenius norm of each layer's gradient, per ensemble member.

    Parameters
    ----------
    grads : list of (S, ...) arrays

    Returns
    -------
    numpy.ndarray, shape (S, len(grads))

    Raises
    ------
    ValueError, TypeError
        If ``grads`` is not a non-empty list of non-empty arrays of numbers
        with the same leading (ensemble) axis.

    Examples
    --------
    >>> gradient_norms([np.ones((1, 2, 2))])
    array([[2.]])
    """
    grads = _layers(grads, "grads")
    if not grads or any(g.ndim < 1 or len(g) != len(grads[0]) for g in grads):
        raise ValueError("grads must be a non-empty list of arrays with the same leading (ensemble) axis, got "
                         f"shapes {[g.shape for g in grads]}")
    with np.errstate(over="ignore"):  # a diverged member's huge gradient: an inf norm
        return np.stack([np.sqrt(np.sum(np.square(g.reshape(g.shape[0], -1)), axis=1)) for g in grads], axis=1)


def summarize(trace, activation=None):
    """A per-layer table (dict of arrays) of the usual diagnostics of a :class:`~winit_edu.network.Trace`.

    Parameters
    ----------
    trace : Trace
    activation : str, optional
        ``"tanh"``/``"sigmoid"`` add ``saturation``; ``"relu"`` adds ``dead``.

    Returns
    -------
    dict
        ``act_mean``, ``act_std`` (hidden layers), ``pre_std`` (all layers)
        and, when the trace has gradients, ``grad_std`` (of ``dL/dz``) and
        ``weight_grad_norm`` (mean over members).
    """
    out = {
        "pre_std": layer_stds(trace.pre_activations),
        "act_mean": layer_means(trace.activations),
        "act_std": layer_stds(trace.activations),
    }
    if activation in ("tanh", "sigmoid"):
        out["saturation"] = np.array([saturation_fraction(h, activation) for h in trace.activations])
    if activation == "relu":
        out["dead"] = np.array([dead_fraction(z) for z in trace.pre_activations[:-1]])
    if trace.grad_pre_activations:
        out["grad_std"] = layer_stds(trace.grad_pre_activations)
        out["weight_grad_norm"] = gradient_norms(trace.grad_weights).mean(axis=0)
    return out


def _jacobian_layers(net, x, layers):
    """Check the arguments of :func:`jacobians`; return the trace and the sorted layer indices."""
    from ..nn.network import MLP  # a local import: network does not import diagnostics, but keep it one-way

    if not isinstance(net, MLP):
        raise TypeError(f"net must be a winit_edu.MLP, got {type(net).__name__} (a ResidualMLP's Jacobian is "
                        "not a product of W_l D_l: its skip connections add the identity to every block)")
    if net.norm is not None:
        raise ValueError(f"jacobians supports only networks with norm=None, got norm={net.norm!r} (a normalized "
                         "layer's Jacobian is not W_l D_l: the normalization couples the units)")
    L = net.n_layers
    if layers is None:
        if L < 2:
            raise ValueError("net has no hidden layer; pass layers=[1] for the Jacobian of the output")
        layers = range(1, L)
    if isinstance(layers, (str, bytes)) or not hasattr(layers, "__iter__"):
        layers = [layers]
    layers = [check_int(l, name="layers", min_value=1) for l in layers]
    if not layers:
        raise ValueError("layers must name at least one layer")
    if max(layers) > L:
        raise ValueError(f"layers must lie in 1..{L} (1..{L - 1} the hidden layers, {L} the output), got {max(layers)}")
    trace = net.trace(x)  # checks x as MLP.forward does
    return trace, sorted(set(layers))


def _jacobian_generator(net, trace, layers):
    last = layers[-1]
    J = None
    with np.errstate(over="ignore", invalid="ignore"):  # an overflowing member: inf or nan entries, as in forward
        for l in range(last):
            W = net.weights[l][:, None, :, :]                                       # (S, 1, n_l, n_{l+1})
            if l < net.n_layers - 1:                                                # a hidden layer: W_l D_l
                d = net.activations[l].df(trace.pre_activations[l], trace.activations[l])  # (S, B, n_{l+1})
                step = W * d[:, :, None, :]                                         # scales W_l's columns
            else:                                                                   # the linear output layer
                step = np.broadcast_to(W, (W.shape[0], trace.pre_activations[l].shape[1]) + W.shape[2:])
            J = step.copy() if J is None else J @ step
            if l + 1 in layers:
                yield l + 1, J


def jacobians(net, x, layers=None):
    r"""The Jacobians of the hidden layers of an :class:`~winit_edu.MLP` with respect to its input.

    For every member, every example of ``x`` and every requested layer
    ``l``, the matrix of partial derivatives of ``h_l``, the output of hidden
    layer ``l`` (after the nonlinearity), with respect to the input ``x``:

    .. math::

        J_l = \frac{\partial h_l}{\partial x} = W_0 D_0\, W_1 D_1 \cdots W_{l-1} D_{l-1},
        \qquad D_k = \operatorname{diag}\big(f'(z_k)\big),

    in the package's **row-vector** layout, where a layer computes
    ``z_k = h_k @ W_k + b_k`` and ``h_{k+1} = f(z_k)``: a small change ``dx``
    of the input (a row) changes ``h_l`` by ``dx @ J_l``, so
    ``J_l[i, j] = d h_{l,j} / d x_i`` and ``J_l`` has shape ``(n_0, n_l)``.
    The papers (Pennington et al., Hanin) write column vectors,
    ``h_{k+1} = f(W'_k h_k + b_k)`` with ``W'_k = W_k^T``; their Jacobian is
    ``D_{l-1} W'_{l-1} \cdots D_0 W'_0``, the **transpose** of the matrix
    returned here. The singular values are the same; take
    ``np.swapaxes(J, -1, -2)`` for theirs. The gradient of a loss with
    respect to the input is ``g_x = g_{h_l} @ J_l.T``.

    The slopes ``f'(z_k)`` are read off one forward pass
    (:meth:`MLP.trace <winit_edu.MLP.trace>`), and the product is built from
    left to right in one pass, so asking for many layers costs no more than
    asking for the last. Layer ``L = net.n_layers`` may also be asked for:
    the Jacobian of the output (logits), ``J_{L-1} W_{L-1}``, without a
    nonlinearity. Biases enter only through the slopes.

    Parameters
    ----------
    net : MLP
        A network with ``norm=None`` and any activations (dropout masks are
        not applied: the Jacobian is that of :meth:`MLP.forward
        <winit_edu.MLP.forward>` without masks).
    x : array_like, shape (B, n_0) or (S, B, n_0)
        Inputs as for :meth:`MLP.forward <winit_edu.MLP.forward>`: a batch
        shared by all ``S`` members, or one batch per member (for example one
        input per member, shape ``(S, 1, n_0)``). Memory grows as
        ``S * B * n_0 * n_l``: keep ``B`` small.
    layers : int or iterable of int, optional
        Which layers, counted from 1 (``h_1`` is the output of the first
        hidden layer) up to ``net.n_layers`` (the logits). Default: every
        hidden layer, ``1 .. net.n_layers - 1``.

    Returns
    -------
    generator of (int, numpy.ndarray)
        ``(l, J_l)`` in increasing ``l``, with ``J_l`` of shape
        ``(S, B, n_0, n_l)`` in the network's dtype. Each ``J_l`` is a new
        array; ``dict(jacobians(...))`` keeps them all (mind the memory for a
        deep net), iterating keeps one at a time. :func:`jacobian` returns a
        single layer's.

    Raises
    ------
    TypeError
        If ``net`` is not an :class:`~winit_edu.MLP` (a
        :class:`~winit_edu.ResidualMLP` is refused: its Jacobian is not this
        product), or ``layers`` holds a non-int.
    ValueError
        For ``norm="layer"`` (layer normalization couples the units, so the
        Jacobian is not ``W_l D_l``), a layer outside ``1 .. net.n_layers``,
        an empty ``layers``, a net without hidden layers and ``layers=None``,
        or an ``x`` that :meth:`MLP.forward <winit_edu.MLP.forward>` refuses.
        These are raised by the call itself, before any iteration.

    See Also
    --------
    jacobian, jacobian_singular_values

    Notes
    -----
    ReLU's derivative at exactly 0 is taken as :mod:`winit_edu.activations`
    defines it; with continuous weights a pre-activation is exactly 0 with
    probability 0.

    Examples
    --------
    >>> from winit_edu import MLP
    >>> net = MLP([3, 5, 4, 2], activation="tanh", seeds=[0, 1])
    >>> x = np.ones((1, 3))
    >>> [(l, J.shape) for l, J in jacobians(net, x)]
    [(1, (2, 1, 3, 5)), (2, (2, 1, 3, 4))]
    >>> J1 = dict(jacobians(net, x, layers=[1]))[1]
    >>> dx = 1e-6 * np.array([[1.0, 0.0, 0.0]])          # nudge the first input
    >>> h1 = lambda x: net.trace(x).activations[0]
    >>> bool(np.allclose((h1(x + dx) - h1(x - dx)) / 2e-6, J1[:, :, 0, :], atol=1e-8))
    True
    """
    trace, layers = _jacobian_layers(net, x, layers)
    return _jacobian_generator(net, trace, layers)


def jacobian(net, x, layer=None):
    """The Jacobian ``d h_layer / d x`` of one layer; see :func:`jacobians` for the layout.

    Parameters
    ----------
    net : MLP
        A network with ``norm=None``, as in :func:`jacobians`.
    x : array_like, shape (B, n_0) or (S, B, n_0)
        Inputs shared by all members or one batch per member, as in
        :func:`jacobians`.
    layer : int, optional
        ``1 .. net.n_layers``; default the last hidden layer,
        ``net.n_layers - 1``.

    Returns
    -------
    numpy.ndarray, shape (S, B, n_0, n_layer)

    Raises
    ------
    TypeError, ValueError
        As :func:`jacobians`.

    Examples
    --------
    >>> from winit_edu import MLP
    >>> net = MLP([4, 6, 6, 6, 2], activation="relu", weight_init="he_normal", seeds=[0, 1, 2])
    >>> jacobian(net, np.ones((3, 1, 4))).shape       # one input per member, last hidden layer
    (3, 1, 4, 6)
    """
    if layer is None:
        from ..nn.network import MLP
        if isinstance(net, MLP) and net.n_layers < 2:
            raise ValueError("net has no hidden layer; pass layer=1 for the Jacobian of the output")
        layer = net.n_layers - 1 if isinstance(net, MLP) else 1
    layer = check_int(layer, name="layer", min_value=1)
    (_, J), = jacobians(net, x, layers=[layer])
    return J


def jacobian_singular_values(net, x, layer=None):
    """The singular values of :func:`jacobian`, largest first, per member and example.

    The same for ``J`` (row-vector layout) as for the papers' ``J^T``:
    ``s_1 >= ... >= s_k`` with ``k = min(n_0, n_layer)``. Their squares
    average to ``sum(J**2) / k``. Pennington et al. (2017) call
    ``m_1 = tr(J J^T) / n_0 = sum(J**2) / n_0`` the mean squared singular
    value; ``(s**2).mean(axis=-1)`` equals it only when ``n_0 <= n_layer``
    (then ``k = n_0``). For ``n_0 > n_layer`` the ``n_0 - n_layer`` zero
    singular values are not returned, and ``m_1`` is
    ``(s**2).sum(axis=-1) / n_0``.

    Parameters
    ----------
    net : MLP
        A network with ``norm=None``, as in :func:`jacobians`.
    x : array_like, shape (B, n_0) or (S, B, n_0)
        Inputs shared by all members or one batch per member, as in
        :func:`jacobians`.
    layer : int, optional
        As in :func:`jacobian`.

    Returns
    -------
    numpy.ndarray, shape (S, B, min(n_0, n_layer))

    Raises
    ------
    TypeError, ValueError
        As :func:`jacobians`; numpy's ``LinAlgError`` for a non-finite
        Jacobian (an overflowing member).

    References
    ----------
    Pennington, J., Schoenholz, S. S. and Ganguli, S. (2017). Resurrecting
    the sigmoid in deep learning through dynamical isometry: theory and
    practice. NeurIPS 30.

    Examples
    --------
    >>> from winit_edu import MLP
    >>> net = MLP([2, 2], weight_init="identity")       # no hidden layer: the output is x @ I
    >>> jacobian_singular_values(net, np.zeros((1, 2)), layer=1)
    array([[[1., 1.]]])
    """
    return np.linalg.svd(jacobian(net, x, layer), compute_uv=False)
