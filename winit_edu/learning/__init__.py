"""Training and measuring, on top of the network pieces.

=================== ==========================================================
``training``        SGD with momentum, Adam, per-member rates, divergence detection
``data_dependent``  LSUV; per-unit centring and scaling on a batch
``diagnostics``     per-layer statistics, saturation, dead units, input-output Jacobians
``data``            spirals, moons, XOR, scikit-learn's digits
=================== ==========================================================

Named ``learning``, not ``train``, so that it cannot shadow the function
``winit_edu.train``. ``data_dependent`` is here, not among the initializers:
LSUV and ``per_unit_init`` run a network's forward pass.
"""
from . import data, data_dependent, diagnostics, training
