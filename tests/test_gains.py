"""calculate_gain reproduces PyTorch's ``torch.nn.init.calculate_gain`` table.

The values are hard-coded here from PyTorch's documentation, not recomputed
with the library's own formula.
"""
import math

import numpy as np
import pytest

import winit_edu as wi

from winit_edu import calculate_gain

PYTORCH_GAINS = {
    "linear": 1.0,
    "identity": 1.0,
    "sigmoid": 1.0,
    "tanh": 5.0 / 3.0,
    "relu": math.sqrt(2.0),
    "leaky_relu": math.sqrt(2.0 / (1.0 + 0.01**2)),  # default negative slope 0.01
    "selu": 3.0 / 4.0,
}


@pytest.mark.parametrize("nonlinearity, gain", PYTORCH_GAINS.items())
def test_gain_table_matches_pytorch(nonlinearity, gain):
    assert calculate_gain(nonlinearity) == pytest.approx(gain, rel=1e-15)


def test_every_activation_has_a_gain():
    # gains spells the names out (the initializers import nothing from the network layer): the same tuple
    from winit_edu.init.gains import NONLINEARITIES

    assert NONLINEARITIES == wi.ACTIVATIONS
    for name in wi.ACTIVATIONS:
        assert math.isfinite(calculate_gain(name))


@pytest.mark.parametrize("slope, gain", [
    (0.2, math.sqrt(2.0 / 1.04)),
    (0.0, math.sqrt(2.0)),                 # slope 0 is the ReLU
    (1.0, 1.0),                            # slope 1 is the identity
    (math.sqrt(5.0), math.sqrt(1.0 / 3.0)),  # PyTorch's nn.Linear default a=sqrt(5)
])
def test_leaky_relu_gain_depends_on_the_slope(slope, gain):
    assert calculate_gain("leaky_relu", slope) == pytest.approx(gain, rel=1e-15)


def test_unknown_nonlinearity_raises():
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        calculate_gain("swish")


def test_param_only_for_leaky_relu():
    with pytest.raises(ValueError, match="param"):
        calculate_gain("relu", 0.1)


def test_param_must_be_a_number():
    with pytest.raises(TypeError, match="param"):
        calculate_gain("leaky_relu", "0.1")


def test_scaled_tanh_has_lecuns_gain():
    # not in PyTorch; LeCun et al. (1998) pair 1.7159 tanh(2z/3) with Var(w) = 1/fan_in
    assert calculate_gain("scaled_tanh") == 1.0


@pytest.mark.parametrize("param", [1e101, -1e101])
def test_param_range(param):
    with pytest.raises(ValueError, match="param"):
        calculate_gain("leaky_relu", param)


@pytest.mark.parametrize("name", ["gelu", "silu", "gelu_tanh"])
def test_gelu_and_silu_gains_keep_a_unit_second_moment(name):
    # gain**2 * E[f(z)^2] = 1 for z ~ N(0, 1): the quadrature here is independent of the stored constant
    from scipy import integrate

    f = wi.get_activation(name)
    m2 = integrate.quad(lambda z: f(np.array(z)) ** 2 * np.exp(-z * z / 2) / np.sqrt(2 * np.pi), -40, 40,
                        epsabs=1e-14, epsrel=1e-13, limit=200)[0]
    assert math.isclose(wi.calculate_gain(name) ** 2 * m2, 1.0, rel_tol=1e-10)
    # ... and by simulation: a 2,000,000-sample mean has a relative error of about 1e-3
    z = np.random.default_rng(0).standard_normal(2_000_000)
    assert abs(wi.calculate_gain(name) ** 2 * np.mean(f(z) ** 2) - 1.0) < 5e-3


def test_gelu_tanh_gain_is_the_exact_gelus_rule_and_agrees_with_the_theory_module():
    # handled as "gelu": one over the root second moment at unit variance, a hair above the exact GELU's
    assert 0 < wi.calculate_gain("gelu_tanh") - wi.calculate_gain("gelu") < 1e-4
    # wi.theory's (and wi.meanfield's) Gaussian expectations see the same activation by name
    assert math.isclose(wi.calculate_gain("gelu_tanh") ** 2 * wi.theory.second_moment_after("gelu_tanh", 1.0), 1.0,
                        rel_tol=1e-9)
    with pytest.raises(ValueError, match="param is only accepted"):
        wi.calculate_gain("gelu_tanh", 0.1)
