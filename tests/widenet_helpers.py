"""Wide random tanh networks against the mean-field maps, shared by test_meanfield.py and test_ch12_edge_of_chaos.py.

A width-``n`` network is simulated layer by layer (``MLP.trace``) and every step
compared with the length map and the correlation map of ``winit_edu.meanfield``
in finite-width standard errors: a mean of ``n`` squares has a relative standard
deviation ``sqrt(2 / n)``, a correlation of ``n`` pairs about ``(1 - c**2) / sqrt(n)``.
"""
import math

import numpy as np

import winit_edu as wi
from winit_edu import meanfield as mf


def tanh_net(sizes, sigma_w2, seeds, sigma_b2, dtype="float64"):
    """A tanh MLP with weights of variance ``sigma_w2 / fan_in`` and biases of variance ``sigma_b2``."""
    bias = wi.get_initializer("normal", std=math.sqrt(sigma_b2)) if sigma_b2 > 0 else "zeros"
    return wi.MLP(sizes, activation="tanh", bias_init=bias, seeds=seeds, dtype=dtype,
                  weight_init=wi.get_initializer("variance_scaling", scale=sigma_w2, mode="fan_in"))


def map_z_scores(z, sigma_w2, sigma_b2, pairs):
    """Every layer-to-layer step of one member against the two maps, in finite-width standard errors.

    ``z`` has shape (layers, inputs, n): the pre-activations of every input at every layer.
    Returns the z-scores of the mean squares, (layers - 1, inputs), and of the correlations of the
    input ``pairs`` (a list of index pairs), (layers - 1, len(pairs)).
    """
    n = z.shape[-1]
    q = np.mean(z**2, axis=-1)
    zq = (q[1:] - np.vectorize(lambda v: mf.length_map(v, "tanh", sigma_w2, sigma_b2))(q[:-1])) / (q[1:] * math.sqrt(2 / n))
    u = z / np.linalg.norm(z, axis=-1, keepdims=True)
    c = np.stack([np.sum(u[:, i] * u[:, j], -1) for i, j in pairs], axis=1)       # (layers, pairs)
    qp = np.stack([(q[:, i] + q[:, j]) / 2 for i, j in pairs], axis=1)
    cp = np.vectorize(lambda cc, v: mf.correlation_map(min(cc, 1.0), v, "tanh", sigma_w2, sigma_b2))(c[:-1], qp[:-1])
    zc = (c[1:] - cp) / ((1 - cp**2) / math.sqrt(n))
    return zq, zc


def run_at_the_fixed_point(sigma_w2, sigma_b2, n, depth, seeds, pairs, rng_seed):
    """Start width-``n`` tanh networks at the fixed point and measure where they stay.

    The inputs are ``pairs`` pairs whose first layer's pre-activations have the mean square
    ``q*`` and the correlation ``c*`` (0.9 in the ordered phase, where ``c* = 1``); the
    inputs come from ``default_rng(rng_seed)``, the output gradient from ``rng_seed + 1``.

    Returns
    -------
    q_layers : (seeds, depth) array
        Mean square of the pre-activations of every layer, per seed.
    c_last : (seeds,) array
        Mean correlation of the pairs at the last layer.
    grad_factor : (seeds,) array
        Mean ratio of the mean square gradient of one layer to the next (chi_1 in theory).
    targets : dict
        ``q`` (q*), ``c`` (the correlation map iterated ``depth`` times from the inputs) and
        ``chi_1``, the predictions, and ``q_end``, the length map iterated from the inputs.
    """
    q, c = mf.q_star("tanh", sigma_w2, sigma_b2), mf.c_star("tanh", sigma_w2, sigma_b2)
    c1 = c if c < 0.99 else 0.9
    q0 = (q - sigma_b2) / sigma_w2
    c0 = (c1 * q - sigma_b2) / (sigma_w2 * q0)
    rng = np.random.default_rng(rng_seed)
    X = []
    for _ in range(pairs):
        b, _ = np.linalg.qr(rng.normal(size=(n, 2)))
        X += [b[:, 0], c0 * b[:, 0] + math.sqrt(1 - c0 * c0) * b[:, 1]]
    X = np.array(X) * math.sqrt(q0 * n)
    G = np.random.default_rng(rng_seed + 1).normal(size=(1, len(X), n))
    pred_q, pred_c = mf.propagate_correlation(depth, "tanh", sigma_w2, c0, q0=q0, sigma_b2=sigma_b2)
    q_layers, c_last, grad_factor = [], [], []
    for seed in seeds:
        tr = tanh_net([n] * (depth + 1), sigma_w2, [seed], sigma_b2).trace(X, grad_output=G)
        z = np.stack(tr.pre_activations)[:, 0]
        g = np.mean(np.stack(tr.grad_pre_activations)[:, 0] ** 2, axis=(-1, -2))
        q_layers.append(np.mean(z ** 2, axis=(-1, -2)))
        u = z[-1] / np.linalg.norm(z[-1], axis=-1, keepdims=True)
        c_last.append(np.mean(np.sum(u[::2] * u[1::2], -1)))
        grad_factor.append(np.mean(g[:-1] / g[1:]))
    targets = dict(q=q, c=pred_c[-1], chi_1=mf.chi_1("tanh", sigma_w2, sigma_b2), q_end=pred_q[-1])
    return np.array(q_layers), np.array(c_last), np.array(grad_factor), targets
