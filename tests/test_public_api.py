"""The public API: everything in ``winit_edu.__all__`` exists and is exercised by some test file."""
import pathlib
import re

import pytest

import winit_edu

TESTS = pathlib.Path(__file__).parent
TEST_SOURCE = "\n".join(p.read_text() for p in sorted(TESTS.glob("test_*.py")) if p.name != "test_public_api.py")


@pytest.mark.parametrize("name", winit_edu.__all__)
def test_every_public_name_is_exported_and_tested(name):
    assert hasattr(winit_edu, name)
    assert re.search(rf"\b{re.escape(name)}\b", TEST_SOURCE), f"no test mentions winit_edu.{name}"


def test_version():
    assert winit_edu.__version__ == "0.1.0"
