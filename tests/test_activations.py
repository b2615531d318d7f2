"""Activations and their derivatives ``df(z, h)`` with ``h = f(z)``."""
import importlib
import math
import os

import numpy as np
import pytest

from winit_edu import ACTIVATIONS, Activation, derivative, get_activation
from winit_edu.activations import SELU_ALPHA, SELU_SCALE


def central_difference(f, z, eps=1e-6):
    return (f(z + eps) - f(z - eps)) / (2 * eps)


def points_away_from_kinks(n=2000, seed=0):
    """Points in [-6, 6] at least 1e-3 from 0 (where relu, leaky_relu, selu have kinks)."""
    z = np.random.default_rng(seed).uniform(-6, 6, n)
    return z[np.abs(z) > 1e-3]


def test_activation_names():
    assert ACTIVATIONS == ("linear", "identity", "sigmoid", "tanh", "scaled_tanh", "relu", "leaky_relu", "selu",
                           "gelu", "silu", "gelu_tanh")


def test_gelu_and_silu_values():
    # GELU(z) = z Phi(z): Phi(1) = 0.8413447460685429; SiLU(z) = z / (1 + e^-z)
    z = np.array([-1.0, 0.0, 1.0, 3.0])
    np.testing.assert_allclose(get_activation("gelu")(z), z * 0.5 * (1 + np.vectorize(math.erf)(z / math.sqrt(2))),
                               rtol=1e-14, atol=1e-16)
    assert math.isclose(get_activation("gelu")(np.array(1.0)), 0.8413447460685429, rel_tol=1e-14)
    np.testing.assert_allclose(get_activation("silu")(z), z / (1 + np.exp(-z)), rtol=1e-14, atol=1e-16)


def torch_or_skip():
    if os.environ.get("WINIT_REQUIRE_FRAMEWORKS") == "1":
        return importlib.import_module("torch")
    return pytest.importorskip("torch")


def test_gelu_tanh_is_the_documented_formula_and_close_to_the_exact_gelu():
    z = np.array([-3.0, -1.0, -0.1, 0.0, 0.5, 1.0, 4.0])
    formula = 0.5 * z * (1 + np.tanh(math.sqrt(2 / math.pi) * (z + 0.044715 * z**3)))
    np.testing.assert_allclose(get_activation("gelu_tanh")(z), formula, rtol=1e-15, atol=1e-17)
    # Hendrycks and Gimpel's approximation: within 5e-4 of z Phi(z) everywhere (largest gap ~4.7e-4 near |z| = 2)
    z = np.linspace(-12, 12, 24_001)
    gap = np.abs(get_activation("gelu_tanh")(z) - get_activation("gelu")(z))
    assert 4e-4 < gap.max() < 5e-4


def test_gelu_tanh_matches_torch_and_its_autograd():
    torch = torch_or_skip()
    act = get_activation("gelu_tanh")
    z = np.concatenate([np.linspace(-12, 12, 4801), [-1e3, 1e3, 1e30]])
    zt = torch.tensor(z, requires_grad=True)
    ref = torch.nn.functional.gelu(zt, approximate="tanh")
    ref.sum().backward()
    # for z < -7 both are rounding noise: 1 + tanh(...) and 1 - tanh(...)^2 are below float64's 1.1e-16 and
    # multiplied by z (and by 1 + 3 * 0.044715 z^2 ~ 8 in f'), hence an absolute floor
    np.testing.assert_allclose(act(z), ref.detach().numpy(), rtol=1e-14, atol=1e-15)
    np.testing.assert_allclose(act.df(z, act(z)), zt.grad.numpy(), rtol=1e-13, atol=1e-14)
    z32 = np.linspace(-6, 6, 121, dtype=np.float32)
    ref32 = torch.nn.functional.gelu(torch.from_numpy(z32), approximate="tanh").numpy()
    np.testing.assert_allclose(act(z32), ref32, rtol=1e-6, atol=1e-6)  # the same tail noise at float32 eps * |z|


def test_gelu_tanh_is_finite_and_quiet_for_huge_inputs():
    act = get_activation("gelu_tanh")
    z = np.array([-1e300, -1e20, -50.0, 50.0, 1e20, 1e300])
    with np.errstate(all="raise"):  # no overflow of z**3 (nor inf * 0 = nan in the derivative)
        h = act(z)
        dh = act.df(z, h)
    np.testing.assert_array_equal(h, [-0.0, -0.0, -0.0, 50.0, 1e20, 1e300])
    np.testing.assert_array_equal(dh, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0])
    z32 = np.array([-1e30, 1e30], dtype=np.float32)
    with np.errstate(all="raise"):
        assert act.df(z32, act(z32)).tolist() == [0.0, 1.0]


def test_identity_is_linear_and_has_a_gain():
    # one table of names: every activation a network accepts has a gain
    from winit_edu import MLP, calculate_gain

    z = np.array([-2.0, 0.5])
    np.testing.assert_array_equal(get_activation("identity")(z), z)
    assert MLP([2, 3, 2], activation="identity", seeds=0).activations[0].name == "identity"
    for name in ACTIVATIONS:
        assert calculate_gain(name) > 0


def test_leaky_relu_is_one_function():
    from winit_edu.activations import leaky_relu

    act = get_activation("leaky_relu", slope=0.2)
    z = np.array([-3.0, 0.0, 2.0])
    np.testing.assert_array_equal(act(z), leaky_relu(z, slope=0.2))
    np.testing.assert_array_equal(act.df(z, act(z)), [0.2, 0.2, 1.0])
    assert act.df(z.astype(np.float32), act(z)).dtype == np.float32


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_derivative_matches_finite_differences(name):
    act = get_activation(name)
    z = points_away_from_kinks()
    # central differences have error ~eps**2 |f'''| + rounding ~1e-16/eps: 1e-8 is plenty
    np.testing.assert_allclose(act.df(z, act.f(z)), central_difference(act.f, z), rtol=0, atol=1e-8)


@pytest.mark.parametrize("slope", [0.01, 0.2, 0.0])
def test_leaky_relu_slope(slope):
    act = get_activation("leaky_relu", slope=slope)
    z = np.array([-2.0, -0.5, 0.5, 2.0])
    np.testing.assert_array_equal(act(z), [-2 * slope, -0.5 * slope, 0.5, 2.0])
    np.testing.assert_array_equal(act.df(z, act(z)), [slope, slope, 1.0, 1.0])
    np.testing.assert_allclose(act.df(z, act(z)), central_difference(act.f, z), atol=1e-9)
    assert act.name == f"leaky_relu({slope:g})"


def test_derivative_function():
    np.testing.assert_array_equal(derivative("relu", [-1.0, 0.0, 2.0]), [0.0, 0.0, 1.0])  # relu'(0) = 0
    np.testing.assert_allclose(derivative("leaky_relu", [-1.0, 2.0], slope=0.3), [0.3, 1.0])
    np.testing.assert_allclose(derivative("tanh", [0.0, 1.0]), [1.0, 1 - math.tanh(1.0) ** 2])
    np.testing.assert_allclose(derivative("sigmoid", [0.0]), [0.25])


def test_values_at_known_points():
    z = np.array([-1.0, 0.0, 1.0])
    np.testing.assert_allclose(get_activation("sigmoid")(z), 1 / (1 + np.exp(-z)), rtol=1e-15)
    np.testing.assert_array_equal(get_activation("relu")(z), [0.0, 0.0, 1.0])
    np.testing.assert_array_equal(get_activation("linear")(z), z)
    # LeCun's scaled tanh 1.7159 tanh(2z/3) maps +-1 to +-1
    np.testing.assert_allclose(get_activation("scaled_tanh")(z), z, atol=1e-4)


def test_relu_is_numpys_maximum_with_zero_to_the_bit():
    # relu takes the maximum against an array of zeros (vectorized in numpy, unlike against the scalar 0):
    # the same values, signs of zero, nan and infinities, dtype and shape as np.maximum(z, 0.0)
    from winit_edu.activations import relu
    rng = np.random.default_rng(0)
    special = [0.0, -0.0, np.nan, np.inf, -np.inf, 1e-40, -1e-40, 3.5, -3.5]
    cases = [np.array(special + list(rng.standard_normal(23)), dtype=dt).reshape(2, 4, 4)
             for dt in (np.float16, np.float32, np.float64)]
    cases += [np.arange(-3, 4), np.array([True, False]), [-1.0, 2.0], [[-1, 2]], np.zeros((0, 3), np.float32)]
    for z in cases:
        got, want = relu(z), np.maximum(z, 0.0)
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8))
    for z in (-2.0, 3.0, np.float32(-1.0), np.array(np.nan)):  # scalars stay scalars
        assert type(relu(z)) is type(np.maximum(z, 0.0))
        np.testing.assert_array_equal(relu(z), np.maximum(z, 0.0))
    masked = np.ma.masked_array([-1.0, 2.0, 3.0], mask=[False, True, False])  # a subclass keeps what numpy gives it
    assert isinstance(relu(masked), np.ma.MaskedArray)
    np.testing.assert_array_equal(np.ma.getmaskarray(relu(masked)), [False, True, False])
    np.testing.assert_array_equal(relu(masked).filled(-9.0), [0.0, -9.0, 3.0])


def test_sigmoid_does_not_overflow():
    act = get_activation("sigmoid")
    z = np.array([-1000.0, 1000.0])
    with np.errstate(all="raise"):
        h = act(z)
        dh = act.df(z, h)
    np.testing.assert_array_equal(h, [0.0, 1.0])
    np.testing.assert_array_equal(dh, [0.0, 0.0])


def test_selu_constants():
    # Klambauer et al. (2017), to double precision
    assert SELU_ALPHA == pytest.approx(1.6732632423543772, rel=1e-15)
    assert SELU_SCALE == pytest.approx(1.0507009873554805, rel=1e-15)
    selu = get_activation("selu")
    assert selu(np.array(1.0)) == pytest.approx(SELU_SCALE)
    assert selu(np.array(-50.0)) == pytest.approx(-SELU_SCALE * SELU_ALPHA)
    # They are chosen so that (mean 0, variance 1) is a fixed point for z ~ N(0, 1).
    # Trapezoid rule on a fine grid (the kink at 0 is on a grid point): error << 1e-8.
    x = np.linspace(-12, 12, 240_001)
    pdf = np.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    assert abs(np.trapezoid(selu(x) * pdf, x)) < 1e-8
    assert np.trapezoid(selu(x) ** 2 * pdf, x) == pytest.approx(1.0, abs=1e-8)


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_float32_in_float32_out(name):
    act = get_activation(name)
    z = np.linspace(-3, 3, 11, dtype=np.float32)
    assert act(z).dtype == np.float32
    assert act.df(z, act(z)).dtype == np.float32


def test_activation_object():
    act = get_activation("tanh")
    assert isinstance(act, Activation)
    assert get_activation(act) is act
    assert repr(act) == "Activation('tanh')"
    assert act(np.array(0.5)) == pytest.approx(math.tanh(0.5))
    custom = Activation("cube", lambda z: z**3, lambda z, h: 3 * z**2)
    assert get_activation(custom) is custom


def test_unknown_activation_raises():
    with pytest.raises(ValueError, match="activation must be one of"):
        get_activation("swish")
    with pytest.raises(TypeError, match="name"):
        get_activation(np.tanh)
    with pytest.raises(TypeError, match="slope"):
        get_activation("leaky_relu", slope="0.1")
