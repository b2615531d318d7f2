"""The training-speed comparison with equal threads: winit_edu against PyTorch and JAX.

Run by ``benchmarks/run.py`` once per thread count, each time in a fresh process whose
environment fixes the thread pools *before* any library starts them:

* numpy's BLAS: ``OPENBLAS_NUM_THREADS`` (and ``threadpoolctl`` checks it took effect);
* PyTorch: ``torch.set_num_threads`` (checked with ``torch.get_num_threads()``);
* JAX/XLA: ``XLA_FLAGS=--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1`` for
  one thread (XLA's CPU client has no other reliable switch; with more threads it is left as is).

Inside the process the libraries take turns in alternating order (A B C, C B A, ...), with a
pause between blocks so that one library's idle BLAS threads (OpenBLAS keeps spinning for about
0.1 s after its last call) do not slow the next. Each library's figure is the median over the
rounds; the ratio is the median of the per-round ratios. Prints one JSON line for run.py.

PyTorch and JAX are benchmark-only peers: a missing one is reported as skipped.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

import numpy as np

PAUSE = 0.25  # seconds between blocks of different libraries


def winit_step(sizes, batch, activation, seeds=(0,), dtype="float32", lr=0.01, momentum=0.9):
    """One SGD+momentum step of winit_edu's MLP on a fixed random batch (what wi.train does per step).

    Like ``wi.train``, the update works on all parameters at once: the network keeps them in one
    array, and its gradients in another (``MLP._flat_parameters``, ``MLP._flat_gradients``).
    """
    import winit_edu as wi
    from winit_edu.losses import softmax_cross_entropy

    net = wi.MLP(sizes, activation=activation, weight_init="he_normal", seeds=list(seeds), dtype=dtype)
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, sizes[0])).astype(dtype)
    y = rng.integers(0, sizes[-1], size=batch)
    flat = net._flat_parameters()
    flat_velocity = np.zeros_like(flat)

    def step():
        out = net.forward(X)
        _, grad = softmax_cross_entropy(out, y)
        net.backward(grad)
        g, v, p = net._flat_gradients(), flat_velocity, flat
        v *= momentum  # the update of wi.train, in place: v <- momentum v - lr g; p <- p + v
        g *= lr
        v -= g
        p += v

    return step


def winit_train(sizes, batch, activation, epochs=10):
    """The public ``wi.train`` loop: 10 batches of data, ``epochs`` epochs.

    Shuffling, indexing, divergence checks and its two full-data evaluations (at the start and
    the end, 2 x 10 forward passes of a batch, roughly 7% of the time) are included.
    """
    import winit_edu as wi

    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch * 10, sizes[0])).astype("float32")
    y = rng.integers(0, sizes[-1], size=batch * 10)
    net = wi.MLP(sizes, activation=activation, weight_init="he_normal", seeds=0, dtype="float32")

    def run():
        wi.train(net, X, y, lr=0.01, momentum=0.9, batch_size=batch, epochs=epochs, eval_every=10 ** 9)

    return run, 10 * epochs


def torch_step(sizes, batch, activation, lr=0.01, momentum=0.9, compiled=False):
    import torch

    torch.manual_seed(0)
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(torch.nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(torch.nn.Tanh() if activation == "tanh" else torch.nn.ReLU())
    model = torch.nn.Sequential(*layers)
    opt = torch.optim.SGD(model.parameters(), lr=lr, momentum=momentum)
    loss_fn = torch.nn.CrossEntropyLoss()
    X = torch.randn(batch, sizes[0])
    y = torch.randint(0, sizes[-1], (batch,))
    forward = torch.compile(model) if compiled else model

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(forward(X), y)
        loss.backward()
        opt.step()

    return step


def jax_step(sizes, batch, activation, n_seeds=1, lr=0.01, momentum=0.9):
    """``jax.jit`` of the whole step (forward, backward, update); ``jax.vmap`` over seeds if n_seeds > 1."""
    import jax
    import jax.numpy as jnp

    act = jnp.tanh if activation == "tanh" else jax.nn.relu

    def init(key):
        params = []
        for a, b in zip(sizes[:-1], sizes[1:]):
            key, sub = jax.random.split(key)
            params.append((jax.random.normal(sub, (a, b), jnp.float32) * jnp.sqrt(2.0 / a), jnp.zeros(b, jnp.float32)))
        return params

    def loss(params, X, y):
        h = X
        for W, b in params[:-1]:
            h = act(h @ W + b)
        logits = h @ params[-1][0] + params[-1][1]
        return -jnp.mean(jax.nn.log_softmax(logits)[jnp.arange(X.shape[0]), y])

    def update(params, velocity, X, y):
        grads = jax.grad(loss)(params, X, y)
        velocity = jax.tree_util.tree_map(lambda v, g: momentum * v - lr * g, velocity, grads)
        params = jax.tree_util.tree_map(lambda p, v: p + v, params, velocity)
        return params, velocity

    keys = jax.random.split(jax.random.PRNGKey(0), n_seeds)
    if n_seeds == 1:
        params, fn = init(keys[0]), jax.jit(update, donate_argnums=(0, 1))
    else:
        params, fn = jax.vmap(init)(keys), jax.jit(jax.vmap(update, in_axes=(0, 0, None, None)), donate_argnums=(0, 1))
    velocity = jax.tree_util.tree_map(jnp.zeros_like, params)
    rng = np.random.default_rng(0)
    X = jnp.asarray(rng.standard_normal((batch, sizes[0])), jnp.float32)
    y = jnp.asarray(rng.integers(0, sizes[-1], size=batch))
    state = [params, velocity]

    def step():
        state[0], state[1] = fn(state[0], state[1], X, y)

    def sync():
        jax.block_until_ready(state[0])

    return step, sync


def alternating(fns, rounds, inner):
    """Seconds per step of each of ``fns`` (name -> (call, sync, steps per call)), per round.

    The libraries take turns in alternating order, a pause before each block; a block is
    ``inner`` steps (a call that runs several steps counts as that many).
    """
    names = list(fns)
    times = {n: [] for n in names}
    for r in range(rounds):
        for n in (names if r % 2 == 0 else names[::-1]):
            call, sync, per_call = fns[n]
            calls = max(1, inner // per_call)
            time.sleep(PAUSE)
            t = time.perf_counter()
            for _ in range(calls):
                call()
            sync()
            times[n].append((time.perf_counter() - t) / (calls * per_call))
    return times


def thread_report(threads):
    """The thread counts that actually took effect, per library (a mismatch is an error, not a footnote)."""
    from threadpoolctl import threadpool_info

    seen = {"numpy BLAS": sorted({p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas"})}
    if seen["numpy BLAS"] != [threads]:
        raise SystemExit(f"numpy's BLAS runs {seen['numpy BLAS']} threads, not {threads}")
    try:
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(1)
        if torch.get_num_threads() != threads:
            raise SystemExit(f"PyTorch runs {torch.get_num_threads()} threads, not {threads}")
        seen["torch"] = torch.get_num_threads()
    except ImportError:
        pass
    return seen


def main():
    threads, quick = int(sys.argv[1]), sys.argv[2] == "quick"
    workloads = json.loads(sys.argv[3])
    import winit_edu  # noqa: F401  (numpy's BLAS pool starts here, with the environment's thread count)

    seen = thread_report(threads)
    peers = {}
    try:
        import torch  # noqa: F401

        peers["torch"] = True
    except ImportError:
        peers["torch"] = False
    try:
        import jax  # noqa: F401

        peers["jax"] = True
    except ImportError:
        peers["jax"] = False
    rounds, inner = (3, 10) if quick else (15, 100)
    results = []
    nothing = lambda: None  # noqa: E731  (numpy and PyTorch eager return finished results)
    for name, sizes, batch, act in workloads:
        fns = {"winit_edu": (winit_step(sizes, batch, act), nothing, 1)}
        run, steps = winit_train(sizes, batch, act, epochs=1 if quick else 10)
        fns["winit_edu train()"] = (run, nothing, steps)
        if peers["torch"]:
            fns["PyTorch eager"] = (torch_step(sizes, batch, act), nothing, 1)
        if peers["jax"]:
            step, sync = jax_step(sizes, batch, act)
            fns["JAX jit"] = (step, sync, 1)
        for call, sync, _ in fns.values():  # warm up (and compile)
            for _ in range(3):
                call()
            sync()
        times = alternating(fns, rounds, inner)
        med = {n: statistics.median(t) for n, t in times.items()}
        ratios = {n: statistics.median([b / a for a, b in zip(times["winit_edu"], times[n])])
                  for n in fns if n not in ("winit_edu", "winit_edu train()")}
        entry = {"workload": name, "steps_per_s": {n: 1 / t for n, t in med.items()}, "ratio": ratios}
        if peers["jax"]:  # several seeds at once: the ensemble axis against jax.vmap, S = 8
            ens = (winit_step(sizes, batch, act, seeds=range(8)), nothing, 1)
            step, sync = jax_step(sizes, batch, act, n_seeds=8)
            for call, sync_ in (ens[:2], (step, sync)):
                for _ in range(3):
                    call()
                sync_()
            t8 = alternating({"winit_edu S=8": ens, "JAX vmap S=8": (step, sync, 1)}, rounds, inner // 2)
            entry["seeds8_per_seed_steps_per_s"] = {n: 8 / statistics.median(t) for n, t in t8.items()}
        results.append(entry)
    print("PEERS" + json.dumps({"threads": threads, "seen": seen, "peers": peers, "results": results}))


if __name__ == "__main__":
    main()
