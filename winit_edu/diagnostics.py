"""Per-layer statistics: the numbers behind every "signal propagation" plot.

All functions take the arrays recorded by :meth:`winit_edu.MLP.trace`
(ensemble axis first) and pool over members, examples and units unless
said otherwise. ``layer_means``, ``layer_stds`` and ``layer_rms`` take
``per_member=True`` to keep one row per ensemble member instead, shape
``(members, layers)``: what a plot of the spread over seeds needs.

Non-finite values (a diverged member) give nan or inf statistics, without a
numpy warning; empty arrays are refused.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_choice, check_flag, check_int, check_real


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
