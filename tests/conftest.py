"""Shared setup for the winit_edu unit tests.

* matplotlib draws off-screen (the "Agg" backend), so the plotting tests run
  on a machine without a display, and every figure is closed after each test.
* ``tests/`` is on ``sys.path`` (pytest's default "prepend" import mode for a
  test directory without ``__init__.py``), so test modules can import the
  statistical helpers from ``stats_helpers.py`` and the wide random networks
  checked against the mean-field maps from ``widenet_helpers.py``.
"""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")
