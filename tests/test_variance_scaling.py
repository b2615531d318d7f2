"""LeCun, Glorot/Xavier and He/Kaiming: Var(w) = scale / n, n from the fans.

Each initializer is checked on a dense layer and a 3x3 convolution, each in
both layouts ("in_out" as Keras/JAX, "out_in" as PyTorch): the sample mean and
variance must match the closed form within 6 standard errors (see
stats_helpers.py), a uniform must fill exactly [-bound, bound], and a
truncated normal must stay within 2 of its pre-truncation standard deviations
while still having the target variance.
"""
import math

import numpy as np
import pytest
from stats_helpers import KURTOSIS, N_SE, assert_fills_interval, assert_mean_and_variance

from winit_edu import (
    compute_fans,
    fan_for_mode,
    glorot_normal,
    glorot_uniform,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    pytorch_default,
    truncated_std_factor,
    variance_scaling,
)

KERAS_TRUNCATION_CONSTANT = 0.87962566103423978

# (id, shape, layout, fan_in, fan_out). Each pair is one layer written in both layouts.
LAYERS = [
    ("dense-in_out", (400, 250), "in_out", 400, 250),       # Keras Dense(250) on 400 inputs
    ("dense-out_in", (250, 400), "out_in", 400, 250),       # PyTorch nn.Linear(400, 250).weight
    ("conv-in_out", (3, 3, 64, 96), "in_out", 576, 864),    # Keras Conv2D kernel
    ("conv-out_in", (96, 64, 3, 3), "out_in", 576, 864),    # PyTorch nn.Conv2d(64, 96, 3).weight
]

# (id, init(shape, rng, layout), rule(fan_in, fan_out) -> (distribution, variance))
INITS = [
    ("lecun_uniform", lambda s, r, lay: lecun_uniform(s, r, layout=lay),
     lambda fi, fo: ("uniform", 1 / fi)),
    ("lecun_normal", lambda s, r, lay: lecun_normal(s, r, layout=lay),
     lambda fi, fo: ("normal", 1 / fi)),
    ("lecun_normal-truncated", lambda s, r, lay: lecun_normal(s, r, layout=lay, truncated=True),
     lambda fi, fo: ("truncated_normal", 1 / fi)),
    ("glorot_uniform", lambda s, r, lay: glorot_uniform(s, r, layout=lay),
     lambda fi, fo: ("uniform", 2 / (fi + fo))),
    ("glorot_uniform-gain", lambda s, r, lay: glorot_uniform(s, r, layout=lay, gain=5 / 3),
     lambda fi, fo: ("uniform", (5 / 3) ** 2 * 2 / (fi + fo))),
    ("glorot_normal", lambda s, r, lay: glorot_normal(s, r, layout=lay),
     lambda fi, fo: ("normal", 2 / (fi + fo))),
    ("glorot_normal-truncated", lambda s, r, lay: glorot_normal(s, r, layout=lay, truncated=True),
     lambda fi, fo: ("truncated_normal", 2 / (fi + fo))),
    ("he_uniform", lambda s, r, lay: he_uniform(s, r, layout=lay),
     lambda fi, fo: ("uniform", 2 / fi)),
    ("he_uniform-fan_out", lambda s, r, lay: he_uniform(s, r, layout=lay, mode="fan_out"),
     lambda fi, fo: ("uniform", 2 / fo)),
    ("he_normal", lambda s, r, lay: he_normal(s, r, layout=lay),
     lambda fi, fo: ("normal", 2 / fi)),
    ("he_normal-truncated", lambda s, r, lay: he_normal(s, r, layout=lay, truncated=True),
     lambda fi, fo: ("truncated_normal", 2 / fi)),
    ("he_normal-fan_out", lambda s, r, lay: he_normal(s, r, layout=lay, mode="fan_out"),
     lambda fi, fo: ("normal", 2 / fo)),
    ("he_normal-tanh", lambda s, r, lay: he_normal(s, r, layout=lay, nonlinearity="tanh"),
     lambda fi, fo: ("normal", (5 / 3) ** 2 / fi)),
    ("he_normal-leaky0.2", lambda s, r, lay: he_normal(s, r, layout=lay, nonlinearity="leaky_relu", param=0.2),
     lambda fi, fo: ("normal", 2 / (1 + 0.2**2) / fi)),
    ("variance_scaling-default", lambda s, r, lay: variance_scaling(s, r, layout=lay),
     lambda fi, fo: ("normal", 1 / fi)),
    ("variance_scaling-fan_avg-truncated",
     lambda s, r, lay: variance_scaling(s, r, scale=2.0, mode="fan_avg", distribution="truncated_normal", layout=lay),
     lambda fi, fo: ("truncated_normal", 2.0 / ((fi + fo) / 2))),
    ("variance_scaling-fan_out-uniform",
     lambda s, r, lay: variance_scaling(s, r, scale=0.5, mode="fan_out", distribution="uniform", layout=lay),
     lambda fi, fo: ("uniform", 0.5 / fo)),
    ("variance_scaling-untruncated_normal",
     lambda s, r, lay: variance_scaling(s, r, scale=3.0, distribution="untruncated_normal", layout=lay),
     lambda fi, fo: ("normal", 3.0 / fi)),
]


def check_distribution(w, distribution, var):
    """The moments, and the bounds that each distribution implies."""
    assert w.dtype == np.float64
    assert_mean_and_variance(w, 0.0, var, KURTOSIS[distribution])
    std = math.sqrt(var)
    if distribution == "uniform":
        bound = math.sqrt(3 * var)  # U[-a, a] has variance a**2 / 3
        assert_fills_interval(w, -bound, bound)
    elif distribution == "truncated_normal":
        # drawn as N(0, s**2) cut at +-2 s with s = std / 0.8796, so that Var(w) = var
        bound = 2 * std / KERAS_TRUNCATION_CONSTANT
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() >= 0.99 * bound  # ~2000 of 1e5 draws fall in the top 1%
    else:
        # a plain normal goes past 2 std about 4.55% of the time
        assert np.mean(np.abs(w) > 2 * std) > 0.04


@pytest.mark.parametrize("layer", LAYERS, ids=[layer[0] for layer in LAYERS])
@pytest.mark.parametrize("init", INITS, ids=[i[0] for i in INITS])
def test_moments_and_bounds(init, layer):
    _, fn, rule = init
    _, shape, layout, fan_in, fan_out = layer
    assert compute_fans(shape, layout) == (fan_in, fan_out)
    w = fn(shape, 0, layout)
    assert w.shape == shape
    distribution, var = rule(fan_in, fan_out)
    check_distribution(w, distribution, var)


# --- the frameworks' conventions, spelled out ---------------------------------------------

def test_pytorch_kaiming_normal_on_a_linear_weight():
    # torch.nn.init.kaiming_normal_(nn.Linear(512, 256).weight): shape (out, in), Var = 2 / in
    w = he_normal((256, 512), rng=0, layout="out_in")
    assert_mean_and_variance(w, 0.0, 2 / 512, KURTOSIS["normal"])
    # Reading the same tuple as Keras would (in=256) would give 2/256: clearly rejected.
    assert abs(w.var() - 2 / 256) > 10 * N_SE * (2 / 512) * math.sqrt(2 / w.size)


def test_pytorch_linear_default_is_a_third_of_lecun():
    # nn.Linear's default is kaiming_uniform_(a=sqrt(5)): U[-1/sqrt(in), 1/sqrt(in)],
    # i.e. variance_scaling(scale=1/3, mode="fan_in", distribution="uniform").
    n_in = 512
    bound = 1 / math.sqrt(n_in)
    w = variance_scaling((256, n_in), rng=0, scale=1 / 3, mode="fan_in", distribution="uniform", layout="out_in")
    assert_fills_interval(w, -bound, bound)
    assert_mean_and_variance(w, 0.0, 1 / (3 * n_in), KURTOSIS["uniform"])
    # He uniform with the leaky-ReLU gain for slope sqrt(5) is the same distribution, same draws.
    w2 = he_uniform((256, n_in), rng=0, layout="out_in", nonlinearity="leaky_relu", param=math.sqrt(5))
    np.testing.assert_allclose(w2, w, rtol=1e-12)


def test_glorot_uniform_bound():
    # Keras' default Dense kernel: U[-sqrt(6 / (in + out)), +...]
    w = glorot_uniform((300, 100), rng=0)
    assert_fills_interval(w, -math.sqrt(6 / 400), math.sqrt(6 / 400))


def test_lecun_uniform_and_he_uniform_bounds():
    w = lecun_uniform((300, 100), rng=0)
    assert_fills_interval(w, -math.sqrt(3 / 300), math.sqrt(3 / 300))
    w = he_uniform((300, 100), rng=0)
    assert_fills_interval(w, -math.sqrt(6 / 300), math.sqrt(6 / 300))


def test_truncated_variants_keep_the_target_variance():
    # Keras/JAX: VarianceScaling(distribution="truncated_normal") and HeNormal cut at 2
    # standard deviations of the *pre-truncation* normal and divide by 0.8796 first.
    shape, n = (500, 400), 500
    for w, scale in [
        (variance_scaling(shape, rng=1, scale=1.0, distribution="truncated_normal"), 1.0),
        (he_normal(shape, rng=1, truncated=True), 2.0),
    ]:
        assert_mean_and_variance(w, 0.0, scale / n, KURTOSIS["truncated_normal"])
        assert np.abs(w).max() <= 2 * math.sqrt(scale / n) / KERAS_TRUNCATION_CONSTANT
    # the constant the library uses is the Keras one
    assert truncated_std_factor(2.0) == pytest.approx(KERAS_TRUNCATION_CONSTANT, rel=1e-14)


def test_plain_normal_is_not_truncated():
    w = he_normal((500, 400), rng=1)  # PyTorch's kaiming_normal_: a plain normal
    assert np.abs(w).max() > 2 * math.sqrt(2 / 500) / KERAS_TRUNCATION_CONSTANT


def test_untruncated_normal_alias_is_the_normal():
    a = variance_scaling((50, 40), rng=7, distribution="untruncated_normal")
    b = variance_scaling((50, 40), rng=7, distribution="normal")
    assert np.array_equal(a, b)


def test_named_initializers_are_variance_scaling():
    # The table in the module docstring, as identities between functions (same seed, same draws).
    s = (60, 40)
    pairs = [
        (lecun_uniform(s, 3), variance_scaling(s, 3, scale=1.0, mode="fan_in", distribution="uniform")),
        (lecun_normal(s, 3), variance_scaling(s, 3, scale=1.0, mode="fan_in", distribution="normal")),
        (glorot_uniform(s, 3), variance_scaling(s, 3, scale=1.0, mode="fan_avg", distribution="uniform")),
        (glorot_normal(s, 3, truncated=True),
         variance_scaling(s, 3, scale=1.0, mode="fan_avg", distribution="truncated_normal")),
        (he_uniform(s, 3), variance_scaling(s, 3, scale=2.0, mode="fan_in", distribution="uniform")),
        (he_normal(s, 3, mode="fan_out"), variance_scaling(s, 3, scale=2.0, mode="fan_out", distribution="normal")),
    ]
    for a, b in pairs:
        np.testing.assert_allclose(a, b, rtol=1e-14)


@pytest.mark.parametrize("fn", [variance_scaling, lecun_uniform, lecun_normal, glorot_uniform, glorot_normal,
                                he_uniform, he_normal])
def test_options_are_keyword_only(fn):
    # shape, rng, then keyword-only options: a third positional value is an error, never ignored
    with pytest.raises(TypeError, match="positional"):
        fn((4, 4), 0, 2.0)


@pytest.mark.parametrize("fn", [he_uniform, he_normal])
def test_he_takes_pytorchs_a_for_the_slope(fn):
    a = fn((50, 40), rng=1, nonlinearity="leaky_relu", a=0.2)
    np.testing.assert_array_equal(a, fn((50, 40), rng=1, nonlinearity="leaky_relu", param=0.2))
    with pytest.raises(TypeError, match="not both"):
        fn((5, 4), rng=1, nonlinearity="leaky_relu", a=0.2, param=0.2)
    with pytest.raises(ValueError, match="a .*leaky_relu"):
        fn((5, 4), rng=1, a=0.2)  # the default nonlinearity is relu, which has no slope


def test_the_module_is_not_shadowed():
    import importlib

    import winit_edu

    vs = importlib.import_module("winit_edu.scaling")
    assert winit_edu.variance_scaling is vs.variance_scaling
    assert winit_edu.scaling is vs


# --- fan_for_mode ---------------------------------------------------------------------------

@pytest.mark.parametrize("shape, layout", [((100, 300), "in_out"), ((300, 100), "out_in"),
                                           ((3, 3, 10, 30), "in_out"), ((30, 10, 3, 3), "out_in")])
def test_fan_for_mode(shape, layout):
    fan_in, fan_out = compute_fans(shape, layout)
    assert fan_for_mode(shape, "fan_in", layout) == fan_in
    assert fan_for_mode(shape, "fan_out", layout) == fan_out
    assert fan_for_mode(shape, "fan_avg", layout) == (fan_in + fan_out) / 2
    assert isinstance(fan_for_mode(shape, layout=layout), float)


# --- bad input ---------------------------------------------------------------------------------

ALL_SCALING = [variance_scaling, lecun_uniform, lecun_normal, glorot_uniform, glorot_normal, he_uniform, he_normal]


@pytest.mark.parametrize("fn", ALL_SCALING)
def test_one_dimensional_or_bool_shapes_raise(fn):
    with pytest.raises(ValueError, match="shape"):
        fn((10,), rng=0)  # a bias shape: fans are undefined
    with pytest.raises(TypeError, match="shape"):
        fn((10, True), rng=0)


@pytest.mark.parametrize("fn", ALL_SCALING)
def test_unknown_layout_raises(fn):
    with pytest.raises(ValueError, match="layout must be one of"):
        fn((10, 10), rng=0, layout="NCHW")


@pytest.mark.parametrize("mode", ["fan_sum", "in", None])
def test_unknown_mode_raises(mode):
    with pytest.raises(ValueError, match="mode must be one of"):
        variance_scaling((10, 10), rng=0, mode=mode)
    with pytest.raises(ValueError, match="mode must be one of"):
        fan_for_mode((10, 10), mode)


@pytest.mark.parametrize("fn", [he_uniform, he_normal])
def test_he_has_no_fan_avg_mode(fn):
    with pytest.raises(ValueError, match="mode must be one of"):
        fn((10, 10), rng=0, mode="fan_avg")


@pytest.mark.parametrize("distribution", ["gaussian", "truncated", "Normal"])
def test_unknown_distribution_raises(distribution):
    with pytest.raises(ValueError, match="distribution must be one of"):
        variance_scaling((10, 10), rng=0, distribution=distribution)


@pytest.mark.parametrize("scale", [0.0, -1.0, math.inf])
def test_scale_must_be_positive_and_finite(scale):
    with pytest.raises(ValueError, match="scale"):
        variance_scaling((10, 10), rng=0, scale=scale)


def test_scale_must_be_a_number():
    with pytest.raises(TypeError, match="scale"):
        variance_scaling((10, 10), rng=0, scale="2")


@pytest.mark.parametrize("fn", [glorot_uniform, glorot_normal])
@pytest.mark.parametrize("gain", [0.0, -1.0])
def test_gain_must_be_positive(fn, gain):
    with pytest.raises(ValueError, match="gain"):
        fn((10, 10), rng=0, gain=gain)


@pytest.mark.parametrize("fn", [lecun_normal, glorot_normal, he_normal])
def test_truncated_must_be_a_bool(fn):
    with pytest.raises(TypeError, match="truncated"):
        fn((10, 10), rng=0, truncated="yes")


@pytest.mark.parametrize("fn", [he_uniform, he_normal])
def test_he_unknown_nonlinearity_raises(fn):
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        fn((10, 10), rng=0, nonlinearity="swish")


# --------------------------------------------------------------------------- PyTorch's default

@pytest.mark.parametrize("shape, layout", [((250, 160), "in_out"), ((160, 250), "out_in"), ((48, 16, 3, 3), "out_in")])
def test_pytorch_default_weight_is_kaiming_uniform_a_sqrt5(shape, layout):
    """U(+-1/sqrt(fan_in)), variance 1/(3 fan_in): the very numbers of he_uniform(a=sqrt(5))."""
    fan_in = compute_fans(shape, layout=layout)[0]
    w = pytorch_default(shape, rng=3, layout=layout)
    np.testing.assert_array_equal(w, he_uniform(shape, rng=3, a=math.sqrt(5), nonlinearity="leaky_relu", layout=layout))
    assert_fills_interval(w, -1 / math.sqrt(fan_in), 1 / math.sqrt(fan_in))
    assert_mean_and_variance(w, 0.0, 1 / (3 * fan_in), KURTOSIS["uniform"])


def test_pytorch_default_bias_takes_its_layers_fan_in():
    b = pytorch_default((40_000,), rng=0, fan_in=250)
    assert_fills_interval(b, -1 / math.sqrt(250), 1 / math.sqrt(250))
    assert_mean_and_variance(b, 0.0, 1 / (3 * 250), KURTOSIS["uniform"])
    # the same interval as a weight of that fan-in, drawn the same way
    np.testing.assert_array_equal(pytorch_default((250, 160), rng=1, fan_in=250), pytorch_default((250, 160), rng=1))


def test_pytorch_default_names_a_missing_or_bad_fan_in():
    with pytest.raises(ValueError, match="fan_in="):
        pytorch_default((16,), rng=0)
    with pytest.raises(ValueError, match="fan_in"):
        pytorch_default((16,), rng=0, fan_in=0)
    with pytest.raises(TypeError, match="fan_in"):
        pytorch_default((16,), rng=0, fan_in=2.5)
