"""Theory, beside the network pieces: closed-form predictions to check simulations against.

=================== ==========================================================
``moments``         the second-moment recursion and the gradient factor
``meanfield``       order and chaos: correlation map, fixed points, depth scales
``finite_width``    the exact law of the signal length of a narrow ReLU network at initialization
=================== ==========================================================

``moments``         was the module ``winit_edu.theory`` before the package was grouped by
layer, so its functions are also here: ``winit_edu.theory.propagate_second_moment``
is ``winit_edu.theory.moments.propagate_second_moment``. These modules use the
activations, nothing from ``learning`` or ``viz``.
"""
from . import finite_width, meanfield, moments
from .moments import (
    METHODS,
    gaussian_expectation,
    gaussian_expectation_fine,
    gradient_factors,
    propagate_second_moment,
    second_moment_after,
    slope_after,
    uniform_limit,
    uniform_variance,
)
