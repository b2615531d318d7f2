"""Gains: the factor by which an initializer scales the weights' standard
deviation for a given nonlinearity, ``Var(w) = gain**2 / fan_in``.

For linear layers and ReLU the gain keeps the second moment of the signal
constant through the layers, forward and backward. For tanh, sigmoid and SELU
the values are conventions: no gain does both, and PyTorch's 5/3 for tanh
solves neither condition (chapter 8 of the book). The values below are
PyTorch's ``torch.nn.init.calculate_gain``:

============== ======================== =============================================
nonlinearity   gain                     where it comes from
============== ======================== =============================================
linear         1                        Var(y) = fan_in Var(w) Var(x)   (LeCun)
sigmoid        1                        convention (sigmoid'(0) = 1/4 would say 4)
tanh           5/3                      empirical choice, see the tanh chapter
scaled_tanh    1                        LeCun et al. (1998) pair 1.7159 tanh(2z/3)
                                        with Var(w) = 1/fan_in (not in PyTorch)
relu           sqrt(2)                  ReLU halves the second moment   (He)
leaky_relu     sqrt(2 / (1 + slope**2)) a leaky ReLU keeps (1 + slope**2)/2 of it
selu           3/4                      empirical; SELU's own derivation uses 1
gelu           1/sqrt(E[gelu(z)^2])     keeps the second moment at 1 for z ~ N(0, 1)
               = 1.5335                 (He's argument at unit variance; PyTorch has
                                        no gain for GELU and raises)
silu           1/sqrt(E[silu(z)^2])     the same rule for SiLU (swish); not in PyTorch
               = 1.6765
gelu_tanh      1/sqrt(E[f(z)^2])        the same rule for GELU's tanh approximation
               = 1.5336                 (GPT-2's; 5e-5 above the exact GELU's gain);
                                        not in PyTorch
============== ======================== =============================================

GELU (both forms) and SiLU are not homogeneous (``E[f(sqrt(q) z)^2] / q`` rises from 1/4
towards 1/2 as ``q`` grows), so their gains keep the second moment at 1 for
*one* layer fed unit-variance inputs, but ``q = 1`` is an unstable fixed point
of the layer-to-layer map: over many layers the signal drifts away from it
(chapter 8 of the book measures this; He's gain 2 is the large-``q`` limit).

The names are those of :data:`winit_edu.activations.ACTIVATIONS` (``"identity"``
is a synonym of ``"linear"``, as in PyTorch), so every activation a network
accepts has a gain. They are spelled out here, not imported, because the
initializers are the package's bottom layer and import nothing from the network
pieces above them; ``tests/test_gains.py`` checks the two tuples are equal.
"""
from __future__ import annotations

import math

from .._checks import check_choice, check_real

# 1 / sqrt(E[f(z)^2]) for z ~ N(0, 1), by adaptive quadrature to 1e-14 (tests/test_gains.py recomputes them)
_UNIT_SECOND_MOMENT = {"gelu": 1.5335304411955353, "silu": 1.676532470331091, "gelu_tanh": 1.5335805216661471}

#: The accepted names: the same names, in the same order, as :data:`winit_edu.activations.ACTIVATIONS`.
NONLINEARITIES = ("linear", "identity", "sigmoid", "tanh", "scaled_tanh", "relu", "leaky_relu", "selu",
                  "gelu", "silu", "gelu_tanh")


def calculate_gain(nonlinearity, param=None):
    """Recommended gain for a nonlinearity, matching PyTorch's ``calculate_gain``.

    Parameters
    ----------
    nonlinearity : str
        One of ``"linear"``, ``"identity"``, ``"sigmoid"``, ``"tanh"``,
        ``"scaled_tanh"``, ``"relu"``, ``"leaky_relu"``, ``"selu"``,
        ``"gelu"``, ``"silu"``, ``"gelu_tanh"`` (the last three are not in
        PyTorch, which raises for them: their gain ``1/sqrt(E[f(z)^2])``
        keeps the second moment at 1 for one layer fed unit-variance inputs
        only; see the module's table).
    param : float, optional
        Negative slope of ``"leaky_relu"`` (default 0.01, as in PyTorch),
        ``|param| <= 1e100``. Not accepted for the other nonlinearities.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        If ``nonlinearity`` is unknown, ``param`` is out of range, or
        ``param`` is given for a nonlinearity that has no parameter.
    TypeError
        If ``param`` is not a real number.

    References
    ----------
    He et al. (2015), "Delving deep into rectifiers", eq. 10 and the
    leaky-ReLU variant; PyTorch ``torch.nn.init.calculate_gain``.

    Examples
    --------
    >>> round(calculate_gain("relu"), 6)
    1.414214
    >>> round(calculate_gain("leaky_relu", 0.2), 6)
    1.38675
    """
    check_choice(nonlinearity, NONLINEARITIES, name="nonlinearity")
    if nonlinearity != "leaky_relu" and param is not None:
        raise ValueError(f"param is only accepted for nonlinearity='leaky_relu', got param={param!r}")
    if nonlinearity in ("linear", "identity", "sigmoid", "scaled_tanh"):
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3.0
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "selu":
        return 3.0 / 4.0
    if nonlinearity in _UNIT_SECOND_MOMENT:
        return _UNIT_SECOND_MOMENT[nonlinearity]
    slope = 0.01 if param is None else check_real(param, name="param", min_value=-1e100, max_value=1e100)
    return math.sqrt(2.0 / (1.0 + slope**2))
