"""winit_edu: small, readable numpy reference code for the winit-edu book.

Modules, one idea each, grouped by layer. A module imports only from its own
layer, the layers below it and the foundation, never from a layer above.

The foundation, used by every layer (at top level):

=================== =========================================================
``rng``             seeds and generators, one rule everywhere
=================== =========================================================

Initializers, the bottom layer: ``winit_edu.init``:

=================== =========================================================
``fans``            fan_in / fan_out for dense and conv shapes, both layouts
``gains``           the gain table (PyTorch's ``calculate_gain``)
``distributions``   zeros, ones, constant, uniform, normal, truncated_normal
``scaling``         LeCun, Glorot/Xavier, He/Kaiming (``variance_scaling``)
``structured``      orthogonal, identity, sparse
``registry``        initializers by name
=================== =========================================================

Network pieces, above them: ``winit_edu.nn``:

=================== =========================================================
``activations``     nonlinearities and their derivatives
``losses``          softmax cross-entropy, squared error
``ordered``         a matrix product computed the same way for every entry
``network``         the MLP with an ensemble axis and hand-written backprop
``dropout``         inverted and alpha dropout masks, alpha dropout's constants
``residual``        a residual MLP (blocks, branch scale, pre-norm), same conventions
=================== =========================================================

Theory, beside the network pieces: ``winit_edu.theory``:

=================== =========================================================
``moments``         closed-form predictions (second moment, gradient factor)
``meanfield``       order and chaos: correlation map, fixed points, depth scales
``finite_width``    the exact law of the signal length of a narrow ReLU network at initialization
=================== =========================================================

Training, on top: ``winit_edu.learning``:

=================== =========================================================
``training``        SGD with momentum, Adam, per-member rates, divergence detection
``data_dependent``  LSUV; per-unit centring and scaling on a batch
``data``            spirals, moons, XOR, scikit-learn's digits
``diagnostics``     per-layer statistics, saturation, dead units, input-output Jacobians
=================== =========================================================

Plotting and widgets, on top: ``winit_edu.viz``:

=================== =========================================================
``plotting``        the book's figure style and common plots
``explore``         widgets that work live and in the static HTML book
=================== =========================================================

The public names are at top level (``winit_edu.MLP``, ``winit_edu.he_normal``),
and every module keeps its flat name too: ``winit_edu.network`` *is*
``winit_edu.nn.network`` (one module object, registered under both names), and
``winit_edu.theory`` also holds ``theory.moments``' functions
(``winit_edu.theory.propagate_second_moment``), as when it was one module.

Importing the package changes nothing outside it (no global settings, no
allocator or thread tuning), and neither does using it. ``plotting`` and
``explore`` import matplotlib's pyplot, most of the import time, so they are
loaded on first use (``wi.explore.scrubber(...)`` works as before; see
``winit_edu.viz``).
"""
import sys

from . import init, learning, nn, theory, viz
from .init import distributions, fans, gains, registry, scaling, structured
from .nn import activations, dropout, losses, network, ordered, residual
from .theory import finite_width, meanfield
from .learning import data, data_dependent, diagnostics, training
from .viz import explore, plotting  # lazy module objects: executed on first use, so no matplotlib yet
from .nn.activations import ACTIVATIONS, Activation, derivative, get_activation
from .learning.data_dependent import lsuv, per_unit_init
from .learning.data import load_dataset, load_digits, make_moons, make_spirals, make_xor, train_test_split
from .nn.dropout import alpha_dropout_constants, dropout_masks
from .init.distributions import constant, normal, ones, truncated_normal, truncated_std_factor, uniform, zeros
from .init.fans import compute_fans
from .init.gains import calculate_gain
from .nn.losses import one_hot, softmax_cross_entropy, squared_error
from .nn.network import MLP, Trace
from .nn.residual import ResidualMLP, ResidualTrace
from .nn.ordered import ordered_matmul
from .init.registry import INITIALIZERS, get_initializer
from .rng import as_generator, seed_streams
from .init.scaling import (
    fan_for_mode,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    pytorch_default,
    variance_scaling,
)
from .init.structured import identity, orthogonal, sparse
from .learning.training import History, TrainingDiverged, evaluate, train

#: The flat module names of the package before it was grouped by layer, each
#: kept as the same module object (``import winit_edu.network``,
#: ``from winit_edu.plotting import use_style``): readers' code and the book use them.
#: (``theory`` needs no entry: it is the name of the theory layer itself.)
_FLAT_MODULES = {
    "fans": fans, "gains": gains, "distributions": distributions, "scaling": scaling,
    "structured": structured, "registry": registry,
    "activations": activations, "losses": losses, "ordered": ordered, "network": network,
    "dropout": dropout, "residual": residual,
    "meanfield": meanfield, "finite_width": finite_width,
    "training": training, "data_dependent": data_dependent, "diagnostics": diagnostics, "data": data,
    "plotting": plotting, "explore": explore,
}
# Registered in the package's own namespace of sys.modules, so that the import
# statement finds them; no import hook, nothing outside winit_edu.* is touched.
for _name, _module in _FLAT_MODULES.items():
    sys.modules.setdefault(f"{__name__}.{_name}", _module)
del _name, _module

__version__ = "0.1.0"

__all__ = [
    "ACTIVATIONS", "Activation", "derivative", "get_activation",
    "load_dataset", "load_digits", "make_moons", "make_spirals", "make_xor", "train_test_split",
    "constant", "normal", "ones", "truncated_normal", "truncated_std_factor", "uniform", "zeros",
    "compute_fans", "calculate_gain", "one_hot", "softmax_cross_entropy", "squared_error",
    "MLP", "ResidualMLP", "ResidualTrace", "Trace", "seed_streams", "ordered_matmul", "INITIALIZERS", "get_initializer", "as_generator",
    "alpha_dropout_constants", "dropout_masks",
    "identity", "orthogonal", "sparse", "History", "TrainingDiverged", "evaluate", "train", "lsuv", "per_unit_init",
    "fan_for_mode", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
    "lecun_normal", "lecun_uniform", "pytorch_default", "variance_scaling",
]
