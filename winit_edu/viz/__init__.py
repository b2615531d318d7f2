"""Plotting and widgets, the top layer.

=================== ==========================================================
``plotting``        the book's figure style and common plots
``explore``         widgets that work live and in the static HTML book
=================== ==========================================================

Both import matplotlib's pyplot, most of the package's import time, so they
are loaded on first use: importing this package registers each as a lazy
module (:class:`importlib.util.LazyLoader`, the recipe of the importlib
documentation), one module object that is executed the first time one of its
attributes is read (``winit_edu.viz.plotting.use_style``) or it is imported by
name (``import winit_edu.viz.plotting``).
"""
import importlib.util
import sys


def _lazy(name):
    """Register the submodule ``name`` in ``sys.modules`` without executing it yet."""
    fullname = f"{__name__}.{name}"
    if fullname in sys.modules:
        return sys.modules[fullname]
    spec = importlib.util.find_spec(fullname)
    spec.loader = importlib.util.LazyLoader(spec.loader)
    module = importlib.util.module_from_spec(spec)
    sys.modules[fullname] = module
    spec.loader.exec_module(module)
    return module


plotting = _lazy("plotting")
explore = _lazy("explore")
