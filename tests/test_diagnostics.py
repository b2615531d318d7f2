"""Per-layer statistics computed from an MLP trace."""
import numpy as np
import pytest

from winit_edu import MLP
from winit_edu.diagnostics import (
    dead_fraction,
    gradient_norms,
    layer_means,
    layer_rms,
    layer_stds,
    saturation_fraction,
    summarize,
)


def test_layer_means_stds_rms():
    arrays = [np.array([1.0, -1.0]), np.array([[3.0, 4.0], [3.0, 4.0]])]
    np.testing.assert_array_equal(layer_means(arrays), [0.0, 3.5])
    np.testing.assert_array_equal(layer_stds(arrays), [1.0, 0.5])
    np.testing.assert_allclose(layer_rms(arrays), [1.0, np.sqrt(12.5)])


def test_saturation_fraction_tanh_and_sigmoid_agree():
    z = np.random.default_rng(0).normal(0, 3, 10_000)
    tanh_sat = saturation_fraction(np.tanh(z / 2), "tanh")
    # sigmoid(z) = (1 + tanh(z/2)) / 2: the same units are saturated
    sigmoid_sat = saturation_fraction(0.5 * (1 + np.tanh(z / 2)), "sigmoid")
    assert tanh_sat == pytest.approx(sigmoid_sat)
    assert 0 < tanh_sat < 1
    assert saturation_fraction(np.array([0.5, 0.96, -0.97]), threshold=0.95) == pytest.approx(2 / 3)


def test_saturation_fraction_bad_arguments():
    with pytest.raises(ValueError, match="activation"):
        saturation_fraction(np.zeros(3), "relu")
    with pytest.raises(ValueError, match="threshold"):
        saturation_fraction(np.zeros(3), threshold=1.0)


def test_dead_fraction():
    # unit 0 is negative on every example (dead), unit 1 is alive on one example
    z = np.array([[-1.0, -2.0], [-0.5, 3.0], [0.0, -1.0]])
    assert dead_fraction(z) == 0.5
    assert dead_fraction(np.stack([z, -np.abs(z)])) == 0.75  # pooled over members
    assert dead_fraction(z.T, axis=-1) == 0.5


def test_gradient_norms():
    grads = [np.ones((2, 3, 4)), np.zeros((2, 5))]
    np.testing.assert_allclose(gradient_norms(grads), [[np.sqrt(12), 0.0], [np.sqrt(12), 0.0]])


@pytest.mark.parametrize("activation, extra", [("tanh", "saturation"), ("sigmoid", "saturation"), ("relu", "dead")])
def test_summarize(activation, extra):
    net = MLP([4, 8, 8, 3], activation=activation, seeds=[0, 1])
    X = np.random.default_rng(0).normal(size=(16, 4))
    forward_only = summarize(net.trace(X), activation)
    assert set(forward_only) == {"pre_std", "act_mean", "act_std", extra}
    assert forward_only["pre_std"].shape == (3,) and forward_only["act_std"].shape == (2,)
    assert forward_only[extra].shape == (2,)

    t = net.trace(X, labels=np.arange(16) % 3)
    table = summarize(t, activation)
    assert {"grad_std", "weight_grad_norm"} <= set(table)
    np.testing.assert_allclose(table["weight_grad_norm"], gradient_norms(t.grad_weights).mean(axis=0))
    np.testing.assert_allclose(table["pre_std"], [z.std() for z in t.pre_activations])


def test_per_member_statistics_keep_one_row_per_member():
    rng = np.random.default_rng(0)
    arrays = [rng.normal(size=(3, 5, 4)).astype(np.float32), rng.normal(size=(3, 5, 2))]
    for fn, stat in [(layer_means, np.mean), (layer_stds, np.std),
                     (layer_rms, lambda x: np.sqrt(np.mean(np.square(x))))]:
        out = fn(arrays, per_member=True)
        assert out.shape == (3, 2) and out.dtype == np.float64
        expected = [[stat(a[s].astype(np.float64)) for a in arrays] for s in range(3)]
        np.testing.assert_allclose(out, expected, rtol=1e-12)


def test_per_member_needs_an_ensemble_axis_and_a_bool():
    with pytest.raises(ValueError, match="ensemble axis"):
        layer_means([np.ones(3)], per_member=True)
    with pytest.raises(TypeError, match="per_member"):
        layer_stds([np.ones((2, 3))], per_member="yes")


@pytest.mark.parametrize("fn", [layer_means, layer_stds, layer_rms])
def test_layer_statistics_refuse_what_is_not_a_list_of_layers(fn):
    with pytest.raises(TypeError, match="arrays must be a list"):
        fn(np.zeros((3, 4)))
    with pytest.raises(ValueError, match=r"arrays\[1\] must not be empty"):
        fn([np.ones(2), np.zeros((2, 0))])
    with pytest.raises(ValueError, match="at least one array"):
        fn([], per_member=True)
    np.testing.assert_array_equal(fn([]), [])


def test_statistics_of_a_diverged_member_are_nan_without_a_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        stds = layer_stds([np.array([[1.0, 2.0], [np.inf, 1.0]])], per_member=True)
    assert np.isfinite(stds[0, 0]) and np.isnan(stds[1, 0])


def test_dead_fraction_and_gradient_norms_check_their_arguments():
    with pytest.raises(ValueError, match="axis"):
        dead_fraction(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="z must not be empty"):
        dead_fraction(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="grads"):
        gradient_norms([])
    with pytest.raises(ValueError, match="grads"):
        gradient_norms([np.ones((2, 3)), np.ones((3, 3))])  # members disagree
