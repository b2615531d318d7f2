"""Initializers, the bottom layer: how weights are drawn.

=================== ==========================================================
``fans``            fan_in / fan_out for dense and conv shapes, both layouts
``gains``           the gain table (PyTorch's ``calculate_gain``)
``distributions``   zeros, ones, constant, uniform, normal, truncated_normal
``scaling``         LeCun, Glorot/Xavier, He/Kaiming (``variance_scaling``), PyTorch's default
``structured``      orthogonal, identity, sparse
``registry``        initializers by name
=================== ==========================================================

These modules import only each other and the foundation (``winit_edu.rng``,
``winit_edu._checks``), nothing from the layers above.
"""
from . import distributions, fans, gains, registry, scaling, structured
