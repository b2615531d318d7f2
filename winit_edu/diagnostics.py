"""Per-layer statistics: the numbers behind every "signal propagation" plot.

All functions take the arrays recorded by :meth:`winit_edu.MLP.trace`
(ensemble axis first) and pool over members, examples and units unless
said otherwise. ``layer_means``, ``layer_stds`` and ``layer_rms`` take
``per_member=True`` to keep one row per ensemble member instead, shape
``(members, layers)``: what a plot of the spread over seeds needs.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_choice, check_real


def _per_member(arrays, stat):
    """``stat`` of every member's values in every array, in float64: shape (members, layers)."""
    arrays = [np.asarray(a) for a in arrays]
    if any(a.ndim < 2 for a in arrays):
        raise ValueError("per_member=True needs arrays with a leading ensemble axis (at least 2-D)")
    return np.stack([stat(a.reshape(a.shape[0], -1).astype(np.float64), axis=1) for a in arrays], axis=1)


def _check_flag(value, name):
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


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
        If ``per_member`` is not a bool.
    ValueError
        With ``per_member=True``, for an array without an ensemble axis.

    Examples
    --------
    >>> layer_means([np.zeros(3), np.ones(2)])
    array([0., 1.])
    >>> layer_means([np.array([[0.0, 2.0], [4.0, 6.0]])], per_member=True)  # 2 members, 1 layer
    array([[1.],
           [5.]])
    """
    if _check_flag(per_member, "per_member"):
        return _per_member(arrays, np.mean)
    return np.array([float(np.mean(a)) for a in arrays])


def layer_stds(arrays, per_member=False):
    """Standard deviation of each array in ``arrays``: one number per layer.

    ``per_member`` as in :func:`layer_means`.

    Examples
    --------
    >>> layer_stds([np.array([1.0, -1.0])])
    array([1.])
    """
    if _check_flag(per_member, "per_member"):
        return _per_member(arrays, np.std)
    return np.array([float(np.std(a)) for a in arrays])


def layer_rms(arrays, per_member=False):
    """Root mean square ``sqrt(mean(a**2))`` of each array: the second-moment scale.

    ``per_member`` as in :func:`layer_means`.

    Examples
    --------
    >>> layer_rms([np.array([3.0, 4.0])]).round(3)
    array([3.536])
    """
    if _check_flag(per_member, "per_member"):
        return np.sqrt(_per_member(arrays, lambda x, axis: np.mean(np.square(x), axis=axis)))
    return np.array([float(np.sqrt(np.mean(np.square(a)))) for a in arrays])


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
        For another activation or a threshold outside (0, 1).

    Examples
    --------
    >>> saturation_fraction(np.array([0.0, 0.99, -0.999, 0.5]))
    0.5
    """
    check_choice(activation, ("tanh", "sigmoid"), name="activation")
    threshold = check_real(threshold, name="threshold", min_value=0.0, max_value=1.0,
                           min_inclusive=False, max_inclusive=False)
    h = np.asarray(h)
    if activation == "sigmoid":
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

    Examples
    --------
    >>> dead_fraction(np.array([[-1.0, 2.0], [-3.0, -1.0]]))
    0.5
    """
    z = np.asarray(z)
    return float(np.mean(np.all(z <= 0, axis=axis)))


def gradient_norms(grads):
    """Frobenius norm of each layer's gradient, per ensemble member.

    Parameters
    ----------
    grads : list of (S, ...) arrays

    Returns
    -------
    numpy.ndarray, shape (S, len(grads))

    Examples
    --------
    >>> gradient_norms([np.ones((1, 2, 2))])
    array([[2.]])
    """
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
