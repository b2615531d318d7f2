"""Re-execute the book's notebooks in place and store their outputs and widget state.

Usage (from the repository root, after `pip install -r requirements.txt`)::

    python scripts/execute_notebooks.py                     # every notebook in book/
    python scripts/execute_notebooks.py book/06_he.ipynb    # just one
    python scripts/execute_notebooks.py --jobs 1            # one at a time (default: one per core)

With several jobs, each kernel gets one BLAS thread (OPENBLAS_NUM_THREADS=1 and its
kin, unless you set them), as the README's pytest runs them (book/conftest.py): on
2 cores that is faster than two kernels with two threads each taking turns. The
outputs do not depend on it (README, "How outputs are stored and checked").

Run this after a deliberate change to a notebook or to `winit_edu`, review
the diff of the outputs, and commit the notebooks: the book renders these
stored outputs, and `pytest` (nbval) checks that re-execution reproduces them.
Widget state is stored so precomputed widgets work in the HTML book.

Every notebook is paired with a MyST Markdown text file, `book/md/NAME.md`
(jupytext), which holds the same cells without outputs and is what a review
reads. Before executing, the pair is synchronized (the newer file wins, as
`jupytext --sync` does), so you may edit either; after executing, both are
written.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import sys
import time

import nbformat
from jupytext.cli import jupytext as jupytext_cli
from nbclient import NotebookClient

ROOT = pathlib.Path(__file__).resolve().parent.parent
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def execute(path: pathlib.Path, timeout: int) -> float:
    if "formats" in nbformat.read(path, as_version=4).metadata.get("jupytext", {}):
        jupytext_cli(["--sync", "--quiet", str(path)])   # take edits made to the text file
    nb = nbformat.read(path, as_version=4)
    nb.metadata["kernelspec"] = KERNELSPEC
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        store_widget_state=True,
        record_timing=False,  # no per-cell timestamps: they would make every re-run a diff
        resources={"metadata": {"path": str(path.parent)}},
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    if not _has_widgets(nb):
        nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)  # timestamps stored by older runs
    nb.metadata.get("language_info", {}).pop("version", None)  # keep diffs free of the patch version
    nbformat.write(nb, path)
    if "formats" in nb.metadata.get("jupytext", {}):
        jupytext_cli(["--sync", "--quiet", str(path)])   # the text file, from the notebook just written
    return elapsed


def _has_widgets(nb) -> bool:
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {})
    return bool(state.get("state"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=pathlib.Path)
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 1,
                        help="notebooks executed at once, each kernel with one BLAS thread (default: one per core)")
    args = parser.parse_args(argv)
    if args.jobs < 1:
        parser.error(f"--jobs must be at least 1, got {args.jobs}")
    paths = [path.resolve() for path in args.notebooks or sorted((ROOT / "book").glob("*.ipynb"))]
    jobs = min(args.jobs, len(paths))
    if jobs > 1:  # the kernels inherit this process's environment
        for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            os.environ.setdefault(name, "1")
    start, total = time.perf_counter(), 0.0
    with concurrent.futures.ProcessPoolExecutor(jobs) as pool:
        futures = {pool.submit(execute, path, args.timeout): path for path in paths}
        for future in concurrent.futures.as_completed(futures):
            seconds = future.result()
            total += seconds
            print(f"{seconds:7.1f} s  {os.path.relpath(futures[future])}", flush=True)
    print(f"{total:7.1f} s  total; {time.perf_counter() - start:.1f} s wall, {jobs} at a time")
    return 0


if __name__ == "__main__":
    sys.exit(main())
