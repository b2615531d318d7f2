"""winit_edu: small, readable numpy reference code for the winit-edu book.

Modules, one idea each:

=================== =========================================================
``rng``             seeds and generators, one rule everywhere
``fans``            fan_in / fan_out for dense and conv shapes, both layouts
``gains``           the gain table (PyTorch's ``calculate_gain``)
``distributions``   zeros, ones, constant, uniform, normal, truncated_normal
``variance_scaling`` LeCun, Glorot/Xavier, He/Kaiming
``structured``      orthogonal, identity, sparse
``registry``        initializers by name
``activations``     nonlinearities and their derivatives
``losses``          softmax cross-entropy, squared error
``network``         the MLP with an ensemble axis and hand-written backprop
``training``        minibatch SGD with momentum, divergence detection
``data``            spirals, moons, XOR, scikit-learn's digits
``diagnostics``     per-layer statistics, saturation, dead units
``theory``          closed-form predictions (second-moment recursion)
``plotting``        the book's figure style and common plots
``explore``         widgets that work live and in the static HTML book
=================== =========================================================
"""
from . import diagnostics, explore, plotting, theory
from .activations import ACTIVATIONS, Activation, derivative, get_activation
from .data import load_dataset, load_digits, make_moons, make_spirals, make_xor, train_test_split
from .distributions import constant, normal, ones, truncated_normal, truncated_std_factor, uniform, zeros
from .fans import compute_fans
from .gains import calculate_gain
from .losses import one_hot, softmax_cross_entropy, squared_error
from .network import MLP, Trace, seed_streams
from .registry import INITIALIZERS, get_initializer
from .rng import as_generator
from .structured import identity, orthogonal, sparse
from .training import History, TrainingDiverged, evaluate, train
from .variance_scaling import (
    fan_for_mode,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
)

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "Activation", "derivative", "get_activation",
    "load_dataset", "load_digits", "make_moons", "make_spirals", "make_xor", "train_test_split",
    "constant", "normal", "ones", "truncated_normal", "truncated_std_factor", "uniform", "zeros",
    "compute_fans", "calculate_gain", "one_hot", "softmax_cross_entropy", "squared_error",
    "MLP", "Trace", "seed_streams", "INITIALIZERS", "get_initializer", "as_generator",
    "identity", "orthogonal", "sparse", "History", "TrainingDiverged", "evaluate", "train",
    "fan_for_mode", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "variance_scaling",
]
