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


# ---------------------------------------------------------------------------------------------------------------
# Input-output Jacobians (jacobians, jacobian, jacobian_singular_values)
# ---------------------------------------------------------------------------------------------------------------
from winit_edu import ResidualMLP, get_activation  # noqa: E402
from winit_edu.diagnostics import jacobian, jacobian_singular_values, jacobians  # noqa: E402

JAC_ACTIVATIONS = ["tanh", "relu", "gelu", "sigmoid", "selu", "leaky_relu", "linear"]
JAC_SIZES = [[3, 7, 5, 4], [6, 4, 9, 9, 2]]


def _jac_net(sizes, activation, seeds=(0, 1, 2), dtype="float64"):
    init = "he_normal" if activation in ("relu", "leaky_relu") else "lecun_normal"
    return MLP(sizes, activation=activation, weight_init=init,
               bias_init=lambda shape, rng: np.random.default_rng(rng).normal(0.0, 0.3, shape),
               seeds=list(seeds), dtype=dtype)


def _hidden(net, x, layer):
    """h_layer for inputs x, (S, B, n_layer); layer = n_layers is the output."""
    t = net.trace(x)
    return t.pre_activations[-1] if layer == net.n_layers else t.activations[layer - 1]


def _brute_force(net, x, layer):
    """Column-vector Jacobians D_{l-1} W'_{l-1} ... D_0 W'_0 with W' = W^T, one member and example at a time.

    An independent forward pass with explicit diagonal matrices: no trace, no broadcasting tricks.
    Returns the row-vector layout (the transpose), shape (S, B, n_0, n_layer).
    """
    S = net.n_members
    x = np.broadcast_to(x, (S,) + np.shape(x)[-2:])
    out = np.empty((S, x.shape[1], x.shape[2], net.sizes[layer]))
    for s in range(S):
        for b in range(x.shape[1]):
            h, J = x[s, b].astype(np.float64), np.eye(x.shape[2])
            for l in range(layer):
                Wt = net.weights[l][s].T.astype(np.float64)           # column convention: z = W' h + b
                z = Wt @ h + net.biases[l][s]
                if l < net.n_layers - 1:
                    act = get_activation(net.activations[l].name)
                    h = act.f(z)
                    J = np.diag(act.df(z, h)) @ Wt @ J
                else:
                    h, J = z, Wt @ J
            out[s, b] = J.T
    return out


@pytest.mark.parametrize("activation", JAC_ACTIVATIONS)
@pytest.mark.parametrize("sizes", JAC_SIZES)
def test_jacobians_match_finite_differences(activation, sizes):
    net = _jac_net(sizes, activation)
    rng = np.random.default_rng(1)
    x = rng.normal(size=(3, 2, sizes[0]))                              # one batch of 2 per member
    Js = dict(jacobians(net, x, layers=range(1, net.n_layers + 1)))    # every hidden layer and the output
    assert sorted(Js) == list(range(1, net.n_layers + 1))
    eps = 1e-6
    for layer, J in Js.items():
        assert J.shape == (3, 2, sizes[0], sizes[layer]) and J.dtype == np.float64
        for i in range(sizes[0]):                                      # one input coordinate at a time
            dx = np.zeros(sizes[0])
            dx[i] = eps
            numeric = (_hidden(net, x + dx, layer) - _hidden(net, x - dx, layer)) / (2 * eps)
            # central differences: O(eps^2) truncation and ~1e-10 rounding; a ReLU kink inside [x-eps, x+eps]
            # has probability ~1e-6 here and does not occur for these seeds
            np.testing.assert_allclose(J[:, :, i, :], numeric, rtol=1e-6, atol=1e-8)


@pytest.mark.parametrize("activation", ["tanh", "relu", "gelu", "silu"])
def test_jacobians_match_brute_force_product(activation):
    net = _jac_net([5, 8, 3, 6, 4], activation, seeds=[3, 4])
    x = np.random.default_rng(2).normal(size=(3, 5))                   # a batch shared by the members
    for layer in range(1, 5):
        np.testing.assert_allclose(jacobian(net, x, layer), _brute_force(net, x, layer), rtol=1e-12, atol=1e-14)


def test_jacobian_of_output_gives_backpropagated_input_gradient():
    # g_x = g_out @ J_L^T, and backprop's dL/dx = dL/dz_0 @ W_0^T: two independent code paths
    net = _jac_net([6, 10, 10, 3], "tanh", seeds=[0, 1, 2, 3])
    x = np.random.default_rng(3).normal(size=(4, 2, 6))
    g_out = np.random.default_rng(4).normal(size=(4, 2, 3))
    J = jacobian(net, x, layer=net.n_layers)
    g_x = np.einsum("sbo,sbio->sbi", g_out, J)
    t = net.trace(x, grad_output=g_out)
    np.testing.assert_allclose(g_x, t.grad_pre_activations[0] @ np.swapaxes(net.weights[0], -1, -2), rtol=1e-12)


def test_linear_network_jacobian_is_the_weight_product():
    net = MLP([4, 5, 6, 3], activation="linear", weight_init="glorot_normal", seeds=[0, 1])
    J = jacobian(net, np.zeros((1, 4)), layer=3)
    np.testing.assert_allclose(J[:, 0], net.weights[0] @ net.weights[1] @ net.weights[2], rtol=1e-12)


def test_relu_jacobian_is_masked_product_and_member_matches_single_net():
    net = MLP([4, 6, 6, 2], activation="relu", weight_init="he_normal", seeds=[5, 6, 7])
    x = np.random.default_rng(0).normal(size=(3, 1, 4))
    J = jacobian(net, x)
    t = net.trace(x)
    for s in range(3):
        D0, D1 = [np.diag((z[s, 0] > 0).astype(float)) for z in t.pre_activations[:2]]
        np.testing.assert_allclose(J[s, 0], net.weights[0][s] @ D0 @ net.weights[1][s] @ D1, rtol=1e-12)
        single = jacobian(net.member(s), x[s:s + 1])                   # member s alone gives the same
        np.testing.assert_allclose(single[0], J[s], rtol=0, atol=0)


def test_jacobian_singular_values():
    net = _jac_net([6, 8, 8, 3], "tanh")
    x = np.random.default_rng(5).normal(size=(2, 6))
    s = jacobian_singular_values(net, x)
    J = jacobian(net, x)
    assert s.shape == (3, 2, 6)
    np.testing.assert_allclose(s, np.linalg.svd(J, compute_uv=False), rtol=1e-12)
    assert np.all(np.diff(s, axis=-1) <= 0)                            # largest first
    # same singular values as the papers' column-vector Jacobian J^T; sum of squares is the Frobenius norm
    np.testing.assert_allclose(s, np.linalg.svd(np.swapaxes(J, -1, -2), compute_uv=False), rtol=1e-12)
    np.testing.assert_allclose((s**2).sum(-1), (J**2).sum((-2, -1)), rtol=1e-12)


def test_jacobians_float32_and_layer_order():
    net = _jac_net([5, 7, 7, 7, 2], "tanh", dtype="float32")
    x = np.random.default_rng(6).normal(size=(1, 5))
    out = list(jacobians(net, x, layers=[3, 1, 3]))                    # sorted, duplicates dropped
    assert [l for l, _ in out] == [1, 3] and out[0][1].dtype == np.float32
    ref = jacobian(_jac_net([5, 7, 7, 7, 2], "tanh"), x, layer=3)       # the same weights in float64
    np.testing.assert_allclose(out[1][1], ref, rtol=1e-4, atol=1e-6)
    assert [l for l, _ in jacobians(net, x)] == [1, 2, 3]              # default: every hidden layer
    assert jacobian(net, x).shape == (3, 1, 5, 7)                      # default: the last hidden layer


def test_he_relu_jacobian_mean_square_is_preserved():
    # E[|J|_F^2] / n_l = 1 at any depth for bias-free He ReLU (chapter 14); 400 members, 6 s.e. tolerance
    net = MLP([10, 16, 16, 16, 16, 16], activation="relu", weight_init="he_normal", seeds=list(range(400)))
    x = np.random.default_rng(7).normal(size=(1, 10))
    # E|J_l|_F^2 = n_l exactly: each layer k keeps E|v W_k D_k|^2 = |v|^2 n_{k+1} / n_k (sign symmetry of W's columns)
    m = (jacobian(net, x, layer=4) ** 2).sum(axis=(-2, -1))[:, 0] / 16
    assert abs(m.mean() - 1.0) < 6 * m.std(ddof=1) / np.sqrt(m.size)


def test_jacobians_refuse_what_they_do_not_support():
    x = np.zeros((2, 4))
    with pytest.raises(TypeError, match="ResidualMLP"):
        jacobians(ResidualMLP(4, 8, 2, 3, activation="relu"), x)
    with pytest.raises(TypeError, match="ResidualMLP"):
        jacobian(ResidualMLP(4, 8, 2, 3, activation="relu"), x)
    normed = MLP([4, 8, 8, 3], activation="relu", norm="layer")
    with pytest.raises(ValueError, match="norm"):
        jacobians(normed, x)                                            # raised by the call, not on iteration
    net = MLP([4, 8, 8, 3], activation="relu", seeds=[0, 1])
    for bad in (0, 4, [1, 5], []):
        with pytest.raises(ValueError, match="layer"):
            jacobians(net, x, layers=bad)
    with pytest.raises(TypeError, match="layers"):
        jacobians(net, x, layers=[1.5])
    with pytest.raises(TypeError, match="layer"):
        jacobian(net, x, layer="2")
    with pytest.raises(ValueError, match="X"):
        jacobians(net, np.zeros((2, 5)))                                # wrong input width
    with pytest.raises(ValueError, match="X"):
        jacobians(net, np.zeros((3, 2, 4)))                             # 3 batches for 2 members
    with pytest.raises(ValueError, match="hidden layer"):
        jacobians(MLP([4, 3]), x)
    assert jacobian(MLP([4, 3]), x, layer=1).shape == (1, 2, 4, 3)     # but the output's is fine
