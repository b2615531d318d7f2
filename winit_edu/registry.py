"""Look initializers up by name, so that a notebook or a widget can say "he_normal"."""
from __future__ import annotations

from . import distributions, structured, variance_scaling

#: Every initializer by name; these are the names that ``get_initializer`` and ``MLP`` accept.
INITIALIZERS = {
    "zeros": distributions.zeros,
    "ones": distributions.ones,
    "constant": distributions.constant,
    "uniform": distributions.uniform,
    "normal": distributions.normal,
    "truncated_normal": distributions.truncated_normal,
    "variance_scaling": variance_scaling.variance_scaling,
    "lecun_uniform": variance_scaling.lecun_uniform,
    "lecun_normal": variance_scaling.lecun_normal,
    "glorot_uniform": variance_scaling.glorot_uniform,
    "glorot_normal": variance_scaling.glorot_normal,
    "he_uniform": variance_scaling.he_uniform,
    "he_normal": variance_scaling.he_normal,
    "orthogonal": structured.orthogonal,
    "identity": structured.identity,
    "sparse": structured.sparse,
}
ALIASES = {
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
}


def get_initializer(name, **kwargs):
    """Return the initializer called ``name``, optionally with keywords bound.

    Parameters
    ----------
    name : str or callable
        A key of ``INITIALIZERS`` (``"he_normal"``, ``"glorot_uniform"``, ...)
        or one of the PyTorch-style aliases ``"xavier_*"``/``"kaiming_*"``.
        A callable is returned as is (with ``kwargs`` bound), so functions
        that accept an initializer accept either.
    **kwargs
        Keyword arguments fixed for every call, e.g. ``std=0.01`` for
        ``"normal"`` or ``value=0.1`` for ``"constant"``.

    Returns
    -------
    callable
        ``init(shape, rng) -> numpy.ndarray``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        If ``name`` is neither a string nor callable.

    Examples
    --------
    >>> init = get_initializer("normal", std=0.01)
    >>> init((3, 2), rng=0).shape
    (3, 2)
    """
    if callable(name):
        fn = name
    elif isinstance(name, str):
        key = ALIASES.get(name, name)
        if key not in INITIALIZERS:
            known = sorted(INITIALIZERS) + sorted(ALIASES)
            raise ValueError(f"name must be one of {known}, got {name!r}")
        fn = INITIALIZERS[key]
    else:
        raise TypeError(f"name must be a str or a callable, got {type(name).__name__}")
    if not kwargs:
        return fn

    def init(shape, rng=None):
        return fn(shape, rng=rng, **kwargs)

    init.__name__ = getattr(fn, "__name__", "init")
    init.__doc__ = f"{init.__name__} with {kwargs}"
    return init
