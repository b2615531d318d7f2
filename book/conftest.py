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
and CI re-runs every notebook with one thread under a second BLAS code path to prove it.
"""
import os

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def pytest_configure(config):
    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))  # set in each xdist worker
    if workers > 1:
        for name in THREAD_VARIABLES:
            os.environ.setdefault(name, "1")
