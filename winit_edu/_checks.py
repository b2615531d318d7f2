"""Argument checks shared by the public functions.

Every public function of :mod:`winit_edu` validates its arguments with these
helpers, so that a mistake produces an error that names the parameter and the
values it accepts, instead of a numpy traceback three calls deeper.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

#: The largest number of elements an initializer allocates (2**31: 16 GiB of float64). A larger
#: shape is almost always a mistake, such as multiplied instead of listed dimensions.
MAX_ELEMENTS = 2**31


def check_shape(shape, *, name="shape", min_ndim=1):
    """Return ``shape`` as a tuple of positive Python ints, or raise.

    An int ``n`` is accepted as the 1-D shape ``(n,)``.
    """
    if isinstance(shape, (numbers.Integral, np.integer)) and not isinstance(shape, bool):
        shape = (int(shape),)
    if not isinstance(shape, (tuple, list)):
        raise TypeError(f"{name} must be a tuple of positive ints, got {type(shape).__name__}")
    out = []
    for dim in shape:
        if isinstance(dim, bool) or not isinstance(dim, (numbers.Integral, np.integer)):
            raise TypeError(f"{name} must contain only ints, got {shape!r}")
        if dim <= 0:
            raise ValueError(f"{name} must contain only positive dimensions, got {tuple(shape)!r}")
        out.append(int(dim))
    if math.prod(out) > MAX_ELEMENTS:
        raise ValueError(f"{name} {tuple(out)!r} has {math.prod(out):,} elements, more than the "
                         f"{MAX_ELEMENTS:,} (2**31) this package allocates")
    if len(out) < min_ndim:
        raise ValueError(
            f"{name} must have at least {min_ndim} dimension(s), got {tuple(out)!r}"
            + (" (fan_in and fan_out are undefined for a 1-D shape)" if min_ndim == 2 else "")
        )
    return tuple(out)


def check_choice(value, choices, *, name):
    """Raise ValueError unless ``value`` is one of ``choices``."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_real(value, *, name, min_value=None, max_value=None, min_inclusive=True, max_inclusive=True):
    """Return ``value`` as a float after checking its type and range."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond the float range
        raise ValueError(f"{name} must be finite, got an int with {len(str(abs(int(value))))} digits") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    if min_value is not None and (value < min_value or (value == min_value and not min_inclusive)):
        op = ">=" if min_inclusive else ">"
        raise ValueError(f"{name} must be {op} {min_value}, got {value}")
    if max_value is not None and (value > max_value or (value == max_value and not max_inclusive)):
        op = "<=" if max_inclusive else "<"
        raise ValueError(f"{name} must be {op} {max_value}, got {value}")
    return value


def check_int(value, *, name, min_value=None, max_value=None):
    """Return ``value`` as an int after checking its type and bounds."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    value = int(value)
    if min_value is not None and value < min_value:
        raise ValueError(f"{name} must be >= {min_value}, got {value}")
    if max_value is not None and value > max_value:
        raise ValueError(f"{name} must be <= {max_value:,}, got {value:,}")
    return value


def check_index(value, length, *, name="index"):
    """Return ``value`` as an index into ``length`` items, in ``[0, length)``; negative ones count from the end.

    Raises ``TypeError`` for a non-int and ``ValueError`` outside ``[-length, length)``, as a list does.
    """
    value = check_int(value, name=name)
    if not -length <= value < length:
        raise ValueError(f"{name} must be in [-{length}, {length}), got {value}")
    return value % length


def check_dtype(dtype, *, name="dtype"):
    """Accept float32 or float64 (as a numpy dtype, type or string)."""
    try:
        dt = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from None
    if dt not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise ValueError(f"{name} must be float32 or float64, got {dt}")
    return dt


def check_flag(value, *, name):
    """Return ``value`` as a bool; only True and False (Python or numpy) are accepted."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_array(x, *, name, dtype=np.float64, ndims=None, finite=True):
    """Return ``x`` as an array of ``dtype``, or raise naming the argument.

    ``ndims``, if given, lists the accepted numbers of dimensions. With ``finite``
    (the default) nan and inf are refused, and so are values too large for ``dtype``
    (say 1e39 for float32).
    """
    try:
        src = np.asarray(x)
    except ValueError:  # a ragged nested list
        raise ValueError(f"{name} must be a rectangular array, got a ragged sequence") from None
    if src.dtype.kind not in "biuf":
        raise TypeError(f"{name} must be an array of real numbers, got dtype {src.dtype}")
    with np.errstate(over="ignore"):  # an overflow in the cast is reported below, as a ValueError
        arr = src.astype(dtype, copy=False)
    if ndims is not None and arr.ndim not in ndims:
        raise ValueError(f"{name} must have {' or '.join(map(str, ndims))} dimensions, got shape {arr.shape}")
    if finite and not np.isfinite(arr).all():
        raise ValueError(f"{name} must be finite (no nan or inf, nothing beyond the range of {np.dtype(dtype)})")
    return arr
