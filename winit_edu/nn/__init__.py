"""Network pieces, above the initializers: the small numpy networks the book trains.

=================== ==========================================================
``activations``     nonlinearities and their derivatives
``losses``          softmax cross-entropy, squared error
``ordered``         a matrix product computed the same way for every entry
``network``         the MLP with an ensemble axis and hand-written backprop
``dropout``         inverted and alpha dropout masks, alpha dropout's constants
``residual``        a residual MLP (blocks, branch scale, pre-norm), same conventions
=================== ==========================================================

These modules import the initializers and each other, nothing from
``theory``, ``learning`` or ``viz``.
"""
from . import activations, dropout, losses, network, ordered, residual
