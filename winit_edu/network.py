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

Creating an MLP also tunes glibc's allocator to reuse freed memory
(``winit_edu/_allocator.py``): without it, the large temporary arrays of an
ensemble's training step are page-faulted in afresh at every step.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ._allocator import keep_freed_memory
from ._checks import check_dtype, check_int
from .activations import get_activation
from .registry import get_initializer


def seed_streams(seed):
    """The three independent generators a member draws from: weights, biases, data order.

    Parameters
    ----------
    seed : int
        Non-negative.

    Returns
    -------
    tuple of numpy.random.Generator
        ``(weights_rng, biases_rng, data_rng)``, spawned from
        ``numpy.random.SeedSequence(seed)``, so changing the bias
        initializer never changes the weights drawn for the same seed.

    Examples
    --------
    >>> w, b, d = seed_streams(0)
    >>> float(w.random()) != float(b.random())
    True
    """
    seed = check_int(seed, name="seed", min_value=0)
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))


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
    grad_pre_activations : list of (S, B, n) arrays
        The back-propagated gradients ``dL/dz_l`` (empty after forward only).
    grad_weights, grad_biases : list of arrays
        ``dL/dW_l`` and ``dL/db_l``.
    """

    pre_activations: list = field(default_factory=list)
    activations: list = field(default_factory=list)
    grad_pre_activations: list = field(default_factory=list)
    grad_weights: list = field(default_factory=list)
    grad_biases: list = field(default_factory=list)


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
        :func:`~winit_edu.registry.get_initializer` to bind keywords, for
        example ``get_initializer("normal", std=0.01)``). A list gives one
        initializer per layer.
    bias_init : str or callable, default "zeros"
        Initializer for the biases, called as ``init((n_out,), rng=...)``.
    seeds : int or sequence of int, default 0
        One seed per ensemble member.
    dtype : {"float64", "float32"}, default "float64"

    Raises
    ------
    ValueError, TypeError
        For bad sizes, seeds, dtype, activation or initializer names.

    Examples
    --------
    >>> net = MLP([2, 16, 16, 3], activation="relu", weight_init="he_normal", seeds=[0, 1])
    >>> net.forward(np.zeros((5, 2))).shape
    (2, 5, 3)
    """

    def __init__(self, sizes, activation="tanh", weight_init="glorot_uniform", bias_init="zeros",
                 seeds=0, dtype="float64"):
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or len(sizes) < 2:
            raise ValueError(f"sizes must list at least an input and an output width, got {sizes!r}")
        self.sizes = [check_int(n, name="sizes", min_value=1) for n in sizes]
        n_layers = len(self.sizes) - 1
        self.seeds = [seeds] if np.ndim(seeds) == 0 else list(seeds)
        if not self.seeds:
            raise ValueError("seeds must contain at least one seed")
        self.dtype = check_dtype(dtype)
        acts = activation if isinstance(activation, (list, tuple)) else [activation] * (n_layers - 1)
        if len(acts) != n_layers - 1:
            raise ValueError(f"activation must be one value or {n_layers - 1} values (one per hidden layer), got {len(acts)}")
        self.activations = [get_activation(a) for a in acts]
        w_inits = weight_init if isinstance(weight_init, (list, tuple)) else [weight_init] * n_layers
        if len(w_inits) != n_layers:
            raise ValueError(f"weight_init must be one initializer or {n_layers} (one per layer), got {len(w_inits)}")
        w_inits = [get_initializer(w) for w in w_inits]
        b_init = get_initializer(bias_init)

        members_w, members_b = [], []
        for seed in self.seeds:
            rng_w, rng_b, _ = seed_streams(seed)
            members_w.append([w_inits[l]((n_in, n_out), rng=rng_w)
                              for l, (n_in, n_out) in enumerate(zip(self.sizes[:-1], self.sizes[1:]))])
            members_b.append([b_init((n_out,), rng=rng_b) for n_out in self.sizes[1:]])
        self.weights = [np.stack([m[l] for m in members_w]).astype(self.dtype) for l in range(n_layers)]
        self.biases = [np.stack([m[l] for m in members_b]).astype(self.dtype) for l in range(n_layers)]
        self._inputs = self._pre = self._post = None
        keep_freed_memory()

    @property
    def n_members(self):
        """Number of ensemble members ``S``."""
        return len(self.seeds)

    @property
    def n_layers(self):
        """Number of weight layers ``L``."""
        return len(self.weights)

    def parameters(self):
        """All parameter arrays, weights then biases, layer by layer."""
        return [p for pair in zip(self.weights, self.biases) for p in pair]

    def member(self, index):
        """A new one-member :class:`MLP` holding a copy of member ``index``'s parameters."""
        single = MLP.__new__(MLP)
        single.__dict__.update(self.__dict__)
        single.seeds = [self.seeds[index]]
        single.weights = [w[index:index + 1].copy() for w in self.weights]
        single.biases = [b[index:index + 1].copy() for b in self.biases]
        single._inputs = single._pre = single._post = None
        return single

    def forward(self, X):
        """Run the network; remember what :meth:`backward` needs.

        Parameters
        ----------
        X : array_like, shape (B, n_0) or (S, B, n_0)

        Returns
        -------
        numpy.ndarray, shape (S, B, n_L)
            The outputs (logits) of every member.
        """
        h = np.asarray(X, dtype=self.dtype)
        if h.shape[-1] != self.sizes[0] or h.ndim not in (2, 3):
            raise ValueError(f"X must have shape (batch, {self.sizes[0]}) or (members, batch, {self.sizes[0]}), got {h.shape}")
        inputs, pre, post = [], [], []
        last = self.n_layers - 1
        for l, (W, b) in enumerate(zip(self.weights, self.biases)):
            inputs.append(h)
            z = np.matmul(h, W)
            z += b[:, None, :]
            pre.append(z)
            if l < last:
                h = self.activations[l].f(z)
                post.append(h)
        self._inputs, self._pre, self._post = inputs, pre, post
        return pre[-1]

    def backward(self, grad_output):
        """Back-propagate ``dL/d(output)`` through the last :meth:`forward`.

        Parameters
        ----------
        grad_output : numpy.ndarray, shape (S, B, n_L)

        Returns
        -------
        grad_weights, grad_biases, grad_pre : lists of arrays
            Parameter gradients (same shapes as ``weights`` and
            ``biases``) and the back-propagated ``dL/dz_l`` per layer.
        """
        if self._pre is None:
            raise RuntimeError("call forward before backward")
        g = np.asarray(grad_output, dtype=self.dtype)
        L = self.n_layers
        grad_w, grad_b, grad_pre = [None] * L, [None] * L, [None] * L
        for l in range(L - 1, -1, -1):
            grad_pre[l] = g
            h = self._inputs[l]
            grad_w[l] = np.matmul(np.swapaxes(h, -1, -2), g)  # (S, n_in, B) @ (S, B, n_out)
            grad_b[l] = g.sum(axis=1)
            if l > 0:
                g_h = np.matmul(g, np.swapaxes(self.weights[l], -1, -2))
                g = g_h * self.activations[l - 1].df(self._pre[l - 1], self._post[l - 1])
        return grad_w, grad_b, grad_pre

    def trace(self, X, grad_output=None, labels=None, loss="cross_entropy"):
        """Forward (and backward) pass that returns every intermediate quantity.

        Parameters
        ----------
        X : array_like, shape (B, n_0) or (S, B, n_0)
        grad_output : array, optional
            The gradient to back-propagate. If omitted and ``labels`` is
            given, the gradient of ``loss`` is used.
        labels : array, optional
            Labels (cross-entropy) or targets (squared error).
        loss : {"cross_entropy", "squared_error"}, default "cross_entropy"

        Returns
        -------
        Trace
        """
        from .losses import get_loss

        out = self.forward(X)
        t = Trace(pre_activations=list(self._pre), activations=list(self._post))
        if grad_output is None and labels is not None:
            _, grad_output = get_loss(loss)(out, labels)
        if grad_output is not None:
            t.grad_weights, t.grad_biases, t.grad_pre_activations = self.backward(grad_output)
        return t
