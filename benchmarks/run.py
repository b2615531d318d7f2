"""The winit-edu benchmark suite: one table of the speeds readers and CI feel.

Usage, after the README's set-up (PyTorch is optional, for the comparison column)::

    pip install -r tests/frameworks-requirements.txt   # optional peers: PyTorch and JAX (CPU builds)
    python benchmarks/run.py           # full run, a few minutes on 2 cores
    python benchmarks/run.py --quick   # seconds: checks that every benchmark still runs

Sections (``--only`` picks some): ``training`` (winit_edu vs PyTorch eager and
JAX jit, steps/s with equal threads, at 1 thread and at all cores, each in a fresh
process: see ``benchmarks/peers.py``), ``seeds`` (ensemble vs sequential seeds, and
against ``jax.vmap``), ``sweep`` (400 differently initialized members with their own
learning rates as one run), ``flops`` (achieved rate vs numpy's
matmul), ``book`` (cold notebook execution, incremental build, peak memory),
``widgets`` (one update per slider move).

Method: every figure is the median over repeated runs; where two things are
compared they run in the same process, interleaved (A, B, A, B, ...), and
the ratio is the median of the per-round ratios, because these machines are
noisy. Nothing here is a test: pytest asserts no timing.

The process runs with the settings a reader gets by default: nothing here
tunes the memory allocator or the BLAS threads. (To try glibc's allocator
thresholds without code, set them in the environment, e.g.
``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=33554432:glibc.malloc.trim_threshold=268435456``;
the numbers in benchmarks/README.md are without it.)
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import pathlib
import platform
import statistics
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import winit_edu as wi  # noqa: E402
from winit_edu.losses import softmax_cross_entropy  # noqa: E402

#: The book's workloads: (name, layer sizes, batch size, activation).
WORKLOADS = [
    ("(a) 2-D toy: 2-5x32-2, batch 64", [2] + [32] * 5 + [2], 64, "tanh"),
    ("(b) digits: 64-3x256-10, batch 128", [64] + [256] * 3 + [10], 128, "relu"),
    ("(c) deep: 64-30x64-10, batch 128", [64] + [64] * 30 + [10], 128, "relu"),
]

ROWS = []  # (section, item, value, goal, note)


def row(section, item, value, goal="", note=""):
    ROWS.append((section, item, value, goal, note))
    print(f"  {item}: {value}  {goal}  {note}", flush=True)


def median_time(fn, repeats, inner=1):
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(inner):
            fn()
        times.append((time.perf_counter() - t) / inner)
    return statistics.median(times)


def interleaved(fn_a, fn_b, rounds, inner):
    """Median per-call time of a and b, and the median of the per-round ratios t_b / t_a."""
    ta, tb = [], []
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(inner):
            fn_a()
        ta.append((time.perf_counter() - t) / inner)
        t = time.perf_counter()
        for _ in range(inner):
            fn_b()
        tb.append((time.perf_counter() - t) / inner)
    return statistics.median(ta), statistics.median(tb), statistics.median([b / a for a, b in zip(ta, tb)])


# ---------------------------------------------------------------- winit_edu step


from peers import winit_step as winit_step_fn  # noqa: E402  (one definition of the step, shared)


def bench_training(quick):
    print("== training speed with equal threads: winit_edu vs PyTorch eager and JAX jit (float32, SGD + momentum)")
    import json

    cores = os.cpu_count() or 1
    workloads = WORKLOADS[:1] if quick else WORKLOADS  # --quick checks that the code runs, at one thread
    for threads in ([1] if quick else sorted({1, cores})):
        env = dict(os.environ, OPENBLAS_NUM_THREADS=str(threads), OMP_NUM_THREADS=str(threads),
                   MKL_NUM_THREADS=str(threads))
        if threads == 1:
            env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
        done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "peers.py"), str(threads),
                               "quick" if quick else "full", json.dumps(workloads)],
                              check=True, capture_output=True, text=True, env=env, cwd=ROOT / "benchmarks")
        report = json.loads(done.stdout.split("PEERS", 1)[1])
        for peer, present in report["peers"].items():
            if not present:
                row("training", f"{peer}, {threads} thread(s)", "skipped", "",
                    f"{peer} not installed (benchmark-only: pip install -r tests/frameworks-requirements.txt)")
        for res in report["results"]:
            sps = res["steps_per_s"]
            parts = [f"{n} {v:,.0f}" for n, v in sps.items()]
            ratios = ", ".join(f"{r:.2f}x {n}" for n, r in res["ratio"].items())
            row("training", f"{res['workload']}, {threads} thread(s)", "steps/s: " + ", ".join(parts)
                + (f"; winit_edu step = {ratios}" if ratios else ""), ">= 1.5x PyTorch eager",
                f"threads seen: {report['seen']}")
            if "seeds8_per_seed_steps_per_s" in res:
                s8 = res["seeds8_per_seed_steps_per_s"]
                row("seeds", f"{res['workload']}, S=8, {threads} thread(s), against jax.vmap",
                    "per-seed steps/s: " + ", ".join(f"{n} {v:,.0f}" for n, v in s8.items()))


def bench_sweep(quick):
    print("== a sweep as one run: 400 members of a digits net (10 inits x 4 rates x 10 seeds), float32")
    X, y = wi.load_digits()
    X = ((X - X.mean(0)) / (X.std(0) + 1e-8)).astype("float32")
    inits = ["lecun_normal", "lecun_uniform", "glorot_normal", "glorot_uniform", "he_normal", "he_uniform",
             "orthogonal", "sparse", wi.get_initializer("normal", std=0.01), wi.get_initializer("uniform", low=-0.05, high=0.05)]
    rates = [0.01, 0.03, 0.1, 0.3]
    seeds = range(10)
    steps = 20 if quick else 500
    t = time.perf_counter()
    net = wi.MLP.concatenate([wi.MLP([64, 32, 10], activation="relu", weight_init=i, seeds=seeds, dtype="float32")
                              for i in inits for _ in rates])
    member_lr = np.repeat(np.tile(rates, len(inits)), len(seeds))
    built = time.perf_counter() - t
    t = time.perf_counter()
    epochs = max(1, steps // (len(X) // 64))
    hist = wi.train(net, X, y, member_lr=member_lr, batch_size=64, epochs=epochs, on_divergence="stop")
    took = time.perf_counter() - t
    done = hist.step_loss.shape[0]
    row("sweep", f"{net.n_members} members of 64-32-10 (relu), {done} steps of batch 64",
        f"{took:.1f} s ({net.n_members * done / took:,.0f} member-steps/s), built in {built:.2f} s",
        "fits a notebook (< 15 s)")


def bench_seeds(quick):
    print("== several seeds at once vs one seed at a time (winit_edu, float32)")
    S = 8
    rounds, inner = (3, 3) if quick else (9, 20)
    for name, sizes, batch, act in WORKLOADS:
        ensemble = winit_step_fn(sizes, batch, act, seeds=range(S))
        singles = [winit_step_fn(sizes, batch, act, seeds=(s,)) for s in range(S)]

        def sequential():
            for f in singles:
                f()

        ensemble()
        sequential()
        t_ens, t_seq, ratio = interleaved(ensemble, sequential, rounds, inner)
        row("seeds", f"{name}, S={S}", f"per-seed steps/s: together {S / t_ens:,.0f}, one at a time {S / t_seq:,.0f}, "
            f"ratio {ratio:.2f}x", ">= 3x small, >= 1x large")


def bench_flops(quick):
    print("== achieved arithmetic rate, the matmul-bound workloads (b) and (c), at one thread and at all cores")
    from threadpoolctl import threadpool_info, threadpool_limits

    rounds, inner = (3, 5) if quick else (15, 50)
    cores = os.cpu_count() or 1
    for name, sizes, batch, act in (WORKLOADS[1:2] if quick else WORKLOADS[1:]):
        pairs = list(zip(sizes[:-1], sizes[1:]))
        # forward x@W, backward grad_W = x.T@g and grad_x = g@W.T (not for the first layer)
        flops = sum(2 * batch * a * b for a, b in pairs) * 3 - 2 * batch * sizes[0] * sizes[1]
        rng = np.random.default_rng(0)
        mats = []
        for i, (a, b) in enumerate(pairs):
            x = rng.standard_normal((batch, a)).astype(np.float32)
            w = rng.standard_normal((a, b)).astype(np.float32)
            g = rng.standard_normal((batch, b)).astype(np.float32)
            mats.append((x, w, g, i > 0))

        def matmuls_only():
            for x, w, g, back in mats:
                x @ w
                x.T @ g
                if back:
                    g @ w.T

        for threads in ([1] if quick else sorted({1, cores})):
            with threadpool_limits(limits=threads, user_api="blas"):
                seen = sorted({b["num_threads"] for b in threadpool_info() if b["user_api"] == "blas"})
                step = winit_step_fn(sizes, batch, act)
                t_step, t_mm, _ = interleaved(step, matmuls_only, rounds, inner)
            time.sleep(0.5)  # OpenBLAS's idle threads spin for a while after the last product (see the issue)
            rate, peak = flops / t_step / 1e9, flops / t_mm / 1e9
            row("flops", f"{name}, {threads} thread(s)", f"step {rate:.1f} GFLOP/s, numpy matmul alone {peak:.1f} "
                f"GFLOP/s, {100 * rate / peak:.0f}% of it", ">= 75%",
                f"{flops / 1e6:.1f} MFLOP per step; BLAS threads seen: {seen}")


# ---------------------------------------------------------------- the book


_RUN_ONE = r"""
import pathlib, resource, sys, time
import nbformat
from nbclient import NotebookClient
path = pathlib.Path(sys.argv[1])
nb = nbformat.read(path, as_version=4)
t = time.perf_counter()
NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


# --quick runs the book and widget sections on this small notebook instead of the book's (about
# 20 s each): one live widget and one scrubber, enough to check that the code of both sections runs.
_QUICK_NOTEBOOK = [
    "import matplotlib.pyplot as plt\nimport winit_edu as wi",
    "def draw(k, kind='line'):\n    fig, ax = plt.subplots(figsize=(2, 2))\n"
    "    ax.plot([0, 1], [0, k], '-' if kind == 'line' else 'o')\n    return fig",
    "wi.explore.live(draw, k=[0.5, 1.0, 2.0], kind=['line', 'dots'])",
    "wi.explore.scrubber(draw, 'k', [0.5, 1.0, 2.0], alt=lambda k: f'a line of slope {k}')",
]


_TEMPORARY = []


def _notebooks(quick):
    """The book's notebooks; with ``quick``, the small notebook above, written to a temporary folder."""
    if not quick:
        return sorted((ROOT / "book").glob("*.ipynb"))
    import tempfile

    import nbformat

    folder = tempfile.TemporaryDirectory(prefix="winit-bench-")  # removed when the script ends
    _TEMPORARY.append(folder)
    path = pathlib.Path(folder.name) / "quick.ipynb"
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in _QUICK_NOTEBOOK])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return [path]


def bench_book(quick):
    print("== the book: cold execution of every notebook, incremental build, peak memory")
    notebooks = _notebooks(quick)
    total, peaks = 0.0, []
    for path in notebooks:
        # a fresh process per notebook: a cold start, and the kernel's own peak memory
        done = subprocess.run([sys.executable, "-c", _RUN_ONE, str(path)], check=True, capture_output=True, text=True)
        seconds, peak_kib = done.stdout.split()[-2:]
        total += float(seconds)
        peaks.append(int(peak_kib) / 1024)
        row("book", f"cold execution {path.name}", f"{float(seconds):.1f} s, peak memory {peaks[-1]:.0f} MiB", "< 30 s")
    row("book", f"cold execution, all {len(notebooks)} notebooks one after the other", f"{total:.1f} s", "< 300 s")
    row("book", "peak memory of the whole-book execution (largest kernel, max RSS)", f"{max(peaks):.0f} MiB",
        "", "notebooks run one after the other, each in its own kernel")
    if quick:
        return
    # The whole book as the README's pytest runs it (and scripts/execute_notebooks.py): one notebook per
    # core at a time, each kernel with one BLAS thread (book/conftest.py).
    cores = os.cpu_count() or 1
    one_thread = {name: os.environ.get(name, "1") for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                                               "MKL_NUM_THREADS")}
    t = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(cores) as pool:
        list(pool.map(lambda p: subprocess.run([sys.executable, "-c", _RUN_ONE, str(p)], check=True,
                                               capture_output=True, env={**os.environ, **one_thread}), notebooks))
    row("book", f"cold execution, all {len(notebooks)} notebooks, {cores} at a time (one per core)",
        f"{time.perf_counter() - t:.1f} s", "< 300 s",
        f"wall time, each kernel with OPENBLAS_NUM_THREADS={one_thread['OPENBLAS_NUM_THREADS']}; "
        "as pytest-xdist runs them")
    out = pathlib.Path("/tmp/winit-bench-build")
    jb = [str(pathlib.Path(sys.executable).parent / "jupyter-book"), "build", str(ROOT), "--path-output", str(out)]
    subprocess.run(jb, check=True, capture_output=True)  # make sure the build is warm
    t = time.perf_counter()
    subprocess.run(jb, check=True, capture_output=True)
    row("book", "incremental jupyter-book build, nothing changed", f"{time.perf_counter() - t:.1f} s")


# Run first in every notebook: record each widget the chapter builds, by wrapping
# winit_edu.explore's two widget functions (the package itself keeps no registry).
_RECORD_WIDGETS = r'''
import winit_edu.explore as _explore
_BENCH_WIDGETS = []
_live, _scrubber = _explore.live, _explore.scrubber

def _recording_live(draw, dpi=80, **controls):
    box = _live(draw, dpi=dpi, **controls)
    shown = box.children[0].children  # the controls, in the order of the keywords
    _BENCH_WIDGETS.append(("live", draw, {n: list(getattr(c, "options", [c.value])) for n, c in zip(controls, shown)}, {}))
    return box

def _recording_scrubber(draw, name, values, dpi=80, alt=None, **fixed):
    _BENCH_WIDGETS.append(("scrubber", draw, {name: list(values)}, dict(fixed)))
    return _scrubber(draw, name, values, dpi=dpi, alt=alt, **fixed)

_explore.live, _explore.scrubber = _recording_live, _recording_scrubber
'''

# Run last: time one redraw per slider move of every recorded widget.
_TIME_WIDGETS = r'''
import statistics, time, json
from winit_edu.explore import figure_png
_explore.live, _explore.scrubber = _live, _scrubber
_res = []
for _kind, _draw, _controls, _fixed in _BENCH_WIDGETS:
    _base = {k: v[0] for k, v in _controls.items()}
    _times = []
    for _name, _values in _controls.items():
        for _v in _values[1:__MOVES__]:
            _t = time.perf_counter()
            figure_png(_draw(**{**_fixed, **_base, _name: _v}))
            _times.append(time.perf_counter() - _t)
    _res.append((_kind, ",".join(_controls), statistics.median(_times) if _times else float("nan")))
print("BENCH" + json.dumps(_res))
'''


def bench_widgets(quick):
    print("== interactivity: one update per slider move (figure drawing included)")
    import json

    import nbformat
    from nbclient import NotebookClient

    timing = _TIME_WIDGETS.replace("__MOVES__", "2" if quick else "4")
    notebooks = _notebooks(quick)
    for path in notebooks:
        nb = nbformat.read(path, as_version=4)
        nb.cells.insert(0, nbformat.v4.new_code_cell(_RECORD_WIDGETS))
        nb.cells.append(nbformat.v4.new_code_cell(timing))
        NotebookClient(nb, timeout=900, kernel_name="python3",
                       resources={"metadata": {"path": str(path.parent)}}).execute()
        text = "".join(o.get("text", "") for o in nb.cells[-1].outputs)
        results = json.loads(text.split("BENCH", 1)[1])
        for kind, controls, seconds in results:
            if kind == "scrubber":
                goal, note = "", ("precomputed: a slider move only switches images in the browser; "
                                  "the time is the kernel's cost to draw one frame at build time")
            else:
                goal = "< 150 ms, or < 1 s after an immediate progress line"
                note = ("met: under 150 ms" if seconds < 0.15 else
                        "met: the status line shows at once, the picture follows within 1 s" if seconds < 1.0 else
                        "missed: over 1 s")
            row("widgets", f"{path.stem}: {kind} over {controls}", f"{1000 * seconds:.0f} ms per update", goal, note)


def versions():
    import matplotlib

    parts = [f"Python {platform.python_version()}", f"numpy {np.__version__}", f"matplotlib {matplotlib.__version__}"]
    try:
        import torch

        parts.append(f"torch {torch.__version__}")
    except ImportError:
        parts.append("torch absent")
    try:
        import jax

        parts.append(f"jax {jax.__version__}")
    except ImportError:
        parts.append("jax absent")
    return ", ".join(parts)


SECTIONS = {"training": bench_training, "seeds": bench_seeds, "sweep": bench_sweep, "flops": bench_flops,
            "book": bench_book, "widgets": bench_widgets}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="few repeats, a small notebook instead of the book's: checks the suite runs")
    parser.add_argument("--only", default=",".join(SECTIONS), help="comma-separated sections")
    args = parser.parse_args(argv)
    chosen = [s.strip() for s in args.only.split(",") if s.strip()]
    unknown = set(chosen) - set(SECTIONS)
    if unknown:
        parser.error(f"--only takes {sorted(SECTIONS)}, got {sorted(unknown)}")
    print(f"# winit-edu benchmarks, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, {versions()}"
          + (" (quick mode)" if args.quick else ""))
    for name in chosen:
        SECTIONS[name](args.quick)
    print()
    print("| section | item | measured | goal | note |")
    print("| --- | --- | --- | --- | --- |")
    for section, item, value, goal, note in ROWS:
        print(f"| {section} | {item} | {value} | {goal} | {note} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
