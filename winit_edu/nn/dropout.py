"""Dropout masks: inverted dropout, and alpha dropout for SELU networks.

Dropout sets each hidden unit to a fixed value with probability ``rate``
(a fresh draw at every training step) and corrects the result so that the
next layer sees the same statistics on average. In the network a mask acts
between a hidden layer's activations ``h`` and the next layer.

* **Inverted dropout** (Srivastava et al. 2014) multiplies: ``h * m`` with
  ``m = d / (1 - rate)`` and ``d`` the keep indicator (1 with probability
  ``1 - rate``, else 0). It keeps the mean of ``h`` and multiplies its
  second moment by ``1 / (1 - rate)``.
* **Alpha dropout** (Klambauer et al. 2017) is affine: a dropped unit is set
  to SELU's saturation value ``alpha' = -lambda * alpha`` (its "off" state,
  not 0), then ``a * (.) + b`` restores mean 0 and variance 1::

      h  ->  a * (d * h + alpha' * (1 - d)) + b  =  h * (a d) + (a alpha' (1 - d) + b)

  so it is a multiplier ``a d`` plus a shift. For ``h`` with mean 0 and
  variance 1 (the SELU fixed point) and keep probability ``q = 1 - rate``,
  ``y = d h + alpha' (1 - d)`` has mean ``(1 - q) alpha'`` and variance
  ``q + q (1 - q) alpha'^2`` (``d h`` and ``alpha' (1 - d)`` are
  uncorrelated because ``E[h] = 0``), hence
  ``a = (q + q (1 - q) alpha'^2)^(-1/2)`` and ``b = -a (1 - q) alpha'``
  (:func:`alpha_dropout_constants`; PyTorch's ``nn.AlphaDropout`` and Keras'
  ``AlphaDropout`` use the same constants). The backward pass multiplies the
  gradient by the multiplier ``a d`` only: the shift does not depend on ``h``.

:meth:`MLP.forward <winit_edu.network.MLP.forward>` and
:meth:`MLP.trace <winit_edu.network.MLP.trace>` take the masks of
:func:`dropout_masks` as ``masks=``; :func:`winit_edu.training.train` draws
them at every training step with ``dropout=rate, dropout_kind=...``.
"""
from __future__ import annotations

import numbers

import numpy as np

from .._checks import check_choice, check_int, check_real
from .activations import SELU_ALPHA, SELU_SCALE

DROPOUT_KINDS = ("inverted", "alpha")
SELU_SATURATION = -SELU_SCALE * SELU_ALPHA  #: SELU's limit for z -> -inf, the value alpha dropout sets, about -1.7581


def alpha_dropout_constants(rate):
    """The affine correction ``a, b`` of alpha dropout, and the value a dropped unit takes.

    With keep probability ``q = 1 - rate`` and ``alpha' = -lambda * alpha``
    (SELU's saturation value), ``a = (q + q (1 - q) alpha'^2)^(-1/2)`` and
    ``b = -a (1 - q) alpha'`` (Klambauer et al. 2017, section "New dropout
    technique"): then ``a * (d h + alpha' (1 - d)) + b`` has mean 0 and
    variance 1 when ``h`` has mean 0 and variance 1 and ``d`` is an
    independent keep indicator. The derivation is in the module docstring.

    Parameters
    ----------
    rate : float in [0, 1)
        The probability of dropping a unit (``1 - q``).

    Returns
    -------
    a, b, saturation : float
        The multiplier, the shift, and ``alpha' = -lambda * alpha``
        (about -1.7581). ``rate = 0`` gives ``a = 1, b = 0``.

    Raises
    ------
    ValueError, TypeError
        If ``rate`` is not a real number in ``[0, 1)``.

    Examples
    --------
    >>> a, b, saturation = alpha_dropout_constants(0.1)
    >>> round(a, 4), round(b, 4), round(saturation, 4)
    (0.9213, 0.162, -1.7581)
    """
    rate = check_real(rate, name="rate", min_value=0.0, max_value=1.0, max_inclusive=False)
    q = 1.0 - rate
    a = (q + q * (1.0 - q) * SELU_SATURATION**2) ** -0.5
    b = -a * (1.0 - q) * SELU_SATURATION
    return a, b, SELU_SATURATION


def dropout_stream(seed):
    """The generator of dropout masks for one order seed, as :func:`~winit_edu.training.train` uses it.

    A fourth stream of the seed, beside the three of
    :func:`~winit_edu.rng.seed_streams` (weights, biases, data order), so
    dropout never changes the minibatch order.

    Parameters
    ----------
    seed : int
        A non-negative seed (a member's order seed).

    Returns
    -------
    numpy.random.Generator

    Examples
    --------
    >>> float(dropout_stream(0).random()) == float(dropout_stream(0).random())
    True
    """
    seed = check_int(seed, name="seed", min_value=0)
    return np.random.default_rng(np.random.SeedSequence(seed).spawn(4)[3])


def _check_alpha_dropout_net(net):
    """Raise a ValueError unless every hidden layer of ``net`` is SELU (alpha dropout's constants assume it)."""
    acts = getattr(net, "activations", None)
    if acts is None:  # a ResidualMLP has one activation
        acts = [getattr(net, "activation", None)]
    names = [getattr(f, "name", repr(f)) for f in acts]
    if any(name != "selu" for name in names):
        raise ValueError("alpha dropout needs SELU in every hidden layer: its constants set a dropped unit to "
                         "SELU's saturation value and restore SELU's fixed point (mean 0, variance 1); "
                         f"got activations {sorted(set(names))}. Use dropout_kind='inverted' for other activations")


def _generators(rngs, net):
    """``rngs`` as one generator per member: an int seed means its :func:`dropout_stream`."""
    if rngs is None:
        rngs = net.seeds
    if isinstance(rngs, (np.random.Generator, numbers.Integral)) or np.ndim(rngs) != 1:
        raise TypeError("rngs must be a sequence with one int seed or numpy.random.Generator per member "
                        f"({net.n_members}), got {type(rngs).__name__}")
    rngs = list(rngs)
    if len(rngs) != net.n_members:
        raise ValueError(f"rngs must hold one seed or generator per member ({net.n_members}), got {len(rngs)}")
    out = []
    for r in rngs:
        if isinstance(r, np.random.Generator):
            out.append(r)
        elif isinstance(r, numbers.Integral) and not isinstance(r, (bool, np.bool_)):
            out.append(dropout_stream(r))
        else:
            raise TypeError(f"rngs must hold int seeds or numpy.random.Generator objects, got {type(r).__name__}")
    return out


def dropout_masks(net, batch_size, rate, *, kind="inverted", rngs=None):
    """The dropout masks of one training step, for every hidden layer of ``net``.

    Each member ``s`` draws its keep indicators ``d`` (1 with probability
    ``1 - rate``) from its own generator, layer after layer, each layer as a
    ``(batch_size, n)`` array of uniforms ``u`` with ``d = (u >= rate)``.
    With the same generators both kinds keep the same units.

    Parameters
    ----------
    net : MLP
        The network whose hidden widths, members and dtype the masks follow.
    batch_size : int
        Number of examples, ``>= 1``.
    rate : float in [0, 1)
        Probability of dropping each unit.
    kind : {"inverted", "alpha"}, default "inverted"
        ``"inverted"``: one array ``d / (1 - rate)`` per hidden layer, which
        multiplies the activations. ``"alpha"``: one pair
        ``(a * d, a * alpha' * (1 - d) + b)`` per hidden layer, the multiplier
        and the shift of ``h -> h * (a d) + shift`` (constants from
        :func:`alpha_dropout_constants`); only for SELU networks.
    rngs : sequence of int or numpy.random.Generator, optional
        One per member. An int is an order seed and stands for its
        :func:`dropout_stream`, the generator
        :func:`~winit_edu.training.train` draws the masks of that member
        from, so ``dropout_masks(net, B, p, rngs=order_seeds)`` are the masks
        of train's first step. A generator is advanced (train passes the same
        generators at every step, so every step gets new masks). Default:
        ``net.seeds``, train's default order seeds.

    Returns
    -------
    list
        One entry per hidden layer, arrays of shape ``(S, batch_size, n)`` in
        ``net.dtype``: an array (``"inverted"``) or a ``(multiplier, shift)``
        tuple (``"alpha"``). Pass the list to ``net.forward(X, masks=...)``
        or ``net.trace(X, masks=...)``.

    Raises
    ------
    ValueError
        If ``rate`` is outside ``[0, 1)``, ``batch_size < 1``, ``kind`` is
        unknown, ``rngs`` does not hold one entry per member, or ``kind`` is
        ``"alpha"`` and a hidden activation is not SELU.
    TypeError
        If an argument has the wrong type.

    Examples
    --------
    >>> from winit_edu import MLP
    >>> net = MLP([3, 4, 2], activation="selu", weight_init="lecun_normal", seeds=[0, 1])
    >>> masks = dropout_masks(net, 5, 0.1, kind="alpha")
    >>> multiplier, shift = masks[0]
    >>> multiplier.shape, sorted({round(float(v), 4) for v in multiplier.ravel()})
    ((2, 5, 4), [0.0, 0.9213])
    >>> net.forward(np.ones((5, 3)), masks=masks).shape
    (2, 5, 2)
    """
    batch_size = check_int(batch_size, name="batch_size", min_value=1)
    rate = check_real(rate, name="rate", min_value=0.0, max_value=1.0, max_inclusive=False)
    check_choice(kind, DROPOUT_KINDS, name="kind")
    if kind == "alpha":
        _check_alpha_dropout_net(net)
        a, b, saturation = alpha_dropout_constants(rate)
    gens = _generators(rngs, net)
    masks = []
    for n in net.sizes[1:-1]:
        keep = np.stack([r.random((batch_size, n)) >= rate for r in gens])  # (S, B, n), True = kept
        if kind == "inverted":
            masks.append(keep.astype(net.dtype) / (1.0 - rate))
        else:
            multiplier = (a * keep).astype(net.dtype)
            shift = np.where(keep, b, a * saturation + b).astype(net.dtype)
            masks.append((multiplier, shift))
    return masks
