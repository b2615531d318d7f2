"""Activation functions and their derivatives.

An :class:`Activation` bundles ``f(z)`` with its derivative. The derivative
is written in terms of the pre-activation ``z`` *and* the output ``h = f(z)``
because for several functions the output form is the cheap one
(``tanh' = 1 - h**2``, ``sigmoid' = h (1 - h)``).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from ._checks import check_choice, check_real

# SELU constants (Klambauer et al., 2017), to the precision they published.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@dataclass(frozen=True)
class Activation:
    """An elementwise nonlinearity ``h = f(z)`` with ``dh/dz = df(z, h)``.

    Attributes
    ----------
    name : str
    f : callable
        ``z -> h``.
    df : callable
        ``(z, h) -> dh/dz``, elementwise.
    """

    name: str
    f: Callable[[np.ndarray], np.ndarray]
    df: Callable[[np.ndarray, np.ndarray], np.ndarray]

    def __call__(self, z):
        return self.f(z)

    def __repr__(self):
        return f"Activation({self.name!r})"


def linear(z):
    """The identity ``f(z) = z``."""
    return z


def sigmoid(z):
    """The logistic function ``1 / (1 + exp(-z))``, written via tanh so it never overflows."""
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def tanh(z):
    """The hyperbolic tangent."""
    return np.tanh(z)


def scaled_tanh(z):
    """LeCun's ``1.7159 tanh(2z/3)``: ``f(+-1) = +-1`` and unit gain near the origin."""
    return 1.7159 * np.tanh(2.0 * z / 3.0)


def relu(z):
    """The rectifier ``max(z, 0)``."""
    return np.maximum(z, 0.0)


def leaky_relu(z, slope=0.01):
    """``z`` for ``z > 0``, ``slope * z`` otherwise."""
    return np.where(z > 0, z, slope * z)


def selu(z):
    """Scaled exponential linear unit (Klambauer et al., 2017)."""
    return SELU_SCALE * np.where(z > 0, z, SELU_ALPHA * np.expm1(np.minimum(z, 0.0)))


def _linear_df(z, h):
    return np.ones_like(z)


def _sigmoid_df(z, h):
    return h * (1.0 - h)


def _tanh_df(z, h):
    return 1.0 - h * h


def _scaled_tanh_df(z, h):
    return (2.0 / 3.0) * (1.7159 - h * h / 1.7159)


def _relu_df(z, h):
    return (z > 0).astype(z.dtype)  # we take relu'(0) = 0, as PyTorch and JAX do


def _selu_df(z, h):
    return np.where(z > 0, SELU_SCALE, h + SELU_SCALE * SELU_ALPHA).astype(z.dtype)


ACTIVATIONS = ("linear", "sigmoid", "tanh", "scaled_tanh", "relu", "leaky_relu", "selu")


def get_activation(name, slope=0.01):
    """Return the :class:`Activation` called ``name``.

    Parameters
    ----------
    name : str or Activation
        One of ``"linear"``, ``"sigmoid"``, ``"tanh"``, ``"scaled_tanh"``,
        ``"relu"``, ``"leaky_relu"``, ``"selu"``. An :class:`Activation` is
        returned unchanged.
    slope : float, default 0.01
        Negative slope, used only by ``"leaky_relu"``.

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        For an unknown name.
    TypeError
        If ``name`` is neither a string nor an :class:`Activation`.

    Examples
    --------
    >>> act = get_activation("tanh")
    >>> z = np.array([0.0, 1.0])
    >>> act.df(z, act.f(z)).round(4)
    array([1.  , 0.42])
    """
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str):
        raise TypeError(f"name must be an activation name or an Activation, got {type(name).__name__}")
    check_choice(name, ACTIVATIONS, name="activation")
    if name == "leaky_relu":
        a = check_real(slope, name="slope")
        return Activation(
            f"leaky_relu({a:g})",
            lambda z: np.where(z > 0, z, a * z),
            lambda z, h: np.where(z > 0, 1.0, a).astype(z.dtype),
        )
    table = {
        "linear": (linear, _linear_df),
        "sigmoid": (sigmoid, _sigmoid_df),
        "tanh": (tanh, _tanh_df),
        "scaled_tanh": (scaled_tanh, _scaled_tanh_df),
        "relu": (relu, _relu_df),
        "selu": (selu, _selu_df),
    }
    f, df = table[name]
    return Activation(name, f, df)


def derivative(name, z, slope=0.01):
    """Elementwise derivative ``f'(z)`` of the activation called ``name``.

    Parameters
    ----------
    name : str
        As in :func:`get_activation`.
    z : array_like
        Pre-activations.
    slope : float, default 0.01
        Negative slope of ``"leaky_relu"``.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> derivative("relu", np.array([-1.0, 2.0]))
    array([0., 1.])
    """
    act = get_activation(name, slope=slope)
    z = np.asarray(z, dtype=float)
    return act.df(z, act.f(z))
