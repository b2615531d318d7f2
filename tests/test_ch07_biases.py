"""The formulas of chapter 7 (Biases), checked by simulation.

* the second-moment recursion with a bias variance,
  q_{l+1} = sigma_w**2 E[f(z)**2] + sigma_b**2 (eq-ch7-recursion);
* the firing probability of a ReLU unit with a constant bias beta,
  P(z > 0) = Phi(beta / sqrt(v)) (eq-ch7-firing);
* the correlation map of two inputs through a ReLU network with random biases
  (eq-ch7-corr, arc-cosine kernel);
* the initial loss with the output bias set to the log of the class prior
  (eq-ch7-logprior): H(prior) instead of log K;
* the second-order excess loss of random logits, s^2/2 (1 - sum p_k^2), and that an
  output layer scaled by 0.01 starts at log K;
* a constant bias draws no random numbers (the chapter's pairing), and the quadrature
  of the firing recursion on a coarse grid.

Tolerances follow the notebook: a few standard errors over seeds, with a
small floor for finite-width effects.
"""
import math

import numpy as np
import pytest

import winit_edu as wi


def _measure_q(activation, sigma_w2, sigma_b, X, depth, width, seeds):
    net = wi.MLP([X.shape[1]] + [width] * depth + [1], activation=activation,
                 weight_init=wi.get_initializer("variance_scaling", scale=sigma_w2),
                 bias_init=wi.get_initializer("normal", std=sigma_b), seeds=seeds)
    per_seed = np.stack([np.mean(z**2, axis=(1, 2)) for z in net.trace(X).pre_activations[:-1]], axis=1)
    return per_seed.mean(axis=0), per_seed.std(axis=0, ddof=1) / np.sqrt(len(per_seed))


@pytest.mark.parametrize("activation, sigma_w2, sigma_b", [("relu", 2.0, 1.0), ("relu", 2.0, 0.3), ("tanh", 1.0, 0.3)])
def test_second_moment_recursion_with_bias_matches_simulation(activation, sigma_w2, sigma_b):
    X = np.random.default_rng(0).standard_normal((16, 64))
    depth = 6
    pred = wi.theory.propagate_second_moment(depth, activation, sigma_w2, q0=float(np.mean(X**2)),
                                             sigma_b2=sigma_b**2)
    meas, se = _measure_q(activation, sigma_w2, sigma_b, X, depth=depth, width=256, seeds=range(32))
    assert np.all(np.abs(meas - pred) <= np.maximum(4 * se, 0.03 * pred)), (pred, meas, se)


def test_bias_variance_adds_linearly_for_he_relu():
    # E[relu(z)^2] = q/2 exactly, so with sigma_w2 = 2: q_l = q_1 + (l - 1) sigma_b2
    q = wi.theory.propagate_second_moment(10, "relu", 2.0, q0=1.3, sigma_b2=0.25)
    np.testing.assert_allclose(q, 2.0 * 1.3 + 0.25 * np.arange(1, 11), rtol=1e-6)


def test_bias_moves_the_tanh_fixed_point_away_from_zero():
    q_no_bias = wi.theory.propagate_second_moment(500, "tanh", 1.0, sigma_b2=0.0)[-1]    # decays like 1/(2l)
    q_bias = wi.theory.propagate_second_moment(500, "tanh", 1.0, sigma_b2=0.09)
    assert q_no_bias < 0.01
    q_star = q_bias[-1]
    assert abs(q_star - (wi.theory.second_moment_after("tanh", q_star) + 0.09)) < 1e-9
    assert q_star > 0.2


def _normal_cdf(x):
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def test_constant_bias_shifts_the_relu_firing_rate_as_predicted():
    X = wi.load_dataset("digits", rng=0).X_train[:64]
    beta, depth = 0.1, 3

    def rates(b):
        net = wi.MLP([64] + [256] * depth + [10], activation="relu", weight_init="he_normal",
                     bias_init=wi.get_initializer("constant", value=b), seeds=range(16))
        return np.stack([np.mean(z > 0, axis=(1, 2)) for z in net.trace(X).pre_activations[:-1]], axis=1)

    diff = rates(beta) - rates(0.0)          # paired: a constant bias draws no random numbers
    meas, se = diff.mean(axis=0), diff.std(axis=0, ddof=1) / np.sqrt(len(diff))
    pred = np.zeros(depth)
    for x in X:
        v = 2.0 * np.mean(x**2)
        for l in range(depth):
            pred[l] += (_normal_cdf(beta / math.sqrt(v)) - 0.5) / len(X)
            v = 2.0 * wi.theory.gaussian_expectation(lambda u: np.maximum(beta + u, 0.0) ** 2, v, points=4000)
    assert np.all(np.abs(meas - pred) <= np.maximum(4 * se, 0.05 * pred)), (pred, meas, se)


def _relu_correlation(depth, sigma_b2, q0=1.0, c0=0.0, sigma_w2=2.0):
    q = sigma_w2 * q0 + sigma_b2
    c = (sigma_w2 * q0 * c0 + sigma_b2) / q
    out = [c]
    for _ in range(depth - 1):
        cov = sigma_w2 * q / (2 * np.pi) * (np.sqrt(1 - c**2) + (np.pi - np.arccos(c)) * c) + sigma_b2
        q = sigma_w2 * q / 2 + sigma_b2
        c = min(cov / q, 1.0)
        out.append(c)
    return np.array(out)


@pytest.mark.parametrize("sigma_b", [0.0, 1.0])
def test_random_biases_correlate_inputs_as_predicted(sigma_b):
    pair = np.random.default_rng(1).standard_normal((2, 64))
    pair[1] -= pair[1] @ pair[0] / (pair[0] @ pair[0]) * pair[0]
    pair *= 8.0 / np.linalg.norm(pair, axis=1, keepdims=True)        # mean square 1
    depth = 6
    net = wi.MLP([64] + [256] * depth + [1], activation="relu", weight_init="he_normal",
                 bias_init=wi.get_initializer("normal", std=sigma_b), seeds=range(32))
    zs = net.trace(pair).pre_activations[:-1]
    meas = np.array([np.mean(np.sum(z[:, 0] * z[:, 1], -1) / np.sqrt(np.sum(z[:, 0]**2, -1) * np.sum(z[:, 1]**2, -1)))
                     for z in zs])
    assert np.max(np.abs(meas - _relu_correlation(depth, sigma_b**2))) < 0.03


def test_correlation_map_fixed_point_and_start():
    assert _relu_correlation(1, 0.0)[0] == 0.0
    assert abs(_relu_correlation(1, 1.0)[0] - 1 / 3) < 1e-12          # sigma_b2 / (2 q0 + sigma_b2)
    c = _relu_correlation(50, 0.5)
    assert np.all(np.diff(c) > 0) and c[-1] < 1.0


@pytest.mark.parametrize("counts", [[139, 81, 49, 29, 18, 10, 7, 4, 2, 2], [990, 10], [5, 5, 5]])
def test_log_prior_output_bias_gives_the_entropy_as_initial_loss(counts):
    counts = np.array(counts)
    K = len(counts)
    prior = counts / counts.sum()
    y = np.repeat(np.arange(K), counts)
    X = np.random.default_rng(0).standard_normal((len(y), 5))
    net = wi.MLP([5, 16, K], activation="relu", weight_init="he_normal", seeds=[0, 1, 2])
    net.weights[-1][:] = 0.0
    loss_zero, _ = wi.evaluate(net, X, y)
    net.biases[-1][:] = np.log(prior)
    loss_prior, _ = wi.evaluate(net, X, y)
    entropy = -np.sum(prior * np.log(prior))
    np.testing.assert_allclose(loss_zero, np.log(K), rtol=1e-12)
    np.testing.assert_allclose(loss_prior, entropy, rtol=1e-9)
    # any constant shift of the biases gives the same predictions and loss
    net.biases[-1][:] += 3.0
    np.testing.assert_allclose(wi.evaluate(net, X, y)[0], entropy, rtol=1e-9)
    # the log prior is the best input-independent start: any other bias is worse (Gibbs)
    net.biases[-1][:] = np.log(prior) + np.random.default_rng(1).normal(0, 0.3, K)
    assert np.all(wi.evaluate(net, X, y)[0] > entropy)


def test_relu_fixed_point_with_biases():
    # q_{l+1} = (sigma_w^2 / 2) q_l + sigma_b^2: fixed point sigma_b^2 / (1 - sigma_w^2 / 2), distance x sigma_w^2 / 2
    q = wi.theory.propagate_second_moment(30, "relu", 1.5, q0=1.0, sigma_b2=1.0)
    q_star = 1.0 / (1 - 1.5 / 2)
    ratios = (q[1:20] - q_star) / (q[:19] - q_star)
    np.testing.assert_allclose(ratios, 0.75, rtol=1e-9)


def test_log_prior_bias_of_a_rare_class():
    pi = 0.01
    labels = (np.arange(10_000) < pi * 10_000).astype(int)
    b = np.log([1 - pi, pi])
    loss, _ = wi.softmax_cross_entropy(np.broadcast_to(b, (len(labels), 2)), labels)
    assert float(loss) == pytest.approx(-(pi * np.log(pi) + (1 - pi) * np.log(1 - pi)), rel=1e-9)
    assert b[1] - b[0] == pytest.approx(np.log(pi / (1 - pi)))


@pytest.mark.parametrize("prior", [[0.1] * 10, [0.5, 0.3, 0.2]])
def test_second_order_excess_loss_of_random_logits(prior):
    # ex-ch7-second-order: logits b + eps, eps with second moment s^2, independent of the label:
    # E[loss] - L(b) = s^2 / 2 (1 - sum p_k^2) + O(s^4), with p = softmax(b) = prior here
    prior = np.array(prior)
    K, n, s = len(prior), 400_000, 0.2
    gen = np.random.default_rng(0)
    labels = gen.choice(K, size=n, p=prior)
    b = np.log(prior)
    base, _ = wi.softmax_cross_entropy(np.broadcast_to(b, (n, K)), labels)
    loss, _ = wi.softmax_cross_entropy(b + s * gen.standard_normal((n, K)), labels)
    predicted = s**2 / 2 * (1 - np.sum(prior**2))
    # the O(s^4) term is below 3% of the prediction at s = 0.2; the sampling error of 400k examples is ~1%
    assert float(loss) - float(base) == pytest.approx(predicted, rel=0.06)


def test_small_output_weights_start_at_log_K():
    # the chapter's "He x 0.01" output layer: the initial loss is log K up to a few hundredths of a nat
    data = wi.load_dataset("digits", rng=0)
    net = wi.MLP([64, 64, 64, 10], activation="relu", weight_init="he_normal", seeds=range(20))
    loss_he, _ = wi.evaluate(net, data.X_train, data.y_train)
    net.weights[-1] *= 0.01
    loss_small, _ = wi.evaluate(net, data.X_train, data.y_train)
    assert np.all(np.abs(loss_small - np.log(10)) < 0.02)
    assert loss_he.mean() > np.log(10) + 0.2          # He output weights: a clear excess


def test_constant_bias_draws_no_random_numbers():
    # the chapter pairs networks that differ only in a constant bias (and sets it in place): same weights
    sizes = [64, 32, 32, 10]
    nets = [wi.MLP(sizes, activation="relu", weight_init="he_normal",
                   bias_init=wi.get_initializer("constant", value=beta), seeds=[0, 3]) for beta in (0.0, 0.1)]
    for w0, w1 in zip(nets[0].weights, nets[1].weights):
        np.testing.assert_array_equal(w0, w1)
    assert all(np.all(b == 0.1) for b in nets[1].biases)


@pytest.mark.parametrize("beta, v", [(0.01, 2.0), (0.1, 0.5), (0.1, 3.0)])
def test_firing_recursion_needs_few_grid_points(beta, v):
    # the chapter evaluates E[relu(beta + u)^2], u ~ N(0, v), on 4000 grid cells instead of the default 100000
    f = lambda u: np.maximum(beta + u, 0.0) ** 2
    fine = wi.theory.gaussian_expectation(f, v)
    coarse = wi.theory.gaussian_expectation(f, v, points=4000)
    assert coarse == pytest.approx(fine, rel=1e-6)
    # closed form: (beta^2 + v) Phi(beta / sqrt v) + beta sqrt(v) phi(beta / sqrt v)
    t = beta / math.sqrt(v)
    exact = (beta**2 + v) * _normal_cdf(t) + beta * math.sqrt(v) * math.exp(-t * t / 2) / math.sqrt(2 * math.pi)
    assert fine == pytest.approx(exact, rel=1e-7)
