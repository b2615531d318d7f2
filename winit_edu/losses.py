"""Loss functions, each returning the loss and its gradient with respect to the network output.

Both losses average over the batch axis (the second-to-last axis) and keep
any leading axes, so an ensemble of ``S`` networks gets ``S`` losses.
"""
from __future__ import annotations

import numpy as np

from ._checks import check_choice

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

    Examples
    --------
    >>> loss, grad = softmax_cross_entropy(np.zeros((4, 2)), np.array([0, 1, 0, 1]))
    >>> round(float(loss), 4)
    0.6931
    """
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    n_classes = logits.shape[-1]
    if labels.shape != logits.shape[-1 - labels.ndim:-1]:
        raise ValueError(f"labels shape {labels.shape} does not match logits shape {logits.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}), got range [{labels.min()}, {labels.max()}]")
    labels = np.broadcast_to(labels, logits.shape[:-1])
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    picked = np.take_along_axis(log_probs, labels[..., None], axis=-1)[..., 0]
    batch = logits.shape[-2]
    grad = np.exp(log_probs)
    np.put_along_axis(grad, labels[..., None], np.take_along_axis(grad, labels[..., None], axis=-1) - 1.0, axis=-1)
    return -picked.mean(axis=-1), grad / batch


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
        If the shapes do not broadcast.

    Examples
    --------
    >>> loss, grad = squared_error(np.ones((2, 1)), np.zeros((2, 1)))
    >>> float(loss)
    0.5
    """
    outputs = np.asarray(outputs)
    targets = np.asarray(targets, dtype=outputs.dtype)
    if targets.shape != outputs.shape[outputs.ndim - targets.ndim:]:
        raise ValueError(f"targets shape {targets.shape} does not match outputs shape {outputs.shape}")
    diff = outputs - targets
    batch = outputs.shape[-2]
    return 0.5 * (diff * diff).sum(axis=-1).mean(axis=-1), diff / batch


def one_hot(labels, n_classes):
    """One-hot rows for integer labels.

    Parameters
    ----------
    labels : array_like of int, shape (n,)
    n_classes : int

    Returns
    -------
    numpy.ndarray, shape (n, n_classes)

    Examples
    --------
    >>> one_hot([1, 0], 2)
    array([[0., 1.],
           [1., 0.]])
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("labels must be a 1-D array of ints")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes})")
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
