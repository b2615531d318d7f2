"""Chapter 13, orthogonal initialization and deep linear networks: every formula, checked by simulation.

Tolerances are stated in standard errors of the simulated mean (`within`, 5 SE unless said
otherwise), or as exact identities up to float64 rounding. The framework checks at the end skip
when PyTorch, JAX or Keras is not installed.
"""
import math
import os

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.special import digamma, polygamma

import winit_edu as wi


def within(samples, expected, n_se=5.0):
    samples = np.asarray(samples, dtype=float).ravel()
    se = samples.std(ddof=1) / math.sqrt(samples.size)
    assert abs(samples.mean() - expected) <= n_se * se, (samples.mean(), expected, se)


def product_log_singular_values(weights, sweeps=12):
    """The chapter's helper: log singular values, largest first, of W_1 W_2 ... W_L."""
    P = weights[0]
    for W in weights[1:]:
        P = P @ W
    V = np.swapaxes(np.linalg.svd(P)[2], -1, -2)
    sweep_of = [weights[::-1], [np.swapaxes(W, -1, -2) for W in weights]]
    for k in range(sweeps):
        log_r = 0.0
        for W in sweep_of[k % 2]:
            V, R = np.linalg.qr(W @ V)
            d = np.diagonal(R, axis1=-2, axis2=-1)
            V = V * np.sign(d)[..., None, :]
            log_r = log_r + np.log(np.abs(d))
    return log_r


def step_operator(weights):
    """The chapter's K: vec(dP) = -lr K vec(G) to first order, K = sum_l (A_l A_l^T) kron (B_l^T B_l)."""
    weights = [np.asarray(W, dtype=np.float64) for W in weights]
    prefix = [np.eye(weights[0].shape[0])]
    for W in weights[:-1]:
        prefix.append(prefix[-1] @ W)
    suffix = [np.eye(weights[-1].shape[1])]
    for W in weights[:0:-1]:
        suffix.append(W @ suffix[-1])
    return sum(np.kron(A @ A.T, B.T @ B) for A, B in zip(prefix, suffix[::-1]))


def lyapunov(n):
    """mu_i = (psi((n - i + 1)/2) - ln(n/2)) / 2, i = 1..n, for N(0, 1/n) entries."""
    return 0.5 * (digamma((n - np.arange(n)) / 2) - np.log(n / 2))


def whitened_task(n=16, k=4, samples=24, seed=0):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((samples, n))
    X = math.sqrt(samples) * np.linalg.qr(Z - Z.mean(axis=0))[0]
    M = (wi.orthogonal((n, k), rng=seed + 1) * np.geomspace(2.0, 0.5, k)) @ wi.orthogonal((k, k), rng=seed + 2).T
    return X, X @ M, M


def end_to_end(net):
    P = net.weights[0].astype(np.float64)
    for W in net.weights[1:]:
        P = P @ W
    return P


# --------------------------------------------------------------------------- Step 1: the variance view

@pytest.mark.parametrize("n", [3, 8, 32])
def test_orthogonal_entries_have_variance_one_over_n_in_every_draw(n):
    rng = np.random.default_rng(n)
    w = np.stack([wi.orthogonal((n, n), rng=rng) for _ in range(500)])
    np.testing.assert_allclose(n * np.mean(w**2, axis=(1, 2)), 1.0, rtol=1e-12)
    within(w.mean(axis=(1, 2)), 0.0)


@pytest.mark.parametrize("n", [2, 4, 16])
def test_orthogonal_entries_kurtosis_is_3n_over_n_plus_2(n):
    rng = np.random.default_rng(10 + n)
    w = np.stack([wi.orthogonal((n, n), rng=rng) for _ in range(4000)])
    within(n**2 * np.mean(w**4, axis=(1, 2)), 3 * n / (n + 2))


@pytest.mark.parametrize("shape", [(64, 16), (16, 64), (20, 20)])
def test_semi_orthogonal_variance_is_one_over_max_fan(shape):
    w = wi.orthogonal(shape, rng=1)
    assert np.mean(w**2) == pytest.approx(1 / max(shape), rel=1e-12)
    assert np.allclose(np.linalg.svd(w, compute_uv=False), 1.0)


def test_narrowing_layer_keeps_n_out_over_n_in_of_the_squared_norm():
    w = wi.orthogonal((64, 16), rng=2)
    x = np.random.default_rng(3).standard_normal((4000, 64))
    within(np.sum((x @ w) ** 2, axis=1) / np.sum(x**2, axis=1), 16 / 64)
    wide = wi.orthogonal((16, 64), rng=2)
    np.testing.assert_allclose(np.sum((x[:, :16] @ wide) ** 2, axis=1), np.sum(x[:, :16] ** 2, axis=1), rtol=1e-12)


# --------------------------------------------------------------------------- Step 2: the norm of one vector

def test_log_norm_factor_per_gaussian_layer():
    """log(|xW|^2/|x|^2) for W with N(0, 1/n) entries: mean psi(n/2) - ln(n/2), variance psi'(n/2); E[ratio] = 1."""
    n = 8
    rng = np.random.default_rng(4)
    x = rng.standard_normal(n)
    W = np.stack([wi.lecun_normal((n, n), rng=rng) for _ in range(20000)])
    log_r = np.log(np.sum((x @ W) ** 2, axis=-1) / np.sum(x**2))
    within(np.exp(log_r), 1.0)
    within(log_r, digamma(n / 2) - np.log(n / 2))
    within((log_r - log_r.mean()) ** 2, polygamma(1, n / 2))


def test_log_norm_is_a_random_walk_over_layers():
    """After L layers the mean of the log factor is L times the drift, the variance L times psi'(n/2)."""
    n, depth = 8, 12
    net = wi.MLP([n] * (depth + 1), activation="linear", weight_init="lecun_normal", seeds=range(1500))
    x = np.random.default_rng(5).standard_normal((1, n))
    log_r = np.log(np.sum(net.forward(x)[:, 0] ** 2, axis=-1) / np.sum(x**2))
    within(log_r, depth * (digamma(n / 2) - np.log(n / 2)))
    within((log_r - log_r.mean()) ** 2, depth * polygamma(1, n / 2))


# --------------------------------------------------------------------------- Step 3: the spectrum of the product

def test_bartlett_diagonal_of_r():
    """n r_ii^2 ~ chi2_(n-i+1) for R of a Gaussian matrix with N(0, 1/n) entries: E[log r_ii] = mu_i."""
    n = 6
    rng = np.random.default_rng(6)
    r = np.abs(np.diagonal(np.linalg.qr(rng.standard_normal((20000, n, n)) / math.sqrt(n))[1], axis1=1, axis2=2))
    for i in range(n):
        within(np.log(r[:, i]), lyapunov(n)[i])
        within(n * r[:, i] ** 2, n - i)          # E[chi2_k] = k


def test_product_log_singular_values_against_120_digit_arithmetic():
    mpmath = pytest.importorskip("mpmath")
    n, depth = 10, 30
    rng = np.random.default_rng(7)
    Ws = [rng.standard_normal((n, n)) / math.sqrt(n) for _ in range(depth)]
    mine = product_log_singular_values(Ws)
    with mpmath.workdps(120):
        P = mpmath.matrix(Ws[0].tolist())
        for W in Ws[1:]:
            P = P * mpmath.matrix(W.tolist())
        exact = sorted((float(mpmath.log(s)) for s in mpmath.svd_r(P, compute_uv=False)), reverse=True)
    assert exact[0] - exact[-1] > 40                         # a condition number beyond 1e17: float64 cannot form it
    np.testing.assert_allclose(mine, exact, atol=1e-9)
    assert np.all(np.diff(mine) <= 0)


def test_sum_of_log_singular_values_is_log_det_and_has_mean_L_sum_mu():
    n, depth = 8, 20
    rng = np.random.default_rng(8)
    Ws = [rng.standard_normal((400, n, n)) / math.sqrt(n) for _ in range(depth)]
    log_s = product_log_singular_values(Ws)
    logdet = sum(np.linalg.slogdet(W)[1] for W in Ws)
    np.testing.assert_allclose(log_s.sum(axis=1), logdet, rtol=1e-9)
    within(log_s.sum(axis=1), depth * lyapunov(n).sum())


def test_condition_number_lower_bound_and_growth_rate():
    """log(T_11 / T_nn) has mean exactly L (mu_1 - mu_n) and bounds log kappa from below; log kappa grows at that rate."""
    n, depth = 8, 40
    rng = np.random.default_rng(9)
    Ws = [rng.standard_normal((600, n, n)) / math.sqrt(n) for _ in range(depth)]
    Q = np.broadcast_to(np.eye(n), (600, n, n))
    log_t = 0.0
    for W in Ws[::-1]:                                       # P Q = W_1 (... (W_L Q)): one QR sweep from the identity
        Q, R = np.linalg.qr(W @ Q)
        log_t = log_t + np.log(np.abs(np.diagonal(R, axis1=1, axis2=2)))
    mu = lyapunov(n)
    bound = log_t[:, 0] - log_t[:, -1]
    within(bound, depth * (mu[0] - mu[-1]))
    log_kappa = {L: (lambda v: v[:, 0] - v[:, -1])(product_log_singular_values(Ws[:L])) for L in (10, 40)}
    assert np.all(log_kappa[40] >= bound - 1e-8)
    within((log_kappa[40] - log_kappa[10]) / 30, mu[0] - mu[-1])


def test_product_of_orthogonal_layers_is_an_isometry():
    net = wi.MLP([32] * 65, activation="linear", weight_init="orthogonal", seeds=range(4))
    s = np.linalg.svd(end_to_end(net), compute_uv=False)
    assert np.max(np.abs(s - 1)) < 1e-12


# --------------------------------------------------------------------------- Step 4: the end-to-end step

def test_loss_on_whitened_inputs_is_half_frobenius_error():
    X, Y, M = whitened_task()
    net = wi.MLP([16] * 5 + [4], activation="linear", weight_init="lecun_normal", seeds=[0, 1])
    loss = wi.evaluate(net, X, Y, loss="squared_error")[0]
    np.testing.assert_allclose(loss, 0.5 * np.sum((end_to_end(net) - M) ** 2, axis=(1, 2)), rtol=1e-10)


@pytest.mark.parametrize("init", ["orthogonal", "lecun_normal"])
def test_one_gradient_step_moves_the_product_by_minus_lr_K_of_G(init):
    X, Y, M = whitened_task()
    depth, lr = 6, 1e-7
    net = wi.MLP([16] * depth + [4], activation="linear", weight_init=init, seeds=[3])
    P0 = end_to_end(net)[0]
    K = step_operator([W[0] for W in net.weights])
    wi.train(net, X, Y, loss="squared_error", lr=lr, batch_size=len(X), epochs=1)
    predicted = (K @ (P0 - M).ravel()).reshape(P0.shape)
    dP = (end_to_end(net)[0] - P0) / -lr
    assert np.linalg.norm(dP - predicted) <= 1e-4 * np.linalg.norm(predicted)
    if init == "orthogonal":
        np.testing.assert_allclose(K, depth * np.eye(len(K)), atol=1e-10)


def test_gaussian_step_operator_is_L_times_identity_on_average():
    depth, n, k = 4, 6, 3
    Ks = [step_operator([wi.lecun_normal(s, rng=1000 * seed + l) for l, s in enumerate([(n, n)] * (depth - 1) + [(n, k)])])
          for seed in range(3000)]
    Ks = np.stack(Ks)
    within(np.trace(Ks, axis1=1, axis2=2) / (n * k), depth)
    within(Ks[:, 0, 1], 0.0)


@pytest.mark.parametrize("depth", [2, 8, 32])
@pytest.mark.parametrize("u0", [1.0, 0.05])
def test_saxe_mode_equation(depth, u0):
    """A width-1 linear chain with equal starting weights follows du/dstep = c u^(2-2/L) (s - u) with lr = c / L."""
    s, c, u_end = 2.0, 0.1, 0.99 * 2.0
    net = wi.MLP([1] * (depth + 1), activation="linear", seeds=[0],
                 weight_init=wi.get_initializer("constant", value=u0 ** (1 / depth)))
    X1 = np.array([[1.0], [-1.0]])
    hist = wi.train(net, X1, s * X1, loss="squared_error", lr=c / depth, batch_size=2, epochs=200)
    u = s - np.sqrt(2 * hist.step_loss[:, 0])
    measured = int(np.argmax(u >= u_end))
    predicted = quad(lambda v: 1.0 / (c * v ** (2 - 2 / depth) * (s - v)), u0, u_end)[0]
    assert u[-1] >= u_end
    assert abs(measured - predicted) <= 0.05 * predicted + 2


def test_orthogonal_start_trains_in_a_depth_independent_number_of_steps():
    """The experiment's claim in small: with lr = 0.4 / L the orthogonal start needs about as many steps at depth 8
    as at depth 32; the Gaussian start needs many more at depth 16 than at depth 4."""
    X, Y, M = whitened_task(n=16, k=4, samples=24)
    zero = 0.5 * np.sum(np.linalg.svd(M, compute_uv=False) ** 2)

    def steps(init, depth, epochs):
        net = wi.MLP([16] * depth + [4], activation="linear", weight_init=init, seeds=range(3), dtype="float32")
        hist = wi.train(net, X, Y, loss="squared_error", lr=0.4 / depth, batch_size=len(X), epochs=epochs,
                        on_divergence="stop")
        below = hist.step_loss / zero < 0.01
        return np.where(below.any(axis=0), below.argmax(axis=0), np.inf)

    orth8, orth32 = steps("orthogonal", 8, 80), steps("orthogonal", 32, 80)
    assert np.isfinite(orth8).all() and np.isfinite(orth32).all()
    assert np.median(orth32) < 1.5 * np.median(orth8)
    gauss4, gauss16 = steps("lecun_normal", 4, 150), steps("lecun_normal", 16, 150)
    assert np.median(gauss16) > 3 * np.median(gauss4)        # inf (not reached within 150 steps) counts as larger


# --------------------------------------------------------------------------- the sign correction

@pytest.mark.parametrize("n", [5, 8])
def test_qr_without_sign_fix_is_not_haar(n):
    rng = np.random.default_rng(n)
    Q = np.linalg.qr(rng.standard_normal((3000, n, n)))[0]
    np.testing.assert_allclose(np.linalg.det(Q), (-1) ** (n - 1))       # n - 1 Householder reflections
    assert np.all(Q[:, 0, 0] < 0)
    trace = np.trace(Q, axis1=1, axis2=2)
    assert abs(trace.mean()) > 20 * trace.std(ddof=1) / math.sqrt(trace.size)
    within(n * Q[:, 0, 0] ** 2, 1.0)                                      # the variance cannot see it


@pytest.mark.parametrize("n", [5, 8])
def test_sign_fixed_qr_passes_haar_statistics(n):
    rng = np.random.default_rng(20 + n)
    Q = np.stack([wi.orthogonal((n, n), rng=rng) for _ in range(3000)])
    within(np.linalg.det(Q) > 0, 0.5)
    within(Q[:, 0, 0] > 0, 0.5)
    within(np.trace(Q, axis1=1, axis2=2), 0.0)


def test_random_column_signs_also_give_haar_statistics():
    n = 8
    rng = np.random.default_rng(30)
    Q = np.linalg.qr(rng.standard_normal((3000, n, n)))[0] * rng.choice([-1.0, 1.0], size=(3000, 1, n))
    within(np.linalg.det(Q) > 0, 0.5)
    within(Q[:, 0, 0] > 0, 0.5)
    within(np.trace(Q, axis1=1, axis2=2), 0.0)


# --------------------------------------------------------------------------- layouts and the frameworks

def test_convolution_layouts_make_each_filter_a_unit_vector():
    torch_like = wi.orthogonal((16, 8, 3, 3), rng=0, layout="out_in").reshape(16, -1)
    keras_like = wi.orthogonal((3, 3, 8, 16), rng=0).reshape(-1, 16).T
    for F in (torch_like, keras_like):
        np.testing.assert_allclose(F @ F.T, np.eye(16), atol=1e-12)
    wrong = wi.orthogonal((16, 8, 3, 3), rng=0).reshape(16, -1)
    assert not np.allclose(np.linalg.norm(wrong, axis=1), 1.0)


@pytest.fixture(scope="module")
def torch():
    return pytest.importorskip("torch")


def test_torch_orthogonal_rows_columns_and_convolutions(torch):
    torch.manual_seed(0)
    for shape in [(3, 5), (5, 3), (16, 8, 3, 3)]:
        w = torch.empty(shape, dtype=torch.float64)
        torch.nn.init.orthogonal_(w)
        F = w.reshape(shape[0], -1).numpy()            # one row per output unit
        small = min(F.shape)
        G = F @ F.T if F.shape[0] == small else F.T @ F
        np.testing.assert_allclose(G, np.eye(small), atol=1e-12)
    w = torch.empty((64, 64), dtype=torch.float64)
    assert np.allclose(np.linalg.svd(torch.nn.init.orthogonal_(w, gain=2.0).numpy(), compute_uv=False), 2.0)


def test_torch_qr_has_lapack_signs_and_orthogonal_fixes_them(torch):
    torch.manual_seed(1)
    q = torch.linalg.qr(torch.randn(2000, 8, 8, dtype=torch.float64))[0].numpy()
    assert np.all(q[:, 0, 0] < 0) and np.allclose(np.linalg.det(q), -1.0)
    fixed = np.stack([torch.nn.init.orthogonal_(torch.empty(8, 8, dtype=torch.float64)).numpy() for _ in range(800)])
    within(fixed[:, 0, 0] > 0, 0.5)
    within(np.linalg.det(fixed) > 0, 0.5)


@pytest.fixture(scope="module")
def jax():
    jax = pytest.importorskip("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


def test_jax_orthogonal_column_axis(jax):
    import jax.numpy as jnp

    init = jax.nn.initializers.orthogonal()
    w = np.asarray(init(jax.random.key(0), (3, 3, 8, 16), jnp.float64)).reshape(-1, 16)   # (kh*kw*in, out)
    np.testing.assert_allclose(w.T @ w, np.eye(16), atol=1e-12)
    w = np.asarray(jax.nn.initializers.orthogonal(column_axis=0)(jax.random.key(1), (16, 8, 3, 3), jnp.float64))
    F = w.reshape(16, -1)                                                                  # PyTorch layout
    np.testing.assert_allclose(F @ F.T, np.eye(16), atol=1e-12)
    q = np.asarray(jnp.linalg.qr(jax.random.normal(jax.random.key(2), (2000, 8, 8)))[0])
    assert np.all(q[:, 0, 0] < 0)                                                          # LAPACK signs


def test_keras_orthogonal_flattens_leading_axes():
    os.environ.setdefault("KERAS_BACKEND", "jax")
    keras = pytest.importorskip("keras")
    w = np.asarray(keras.initializers.Orthogonal(seed=0)((3, 3, 8, 16)), dtype=np.float64).reshape(-1, 16)
    np.testing.assert_allclose(w.T @ w, np.eye(16), atol=1e-5)                            # float32
    w = np.asarray(keras.initializers.Orthogonal(gain=3.0, seed=1)((10, 40)), dtype=np.float64)  # wide: rows
    np.testing.assert_allclose(w @ w.T, 9 * np.eye(10), atol=1e-4)
