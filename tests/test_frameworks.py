"""winit_edu's initializers against PyTorch, Keras 3 and JAX themselves.

The book computes with winit_edu and states which framework call each
function stands for. This module proves those equivalences by drawing from
both, in each framework's native layout, and comparing what a reader can
measure: fans (through the variance), bounds, variances and truncation.

It needs the frameworks, which the book does not: each framework's tests skip
cleanly when it is not installed. `.ci/run` installs the CPU builds
(`tests/frameworks-requirements.txt`) and runs this module with
``WINIT_REQUIRE_FRAMEWORKS=1``, which turns a missing framework into a failure
instead of a skip.

Tolerances. A sample variance of N independent draws has a relative standard
error sqrt((kurtosis - 1) / N): 0.9% for a normal and 0.6% for a uniform at
N = 25,000 draws. We accept 6 standard errors (`close_variance`), so a correct
pair fails with probability below 1e-8, while a factor error in a fan (a
third, a half, k*k) is off by hundreds of standard errors. Bounds are checked
exactly (no draw beyond the documented bound) and from below (the largest draw
within 1% of the bound: for 25,000 uniform draws the chance that all stay
below 99% of the bound is 0.99**25000, about 1e-109).
"""
import math
import os

import numpy as np
import pytest

import winit_edu as wi

N_SE = 6.0
REQUIRE = os.environ.get("WINIT_REQUIRE_FRAMEWORKS") == "1"


def framework(name):
    """Import a framework, or skip its tests (fail instead when WINIT_REQUIRE_FRAMEWORKS=1)."""
    if REQUIRE:
        import importlib

        return importlib.import_module(name)
    return pytest.importorskip(name)
DENSE_OUT_IN = (160, 250)          # (out, in): PyTorch's Linear weight
DENSE_IN_OUT = (250, 160)          # (in, out): Keras and JAX Dense kernels
CONV_OUT_IN = (48, 16, 3, 3)       # PyTorch Conv2d: (out, in, kh, kw), fan_in = 16*9 = 144
CONV_HWIO = (3, 3, 16, 48)         # Keras/JAX Conv2D kernel: (kh, kw, in, out)


def close_variance(sample, expected, kurtosis):
    """Sample variance within N_SE standard errors of `expected` (zero-mean draws)."""
    sample = np.asarray(sample, dtype=np.float64).ravel()
    se = expected * math.sqrt((kurtosis - 1.0) / sample.size)
    assert abs(sample.var() - expected) <= N_SE * se, (sample.var(), expected, se)


def fills_bound(sample, bound):
    """No draw beyond `bound`, and the largest draw within 1% of it."""
    top = float(np.abs(np.asarray(sample, dtype=np.float64)).max())
    assert top <= bound * (1 + 1e-6), (top, bound)
    assert top >= 0.99 * bound, (top, bound)


def truncated_kurtosis(c=2.0):
    """Kurtosis of a standard normal truncated to [-c, c] (for the variance tolerance)."""
    from scipy import stats

    return float(stats.truncnorm(-c, c).stats(moments="k")) + 3.0


# --------------------------------------------------------------------------- PyTorch

@pytest.fixture(scope="module")
def torch():
    torch = framework("torch")
    torch.manual_seed(0)
    return torch


def _torch_draw(torch, init, shape, **kwargs):
    w = torch.empty(shape, dtype=torch.float64)
    init(w, **kwargs)
    return w.numpy()


@pytest.mark.parametrize("shape", [DENSE_OUT_IN, CONV_OUT_IN])
def test_torch_linear_and_conv_default_is_a_third_of_lecun(torch, shape):
    """nn.Linear / nn.Conv2d: kaiming_uniform_(a=sqrt(5)) = U(+-1/sqrt(fan_in)), variance 1/(3 fan_in)."""
    fan_in = wi.compute_fans(shape, layout="out_in")[0]
    ref = _torch_draw(torch, torch.nn.init.kaiming_uniform_, shape, a=math.sqrt(5))
    ours = wi.he_uniform(shape, rng=0, a=math.sqrt(5), nonlinearity="leaky_relu", layout="out_in")
    for w in (ref, ours):
        fills_bound(w, 1 / math.sqrt(fan_in))
        close_variance(w, 1 / (3 * fan_in), kurtosis=1.8)
    # the layer itself, not only the init function
    layer = torch.nn.Linear(250, 160, dtype=torch.float64) if len(shape) == 2 else \
        torch.nn.Conv2d(16, 48, 3, dtype=torch.float64)
    fills_bound(layer.weight.detach().numpy(), 1 / math.sqrt(fan_in))
    fills_bound(layer.bias.detach().numpy(), 1 / math.sqrt(fan_in))   # bias U(+-1/sqrt(fan_in))


def test_torch_linear_stack_and_pytorch_default(torch):
    """MLP(weight_init=bias_init="pytorch_default") draws what a stack of nn.Linear layers draws, layer by layer."""
    sizes, n = [40, 250, 30, 7], 150           # widths that differ, so every layer has its own fan-in
    net = wi.MLP(sizes, weight_init="pytorch_default", bias_init="pytorch_default", seeds=range(n))
    layers = [[torch.nn.Linear(a, b, dtype=torch.float64) for a, b in zip(sizes[:-1], sizes[1:])] for _ in range(n)]
    for l, fan_in in enumerate(sizes[:-1]):
        theirs_w = np.stack([stack[l].weight.detach().numpy().T for stack in layers])  # (out, in) -> (in, out)
        theirs_b = np.stack([stack[l].bias.detach().numpy() for stack in layers])
        for w in (net.weights[l], theirs_w, net.biases[l], theirs_b):
            fills_bound(w, 1 / math.sqrt(fan_in))
            close_variance(w, 1 / (3 * fan_in), kurtosis=1.8)


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize("nonlinearity", ["relu", "tanh", "linear", "selu"])
@pytest.mark.parametrize("shape", [DENSE_OUT_IN, CONV_OUT_IN])
def test_torch_kaiming(torch, shape, nonlinearity, mode):
    fan = wi.fan_for_mode(shape, mode, layout="out_in")
    var = wi.calculate_gain(nonlinearity) ** 2 / fan
    for torch_init, ours, kurt in [(torch.nn.init.kaiming_normal_, wi.he_normal, 3.0),
                                   (torch.nn.init.kaiming_uniform_, wi.he_uniform, 1.8)]:
        ref = _torch_draw(torch, torch_init, shape, mode=mode, nonlinearity=nonlinearity)
        mine = ours(shape, rng=1, mode=mode, nonlinearity=nonlinearity, layout="out_in")
        for w in (ref, mine):
            close_variance(w, var, kurt)
            if kurt == 1.8:
                fills_bound(w, math.sqrt(3 * var))


@pytest.mark.parametrize("shape", [DENSE_OUT_IN, CONV_OUT_IN])
def test_torch_xavier(torch, shape):
    fan_in, fan_out = wi.compute_fans(shape, layout="out_in")
    var = 2 / (fan_in + fan_out)
    ref_u = _torch_draw(torch, torch.nn.init.xavier_uniform_, shape)
    ref_n = _torch_draw(torch, torch.nn.init.xavier_normal_, shape)
    close_variance(ref_u, var, 1.8)
    close_variance(wi.glorot_uniform(shape, rng=2, layout="out_in"), var, 1.8)
    fills_bound(ref_u, math.sqrt(3 * var))
    fills_bound(wi.glorot_uniform(shape, rng=2, layout="out_in"), math.sqrt(3 * var))
    close_variance(ref_n, var, 3.0)
    close_variance(wi.glorot_normal(shape, rng=3, layout="out_in"), var, 3.0)


def test_torch_plain_distributions_defaults(torch):
    """uniform_ is U[0, 1), normal_ is N(0, 1): neither scales with the layer."""
    u = _torch_draw(torch, torch.nn.init.uniform_, DENSE_OUT_IN)
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < N_SE * math.sqrt(1 / 12 / u.size)
    close_variance(u - 0.5, 1 / 12, 1.8)
    close_variance(wi.uniform(DENSE_OUT_IN, rng=4, low=0.0, high=1.0) - 0.5, 1 / 12, 1.8)
    close_variance(_torch_draw(torch, torch.nn.init.normal_, DENSE_OUT_IN), 1.0, 3.0)
    close_variance(wi.normal(DENSE_OUT_IN, rng=5, std=1.0), 1.0, 3.0)


@pytest.mark.parametrize("std", [1.0, 0.02])
def test_torch_trunc_normal_cuts_at_absolute_bounds(torch, std):
    """trunc_normal_(std, a=-2, b=2): the bounds are absolute, and the std is not corrected.
    At std=1 that is winit_edu's cut at 2 std; at std=0.02 nothing is cut at all."""
    ref = _torch_draw(torch, torch.nn.init.trunc_normal_, DENSE_OUT_IN, std=std)
    cutoff = 2.0 / std                                     # the absolute bound 2, in units of std
    mine = wi.truncated_normal(DENSE_OUT_IN, rng=6, std=std, cutoff=min(cutoff, 40.0))
    factor = wi.truncated_std_factor(min(cutoff, 40.0))
    kurt = truncated_kurtosis(min(cutoff, 40.0))
    for w in (ref, mine):
        assert np.abs(w).max() <= 2.0
        close_variance(w, (std * factor) ** 2, kurt)
    if std == 1.0:
        fills_bound(ref, 2.0)


def test_torch_orthogonal_and_sparse(torch):
    ref = _torch_draw(torch, torch.nn.init.orthogonal_, DENSE_OUT_IN)        # (out, in) with out < in: orthonormal rows
    mine = wi.orthogonal(DENSE_OUT_IN, rng=7, layout="out_in")
    for w in (ref, mine):
        np.testing.assert_allclose(w @ w.T, np.eye(DENSE_OUT_IN[0]), atol=1e-10)
    w = _torch_draw(torch, torch.nn.init.sparse_, DENSE_OUT_IN, sparsity=0.9, std=0.01)
    zeros_per_column = (w == 0).sum(axis=0)                                   # torch zeroes rows of each column
    assert np.all(zeros_per_column == math.ceil(0.9 * DENSE_OUT_IN[0]))


@pytest.mark.parametrize("ours, theirs", [("linear", "linear"), ("linear", "conv2d"), ("sigmoid", "sigmoid"),
                                         ("tanh", "tanh"), ("relu", "relu"), ("selu", "selu")])
def test_torch_calculate_gain(torch, ours, theirs):
    assert wi.calculate_gain(ours) == pytest.approx(torch.nn.init.calculate_gain(theirs), rel=1e-12)


def test_torch_leaky_gain(torch):
    for a in (0.01, 0.2, math.sqrt(5)):
        assert wi.calculate_gain("leaky_relu", a) == pytest.approx(
            torch.nn.init.calculate_gain("leaky_relu", a), rel=1e-12)


def test_torch_depthwise_fans(torch):
    """Chapter 9: PyTorch's fans of a depthwise weight (C, 1, k, k). The fan-in is the true k*k; the fan-out
    comes out as C*k*k, C times the true k*k (each input channel feeds only its own k*k outputs). So
    kaiming_normal_(mode="fan_out"), which torchvision's MobileNets and EfficientNets call on every conv, draws
    Var(w) = 2 / (C k k): the true fan-in (and fan-out) times Var(w) is 2 / C, 1/16 at C = 32, not He's 2."""
    c, k = 32, 3
    conv = torch.nn.Conv2d(c, c, k, groups=c, dtype=torch.float64)
    assert tuple(conv.weight.shape) == (c, 1, k, k)
    fans = torch.nn.init._calculate_fan_in_and_fan_out(conv.weight)
    assert fans == (k * k, c * k * k) == wi.compute_fans((c, 1, k, k), layout="out_in")
    var = 2 / (c * k * k)
    assert k * k * var == pytest.approx(1 / 16, rel=1e-12)
    n = 100                                       # 100 weights of 288 entries: 28,800 draws
    ref = np.stack([_torch_draw(torch, torch.nn.init.kaiming_normal_, (c, 1, k, k), mode="fan_out") for _ in range(n)])
    mine = np.stack([wi.he_normal((c, 1, k, k), rng=s, mode="fan_out", layout="out_in") for s in range(n)])
    for w in (ref, mine):
        close_variance(w, var, 3.0)


# --------------------------------------------------------------------------- Keras 3

@pytest.fixture(scope="module")
def keras():
    os.environ.setdefault("KERAS_BACKEND", "jax" if _has("jax") else "torch")
    return framework("keras")


def _has(name):
    import importlib.util

    return importlib.util.find_spec(name) is not None


def _keras_draw(init, shape):
    return np.asarray(init(shape, dtype="float32"), dtype=np.float64)


@pytest.mark.parametrize("shape", [DENSE_IN_OUT, CONV_HWIO])
def test_keras_variance_scaling_family(keras, shape):
    """Glorot, He and LeCun in Keras are VarianceScaling(scale, mode, distribution); the normal
    ones are truncated at 2 std with the std corrected by 0.8796, so the variance is scale / n."""
    k = keras.initializers
    fan_in, fan_out = wi.compute_fans(shape, layout="in_out")
    kurt_t = truncated_kurtosis(2.0)
    cases = [  # keras initializer, winit_edu equivalent, variance, kurtosis, uniform?
        (k.GlorotUniform(seed=0), wi.glorot_uniform(shape, rng=0), 2 / (fan_in + fan_out), 1.8, True),
        (k.GlorotNormal(seed=0), wi.glorot_normal(shape, rng=0, truncated=True), 2 / (fan_in + fan_out), kurt_t, False),
        (k.HeUniform(seed=0), wi.he_uniform(shape, rng=0), 2 / fan_in, 1.8, True),
        (k.HeNormal(seed=0), wi.he_normal(shape, rng=0, truncated=True), 2 / fan_in, kurt_t, False),
        (k.LecunUniform(seed=0), wi.lecun_uniform(shape, rng=0), 1 / fan_in, 1.8, True),
        (k.LecunNormal(seed=0), wi.lecun_normal(shape, rng=0, truncated=True), 1 / fan_in, kurt_t, False),
        (k.VarianceScaling(scale=3.0, mode="fan_out", distribution="untruncated_normal", seed=0),
         wi.variance_scaling(shape, rng=0, scale=3.0, mode="fan_out"), 3 / fan_out, 3.0, False),
    ]
    for init, mine, var, kurt, is_uniform in cases:
        ref = _keras_draw(init, shape)
        for w in (ref, mine):
            close_variance(w, var, kurt)
            if is_uniform:
                fills_bound(w, math.sqrt(3 * var))
            elif kurt == kurt_t:
                bound = 2 * math.sqrt(var) / wi.truncated_std_factor(2.0)
                assert np.abs(w).max() <= bound * (1 + 1e-5)


def test_keras_plain_distributions_defaults(keras):
    """RandomUniform is U(-0.05, 0.05), RandomNormal N(0, 0.05^2), TruncatedNormal cuts N(0, 0.05^2)
    at 2 std *without* correcting the std."""
    k = keras.initializers
    u = _keras_draw(k.RandomUniform(seed=0), DENSE_IN_OUT)
    fills_bound(u, 0.05)
    close_variance(wi.uniform(DENSE_IN_OUT, rng=0), 0.05**2 / 3, 1.8)
    close_variance(_keras_draw(k.RandomNormal(seed=0), DENSE_IN_OUT), 0.05**2, 3.0)
    close_variance(wi.normal(DENSE_IN_OUT, rng=0), 0.05**2, 3.0)
    factor, kurt = wi.truncated_std_factor(2.0), truncated_kurtosis(2.0)
    for w in (_keras_draw(k.TruncatedNormal(seed=0), DENSE_IN_OUT), wi.truncated_normal(DENSE_IN_OUT, rng=0)):
        assert np.abs(w).max() <= 0.1 * (1 + 1e-6)
        close_variance(w, (0.05 * factor) ** 2, kurt)


def test_keras_dense_default_and_orthogonal(keras):
    layer = keras.layers.Dense(160)
    layer.build((None, 250))
    kernel, bias = (np.asarray(v, dtype=np.float64) for v in (layer.kernel, layer.bias))
    assert kernel.shape == DENSE_IN_OUT and np.all(bias == 0)
    fills_bound(kernel, math.sqrt(6 / (250 + 160)))                       # glorot_uniform
    w = _keras_draw(keras.initializers.Orthogonal(seed=0), DENSE_IN_OUT)   # (in, out), in > out: orthonormal columns
    np.testing.assert_allclose(w.T @ w, np.eye(160), atol=1e-5)            # float32
    mine = wi.orthogonal(DENSE_IN_OUT, rng=0)
    np.testing.assert_allclose(mine.T @ mine, np.eye(160), atol=1e-10)


def test_keras_depthwise_fan_in(keras):
    """Chapter 9: Keras' DepthwiseConv2D kernel is (k, k, C, 1), and the fan rule reads C as the input axis:
    fan-in C*k*k, C times the true k*k. HeNormal there has the variance 2 / (C k k); the default GlorotUniform
    the bound sqrt(6 / (C k k + k k))."""
    c, k = 32, 3
    layer = keras.layers.DepthwiseConv2D(k)
    layer.build((None, 8, 8, c))
    kernel = np.asarray(layer.kernel, dtype=np.float64)
    assert kernel.shape == (k, k, c, 1)
    assert wi.compute_fans(kernel.shape, layout="in_out") == (c * k * k, k * k)
    assert np.abs(kernel).max() <= math.sqrt(6 / (c * k * k + k * k)) * (1 + 1e-6)      # glorot_uniform with those fans
    n = 100                                       # 100 kernels of 288 entries
    ref = np.stack([_keras_draw(keras.initializers.HeNormal(seed=s), (k, k, c, 1)) for s in range(n)])
    close_variance(ref, 2 / (c * k * k), truncated_kurtosis(2.0))
    close_variance(np.stack([wi.he_normal((k, k, c, 1), rng=s, truncated=True) for s in range(n)]), 2 / (c * k * k),
                   truncated_kurtosis(2.0))


# --------------------------------------------------------------------------- JAX

@pytest.fixture(scope="module")
def jax():
    jax = framework("jax")
    jax.config.update("jax_enable_x64", True)
    return jax


@pytest.mark.parametrize("shape", [DENSE_IN_OUT, CONV_HWIO])
def test_jax_initializers(jax, shape):
    init = jax.nn.initializers
    key = jax.random.PRNGKey(0)
    fan_in, fan_out = wi.compute_fans(shape, layout="in_out")
    kurt_t = truncated_kurtosis(2.0)
    draw = lambda f: np.asarray(f(key, shape, jax.numpy.float64))  # noqa: E731
    # lecun_normal (Flax Dense's default kernel) is truncated, std-corrected
    for w in (draw(init.lecun_normal()), wi.lecun_normal(shape, rng=0, truncated=True)):
        close_variance(w, 1 / fan_in, kurt_t)
    for w in (draw(init.glorot_uniform()), wi.glorot_uniform(shape, rng=0)):
        close_variance(w, 2 / (fan_in + fan_out), 1.8)
        fills_bound(w, math.sqrt(6 / (fan_in + fan_out)))
    for w in (draw(init.he_normal()), wi.he_normal(shape, rng=0, truncated=True)):
        close_variance(w, 2 / fan_in, kurt_t)
    for w in (draw(init.variance_scaling(2.0, "fan_avg", "normal")),
              wi.variance_scaling(shape, rng=0, scale=2.0, mode="fan_avg")):
        close_variance(w, 4 / (fan_in + fan_out), 3.0)


def test_jax_plain_distributions_are_one_sided_or_small(jax):
    """jax.nn.initializers.uniform(0.01) is U[0, 0.01): one-sided, not centred."""
    key = jax.random.PRNGKey(1)
    u = np.asarray(jax.nn.initializers.uniform()(key, DENSE_IN_OUT, jax.numpy.float64))
    assert u.min() >= 0 and u.max() < 0.01 and u.max() > 0.0099
    mine = wi.uniform(DENSE_IN_OUT, rng=0, low=0.0, high=0.01)
    close_variance(u - 0.005, 0.01**2 / 12, 1.8)
    close_variance(mine - 0.005, 0.01**2 / 12, 1.8)
    n = np.asarray(jax.nn.initializers.normal()(key, DENSE_IN_OUT, jax.numpy.float64))
    close_variance(n, 0.01**2, 3.0)


def test_jax_depthwise_fans(jax):
    """Chapter 9: jax.nn.initializers with the default axes (in_axis=-2, out_axis=-1) read a Keras-style depthwise
    kernel (k, k, C, 1) with fan-in C*k*k, and Flax's grouped kernel (k, k, 1, C) with fan-in k*k, fan-out C*k*k."""
    c, k = 32, 3
    init = jax.nn.initializers
    keys = jax.random.split(jax.random.PRNGKey(2), 100)
    draw = lambda f, shape: np.stack([np.asarray(f(key, shape, jax.numpy.float64)) for key in keys])  # noqa: E731
    close_variance(draw(init.he_normal(), (k, k, c, 1)), 2 / (c * k * k), truncated_kurtosis(2.0))
    close_variance(draw(init.lecun_normal(), (k, k, 1, c)), 1 / (k * k), truncated_kurtosis(2.0))   # Flax's default
    close_variance(draw(init.variance_scaling(2.0, "fan_out", "normal"), (k, k, 1, c)), 2 / (c * k * k), 3.0)
