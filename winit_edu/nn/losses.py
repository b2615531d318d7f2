"""Loss functions, each returning the loss and its gradient with respect to the network output.

Both losses average over the batch axis (the second-to-last axis) and keep
any leading axes, so an ensemble of ``S`` networks gets ``S`` losses.

The public functions check their arguments on every call; :func:`winit_edu.train`
checks the labels once per call and then uses the unchecked cores
(``_cross_entropy``, ``_squared_error``) at every step. Non-finite outputs, as
a diverging network makes them, give an inf or nan loss without a numpy
warning: that is how the training loop detects a divergence.
"""
from __future__ import annotations

import numpy as np

from .._checks import check_array, check_choice, check_int

LOSSES = ("cross_entropy", "squared_error")


def softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy and its gradient with respect to the logits.

    Parameters
    ----------
    logits : numpy.ndarray, shape (..., batch, classes)
    labels : numpy.ndarray of int, shape (batch,) or (..., batch)
        Class indices in ``[0, classes)``.

    Returns
    -------
    loss : numpy.ndarray, shape (...)
        ``-mean_b log softmax(logits_b)[label_b]``.
    grad : numpy.ndarray, same shape as ``logits``
        ``(softmax(logits) - onehot(labels)) / batch``.

    Raises
    ------
    ValueError
        If a label is outside ``[0, classes)`` or the shapes disagree.
    TypeError
        If the labels are not integers or the logits not numbers.

    Examples
    --------
    >>> loss, grad = softmax_cross_entropy(np.zeros((4, 2)), np.array([0, 1, 0, 1]))
    >>> round(float(loss), 4)
    0.6931
    """
    logits = _floats(logits, "logits")
    if logits.ndim < 2 or logits.shape[-1] < 1 or logits.shape[-2] < 1:
        raise ValueError(f"logits must have shape (..., batch, classes) with batch, classes >= 1, got {logits.shape}")
    labels = check_labels(labels, logits.shape[-1])
    if labels.ndim < 1 or labels.shape != logits.shape[-1 - labels.ndim:-1]:
        raise ValueError(f"labels shape {labels.shape} does not match logits shape {logits.shape}")
    return _cross_entropy(logits, labels)


def _floats(x, name):
    """``x`` as a float array (float32 stays float32); nan and inf are allowed."""
    dtype = getattr(x, "dtype", None)
    return check_array(x, name=name, dtype=dtype if dtype in (np.float32, np.float64) else np.float64, finite=False)


def check_labels(labels, n_classes, *, name="labels"):
    """Return ``labels`` as an int array with values in ``[0, n_classes)``, or raise.

    Examples
    --------
    >>> check_labels([1, 0], 2)
    array([1, 0])
    """
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"{name} must be integer class indices, got dtype {labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"{name} must lie in [0, {n_classes}), got range [{labels.min()}, {labels.max()}]")
    return labels


def _cross_entropy(logits, labels):
    """softmax_cross_entropy without the checks (``labels`` broadcast against the batch axes)."""
    n_classes, batch = logits.shape[-1], logits.shape[-2]
    with np.errstate(over="ignore", invalid="ignore"):  # inf or nan logits give an inf or nan loss, no warning
        shifted = logits - _row_max(logits)
        log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
        grad = np.exp(log_probs)  # softmax(logits)
        # the label's entry in every row, the rows counted over all the leading axes (integer
        # indexing of the rows, which is faster than take_along_axis on small arrays)
        if labels.shape != logits.shape[:-1]:  # one set of labels for every member
            labels = np.broadcast_to(labels, logits.shape[:-1])
        labels = labels.ravel()
        at = (np.arange(labels.size), labels)
        picked = log_probs.reshape(-1, n_classes)[at].reshape(logits.shape[:-1])
        grad.reshape(-1, n_classes)[at] -= 1.0  # softmax - onehot, in place
        grad /= batch
        return -(picked.sum(axis=-1) / batch), grad


def _row_max(logits):
    """``logits.max(axis=-1, keepdims=True)``, the same numbers, faster for few classes.

    numpy takes a maximum along a short last axis one row at a time, tens of nanoseconds a row: for
    an ensemble's (members, batch, 10) logits that was most of the loss. Down the columns of a
    transposed copy it is one vectorized pass per class. A maximum does not round, so the order
    does not matter; for many classes (over 64) the rows are long and numpy's own way is faster.
    """
    n_classes = logits.shape[-1]
    rows = logits.reshape(-1, n_classes)
    if n_classes <= 64:
        row_max = np.maximum.reduce(rows.T.copy(), axis=0)
    else:
        row_max = np.maximum.reduce(rows, axis=1)
    return row_max.reshape(logits.shape[:-1] + (1,))


def squared_error(outputs, targets):
    """Mean over the batch of ``0.5 * ||outputs - targets||**2`` and its gradient.

    Parameters
    ----------
    outputs : numpy.ndarray, shape (..., batch, k)
    targets : numpy.ndarray, shape (batch, k) or (..., batch, k)
        Real targets; for classification pass one-hot rows (see
        :func:`one_hot`).

    Returns
    -------
    loss : numpy.ndarray, shape (...)
    grad : numpy.ndarray, same shape as ``outputs``
        ``(outputs - targets) / batch``.

    Raises
    ------
    ValueError
        If the shapes do not match.
    TypeError
        If the arguments are not arrays of numbers.

    Examples
    --------
    >>> loss, grad = squared_error(np.ones((2, 1)), np.zeros((2, 1)))
    >>> float(loss)
    0.5
    """
    outputs = _floats(outputs, "outputs")
    if outputs.ndim < 2 or outputs.shape[-1] < 1 or outputs.shape[-2] < 1:
        raise ValueError(f"outputs must have shape (..., batch, k) with batch, k >= 1, got {outputs.shape}")
    targets = check_array(targets, name="targets", dtype=outputs.dtype, finite=False)
    if targets.ndim < 2 or targets.shape != outputs.shape[outputs.ndim - targets.ndim:]:
        raise ValueError(f"targets shape {targets.shape} does not match outputs shape {outputs.shape}")
    return _squared_error(outputs, targets)


def _squared_error(outputs, targets):
    """squared_error without the checks."""
    with np.errstate(over="ignore", invalid="ignore"):  # inf or nan outputs give an inf or nan loss, no warning
        diff = outputs - targets
        return 0.5 * (diff * diff).sum(axis=-1).mean(axis=-1), diff / outputs.shape[-2]


def one_hot(labels, n_classes):
    """One-hot rows for integer labels.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
    n_classes : int

    Returns
    -------
    numpy.ndarray, shape (n, n_classes)

    Raises
    ------
    ValueError
        If ``labels`` is not 1-D or outside ``[0, n_classes)``, or
        ``n_classes < 1``.
    TypeError
        If the labels or ``n_classes`` are not integers.

    Examples
    --------
    >>> one_hot([1, 0], 2)
    array([[0., 1.],
           [1., 0.]])
    """
    n_classes = check_int(n_classes, name="n_classes", min_value=1)
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of ints, got shape {labels.shape} and dtype {labels.dtype}")
    check_labels(labels, n_classes)
    return np.eye(n_classes)[labels]


def get_loss(name):
    """Return the loss function called ``name`` (``"cross_entropy"`` or ``"squared_error"``).

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> get_loss("squared_error").__name__
    'squared_error'
    """
    check_choice(name, LOSSES, name="loss")
    return {"cross_entropy": softmax_cross_entropy, "squared_error": squared_error}[name]
