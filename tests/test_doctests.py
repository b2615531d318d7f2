"""Run the examples in every winit_edu docstring, so the documentation cannot go stale."""
import doctest
import importlib
import pkgutil

import pytest

import winit_edu

MODULES = ["winit_edu"] + sorted(f"winit_edu.{m.name}" for m in pkgutil.iter_modules(winit_edu.__path__))


@pytest.mark.parametrize("module_name", MODULES)
def test_doctests(module_name):
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE, verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} doctest examples failed in {module_name}"


def test_the_package_has_examples():
    # guards against the parametrized test above silently finding nothing
    finder = doctest.DocTestFinder()
    n_examples = sum(len(test.examples) for name in MODULES for test in finder.find(importlib.import_module(name)))
    assert n_examples > 50
