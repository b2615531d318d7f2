"""The public API: everything in ``winit_edu.__all__`` exists, is used by some test, and is documented."""
import importlib
import importlib.metadata
import inspect
import io
import pathlib
import pkgutil
import tokenize

import pytest

import winit_edu

TESTS = pathlib.Path(__file__).parent
# every module and layer (init, nn.network, ...), and the flat names the modules had before the
# grouping by layer (network, scaling, ...; tests/test_package_layout.py)
MODULES = sorted({m.name.removeprefix("winit_edu.") for m in pkgutil.walk_packages(winit_edu.__path__, "winit_edu.")}
                 | set(winit_edu._FLAT_MODULES))


def identifiers(path):
    """The names used as code in a file (comments and strings do not count)."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text()).readline)
    return {tok.string for tok in tokens if tok.type == tokenize.NAME}


USED = set().union(*(identifiers(p) for p in sorted(TESTS.glob("test_*.py")) if p.name != "test_public_api.py"))


@pytest.mark.parametrize("name", winit_edu.__all__)
def test_every_public_name_is_exported_and_tested(name):
    assert hasattr(winit_edu, name)
    assert name in USED, f"no test uses winit_edu.{name}"


def test_version_is_the_installed_distributions():
    assert winit_edu.__version__ == importlib.metadata.version("winit-edu")


@pytest.mark.parametrize("module", MODULES)
def test_no_public_name_shadows_a_module(module):
    # `import winit_edu.<module> as m` must give the module (a function named like a module used to hide it)
    assert inspect.ismodule(importlib.import_module(f"winit_edu.{module}"))
    parent, _, name = f"winit_edu.{module}".rpartition(".")
    attribute = getattr(importlib.import_module(parent), name, None)
    assert attribute is None or inspect.ismodule(attribute), f"winit_edu.{module} is a {type(attribute).__name__}"


PUBLIC_CALLABLES = [name for name in winit_edu.__all__
                    if callable(getattr(winit_edu, name)) and not inspect.isclass(getattr(winit_edu, name))]


@pytest.mark.parametrize("name", PUBLIC_CALLABLES)
def test_every_public_function_documents_parameters_and_an_example(name):
    doc = inspect.getdoc(getattr(winit_edu, name))
    assert "Examples\n--------\n>>> " in doc, f"{name}: no Examples section (run by --doctest-modules)"
    if inspect.signature(getattr(winit_edu, name)).parameters:
        assert "Parameters\n----------\n" in doc, f"{name}: no Parameters section"
