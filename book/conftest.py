"""Running the notebooks under pytest (nbval): one BLAS thread per kernel when several run at once.

The README's test command runs one notebook per core (pytest-xdist, ``-n auto``). Each
notebook's kernel would otherwise start as many OpenBLAS threads as there are cores, so
two kernels on two cores would run four threads that take turns, and OpenBLAS's idle
threads spin for a while after each product: measured on 2 cores, the whole book took
longer two at a time with two threads each than with one thread each (benchmarks/README.md).
The kernels are child processes of the pytest worker and inherit its environment, so
setting the thread variables here, before any kernel starts, gives each kernel one thread.
A variable you set yourself is kept; with one worker (``-n 0`` or ``-n 1``) nothing is set.

The stored outputs do not depend on the thread count: nbval compares only outputs that
cannot depend on the BLAS's rounding order (README, "How outputs are stored and checked"),
and CI re-runs every notebook with one thread under two other BLAS code paths and numpy
SIMD levels to prove it.

With several workers the kernels also *start* one at a time. jupyter_client chooses a
kernel's ports by opening and closing sockets on free ports, and the kernel binds them a
moment later; a kernel starting in another worker in between can take the same ports, and
the notebook then fails with "Kernel didn't respond in 60 seconds" before its first cell
(jupyter_client issue 487; it happened here once in a README test run). A file lock held
while a notebook's kernel starts, until it answers, closes that window.
"""
import os
import tempfile

import pytest

try:
    import fcntl
except ImportError:  # not on Windows: kernels start unserialized there
    fcntl = None

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))  # set in each xdist worker
    if workers > 1:
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, "1")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    """Hold an inter-process lock while a notebook's kernel starts (nbval starts it in the setup of its first cell)."""
    notebook = item.parent
    starting = (fcntl is not None and int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")) > 1
                and type(notebook).__name__ == "IPyNbFile" and getattr(notebook, "kernel", 0) is None)
    if not starting:
        return (yield)
    with open(os.path.join(tempfile.gettempdir(), "winit-edu-kernel-start.lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)   # released when the file closes
        return (yield)
