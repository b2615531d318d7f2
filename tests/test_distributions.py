"""The fixed-recipe initializers: zeros, ones, constant, uniform, normal, truncated_normal.

Statistical tolerances: see stats_helpers.py (6 standard errors, fixed seeds).
"""
import math

import numpy as np
import pytest
from stats_helpers import KURTOSIS, N_SE, assert_fills_interval, assert_mean_and_variance

from winit_edu import constant, normal, ones, truncated_normal, truncated_std_factor, uniform, zeros

SHAPE = (400, 250)  # 100,000 draws: the sample variance is good to about 0.5% (normal)

# The standard deviation of N(0, 1) cut at +-2; Keras (TruncatedNormal /
# VarianceScaling) and JAX divide by this constant.
KERAS_TRUNCATION_CONSTANT = 0.87962566103423978


# --- constants ----------------------------------------------------------------

def test_zeros_ones_constant():
    assert np.array_equal(zeros((2, 3)), np.zeros((2, 3)))
    assert np.array_equal(ones(4), np.ones(4))
    assert np.array_equal(constant((3, 2), value=0.1), np.full((3, 2), 0.1))
    for w in (zeros((2, 3)), ones((2, 3)), constant((2, 3), value=2)):
        assert w.dtype == np.float64


def test_constants_accept_and_ignore_rng():
    # every initializer can be called as init(shape, rng=...); the constants draw nothing
    assert np.array_equal(zeros((2, 2), rng=0), zeros((2, 2), rng=123))
    assert np.array_equal(constant((2, 2), rng=np.random.default_rng(0), value=3.0), np.full((2, 2), 3.0))
    with pytest.raises(TypeError, match="rng"):
        ones((2, 2), rng=1.5)  # checked even though unused


@pytest.mark.parametrize("call", [lambda: constant((2, 2), 6.0), lambda: constant((2, 2), 6),
                                  lambda: zeros((2, 2), 0), lambda: ones((2, 2), 1)])
def test_a_positional_value_is_never_silently_ignored(call):
    # constant((2, 2), 6.0) used to return zeros: the 6.0 landed in the unused rng
    with pytest.raises(TypeError, match="positional"):
        call()


@pytest.mark.parametrize("fn, kwargs", [(uniform, dict(low=-0.1, high=0.1)), (normal, dict(std=0.1)),
                                        (truncated_normal, dict(std=0.1)), (constant, dict(value=0.1))])
def test_float32_results(fn, kwargs):
    a, b = fn((30, 20), rng=0, **kwargs), fn((30, 20), rng=0, dtype="float32", **kwargs)
    assert a.dtype == np.float64 and b.dtype == np.float32
    np.testing.assert_array_equal(b, a.astype(np.float32))  # the same draws, rounded
    with pytest.raises(ValueError, match="dtype"):
        fn((3, 2), rng=0, dtype="int32", **kwargs)


def test_values_beyond_float32_raise():
    with pytest.raises(ValueError, match="value"):
        constant((2,), value=1e39, dtype="float32")
    with pytest.raises(ValueError, match="mean, std"):
        normal((2,), rng=0, mean=1e39, dtype="float32")
    with pytest.raises(ValueError, match="high - low"):
        uniform((2,), rng=0, low=-1e308, high=1e308)


def test_constant_value_must_be_finite_real():
    with pytest.raises(ValueError, match="value"):
        constant((2, 2), value=np.inf)
    with pytest.raises(TypeError, match="value"):
        constant((2, 2), value="1")


@pytest.mark.parametrize("fn", [zeros, ones, constant, uniform, normal, truncated_normal])
def test_one_dimensional_shapes_are_fine_for_biases(fn):
    assert fn(7, rng=0).shape == (7,)
    assert fn((7,), rng=0).shape == (7,)


@pytest.mark.parametrize("fn", [zeros, ones, constant, uniform, normal, truncated_normal])
def test_bad_shapes(fn):
    with pytest.raises(TypeError, match="shape"):
        fn((True, 3))  # bools are not dimensions
    with pytest.raises(TypeError, match="shape"):
        fn(True)
    with pytest.raises(ValueError, match="shape"):
        fn((3, 0))


# --- uniform ------------------------------------------------------------------

def test_uniform_defaults_are_keras_random_uniform():
    w = uniform(SHAPE, rng=0)
    assert_fills_interval(w, -0.05, 0.05)
    assert_mean_and_variance(w, 0.0, 0.1**2 / 12, KURTOSIS["uniform"])


@pytest.mark.parametrize("low, high", [(-1.0, 1.0), (0.0, 1.0), (2.0, 5.0)])
def test_uniform_moments_and_bounds(low, high):
    w = uniform(SHAPE, rng=1, low=low, high=high)
    assert w.dtype == np.float64
    assert_fills_interval(w, low, high)
    assert_mean_and_variance(w, (low + high) / 2, (high - low) ** 2 / 12, KURTOSIS["uniform"])


@pytest.mark.parametrize("low, high", [(1.0, 1.0), (1.0, -1.0)])
def test_uniform_needs_low_below_high(low, high):
    with pytest.raises(ValueError, match="low must be smaller than high"):
        uniform((3, 3), rng=0, low=low, high=high)


# --- normal -------------------------------------------------------------------

def test_normal_defaults_are_keras_random_normal():
    assert_mean_and_variance(normal(SHAPE, rng=0), 0.0, 0.05**2, KURTOSIS["normal"])


@pytest.mark.parametrize("mean, std", [(0.0, 1.0), (0.5, 0.01), (-3.0, 2.0)])
def test_normal_moments(mean, std):
    assert_mean_and_variance(normal(SHAPE, rng=2, mean=mean, std=std), mean, std**2, KURTOSIS["normal"])


def test_plain_normal_exceeds_two_std():
    # P(|z| > 2) = 4.55% for a normal; the binomial SE with n = 1e5 is 0.07%.
    w = normal(SHAPE, rng=3, std=1.0)
    p, n = math.erfc(2 / math.sqrt(2)), w.size
    assert abs(np.mean(np.abs(w) > 2.0) - p) <= N_SE * math.sqrt(p * (1 - p) / n)


def test_normal_std_zero_is_constant_and_negative_std_raises():
    assert np.array_equal(normal((3, 3), rng=0, mean=1.5, std=0.0), np.full((3, 3), 1.5))
    with pytest.raises(ValueError, match="std"):
        normal((3, 3), rng=0, std=-0.1)


# --- truncated normal -------------------------------------------------------------

def test_truncated_std_factor_is_the_keras_jax_constant():
    assert truncated_std_factor(2.0) == pytest.approx(KERAS_TRUNCATION_CONSTANT, rel=1e-14)
    assert truncated_std_factor() == truncated_std_factor(2.0)


def test_truncated_std_factor_limits():
    # no truncation -> the normal itself; tiny cutoff -> U[-c, c], std c / sqrt(3)
    assert truncated_std_factor(40.0) == pytest.approx(1.0, abs=1e-15)
    assert truncated_std_factor(1e-3) == pytest.approx(1e-3 / math.sqrt(3), rel=1e-5)
    assert truncated_std_factor(1e-200) == pytest.approx(1e-200 / math.sqrt(3), rel=1e-12)  # no cancellation
    # the two formulas agree where they meet
    assert truncated_std_factor(0.01) == pytest.approx(truncated_std_factor(0.0100000001), rel=1e-7)
    # monotone in the cutoff
    factors = [truncated_std_factor(c) for c in (0.5, 1.0, 2.0, 3.0)]
    assert factors == sorted(factors)


@pytest.mark.parametrize("cutoff", [0.0, -1.0])
def test_truncated_std_factor_needs_positive_cutoff(cutoff):
    with pytest.raises(ValueError, match="cutoff"):
        truncated_std_factor(cutoff)


@pytest.mark.parametrize("mean, std, cutoff", [(0.0, 1.0, 2.0), (0.3, 0.05, 2.0), (0.0, 2.0, 1.0), (-1.0, 0.5, 3.0)])
def test_truncated_normal_bounds_and_std(mean, std, cutoff):
    w = truncated_normal(SHAPE, rng=4, mean=mean, std=std, cutoff=cutoff)
    lo, hi = mean - cutoff * std, mean + cutoff * std
    assert w.min() >= lo and w.max() <= hi
    # the density at the cut is not small, so both ends are reached closely
    assert w.min() <= lo + 0.01 * (hi - lo) and w.max() >= hi - 0.01 * (hi - lo)
    # std is the std *before* truncation: the draws have std * truncated_std_factor(cutoff).
    # (The normal's kurtosis 3 over-estimates the truncated one's: a conservative tolerance.)
    assert_mean_and_variance(w, mean, (std * truncated_std_factor(cutoff)) ** 2, KURTOSIS["normal"])


def test_truncated_normal_is_not_variance_corrected():
    # Like Keras' TruncatedNormal, the variance is 0.77 std**2, not std**2.
    w = truncated_normal(SHAPE, rng=5, std=1.0)
    assert w.var() == pytest.approx(KERAS_TRUNCATION_CONSTANT**2, rel=0.02)
    assert w.var() < 0.8


def test_truncated_normal_bad_arguments():
    with pytest.raises(ValueError, match="std"):
        truncated_normal((3, 3), rng=0, std=-1.0)
    with pytest.raises(ValueError, match="cutoff"):
        truncated_normal((3, 3), rng=0, cutoff=0.0)
