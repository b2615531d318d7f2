"""Initializers by name: INITIALIZERS, the PyTorch-style aliases, and get_initializer."""
import numpy as np
import pytest

import winit_edu
from winit_edu import INITIALIZERS, get_initializer, glorot_normal, glorot_uniform, he_normal, he_uniform, normal


def test_registry_has_every_initializer():
    assert set(INITIALIZERS) == {
        "zeros", "ones", "constant", "uniform", "normal", "truncated_normal",
        "variance_scaling", "lecun_uniform", "lecun_normal", "glorot_uniform", "glorot_normal",
        "he_uniform", "he_normal", "pytorch_default", "orthogonal", "identity", "sparse",
    }
    for name, fn in INITIALIZERS.items():
        assert getattr(winit_edu, name) is fn  # each is also exported under its name


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_every_initializer_has_the_signature_shape_rng(name):
    w = get_initializer(name)((6, 4), rng=0)
    assert w.shape == (6, 4) and w.dtype == np.float64 and np.isfinite(w).all()


def test_names_return_the_functions():
    assert get_initializer("he_normal") is he_normal


@pytest.mark.parametrize("alias, target", [
    ("xavier_uniform", glorot_uniform), ("xavier_normal", glorot_normal),
    ("kaiming_uniform", he_uniform), ("kaiming_normal", he_normal),
])
def test_pytorch_aliases(alias, target):
    assert get_initializer(alias) is target


def test_keywords_are_bound():
    init = get_initializer("normal", std=0.01)
    np.testing.assert_array_equal(init((30, 20), rng=4), normal((30, 20), rng=4, std=0.01))
    assert init.__name__ == "normal"
    assert "std" in init.__doc__
    const = get_initializer("constant", value=0.1)
    np.testing.assert_array_equal(const((3,)), [0.1, 0.1, 0.1])


def test_callables_pass_through():
    def my_init(shape, rng=None, scale=1.0):
        return np.full(shape, scale)

    assert get_initializer(my_init) is my_init
    bound = get_initializer(my_init, scale=3.0)
    np.testing.assert_array_equal(bound((2, 2), rng=0), np.full((2, 2), 3.0))
    assert bound.__name__ == "my_init"


def test_unknown_name_lists_known_names():
    with pytest.raises(ValueError, match="name must be one of") as err:
        get_initializer("he_normall")
    message = str(err.value)
    for known in ("he_normal", "glorot_uniform", "orthogonal", "xavier_uniform", "kaiming_normal"):
        assert repr(known) in message
    assert "'he_normall'" in message


@pytest.mark.parametrize("name", [None, 3, ["he_normal"]])
def test_non_string_non_callable_raises(name):
    with pytest.raises(TypeError, match="name"):
        get_initializer(name)


@pytest.mark.parametrize("name, options, match", [
    ("he_normal", dict(std=0.1), "he_normal has no option 'std'"),
    ("constant", dict(val=0.1), "constant has no option 'val'"),
    ("normal", dict(rng=0), "rng is given at each call"),
    ("zeros", dict(shape=(2, 2)), "shape is given at each call"),
])
def test_options_are_checked_when_bound_not_when_drawn(name, options, match):
    # get_initializer("he_normal", std=0.1) used to succeed and fail later, inside MLP(...)
    with pytest.raises(TypeError, match=match):
        get_initializer(name, **options)


def test_options_of_a_callable_are_checked_against_its_signature():
    def my_init(shape, rng=None, *, scale=1.0):
        return np.full(shape, scale)

    with pytest.raises(TypeError, match="my_init has no option 'gain'"):
        get_initializer(my_init, gain=2.0)

    def flexible(shape, rng=None, **options):
        return np.zeros(shape)

    assert get_initializer(flexible, anything=1)((2,)).shape == (2,)


@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_every_initializer_has_shape_rng_then_keyword_only_options(name):
    import inspect

    params = list(inspect.signature(INITIALIZERS[name]).parameters.values())
    assert params[0].name == "shape" and params[0].kind is params[0].POSITIONAL_OR_KEYWORD
    rng = next(p for p in params if p.name == "rng")
    options = [p for p in params if p.name not in ("shape", "rng")]
    assert all(p.kind is p.KEYWORD_ONLY for p in options)
    # rng is positional only where something is drawn; the constants take it by keyword
    deterministic = name in ("zeros", "ones", "constant", "identity")
    assert rng.kind is (rng.KEYWORD_ONLY if deterministic else rng.POSITIONAL_OR_KEYWORD)
    assert "dtype" in [p.name for p in options]


def test_accepts_option_sees_through_bound_options():
    from winit_edu.registry import accepts_option

    assert accepts_option(get_initializer("pytorch_default"), "fan_in")
    bound = get_initializer("pytorch_default", dtype="float32")     # a wrapper, still taking fan_in at the call
    assert accepts_option(bound, "fan_in") and not accepts_option(bound, "dtype")
    b = bound((5,), rng=0, fan_in=16)
    assert b.dtype == np.float32 and np.abs(b).max() <= 0.25
    assert not accepts_option(get_initializer("zeros"), "fan_in")
    assert not accepts_option(get_initializer("uniform", low=-1.0, high=1.0), "fan_in")
    assert not accepts_option(len, "fan_in")                        # no inspectable signature of that kind
