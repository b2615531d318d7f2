"""A fully connected network in plain numpy, with hand-written backpropagation.

Every parameter carries a leading *ensemble* axis: ``MLP(..., seeds=[0, 1, 2])``
is three independent networks that are evaluated and trained together in the
same array operations. Member ``s`` is exactly the network you get from
``MLP(..., seeds=seeds[s])``: it draws its weights, biases and (in
:func:`winit_edu.training.train`) its minibatch order from its own seed.

Shapes (``S`` members, batch ``B``, layer ``l`` maps ``n_l -> n_{l+1}``)::

    weights[l] : (S, n_l, n_{l+1})   "in_out" layout, x @ W
    biases[l]  : (S, n_{l+1})
    input X    : (B, n_0) shared by all members, or (S, B, n_0)
    output     : (S, B, n_L)          linear output layer (logits)

The forward pass is ``z_l = h_l @ W_l + b_l`` and ``h_{l+1} = f(z_l)`` for the
hidden layers; the last layer has no nonlinearity (the loss applies softmax).

**Memory.** A training step makes the same large arrays every time: the
hidden layers' ``z_l``, the gradients ``dL/dW_l``, the back-propagated
``dL/dh_l``. With eight members of a 256-wide layer each is about a megabyte,
and glibc's ``malloc`` returns blocks that large to the operating system when
they are freed, so a fresh array costs a page fault per 4 KiB on every step
(measured on the digits network: 2,355 faults per step, and eight seeds at
once only 0.72x as fast per seed as one at a time). The network therefore
keeps these arrays and writes into them with numpy's ``out=``, and multiplies
by the activation's derivative in place (the training loop also scales the
gradients in place): about 40 faults per step, and eight seeds at once 1.04x
as fast per seed. The arithmetic is the same operation for operation, so the
results are the same to the bit. (The package does not tune the allocator:
that would change the whole process.) Two consequences, as in PyTorch:
:attr:`MLP.grad_weights` and :attr:`MLP.grad_biases` are overwritten by every
:meth:`MLP.backward` (copy them to keep them), while a :class:`Trace` keeps its
arrays (the network starts new work arrays after :meth:`MLP.trace`). The
output of :meth:`MLP.forward` is always a new array.

**One array for all parameters.** The weights, biases and normalization
parameters are views of one contiguous array, and :meth:`MLP.backward` writes
the gradients into views of another, in the order of :meth:`MLP.parameters`.
:func:`~winit_edu.training.train` then updates everything with four numpy
calls on two long arrays instead of four per parameter array: in a small
network numpy's cost per call is most of the update (benchmarks/README.md,
"Tenth session": 18% more steps per second on the toy 2-5x32-2 network, 12%
on the deep 64-wide one). The numbers are the same to the bit. Replacing an array (``net.weights[0] = W``) is allowed; training then
updates array by array.

**Non-finite values.** A diverging network overflows: its outputs become inf
or nan. The passes do not warn about it (numpy's overflow and invalid-value
warnings are off inside them); the values say it, and
:meth:`MLP.first_nonfinite` says where it started.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field

import numpy as np

from .._checks import check_array, check_dtype, check_index, check_int, check_real
from .activations import Activation, get_activation
from .losses import get_loss
from ..init.registry import accepts_option, get_initializer
from ..rng import seed_streams  # defined in winit_edu.rng since 0.1; still importable from here


NORM_EPS = 1e-5  #: the ``eps`` of both normalizations, PyTorch's default for ``nn.LayerNorm`` and ``nn.BatchNorm1d``
NORM_MOMENTUM = 0.1  #: the weight of the new batch in the running statistics, PyTorch's ``nn.BatchNorm1d`` default


def _layer_norm(z, eps=NORM_EPS, axis=-1):
    """``(z - mean) / sqrt(var + eps)`` over ``axis`` (biased variance), and the ``1 / sqrt(var + eps)`` backward needs.

    ``axis=-1`` (the units) is layer normalization; ``axis=1`` of an ``(S, B, n)`` array (the examples of the
    batch) is batch normalization with batch statistics.
    """
    centred = z - z.mean(axis=axis, keepdims=True)
    inv_std = 1.0 / np.sqrt((centred * centred).mean(axis=axis, keepdims=True) + eps)
    centred *= inv_std
    return centred, inv_std


def _layer_norm_backward(g, z_hat, inv_std, axis=-1):
    """``dL/dz`` from ``dL/dz_hat``: ``inv_std * (g - mean(g) - z_hat * mean(g * z_hat))`` over ``axis``."""
    return inv_std * (g - g.mean(axis=axis, keepdims=True) - z_hat * (g * z_hat).mean(axis=axis, keepdims=True))


def _check_training(training):
    if not isinstance(training, (bool, np.bool_)):
        raise TypeError(f"training must be True or False, got {type(training).__name__}")
    return bool(training)


@dataclass
class Trace:
    """What one forward and backward pass recorded, layer by layer.

    Every list has one entry per layer ``l = 0..L-1``; the arrays have the
    ensemble axis first.

    Attributes
    ----------
    pre_activations : list of (S, B, n) arrays
        ``z_l``. The last one is the output (logits).
    activations : list of (S, B, n) arrays
        ``f(z_l)`` of the hidden layers (one fewer entry than layers).
    activations_after_dropout : list of (S, B, n) arrays
        What the next layer received: ``activations`` after the dropout
        masks given to :meth:`MLP.trace` (the same arrays as
        ``activations`` without masks).
    grad_pre_activations : list of (S, B, n) arrays
        The back-propagated gradients ``dL/dz_l`` (empty after forward only).
    grad_weights, grad_biases : list of arrays
        ``dL/dW_l`` and ``dL/db_l``.
    norm_statistics : str
        Which statistics normalized the hidden layers: ``""`` (no
        normalization), ``"example"`` (layer norm: each example over its
        units), ``"batch"`` (batch norm, training mode: the statistics of this
        batch) or ``"running"`` (batch norm, inference mode: the running
        statistics).
    grad_norm_gains, grad_norm_biases : list of arrays
        ``dL/dgamma_l`` and ``dL/dbeta_l`` of the hidden layers (with
        ``norm_affine=True`` and a backward pass; empty otherwise).
    """

    pre_activations: list = field(default_factory=list)
    activations: list = field(default_factory=list)
    activations_after_dropout: list = field(default_factory=list)
    grad_pre_activations: list = field(default_factory=list)
    grad_weights: list = field(default_factory=list)
    grad_biases: list = field(default_factory=list)
    norm_statistics: str = ""
    grad_norm_gains: list = field(default_factory=list)
    grad_norm_biases: list = field(default_factory=list)


def _sum_over_batch(g, out=None):
    """``g.sum(axis=1, out=out)`` for ``g`` of shape (S, B, n): the same numbers, faster for many narrow members.

    numpy sums over a middle axis one (member, example) row of ``n`` numbers at a time: for hundreds
    of members of a narrow layer, tens of thousands of short loops. With the batch axis moved to the
    front (a copy) the sum is ``B - 1`` additions of whole (S, n) slabs, in the same order, so it
    gives the same bits (tested). Not for ``n = 1``, which numpy sums pairwise instead, nor where
    numpy's own way is as fast (few members or wide layers).
    """
    S, _, n = g.shape
    if S >= 4 and 2 <= n <= 64:
        return np.add.reduce(g.swapaxes(0, 1).copy(), axis=0, out=out)
    return g.sum(axis=1, out=out)


def _views_of(flat, shapes):
    """Consecutive views of the 1-D array ``flat``, one of each shape, in order."""
    views, start = [], 0
    for shape in shapes:
        size = math.prod(shape)
        views.append(flat[start:start + size].reshape(shape))
        start += size
    return views


def _still_views(arrays, views, flat):
    """True if ``arrays`` are exactly ``views``, each still a view of ``flat`` (not, say, a deep copy's)."""
    return len(arrays) == len(views) and all(a is v and v.base is flat for a, v in zip(arrays, views))


def _with_fan_in(init, fan_in):
    """The bias initializer ``init`` with its layer's ``fan_in`` bound, if it takes one (PyTorch's default does)."""
    return functools.partial(init, fan_in=fan_in) if accepts_option(init, "fan_in") else init


def _seeds(seeds):
    """``seeds`` as a list of distinct non-negative ints."""
    seeds = [seeds] if np.ndim(seeds) == 0 else list(seeds)
    if not seeds:
        raise ValueError("seeds must contain at least one seed")
    seeds = [check_int(s, name="seeds", min_value=0) for s in seeds]
    if len(set(seeds)) != len(seeds):
        repeated = sorted({s for s in seeds if seeds.count(s) > 1})
        raise ValueError(f"seeds must be distinct (a repeated seed gives identical members), got {repeated} twice")
    return seeds


def _check_joinable(nets, cls, kind, attributes):
    """``nets`` as a non-empty list of ``cls`` instances that agree in every one of ``attributes``.

    What ``concatenate`` checks before it joins the members of several networks
    (``kind`` names the class in messages, e.g. ``"an MLP"``). Activations are
    compared by name.

    Raises
    ------
    TypeError
        If an element of ``nets`` is not a ``cls``.
    ValueError
        If ``nets`` is not a non-empty list or tuple, or a network differs
        from ``nets[0]`` in one of ``attributes``.
    """
    nets = list(nets) if isinstance(nets, (list, tuple)) else None
    if not nets:
        raise ValueError(f"nets must be a non-empty list of {cls.__name__}")
    for k, net in enumerate(nets):
        if not isinstance(net, cls):
            raise TypeError(f"nets[{k}] must be {kind}, got {type(net).__name__}")
    for k, net in enumerate(nets[1:], start=1):
        for what in attributes:
            a, b = _by_name(getattr(nets[0], what)), _by_name(getattr(net, what))
            if a != b:
                raise ValueError(f"nets must agree in {what}: nets[0] has {a!r}, nets[{k}] has {b!r}")
    return nets


def _by_name(value):
    """An activation (or a list of them) as its name, to compare and print; any other value as it is."""
    if isinstance(value, (list, tuple)):
        return [_by_name(v) for v in value]
    return value.name if isinstance(value, Activation) else value


def _joined_parameters(nets):
    """The seeds, and every layer's weights and biases, of ``nets`` joined along the ensemble axis (new arrays)."""
    seeds = [s for net in nets for s in net.seeds]
    weights = [np.concatenate([net.weights[l] for net in nets]) for l in range(nets[0].n_layers)]
    biases = [np.concatenate([net.biases[l] for net in nets]) for l in range(nets[0].n_layers)]
    return seeds, weights, biases


class MLP:
    """Fully connected network with an ensemble axis and manual backprop.

    Parameters
    ----------
    sizes : sequence of int
        Layer widths ``[n_inputs, hidden..., n_outputs]``, at least two entries.
    activation : str, Activation or sequence, default "tanh"
        Hidden-layer nonlinearity, one for all hidden layers or one per
        hidden layer. See :func:`winit_edu.activations.get_activation`.
    weight_init : str or callable, default "glorot_uniform"
        Initializer for every weight matrix, called as
        ``init((n_in, n_out), rng=...)``. A name from
        :data:`winit_edu.registry.INITIALIZERS` or a callable (use
        :func:`~winit_edu.registry.get_initializer` to bind options, for
        example ``get_initializer("normal", std=0.01)``). A list gives one
        initializer per layer.
    bias_init : str or callable, default "zeros"
        Initializer for the biases, called as ``init((n_out,), rng=...)``;
        one that takes a ``fan_in`` option also gets the fan-in of the
        layer (``"pytorch_default"``: ``nn.Linear``'s bias).
    seeds : int or sequence of int, default 0
        One seed per ensemble member, distinct and non-negative.
    dtype : {"float64", "float32"}, default "float64"
    matmul : callable, optional
        The matrix product of the forward and backward passes, called as
        ``matmul(a, b)`` on stacks of matrices; default ``numpy.matmul``.
        :func:`winit_edu.ordered.ordered_matmul` computes every entry by the
        same operations, so that equal units stay equal to the bit on any
        machine (much slower).
    norm : {None, "layer", "batch"}, default None
        Normalize every hidden pre-activation ``z = h W + b`` before the
        nonlinearity (the output layer is never normalized):
        ``z_hat = (z - mean) / sqrt(var + norm_eps)`` with the biased variance.

        * ``"layer"``: layer normalization (Ba, Kiros and Hinton 2016), the
          mean and variance of each example over its units. The same in
          training and inference.
        * ``"batch"``: batch normalization (Ioffe and Szegedy 2015), the mean
          and variance of each unit over the examples of the batch, per
          member. In training mode (``forward(X, training=True)``, which
          :func:`~winit_edu.training.train` uses for its steps) the batch
          statistics normalize, and the running statistics are updated as
          ``running = (1 - norm_momentum) * running + norm_momentum * batch``, with the
          *unbiased* batch variance (``* B / (B - 1)``); a batch of one
          example is refused. In inference mode (the default of
          :meth:`forward` and :meth:`trace`, and what
          :func:`~winit_edu.training.evaluate` and the evaluations inside
          ``train`` use) the running statistics normalize, which start at
          mean 0 and variance 1. This is PyTorch's ``model.train()`` /
          ``model.eval()``.

        :attr:`Trace.pre_activations` holds the values the nonlinearity
        receives (normalized, then scaled and shifted with ``norm_affine``).

        How the frameworks spell it: ``"layer"`` is PyTorch's
        ``nn.LayerNorm(n, eps=1e-5, elementwise_affine=norm_affine)`` and
        Keras' ``LayerNormalization(epsilon=1e-5, center=norm_affine,
        scale=norm_affine)`` (Keras' default epsilon is 1e-3, and its
        ``center`` and ``scale`` default to True, i.e. affine on).
        ``"batch"`` is PyTorch's ``nn.BatchNorm1d(n, eps=1e-5,
        momentum=0.1, affine=norm_affine)``, all PyTorch's defaults, and
        Keras' ``BatchNormalization(momentum=0.9, epsilon=1e-5,
        center=norm_affine, scale=norm_affine)``: Keras'
        ``momentum`` is the weight of the *old* value (its default 0.99 is
        PyTorch's 0.01), its default epsilon is 1e-3, and it updates the
        moving variance with the biased batch variance.
    norm_affine : bool, default False
        Learnable gain ``gamma`` and bias ``beta`` per unit of every
        normalized layer, ``y = gamma * z_hat + beta``, trained by
        :func:`~winit_edu.training.train` like every other parameter (needs
        ``norm``).
    norm_gain : float or sequence of float, optional
        Initial ``gamma`` (default 1.0; ``beta`` starts at 0), one value or
        one per hidden layer; 0 is the "zero-gamma" start of Goyal et al.
        (2017). Only with ``norm_affine=True``.
    norm_eps : float, default 1e-5
        The ``eps`` added to the variance, finite and ``> 0`` (PyTorch's
        default). Only with ``norm``: another value without a normalization
        is refused.
    norm_momentum : float in [0, 1], default 0.1
        The weight of the new batch in the running statistics (PyTorch's
        convention and default; Keras' ``momentum`` is ``1 - norm_momentum``):
        0 freezes them, 1 keeps only the last batch. Only with
        ``norm="batch"``: another value without batch normalization is
        refused.

    Attributes
    ----------
    weights : list of arrays
        ``W_l``, shape ``(S, n_l, n_{l+1})``.
    biases : list of arrays
        ``b_l``, shape ``(S, n_{l+1})``.
    grad_weights : list of arrays
        ``dL/dW_l`` of the last :meth:`backward` (empty before the first),
        overwritten by the next one.
    grad_biases : list of arrays
        ``dL/db_l`` of the last :meth:`backward`.
    norm_gains, norm_biases : list of arrays
        With ``norm_affine=True``: ``gamma_l`` and ``beta_l`` of every hidden
        layer, shape ``(S, n_{l+1})`` (empty lists otherwise).
    grad_norm_gains, grad_norm_biases : list of arrays
        Their gradients from the last :meth:`backward`.
    running_means, running_vars : list of arrays
        With ``norm="batch"``: the running mean and (unbiased) variance of
        every hidden unit, per member, shape ``(S, n_{l+1})``; updated in
        place by every ``forward(..., training=True)`` (empty lists
        otherwise).
    norm_eps, norm_momentum : float
        The constructor's values. They may be changed on a network (chapter 17
        sets ``net.norm_eps = base.norm_eps / c**2``); every assignment is
        checked as the constructor checks them (a ``ValueError`` for an
        ``eps <= 0``, a non-finite value or a momentum outside [0, 1], a
        ``TypeError`` for a value that is not a real number), so a network
        never holds a value the passes cannot use. Assigning them on a network
        whose normalization does not use them is allowed and changes nothing.

    Raises
    ------
    ValueError, TypeError
        For bad sizes, seeds (also a repeated seed), dtype, activation or
        initializer names, a ``matmul`` that is not callable, an initializer
        that returns the wrong shape or non-finite values, or a bad or unused
        ``norm_eps`` or ``norm_momentum``.

    Examples
    --------
    >>> net = MLP([2, 16, 16, 3], activation="relu", weight_init="he_normal", seeds=[0, 1])
    >>> net.forward(np.zeros((5, 2))).shape
    (2, 5, 3)

    Batch normalization with learnable gain and bias, in both modes:

    >>> bn = MLP([2, 8, 3], activation="relu", weight_init="he_normal", norm="batch", norm_affine=True)
    >>> X = np.random.default_rng(0).normal(size=(16, 2))
    >>> train_out = bn.forward(X, training=True)   # batch statistics; updates the running ones
    >>> eval_out = bn.forward(X)                    # running statistics (inference)
    >>> [p.shape for p in bn.parameters()]          # W_1, b_1, W_2, b_2, then gamma_1, beta_1
    [(1, 2, 8), (1, 8), (1, 8, 3), (1, 3), (1, 8), (1, 8)]

    The normalization's constants are checked when they are set:

    >>> bn.norm_momentum = 1.5
    Traceback (most recent call last):
    ...
    ValueError: norm_momentum must be <= 1.0, got 1.5
    """

    def __init__(self, sizes, activation="tanh", weight_init="glorot_uniform", bias_init="zeros",
                 seeds=0, dtype="float64", matmul=None, norm=None, norm_affine=False, norm_gain=None,
                 norm_eps=NORM_EPS, norm_momentum=NORM_MOMENTUM):
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output width, got {sizes!r}")
        self.sizes = [check_int(n, name="sizes", min_value=1) for n in sizes]
        n_layers = len(self.sizes) - 1
        self.seeds = _seeds(seeds)
        self.dtype = check_dtype(dtype)
        if matmul is not None and not callable(matmul):
            raise TypeError(f"matmul must be a callable like numpy.matmul, or None, got {type(matmul).__name__}")
        self.matmul = np.matmul if matmul is None else matmul
        if norm not in (None, "layer", "batch"):
            raise ValueError(f"norm must be None, 'layer' or 'batch', got {norm!r}")
        self.norm = norm
        if not isinstance(norm_affine, (bool, np.bool_)):
            raise TypeError(f"norm_affine must be True or False, got {type(norm_affine).__name__}")
        if norm_affine and norm is None:
            raise ValueError("norm_affine=True needs a normalization: pass norm='layer' or norm='batch'")
        if norm_gain is not None and not norm_affine:
            raise ValueError("norm_gain is the initial gain of norm_affine=True; without it there is no gain")
        self.norm_affine = bool(norm_affine)
        self.norm_eps, self.norm_momentum = norm_eps, norm_momentum  # checked by the properties
        if norm is None and self.norm_eps != NORM_EPS:
            raise ValueError(f"norm_eps is the eps of a normalization; without norm it has no effect, got {norm_eps}")
        if norm != "batch" and self.norm_momentum != NORM_MOMENTUM:
            raise ValueError("norm_momentum is the running-statistics momentum of norm='batch'; "
                             f"with norm={norm!r} it has no effect, got {norm_momentum}")
        acts = activation if isinstance(activation, (list, tuple)) else [activation] * (n_layers - 1)
        if len(acts) != n_layers - 1:
            raise ValueError(f"activation must be one value or {n_layers - 1} values (one per hidden layer), got {len(acts)}")
        self.activations = [get_activation(a) for a in acts]
        w_inits = weight_init if isinstance(weight_init, (list, tuple)) else [weight_init] * n_layers
        if len(w_inits) != n_layers:
            raise ValueError(f"weight_init must be one initializer or {n_layers} (one per layer), got {len(w_inits)}")
        w_inits = [get_initializer(w) for w in w_inits]
        b_init = get_initializer(bias_init)

        shapes = list(zip(self.sizes[:-1], self.sizes[1:]))
        b_inits = [_with_fan_in(b_init, n_in) for n_in, _ in shapes]  # once per layer, not per member
        members_w, members_b = [], []
        for seed in self.seeds:
            rng_w, rng_b, _ = seed_streams(seed)
            members_w.append([self._draw(w_inits[l], shape, rng_w, "weight_init") for l, shape in enumerate(shapes)])
            members_b.append([self._draw(b_inits[l], (n_out,), rng_b, "bias_init")
                              for l, (_, n_out) in enumerate(shapes)])
        hidden = self.sizes[1:-1]
        gains = self._norm_gains(1.0 if norm_gain is None else norm_gain, len(hidden))
        S = len(self.seeds)
        # every parameter a view of one array (see _pack), each member's draws stacked straight into it
        param_shapes = [shape for n_in, n_out in shapes for shape in ((S, n_in, n_out), (S, n_out))]
        param_shapes += [(S, n) for n in hidden for _ in range(2)] if norm_affine else []
        flat = np.empty(sum(math.prod(shape) for shape in param_shapes), dtype=self.dtype)
        views = _views_of(flat, param_shapes)
        for l in range(n_layers):
            np.stack([m[l] for m in members_w], out=views[2 * l])
            np.stack([m[l] for m in members_b], out=views[2 * l + 1])
        for k, g in enumerate(gains if norm_affine else []):
            views[2 * n_layers + 2 * k][...] = g
            views[2 * n_layers + 2 * k + 1][...] = 0.0
        self._adopt(flat, views)
        self.grad_weights, self.grad_biases = [], []
        self.grad_norm_gains, self.grad_norm_biases = [], []
        self.running_means = [np.zeros((S, n), dtype=self.dtype) for n in hidden] if norm == "batch" else []
        self.running_vars = [np.ones((S, n), dtype=self.dtype) for n in hidden] if norm == "batch" else []
        self._inputs = self._pre = self._post = self._masks = None  # what the last forward pass saw, for backward
        self._hat, self._inv_std, self._training = {}, {}, False
        self._work = {}  # (name, layer) -> array reused across steps; see "Memory" in the module docstring

    @property
    def norm_eps(self):
        """The ``eps`` of the normalization, finite and ``> 0``; checked on assignment."""
        return self._norm_eps

    @norm_eps.setter
    def norm_eps(self, value):
        self._norm_eps = check_real(value, name="norm_eps", min_value=0.0, min_inclusive=False)

    @property
    def norm_momentum(self):
        """The weight of the new batch in the running statistics, in [0, 1]; checked on assignment."""
        return self._norm_momentum

    @norm_momentum.setter
    def norm_momentum(self, value):
        self._norm_momentum = check_real(value, name="norm_momentum", min_value=0.0, max_value=1.0)

    @staticmethod
    def _norm_gains(norm_gain, n_hidden):
        """``norm_gain`` as one finite number per hidden layer."""
        if np.ndim(norm_gain) == 0:
            gains = [norm_gain] * n_hidden
        else:
            gains = list(norm_gain)
            if len(gains) != n_hidden:
                raise ValueError(f"norm_gain must be one value or {n_hidden} values (one per hidden layer), "
                                 f"got {len(gains)}")
        out = []
        for g in gains:
            if isinstance(g, (bool, np.bool_)) or not isinstance(g, (int, float, np.integer, np.floating)):
                raise TypeError(f"norm_gain must be a real number, got {type(g).__name__}")
            if not np.isfinite(g):
                raise ValueError(f"norm_gain must be finite, got {g}")
            out.append(float(g))
        return out

    def _draw(self, init, shape, rng, name):
        """One parameter array from ``init``, checked: a custom initializer may return anything."""
        value = check_array(init(shape, rng=rng), name=f"the array returned by {name}", dtype=self.dtype)
        if value.shape != shape:
            raise ValueError(f"{name} must return an array of shape {shape}, got {value.shape}")
        return value

    def _pack(self):
        """Keep all parameters in one contiguous array, each array of :meth:`parameters` a view of it.

        Nothing a reader sees changes (the same shapes, values and dtype), but an optimizer can
        then update every parameter with a few operations on one long array, instead of a few per
        array: in a small network most of an update's time is numpy's cost per call (see
        "Memory" and :meth:`_flat_parameters`). :meth:`backward` likewise writes the gradients
        into views of one array. Assigning a new array to ``net.weights[l]`` stays allowed; the
        network is then updated array by array.
        """
        params = self.parameters()
        flat = np.empty(sum(p.size for p in params), dtype=self.dtype)
        views = _views_of(flat, [p.shape for p in params])
        for view, p in zip(views, params):
            view[...] = p
        self._adopt(flat, views)

    def _adopt(self, flat, views):
        """Make ``views`` (of ``flat``, in the order of :meth:`parameters`) the network's parameters."""
        L = len(self.sizes) - 1
        self.weights, self.biases = views[0:2 * L:2], views[1:2 * L:2]
        self.norm_gains, self.norm_biases = views[2 * L::2], views[2 * L + 1::2]
        self._flat, self._flat_views = flat, views

    def _flat_parameters(self):
        """All parameters as one 1-D array whose views are :meth:`parameters`, in order; None if not.

        None when a parameter array was replaced (``net.weights[0] = ...``) or the network is a
        copy whose arrays no longer share memory (``copy.deepcopy``, pickling). Updating this
        array in place updates every parameter.
        """
        return self._flat if _still_views(self.parameters(), self._flat_views, self._flat) else None

    def _flat_gradients(self):
        """The gradients of the last :meth:`backward` as one 1-D array, as :meth:`_flat_parameters`; None if not."""
        flat, views = self._work.get(("gradients", None), (None, ()))
        return flat if flat is not None and _still_views(self.gradients(), views, flat) else None

    def _gradient_views(self):
        """The arrays :meth:`backward` writes the gradients into: views of one array, in the order of :meth:`parameters`."""
        key = ("gradients", None)
        if key not in self._work:
            flat = np.empty(self._flat.size, dtype=self.dtype)
            self._work[key] = flat, _views_of(flat, [v.shape for v in self._flat_views])
        return self._work[key][1]

    def _product(self, a, b, out):
        """``a @ b`` with the network's matmul; numpy's writes into the work array ``out``."""
        if self.matmul is np.matmul:
            return np.matmul(a, b, out=out)
        return self.matmul(a, b)

    @staticmethod
    def _into(out, result):
        """``out`` holding ``result`` (a custom matmul returns a new array; numpy's wrote into ``out``)."""
        if result is not out:
            out[...] = result
        return out

    def _buffer(self, name, layer, shape):
        """The work array ``(name, layer)`` of this shape: last step's, or a new one if the shape changed."""
        key = (name, layer)
        buf = self._work.get(key)
        if buf is None or buf.shape != shape:
            buf = self._work[key] = np.empty(shape, dtype=self.dtype)
        return buf

    @property
    def n_members(self):
        """Number of ensemble members ``S``."""
        return len(self.seeds)

    @property
    def n_layers(self):
        """Number of weight layers ``L``."""
        return len(self.weights)

    def parameters(self):
        """All parameter arrays: weights and biases layer by layer, then the norm gains and biases.

        The order is ``W_1, b_1, ..., W_L, b_L`` and, with
        ``norm_affine=True``, ``gamma_1, beta_1, ..., gamma_{L-1},
        beta_{L-1}`` after them, so the first ``2 L`` entries alternate weights
        and biases with or without normalization (``[0:2 L:2]`` are the
        weights). The running statistics of batch normalization are not
        parameters (no gradient).
        """
        return ([p for pair in zip(self.weights, self.biases) for p in pair]
                + [p for pair in zip(self.norm_gains, self.norm_biases) for p in pair])

    def gradients(self):
        """The gradients of the last :meth:`backward`, in the order of :meth:`parameters`.

        The network's own arrays, overwritten by the next ``backward``.

        Raises
        ------
        RuntimeError
            Before any :meth:`backward`.
        """
        if not self.grad_weights:
            raise RuntimeError("call backward before gradients")
        return ([g for pair in zip(self.grad_weights, self.grad_biases) for g in pair]
                + [g for pair in zip(self.grad_norm_gains, self.grad_norm_biases) for g in pair])

    def member(self, index):
        """A new one-member :class:`MLP` holding a copy of member ``index``'s parameters.

        Parameters
        ----------
        index : int
            ``-S <= index < S``, as for a list.

        Returns
        -------
        MLP

        Raises
        ------
        TypeError, ValueError
            For an index that is not an int or out of range.
        """
        index = check_index(index, self.n_members)
        single = MLP(self.sizes, activation=self.activations, weight_init="zeros", bias_init="zeros",
                     seeds=self.seeds[index], dtype=self.dtype, matmul=self.matmul, norm=self.norm,
                     norm_affine=self.norm_affine)
        single.weights = [w[index:index + 1].copy() for w in self.weights]
        single.biases = [b[index:index + 1].copy() for b in self.biases]
        for name in ("norm_gains", "norm_biases", "running_means", "running_vars"):
            setattr(single, name, [a[index:index + 1].copy() for a in getattr(self, name)])
        single.norm_eps, single.norm_momentum = self.norm_eps, self.norm_momentum
        single._pack()
        return single

    @classmethod
    def concatenate(cls, nets):
        """One ensemble whose members are those of ``nets``, in order.

        This is how members that differ in how they were *initialized* (the
        initializer, its scale, the bias initializer) train together in one
        vectorized run: build one network per setting, then concatenate.
        Member ``k`` keeps its parameters and its seed; unlike in the
        constructor, a seed may repeat across ``nets`` (the same seed under
        two initializers is a paired comparison: with
        :func:`~winit_edu.training.train` both members also see the data in
        the same order).

        Parameters
        ----------
        nets : sequence of MLP
            At least one, all with the same sizes, activations, dtype,
            matmul, ``norm``, ``norm_affine``, ``norm_eps`` and
            ``norm_momentum``. The normalization gains (``norm_gain``), their
            biases and the running statistics may differ; they are
            concatenated member by member like the weights.

        Returns
        -------
        MLP
            A new network with copies of the parameters.

        Raises
        ------
        TypeError
            If an element is not an :class:`MLP`.
        ValueError
            If ``nets`` is empty or the networks differ in sizes,
            activations, dtype, matmul, ``norm``, ``norm_affine``,
            ``norm_eps`` or ``norm_momentum``.

        Examples
        --------
        >>> a = MLP([4, 8, 3], weight_init="lecun_normal", seeds=[0, 1])
        >>> b = MLP([4, 8, 3], weight_init="he_normal", seeds=[0, 1])
        >>> both = MLP.concatenate([a, b])
        >>> both.seeds, both.weights[0].shape
        ([0, 1, 0, 1], (4, 4, 8))
        """
        nets = _check_joinable(nets, MLP, "an MLP", ("sizes", "activations", "dtype", "matmul", "norm",
                                                     "norm_affine", "norm_eps", "norm_momentum"))
        first = nets[0]
        joined = first.member(0)
        joined.seeds, joined.weights, joined.biases = _joined_parameters(nets)
        for name in ("norm_gains", "norm_biases", "running_means", "running_vars"):  # gains may differ per net
            setattr(joined, name, [np.concatenate([getattr(net, name)[l] for net in nets])
                                   for l in range(len(getattr(first, name)))])
        joined._pack()
        return joined

    def forward(self, X, masks=None, training=False):
        """Run the network; remember what :meth:`backward` needs.

        Parameters
        ----------
        X : array_like, shape (B, n_0) or (S, B, n_0)
            Finite inputs, shared by all members or one batch per member.
        masks : list, optional
            Dropout: one entry per hidden layer, applied to that layer's
            activations ``h`` before the next layer. An array ``m``
            multiplies, ``h * m`` (0 drops a unit, ``1/(1-p)`` keeps it in
            "inverted" dropout); a pair ``(m, c)`` is affine, ``h * m + c``
            (alpha dropout: ``m = a d``, ``c = a alpha' (1 - d) + b``, see
            :mod:`winit_edu.dropout`). Each array must be finite and
            broadcastable to ``(S, B, n_{l+1})``; it is used in the network's
            dtype. :meth:`backward` multiplies the gradients by the same
            ``m`` (the shift ``c`` does not depend on ``h``).
            :func:`~winit_edu.dropout.dropout_masks` draws them, and
            :func:`winit_edu.training.train` at every step when given
            ``dropout=p``.
        training : bool, default False
            Only matters with ``norm="batch"``: True normalizes with the
            statistics of this batch and updates the running statistics
            (a training step; :func:`~winit_edu.training.train` passes it),
            False (inference, for predictions and evaluations) normalizes with
            the running statistics. PyTorch's ``model.train()`` and
            ``model.eval()``.

        Returns
        -------
        numpy.ndarray, shape (S, B, n_L)
            The outputs (logits) of every member, a new array (inf or nan,
            without a warning, where the network overflows).

        Raises
        ------
        ValueError
            If ``X`` has the wrong shape (also a leading axis other than the
            number of members), no rows, or non-finite values, or ``masks``
            does not hold one entry per hidden layer or holds an array that is
            not finite or does not broadcast to its layer, or a batch norm
            network gets a batch of one example in training mode.
        TypeError
            If ``X`` is not an array of numbers, or ``training`` not a bool.
        """
        return self._forward(X, masks, _check_training(training), update=True)

    def predict(self, X):
        """The outputs for ``X`` in inference mode, remembering nothing for :meth:`backward`.

        The numbers of ``forward(X)`` (``training=False``), to the bit, at a
        fraction of the memory: each layer's arrays are freed as soon as the
        next layer is computed, where :meth:`forward` keeps every layer's
        for the backward pass. :func:`~winit_edu.training.evaluate` uses it,
        so that evaluating a deep ensemble on a whole data set does not hold
        every layer of every example at once. The last :meth:`forward` stays
        what :meth:`backward` uses.

        Parameters
        ----------
        X : array_like, shape (B, n_0) or (S, B, n_0)
            Finite inputs, as for :meth:`forward`.

        Returns
        -------
        numpy.ndarray, shape (S, B, n_L)
            The outputs (logits), a new array.

        Raises
        ------
        ValueError, TypeError
            As :meth:`forward`.
        """
        return self._forward(X, None, False, update=False, keep=False)

    def _forward(self, X, masks, training, update, keep=True):
        """:meth:`forward`; ``update=False`` leaves the running statistics alone (for :meth:`trace`).

        ``keep=False`` (:meth:`predict`) remembers nothing for :meth:`backward` and uses no work
        arrays: each layer's arrays are freed once the next layer has them, and the last pass
        that was kept stays as it was.
        """
        h = check_array(X, name="X", dtype=self.dtype)
        S, n0 = self.n_members, self.sizes[0]
        if h.ndim not in (2, 3) or h.shape[-1] != n0 or (h.ndim == 3 and h.shape[0] != S) or h.shape[-2] == 0:
            raise ValueError(f"X must have shape (batch, {n0}) or ({S}, batch, {n0}) (one batch per member), "
                             f"with batch >= 1, got {h.shape}")
        batch = h.shape[-2]
        last = self.n_layers - 1
        batch_stats = self.norm == "batch" and training
        if batch_stats and batch < 2 and last > 0:
            raise ValueError("batch normalization in training mode needs at least 2 examples per batch "
                             f"(the variance of one is 0), got {batch}")
        masks = self._check_masks(masks, batch)
        inputs, pre, post, inv_std, hat = [], [], [], {}, {}
        eps, m = self.norm_eps, self.norm_momentum
        with np.errstate(over="ignore", invalid="ignore"):  # see "Non-finite values" in the module docstring
            for l, (W, b) in enumerate(zip(self.weights, self.biases)):
                if keep:
                    inputs.append(h)
                out = self._buffer("z", l, (S, batch, W.shape[-1])) if keep and l < last else None  # output: new
                z = self._product(h, W, out)
                z += b[:, None, :]
                if self.norm is not None and l < last:
                    if self.norm == "layer":
                        z, inv_std[l] = _layer_norm(z, eps)
                    elif batch_stats:
                        mean = z.mean(axis=1, keepdims=True)  # as _layer_norm(z, eps, axis=1), keeping the moments
                        z = z - mean
                        var = (z * z).mean(axis=1, keepdims=True)  # biased: it normalizes
                        inv_std[l] = 1.0 / np.sqrt(var + eps)
                        z *= inv_std[l]
                        if update:  # unbiased variance for the running estimate, as PyTorch
                            self.running_means[l] *= 1.0 - m
                            self.running_means[l] += m * mean[:, 0]
                            self.running_vars[l] *= 1.0 - m
                            self.running_vars[l] += (m * batch / (batch - 1)) * var[:, 0]
                    else:
                        inv_std[l] = (1.0 / np.sqrt(self.running_vars[l] + eps))[:, None, :]
                        z = (z - self.running_means[l][:, None, :]) * inv_std[l]
                    if keep:  # backward needs z_hat; predict lets it go with the layer
                        hat[l] = z
                    if self.norm_affine:
                        z = z * self.norm_gains[l][:, None, :] + self.norm_biases[l][:, None, :]
                if keep:
                    pre.append(z)
                if l < last:
                    h = self.activations[l].f(z)
                    if keep:
                        post.append(h)  # f(z) itself: the derivative needs it
                    if masks is not None:
                        multiplier, shift = masks[l]
                        h = h * multiplier
                        if shift is not None:  # affine (alpha dropout): h * m + c
                            h += shift
        if not keep:
            return z
        self._inputs, self._pre, self._post, self._inv_std = inputs, pre, post, inv_std
        self._masks = None if masks is None else [multiplier for multiplier, _ in masks]  # what backward needs
        self._hat, self._training = hat, training
        return z

    def _check_masks(self, masks, batch):
        """``masks`` as one ``(multiplier, shift or None)`` pair per hidden layer, checked; None stays None."""
        if masks is None:
            return None
        last = self.n_layers - 1
        if not isinstance(masks, (list, tuple)) or len(masks) != last:
            raise ValueError(f"masks must be a list of one array per hidden layer ({last}), "
                             f"got {type(masks).__name__}")
        checked = []
        for l, entry in enumerate(masks):
            if isinstance(entry, tuple):  # affine: (multiplier, shift)
                if len(entry) != 2:
                    raise ValueError(f"masks[{l}] must be an array (a multiplier) or a pair (multiplier, shift), "
                                     f"got a tuple of {len(entry)}")
                named = [(f"masks[{l}][0]", entry[0]), (f"masks[{l}][1]", entry[1])]
            else:
                named = [(f"masks[{l}]", entry)]
            layer_shape = (self.n_members, batch, self.sizes[l + 1])
            arrays = []
            for name, value in named:
                arr = check_array(value, name=name, dtype=self.dtype)
                try:
                    fits = np.broadcast_shapes(arr.shape, layer_shape) == layer_shape
                except ValueError:
                    fits = False
                if not fits:
                    raise ValueError(f"{name} must broadcast to the activations of hidden layer {l + 1}, "
                                     f"{layer_shape}, got shape {arr.shape}")
                arrays.append(arr)
            checked.append((arrays[0], arrays[1] if len(arrays) == 2 else None))
        return checked

    def backward(self, grad_output):
        """Back-propagate ``dL/d(output)`` through the last :meth:`forward`.

        Parameters
        ----------
        grad_output : array_like, shape (S, B, n_L)
            The gradient of the loss with respect to the last output.

        Returns
        -------
        grad_weights, grad_biases, grad_pre : lists of arrays
            Parameter gradients (same shapes as ``weights`` and ``biases``)
            and the back-propagated ``dL/dz_l`` per layer. They are the
            network's own arrays (also :attr:`grad_weights` and
            :attr:`grad_biases`): the next ``backward`` overwrites them, so
            copy what you keep (or use :meth:`trace`, which keeps them).

        Raises
        ------
        RuntimeError
            Before any :meth:`forward`.
        ValueError, TypeError
            If ``grad_output`` does not have the shape of the last output or
            is not an array of numbers.
        """
        if self._pre is None:
            raise RuntimeError("call forward before backward")
        g = check_array(grad_output, name="grad_output", dtype=self.dtype, finite=False)
        if g.shape != self._pre[-1].shape:
            raise ValueError(f"grad_output must have the shape of the last output {self._pre[-1].shape}, got {g.shape}")
        L = self.n_layers
        grad_w, grad_b, grad_pre = [None] * L, [None] * L, [None] * L
        grad_gain = [None] * (L - 1) if self.norm_affine else []
        grad_beta = [None] * (L - 1) if self.norm_affine else []
        into = self._gradient_views()  # W_1, b_1, ..., W_L, b_L, then the norm gains and biases
        with np.errstate(over="ignore", invalid="ignore"):  # see "Non-finite values" in the module docstring
            for l in range(L - 1, -1, -1):
                grad_pre[l] = g
                h = self._inputs[l]
                # dL/dW = h^T g for every member: (S, n_in, B) @ (S, B, n_out)
                grad_w[l] = self._into(into[2 * l], self._product(h.mT, g, into[2 * l]))
                grad_b[l] = _sum_over_batch(g, out=into[2 * l + 1])
                if l > 0:
                    # dL/dh = g W^T, then dL/dz = dL/dh * f'(z), multiplied in place
                    g = self._product(g, self.weights[l].mT,
                                      self._buffer("grad_h", l, self._pre[l - 1].shape))
                    if self._masks is not None:
                        g *= self._masks[l - 1]
                    g *= self.activations[l - 1].df(self._pre[l - 1], self._post[l - 1])
                    if self.norm is not None:
                        k, z_hat = l - 1, self._hat[l - 1]
                        if self.norm_affine:  # y = gamma * z_hat + beta
                            grad_gain[k] = _sum_over_batch(g * z_hat, out=into[2 * L + 2 * k])
                            grad_beta[k] = _sum_over_batch(g, out=into[2 * L + 2 * k + 1])
                            g = g * self.norm_gains[k][:, None, :]
                        if self.norm == "layer":
                            g = _layer_norm_backward(g, z_hat, self._inv_std[k])
                        elif self._training:  # the batch statistics depend on every example
                            g = _layer_norm_backward(g, z_hat, self._inv_std[k], axis=1)
                        else:  # the running statistics are constants
                            g = g * self._inv_std[k]
        self.grad_weights, self.grad_biases = grad_w, grad_b
        self.grad_norm_gains, self.grad_norm_biases = grad_gain, grad_beta
        return grad_w, grad_b, grad_pre

    def trace(self, X, grad_output=None, labels=None, loss="cross_entropy", training=False, masks=None):
        """Forward (and backward) pass that returns every intermediate quantity.

        With ``norm="batch"``, ``training=False`` (the default) normalizes
        with the running statistics, ``training=True`` with the statistics of
        the batch ``X``, as the training steps do; either way the trace does
        not update the running statistics (it is a probe).
        :attr:`Trace.norm_statistics` says which statistics were used.

        Parameters
        ----------
        X : array_like, shape (B, n_0) or (S, B, n_0)
        grad_output : array, optional
            The gradient to back-propagate. If omitted and ``labels`` is
            given, the gradient of ``loss`` is used.
        labels : array, optional
            Labels (cross-entropy) or targets (squared error).
        loss : {"cross_entropy", "squared_error"}, default "cross_entropy"
        training : bool, default False
            Batch statistics (True) or running statistics (False) for
            ``norm="batch"``; no effect otherwise.
        masks : list, optional
            Dropout masks, as in :meth:`forward` (for instance from
            :func:`~winit_edu.dropout.dropout_masks`): the trace then shows a
            training step with dropout. :attr:`Trace.activations` stays
            ``f(z_l)``; :attr:`Trace.activations_after_dropout` is what the
            next layer received.

        Returns
        -------
        Trace
            It owns its arrays: a later pass does not change them.

        Examples
        --------
        >>> from winit_edu.dropout import dropout_masks
        >>> net = MLP([4, 8, 8, 2], activation="selu", weight_init="lecun_normal", seeds=[0])
        >>> t = net.trace(np.ones((3, 4)), masks=dropout_masks(net, 3, 0.5, kind="alpha"))
        >>> len(t.activations), t.activations_after_dropout[0].shape
        (2, (1, 3, 8))

        Raises
        ------
        ValueError, TypeError
            As :meth:`forward`, :meth:`backward` and the loss.
        """
        training = _check_training(training)
        out = self._forward(X, masks, training, update=False)
        stats = {None: "", "layer": "example", "batch": "batch" if training else "running"}[self.norm]
        t = Trace(pre_activations=list(self._pre), activations=list(self._post),
                  activations_after_dropout=list(self._inputs[1:]), norm_statistics=stats)
        if grad_output is None and labels is not None:
            _, grad_output = get_loss(loss)(out, labels)
        if grad_output is not None:
            grad_w, grad_b, grad_pre = self.backward(grad_output)
            t.grad_weights, t.grad_biases, t.grad_pre_activations = list(grad_w), list(grad_b), list(grad_pre)
            t.grad_norm_gains, t.grad_norm_biases = list(self.grad_norm_gains), list(self.grad_norm_biases)
        self._work = {}  # the trace keeps these arrays: the next pass writes into new ones
        return t

    def first_nonfinite(self, member):
        """Where member ``member`` first stopped being finite in the last forward pass.

        Walks the layers in the order of the forward pass and reports the
        first quantity of the given member that holds an inf or a nan: in
        each layer its weights and biases, the gain and bias of its
        normalization (``norm_affine=True``), its pre-activations in the last
        forward pass, and last the running statistics of batch normalization
        (a training step computes them from the pre-activations, so they are
        only named when those are finite, for instance when a variance
        overflowed).

        Parameters
        ----------
        member : int
            Index of the ensemble member.

        Returns
        -------
        layer, quantity : int, str
            ``layer`` counted from 1, as in the book's plots, and
            ``"weights"``, ``"biases"``, ``"norm gains"``, ``"norm biases"``,
            ``"pre-activations"``, ``"running means"`` or ``"running
            variances"``; ``(-1, "")`` if everything is finite.

        Raises
        ------
        TypeError, ValueError
            If ``member`` is not an int in ``[0, S)``.

        Examples
        --------
        >>> net = MLP([2, 3, 2], seeds=[0, 1])
        >>> net.weights[1][1, 0, 0] = np.inf
        >>> _ = net.forward(np.ones((4, 2)))
        >>> net.first_nonfinite(0), net.first_nonfinite(1)
        ((-1, ''), (2, 'weights'))
        """
        member = check_int(member, name="member", min_value=0)
        if member >= self.n_members:
            raise ValueError(f"member must be < {self.n_members}, got {member}")
        def hidden(arrays, l):  # the per-hidden-layer lists are empty when the network does not use them
            return arrays[l] if l < len(arrays) else None

        for l in range(self.n_layers):
            for quantity, values in (("weights", self.weights[l]), ("biases", self.biases[l]),
                                     ("norm gains", hidden(self.norm_gains, l)),
                                     ("norm biases", hidden(self.norm_biases, l)),
                                     ("pre-activations", self._pre[l] if self._pre is not None else None),
                                     ("running means", hidden(self.running_means, l)),
                                     ("running variances", hidden(self.running_vars, l))):
                if values is not None and not np.isfinite(values[member]).all():
                    return l + 1, quantity
        return -1, ""
