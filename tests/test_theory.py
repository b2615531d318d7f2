"""Closed-form predictions, checked exactly where they are exact and by simulation otherwise."""
import math

import numpy as np
import pytest

from winit_edu import MLP, get_activation, get_initializer
from winit_edu.theory import (
    gaussian_expectation,
    gradient_factors,
    propagate_second_moment,
    slope_after,
    second_moment_after,
    uniform_limit,
    uniform_variance,
)


def double_factorial(n):
    return math.prod(range(n, 0, -2))


@pytest.mark.parametrize("method", ["grid", "hermite"])
@pytest.mark.parametrize("var", [0.5, 1.0, 3.0])
@pytest.mark.parametrize("k", range(0, 9))
def test_gaussian_expectation_is_exact_for_polynomials(k, var, method):
    # E[x**k] for x ~ N(0, var): 0 for odd k, (k-1)!! var**(k/2) for even k.
    # 101-point Gauss-Hermite quadrature is exact up to degree 201; the midpoint rule on a
    # rapidly decaying smooth integrand converges faster than any power of the cell width.
    # What is left is rounding: an odd moment is 0 as a sum of terms of both signs whose sizes
    # add up to E|x|**k, and summing them in another order (numpy's SIMD sums differ between
    # processors) leaves a few 1e-15 of that (pairwise summation's bound is ~log2(n) * eps).
    expected = 0.0 if k % 2 else double_factorial(k - 1) * var ** (k // 2)
    absolute_moment = (2 * var) ** (k / 2) * math.gamma((k + 1) / 2) / math.sqrt(math.pi)  # E|x|**k
    assert gaussian_expectation(lambda x: x**k, var, method=method) == pytest.approx(
        expected, rel=1e-11, abs=1e-13 * absolute_moment)


@pytest.mark.parametrize("q", [0.5, 1.0, 10.0, 100.0, 1000.0])
def test_grid_rule_is_accurate_for_kinks_and_spikes_where_hermite_is_not(q):
    """Reference values by adaptive quadrature (scipy.integrate.quad, split at the kink)."""
    from scipy import integrate

    def reference(fn):
        dens = lambda x: math.exp(-x * x / (2 * q)) / math.sqrt(2 * math.pi * q)
        lim = 12 * math.sqrt(q)
        return sum(integrate.quad(lambda x: fn(x) * dens(x), a, b, epsabs=1e-13, epsrel=1e-12, limit=200)[0]
                   for a, b in [(-lim, 0.0), (0.0, lim)])

    step = lambda x: np.asarray(np.asarray(x) > 0, dtype=float)
    tanh_slope2 = lambda x: (1 - np.tanh(x) ** 2) ** 2
    for fn in (step, tanh_slope2, lambda x: np.tanh(x) ** 2):
        assert gaussian_expectation(fn, q) == pytest.approx(reference(fn), rel=1e-6, abs=1e-12)
    assert gaussian_expectation(step, q, method="hermite") == pytest.approx(0.438, abs=1e-3)   # the node at 0


def test_gaussian_expectation_rejects_bad_options():
    with pytest.raises(ValueError, match="method"):
        gaussian_expectation(np.cos, 1.0, method="simpson")
    with pytest.raises(ValueError, match="points"):
        gaussian_expectation(np.cos, 1.0, points=1)
    with pytest.raises(ValueError, match="width"):
        gaussian_expectation(np.cos, 1.0, width=0.0)


def test_gaussian_expectation_of_a_polynomial_mix_and_zero_variance():
    assert gaussian_expectation(lambda x: 3 * x**4 - x**2 + 2, 2.0) == pytest.approx(3 * 12 - 2 + 2, rel=1e-13)
    assert gaussian_expectation(lambda x: np.cos(x) + 1.0, 0.0) == pytest.approx(2.0)
    # a smooth non-polynomial: E[cos x] = exp(-var / 2)
    assert gaussian_expectation(np.cos, 1.5) == pytest.approx(math.exp(-0.75), rel=1e-12)
    with pytest.raises(ValueError, match="var"):
        gaussian_expectation(np.cos, -1.0)


@pytest.mark.parametrize("q", [0.1, 1.0, 2.0, 7.0])
def test_second_moment_after(q):
    assert second_moment_after("relu", q) == pytest.approx(q / 2, rel=1e-12)  # He's factor 2
    assert second_moment_after("linear", q) == pytest.approx(q, rel=1e-12)
    slope = 0.2
    assert second_moment_after(get_activation("leaky_relu", slope=slope), q) == pytest.approx(
        q * (1 + slope**2) / 2, rel=1e-12)
    assert second_moment_after("tanh", q) < min(q, 1.0)  # tanh shrinks, and |tanh| < 1


@pytest.mark.parametrize("q0", [1.0, 0.3])
def test_he_keeps_the_relu_second_moment_constant(q0):
    np.testing.assert_allclose(propagate_second_moment(20, "relu", 2.0, q0=q0), 2.0 * q0, rtol=1e-12)


@pytest.mark.parametrize("c", [0.5, 1.0, 1.5])
def test_linear_network_multiplies_by_sigma_w2_per_layer(c):
    np.testing.assert_allclose(propagate_second_moment(10, "linear", c), c ** np.arange(1, 11), rtol=1e-12)


def test_bias_variance_is_added_every_layer():
    q = propagate_second_moment(4, "linear", 1.0, q0=1.0, sigma_b2=0.5)
    np.testing.assert_allclose(q, [1.5, 2.0, 2.5, 3.0])


def test_propagate_second_moment_bad_arguments():
    with pytest.raises(ValueError, match="depth"):
        propagate_second_moment(0, "relu", 2.0)
    with pytest.raises(ValueError, match="sigma_w2"):
        propagate_second_moment(3, "relu", -1.0)
    with pytest.raises(ValueError, match="sigma_b2"):
        propagate_second_moment(3, "relu", 2.0, sigma_b2=-0.1)
    with pytest.raises(ValueError, match="activation must be one of"):
        propagate_second_moment(3, "swish", 2.0)


WIDTH = 1000


def simulated_second_moments(activation, sigma_w2, depth, seeds, batch=64):
    """Per-layer mean of z_l**2 of wide MLPs with Var(w) = sigma_w2 / fan_in, on standardized inputs.

    Averaged over one network per seed (built one at a time to keep the memory small;
    ``MLP(seeds=seeds)`` would give the same numbers).
    """
    X = np.random.default_rng(12345).standard_normal((batch, WIDTH))
    X = (X - X.mean(axis=0)) / X.std(axis=0)  # standardized features: q0 = mean(x**2) = 1 exactly
    q = []
    for seed in seeds:
        net = MLP([WIDTH] * (depth + 1), activation=activation, seeds=seed,
                  weight_init=get_initializer("variance_scaling", scale=sigma_w2))  # normal, fan_in
        q.append([np.mean(z**2) for z in net.trace(X).pre_activations])
    return np.mean(q, axis=0)


@pytest.mark.parametrize("sigma_w2", [1.0, (5 / 3) ** 2])
def test_simulation_matches_the_recursion_for_tanh(sigma_w2):
    # One network of width 1000, 10 layers. The pooled second moment of a layer has a relative
    # standard error of about sqrt(2 / (width * effective batch)) < 1%, and for tanh the recursion
    # is contracting, so errors do not accumulate over depth: a 10% tolerance is > 6 SE
    # (measured deviations over many seeds: at most ~3%).
    depth = 10
    q_sim = simulated_second_moments("tanh", sigma_w2, depth, seeds=[0])
    q_theory = propagate_second_moment(depth, "tanh", sigma_w2, q0=1.0)
    np.testing.assert_allclose(q_sim, q_theory, rtol=0.10)


def test_simulation_matches_the_recursion_for_relu_with_he_init():
    # ReLU + He: the prediction is q_l = 2 at every layer. Finite-width fluctuations of a ReLU
    # network compound multiplicatively over depth (Var log q_L ~ 5 L / width for one network
    # once the inputs have become correlated; Hanin & Rolnick 2018), i.e. up to ~17% for L = 6.
    # Averaging 8 independent networks brings the standard deviation to ~6% at
    # worst; measured deviations over 16 seeds were 1.5-7%. Tolerance: 15% (and the fixed seeds
    # make the test deterministic). A wrong gain is far outside: sigma_w2 = 1 would give 2**-5.
    depth = 6
    q_sim = simulated_second_moments("relu", 2.0, depth, seeds=list(range(8)))
    q_theory = propagate_second_moment(depth, "relu", 2.0, q0=1.0)
    np.testing.assert_allclose(q_theory, 2.0)
    np.testing.assert_allclose(q_sim, q_theory, rtol=0.15)


def test_uniform_limit_and_variance():
    assert uniform_limit(1 / 3) == pytest.approx(1.0)
    assert uniform_variance(-1, 1) == pytest.approx(1 / 3)
    assert uniform_variance(2.0, 5.0) == pytest.approx(9 / 12)
    for var in (0.01, 2 / 300, 1.0):
        a = uniform_limit(var)
        assert uniform_variance(-a, a) == pytest.approx(var, rel=1e-14)
    # Glorot's uniform limit sqrt(6 / (fan_in + fan_out)) is uniform_limit(2 / (fan_in + fan_out))
    assert uniform_limit(2 / 300) == pytest.approx(math.sqrt(6 / 300))
    with pytest.raises(ValueError, match="variance"):
        uniform_limit(-1.0)
    with pytest.raises(ValueError, match="low must be smaller than high"):
        uniform_variance(1.0, 1.0)


@pytest.mark.parametrize("q", [0.3, 1.0, 5.0])
def test_slope_after_closed_forms(q):
    assert slope_after("relu", q) == pytest.approx(0.5, abs=1e-9)
    assert slope_after("linear", q) == pytest.approx(1.0, abs=1e-12)
    a = 0.01
    assert slope_after(get_activation("leaky_relu", slope=a), q) == pytest.approx((1 + a * a) / 2, abs=1e-9)


@pytest.mark.parametrize("sigma_w2", [1.0, 2.0])
def test_gradient_factors_match_a_wide_tanh_network(sigma_w2):
    """The backward second moment of a wide square tanh network grows by chi_l per layer:
    E[delta_{l-1}^2] / E[delta_l^2] = chi_{l-1} (the slope is taken at layer l-1's pre-activation)."""
    width, depth, seeds = 1000, 5, range(4)
    init = get_initializer("normal", std=math.sqrt(sigma_w2 / width))
    net = MLP([width] * (depth + 1), activation="tanh", weight_init=init, seeds=seeds)
    X = np.random.default_rng(0).standard_normal((200, width))
    G = np.random.default_rng(1).standard_normal((len(seeds), 200, width))
    tr = net.trace(X, grad_output=G)
    g2 = np.array([np.mean(g**2) for g in tr.grad_pre_activations])   # layers 0..depth-1
    chi = gradient_factors(depth, "tanh", sigma_w2)
    measured = g2[:-1] / g2[1:]                 # factor from layer l+1 down to layer l
    # 4 seeds x 200 examples x 1000 units: the ratio's relative sampling error is about 1%
    np.testing.assert_allclose(measured, chi[:-1], rtol=0.05)


def test_one_sigma_w2_per_layer_matches_a_network_whose_layers_differ():
    from winit_edu import theory

    # a 3-layer ReLU net with fan-in variances 2, 1, 4: q_1 = 2 q0, q_2 = 1 * q_1 / 2, q_3 = 4 * q_2 / 2
    q = theory.propagate_second_moment(3, "relu", [2.0, 1.0, 4.0], q0=1.5)
    np.testing.assert_allclose(q, [3.0, 1.5, 3.0], rtol=1e-9)
    np.testing.assert_allclose(theory.gradient_factors(3, "relu", [2.0, 1.0, 4.0]), [1.0, 0.5, 2.0], rtol=1e-9)
    same = theory.propagate_second_moment(4, "tanh", [1.3] * 4, sigma_b2=0.1)
    np.testing.assert_array_equal(same, theory.propagate_second_moment(4, "tanh", 1.3, sigma_b2=0.1))
    with pytest.raises(ValueError, match="one value per layer"):
        theory.propagate_second_moment(3, "relu", [2.0, 2.0])
    with pytest.raises(ValueError, match=r"sigma_w2\[1\]"):
        theory.gradient_factors(2, "relu", [2.0, -1.0])


def test_points_sets_the_grid_of_the_moments():
    """points= reaches gaussian_expectation: a coarse grid is close, a finer one closer, and bad values are named."""
    # relu: E[relu'(x)^2] = 1/2 exactly; E[relu(x)^2] = q/2; the midpoint rule splits the step at 0 in half
    assert slope_after("relu", 4.0, points=10) == pytest.approx(0.5, abs=1e-12)
    coarse = second_moment_after("tanh", 9.0, points=50)
    fine = second_moment_after("tanh", 9.0, points=400_000)
    assert 1e-4 < abs(coarse - fine) < 0.02          # 50 cells over +-12 standard deviations: visibly coarse
    assert second_moment_after("tanh", 9.0) == pytest.approx(fine, abs=1e-12)
    with pytest.raises(ValueError, match="points"):
        slope_after("tanh", 1.0, points=1)
    with pytest.raises(TypeError, match="points"):
        second_moment_after("tanh", 1.0, points=2.5)
