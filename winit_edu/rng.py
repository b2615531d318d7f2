"""Random number generators: one rule for seeds everywhere.

Every random function in :mod:`winit_edu` takes an ``rng`` argument that may be

* an ``int`` seed: the result is then fully determined by the seed;
* a :class:`numpy.random.Generator`: draws advance that generator, which is
  how you draw several *different* weight matrices from one seed;
* ``None``: fresh entropy from the operating system (not reproducible).

Passing the same int twice gives the same numbers twice. That is what you
want for a reproducible experiment and exactly what you do *not* want when
initializing two layers: ``he_normal((64, 64), rng=0)`` for every layer makes
all layers equal. Create one generator and pass it along instead.

A network member needs several independent streams from its one seed (weights,
biases, data order); :func:`seed_streams` spawns them.
"""
from __future__ import annotations

import numbers

import numpy as np

from ._checks import check_int


def as_generator(rng=None):
    """Turn a seed, a Generator or None into a :class:`numpy.random.Generator`.

    Parameters
    ----------
    rng : int, numpy.random.Generator or None
        A non-negative integer seed, an existing generator (returned as is,
        so its state advances), or ``None`` for fresh OS entropy.

    Returns
    -------
    numpy.random.Generator

    Raises
    ------
    TypeError
        If ``rng`` is of another type (for example the legacy
        ``numpy.random.RandomState`` or a float).
    ValueError
        If ``rng`` is a negative integer.

    Examples
    --------
    >>> g = as_generator(0)
    >>> float(g.random()) == float(as_generator(0).random())
    True
    """
    check_rng(rng)
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None:
        return np.random.default_rng()
    return np.random.default_rng(int(rng))


def check_rng(rng):
    """Raise unless ``rng`` is what :func:`as_generator` accepts; draw nothing.

    The initializers that draw nothing (``zeros``, ``constant``, ...) check
    their ``rng`` with it, so that a wrong value is reported there too.

    Raises
    ------
    TypeError, ValueError
        As :func:`as_generator`.

    Examples
    --------
    >>> check_rng(0)
    """
    if rng is None or isinstance(rng, np.random.Generator):
        return
    if isinstance(rng, bool) or not isinstance(rng, (numbers.Integral, np.integer)):
        raise TypeError(
            "rng must be an int seed, a numpy.random.Generator or None, "
            f"got {type(rng).__name__}"
        )
    if rng < 0:
        raise ValueError(f"rng must be a non-negative seed, got {rng}")

def seed_streams(seed):
    """The three independent generators a member draws from: weights, biases, data order.

    Parameters
    ----------
    seed : int
        Non-negative.

    Returns
    -------
    tuple of numpy.random.Generator
        ``(weights_rng, biases_rng, data_rng)``, spawned from
        ``numpy.random.SeedSequence(seed)``, so changing the bias
        initializer never changes the weights drawn for the same seed.

    Raises
    ------
    TypeError
        If ``seed`` is not an int.
    ValueError
        If ``seed`` is negative.

    Examples
    --------
    >>> w, b, d = seed_streams(0)
    >>> float(w.random()) != float(b.random())
    True
    """
    seed = check_int(seed, name="seed", min_value=0)
    return tuple(np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(3))
