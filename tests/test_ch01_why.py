"""Chapter 1 (why initialization matters): the formulas and mechanisms the chapter relies on.

* the test-set noise of an accuracy: sqrt(p (1 - p) / n) over disjoint test sets (eq-binomial-sd);
* the loss at step 0: given the last hidden layer, two Gaussian logits give E[softplus(sqrt(2) s xi)]
  (eq-step0-loss), with the limits ln 2 + s^2/4 and s/sqrt(pi) (+ pi^2 / (12 sqrt(pi) s));
  K classes: ln K + s^2 (1 - 1/K) / 2 for small s and s E[max of K normals] for large s;
* the repair: a shrunk output layer brings the loss at step 0 to ln 2, a zero one exactly;
* the separation of the sources of randomness used by the chapter's experiment: one start copied with
  MLP.concatenate and trained with equal order seeds gives identical runs, with different order seeds
  different ones;
* the claims about the live widget and the failures: deep ReLU networks at c = 3, or N(0, 1), diverge
  within a few steps, from a loss at step 0 in the thousands of nats;
* the variances of Glorot's and LeCun's uniform rules quoted in the comparison.

Every test runs in well under a few seconds.
"""
import math

import numpy as np
import pytest
from scipy.special import ndtr

import winit_edu as wi

SIZES = [2, 32, 32, 2]
SETUP = dict(lr=0.05, momentum=0.9, batch_size=32)
LN2 = math.log(2)


def softplus(d):
    return np.logaddexp(0.0, d)


def expected_loss(s):
    """E[softplus(sqrt(2) s xi)], xi ~ N(0, 1), by quadrature (the chapter's L(s))."""
    return wi.theory.gaussian_expectation(softplus, 2 * s ** 2)


def max_of_normals(K):
    """E[max of K independent standard normals] = E[K xi Phi(xi)^(K-1)]."""
    return wi.theory.gaussian_expectation(lambda x: K * x * ndtr(x) ** (K - 1))


@pytest.fixture(scope="module")
def spirals():
    return wi.load_dataset("spirals", rng=0)


def scaled(c, seeds, sizes=SIZES, activation="tanh"):
    init = wi.get_initializer("variance_scaling", scale=c ** 2, mode="fan_in")
    return wi.MLP(sizes, activation=activation, weight_init=init, seeds=seeds)


def test_binomial_sd_of_an_accuracy_over_disjoint_test_sets():
    """eq-binomial-sd: a fixed classifier's accuracy on n fresh points has sd sqrt(p (1 - p) / n)."""
    X, y = wi.make_spirals(40_000, rng=5)
    net = wi.MLP(SIZES, weight_init="glorot_uniform", seeds=[0, 1, 2])   # fixed (untrained) classifiers
    right = net.forward(X).argmax(axis=-1) == y                         # (3, 40,000), independent points
    for n in (50, 100, 400):
        acc = right.reshape(3, -1, n).mean(axis=2)                      # 40,000 / n disjoint test sets
        p = right.mean(axis=1)
        ratio = acc.std(axis=1, ddof=1) / np.sqrt(p * (1 - p) / n)
        # an sd from m = 40,000 / n >= 100 sets is uncertain by 1 / sqrt(2 (m - 1)) <= 7%: allow 3.5 of those
        assert np.all(np.abs(ratio - 1) < 3.5 / np.sqrt(2 * (40_000 / n - 1))), (n, ratio)


def test_expected_loss_at_step_0_given_the_hidden_layer(spirals):
    """eq-step0-loss: over the output weights, the mean loss is the mean over points of L(sigma |h(x)|)."""
    c = 3.0
    net = scaled(c, seeds=[0])
    h = net.trace(spirals.X_train[:60]).activations[-1][0]             # (60, 32), kept fixed
    sigma = c / np.sqrt(32)
    predicted = np.mean([expected_loss(sigma * v) for v in np.linalg.norm(h, axis=1)])
    rng = np.random.default_rng(0)
    draws = 4000
    W = sigma * rng.standard_normal((draws, 32, 2))                    # fresh output layers
    logits = np.einsum("bj,djk->dbk", h, W)                            # (draws, 60, 2)
    y = spirals.y_train[:60]
    z_y = np.take_along_axis(logits, y[None, :, None], axis=2)[..., 0]
    loss = (np.logaddexp(logits[..., 0], logits[..., 1]) - z_y).mean(axis=1)   # one value per draw
    se = loss.std(ddof=1) / np.sqrt(draws)
    assert abs(loss.mean() - predicted) < 4 * se, (loss.mean(), predicted, se)


@pytest.mark.parametrize("s", [0.05, 0.1, 0.2])
def test_step0_loss_small_logits(s):
    """L(s) = ln 2 + s^2/4 - s^4/16 + ...: the quadratic limit holds to the next order."""
    assert abs(expected_loss(s) - (LN2 + s ** 2 / 4)) < s ** 4 / 16 * 1.5


@pytest.mark.parametrize("s", [10.0, 20.0, 50.0])
def test_step0_loss_large_logits(s):
    """L(s) = s/sqrt(pi) + pi^2 / (12 sqrt(pi) s) + O(s^-3): the linear growth and its correction."""
    leading = s / math.sqrt(math.pi)
    corrected = leading + math.pi ** 2 / (12 * math.sqrt(math.pi) * s)
    L = expected_loss(s)
    assert abs(L - leading) / leading < 0.01 * (10 / s) ** 2 + 1e-4       # 1% at s = 10, better beyond
    assert abs(L - corrected) < 2 / s ** 3                                 # the correction leaves O(s^-3)


def test_max_of_normals_and_the_two_class_case():
    assert abs(max_of_normals(2) - 1 / math.sqrt(math.pi)) < 1e-9
    # the chapter's exercise: m_10 = 1.54 (simulated there; here by quadrature)
    assert abs(max_of_normals(10) - 1.5388) < 1e-3


@pytest.mark.parametrize("K", [2, 10])
def test_k_class_limits_by_simulation(K):
    """K classes: ln K + s^2 (1 - 1/K) / 2 for small s; s E[max] (up to less than ln K) for large s."""
    rng = np.random.default_rng(1)
    z = rng.standard_normal((200_000, K))

    def loss(s):   # class 0 is the label; by symmetry any class gives the same expectation
        return np.mean(np.logaddexp.reduce(s * z, axis=1) - s * z[:, 0])

    small = 0.1   # the s^2 term is 0.0025 (K = 2) or 0.0045 (K = 10); the simulation's standard error ~2e-4
    assert abs(loss(small) - (math.log(K) + small ** 2 * (1 - 1 / K) / 2)) < 1e-3
    large = 30.0  # the simulation's relative standard error is below 0.3%
    assert abs(loss(large) / (large * max_of_normals(K)) - 1) < 0.03


def test_shrinking_the_output_layer_brings_the_step0_loss_to_ln2(spirals):
    X, y = spirals.X_train, spirals.y_train
    big = scaled(10.0, seeds=list(range(10)))
    loss_big, _ = wi.evaluate(big, X, y)
    assert loss_big.mean() > 3                                          # far above ln 2 = 0.69
    shrunk = scaled(10.0, seeds=list(range(10)))
    shrunk.weights[-1] *= 0.01
    loss_shrunk, _ = wi.evaluate(shrunk, X, y)
    assert np.all(np.abs(loss_shrunk - LN2) < 0.05)
    zero = scaled(10.0, seeds=list(range(10)))
    zero.weights[-1][...] = 0.0
    np.testing.assert_allclose(wi.evaluate(zero, X, y)[0], LN2, atol=1e-12)
    # zero output weights still get a gradient at the first step (the hidden units already differ)
    t = zero.trace(X[:32], labels=y[:32])
    assert np.all(np.abs(t.grad_weights[-1]).reshape(10, -1).max(axis=1) > 1e-3)


def test_one_start_copied_trains_identically_with_equal_orders(spirals):
    """The chapter's 'order only' group: copies of one start differ only through their order seeds."""
    start = wi.MLP(SIZES, weight_init="glorot_uniform", seeds=[0, 1]).member(0)
    same = wi.MLP.concatenate([start] * 3)
    h_same = wi.train(same, spirals.X_train, spirals.y_train, order_seeds=[4, 4, 4], epochs=5, **SETUP)
    for W in same.weights:
        np.testing.assert_array_equal(W[0], W[1])
        np.testing.assert_array_equal(W[0], W[2])
    assert np.all(h_same.train_loss[0] == h_same.train_loss[0, 0])
    other = wi.MLP.concatenate([start] * 3)
    h_other = wi.train(other, spirals.X_train, spirals.y_train, order_seeds=[0, 1, 2], epochs=5, **SETUP)
    assert np.all(h_other.train_loss[0] == h_other.train_loss[0, 0])   # the same point at step 0 ...
    assert len(np.unique(h_other.train_loss[-1])) == 3                   # ... three different networks after
    # and the default order of a member is its own seed's: order_seeds=seeds changes nothing
    a = wi.MLP(SIZES, weight_init="glorot_uniform", seeds=[3, 5])
    b = wi.MLP(SIZES, weight_init="glorot_uniform", seeds=[3, 5])
    ha = wi.train(a, spirals.X_train, spirals.y_train, epochs=2, **SETUP)
    hb = wi.train(b, spirals.X_train, spirals.y_train, order_seeds=[3, 5], epochs=2, **SETUP)
    np.testing.assert_array_equal(ha.step_loss, hb.step_loss)


def test_deep_relu_networks_with_large_starts_diverge(spirals):
    """The failures section (N(0, 1), width 64) and the live widget's suggestion (c = 3, width 32)."""
    X, y = spirals.X_train, spirals.y_train
    normal = wi.MLP([2] + [64] * 8 + [2], activation="relu", weight_init=wi.get_initializer("normal", std=1.0),
                    seeds=list(range(5)))
    h = wi.train(normal, X, y, on_divergence="stop", epochs=2, **SETUP)
    assert h.diverged.all() and h.diverged_step.max() <= 10 and h.train_loss[0].min() > 1000
    c3 = scaled(3.0, seeds=list(range(10)), sizes=[2] + [32] * 8 + [2], activation="relu")
    h = wi.train(c3, X, y, on_divergence="stop", epochs=2, **SETUP)
    assert h.diverged.all() and h.diverged_step.max() <= 10


def test_glorot_and_lecun_uniform_variances():
    """The comparison's variances: Glorot 2 / (fan_in + fan_out), LeCun 1 / fan_in, per layer."""
    rng = np.random.default_rng(0)
    for n_in, n_out in [(2, 32), (32, 32), (32, 2)]:
        shape = (n_in, n_out)
        reps = 200_000 // (n_in * n_out) + 1
        g = np.concatenate([wi.glorot_uniform(shape, rng=rng).ravel() for _ in range(reps)])
        l = np.concatenate([wi.lecun_uniform(shape, rng=rng).ravel() for _ in range(reps)])
        # the variance of a uniform's square is 4/5 of its variance squared: relative se sqrt(0.8 / N) < 0.3%
        assert abs(g.var() * (n_in + n_out) / 2 - 1) < 0.01
        assert abs(l.var() * n_in - 1) < 0.01
