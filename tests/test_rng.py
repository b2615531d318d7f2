"""One rule for randomness: ``rng`` is an int seed, a numpy Generator, or None.

* same int seed -> identical arrays (for every initializer);
* different seeds -> different arrays;
* a Generator is advanced by each draw (how to initialize several layers from one seed);
* anything else (a float, the legacy RandomState, a bool) is a TypeError, a
  negative seed a ValueError.
"""
import numpy as np
import pytest

from winit_edu import INITIALIZERS, as_generator, get_initializer

SHAPE = (8, 6)
DETERMINISTIC = {"zeros", "ones", "constant", "identity"}  # ignore rng by design
RANDOM = sorted(set(INITIALIZERS) - DETERMINISTIC)


# --- as_generator ------------------------------------------------------------------------------

def test_int_seed_gives_a_fresh_generator_each_time():
    a, b = as_generator(42), as_generator(42)
    assert isinstance(a, np.random.Generator) and a is not b
    assert a.random() == b.random()
    assert as_generator(np.int64(42)).random() == as_generator(42).random()


def test_int_seed_matches_numpy_default_rng():
    assert as_generator(7).random() == np.random.default_rng(7).random()


def test_generator_is_returned_as_is():
    g = np.random.default_rng(0)
    assert as_generator(g) is g


def test_none_gives_fresh_entropy():
    assert isinstance(as_generator(None), np.random.Generator)
    assert isinstance(as_generator(), np.random.Generator)


@pytest.mark.parametrize("rng", [1.0, 0.5, "0", True, np.random.RandomState(0), [0]],
                         ids=["float", "float2", "str", "bool", "RandomState", "list"])
def test_bad_rng_types_raise_type_error(rng):
    with pytest.raises(TypeError, match="rng"):
        as_generator(rng)


def test_negative_seed_raises_value_error():
    with pytest.raises(ValueError, match="rng must be a non-negative seed"):
        as_generator(-1)


# --- every initializer follows the rule ----------------------------------------------------------

@pytest.mark.parametrize("name", sorted(INITIALIZERS))
def test_same_seed_same_array(name):
    init = get_initializer(name)
    np.testing.assert_array_equal(init(SHAPE, rng=123), init(SHAPE, rng=123))


@pytest.mark.parametrize("name", RANDOM)
def test_different_seeds_differ(name):
    init = get_initializer(name)
    assert not np.array_equal(init(SHAPE, rng=0), init(SHAPE, rng=1))


@pytest.mark.parametrize("name", RANDOM)
def test_int_seed_equals_a_generator_with_that_seed(name):
    init = get_initializer(name)
    np.testing.assert_array_equal(init(SHAPE, rng=5), init(SHAPE, rng=np.random.default_rng(5)))


@pytest.mark.parametrize("name", RANDOM)
def test_generator_advances(name):
    # One generator, two layers: two different matrices (the right way to init a network).
    init = get_initializer(name)
    g = np.random.default_rng(0)
    first, second = init(SHAPE, rng=g), init(SHAPE, rng=g)
    assert not np.array_equal(first, second)
    # ... and the pair is reproducible from the same seed.
    g2 = np.random.default_rng(0)
    np.testing.assert_array_equal(init(SHAPE, rng=g2), first)
    np.testing.assert_array_equal(init(SHAPE, rng=g2), second)


@pytest.mark.parametrize("name", RANDOM)
@pytest.mark.parametrize("rng", [1.5, np.random.RandomState(0), True], ids=["float", "RandomState", "bool"])
def test_initializers_reject_bad_rng_types(name, rng):
    with pytest.raises(TypeError, match="rng"):
        get_initializer(name)(SHAPE, rng=rng)


@pytest.mark.parametrize("name", RANDOM)
def test_initializers_reject_negative_seeds(name):
    with pytest.raises(ValueError, match="rng"):
        get_initializer(name)(SHAPE, rng=-3)


@pytest.mark.parametrize("name", RANDOM)
def test_rng_none_is_accepted(name):
    assert get_initializer(name)(SHAPE, rng=None).shape == SHAPE
