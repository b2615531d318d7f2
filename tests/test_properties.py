"""Bad input, tried systematically: property-based tests (hypothesis) of the public functions.

Every call either returns a correct result (shape, dtype, the same numbers for the same
seed, and cheap invariants such as bounds) or raises ValueError or TypeError whose message
names one of the arguments. Anything else fails: another exception (IndexError,
ZeroDivisionError, MemoryError, ...), any warning (numpy's RuntimeWarnings included), a
result of the wrong shape or dtype, or a non-finite number where none is allowed.

The examples are random but reproducible (``derandomize``); the "ci" profile bounds their
number so that the file runs in a few seconds. ``HYPOTHESIS_PROFILE=thorough`` tries more.
"""
import math
import os
import re
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import winit_edu as wi
from winit_edu import diagnostics
from winit_edu._checks import MAX_ELEMENTS

settings.register_profile("ci", max_examples=30, deadline=None, derandomize=True, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


def call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with every warning an error: returns ``(result, None)`` or ``(None, error)``.

    Only ValueError and TypeError are expected errors; anything else propagates and fails the test.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            return fn(*args, **kwargs), None
        except (ValueError, TypeError) as err:
            if isinstance(err, Warning):  # a numpy warning turned error is not an accepted answer
                raise
            return None, err


def assert_names_an_argument(err, names):
    message = str(err)
    assert any(re.search(rf"\b{re.escape(n)}\b", message) for n in names), \
        f"{type(err).__name__} names none of {sorted(names)}: {message}"


# --- strategies ---------------------------------------------------------------------------------------

small_dims = st.integers(1, 7)
good_shapes = st.one_of(st.integers(1, 40), st.lists(small_dims, min_size=1, max_size=4).map(tuple))
bad_shapes = st.one_of(
    st.lists(st.integers(-3, 0), min_size=1, max_size=3).map(tuple),                      # zero or negative
    st.just(()),
    st.tuples(small_dims, st.sampled_from([True, 2.0, "3", None, 1.5])),                    # not an int
    st.sampled_from(["34", None, 3.0, {2: 3}, np.array([2, 3]), [2, 3.0]]),
    st.lists(st.integers(2**16, 2**40), min_size=2, max_size=3).map(tuple),                # huge
    st.integers(MAX_ELEMENTS + 1, 2**70),
)
shapes = st.one_of(good_shapes, good_shapes, bad_shapes)

good_rngs = st.one_of(st.integers(0, 2**64), st.integers(0, 10).map(np.random.default_rng))
bad_rngs = st.sampled_from([-1, 1.5, "0", True, np.random.RandomState(0), [0]])
rngs = st.one_of(good_rngs, good_rngs, bad_rngs)

good_dtypes = st.sampled_from(["float64", "float32", np.float32, np.dtype("float64"), None])
bad_dtypes = st.sampled_from(["int32", "float16", "complex128", "foo", 3, object, bool])
dtypes = st.one_of(good_dtypes, good_dtypes, bad_dtypes)

weird_values = st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 1e-320, 0, -1, "1", None,
                                [1.0], True, 1 + 2j, 10**400, -(10**400), np.float32(0.5), np.int64(3)])


def reals(min_value=None, max_value=None):
    return st.one_of(st.floats(min_value, max_value, allow_nan=False, allow_infinity=False), weird_values)


# --- every initializer --------------------------------------------------------------------------------

LAYOUTS = st.sampled_from(["in_out", "out_in", "oi", 3])
OPTIONS = {
    "zeros": {},
    "ones": {},
    "constant": {"value": reals(-1e3, 1e3)},
    "uniform": {"low": reals(-10, 10), "high": reals(-10, 10)},
    "normal": {"mean": reals(-10, 10), "std": reals(0, 10)},
    "truncated_normal": {"mean": reals(-10, 10), "std": reals(0, 10), "cutoff": reals(0, 5)},
    "variance_scaling": {"scale": reals(0, 10), "mode": st.sampled_from(["fan_in", "fan_out", "fan_avg", "in", None]),
                         "distribution": st.sampled_from(["normal", "truncated_normal", "uniform",
                                                          "untruncated_normal", "gauss", 1]),
                         "layout": LAYOUTS},
    "lecun_uniform": {"layout": LAYOUTS},
    "lecun_normal": {"truncated": st.sampled_from([True, False, np.bool_(True), 1, "yes"]), "layout": LAYOUTS},
    "glorot_uniform": {"gain": reals(0, 10), "layout": LAYOUTS},
    "glorot_normal": {"gain": reals(0, 10), "truncated": st.booleans(), "layout": LAYOUTS},
    "he_uniform": {"a": reals(-3, 3), "mode": st.sampled_from(["fan_in", "fan_out", "fan_avg"]),
                   "nonlinearity": st.sampled_from(["relu", "leaky_relu", "tanh", "swish", None]),
                   "param": reals(-3, 3), "layout": LAYOUTS},
    "he_normal": {"a": reals(-3, 3), "mode": st.sampled_from(["fan_in", "fan_out"]),
                  "nonlinearity": st.sampled_from(["relu", "leaky_relu", "selu", "scaled_tanh"]),
                  "param": reals(-3, 3), "truncated": st.booleans(), "layout": LAYOUTS},
    "pytorch_default": {"fan_in": st.one_of(st.integers(-2, 300), weird_values), "layout": LAYOUTS},
    "orthogonal": {"gain": reals(0, 10), "layout": LAYOUTS},
    "identity": {"gain": reals(-10, 10)},
    "sparse": {"sparsity": reals(0, 1), "n_nonzero": st.one_of(st.integers(-2, 30), weird_values),
               "std": reals(0, 10), "layout": LAYOUTS},
}
DETERMINISTIC = {"zeros", "ones", "constant", "identity"}


def test_the_table_covers_every_initializer():
    assert set(OPTIONS) == set(wi.INITIALIZERS)


@st.composite
def initializer_calls(draw):
    name = draw(st.sampled_from(sorted(OPTIONS)))
    chosen = draw(st.lists(st.sampled_from(sorted(OPTIONS[name])), unique=True)) if OPTIONS[name] else []
    options = {k: draw(OPTIONS[name][k]) for k in chosen}
    if draw(st.booleans()):
        options["dtype"] = draw(dtypes)
    return name, draw(shapes), draw(rngs), options


def expected_shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


@given(initializer_calls())
def test_initializers_return_a_correct_array_or_name_the_bad_argument(case):
    name, shape, rng, options = case
    fn = wi.INITIALIZERS[name]
    if isinstance(rng, np.random.Generator):
        rng = np.random.default_rng(rng.bit_generator.state["state"]["state"] % 2**32)  # a fresh one per call
    w, err = call(fn, shape, rng=rng, **options)
    if err is not None:
        assert_names_an_argument(err, ["shape", "rng", "dtype", name, *options])
        return
    assert isinstance(w, np.ndarray) and w.shape == expected_shape(shape)
    assert w.dtype == np.dtype(options.get("dtype") or "float64")
    assert np.isfinite(w).all()
    if isinstance(rng, int):  # the same seed gives the same numbers
        np.testing.assert_array_equal(w, fn(shape, rng=rng, **options))
    check_invariants(name, w, options)


def check_invariants(name, w, options):
    """Cheap properties of each initializer's output (the statistics are tested elsewhere)."""
    w64 = w.astype(np.float64)
    if name in ("zeros", "ones", "constant"):
        value = {"zeros": 0.0, "ones": 1.0}.get(name, float(options.get("value", 0.0)))
        np.testing.assert_array_equal(w64, np.float64(w.dtype.type(value)))
    elif name == "uniform":
        low, high = float(options.get("low", -0.05)), float(options.get("high", 0.05))
        assert w64.min() >= w.dtype.type(low) and w64.max() <= w.dtype.type(high)
    elif name == "truncated_normal":
        mean, std, cutoff = (float(options.get(k, d)) for k, d in (("mean", 0.0), ("std", 0.05), ("cutoff", 2.0)))
        assert np.all(np.abs(w64 - mean) <= cutoff * std * (1 + 1e-6) + 1e-6 * abs(mean))
    elif name == "pytorch_default":  # U(+-1/sqrt(fan_in)), the fan-in given or read from the shape
        fan_in = options.get("fan_in") or wi.compute_fans(w.shape, layout=options.get("layout", "in_out"))[0]
        assert np.abs(w64).max() <= w.dtype.type(1 / np.sqrt(fan_in)) * (1 + 1e-12)
    elif name == "identity":
        np.testing.assert_array_equal(w64, np.float64(w.dtype.type(options.get("gain", 1.0))) * np.eye(*w.shape))
    elif name == "sparse":
        layout = options.get("layout", "in_out")
        per_unit = (w != 0).sum(axis=0 if layout == "in_out" else 1)
        assert per_unit.min() >= 1 and len(set(per_unit.tolist())) == 1  # a fixed number, at least one


@given(st.sampled_from(sorted(OPTIONS)), st.one_of(reals(), rngs, st.text(max_size=3)))
def test_a_third_positional_argument_is_an_error(name, value):
    # options are keyword-only; the constants also take rng by keyword only
    fn = wi.INITIALIZERS[name]
    args = ((3, 2), value) if name in DETERMINISTIC else ((3, 2), 0, value)
    _, err = call(fn, *args)
    assert isinstance(err, TypeError) and "positional" in str(err)


@given(st.sampled_from(sorted(wi.INITIALIZERS) + ["xavier_uniform", "kaiming_normal", "he", 3, None]),
       st.dictionaries(st.sampled_from(["std", "gain", "mode", "value", "rng", "shape", "a", "dtype", "cutoff"]),
                       st.sampled_from([0.1, 1.0, "fan_in", None]), max_size=3))
def test_get_initializer_checks_names_when_called(name, options):
    init, err = call(wi.get_initializer, name, **options)
    if err is not None:
        assert_names_an_argument(err, ["name", *options])
        return
    w, err = call(init, (4, 3), rng=0)
    if err is not None:  # an option value that the draw refuses (a name is never the problem here)
        assert isinstance(err, (ValueError, TypeError)) and "has no option" not in str(err)
        assert_names_an_argument(err, [*options, "shape"])
    else:
        assert w.shape == (4, 3)


# --- fans, gains, rng --------------------------------------------------------------------------------

@given(shapes, LAYOUTS, st.sampled_from(["fan_in", "fan_out", "fan_avg", "avg", 0]))
def test_fans(shape, layout, mode):
    fans, err = call(wi.compute_fans, shape, layout=layout)
    if err is not None:
        assert_names_an_argument(err, ["shape", "layout"])
        return
    shape = expected_shape(shape)
    fan_in, fan_out = fans
    assert fan_in * shape[-1 if layout == "in_out" else 0] == fan_out * shape[-2 if layout == "in_out" else 1]
    assert fan_in >= 1 and fan_out >= 1
    n, err = call(wi.fan_for_mode, shape, mode, layout)
    if err is not None:
        assert_names_an_argument(err, ["mode"])
    else:
        assert n in (fan_in, fan_out, (fan_in + fan_out) / 2) and isinstance(n, float)


@given(st.sampled_from(list(wi.ACTIVATIONS) + ["swish", "", None, 1]), st.one_of(st.none(), reals(-5, 5)))
def test_calculate_gain(nonlinearity, param):
    gain, err = call(wi.calculate_gain, nonlinearity, param)
    if err is not None:
        assert_names_an_argument(err, ["nonlinearity", "param"])
    else:
        assert isinstance(gain, float) and 0 < gain < 2


@given(reals(0, 50))
def test_truncated_std_factor(cutoff):
    factor, err = call(wi.truncated_std_factor, cutoff)
    if err is not None:
        assert_names_an_argument(err, ["cutoff"])
    else:
        assert 0 < factor <= 1
        assert factor <= float(cutoff) / math.sqrt(3) * (1 + 1e-9) or float(cutoff) > 1.7  # <= U[-c, c]'s


@given(rngs)
def test_as_generator_and_seed_streams(rng):
    gen, err = call(wi.as_generator, rng)
    if err is not None:
        assert_names_an_argument(err, ["rng"])
        return
    assert isinstance(gen, np.random.Generator)
    if isinstance(rng, int):
        assert gen.random() == wi.as_generator(rng).random()
        streams, err = call(wi.seed_streams, rng)
        assert err is None and len({float(g.random()) for g in streams}) == 3


# --- activations and losses ---------------------------------------------------------------------------

finite_arrays = st.lists(st.floats(-1e3, 1e3), min_size=1, max_size=12).map(np.array)
any_arrays = st.one_of(finite_arrays, st.lists(st.floats(allow_nan=True), min_size=1, max_size=6).map(np.array),
                       st.sampled_from([np.array(["a"]), [[1.0], [1.0, 2.0]], np.array([1 + 1j]), "z", None]))


@given(st.sampled_from(list(wi.ACTIVATIONS) + ["swish", 3]), any_arrays, reals(-2, 2))
def test_activations_and_derivatives(name, z, slope):
    d, err = call(wi.derivative, name, z, slope=slope)
    if err is not None:
        assert_names_an_argument(err, ["activation", "name", "z", "slope"])
        return
    z = np.asarray(z, dtype=float)
    assert d.shape == z.shape and d.dtype == np.float64
    finite = np.isfinite(z)
    assert np.isfinite(d[finite]).all()
    if finite.all() and np.abs(z).max() < 1e6:
        h, err = call(wi.get_activation(name, slope=slope), z)
        assert err is None and h.shape == z.shape and np.isfinite(h).all()


@st.composite
def classification(draw):
    leading = draw(st.lists(st.integers(1, 3), max_size=1))
    batch, classes = draw(st.integers(0, 5)), draw(st.integers(0, 4))
    logits = draw(st.one_of(
        st.lists(st.floats(-1e4, 1e4), min_size=1).map(lambda v: np.resize(np.array(v), (*leading, batch, classes))),
        st.sampled_from([np.inf, np.nan, 1e308]).map(lambda v: np.full((*leading, batch, classes), v)),
    ))
    labels = draw(st.one_of(
        st.lists(st.integers(-1, 5), min_size=batch, max_size=batch).map(np.array),
        st.just(np.zeros(batch)),                      # float labels
        st.just(np.zeros(batch + 1, dtype=int)),       # wrong length
        st.just(np.zeros((), dtype=int)),
    ))
    return logits, labels


@given(classification())
def test_softmax_cross_entropy(case):
    logits, labels = case
    result, err = call(wi.softmax_cross_entropy, logits, labels)
    if err is not None:
        assert_names_an_argument(err, ["logits", "labels"])
        return
    loss, grad = result
    assert loss.shape == logits.shape[:-2] and grad.shape == logits.shape
    if np.isfinite(logits).all() and np.abs(logits).max() < 1e300:
        assert np.all(loss >= 0) and np.isfinite(grad).all()
        np.testing.assert_allclose(grad.sum(axis=-1), 0.0, atol=1e-12)


@given(classification(), st.booleans())
def test_squared_error_and_one_hot(case, as_targets):
    outputs, labels = case
    if as_targets and labels.ndim == 1 and labels.dtype.kind == "i" and outputs.ndim >= 2:
        targets, err = call(wi.one_hot, labels, outputs.shape[-1])
        if err is not None:
            assert_names_an_argument(err, ["labels", "n_classes"])
            return
        assert targets.shape == (len(labels), outputs.shape[-1])
    else:
        targets = outputs + 1.0
    result, err = call(wi.squared_error, outputs, targets)
    if err is not None:
        assert_names_an_argument(err, ["outputs", "targets"])
        return
    loss, grad = result
    assert loss.shape == outputs.shape[:-2] and grad.shape == outputs.shape


# --- the network and training ---------------------------------------------------------------------------

@st.composite
def networks(draw):
    sizes = draw(st.one_of(st.lists(st.integers(1, 5), min_size=2, max_size=4),
                           st.sampled_from([[3], [], [2, 0, 2], [2, -1], "23", [2, 2.5], 5, None])))
    return dict(
        sizes=sizes,
        activation=draw(st.sampled_from(list(wi.ACTIVATIONS) + ["swish", ["relu"], None])),
        weight_init=draw(st.sampled_from(["he_normal", "glorot_uniform", "orthogonal", "zeros", "sparse", "identity",
                                          "he", 3])),
        bias_init=draw(st.sampled_from(["zeros", "normal", "constant", "he_normal"])),
        seeds=draw(st.one_of(st.integers(0, 2**40), st.lists(st.integers(0, 5), min_size=1, max_size=3),
                             st.sampled_from([[], -1, [0, 0], 1.5, "0", [True]]))),
        dtype=draw(dtypes),
    )


@given(networks(), st.integers(0, 4), st.sampled_from(["shared", "per_member", "wrong_members", "wrong_width",
                                                        "nan", "1-D"]))
def test_mlp_forward_backward(kwargs, batch, x_kind):
    net, err = call(wi.MLP, **kwargs)
    if err is not None:
        assert_names_an_argument(err, ["sizes", "activation", "weight_init", "bias_init", "seeds", "dtype",
                                       "name", "shape", "seed"])
        return
    S, n0, nL = net.n_members, net.sizes[0], net.sizes[-1]
    shape = {"shared": (batch, n0), "per_member": (S, batch, n0), "wrong_members": (S + 1, batch, n0),
             "wrong_width": (batch, n0 + 1), "nan": (batch, n0), "1-D": (n0,)}[x_kind]
    X = np.random.default_rng(0).normal(size=shape)
    if x_kind == "nan":
        X[...] = np.nan
    out, err = call(net.forward, X)
    if err is not None:
        assert_names_an_argument(err, ["X"])
        return
    assert x_kind in ("shared", "per_member") and batch > 0 and (x_kind != "nan")
    assert out.shape == (S, batch, nL) and out.dtype == net.dtype and np.isfinite(out).all()
    (gw, gb, gz), err = call(net.backward, np.ones_like(out))
    assert err is None
    assert [g.shape for g in gw] == [w.shape for w in net.weights] and [g.shape for g in gb] == [b.shape for b in net.biases]
    for index in (0, S - 1, -S):
        np.testing.assert_array_equal(net.member(index).forward(X[index] if X.ndim == 3 else X)[0], out[index])


@given(st.integers(0, 3), st.sampled_from(["ok", "float_labels", "big_label", "nan", "short_y", "targets"]),
       st.sampled_from(["cross_entropy", "squared_error"]),
       st.fixed_dictionaries({}, optional={"lr": reals(0, 1), "momentum": reals(0, 1), "batch_size": st.integers(-1, 25),
                                           "epochs": st.integers(-1, 2), "eval_every": st.integers(-1, 3),
                                           "on_divergence": st.sampled_from(["raise", "stop", "warn"])}))
def test_train_and_evaluate(seed, data_kind, loss, options):
    X, y = wi.make_xor(20, rng=seed)
    if data_kind == "float_labels":
        y = y.astype(float)
    elif data_kind == "big_label":
        y[3] = 2
    elif data_kind == "nan":
        X[0, 0] = np.nan
    elif data_kind == "short_y":
        y = y[:-1]
    elif data_kind == "targets":
        y = np.eye(2)[y] * 0.9
    net = wi.MLP([2, 4, 2], activation="tanh", seeds=[seed, seed + 1])
    try:
        hist, err = call(wi.train, net, X, y, loss=loss, **options)
    except wi.TrainingDiverged as diverged:  # a documented outcome (say of lr=1e308), not a crash
        assert diverged.step >= 0 and diverged.seed in net.seeds
        return
    if err is not None:
        assert_names_an_argument(err, ["X", "y", "loss", "batch_size", *options])
        return
    assert hist.step_loss.shape[1] == 2 and hist.train_loss.shape[1] == 2
    assert np.isfinite(hist.train_loss[0]).all()
    (value, acc), err = call(wi.evaluate, net, X, y, loss)
    assert err is None and value.shape == acc.shape == (2,)


def test_an_overflow_in_training_is_a_divergence_not_a_warning():
    X, y = wi.make_xor(40, rng=0)
    for dtype, lr in (("float32", 1e30), ("float64", 1e250)):
        net = wi.MLP([2, 8, 8, 2], activation="relu", weight_init=wi.get_initializer("normal", std=30.0),
                     seeds=[0, 1], dtype=dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(wi.TrainingDiverged) as err:
                wi.train(net, X, y, lr=lr, batch_size=10, epochs=3)
        assert err.value.step >= 0 and err.value.quantity in ("weights", "biases", "pre-activations", "loss")
        assert f"({err.value.quantity})" in str(err.value) or err.value.layer == -1


# --- data and diagnostics -----------------------------------------------------------------------------

counts = st.one_of(st.integers(-2, 60), weird_values)


@given(st.sampled_from([wi.make_spirals, wi.make_moons, wi.make_xor]), counts, reals(0, 2), rngs)
def test_generated_data(maker, n_samples, noise, rng):
    result, err = call(maker, n_samples, noise=noise, rng=rng)
    if err is not None:
        assert_names_an_argument(err, ["n_samples", "noise", "rng", "n_classes"])
        return
    X, y = result
    assert X.shape == (n_samples, 2) and y.shape == (n_samples,) and np.isfinite(X).all()


@given(st.integers(0, 12), reals(0, 1), rngs, st.sampled_from([True, False, "yes"]),
       st.sampled_from(["ok", "mismatch", "1-D", "nan"]))
def test_train_test_split(n, test_fraction, rng, standardize, kind):
    X = np.random.default_rng(0).normal(size=(n, 3))
    y = np.arange(n) % 2
    if kind == "mismatch":
        y = y[:-1] if n else np.zeros(1, int)
    elif kind == "1-D":
        X = X[:, 0]
    elif kind == "nan" and n:
        X[0, 0] = np.nan
    split, err = call(wi.train_test_split, X, y, test_fraction=test_fraction, rng=rng, standardize=standardize)
    if err is not None:
        assert_names_an_argument(err, ["X", "y", "test_fraction", "rng", "standardize"])
        return
    assert len(split.X_train) + len(split.X_test) == n and len(split.X_train) >= 1 and len(split.X_test) >= 1
    assert np.isfinite(split.X_train).all() and np.isfinite(split.X_test).all()


@given(st.sampled_from(["spirals", "moons", "xor", "digits", "mnist", 1]), rngs, reals(0, 1))
def test_load_dataset(name, rng, test_fraction):
    split, err = call(wi.load_dataset, name, rng=rng, test_fraction=test_fraction)
    if err is not None:
        assert_names_an_argument(err, ["name", "rng", "test_fraction"])
        return
    assert split.X_train.shape[1] == split.X_test.shape[1] and len(split.y_test) == len(split.X_test)


layer_lists = st.one_of(
    st.lists(st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=8).map(lambda v: np.array(v).reshape(1, -1)),
             max_size=4),
    st.sampled_from([[np.zeros((2, 0))], [np.array([])], [np.array(1.0)], [np.array(["a"])], "x", None, 3]),
)


@given(layer_lists, st.sampled_from([True, False, 1, "no"]))
def test_layer_statistics(arrays, per_member):
    for fn in (diagnostics.layer_means, diagnostics.layer_stds, diagnostics.layer_rms):
        values, err = call(fn, arrays, per_member=per_member)
        if err is not None:
            assert_names_an_argument(err, ["arrays", "per_member"])
            continue
        assert values.shape[-1] == len(arrays) and np.isfinite(values).all()
    norms, err = call(diagnostics.gradient_norms, arrays)
    if err is None:
        assert norms.shape == (1, len(arrays)) if arrays else True
    else:
        assert_names_an_argument(err, ["grads"])


@given(st.one_of(finite_arrays, st.sampled_from([np.array([]), np.zeros((3, 0)), np.array([np.nan]), "h"])),
       st.sampled_from(["tanh", "sigmoid", "relu"]), reals(0, 1), st.integers(-3, 2))
def test_saturation_and_dead_fractions(values, activation, threshold, axis):
    fraction, err = call(diagnostics.saturation_fraction, values, activation, threshold)
    if err is not None:
        assert_names_an_argument(err, ["h", "activation", "threshold"])
    else:
        assert 0.0 <= fraction <= 1.0
    fraction, err = call(diagnostics.dead_fraction, values, axis=axis)
    if err is not None:
        assert_names_an_argument(err, ["z", "axis"])
    else:
        assert 0.0 <= fraction <= 1.0
