"""Minibatch SGD (with momentum) and Adam, for every ensemble member at once.

:func:`train` is deliberately a short loop: shuffle, forward, loss, backward,
update. Three things make it fit for experiments:

* each member shuffles the data with its own seed's stream, so member ``s``
  of an ensemble trains exactly as ``MLP(..., seeds=seeds[s])`` would alone;
  ``order_seeds`` gives the order its own seeds, to separate the randomness
  of the start from the randomness of training;
* members may differ in learning rate (``member_lr``) and, through
  :meth:`MLP.concatenate <winit_edu.network.MLP.concatenate>`, in how they
  were initialized, so a sweep over one architecture is one vectorized run;
* a member whose loss becomes inf or nan is *detected* at the step it
  happens, with the first layer where the forward pass stopped being finite,
  whether on a minibatch or in an evaluation of the full data (which can
  fail where the minibatches did not, for instance after the last update).
  By default :class:`TrainingDiverged` is raised; with
  ``on_divergence="stop"`` that member is frozen, its later losses are nan,
  and :attr:`History.diverged_step` says when it failed, so a plot can show
  the failure instead of drawing garbage.

An overflow inside a step is therefore reported once, as a divergence, and
never as a stream of numpy warnings: the arithmetic of the step runs under
``numpy.errstate(all="ignore")`` (your ``callback`` does not). The arguments,
labels included, are checked once per call, not at every step.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace

import numpy as np

from .._checks import check_array, check_choice, check_flag, check_int, check_real
from ..nn.dropout import DROPOUT_KINDS, _check_alpha_dropout_net, dropout_masks, dropout_stream
from ..nn.losses import LOSSES, _cross_entropy, _squared_error, check_labels
from ..nn.network import MLP, _views_of
from ..nn.residual import ResidualMLP
from ..rng import seed_streams

_UNCHECKED = {"cross_entropy": _cross_entropy, "squared_error": _squared_error}
_quiet = functools.partial(np.errstate, all="ignore")  # a divergence is detected from the values, not warned about


class TrainingDiverged(FloatingPointError):
    """Raised by :func:`train` when a member's loss becomes inf or nan.

    Attributes
    ----------
    seed : int
        The seed of the (first) member that diverged at this step.
    step : int
        The update at which its loss was first not finite (0 is the first).
    layer : int
        The first layer (counted from 1) where its weights, biases,
        normalization gains or biases, pre-activations or running statistics
        were not finite (see :meth:`winit_edu.network.MLP.first_nonfinite`);
        -1 if only the loss was.
    quantity : str
        Which of them: ``"weights"``, ``"biases"``, ``"norm gains"``,
        ``"norm biases"``, ``"pre-activations"``, ``"running means"``,
        ``"running variances"``, or ``"loss"``.
    data : str
        Where the loss was not finite: ``"minibatch"`` (the training step's
        batch), or ``"training data"`` or ``"validation data"`` (an
        evaluation of the full data at that step, which can fail where the
        minibatches did not: after the last update, or on examples no
        minibatch has met since the parameters grew).
    """

    def __init__(self, seed, step, layer, quantity, data="minibatch"):
        self.seed, self.step, self.layer, self.quantity, self.data = seed, step, layer, quantity, data
        where = (f"first non-finite values in layer {layer} ({quantity})" if layer > 0
                 else "although the outputs are finite (logits beyond the float range)")
        on = "" if data == "minibatch" else f" on the full {data}"
        super().__init__(
            f"training diverged: seed {seed} produced a non-finite loss{on} at step {step}, {where}; lower the "
            "learning rate or the initial scale, or pass on_divergence='stop' to record it")


@dataclass
class History:
    """Learning curves of every member.

    Attributes
    ----------
    seeds : list of int
    step_loss : (steps, S) array
        Minibatch loss at every step (nan after a member diverged).
    grad_norm : (steps, n_arrays, S) array
        With ``train(..., grad_norm=True)``: the Euclidean norm of the
        gradient of every parameter array (in the order of
        ``net.parameters()``: ``W_1, b_1, W_2, b_2, ...``) of every member at
        every step, before the update (nan after a member diverged); empty
        otherwise. The norm of the whole gradient is
        ``np.sqrt((hist.grad_norm ** 2).sum(axis=1))``, of the weights alone
        ``hist.grad_norm[:, ::2]``; with ``MLP(..., norm_affine=True)`` the
        norm gains and biases follow the ``2 L`` weight and bias arrays
        (``gamma_1, beta_1, ...``), and the weights alone are
        ``hist.grad_norm[:, 0:2 * L:2]``; with
        ``ResidualMLP(..., learn_branch_scale=True)`` the ``K`` branch scales
        ``alpha_1, ..., alpha_K`` follow them in the same way (the norm of a
        scalar's gradient is ``|dL/dalpha_k|``).
    eval_steps : (E,) int array
        Steps at which the full data were evaluated, increasing (0 is before
        training; by default step 0, every ``eval_every`` steps and the last
        step, see ``train``'s ``eval_at_start`` and ``eval_at_end``).
    train_loss, train_accuracy, val_loss, val_accuracy : (E, S) arrays
        Full-data loss and accuracy, row ``i`` at step ``eval_steps[i]``
        (accuracy is nan for squared error without class labels; validation
        arrays are empty without validation data).
    diverged_step : (S,) int array
        Step at which each member diverged, -1 if it did not: the first
        step whose minibatch loss, or whose evaluated training or
        validation loss, was inf or nan. A member is frozen from then on.
    diverged_layer : (S,) int array
        First layer (counted from 1, as in the plots) whose weights, biases,
        normalization parameters, pre-activations or running statistics were
        not finite at that step (-1 if none).
    diverged_quantity : list of str
        Which of them (``"weights"``, ``"biases"``, ``"norm gains"``,
        ``"norm biases"``, ``"pre-activations"``, ``"running means"``,
        ``"running variances"``, as :meth:`winit_edu.network.MLP.first_nonfinite`
        names them, and ``"branch scales"`` for
        :meth:`winit_edu.residual.ResidualMLP.first_nonfinite`; ``"loss"`` if
        only the loss was not finite); ``""`` for a member that did not
        diverge.
    """

    seeds: list
    step_loss: np.ndarray
    eval_steps: np.ndarray
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    val_loss: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    val_accuracy: np.ndarray = field(default_factory=lambda: np.empty((0, 0)))
    diverged_step: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    diverged_layer: np.ndarray = field(default_factory=lambda: np.empty(0, dtype=int))
    diverged_quantity: list = field(default_factory=list)
    grad_norm: np.ndarray = field(default_factory=lambda: np.empty((0, 0, 0)))

    @property
    def diverged(self):
        """Boolean mask of the members that diverged."""
        return self.diverged_step >= 0

    def report(self):
        """One line per diverged member, or a line saying none did."""
        lines = [f"seed {s}: non-finite values at step {st}, first in layer {la}"
                 for s, st, la in zip(self.seeds, self.diverged_step, self.diverged_layer) if st >= 0]
        return "\n".join(lines) if lines else f"all {len(self.seeds)} runs stayed finite"

    def members(self, index):
        """The History of some members only, in the order ``index`` gives.

        An ensemble that trained several settings side by side (see
        :meth:`winit_edu.network.MLP.concatenate`) has one History; this cuts
        out the members of one setting, to plot or summarize them on their own.

        Parameters
        ----------
        index : int, slice, sequence of int, or boolean array of length S
            Which members, as for a numpy array: ``hist.members(slice(5, 10))``,
            ``hist.members([0, 2])``, ``hist.members(~hist.diverged)``.

        Returns
        -------
        History
            A new History whose per-member arrays (``seeds``, ``step_loss``,
            ``grad_norm`` along its last axis, the train and validation curves,
            the divergence records) hold copies of those members' entries;
            ``eval_steps`` is the same for every member and is shared.

        Raises
        ------
        TypeError
            If ``index`` is not an int, a slice, a sequence of ints or a
            boolean array.
        ValueError
            If an index is out of range, a boolean array does not have one
            entry per member, or no member is selected.

        Examples
        --------
        >>> from winit_edu import MLP, make_xor, train
        >>> X, y = make_xor(40, rng=0)
        >>> hist = train(MLP([2, 4, 2], seeds=[0, 1, 2, 3]), X, y, epochs=1, batch_size=20)
        >>> part = hist.members(slice(2, 4))
        >>> part.seeds, part.train_loss.shape
        ([2, 3], (2, 2))
        """
        picked = _member_indices(index, len(self.seeds))

        def cut(values, axis):  # an array that was not recorded (no validation data, no grad_norm) stays empty
            return np.take(values, picked, axis=axis) if values.shape[axis] == len(self.seeds) else values.copy()

        return replace(self, seeds=[self.seeds[i] for i in picked], step_loss=cut(self.step_loss, 1),
                       grad_norm=cut(self.grad_norm, -1), train_loss=cut(self.train_loss, 1),
                       train_accuracy=cut(self.train_accuracy, 1), val_loss=cut(self.val_loss, 1),
                       val_accuracy=cut(self.val_accuracy, 1), diverged_step=cut(self.diverged_step, 0),
                       diverged_layer=cut(self.diverged_layer, 0),
                       diverged_quantity=[self.diverged_quantity[i] for i in picked])


def _member_indices(index, n_members):
    """``index`` (int, slice, ints or a boolean mask) as an array of member indices in ``[0, n_members)``."""
    if isinstance(index, slice):
        picked = np.arange(n_members)[index]
    else:
        values = np.atleast_1d(np.asarray(index))
        if values.size == 0:
            raise ValueError(f"index selects no member: {index!r}")
        if values.dtype == bool:
            if values.shape != (n_members,):
                raise ValueError(f"a boolean index must have one entry per member ({n_members}), got shape {values.shape}")
            picked = np.flatnonzero(values)
        elif values.ndim == 1 and np.issubdtype(values.dtype, np.integer):
            if ((values < -n_members) | (values >= n_members)).any():
                raise ValueError(f"index must be in [-{n_members}, {n_members}), got {index!r}")
            picked = values % n_members
        else:
            raise TypeError(f"index must be an int, a slice, a sequence of ints or a boolean array, got {index!r}")
    if picked.size == 0:
        raise ValueError(f"index selects no member: {index!r}")
    return picked


def _accuracy(outputs, labels):
    return (outputs.argmax(axis=-1) == labels).mean(axis=-1)


def evaluate(net, X, y, loss="cross_entropy"):
    """Loss and accuracy of every member on the full data ``(X, y)``.

    Parameters
    ----------
    net : MLP
    X : array, shape (N, n_0)
        Finite inputs.
    y : array
        Integer labels (N,) for cross-entropy; targets (N, k) for squared
        error, or integer labels, which are one-hot encoded.
    loss : {"cross_entropy", "squared_error"}

    Returns
    -------
    loss, accuracy : (S,) arrays
        Accuracy is nan when ``y`` holds real-valued targets. A diverged
        member's loss is inf or nan (without a warning), and its accuracy nan
        (its outputs are not all finite: it makes no prediction).

    Raises
    ------
    ValueError, TypeError
        For an unknown ``loss``, or ``X`` or ``y`` of the wrong shape, type
        or range.

    Examples
    --------
    >>> from winit_edu import MLP, make_xor
    >>> X, y = make_xor(100, rng=0)
    >>> loss, acc = evaluate(MLP([2, 4, 2], seeds=[0, 1, 2]), X, y)
    >>> loss.shape, acc.shape
    ((3,), (3,))
    """
    _check_net(net)
    check_choice(loss, LOSSES, name="loss")
    X = _check_inputs(net, X, "X")
    labels, targets = _labels_and_targets(y, loss, net.sizes[-1], net.dtype, len(X), "y")
    with _quiet():
        out = net.predict(X)  # forward's numbers, without keeping every layer of every example
        value, _ = _UNCHECKED[loss](out, targets)
        acc = _accuracy(out, labels) if labels is not None else np.full(net.n_members, np.nan)
    # a member whose outputs are not all finite has no prediction: nan, not the share of class 0 (argmax of nan)
    acc = np.where(np.isfinite(out).all(axis=(1, 2)), acc, np.nan)
    return value, acc


def _check_net(net):
    if not isinstance(net, (MLP, ResidualMLP)):
        raise TypeError(f"net must be a winit_edu.MLP or ResidualMLP, got {type(net).__name__}")


def _check_inputs(net, X, name):
    """``X`` as a finite (N, n_0) array of the network's dtype, N >= 1."""
    X = check_array(X, name=name, dtype=net.dtype)
    if X.ndim != 2 or X.shape[1] != net.sizes[0] or len(X) == 0:
        raise ValueError(f"{name} must have shape (n_samples, {net.sizes[0]}) with n_samples >= 1, got {X.shape}")
    return X


def _labels_and_targets(y, loss, n_out, dtype, n, name):
    """Checked ``(labels, targets)`` for ``n`` samples; ``labels`` is None for real-valued targets."""
    y = np.asarray(y)
    if y.ndim == 1 and y.dtype.kind in "iu":
        check_labels(y, n_out, name=name)
        labels, targets = y, (y if loss == "cross_entropy" else np.eye(n_out, dtype=dtype)[y])
    elif loss == "cross_entropy":
        raise TypeError(f"{name} must be a 1-D array of integer labels for the cross-entropy, "
                        f"got shape {y.shape} and dtype {y.dtype}")
    else:
        targets = check_array(y, name=name, dtype=dtype)
        if targets.ndim != 2 or targets.shape[1] != n_out:
            raise ValueError(f"{name} must be integer labels (n,) or targets (n, {n_out}), got shape {y.shape}")
        labels = None
    if len(targets) != n:
        raise ValueError(f"X and {name} must have the same number of samples, got {n} and {len(targets)}")
    return labels, targets


def _learning_rates(lr, n_arrays):
    """One validated learning rate per parameter array."""
    if np.ndim(lr) == 0:
        return [check_real(lr, name="lr", min_value=0.0, min_inclusive=False)] * n_arrays
    rates = list(lr)
    if len(rates) != n_arrays:
        raise ValueError(f"lr must be a number or one rate per parameter array ({n_arrays}: W_1, b_1, W_2, b_2, ...), "
                         f"got {len(rates)} rates")
    return [check_real(r, name=f"lr[{k}]", min_value=0.0, min_inclusive=False) for k, r in enumerate(rates)]


def train(net, X, y, *, loss="cross_entropy", lr=0.1, momentum=0.0, batch_size=64, epochs=10,
          X_val=None, y_val=None, eval_every=None, on_divergence="raise", callback=None,
          optimizer="sgd", betas=(0.9, 0.999), eps=1e-8, member_lr=None, order_seeds=None, dropout=0.0,
          dropout_kind="inverted", grad_norm=False, eval_at_start=True, eval_at_end=True):
    """Train every member of ``net`` in place with minibatch SGD (+ momentum) or Adam.

    SGD's update is ``v <- momentum * v - lr * grad; p <- p + v``. Adam's
    (Kingma and Ba 2015) is ``m <- b1 m + (1 - b1) g``,
    ``v <- b2 v + (1 - b2) g^2``, ``p <- p - lr * m_hat / (sqrt(v_hat) + eps)``
    with the bias-corrected ``m_hat = m / (1 - b1^t)``,
    ``v_hat = v / (1 - b2^t)``. Each epoch every member visits the data in
    its own random order; the last partial batch of an epoch is dropped.

    Training and evaluation modes: the training steps run the network in
    training mode (``net.forward(X_batch, training=True)``, for every kind
    of network: batch normalization uses the statistics of the minibatch and
    updates its running statistics; dropout is applied; layer normalization
    and the networks without normalization compute the same in both modes),
    every evaluation (step 0,
    ``eval_every``, the end; the training and validation losses and
    accuracies) in inference mode through :func:`evaluate` (the running
    statistics, no dropout), as PyTorch's ``model.train()`` and
    ``model.eval()``. Normalization gains and biases
    (``MLP(..., norm_affine=True)``) and learnable branch scales
    (``ResidualMLP(..., learn_branch_scale=True)``) are trained like the
    weights: the optimizer updates every array of ``net.parameters()`` with
    its gradient from ``net.gradients()``.

    Parameters
    ----------
    net : MLP or ResidualMLP
    X : array, shape (N, n_0)
    y : array
        Labels (N,) of int for cross-entropy; targets (N, k) or labels for
        squared error.
    loss : {"cross_entropy", "squared_error"}, default "cross_entropy"
    lr : float or sequence of float, default 0.1
        Learning rate, ``> 0``. A sequence gives one rate per parameter
        array, in the order of ``net.parameters()``
        (``W_1, b_1, W_2, b_2, ...``), for experiments that scale the steps
        of some layers.
    momentum : float in [0, 1), default 0.0
    batch_size : int, default 64
        ``1 <= batch_size <= N``.
    epochs : int, default 10
    X_val, y_val : arrays, optional
        Validation data, evaluated together with the training data.
    eval_every : int, optional
        Evaluate on the full data every this many steps (default: once per
        epoch), in addition to step 0 and the last step (see below).
    on_divergence : {"raise", "stop"}, default "raise"
        What to do when a member's loss becomes inf or nan, on a training
        minibatch or in an evaluation of the full training or validation
        data (a member whose evaluated loss is not finite has diverged at
        that step, even if every minibatch loss was finite).
    callback : callable, optional
        Called as ``callback(step, net)`` after every update, with ``step``
        the number of updates so far (1, 2, ...), to record what the
        :class:`History` does not (say, a probe of the hidden layers). It
        is also a stopping rule: when it returns ``True`` (a bool, numpy's
        too; any other value continues), training stops after that step, for every
        member; the last evaluation is at that step (with ``eval_at_end``)
        and the later rows of ``step_loss`` stay nan, as for a divergence.
    optimizer : {"sgd", "adam"}, default "sgd"
    betas : (float, float), default (0.9, 0.999)
        Adam's decay rates ``b1, b2`` in ``[0, 1)``.
    eps : float, default 1e-8
        Adam's ``eps > 0``.
    member_lr : sequence of float, optional
        One learning rate per member (``> 0``), used instead of ``lr``: an
        ensemble that sweeps learning rates trains as one run. Not together
        with a per-array ``lr`` sequence.
    order_seeds : sequence of int, optional
        One non-negative seed per member for the minibatch order (and the
        dropout masks); by default each member's own seed. Seeds may repeat:
        members with equal order seeds see the same minibatches.
    dropout : float in [0, 1), default 0.0
        Probability of dropping each hidden unit at each training step
        ("inverted" dropout: kept units are scaled by ``1 / (1 - dropout)``;
        evaluation uses the whole network). The masks come from the member's
        order seed, from a stream of their own
        (:func:`~winit_edu.dropout.dropout_stream`).
    dropout_kind : {"inverted", "alpha"}, default "inverted"
        ``"alpha"``: alpha dropout (Klambauer et al. 2017), for SELU networks
        only: a dropped unit is set to SELU's saturation value and an affine
        correction keeps mean 0 and variance 1 (:mod:`winit_edu.dropout`).
        The same order seeds drop the same units in both kinds; evaluation
        uses the whole network in both.
    grad_norm : bool, default False
        Record the norm of every parameter array's gradient, for every member
        at every step, in :attr:`History.grad_norm` (one extra pass over the
        gradients).
    eval_at_start, eval_at_end : bool, default True
        Evaluate the full data at step 0 (the untrained network) and at the
        last step (after the last update, or the step at which every member
        had diverged). Each evaluation is a pass over ``X`` (and ``X_val``):
        in a short run they are a large share of the time, so a sweep that
        reads only the final numbers can pass ``eval_at_start=False``, and
        one that reads only ``eval_every``'s points ``eval_at_end=False``.
        Either only removes its own evaluation: a step that is a multiple of
        ``eval_every`` is still evaluated, and with ``epochs=0`` the start is
        also the end. The training itself is the same to the bit.

    Returns
    -------
    History
        Its :attr:`~History.eval_steps` lists the steps that were
        evaluated, and the train and validation curves have one row per
        entry (none, shape ``(0, S)``, if no step was).

    Raises
    ------
    TrainingDiverged
        With ``on_divergence="raise"``, naming the seed, step, layer and
        quantity (its attributes hold them too).
    ValueError, TypeError
        For invalid arguments, checked before the first step (non-finite
        inputs, labels outside ``[0, n_outputs)``, ...).

    Examples
    --------
    >>> from winit_edu import MLP, make_xor
    >>> X, y = make_xor(200, rng=0)
    >>> net = MLP([2, 8, 2], activation="tanh", seeds=[0, 1])
    >>> hist = train(net, X, y, lr=0.5, epochs=5, batch_size=20)
    >>> hist.train_loss.shape
    (6, 2)

    Only the final point, without the evaluation of the untrained network:

    >>> hist = train(net, X, y, lr=0.5, epochs=5, batch_size=20, eval_every=10**9, eval_at_start=False)
    >>> hist.eval_steps, hist.train_loss.shape
    (array([50]), (1, 2))
    """
    _check_net(net)
    check_choice(loss, LOSSES, name="loss")
    check_choice(on_divergence, ("raise", "stop"), name="on_divergence")
    check_choice(optimizer, ("sgd", "adam"), name="optimizer")
    S = net.n_members
    rates = _learning_rates(lr, len(net.parameters()))
    if member_lr is not None:
        if np.ndim(lr) != 0:
            raise ValueError("member_lr cannot be combined with one lr per parameter array; give lr as a number")
        rates = _member_rates(member_lr, net)
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable as callback(step, net), got {type(callback).__name__}")
    momentum = check_real(momentum, name="momentum", min_value=0.0, max_value=1.0, max_inclusive=False)
    if optimizer == "adam":
        if momentum > 0:
            raise ValueError("momentum is an SGD option; Adam's momentum is betas[0]")
        if np.ndim(betas) != 1 or len(betas) != 2:
            raise ValueError(f"betas must be a pair (b1, b2), got {betas!r}")
        betas = tuple(check_real(b, name=f"betas[{k}]", min_value=0.0, max_value=1.0, max_inclusive=False)
                      for k, b in enumerate(betas))
        eps = check_real(eps, name="eps", min_value=0.0, min_inclusive=False)
    grad_norm = check_flag(grad_norm, name="grad_norm")
    eval_at_start = check_flag(eval_at_start, name="eval_at_start")
    eval_at_end = check_flag(eval_at_end, name="eval_at_end")
    dropout = check_real(dropout, name="dropout", min_value=0.0, max_value=1.0, max_inclusive=False)
    check_choice(dropout_kind, DROPOUT_KINDS, name="dropout_kind")
    if dropout_kind == "alpha":
        _check_alpha_dropout_net(net)  # before the first step
    if order_seeds is None:
        order_seeds = net.seeds
    else:
        order_seeds = [order_seeds] * S if np.ndim(order_seeds) == 0 else list(order_seeds)
        if len(order_seeds) != S:
            raise ValueError(f"order_seeds must hold one seed per member ({S}), got {len(order_seeds)}")
        order_seeds = [check_int(s, name="order_seeds", min_value=0) for s in order_seeds]
    epochs = check_int(epochs, name="epochs", min_value=0)
    X = _check_inputs(net, X, "X")
    n = X.shape[0]
    batch_size = check_int(batch_size, name="batch_size", min_value=1)
    if batch_size > n:
        raise ValueError(f"batch_size must be at most the number of samples ({n}), got {batch_size}")
    if batch_size < 2 and getattr(net, "norm", None) == "batch":
        raise ValueError("batch normalization needs batch_size >= 2 (the variance of one example is 0)")
    steps_per_epoch = n // batch_size
    eval_every = steps_per_epoch if eval_every is None else check_int(eval_every, name="eval_every", min_value=1)
    _, targets = _labels_and_targets(y, loss, net.sizes[-1], net.dtype, n, "y")  # checked once, used every step
    has_val = X_val is not None or y_val is not None
    if has_val:
        if X_val is None or y_val is None:
            raise ValueError("X_val and y_val must be given together")
        X_val = _check_inputs(net, X_val, "X_val")
        _labels_and_targets(y_val, loss, net.sizes[-1], net.dtype, len(X_val), "y_val")
    loss_fn = _UNCHECKED[loss]
    data_rngs = [seed_streams(s)[2] for s in order_seeds]
    mask_rngs = [dropout_stream(s) for s in order_seeds] if dropout > 0 else None
    flat = net._flat_parameters() if isinstance(net, MLP) else None  # all parameters in one array, or None
    if optimizer == "adam":
        state = _Adam(net.parameters(), rates, betas, eps, flat)
    else:
        state = _SGD(net.parameters(), rates, momentum, flat)
    total = epochs * steps_per_epoch

    step_loss = np.full((total, S), np.nan)
    norms = np.full((total, len(net.parameters()), S), np.nan) if grad_norm else np.empty((0, 0, 0))
    evals, train_curve, val_curve = [], [], []
    diverged_step = np.full(S, -1)
    diverged_layer = np.full(S, -1)
    diverged_quantity = [""] * S

    def mark_diverged(bad, step, data, inputs=None):
        """Record the members in the mask ``bad`` as diverged at ``step``; raise if asked to.

        Where the failure is in the last forward pass (a minibatch), that pass says where it
        started; for an evaluation, a one-member copy runs forward over ``inputs`` to say it
        (the evaluation kept no layer, and a pass of the whole ensemble over the whole data
        that keeps every layer can take gigabytes).
        """
        for s in np.flatnonzero(bad):
            if inputs is None:
                layer, quantity = net.first_nonfinite(s)
            else:
                probe = net.member(s)
                with _quiet():
                    probe.forward(inputs)  # inference mode, as evaluate
                layer, quantity = probe.first_nonfinite(0)
            diverged_step[s], diverged_layer[s], diverged_quantity[s] = step, layer, quantity or "loss"
        if on_divergence == "raise":
            s = int(np.flatnonzero(bad)[0])
            raise TrainingDiverged(net.seeds[s], step, int(diverged_layer[s]), diverged_quantity[s], data=data)

    def record(step):
        evals.append(step)
        train_curve.append(evaluate(net, X, y, loss))
        if has_val:
            val_curve.append(evaluate(net, X_val, y_val, loss))
        # a full pass can fail where the minibatches did not (the last update overflowed, or the
        # examples that overflow were in no minibatch since): the member diverged at this step too
        for data, inputs, curve in (("training data", X, train_curve), ("validation data", X_val, val_curve)):
            bad = (~np.isfinite(curve[-1][0]) & (diverged_step < 0)) if inputs is not None and curve else None
            if bad is not None and bad.any():
                mark_diverged(bad, step, data, inputs)

    if eval_at_start:
        record(0)
    step, stop = 0, False
    for _ in range(epochs):
        order = np.stack([r.permutation(n) for r in data_rngs])  # (S, n)
        for i in range(steps_per_epoch):
            idx = order[:, i * batch_size:(i + 1) * batch_size]
            masks = dropout_masks(net, batch_size, dropout, kind=dropout_kind, rngs=mask_rngs) if mask_rngs else None
            with _quiet():
                out = net.forward(X[idx], masks=masks, training=True)  # only batch norm depends on the mode
                value, grad = loss_fn(out, targets[idx])
            # a member that diverged at an earlier step is frozen: its later losses are nan
            step_loss[step] = np.where(diverged_step >= 0, np.nan, value)
            bad = ~np.isfinite(value) & (diverged_step < 0)
            if bad.any():
                mark_diverged(bad, step, "minibatch")
            frozen = diverged_step >= 0
            with _quiet():
                net.backward(grad)
                grads = net.gradients()
                if grad_norm:
                    for k, g in enumerate(grads):
                        norms[step, k] = np.where(frozen, np.nan, np.sqrt(np.square(g).reshape(S, -1).sum(axis=1)))
                if flat is not None and not frozen.any() and (flat_grads := net._flat_gradients()) is not None:
                    state.update_flat(flat_grads)  # the same arithmetic, on every array at once
                else:
                    state.update(grads, frozen if frozen.any() else None)
            step += 1
            if callback is not None:
                said = callback(step, net)
                stop = isinstance(said, (bool, np.bool_)) and bool(said)  # the caller's stopping rule
            if step % eval_every == 0:
                record(step)
            if (diverged_step >= 0).all() or stop:
                break
        if (diverged_step >= 0).all() or stop:
            break
    if eval_at_end and (not evals or evals[-1] != step):
        record(step)
    frozen = diverged_step >= 0
    train_curve = np.array(train_curve).reshape(len(evals), 2, S)  # (E, 2, S), also for E = 0
    hist = History(
        seeds=list(net.seeds),
        step_loss=step_loss,
        grad_norm=norms,
        eval_steps=np.array(evals, dtype=int),
        train_loss=train_curve[:, 0],
        train_accuracy=train_curve[:, 1],
        diverged_step=diverged_step,
        diverged_layer=diverged_layer,
        diverged_quantity=diverged_quantity,
    )
    if has_val:
        val_curve = np.array(val_curve).reshape(len(evals), 2, S)
        hist.val_loss, hist.val_accuracy = val_curve[:, 0], val_curve[:, 1]
    for arr in (hist.train_loss, hist.train_accuracy, hist.val_loss, hist.val_accuracy):
        if arr.size:
            arr[np.asarray(hist.eval_steps)[:, None] > np.where(frozen, diverged_step, total)[None, :]] = np.nan
    return hist


def _member_rates(member_lr, net):
    """``member_lr`` as one array per parameter array, shaped to broadcast over its member axis."""
    if np.ndim(member_lr) != 1 or len(member_lr) != net.n_members:
        raise ValueError(f"member_lr must hold one learning rate per member ({net.n_members}), "
                         f"got {np.shape(member_lr)}")
    r = np.array([check_real(v, name=f"member_lr[{k}]", min_value=0.0, min_inclusive=False)
                  for k, v in enumerate(member_lr)], dtype=net.dtype)
    return [r.reshape((-1,) + (1,) * (p.ndim - 1)) for p in net.parameters()]


class _SGD:
    """``v <- momentum * v - lr * g; p <- p + v`` (``p <- p - lr * g`` without momentum), in place.

    Each gradient is scaled by its learning rate in place, so the update
    makes no temporary arrays (and leaves ``lr * g`` in ``grads``). Members
    in ``frozen`` (a boolean mask over the ensemble axis) keep their
    parameters, with a zero velocity.

    ``flat``, when the network keeps all its parameters in one array (its
    ``_flat_parameters()``), lets :meth:`update_flat` do the same arithmetic on
    that array and on the gradients' one array: four numpy calls in all
    instead of four per parameter array, the same numbers to the bit (each
    element goes through the same operations). The velocity is then one array
    too, and ``update`` works on views of it.
    """

    def __init__(self, params, rates, momentum, flat=None):
        self.params, self.rates, self.momentum, self.flat = params, rates, momentum, flat
        if flat is not None:
            self.flat_rate = _flat_rates(rates, params, flat)
            self.flat_velocity = np.zeros_like(flat) if momentum > 0 else None
            self.velocity = _views_of(self.flat_velocity, [p.shape for p in params]) if momentum > 0 else None
        else:
            self.velocity = [np.zeros_like(p) for p in params] if momentum > 0 else None

    def update(self, grads, frozen=None):
        for k, (p, g) in enumerate(zip(self.params, grads)):
            if frozen is not None:
                g[frozen] = 0.0  # a diverged member keeps its last parameters
                if self.velocity is not None:
                    self.velocity[k][frozen] = 0.0  # ... also with momentum
            g *= self.rates[k]  # the step lr * g
            if self.velocity is None:
                p -= g
            else:
                v = self.velocity[k]
                v *= self.momentum
                v -= g
                p += v

    def update_flat(self, g):
        """:meth:`update` without frozen members, on the one array of the gradients ``g``."""
        g *= self.flat_rate
        if self.flat_velocity is None:
            self.flat -= g
        else:
            v = self.flat_velocity
            v *= self.momentum
            v -= g
            self.flat += v


class _Adam:
    """Adam (Kingma and Ba 2015), in place; frozen members keep their parameters and moments.

    With ``flat`` (see :class:`_SGD`) the moments are one array each and
    :meth:`update_flat` updates every parameter at once, to the same bits.
    """

    def __init__(self, params, rates, betas, eps, flat=None):
        self.params, self.rates, self.eps, self.flat = params, rates, eps, flat
        self.b1, self.b2 = betas
        if flat is not None:
            self.flat_rate = _flat_rates(rates, params, flat)
            self.flat_m, self.flat_v = np.zeros_like(flat), np.zeros_like(flat)
            self.m, self.v = (_views_of(a, [p.shape for p in params]) for a in (self.flat_m, self.flat_v))
        else:
            self.m = [np.zeros_like(p) for p in params]
            self.v = [np.zeros_like(p) for p in params]
        self.t = 0

    def update(self, grads, frozen=None):
        self.t += 1
        c1, c2 = 1.0 - self.b1 ** self.t, 1.0 - self.b2 ** self.t
        for k, (p, g) in enumerate(zip(self.params, grads)):
            m, v = self.m[k], self.v[k]
            if frozen is not None:
                g[frozen] = 0.0
            step = self._step(m, v, g, c1, c2)
            step *= self.rates[k]
            if frozen is not None:
                step[frozen] = 0.0
            p -= step

    def update_flat(self, g):
        """:meth:`update` without frozen members, on the one array of the gradients ``g``."""
        self.t += 1
        c1, c2 = 1.0 - self.b1 ** self.t, 1.0 - self.b2 ** self.t
        step = self._step(self.flat_m, self.flat_v, g, c1, c2)
        step *= self.flat_rate
        self.flat -= step

    def _step(self, m, v, g, c1, c2):
        """Update the moments ``m, v`` in place; return ``m_hat / (sqrt(v_hat) + eps)``, a new array."""
        m *= self.b1
        m += (1.0 - self.b1) * g
        v *= self.b2
        v += (1.0 - self.b2) * (g * g)
        return (m / c1) / (np.sqrt(v / c2) + self.eps)


def _flat_rates(rates, params, flat):
    """The learning rates for a flat update: the one rate as it is, or one entry per parameter.

    One rate for every array stays a Python number, as in the array-by-array update. Rates
    that differ (one per array, or one per member with ``member_lr``) are spread into an
    array of ``flat``'s size and dtype, entry for entry the number the array-by-array
    update multiplies by (a Python float is rounded to the dtype in both).
    """
    if all(np.ndim(r) == 0 for r in rates) and len(set(rates)) == 1:
        return rates[0]
    spread = np.empty_like(flat)
    for view, r in zip(_views_of(spread, [p.shape for p in params]), rates):
        view[...] = r
    return spread
