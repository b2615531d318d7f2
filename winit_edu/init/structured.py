"""Structured initializers: orthogonal, identity and sparse.

These do not just set a variance; they choose a *shape* for the weight
matrix: all singular values equal (orthogonal), the identity map, or few
non-zero incoming connections per unit (sparse).

They follow the calling convention of every initializer,
``f(shape, rng, *, options)`` (see :ref:`api-conventions`);
:func:`identity` draws nothing and takes ``rng`` by keyword only.
"""
from __future__ import annotations

import math

import numpy as np

from .._checks import check_choice, check_dtype, check_int, check_real, check_shape
from .distributions import _cast
from .fans import LAYOUTS, compute_fans
from ..rng import as_generator, check_rng


def _as_matrix_shape(shape, layout):
    """(rows, cols) that the tensor is flattened to, with cols = output units."""
    if layout == "in_out":
        return math.prod(shape[:-1]), shape[-1]
    return math.prod(shape[1:]), shape[0]  # out_in: rows are inputs after the transpose


def orthogonal(shape, rng=None, *, gain=1.0, layout="in_out", dtype="float64"):
    """A (semi-)orthogonal matrix times ``gain``: all singular values equal ``gain``.

    The tensor is viewed as a matrix with one column per output unit
    (``prod(shape[:-1])`` rows in the ``"in_out"`` layout). If it has at least
    as many rows as columns its columns are orthonormal, otherwise its rows
    are. The matrix is the Q of a QR decomposition of a Gaussian matrix, with
    signs fixed so that it is uniformly (Haar) distributed.

    Parameters
    ----------
    shape : tuple of int
        At least 2-D.
    rng : int, numpy.random.Generator or None
    gain : float, default 1.0
        Multiplies the matrix; ``> 0``.
    layout : {"in_out", "out_in"}, default "in_out"
        ``"out_in"`` flattens as PyTorch does (``shape[0]`` outputs).
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        For an invalid shape, rng, layout, dtype or gain.

    Notes
    -----
    PyTorch ``orthogonal_(w, gain)``, Keras ``Orthogonal(gain)``, JAX
    ``orthogonal(scale)``. A linear network with orthogonal weights keeps
    the norm of every input exactly, at any depth.

    References
    ----------
    Saxe, McClelland & Ganguli (2014); Mezzadri (2007) for the sign fix.

    Examples
    --------
    >>> q = orthogonal((4, 4), rng=0)
    >>> bool(np.allclose(q.T @ q, np.eye(4)))
    True
    """
    shape = check_shape(shape, min_ndim=2)
    check_choice(layout, LAYOUTS, name="layout")
    gain = check_real(gain, name="gain", min_value=0.0, min_inclusive=False)
    dtype = check_dtype(dtype)
    rows, cols = _as_matrix_shape(shape, layout)
    a = as_generator(rng).standard_normal((max(rows, cols), min(rows, cols)))
    q, r = np.linalg.qr(a)
    q = q * np.sign(np.diag(r))  # make the distribution uniform over orthogonal matrices
    if rows < cols:
        q = q.T  # (rows, cols) with orthonormal rows
    if layout == "in_out":
        return (gain * q.reshape(shape)).astype(dtype, copy=False)
    out = q.T.reshape((shape[0],) + shape[1:])  # (out, in*k) -> (out, in, ...)
    return (gain * out).astype(dtype, copy=False)


def identity(shape, *, rng=None, gain=1.0, dtype="float64"):
    """The identity matrix (rectangular: ones on the main diagonal) times ``gain``.

    Parameters
    ----------
    shape : tuple of two ints
        Dense weight shape. Convolutions are refused: their identity is a
        Dirac kernel (PyTorch ``dirac_``), not covered here.
    rng : int, numpy.random.Generator or None, keyword-only
        Checked but not used: nothing is drawn. Keyword-only, so that
        ``identity(shape, 2.0)`` fails instead of ignoring the 2.0.
    gain : float, default 1.0
        Any finite number.
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``shape`` is not 2-D, or ``gain`` or ``dtype`` is invalid.
    TypeError
        For badly typed arguments.

    Notes
    -----
    PyTorch ``eye_``, Keras ``Identity(gain)``. With ReLU units and
    zero biases, an identity initialization makes a deep network start as
    the identity map (Le, Jaitly & Hinton, 2015).

    Examples
    --------
    >>> identity((2, 3))
    array([[1., 0., 0.],
           [0., 1., 0.]])
    """
    shape = check_shape(shape, min_ndim=2)
    if len(shape) != 2:
        raise ValueError(f"identity needs a 2-D shape (a dense layer), got {shape!r}")
    check_rng(rng)
    gain = check_real(gain, name="gain")
    dtype = check_dtype(dtype)
    if abs(gain) > float(np.finfo(dtype).max):
        raise ValueError(f"gain must fit in {dtype}, got {gain}")
    return (gain * np.eye(shape[0], shape[1])).astype(dtype, copy=False)


def sparse(shape, rng=None, *, sparsity=None, n_nonzero=15, std=1.0, layout="in_out", dtype="float64"):
    """Sparse initialization (Martens, 2010): a fixed number of non-zero incoming weights per unit.

    Each output unit gets exactly ``k`` non-zero incoming weights at random
    positions, drawn from ``N(0, std**2)``; all its other weights are 0.
    ``k`` is ``n_nonzero`` (Martens used 15), or ``fan_in - ceil(sparsity *
    fan_in)`` when ``sparsity`` is given. Because ``k`` does not grow with the
    layer, the unit's total input stays O(1) whatever the width. Every unit
    keeps at least one incoming weight: a ``sparsity`` that would leave
    ``k = 0`` is an error, not a column of zeros.

    Parameters
    ----------
    shape : tuple of two ints
        Dense weight shape.
    rng : int, numpy.random.Generator or None
    sparsity : float in [0, 1), optional
        Fraction of each unit's incoming weights set to zero, at most
        ``1 - 1/fan_in`` (so that one weight is left). Takes precedence over
        ``n_nonzero``.
    n_nonzero : int, default 15
        Number of non-zero incoming weights per unit (capped at ``fan_in``).
    std : float, default 1.0
        Standard deviation of the non-zero weights (Martens: unit Gaussian), ``> 0``.
    layout : {"in_out", "out_in"}, default "in_out"
    dtype : {"float64", "float32"}, default "float64"

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        If ``sparsity`` is outside ``[0, 1)`` or leaves a unit without
        incoming weights, ``n_nonzero < 1``, ``std <= 0``, or the shape is
        not 2-D.
    TypeError
        For badly typed arguments.

    Notes
    -----
    PyTorch ``sparse_(w, sparsity, std=0.01)`` zeroes a fraction of each
    *column* of its ``(out, in)`` matrix, that is of each input's outgoing
    weights, and defaults to ``std=0.01``; Keras and JAX have no sparse
    initializer.

    References
    ----------
    Martens (2010), "Deep learning via Hessian-free optimization", sec. 5.

    Examples
    --------
    >>> w = sparse((100, 8), rng=0, n_nonzero=15)
    >>> (w != 0).sum(axis=0)
    array([15, 15, 15, 15, 15, 15, 15, 15])
    """
    shape = check_shape(shape, min_ndim=2)
    if len(shape) != 2:
        raise ValueError(f"sparse needs a 2-D shape (a dense layer), got {shape!r}")
    fan_in, fan_out = compute_fans(shape, layout)
    std = check_real(std, name="std", min_value=0.0, min_inclusive=False)
    dtype = check_dtype(dtype)
    if sparsity is not None:
        sparsity = check_real(sparsity, name="sparsity", min_value=0.0, max_value=1.0, max_inclusive=False)
        k = fan_in - math.ceil(sparsity * fan_in)
        if k < 1:
            raise ValueError(f"sparsity={sparsity} leaves no incoming weight for a unit with fan_in={fan_in}; "
                             f"use sparsity <= {1 - 1 / fan_in:.6g} or n_nonzero")
    else:
        k = min(check_int(n_nonzero, name="n_nonzero", min_value=1), fan_in)
    gen = as_generator(rng)
    w = np.zeros((fan_in, fan_out))
    for unit in range(fan_out):
        rows = gen.choice(fan_in, size=k, replace=False)
        w[rows, unit] = gen.normal(0.0, std, size=k)
    w = _cast(w, dtype, "std")
    return w if layout == "in_out" else w.T
