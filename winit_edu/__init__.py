"""winit_edu: small, readable numpy reference code for the winit-edu book.

Modules, one idea each:

=================== =========================================================
``rng``             seeds and generators, one rule everywhere
``fans``            fan_in / fan_out for dense and conv shapes, both layouts
``gains``           the gain table (PyTorch's ``calculate_gain``)
``distributions``   zeros, ones, constant, uniform, normal, truncated_normal
``scaling``         LeCun, Glorot/Xavier, He/Kaiming (``variance_scaling``)
``structured``      orthogonal, identity, sparse
``registry``        initializers by name
``activations``     nonlinearities and their derivatives
``losses``          softmax cross-entropy, squared error
``ordered``         a matrix product computed the same way for every entry
``network``         the MLP with an ensemble axis and hand-written backprop
``dropout``         inverted and alpha dropout masks, alpha dropout's constants
``residual``        a residual MLP (blocks, branch scale, pre-norm), same conventions
``training``        SGD with momentum, Adam, per-member rates, divergence detection
``data_dependent``  LSUV: weights rescaled until every layer has unit variance on a batch
``data``            spirals, moons, XOR, scikit-learn's digits
``diagnostics``     per-layer statistics, saturation, dead units, input-output Jacobians
``theory``          closed-form predictions (second moment, gradient factor)
``meanfield``       order and chaos: correlation map, fixed points, depth scales
``finite_width``    the exact law of the signal length of a narrow ReLU network at initialization
``plotting``        the book's figure style and common plots
``explore``         widgets that work live and in the static HTML book
=================== =========================================================

Importing the package changes nothing outside it (no global settings, no
allocator or thread tuning), and neither does using it. ``plotting`` and
``explore`` import matplotlib's pyplot, most of the import time, so they are
loaded on first use (``wi.explore.scrubber(...)`` works as before).
"""
import importlib

from . import diagnostics, finite_width, meanfield, theory
from .activations import ACTIVATIONS, Activation, derivative, get_activation
from .data_dependent import lsuv
from .data import load_dataset, load_digits, make_moons, make_spirals, make_xor, train_test_split
from .dropout import alpha_dropout_constants, dropout_masks
from .distributions import constant, normal, ones, truncated_normal, truncated_std_factor, uniform, zeros
from .fans import compute_fans
from .gains import calculate_gain
from .losses import one_hot, softmax_cross_entropy, squared_error
from .network import MLP, Trace
from .residual import ResidualMLP, ResidualTrace
from .ordered import ordered_matmul
from .registry import INITIALIZERS, get_initializer
from .rng import as_generator, seed_streams
from .scaling import (
    fan_for_mode,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
)
from .structured import identity, orthogonal, sparse
from .training import History, TrainingDiverged, evaluate, train

__version__ = "0.1.0"

_LAZY = ("explore", "plotting")


def __getattr__(name):
    """Import ``winit_edu.plotting`` and ``winit_edu.explore`` when first used."""
    if name in _LAZY:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

__all__ = [
    "ACTIVATIONS", "Activation", "derivative", "get_activation",
    "load_dataset", "load_digits", "make_moons", "make_spirals", "make_xor", "train_test_split",
    "constant", "normal", "ones", "truncated_normal", "truncated_std_factor", "uniform", "zeros",
    "compute_fans", "calculate_gain", "one_hot", "softmax_cross_entropy", "squared_error",
    "MLP", "ResidualMLP", "ResidualTrace", "Trace", "seed_streams", "ordered_matmul", "INITIALIZERS", "get_initializer", "as_generator",
    "alpha_dropout_constants", "dropout_masks",
    "identity", "orthogonal", "sparse", "History", "TrainingDiverged", "evaluate", "train", "lsuv",
    "fan_for_mode", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "variance_scaling",
]
