"""A residual network with an ensemble axis and hand-written backpropagation.

The stack is the one the residual chapters of the book analyse::

    x_0     = X W_in + b_in                                   (linear embedding, width n)
    x_{k+1} = x_k + alpha_k * F_k(N(x_k)), k = 0 .. K-1       (K residual blocks)
    output  = N(x_K) W_out + b_out                            (linear read-out, logits)

with ``N`` the identity, or layer normalization (``norm="layer"``: the
"pre-norm" placement of modern transformers). With ``norm="post_layer"`` the
layer normalization moves after the addition, the "post-norm" placement of
the original transformer::

    x_{k+1} = LN(x_k + alpha_k * F_k(x_k)),  output = x_K W_out + b_out

(the branch reads the stream itself, the read-out reads ``x_K``, already
normalized, and the embedding ``x_0`` is not normalized). Each branch ``F_k``
is a small MLP of ``m = branch_depth`` linear layers with the nonlinearity
between them::

    F(u) = W_m f( ... f(u W_1 + b_1) ... ) + b_m

The branch scale ``alpha_k`` is a fixed number, the same in every block
(``branch_scale``), or, with ``learn_branch_scale=True``, one trainable scalar
per block (``alphas``), started at ``branch_scale``. It may differ per member
(an array of shape ``(S,)``), so that sweeps over it train as one run. The
initialization knobs map to the recipes of the literature: ``branch_scale``
(``1/sqrt(K)``, GPT-2's ``1/sqrt(2 * n_layers)`` on the residual
projections), ``last_init="zeros"`` (a branch that starts as the identity:
Goyal et al. 2017's zero-initialized last batch-norm gain), ``branch_init``
(Fixup's ``K^(-1/(2m-2))`` rescaling of the branch's inner layers) and
``branch_scale=0.0, learn_branch_scale=True``: ReZero (Bachlechner et al.
2020) and SkipInit (De and Smith 2020), a learnable gate that starts at zero.

Shapes: ``S`` members, batch ``B``; all weights have the ensemble axis first,
``(S, n_in, n_out)`` ("in_out" layout, ``x @ W``). ``weights`` lists
``W_in``, then every block's ``W_1 .. W_m``, then ``W_out``; ``biases``
the same; :meth:`ResidualMLP.parameters` lists them in pairs, then the
learnable branch scales, so :func:`winit_edu.training.train` trains it like an
:class:`~winit_edu.network.MLP`.
:meth:`ResidualMLP.trace` returns the residual stream ``x_0 .. x_K`` and every
branch's output (a :class:`ResidualTrace`), what the residual chapters measure.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .._checks import check_array, check_dtype, check_flag, check_index, check_int, check_real
from .activations import get_activation
from .losses import get_loss
from .network import (_check_joinable, _check_training, _joined_parameters, _layer_norm, _layer_norm_backward, _seeds,
                      _sum_over_batch, _with_fan_in)
from ..init.registry import get_initializer
from ..rng import seed_streams


@dataclass
class ResidualTrace:
    """What one pass through a :class:`ResidualMLP` recorded, block by block.

    The arrays have the ensemble axis first; ``K`` is the number of blocks.

    Attributes
    ----------
    stream : list of K + 1 (S, B, n) arrays
        The residual stream ``x_0, x_1, ..., x_K``: the embedding, then the
        stream after every block.
    branch_outputs : list of K (S, B, n) arrays
        ``F_k(N(x_k))``, what branch ``k`` computes before the branch scale:
        ``stream[k + 1] = stream[k] + branch_scales[k][:, None, None] * branch_outputs[k]``
        (with ``norm="post_layer"``, the layer normalization of that sum).
    branch_scales : list of K (S,) arrays
        ``alpha_k``, the scale every block used in this pass (copies).
    output : (S, B, n_out) array
        The logits.
    grad_stream : list of K (S, B, n) arrays
        ``dL/dx_k`` for the stream entering block ``k = 0 .. K-1`` (empty
        after a forward pass only).
    grad_weights, grad_biases : list of arrays
        ``dL/dW`` and ``dL/db`` in the order of ``ResidualMLP.weights``.
    grad_alphas : list of K (S,) arrays
        ``dL/dalpha_k`` (with learnable branch scales and a gradient; empty
        otherwise).
    """

    stream: list = field(default_factory=list)
    branch_outputs: list = field(default_factory=list)
    branch_scales: list = field(default_factory=list)
    output: np.ndarray = None
    grad_stream: list = field(default_factory=list)
    grad_weights: list = field(default_factory=list)
    grad_biases: list = field(default_factory=list)
    grad_alphas: list = field(default_factory=list)


class ResidualMLP:
    """Residual MLP: embedding, ``n_blocks`` residual blocks, linear read-out.

    Parameters
    ----------
    n_in, width, n_blocks, n_out : int
        Input size, width of the residual stream, number of blocks ``K >= 1``
        and number of outputs.
    activation : str or Activation, default "relu"
        The nonlinearity inside the branches.
    branch_depth : int, default 2
        Linear layers per branch, ``m >= 1`` (``m - 1`` nonlinearities).
    weight_init : str or callable, default "he_normal"
        Initializer of the embedding and the read-out (and, by default, of
        the branches), called as ``init((n_in, n_out), rng=...)``.
    branch_init : str or callable, optional
        Initializer of the branch layers but the last (default ``weight_init``).
    last_init : str or callable, optional
        Initializer of each branch's last layer (default ``branch_init``);
        ``"zeros"`` makes every block start as the identity.
    branch_scale : float or sequence of float, default 1.0
        ``alpha``: one value, or one per member. With learnable scales, their
        initial value.
    learn_branch_scale : bool or sequence of bool, default False
        True makes ``alpha_k`` a parameter: one scalar per block and member,
        started at ``branch_scale``, listed by :meth:`parameters` after the
        weights and biases, and trained by :func:`~winit_edu.training.train`
        like them. ``branch_scale=0.0`` with it is ReZero (Bachlechner et al.
        2020): every block starts as the identity (with post-norm, as the
        normalization), the branch weights get a zero gradient at the first
        step, but each ``alpha_k`` gets
        ``dL/dalpha_k = sum(dL/dx_{k+1} * F_k(N(x_k)))`` (with post-norm,
        ``dL/ds_k`` in place of ``dL/dx_{k+1}``, ``s_k`` the sum before its
        normalization), not zero as long as the branch computes something
        (so not with ``last_init="zeros"``:
        then both factors are zero and neither ever moves). One value, or one
        per member: members with False keep their ``alpha`` (their
        ``alphas`` get a zero gradient), so fixed and learnable scales can
        train in one run (:meth:`concatenate` joins them that way).
    norm : {None, "layer", "post_layer"}, default None
        Layer normalization (no learnable gain or bias). ``"layer"`` (pre-norm)
        puts it at the input of every branch and before the read-out;
        ``"post_layer"`` (post-norm) after every block's addition,
        ``x_{k+1} = LN(x_k + alpha_k F_k(x_k))``, and nowhere else (the
        branches read the stream, the read-out reads ``x_K``, and the
        embedding ``x_0`` is not normalized).
    norm_eps : float, default 1e-5
        The ``epsilon`` of the layer normalization, ``(x - mean) / sqrt(var + eps)``
        (GPT-2's and PyTorch's default); ``0.0`` is the exact scale-free map.
        It may be changed on a network (``net.norm_eps = ...``); an assignment
        is checked as the constructor checks it.
    bias_init : str or callable, default "zeros"
        Initializer for the biases, called as ``init((n_out,), rng=...)``;
        one that takes a ``fan_in`` option also gets the fan-in of the
        layer (``"pytorch_default"``: ``nn.Linear``'s bias).
    seeds : int or sequence of int, default 0
        One distinct seed per member.
    dtype : {"float64", "float32"}, default "float64"

    Raises
    ------
    ValueError, TypeError
        For bad sizes, seeds, initializer or activation names, a
        ``branch_scale`` or ``learn_branch_scale`` of the wrong length or type
        (``learn_branch_scale`` takes True or False only), a ``branch_scale``
        that is not finite, a ``norm`` other than None, ``"layer"`` and
        ``"post_layer"``, or a negative or non-finite ``norm_eps``.

    Attributes
    ----------
    weights, biases : list of arrays
        ``W_in``, every block's ``W_1 .. W_m``, ``W_out``, shapes
        ``(S, fan_in, fan_out)`` and ``(S, fan_out)``.
    branch_scale : (S,) array
        The fixed ``alpha`` (with learnable scales only their start: the pass
        reads ``alphas``).
    learn_branch_scale : (S,) bool array
        Which members learn their scales.
    alphas : list of K (S,) arrays
        With learnable scales (any member): ``alpha_k`` of every block, the
        parameters; an empty list otherwise.
    grad_weights, grad_biases, grad_alphas : lists of arrays
        The gradients of the last :meth:`backward`.

    Examples
    --------
    >>> net = ResidualMLP(4, 16, 3, 2, seeds=[0, 1], last_init="zeros")
    >>> X = np.ones((5, 4))
    >>> out = net.forward(X)
    >>> out.shape
    (2, 5, 2)
    >>> len(net.weights)  # W_in, 3 blocks of 2, W_out
    8

    ReZero: the gates start at zero, and only they receive a gradient at first.

    >>> from winit_edu.losses import get_loss
    >>> rz = ResidualMLP(4, 16, 3, 2, branch_scale=0.0, learn_branch_scale=True)
    >>> len(rz.parameters()), rz.alphas[0]  # 8 weights, 8 biases, 3 gates
    (19, array([0.]))
    >>> _, g = get_loss("cross_entropy")(rz.forward(np.ones((5, 4))), np.zeros(5, int))
    >>> _ = rz.backward(g)
    >>> bool(np.all(rz.grad_weights[1] == 0)), bool(np.all(rz.grad_alphas[0] != 0))
    (True, True)
    """

    def __init__(self, n_in, width, n_blocks, n_out, activation="relu", branch_depth=2, weight_init="he_normal",
                 branch_init=None, last_init=None, branch_scale=1.0, norm=None, bias_init="zeros", seeds=0,
                 dtype="float64", norm_eps=1e-5, learn_branch_scale=False):
        n_in, width, n_out = (check_int(v, name=k, min_value=1) for k, v in
                              (("n_in", n_in), ("width", width), ("n_out", n_out)))
        self.n_blocks = check_int(n_blocks, name="n_blocks", min_value=1)
        self.branch_depth = check_int(branch_depth, name="branch_depth", min_value=1)
        self.sizes = [n_in, width, n_out]
        self.activation = get_activation(activation)
        if norm not in (None, "layer", "post_layer"):
            raise ValueError(f"norm must be None, 'layer' (pre-norm) or 'post_layer' (post-norm), got {norm!r}")
        self.norm = norm
        self.norm_eps = check_real(norm_eps, name="norm_eps", min_value=0.0)
        self.seeds = _seeds(seeds)
        self.dtype = check_dtype(dtype)
        S = len(self.seeds)
        alpha = np.asarray(branch_scale, dtype=float)
        if alpha.ndim == 0:
            alpha = np.full(S, float(alpha))
        if alpha.shape != (S,) or not np.isfinite(alpha).all():
            raise ValueError(f"branch_scale must be a finite number or one per member ({S}), got {branch_scale!r}")
        self.branch_scale = alpha.astype(self.dtype)
        self.learn_branch_scale = _learn_flags(learn_branch_scale, S)
        # one trainable alpha_k per block, started at branch_scale; none if no member learns them
        self.alphas = [self.branch_scale.copy() for _ in range(self.n_blocks)] if self.learn_branch_scale.any() else []
        w_init = get_initializer(weight_init)
        inner = w_init if branch_init is None else get_initializer(branch_init)
        last = inner if last_init is None else get_initializer(last_init)
        b_init = get_initializer(bias_init)
        m = self.branch_depth
        plan = [(w_init, (n_in, width))]
        for _ in range(self.n_blocks):
            plan += [(inner, (width, width))] * (m - 1) + [(last, (width, width))]
        plan.append((w_init, (width, n_out)))
        b_inits = [_with_fan_in(b_init, shape[0]) for _, shape in plan]  # once per layer, not per member
        members_w, members_b = [], []
        for seed in self.seeds:
            rng_w, rng_b, _ = seed_streams(seed)
            members_w.append([_draw(init, shape, rng_w, "weight_init", self.dtype) for init, shape in plan])
            members_b.append([_draw(b, (shape[1],), rng_b, "bias_init", self.dtype)
                              for b, (_, shape) in zip(b_inits, plan)])
        self.weights = [np.stack([w[l] for w in members_w]).astype(self.dtype) for l in range(len(plan))]
        self.biases = [np.stack([b[l] for b in members_b]).astype(self.dtype) for l in range(len(plan))]
        self.grad_weights, self.grad_biases, self.grad_alphas = [], [], []
        self._cache = None

    @classmethod
    def concatenate(cls, nets):
        """One ensemble from residual networks of the same shape that were initialized differently.

        As :meth:`winit_edu.network.MLP.concatenate`: seeds may repeat across
        ``nets``; the parameters and branch scales are copied. Networks with
        fixed and with learnable scales may be joined: if any member learns,
        the joined network has ``alphas`` for every member, those of a fixed
        member equal to its ``branch_scale`` and never changed by training
        (their gradient is zero), so it trains to the bit as it would alone.

        Raises
        ------
        TypeError, ValueError
            If an element is not a :class:`ResidualMLP`, ``nets`` is empty, or
            the networks differ in sizes, blocks, branch depth, activation,
            norm, norm_eps or dtype.
        """
        nets = _check_joinable(nets, ResidualMLP, "a ResidualMLP", ("sizes", "n_blocks", "branch_depth", "activation",
                                                                    "norm", "norm_eps", "dtype"))
        joined = object.__new__(cls)
        joined.__dict__.update(nets[0].__dict__)
        joined.seeds, joined.weights, joined.biases = _joined_parameters(nets)
        joined.branch_scale = np.concatenate([net.branch_scale for net in nets])
        joined.learn_branch_scale = np.concatenate([net.learn_branch_scale for net in nets])
        joined.alphas = []
        if joined.learn_branch_scale.any():
            joined.alphas = [np.concatenate([net.alphas[k] if net.alphas else net.branch_scale for net in nets])
                             for k in range(joined.n_blocks)]
        joined.grad_weights, joined.grad_biases, joined.grad_alphas, joined._cache = [], [], [], None
        return joined

    def member(self, index):
        """A new one-member :class:`ResidualMLP` holding a copy of member ``index``.

        As :meth:`winit_edu.network.MLP.member`: its weights, biases, branch
        scale and, with learnable scales, its ``alphas`` (as trained so far).

        Parameters
        ----------
        index : int
            ``-S <= index < S``, as for a list.

        Returns
        -------
        ResidualMLP

        Raises
        ------
        TypeError, ValueError
            For an index that is not an int or out of range.
        """
        index = check_index(index, self.n_members)
        pick = slice(index, index + 1)
        single = object.__new__(type(self))
        single.__dict__.update(self.__dict__)
        single.seeds = [self.seeds[index]]
        single.weights = [w[pick].copy() for w in self.weights]
        single.biases = [b[pick].copy() for b in self.biases]
        single.branch_scale = self.branch_scale[pick].copy()
        single.learn_branch_scale = self.learn_branch_scale[pick].copy()
        single.alphas = [a[pick].copy() for a in self.alphas]
        single.grad_weights, single.grad_biases, single.grad_alphas, single._cache = [], [], [], None
        return single

    @property
    def norm_eps(self):
        """The ``eps`` of the layer normalization, finite and ``>= 0``; checked on assignment."""
        return self._norm_eps

    @norm_eps.setter
    def norm_eps(self, value):
        self._norm_eps = check_real(value, name="norm_eps", min_value=0.0)

    @property
    def n_members(self):
        """Number of ensemble members ``S``."""
        return len(self.seeds)

    @property
    def n_layers(self):
        """Number of weight matrices (embedding, branch layers, read-out)."""
        return len(self.weights)

    @property
    def scales(self):
        """The ``alpha_k`` every block uses now, shape ``(S, K)`` (a new array).

        ``branch_scale`` in every column, or the learnable ``alphas``.
        """
        if self.alphas:
            return np.stack(self.alphas, axis=1)
        return np.repeat(self.branch_scale[:, None], self.n_blocks, axis=1)

    def parameters(self):
        """All parameter arrays: weights and biases layer by layer, then the learnable branch scales.

        The order is ``W_in, b_in``, every block's ``W_1, b_1, ..., W_m,
        b_m``, ``W_out, b_out`` (the order of ``weights``) and, with
        ``learn_branch_scale``, ``alpha_1, ..., alpha_K`` after them, one
        ``(S,)`` array per block; so the first ``2 L`` entries alternate
        weights and biases either way (``[0:2 L:2]`` are the weights), as in
        :meth:`winit_edu.network.MLP.parameters`.
        """
        return [p for pair in zip(self.weights, self.biases) for p in pair] + list(self.alphas)

    def gradients(self):
        """The gradients of the last :meth:`backward`, in the order of :meth:`parameters`.

        As :meth:`winit_edu.network.MLP.gradients`: ``dL/dW_1, dL/db_1, ...``,
        then ``dL/dalpha_1, ..., dL/dalpha_K`` with learnable scales.

        Returns
        -------
        list of arrays

        Raises
        ------
        RuntimeError
            Before any :meth:`backward`.
        """
        if not self.grad_weights:
            raise RuntimeError("call backward before gradients")
        return [g for pair in zip(self.grad_weights, self.grad_biases) for g in pair] + list(self.grad_alphas)

    def _alpha(self, k):
        """``alpha_k``, shaped ``(S, 1, 1)`` to scale block ``k``'s branch output."""
        return (self.alphas[k] if self.alphas else self.branch_scale)[:, None, None]

    def _block_layers(self, k):
        """Indices into ``weights`` of block ``k``'s branch layers."""
        start = 1 + k * self.branch_depth
        return range(start, start + self.branch_depth)

    def forward(self, X, masks=None, training=False):
        """Run the network; remember what :meth:`backward` needs.

        Parameters
        ----------
        X : array_like, shape (B, n_in) or (S, B, n_in)
        masks : None
            Dropout is not supported here (the argument exists so that
            :func:`~winit_edu.training.train` can call every network alike).
        training : bool, default False
            Accepted so that :func:`~winit_edu.training.train` can call every
            network alike (it passes True for its steps), and changes nothing:
            this network has no batch normalization, and its layer
            normalization computes the same statistics in training and in
            inference (each example over its units). As in
            :meth:`winit_edu.network.MLP.forward`, it must be a bool.

        Returns
        -------
        numpy.ndarray, shape (S, B, n_out)
            The logits, a new array.

        Raises
        ------
        ValueError, TypeError
            For inputs of the wrong shape, type or with non-finite values,
            ``masks`` other than None, or a ``training`` that is not a bool.
        """
        _check_training(training)
        if masks is not None:
            raise ValueError("ResidualMLP does not support dropout masks; pass masks=None (train(dropout=0))")
        return self._forward(X, keep=True)

    def predict(self, X):
        """The outputs for ``X``, remembering nothing for :meth:`backward`.

        The numbers of :meth:`forward`, to the bit, at a fraction of the
        memory: each block's arrays are freed as soon as the next block is
        computed (:func:`~winit_edu.training.evaluate` uses it). The last
        :meth:`forward` stays what :meth:`backward` uses.

        Parameters
        ----------
        X : array_like, shape (B, n_in) or (S, B, n_in)

        Returns
        -------
        numpy.ndarray, shape (S, B, n_out)

        Raises
        ------
        ValueError, TypeError
            As :meth:`forward`.
        """
        return self._forward(X, keep=False)

    def _forward(self, X, keep):
        """:meth:`forward` (``keep=True``: remember every block for :meth:`backward`) or :meth:`predict`."""
        X = check_array(X, name="X", dtype=self.dtype)
        S, n_in = self.n_members, self.sizes[0]
        if X.ndim not in (2, 3) or X.shape[-1] != n_in or (X.ndim == 3 and X.shape[0] != S) or X.shape[-2] == 0:
            raise ValueError(f"X must have shape (batch, {n_in}) or ({S}, batch, {n_in}), got {X.shape}")
        f = self.activation
        pre_norm, post_norm = self.norm == "layer", self.norm == "post_layer"
        cache = {"X": X, "stream": [], "blocks": []}
        with np.errstate(over="ignore", invalid="ignore"):
            x = X @ self.weights[0] + self.biases[0][:, None, :]
            for k in range(self.n_blocks):
                if keep:
                    cache["stream"].append(x)
                u, inv = _layer_norm(x, eps=self.norm_eps) if pre_norm else (x, None)
                inputs, pre = [], []
                a = u
                for j, l in enumerate(self._block_layers(k)):
                    inputs.append(a)
                    z = a @ self.weights[l] + self.biases[l][:, None, :]
                    pre.append(z)
                    if j < self.branch_depth - 1:
                        a = f.f(z)
                x = x + self._alpha(k) * pre[-1]
                inv_post = None
                if post_norm:  # x_{k+1} = LN(x_k + alpha_k F_k(x_k)); backward needs 1/sqrt(var + eps)
                    x, inv_post = _layer_norm(x, eps=self.norm_eps)
                if keep:
                    cache["blocks"].append((u, inv, inputs, pre, inv_post))
            cache["last"] = x  # x_K, the stream after the last block
            u, inv = _layer_norm(x, eps=self.norm_eps) if pre_norm else (x, None)
            cache["read_out"] = (u, inv)
            out = u @ self.weights[-1] + self.biases[-1][:, None, :]
        if keep:
            self._cache = cache
        return out

    def backward(self, grad_output):
        """Back-propagate ``dL/d(output)`` through the last :meth:`forward`.

        Returns
        -------
        grad_weights, grad_biases : lists of arrays
            In the order of ``weights`` and ``biases``.
        grad_stream : list of arrays
            ``dL/dx_k`` for the residual stream entering every block.

        With learnable scales, ``dL/dalpha_k`` lands in ``grad_alphas``
        (and :meth:`gradients`): the sum over examples and units of
        ``dL/dx_{k+1} * F_k(N(x_k))``, per member (zero for a member whose
        scales are fixed); with ``norm="post_layer"``, ``dL/ds_k * F_k(x_k)``
        with ``s_k = x_k + alpha_k F_k(x_k)`` the sum that the block normalizes.

        Raises
        ------
        RuntimeError
            Before any :meth:`forward`.
        ValueError
            If ``grad_output`` does not have the shape of the last output.
        """
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        c = self._cache
        g = check_array(grad_output, name="grad_output", dtype=self.dtype, finite=False)
        u, inv = c["read_out"]
        if g.shape != (self.n_members, u.shape[1], self.sizes[-1]):
            raise ValueError(f"grad_output must have the shape of the last output, got {g.shape}")
        L = self.n_layers
        grad_w, grad_b = [None] * L, [None] * L
        grad_alpha = [None] * len(self.alphas)
        f = self.activation
        with np.errstate(over="ignore", invalid="ignore"):
            grad_w[-1], grad_b[-1] = u.mT @ g, _sum_over_batch(g)
            g_x = g @ self.weights[-1].mT
            if self.norm == "layer":
                g_x = _layer_norm_backward(g_x, u, inv)
            grad_stream = [None] * self.n_blocks
            for k in range(self.n_blocks - 1, -1, -1):
                u, inv, inputs, pre, inv_post = c["blocks"][k]
                if inv_post is not None:  # post-norm: x_{k+1} = LN(s), s = x_k + alpha_k F_k(x_k); x_{k+1} is z_hat
                    x_next = c["stream"][k + 1] if k + 1 < self.n_blocks else c["last"]
                    g_x = _layer_norm_backward(g_x, x_next, inv_post)  # now dL/ds
                g_z = self._alpha(k) * g_x  # x_{k+1} = x_k + alpha_k * F_k(N(x_k)); g_x is dL/dx_{k+1} (dL/ds)
                if self.alphas:  # dL/dalpha_k = sum over examples and units of dL/dx_{k+1} (dL/ds) * F_k(N(x_k))
                    grad = (g_x * pre[-1]).sum(axis=(1, 2))
                    grad_alpha[k] = np.where(self.learn_branch_scale, grad, 0).astype(self.dtype, copy=False)
                layers = list(self._block_layers(k))
                for j in range(self.branch_depth - 1, -1, -1):
                    l = layers[j]
                    grad_w[l], grad_b[l] = inputs[j].mT @ g_z, _sum_over_batch(g_z)
                    g_a = g_z @ self.weights[l].mT
                    g_z = g_a * f.df(pre[j - 1], inputs[j]) if j > 0 else g_a  # inputs[j] = f(pre[j - 1])
                g_branch = _layer_norm_backward(g_z, u, inv) if inv is not None else g_z
                g_x = g_x + g_branch
                grad_stream[k] = g_x
            grad_w[0], grad_b[0] = c["X"].mT @ g_x, _sum_over_batch(g_x)  # a shared (B, n_in) X broadcasts
        self.grad_weights, self.grad_biases, self.grad_alphas = grad_w, grad_b, grad_alpha
        return grad_w, grad_b, grad_stream

    def trace(self, X, grad_output=None, labels=None, loss="cross_entropy", training=False):
        """Forward (and backward) pass that returns the residual stream and every branch's output.

        The same pass as :meth:`forward` (so the same numbers, to the bit),
        with what it computed on the way, as :meth:`winit_edu.network.MLP.trace`.

        Parameters
        ----------
        X : array_like, shape (B, n_in) or (S, B, n_in)
        grad_output, labels, loss : optional
            As in :meth:`winit_edu.network.MLP.trace`: the gradient
            ``dL/d(output)`` to back-propagate, or the labels (targets) whose
            ``loss`` (default ``"cross_entropy"``) gives it.
        training : bool, default False
            No effect, as in :meth:`forward` (accepted so that code can trace
            an :class:`~winit_edu.network.MLP` and a ResidualMLP alike).

        Returns
        -------
        ResidualTrace
            ``stream`` (``x_0 .. x_K``), ``branch_outputs``, ``output`` and,
            with a gradient, ``grad_stream``, ``grad_weights`` and
            ``grad_biases`` (and ``grad_alphas`` with learnable scales). It owns
            its arrays: a later pass does not change them.

        Raises
        ------
        ValueError, TypeError
            As :meth:`forward`, :meth:`backward` and the loss.

        Examples
        --------
        >>> net = ResidualMLP(4, 16, 3, 2, seeds=[0, 1], norm="layer")
        >>> t = net.trace(np.ones((5, 4)))
        >>> len(t.stream), t.stream[-1].shape, len(t.branch_outputs)
        (4, (2, 5, 16), 3)
        """
        out = self.forward(X, training=training)
        c = self._cache
        t = ResidualTrace(stream=c["stream"] + [c["last"]], output=out,
                          branch_outputs=[block[3][-1] for block in c["blocks"]],
                          branch_scales=[self._alpha(k)[:, 0, 0].copy() for k in range(self.n_blocks)])
        if grad_output is None and labels is not None:
            _, grad_output = get_loss(loss)(out, labels)
        if grad_output is not None:
            grad_w, grad_b, grad_stream = self.backward(grad_output)
            t.grad_weights, t.grad_biases, t.grad_stream = list(grad_w), list(grad_b), list(grad_stream)
            t.grad_alphas = [g.copy() for g in self.grad_alphas]
        return t

    def first_nonfinite(self, member):
        """The first weight matrix (counted from 1) of member ``member`` holding an inf or nan.

        Returns
        -------
        layer, quantity : int, str
            ``(-1, "")`` if all parameters and the last residual stream are finite;
            ``"branch scales"`` names a non-finite learnable ``alpha_k``, counted
            as the layer of block ``k``'s last branch layer;
            ``"pre-activations"`` names a non-finite residual stream entering block ``layer``.
        """
        member = check_int(member, name="member", min_value=0)
        if member >= self.n_members:
            raise ValueError(f"member must be < {self.n_members}, got {member}")
        for l in range(self.n_layers):
            for quantity, values in (("weights", self.weights[l]), ("biases", self.biases[l])):
                if not np.isfinite(values[member]).all():
                    return l + 1, quantity
            k, last = divmod(l - 1, self.branch_depth)  # layer l is branch layer `last` of block k
            if self.alphas and 0 <= k < self.n_blocks and last == self.branch_depth - 1:
                if not np.isfinite(self.alphas[k][member]):
                    return l + 1, "branch scales"
        if self._cache is not None:
            for k, x in enumerate(self._cache["stream"]):
                if not np.isfinite(x[member]).all():
                    return 1 + k * self.branch_depth, "pre-activations"
        return -1, ""


def _learn_flags(learn_branch_scale, n_members):
    """``learn_branch_scale`` as one bool per member; only True and False are accepted."""
    if isinstance(learn_branch_scale, (list, tuple, np.ndarray)):
        flags = [check_flag(v, name="learn_branch_scale") for v in np.ravel(learn_branch_scale)]
        if np.ndim(learn_branch_scale) != 1 or len(flags) != n_members:
            raise ValueError(f"learn_branch_scale must be True, False or one of them per member ({n_members}), "
                             f"got shape {np.shape(learn_branch_scale)}")
        return np.array(flags, dtype=bool)
    return np.full(n_members, check_flag(learn_branch_scale, name="learn_branch_scale"))


def _draw(init, shape, rng, name, dtype):
    value = check_array(init(shape, rng=rng), name=f"the array returned by {name}", dtype=dtype)
    if value.shape != shape:
        raise ValueError(f"{name} must return an array of shape {shape}, got {value.shape}")
    return value
