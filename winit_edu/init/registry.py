"""Look initializers up by name, so that a notebook or a widget can say "he_normal"."""
from __future__ import annotations

import inspect

from . import distributions, scaling, structured

#: Every initializer by name; these are the names that ``get_initializer`` and ``MLP`` accept.
INITIALIZERS = {
    "zeros": distributions.zeros,
    "ones": distributions.ones,
    "constant": distributions.constant,
    "uniform": distributions.uniform,
    "normal": distributions.normal,
    "truncated_normal": distributions.truncated_normal,
    "variance_scaling": scaling.variance_scaling,
    "lecun_uniform": scaling.lecun_uniform,
    "lecun_normal": scaling.lecun_normal,
    "glorot_uniform": scaling.glorot_uniform,
    "glorot_normal": scaling.glorot_normal,
    "he_uniform": scaling.he_uniform,
    "he_normal": scaling.he_normal,
    "pytorch_default": scaling.pytorch_default,
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


def get_initializer(name, **options):
    """Return the initializer called ``name``, optionally with options bound.

    Parameters
    ----------
    name : str or callable
        A key of ``INITIALIZERS`` (``"he_normal"``, ``"glorot_uniform"``, ...)
        or one of the PyTorch-style aliases ``"xavier_*"``/``"kaiming_*"``.
        A callable is returned as is (with ``options`` bound), so functions
        that accept an initializer accept either.
    **options
        Keyword options fixed for every call, e.g. ``std=0.01`` for
        ``"normal"`` or ``value=0.1`` for ``"constant"``. Their *names* are
        checked here, against the initializer's signature; their values when
        the initializer draws (some limits depend on the shape).

    Returns
    -------
    callable
        ``init(shape, rng=None) -> numpy.ndarray``.

    Raises
    ------
    ValueError
        For an unknown name; the message lists the known ones.
    TypeError
        If ``name`` is neither a string nor callable, or an option is not a
        keyword option of the initializer (``shape`` and ``rng`` are given
        at each call, not here).

    Examples
    --------
    >>> init = get_initializer("normal", std=0.01)
    >>> init((3, 2), rng=0).shape
    (3, 2)
    >>> get_initializer("he_normal", std=0.1)
    Traceback (most recent call last):
    ...
    TypeError: he_normal has no option 'std'; its options are ['a', 'mode', 'nonlinearity', 'param', 'truncated', 'layout', 'dtype']
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
    if not options:
        return fn
    _check_options(fn, options)

    def init(shape, rng=None, **more):  # more: what a network passes at the call (a bias's fan_in)
        return fn(shape, rng=rng, **options, **more)

    init.__name__ = getattr(fn, "__name__", "init")
    init.__doc__ = f"{init.__name__} with {options}"
    try:  # the options not bound here, so that accepts_option sees through the wrapper
        signature = inspect.signature(fn)
        init.__signature__ = signature.replace(parameters=[p for name, p in signature.parameters.items()
                                                           if name not in options])
    except (TypeError, ValueError):
        pass
    return init


def accepts_option(init, name):
    """Whether the initializer ``init`` takes the keyword option ``name``.

    :class:`~winit_edu.network.MLP` and :class:`~winit_edu.residual.ResidualMLP`
    pass a bias initializer that accepts ``fan_in`` the fan-in of its layer
    (as :func:`~winit_edu.scaling.pytorch_default` needs).

    Examples
    --------
    >>> accepts_option(get_initializer("pytorch_default"), "fan_in")
    True
    >>> accepts_option(get_initializer("zeros"), "fan_in")
    False
    """
    try:
        parameters = inspect.signature(init).parameters
    except (TypeError, ValueError):  # no inspectable signature: assume the plain init(shape, rng)
        return False
    spec = parameters.get(name)
    return spec is not None and spec.kind in (spec.KEYWORD_ONLY, spec.POSITIONAL_OR_KEYWORD)


def _check_options(fn, options):
    """Raise TypeError unless every option is a keyword ``fn`` accepts (other than shape and rng)."""
    name = getattr(fn, "__name__", "the initializer")
    for reserved in ("shape", "rng"):
        if reserved in options:
            raise TypeError(f"{reserved} is given at each call of the initializer, not as an option of {name}")
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a callable without an inspectable signature: nothing to check
        return
    params = signature.parameters
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    accepted = [p for p, spec in params.items() if p not in ("shape", "rng")
                and spec.kind in (spec.KEYWORD_ONLY, spec.POSITIONAL_OR_KEYWORD)]
    for option in options:
        if option not in accepted:
            raise TypeError(f"{name} has no option {option!r}; its options are {accepted}")
