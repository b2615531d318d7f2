"""Activation functions and their derivatives.

An :class:`Activation` bundles ``f(z)`` with its derivative. The derivative
is written in terms of the pre-activation ``z`` *and* the output ``h = f(z)``
because for several functions the output form is the cheap one
(``tanh' = 1 - h**2``, ``sigmoid' = h (1 - h)``).
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .._checks import check_array, check_choice, check_real

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
    """The identity ``f(z) = z`` (also called ``"identity"``)."""
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
    z = np.asanyarray(z)
    if z.ndim == 0 or type(z) is not np.ndarray:  # scalars stay scalars, masked arrays keep their mask
        return np.maximum(z, 0.0)
    # The numbers of np.maximum(z, 0.0), nan and -0.0 included, in less than half the time on large
    # arrays: numpy's maximum runs vectorized between two arrays, not between an array and a scalar.
    zeros = np.zeros(z.shape, np.result_type(z, 0.0))
    return np.maximum(z, zeros, out=zeros)


def leaky_relu(z, slope=0.01):
    """``z`` for ``z > 0``, ``slope * z`` otherwise."""
    return np.where(z > 0, z, slope * z)


def _normal_cdf(z):
    """The standard normal CDF Phi(z), via scipy's erf (imported on first use)."""
    from scipy.special import erf
    return 0.5 * (1.0 + erf(z / math.sqrt(2.0)))  # a Python float keeps float32 float32


def gelu(z):
    """Gaussian error linear unit ``z * Phi(z)`` (Hendrycks and Gimpel 2016), the exact form, not the tanh approximation."""
    return z * _normal_cdf(z)


_GELU_TANH_K = math.sqrt(2.0 / math.pi)  # the tanh approximation's constants (Hendrycks and Gimpel 2016)
_GELU_TANH_C = 0.044715


def _gelu_tanh_t(z):
    """``tanh(sqrt(2/pi) (u + 0.044715 u^3))`` and ``u``, with ``u = z`` clipped to [-10, 10].

    At ``|z| = 10`` the argument is about 43.6 and ``tanh`` is already +-1 to
    the last bit (float32 and float64), so the clip changes no value; it only
    keeps ``u^3`` from overflowing for huge ``z`` (and ``f'`` from becoming
    ``inf * 0 = nan``).
    """
    u = np.clip(z, -10.0, 10.0)
    return np.tanh(_GELU_TANH_K * (u + _GELU_TANH_C * u * u * u)), u


def gelu_tanh(z):
    """GELU's tanh approximation ``0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))``.

    The form of GPT-2 and BERT, PyTorch's ``nn.GELU(approximate="tanh")``
    (Hendrycks and Gimpel 2016); it differs from the exact :func:`gelu` by
    less than 5e-4 everywhere.
    """
    t, _ = _gelu_tanh_t(z)
    return 0.5 * z * (1.0 + t)


def silu(z):
    """Sigmoid-weighted linear unit ``z * sigmoid(z)`` (also "swish" with beta = 1)."""
    return z * sigmoid(z)


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


def _leaky_relu_df(z, h, slope=0.01):
    return np.where(z > 0, 1.0, slope).astype(z.dtype)


def _gelu_df(z, h):
    return _normal_cdf(z) + z * np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def _gelu_tanh_df(z, h):
    # d/dz [z (1 + t) / 2] = (1 + t) / 2 + z (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 z^2) / 2; for |z| > 10 the
    # second term is exactly 0 (t = +-1), so the clipped u in it changes nothing
    t, u = _gelu_tanh_t(z)
    return 0.5 * (1.0 + t) + 0.5 * u * (1.0 - t * t) * (_GELU_TANH_K * (1.0 + 3.0 * _GELU_TANH_C * u * u))


def _silu_df(z, h):
    s = sigmoid(z)
    return s * (1.0 + z * (1.0 - s))


def _selu_df(z, h):
    return np.where(z > 0, SELU_SCALE, h + SELU_SCALE * SELU_ALPHA).astype(z.dtype)


# Every activation by name, with its derivative.
_TABLE = {
    "linear": (linear, _linear_df),
    "identity": (linear, _linear_df),
    "sigmoid": (sigmoid, _sigmoid_df),
    "tanh": (tanh, _tanh_df),
    "scaled_tanh": (scaled_tanh, _scaled_tanh_df),
    "relu": (relu, _relu_df),
    "leaky_relu": (leaky_relu, _leaky_relu_df),
    "selu": (selu, _selu_df),
    "gelu": (gelu, _gelu_df),
    "silu": (silu, _silu_df),
    "gelu_tanh": (gelu_tanh, _gelu_tanh_df),
}
#: The names of the activations. :func:`winit_edu.gains.calculate_gain` accepts the same names
#: (:data:`winit_edu.gains.NONLINEARITIES`, spelled out there because the initializers sit a layer
#: below the network pieces; a test keeps the two equal).
ACTIVATIONS = tuple(_TABLE)


def get_activation(name, slope=0.01):
    """Return the :class:`Activation` called ``name``.

    Parameters
    ----------
    name : str or Activation
        One of ``"linear"`` (or its synonym ``"identity"``), ``"sigmoid"``,
        ``"tanh"``, ``"scaled_tanh"``, ``"relu"``, ``"leaky_relu"``,
        ``"selu"``, ``"gelu"`` (exact, ``z Phi(z)``), ``"silu"``,
        ``"gelu_tanh"`` (GELU's tanh approximation, PyTorch's
        ``approximate="tanh"``). An :class:`Activation` is returned
        unchanged.
    slope : float, default 0.01
        Negative slope, used only by ``"leaky_relu"``: a number with
        ``|slope| <= 1e100`` (``-1`` gives ``|z|``).

    Returns
    -------
    Activation

    Raises
    ------
    ValueError
        For an unknown name or a ``slope`` out of range.
    TypeError
        If ``name`` is neither a string nor an :class:`Activation`, or
        ``slope`` is not a real number.

    Examples
    --------
    >>> act = get_activation("tanh")
    >>> z = np.array([0.0, 1.0])
    >>> act.df(z, act.f(z)).round(4)
    array([1.  , 0.42])
    >>> get_activation("leaky_relu", slope=0.2)
    Activation('leaky_relu(0.2)')
    """
    if isinstance(name, Activation):
        return name
    if not isinstance(name, str):
        raise TypeError(f"name must be an activation name or an Activation, got {type(name).__name__}")
    check_choice(name, ACTIVATIONS, name="activation")
    f, df = _TABLE[name]
    if name == "leaky_relu":
        a = check_real(slope, name="slope", min_value=-1e100, max_value=1e100)
        return Activation(f"leaky_relu({a:g})", functools.partial(f, slope=a), functools.partial(df, slope=a))
    return Activation(name, f, df)


def derivative(name, z, slope=0.01):
    """Elementwise derivative ``f'(z)`` of the activation called ``name``.

    Parameters
    ----------
    name : str
        As in :func:`get_activation`.
    z : array_like
        Pre-activations (nan and inf are allowed: ``derivative("relu", inf)`` is 1).
    slope : float, default 0.01
        Negative slope of ``"leaky_relu"``.

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``z``.

    Raises
    ------
    ValueError, TypeError
        As :func:`get_activation`, and for a ``z`` that is not an array of
        real numbers.

    Examples
    --------
    >>> derivative("relu", np.array([-1.0, 2.0]))
    array([0., 1.])
    """
    act = get_activation(name, slope=slope)
    z = check_array(z, name="z", finite=False)
    with np.errstate(over="ignore", invalid="ignore"):  # f(z) may overflow for huge z; f'(z) does not
        return act.df(z, act.f(z))
