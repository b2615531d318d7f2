"""The package's layout: modules grouped by layer, the flat module names kept, matplotlib loaded on first use.

Layers, bottom to top: the foundation (``rng``, ``_checks``), the initializers (``init``), the network
pieces (``nn``) with the theory beside them (``theory``), then training (``learning``) and plotting and
widgets (``viz``). A module imports only from its own layer, the layers below and the foundation.
"""
import ast
import importlib
import inspect
import json
import pathlib
import subprocess
import sys

import pytest

import winit_edu as wi

PACKAGE = pathlib.Path(wi.__file__).parent

# Each module name of the flat package (before the grouping by layer) and where the module lives now.
FLAT = {
    "fans": "init.fans", "gains": "init.gains", "distributions": "init.distributions", "scaling": "init.scaling",
    "structured": "init.structured", "registry": "init.registry",
    "activations": "nn.activations", "losses": "nn.losses", "ordered": "nn.ordered", "network": "nn.network",
    "dropout": "nn.dropout", "residual": "nn.residual",
    "theory": "theory", "meanfield": "theory.meanfield", "finite_width": "theory.finite_width",
    "training": "learning.training", "data_dependent": "learning.data_dependent", "diagnostics": "learning.diagnostics",
    "data": "learning.data",
    "plotting": "viz.plotting", "explore": "viz.explore",
}
FOUNDATION = {"rng", "_checks"}
# What each layer may import from the package, besides the foundation and itself.
BELOW = {"init": set(), "nn": {"init"}, "theory": {"init", "nn"}, "learning": {"init", "nn", "theory"},
         "viz": {"init", "nn", "theory", "learning"}}


def run(code):
    """Run ``code`` in a fresh interpreter (this process has imported matplotlib long ago); return its last line as JSON."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120,
                          env={**__import__("os").environ, "MPLBACKEND": "Agg"})
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_every_module_file_is_in_the_layout():
    # the 21 flat modules besides the foundation (theory.py is now theory/moments.py), the foundation,
    # and the __init__ of the package and of each layer
    files = {p.relative_to(PACKAGE).with_suffix("").as_posix() for p in PACKAGE.rglob("*.py")}
    expected = ({m.replace(".", "/") for m in FLAT.values()} - {"theory"}) | {"theory/moments"} | FOUNDATION
    expected |= {"__init__"} | {f"{layer}/__init__" for layer in BELOW}
    assert files == expected
    assert len(FLAT) == 21 and len(set(FLAT.values())) == 21


@pytest.mark.parametrize("old, new", FLAT.items())
def test_the_flat_name_is_the_same_module(old, new):
    module = importlib.import_module(f"winit_edu.{new}")
    assert importlib.import_module(f"winit_edu.{old}") is module
    assert sys.modules[f"winit_edu.{old}"] is module
    assert getattr(wi, old) is module
    parent, _, child = f"winit_edu.{new}".rpartition(".")
    assert getattr(importlib.import_module(parent), child) is module


def test_classes_are_one_object_under_every_name():
    from winit_edu.network import MLP as flat
    from winit_edu.nn.network import MLP as layered

    assert flat is layered is wi.MLP
    assert wi.MLP.__module__ == "winit_edu.nn.network"
    from winit_edu.residual import ResidualMLP
    from winit_edu.training import train

    assert ResidualMLP is wi.nn.residual.ResidualMLP and train is wi.learning.training.train is wi.train


def test_theory_still_holds_everything_the_module_theory_held():
    moments = wi.theory.moments
    names = [name for name, obj in vars(moments).items() if not name.startswith("_")
             and (name.isupper() or (callable(obj) and getattr(obj, "__module__", None) == moments.__name__))]
    assert {"gaussian_expectation", "propagate_second_moment", "gradient_factors", "slope_after"} <= set(names)
    for name in names:
        assert getattr(wi.theory, name) is getattr(moments, name), name
    from winit_edu.theory import gaussian_expectation_fine, second_moment_after  # noqa: F401  (as the tests import them)


def test_the_public_names_resolve():
    assert len(wi.__all__) == len(set(wi.__all__))
    for name in wi.__all__:
        obj = getattr(wi, name)
        module = getattr(obj, "__module__", None)
        assert module is None or module.startswith("winit_edu."), (name, module)


def test_importing_the_package_does_not_import_matplotlib():
    result = run("import sys, winit_edu as wi, winit_edu.viz, winit_edu.network\n"
                 "wi.plotting, wi.explore, wi.viz.plotting  # the attributes exist; nothing is run yet\n"
                 "import json; print(json.dumps('matplotlib' in sys.modules))")
    assert result is False


@pytest.mark.parametrize("statement, name, module", [
    ("import winit_edu.plotting", "winit_edu.plotting.use_style", "plotting"),
    ("from winit_edu.plotting import use_style", "use_style", "plotting"),
    ("import winit_edu.explore as m", "m.scrubber", "explore"),
    ("from winit_edu.explore import figure_png", "figure_png", "explore"),
    ("import winit_edu.viz.plotting", "winit_edu.viz.plotting.use_style", "plotting"),
    ("import winit_edu as wi", "wi.plotting.use_style", "plotting"),
])
def test_the_plotting_modules_load_on_first_use(statement, name, module):
    # in a fresh interpreter, as a reader's first cell: the statement works, and the module it ran is the
    # one module object under both names (a plain module once loaded)
    result = run(f"import sys, json\n{statement}\nf = {name}\nimport winit_edu as wi\n"
                 f"m = sys.modules['winit_edu.viz.{module}']\n"
                 f"print(json.dumps([callable(f), 'matplotlib' in sys.modules, m is sys.modules['winit_edu.{module}'],"
                 f" m is wi.{module} is wi.viz.{module}, type(m).__name__, f.__module__]))")
    assert result == [True, True, True, True, "module", f"winit_edu.viz.{module}"]


def test_no_module_is_executed_twice():
    # every name, old and new, imported in one process: one module object per file
    names = [f"winit_edu.{n}" for n in [*FLAT, *FLAT.values(), "theory.moments", "rng", "_checks"]]
    result = run(f"import importlib, json, sys\nfor n in {names!r}: importlib.import_module(n).__name__\n"
                 "files = {}\n"
                 "for name, m in list(sys.modules.items()):\n"
                 "    if name.startswith('winit_edu'): files.setdefault(m.__file__, set()).add(id(m))\n"
                 "print(json.dumps({f: len(ids) for f, ids in files.items()}))")
    assert len(result) == 21 + 2 + 6  # the 21 modules, the foundation, the package and its 5 layers
    assert set(result.values()) == {1}


def imports_of(path):
    """The winit_edu modules a file imports (absolute names), read from its syntax tree."""
    package = list(path.relative_to(PACKAGE.parent).parent.parts)  # the package the file is in: relative imports start there
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == "winit_edu"}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            if module.split(".")[0] != "winit_edu":
                continue
            if node.module is None:  # from . import a, b
                found |= {f"{module}.{alias.name}" for alias in node.names}
            else:
                found.add(module)
    return found


def layer_of(module):
    parts = module.split(".")
    if len(parts) == 1:
        return "top"  # the package itself: imports everything
    return "foundation" if parts[1] in FOUNDATION else parts[1]


def test_imports_of_reads_relative_imports():
    assert imports_of(PACKAGE / "nn" / "network.py") >= {"winit_edu._checks", "winit_edu.init.registry",
                                                         "winit_edu.nn.activations", "winit_edu.rng"}
    assert imports_of(PACKAGE / "init" / "registry.py") == {
        "winit_edu.init.distributions", "winit_edu.init.scaling", "winit_edu.init.structured"}
    assert "winit_edu.nn.network" in imports_of(PACKAGE / "learning" / "diagnostics.py")  # imports inside functions too


@pytest.mark.parametrize("path", sorted(p.relative_to(PACKAGE).as_posix() for p in PACKAGE.rglob("*.py")
                                        if p.relative_to(PACKAGE).as_posix() != "__init__.py"))
def test_no_module_imports_from_a_layer_above(path):
    path = PACKAGE / path
    own = layer_of(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    allowed = {"foundation"} if own == "foundation" else {own, "foundation"} | BELOW[own]
    wrong = sorted(m for m in imports_of(path) if layer_of(m) not in allowed)
    assert not wrong, f"{path.relative_to(PACKAGE)} ({own}) imports {wrong}"


def test_doctests_are_collected_once():
    # --doctest-modules collects files, so a module registered under two names is not collected twice, and
    # the names re-exported by winit_edu and winit_edu.theory are collected only where they are defined
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-n", "0", str(PACKAGE)],
                          capture_output=True, text=True, timeout=300, cwd=PACKAGE.parent)
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert len(ids) > 50, done.stdout[-2000:] + done.stderr[-2000:]
    objects = []
    for test_id in ids:
        path, name = test_id.split("::", 1)
        module_name = ".".join(pathlib.Path(path).with_suffix("").parts).removesuffix(".__init__")
        assert name == module_name or name.startswith(module_name + "."), test_id
        obj = importlib.import_module(module_name)
        for part in name[len(module_name):].split(".")[1:]:
            obj = inspect.unwrap(getattr(obj, part))
        obj = getattr(obj, "fget", obj)  # a property's doctest is its getter's
        assert pathlib.Path(inspect.getfile(obj)).resolve() == (PACKAGE.parent / path).resolve(), test_id
        objects.append(id(obj))
    assert len(objects) == len(set(objects))
