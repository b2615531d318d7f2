"""Chapter 20 (GPT-2's initialization recipe for a pre-norm transformer): the formulas of the chapter, checked
by simulation; among them, from its section on other recipes, that the last branch's gradient falls like
1/sqrt(q_K) in a pre-norm stack (and not with GPT-2's scaling), that q.k is a sum of size sqrt(d) for independent
and d for correlated vectors (muP's 1/d attention), that a branch multiplier equals the same factor in the initial
scale at step 0 but not under Adam unless the rates get it too, and DeepNet's constants; and, for the post-norm
placement (ResidualMLP(norm="post_layer")), that its stream has mean square 1 and every branch the share v / (1 + v),
that one block multiplies the squared gradient by 1 / (1 + v) along the skip connection and by (1 + b) / (1 + v) in
all (eq. (eq-ch20-post-grad), in numpy written out), that b >= v - sigma_2^2 n_h (E f)^2 (the Gaussian Poincare
inequality: b >= v for the GELU, the ReLU and odd activations, b < v for the sigmoid), that its last block's
gradient does not depend on depth, and the pre-norm profile of eq. (eq-ch20-pre-grad).

The helpers repeat the notebook's (book/20_transformer_recipe.ipynb): a pre-norm ResidualMLP with
GPT-2's tanh-GELU, the residual stream written out, and eq. (eq-ch20-increment) summed over the branches.
"""
import math

import numpy as np
import pytest

import winit_edu as wi

SIGMA, EPS = 0.02, 1e-5
C_GELU = math.sqrt(2 / math.pi)
TOKENS = np.eye(64)[:32]            # 32 different one-hot tokens: the embedding is a lookup, E[x_0^2] = sigma^2


def gelu_tanh(z):
    return 0.5 * z * (1.0 + np.tanh(C_GELU * (z + 0.044715 * z * z * z)))


def gelu_tanh_df(z, h):
    t = np.tanh(C_GELU * (z + 0.044715 * z * z * z))
    return 0.5 * (1.0 + t) + 0.5 * z * (1.0 - t * t) * C_GELU * (1.0 + 3 * 0.044715 * z * z)


GELU = wi.Activation("gelu_tanh", gelu_tanh, gelu_tanh_df)


def stack(width, K, seeds, s_in=SIGMA, s_last=None, dtype="float64", norm="layer", **kwargs):
    normal = wi.get_initializer("normal", std=s_in)
    last = normal if s_last is None else wi.get_initializer("normal", std=s_last)
    return wi.ResidualMLP(64, width, K, 64, activation=GELU, norm=norm, weight_init=normal, last_init=last,
                          seeds=seeds, dtype=dtype, **kwargs)


def layer_norm(x, eps=EPS):
    c = x - x.mean(axis=-1, keepdims=True)
    return c / np.sqrt((c * c).mean(axis=-1, keepdims=True) + eps)


def residual_stream(net, X, eps=EPS):
    W, b, m = net.weights, net.biases, net.branch_depth
    x = np.asarray(X, dtype=W[0].dtype) @ W[0] + b[0][:, None, :]
    stream = [x]
    for k in range(net.n_blocks):
        a = layer_norm(x, eps)
        for j in range(m):
            l = 1 + k * m + j
            z = a @ W[l] + b[l][:, None, :]
            a = net.activation.f(z) if j < m - 1 else z
        x = x + net.branch_scale[:, None, None] * a
        stream.append(x)
    return stream


def mean_square(stream):
    return np.stack([np.mean(x.astype(np.float64) ** 2, axis=(1, 2)) for x in stream], axis=1)


def G(q):
    return wi.theory.gaussian_expectation(lambda z: gelu_tanh(z) ** 2, q)


def D(q):
    return wi.theory.gaussian_expectation(lambda z: gelu_tanh_df(z, None) ** 2, q)


def predicted_stream(K, width, hidden, s_in, s_last, q0, eps=EPS):
    q = [q0]
    for _ in range(K):
        r = q[-1] / (q[-1] + eps)
        q.append(q[-1] + hidden * s_last**2 * G(width * s_in**2 * r))
    return np.array(q)


def expected_log_sum_exp(s2, V, n, seed):
    z = math.sqrt(s2) * np.random.default_rng(seed).standard_normal((n, V))
    top = z.max(axis=1, keepdims=True)
    lse = top[:, 0] + np.log(np.exp(z - top).sum(axis=1))
    return lse.mean(), lse.std(ddof=1) / math.sqrt(n)


def test_gelu_tanh_derivative_and_closeness_to_the_exact_gelu():
    z = np.linspace(-6, 6, 241)
    numeric = (gelu_tanh(z + 1e-6) - gelu_tanh(z - 1e-6)) / 2e-6
    np.testing.assert_allclose(gelu_tanh_df(z, gelu_tanh(z)), numeric, atol=1e-8)
    exact = wi.get_activation("gelu")
    assert np.abs(gelu_tanh(z) - exact.f(z)).max() < 1e-3      # the tanh form is GPT-2's approximation


def test_the_helper_is_the_networks_forward_pass():
    net = stack(32, 3, [0, 1], s_last=SIGMA / math.sqrt(3))
    logits = layer_norm(residual_stream(net, TOKENS)[-1]) @ net.weights[-1] + net.biases[-1][:, None, :]
    np.testing.assert_allclose(logits, net.forward(TOKENS), rtol=1e-10, atol=1e-13)


@pytest.mark.parametrize("scaled", [False, True])
def test_every_branch_adds_the_predicted_energy(scaled):
    # eq. (eq-ch20-increment): E[q_(k+1) - q_k | x_k] = s_last^2 n_h G(d s_in^2 r_k), exact for Gaussian weights.
    # Width 128, 6 branches, 8 seeds: 48 increments; their mean ratio to the prediction is 1 within 4 SE and 4%.
    K, width = 6, 128
    s_last = SIGMA / math.sqrt(K) if scaled else SIGMA
    net = stack(width, K, range(8), s_last=s_last, dtype="float32")
    q = mean_square(residual_stream(net, TOKENS))
    pred = predicted_stream(K, width, width, SIGMA, s_last, SIGMA**2)
    ratio = (np.diff(q, axis=1) / np.diff(pred)).ravel()
    se = ratio.std(ddof=1) / math.sqrt(ratio.size)
    assert abs(ratio.mean() - 1) < 4 * se and abs(ratio.mean() - 1) < 0.04


def test_the_hidden_width_enters_the_increment_linearly():
    # one branch with n_h = 4d hidden units (GPT-2's MLP), inputs normalized by LayerNorm: E|F|^2 / d = s2^2 n_h G(d s1^2)
    rng = np.random.default_rng(0)
    d, n_h, s1, s2 = 96, 384, 0.05, 0.03
    u = layer_norm(rng.standard_normal((64, d)), eps=0.0)       # |u|^2 = d exactly
    samples = []
    for _ in range(40):
        W1, W2 = s1 * rng.standard_normal((d, n_h)), s2 * rng.standard_normal((n_h, d))
        samples.append(np.mean((gelu_tanh(u @ W1) @ W2) ** 2))
    samples = np.array(samples)
    pred = s2**2 * n_h * G(d * s1**2)
    assert abs(samples.mean() / pred - 1) < 4 * samples.std(ddof=1) / math.sqrt(samples.size) / pred


def test_scaled_stream_does_not_grow_with_depth_and_unscaled_grows_linearly():
    # eq. (eq-ch20-stream) and (eq-ch20-scaled): q_K = q_0 + K v without the scaling, q_0 + v with it.
    width, seeds = 128, range(4)
    final = {}
    for K in (4, 32):
        scaled = stack(width, K, seeds, s_last=SIGMA / math.sqrt(K), dtype="float32")
        final[K] = mean_square(residual_stream(scaled, TOKENS))[:, -1].mean()
        pred = predicted_stream(K, width, width, SIGMA, SIGMA / math.sqrt(K), SIGMA**2)[-1]
        assert abs(final[K] / pred - 1) < 0.06
    assert abs(final[32] / final[4] - 1) < 0.08                  # independent of depth
    unscaled = stack(width, 32, seeds, dtype="float32")
    q = mean_square(residual_stream(unscaled, TOKENS)).mean(axis=0)
    pred = predicted_stream(32, width, width, SIGMA, SIGMA, SIGMA**2)
    assert np.all(np.abs(q[1:] / pred[1:] - 1) < 0.06)
    assert abs((q[32] - q[0]) / (q[4] - q[0]) - 8) < 0.5          # linear in K


def test_the_scaling_is_a_louder_embedding():
    # eq. (eq-ch20-louder): with eps = 0 the scaled stack and the unscaled stack with a sqrt(K) times louder
    # embedding have the same logits (LayerNorm is scale invariant); with eps = 1e-5 they differ by < 2%.
    K, width, seeds = 12, 64, [0, 1]
    scaled = stack(width, K, seeds, s_last=SIGMA / math.sqrt(K))
    louder = stack(width, K, seeds)
    louder.weights[0] *= math.sqrt(K)

    def logits(net, eps):
        return layer_norm(residual_stream(net, TOKENS, eps)[-1], eps) @ net.weights[-1]

    a, b = logits(scaled, 0.0), logits(louder, 0.0)
    assert np.abs(a - b).max() < 1e-10 * np.abs(a).max()
    a, b = logits(scaled, EPS), logits(louder, EPS)
    assert np.abs(a - b).max() < 0.02 * np.abs(a).max()


@pytest.mark.parametrize("s2, V", [(0.0256, 10), (0.1, 10), (0.3072, 10), (0.3072, 1000)])
def test_loss_at_step0_expansion(s2, V):
    # eq. (eq-ch20-loss0): E[ln sum exp z] = ln V + s^2/2 (1 - 1/V) + O(s^4), checked against Monte Carlo
    mc, se = expected_log_sum_exp(s2, V, n=200_000 // V * 10, seed=1)
    approx = math.log(V) + s2 / 2 * (1 - 1 / V)
    assert abs(mc - approx) < 4 * se + 0.003


def test_loss_at_step0_large_vocabulary():
    # for V large, ln V + s^2 / 2 holds beyond small s^2 (law of large numbers) ...
    mc, se = expected_log_sum_exp(0.64, 50257, n=30, seed=2)
    assert abs(mc - (math.log(50257) + 0.32)) < 4 * se + 0.003
    # ... but only for s^2 << ln V: at s^2 = 2 ln V it is far off
    V = 1000
    mc, se = expected_log_sum_exp(2 * math.log(V), V, n=2000, seed=3)
    assert mc < 2 * math.log(V) - 0.5


def test_loss_at_step0_of_a_small_read_out():
    # a width-64 stack whose read-out is N(0, 0.02^2): logits of variance 64 * 0.02^2, loss at step 0 from eq. (eq-ch20-loss0)
    X = np.random.default_rng(3).standard_normal((400, 64))
    y = np.random.default_rng(4).integers(0, 10, 400)
    net = wi.ResidualMLP(64, 64, 4, 10, activation=GELU, norm="layer", seeds=range(10),
                         weight_init=wi.get_initializer("normal", std=SIGMA))
    loss0 = wi.evaluate(net, X, y)[0]
    pred = math.log(10) + 64 * SIGMA**2 / 2 * (1 - 1 / 10)
    assert abs(loss0.mean() - pred) < 4 * loss0.std(ddof=1) / math.sqrt(loss0.size) + 0.002


def test_layer_norm_gain_is_a_first_layer_scale():
    # gain gamma (bias 0) in front of the branch = its first matrix times gamma; the increment uses G(gamma^2 d s1^2)
    rng = np.random.default_rng(5)
    u, W1, W2 = rng.standard_normal((8, 16)), rng.standard_normal((16, 16)), rng.standard_normal((16, 16))
    np.testing.assert_allclose(gelu_tanh((2.0 * u) @ W1) @ W2, gelu_tanh(u @ (2.0 * W1)) @ W2, rtol=1e-12)
    K, width, gamma = 12, 128, 2.0
    net = wi.ResidualMLP(64, width, K, 64, activation=GELU, norm="layer", seeds=range(4), dtype="float32",
                         weight_init=wi.get_initializer("normal", std=SIGMA),
                         branch_init=wi.get_initializer("normal", std=gamma * SIGMA),
                         last_init=wi.get_initializer("normal", std=SIGMA / math.sqrt(K)))
    q = mean_square(residual_stream(net, TOKENS))[:, -1].mean()
    pred = predicted_stream(K, width, width, gamma * SIGMA, SIGMA / math.sqrt(K), SIGMA**2)[-1]
    assert abs(q / pred - 1) < 0.06


def test_wang_init_adds_energy_that_falls_like_one_over_depth():
    # GPT-NeoX: small_init sqrt(2/(5d)) inside, wang_init 2/(L sqrt d) on the outputs; one branch per layer:
    # the L branches add 4 G(2/5) / L
    width, added = 128, {}
    for L in (4, 16):
        net = stack(width, L, range(4), s_in=math.sqrt(2 / (5 * width)), s_last=2 / (L * math.sqrt(width)),
                    dtype="float32")
        q = mean_square(residual_stream(net, TOKENS))
        added[L] = (q[:, -1] - q[:, 0]).mean()
        assert abs(added[L] / (4 * G(0.4) / L) - 1) < 0.1
    assert abs(added[4] / added[16] - 4) < 0.4


@pytest.mark.parametrize("scaled", [False, True])
def test_last_branch_gradient_falls_like_one_over_the_streams_rms(scaled):
    labels = np.arange(len(TOKENS)) % 64
    grad, q = {}, {}
    for K in (4, 32):
        net = stack(96, K, [5, 6, 7], s_last=SIGMA / math.sqrt(K) if scaled else None)
        tr = net.trace(TOKENS, labels=labels)
        grad[K] = np.sqrt(np.sum(tr.grad_weights[-2] ** 2, axis=(1, 2))).mean()
        q[K] = mean_square(tr.stream)[:, -1].mean()
    assert abs(grad[32] / grad[4] / math.sqrt(q[4] / q[32]) - 1) < 0.1
    if scaled:
        assert abs(grad[32] / grad[4] - 1) < 0.1             # GPT-2's scaling: independent of depth
    else:
        assert grad[32] / grad[4] < 0.5                        # unscaled: falls like 1/sqrt(K)


def test_dot_products_of_independent_and_correlated_vectors():
    rng = np.random.default_rng(11)
    d_heads, rms = [32, 128, 512], {"independent": [], "correlated": []}
    for d in d_heads:
        q, e = rng.standard_normal((2, 3000, d))
        for kind, k in (("independent", e), ("correlated", (q + e) / math.sqrt(2))):
            rms[kind].append(np.sqrt(np.mean(np.sum(q * k, axis=1) ** 2)))
    slope = {kind: np.polyfit(np.log(d_heads), np.log(v), 1)[0] for kind, v in rms.items()}
    assert abs(slope["independent"] - 0.5) < 0.03 and abs(slope["correlated"] - 1.0) < 0.05


def test_branch_multiplier_equals_initial_scale_at_step0_and_under_adam_only_with_scaled_rates():
    import copy
    K, alpha = 6, 1 / math.sqrt(6)
    X = np.random.default_rng(8).standard_normal((48, 64))
    y = np.random.default_rng(9).integers(0, 64, 48)
    with_mult = stack(48, K, [1, 2], branch_scale=alpha)
    with_init = stack(48, K, [1, 2])
    last = [2 + 2 * k for k in range(K)]
    for i, (a, b) in enumerate(zip(with_mult.weights, with_init.weights)):
        b[...] = a * alpha if i in last else a
    assert np.allclose(with_mult.forward(X), with_init.forward(X), rtol=0, atol=1e-12)

    def trained(net, lr):
        c = copy.deepcopy(net)
        wi.train(c, X, y, lr=lr, optimizer="adam", batch_size=len(X), epochs=4)
        return c.forward(X)

    ref = trained(with_mult, 5e-3)
    rates = [5e-3] * len(with_init.parameters())
    for i in last:
        rates[2 * i] = rates[2 * i + 1] = 5e-3 * alpha
    scale = np.abs(ref).max()
    assert np.abs(trained(with_init, 5e-3) - ref).max() / scale > 0.05
    assert np.abs(trained(with_init, rates) - ref).max() / scale < 1e-3


@pytest.mark.parametrize("N", [6, 24, 100, 1000])
def test_deepnet_constants(N):
    alpha, beta = (2 * N) ** 0.25, (8 * N) ** -0.25
    assert math.isclose(alpha**4, 2 * N) and math.isclose(beta**-4, 8 * N)
    assert math.isclose(beta**2, 0.5 / math.sqrt(2 * N))      # half of GPT-2's (2N)^(-1/2)


# ---- post-norm: x_(k+1) = LN(x_k + F_k(x_k)) ----

def layer_norm_backward(g, x_hat, inv_std):
    return inv_std * (g - g.mean(axis=-1, keepdims=True) - x_hat * (g * x_hat).mean(axis=-1, keepdims=True))


@pytest.mark.parametrize("f, df, chi, G_f, D_f", [
    (gelu_tanh, gelu_tanh_df, 1.0, G, D),                                   # LeCun's weights: v = 0.43, b = 0.46
    (gelu_tanh, gelu_tanh_df, 0.1, G, D),                                   # quiet branches
    (lambda z: np.maximum(z, 0), lambda z, h: (z > 0) * 1.0, 2.0,           # ReLU, He's weights: b = v = 2
     lambda q: q / 2, lambda q: 0.5),
])
def test_one_post_norm_block_divides_the_gradient_and_its_branch_gives_it_back(f, df, chi, G_f, D_f):
    # eq. (eq-ch20-post-grad), written out in numpy for one block of width d = n_h = 256: x of mean square 1 (the
    # output of a LayerNorm), s = x + f(x W1) W2, y = LN(s); an upstream gradient g that has no mean and no component
    # along y (as one that comes out of the next block's LayerNorm). |dL/ds|^2 / |g|^2 = 1 / (1 + v) and
    # |dL/dx|^2 / |g|^2 = (1 + b) / (1 + v), v = chi^2 G(chi), b = chi^2 D(chi) (n_h s2^2 = d s1^2 = chi);
    # 40 draws of 16 tokens, within 4 standard errors plus 4 v / d (the terms of order v / d the formula drops).
    rng = np.random.default_rng(12)
    d, v, b = 256, chi * G_f(chi), chi * chi * D_f(chi)
    skip, whole = [], []
    for _ in range(40):
        x = layer_norm(rng.standard_normal((16, d)), eps=0.0)
        W1, W2 = rng.standard_normal((2, d, d)) * math.sqrt(chi / d)
        z = x @ W1
        s = x + f(z) @ W2
        inv = 1 / np.sqrt(s.var(axis=-1, keepdims=True) + EPS)
        y = (s - s.mean(axis=-1, keepdims=True)) * inv
        g = rng.standard_normal((16, d))
        g = g - g.mean(axis=-1, keepdims=True)
        g = g - y * (g * y).sum(axis=-1, keepdims=True) / (y * y).sum(axis=-1, keepdims=True)
        g_s = layer_norm_backward(g, y, inv)
        g_x = g_s + ((g_s @ W2.T) * df(z, f(z))) @ W1.T
        skip.append(np.sum(g_s**2) / np.sum(g**2))
        whole.append(np.sum(g_x**2) / np.sum(g**2))
    for m, pred in ((np.array(skip), 1 / (1 + v)), (np.array(whole), (1 + b) / (1 + v))):
        assert abs(m.mean() - pred) < 4 * m.std(ddof=1) / math.sqrt(m.size) + 4 * v / d, (m.mean(), pred)


def test_relu_and_linear_branches_give_back_what_the_layer_norm_takes():
    # b = v: G(q) = q / 2 and D(q) = 1 / 2 for the ReLU, G(q) = q and D(q) = 1 for the identity
    relu = lambda z: np.maximum(z, 0)                                           # noqa: E731
    for q in (0.5, 1.0, 2.0):
        assert math.isclose(wi.theory.gaussian_expectation(lambda z: relu(z) ** 2, q), q / 2, rel_tol=1e-6)
        assert math.isclose(wi.theory.gaussian_expectation(lambda z: (z > 0) * 1.0, q), 0.5, rel_tol=1e-3)
        assert math.isclose(wi.theory.gaussian_expectation(lambda z: z * z, q), q, rel_tol=1e-6)


def test_post_norm_stream_has_mean_square_one_and_every_branch_the_same_share():
    width, K = 128, 16
    net = wi.ResidualMLP(64, width, K, 64, activation=GELU, norm="post_layer", weight_init="lecun_normal",
                         seeds=range(4), dtype="float32")
    t = net.trace(TOKENS)
    q = mean_square(t.stream)
    assert np.all(np.abs(q[:, 1:] - 1) < 1e-3) and np.all(q[:, 0] < 0.05)     # the embedding: 1/64
    share = np.mean([np.sum(t.branch_outputs[k].astype(float) ** 2) /
                     np.sum((t.stream[k] + t.branch_outputs[k]).astype(float) ** 2) for k in range(1, K)])
    v = G(1.0)
    assert abs(share / (v / (1 + v)) - 1) < 0.1


def test_post_norm_last_gradient_does_not_depend_on_depth():
    # post-norm: the read-out reads x_K of mean square 1 at any K; pre-norm, the same weights: sqrt((1 + v) / q_K)
    # times larger (its read-out's LayerNorm divides by the stream's rms)
    labels = np.arange(len(TOKENS)) % 64
    width, seeds, v = 96, [5, 6, 7, 8], 96 * SIGMA**2 * G(96 * SIGMA**2)
    last = {}
    for K in (4, 32):
        post = stack(width, K, seeds, norm="post_layer", dtype="float32").trace(TOKENS, labels=labels)
        pre = stack(width, K, seeds, dtype="float32").trace(TOKENS, labels=labels)
        last[K] = np.sqrt(np.sum(post.grad_weights[-2].astype(float) ** 2, axis=(1, 2))).mean()
        pre_last = np.sqrt(np.sum(pre.grad_weights[-2].astype(float) ** 2, axis=(1, 2))).mean()
        q_K = mean_square(pre.stream)[:, -1].mean()
        assert abs(pre_last / last[K] / math.sqrt((1 + v) / (q_K + EPS)) - 1) < 0.1
    assert abs(last[32] / last[4] - 1) < 0.1


def test_pre_norm_gradient_grows_toward_the_input_as_eq_pre_grad_says():
    # eq. (eq-ch20-pre-grad): |g_k|^2 = |g_(k+1)|^2 (1 + b_k / (q_k + eps)), b_k = s^2 d * d s^2 D(d s^2 r_k): r_k
    # enters only the slopes' argument (the LayerNorm in front of the branch contributes the 1 / (q_k + eps))
    labels = np.arange(len(TOKENS)) % 64
    width, K = 128, 24
    t = stack(width, K, range(4), dtype="float32").trace(TOKENS, labels=labels)
    g2 = np.array([np.sum(g.astype(float) ** 2, axis=(1, 2)) for g in t.grad_stream])    # (K, seeds)
    q = predicted_stream(K, width, width, SIGMA, SIGMA, SIGMA**2)
    r = q / (q + EPS)
    chi = width * SIGMA**2
    factor = np.array([1 + chi * chi * D(chi * r_k) / (q_k + EPS) for q_k, r_k in zip(q, r)])
    measured = np.sqrt(g2[1] / g2[K - 1]).mean()
    predicted = math.sqrt(np.prod(factor[1:K - 1]))
    assert predicted > 2 and abs(measured / predicted - 1) < 0.1


@pytest.mark.parametrize("name", ["gelu_tanh", "relu", "tanh", "sigmoid", "silu", "selu"])
def test_branch_gives_back_at_least_v_minus_the_activations_mean(name):
    # Gaussian Poincare inequality: Var f(sqrt(q) xi) <= q E f'(sqrt(q) xi)^2, so with n_h s_2^2 = 1 and d s_1^2 = q,
    # b = q D(q) >= v - (E f)^2, v = G(q); b >= v for the GELU, the ReLU and odd activations (tanh), b < v for the
    # sigmoid (its mean 1/2), whose post-norm stack therefore loses its gradient geometrically toward the input
    act = GELU if name == "gelu_tanh" else wi.get_activation(name)
    E = wi.theory.gaussian_expectation
    eps_fd = 1e-5
    slope = lambda z: (act.f(z + eps_fd) - act.f(z - eps_fd)) / (2 * eps_fd)     # noqa: E731
    for q in (0.1, 0.5, 1.0, 2.0, 4.0):
        v, b, mean = E(lambda z: act.f(z) ** 2, q), q * E(lambda z: slope(z) ** 2, q), E(act.f, q)
        assert b >= v - mean**2 - 1e-6, (name, q, v, b, mean)
        if name in ("gelu_tanh", "relu", "tanh"):
            assert b >= v - 1e-6, (name, q, v, b)
        if name == "sigmoid":
            assert b < v
    if name == "sigmoid":                                       # the chapter's numbers: v = 0.293, b = 0.045 at q = 1
        v, b = E(lambda z: act.f(z) ** 2, 1.0), E(lambda z: slope(z) ** 2, 1.0)
        assert abs(v - 0.2934) < 1e-3 and abs(b - 0.0448) < 1e-3 and abs((1 + b) / (1 + v) - 0.808) < 1e-3
