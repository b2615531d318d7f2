"""Checks of chapter 10, "Ten methods, measured honestly".

The chapter reads ten initialization names as twelve precise initializers
(READINGS below, the same as in the notebook). These tests check each reading
against its stated interpretation (mean, second moment, sign, range,
structure), the layer formula of the chapter's derivation (what a non-zero
weight mean does), the binomial noise of a test accuracy, and fast mini
versions of the chapter's claims about zero initialization and deep networks.

Tolerances. A sample mean of N draws has standard error sd / sqrt(N), which we
estimate from the draws and allow N_SE = 6 of (a correct formula fails with
probability below 1e-8; a wrong scale, such as a forgotten square or a
variance read as a standard deviation, is far outside).
"""
import math

import numpy as np
import pytest

import winit_edu as wi

N_SE = 6.0
WIDTH = 32
HALF = 2 / math.pi


def positive(shape, rng=None):
    """The chapter's "positive": |w| with w ~ N(0, 2/(fan_in + fan_out))."""
    fan_in, fan_out = wi.compute_fans(shape)
    return np.abs(wi.normal(shape, rng=rng, std=math.sqrt(2.0 / (fan_in + fan_out))))


# label: (initializer, (fan_in, fan_out) -> exact (E[w], E[w^2])), as in the notebook
READINGS = {
    "zero": ("zeros", lambda i, o: (0.0, 0.0)),
    "constant 0.1": (wi.get_initializer("constant", value=0.1), lambda i, o: (0.1, 0.01)),
    "N(0, 0.01²)": (wi.get_initializer("normal", std=0.01), lambda i, o: (0.0, 1e-4)),
    "U[0, 1)": (wi.get_initializer("uniform", low=0.0, high=1.0), lambda i, o: (0.5, 1 / 3)),
    "N(0, 1)": (wi.get_initializer("normal", std=1.0), lambda i, o: (0.0, 1.0)),
    "N(0, 0.05²)": (wi.get_initializer("normal", std=0.05), lambda i, o: (0.0, 0.05**2)),
    "U(±0.05)": (wi.get_initializer("uniform", low=-0.05, high=0.05), lambda i, o: (0.0, 0.05**2 / 3)),
    "Xavier (Glorot uniform)": ("glorot_uniform", lambda i, o: (0.0, 2 / (i + o))),
    "He (normal)": ("he_normal", lambda i, o: (0.0, 2 / i)),
    "orthogonal": ("orthogonal", lambda i, o: (0.0, 1 / max(i, o))),
    "sparse": ("sparse", lambda i, o: (0.0, min(15, i) / i)),
    "positive (half-normal)": (positive, lambda i, o: (math.sqrt(HALF * 2 / (i + o)), 2 / (i + o))),
}
SHAPES = [(64, WIDTH), (WIDTH, WIDTH), (2, WIDTH), (WIDTH, 10)]


def close(values, expected, label=""):
    values = np.asarray(values, dtype=float).ravel()
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - expected) <= N_SE * se + 1e-12, (label, values.mean(), expected, se)


def draws(init, shape, n_values=60_000):
    k = min(300, max(1, n_values // (shape[0] * shape[1])))     # at most 300 draws: sparse loops over units
    init = wi.get_initializer(init)
    return np.stack([init(shape, rng=100 + j) for j in range(k)])


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("label", list(READINGS))
def test_reading_has_the_stated_mean_and_second_moment(label, shape):
    init, moments = READINGS[label]
    mean, m2 = moments(*shape)
    w = draws(init, shape)
    if label in ("zero", "constant 0.1"):
        assert np.all(w == mean)
        return
    close(w, mean, label)
    if label == "orthogonal":
        assert np.mean(w**2) == pytest.approx(m2, rel=1e-12)    # exact in every draw
    else:
        close(w**2, m2, label)


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_signs_ranges_and_structure(shape):
    n_in, n_out = shape
    u01 = draws(READINGS["U[0, 1)"][0], shape)
    assert u01.min() >= 0 and u01.max() < 1
    u05 = draws(READINGS["U(±0.05)"][0], shape)
    assert np.abs(u05).max() <= 0.05 and u05.min() < 0 < u05.max()
    glorot = draws("glorot_uniform", shape)
    assert np.abs(glorot).max() <= math.sqrt(6 / (n_in + n_out))
    pos = draws(positive, shape)
    assert pos.min() >= 0
    close(pos, math.sqrt(HALF * 2 / (n_in + n_out)), "half-normal mean = sigma sqrt(2/pi)")
    q = wi.orthogonal(shape, rng=0)
    gram = q.T @ q if n_in >= n_out else q @ q.T
    np.testing.assert_allclose(gram, np.eye(min(shape)), atol=1e-12)   # all singular values 1
    sp = draws("sparse", shape)
    assert np.all((sp != 0).sum(axis=1) == min(15, n_in))               # 15 incoming weights per unit
    close(sp[sp != 0] ** 2, 1.0, "sparse non-zero weights are N(0, 1)")


def test_scales_quoted_in_the_chapter():
    """sigma_w^2 = fan_in Var(w) at the three layers of the chapter, exact."""
    def sw2(label, i, o):
        mean, m2 = READINGS[label][1](i, o)
        return i * (m2 - mean**2)

    assert sw2("N(0, 1)", 64, 32) == 64 and sw2("N(0, 1)", 2, 32) == 2
    assert sw2("N(0, 0.01²)", 32, 32) == pytest.approx(0.0032)
    assert sw2("Xavier (Glorot uniform)", 2, 32) == pytest.approx(4 / 34)
    assert sw2("He (normal)", 2, 32) / sw2("Xavier (Glorot uniform)", 2, 32) == pytest.approx(17)
    assert sw2("orthogonal", 2, 32) == pytest.approx(1 / 16)
    assert sw2("sparse", 32, 32) == pytest.approx(15)
    assert sw2("positive (half-normal)", 32, 32) == pytest.approx(1 - 2 / math.pi)


@pytest.fixture(scope="module")
def relu_inputs():
    X = wi.load_dataset("digits", rng=0).X_train[:256]
    return np.maximum(X @ wi.he_normal((64, WIDTH), rng=0), 0.0)


@pytest.mark.parametrize("label", ["positive (half-normal)", "U[0, 1)", "He (normal)", "sparse"])
def test_layer_formula_of_the_derivation(relu_inputs, label):
    """E[z^2] = n v q + mu^2 E[s^2] and E[z_j z_k] = mu^2 E[s^2] for weights of mean mu, variance v."""
    h, n = relu_inputs, WIDTH
    init, moments = READINGS[label]
    mu, m2 = moments(n, n)
    v = m2 - mu**2
    q, s2 = np.mean(h**2), np.mean(h.sum(axis=1) ** 2)
    init = wi.get_initializer(init)
    z = np.stack([h @ init((n, n), rng=500 + k) for k in range(150)])
    sq = (z**2).mean(axis=(1, 2))                                              # one value per draw
    off = ((z.sum(axis=-1) ** 2 - (z**2).sum(axis=-1)) / (n * (n - 1))).mean(axis=1)
    close(sq, n * v * q + mu**2 * s2, label)
    close(off, mu**2 * s2, label)
    rho = off.mean() / sq.mean()
    if mu > 0:
        assert rho > 0.9          # the common mode dominates a ReLU layer of width 32
    else:
        assert abs(rho) < 0.02


@pytest.mark.parametrize("n, p", [(449, 0.95), (10_000, 0.975)])
def test_binomial_sd_of_a_test_accuracy(n, p):
    sim = np.random.default_rng(3).binomial(n, p, size=20_000) / n
    assert abs(sim.std(ddof=1) / math.sqrt(p * (1 - p) / n) - 1) < 4 / math.sqrt(2 * (sim.size - 1))


def test_zero_initialization_predicts_one_class_and_only_output_biases_learn():
    data = wi.load_dataset("digits", rng=0)
    net = wi.MLP([64, WIDTH, WIDTH, 10], activation="tanh", weight_init="zeros", seeds=[0, 1], dtype="float32")
    wi.train(net, data.X_train, data.y_train, lr=0.1, momentum=0.9, batch_size=32, epochs=1)
    assert all(np.all(w == 0) for w in net.weights) and all(np.all(b == 0) for b in net.biases[:-1])
    predictions = net.forward(data.X_test).argmax(axis=-1)
    assert np.all(predictions == predictions[:, :1])                    # one class for every input
    shares = np.bincount(data.y_test, minlength=10) / len(data.y_test)
    _, acc = wi.evaluate(net, data.X_test, data.y_test)
    assert all(np.isclose(shares, a).any() for a in acc)


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_deep_network_at_initialization(activation):
    """The chapter's prediction: small scales vanish, 'positive' collapses to one shared direction."""
    X = wi.load_dataset("digits", rng=0).X_train[:256]
    sizes = [64] + [WIDTH] * 6 + [10]
    q_last, shared = {}, {}
    for label in ("N(0, 0.01²)", "He (normal)", "positive (half-normal)"):
        net = wi.MLP(sizes, activation=activation, weight_init=READINGS[label][0], seeds=range(4))
        z = net.trace(X).pre_activations[-2]                              # last hidden layer
        q_last[label] = np.mean(z**2)
        off = (z.sum(axis=-1) ** 2 - (z**2).sum(axis=-1)) / (WIDTH * (WIDTH - 1))
        shared[label] = off.mean() / np.mean(z**2)
    assert q_last["N(0, 0.01²)"] < 1e-12 < 0.1 < q_last["He (normal)"] < 10
    assert shared["positive (half-normal)"] > 0.9 and abs(shared["He (normal)"]) < 0.2


def test_mini_experiment_deep_relu_small_scale_stays_at_chance_he_learns():
    """A fast version of one claim: in the deep ReLU network on the digits, N(0, 0.01²) stays at a
    guess and He learns; a diverging reading (N(0, 1)) is recorded as diverged, and counted as a guess."""
    data = wi.load_dataset("digits", rng=0)
    sizes = [64] + [WIDTH] * 6 + [10]
    seeds = [0, 1, 2]
    parts = [wi.MLP(sizes, activation="relu", weight_init=READINGS[label][0], seeds=seeds, dtype="float32")
             for label in ("N(0, 0.01²)", "He (normal)", "N(0, 1)")]
    net = wi.MLP.concatenate(parts)
    hist = wi.train(net, data.X_train, data.y_train, member_lr=np.repeat([0.03, 0.03, 0.03], len(seeds)),
                    momentum=0.9, batch_size=32, epochs=2, on_divergence="stop", eval_every=10**6)
    _, acc = wi.evaluate(net, data.X_test, data.y_test)
    acc = np.where(hist.diverged, 0.1, acc).reshape(3, len(seeds))
    majority = np.bincount(data.y_test).max() / len(data.y_test)
    assert acc[0].max() <= majority + 1e-12                  # small scale: one class, a guess
    assert acc[1].min() > 0.5                                # He: learning
    assert hist.diverged.reshape(3, len(seeds))[2].all() and np.all(acc[2] == 0.1)


def test_a_constant_predictor_scores_the_share_of_its_class():
    """Zero initialization predicts one class: its accuracy is that class's test share, so ten such runs lie
    between the smallest and largest share (exactly 1/10 on a test set with ten equal classes)."""
    rng = np.random.default_rng(5)
    for labels in (rng.integers(0, 10, size=449), np.repeat(np.arange(10), 100)):
        shares = np.bincount(labels, minlength=10) / len(labels)
        for c in range(10):
            assert np.mean(np.full_like(labels, c) == labels) == shares[c]
        if len(labels) == 1000:
            assert np.all(shares == 0.1)
    # MNIST's test set (cited counts, digit 5 fewest, digit 1 most): no run of a constant predictor reaches 13.2%
    assert 892 / 10_000 < 0.093 and 1135 / 10_000 < 0.132 and (1135 - 892) / 100 < 13.2 - 9.3


@pytest.mark.parametrize("quoted_range", [0.9, 1.0, 1.1])
def test_range_of_ten_runs_from_test_set_and_seed_noise(quoted_range):
    """The chapter's decomposition of a quoted range (exercise ex-ch10-range): ten runs, each on its own test set of
    10,000 images at accuracy 0.975 (binomial sd 0.156 points) plus a seed-to-seed sd s, have a mean range of
    3.078 sqrt(sd^2 + s^2). With s = sqrt((R / 3.078)^2 - sd^2) it is R, within 2% (se about 0.3%)."""
    sd_b = 100 * math.sqrt(0.975 * 0.025 / 10_000)
    s = math.sqrt((quoted_range / 3.078) ** 2 - sd_b**2)
    rng = np.random.default_rng(2)
    sim = rng.binomial(10_000, 0.975, size=(20_000, 10)) / 100 + rng.normal(0, s, size=(20_000, 10))
    assert np.ptp(sim, axis=1).mean() == pytest.approx(quoted_range, rel=0.02)
