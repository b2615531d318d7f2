"""calculate_gain reproduces PyTorch's ``torch.nn.init.calculate_gain`` table.

The values are hard-coded here from PyTorch's documentation, not recomputed
with the library's own formula.
"""
import math

import pytest

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
        calculate_gain("gelu")


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
