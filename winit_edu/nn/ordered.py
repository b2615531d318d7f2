"""A matrix product whose every entry is computed the same way, on every machine.

``np.matmul`` hands matrix products to a BLAS library, which cuts the matrices
into tiles and may compute the entries at the edge of a tile with other code
(another order of additions, fused multiply-adds) than those inside it. Two
*equal columns* of ``B`` can therefore give columns of ``A @ B`` that differ in
their last bits, and whether they do depends on the processor, the BLAS build
and the number of threads.

:func:`ordered_matmul` computes every entry by the same sequence of operations,

.. math::

    (AB)_{mn} = \\mathrm{fl}\\Big(\\dots\\mathrm{fl}\\big(\\mathrm{fl}(a_{m1} b_{1n})
    + \\mathrm{fl}(a_{m2} b_{2n})\\big) + \\dots + \\mathrm{fl}(a_{mk} b_{kn})\\Big),

one elementwise multiplication and one elementwise addition per term, each
correctly rounded as IEEE 754 requires of every machine. Equal columns of ``B``
(or equal rows of ``A``) therefore give bit-identical columns (rows) of the
product, whatever the processor; chapter 2 uses it to show twin units staying
identical to the last bit. It is a reference, not a fast path: it makes one
pass over the output per term of the sum.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ordered_matmul"]


def ordered_matmul(a, b):
    """Matrix product ``a @ b`` summed term by term, in the same order for every entry.

    Parameters
    ----------
    a : array_like, shape (..., m, k)
        Left factor; leading axes broadcast as in ``numpy.matmul``.
    b : array_like, shape (..., k, n)
        Right factor.

    Returns
    -------
    numpy.ndarray, shape (..., m, n)
        The product, with the dtype ``numpy.matmul`` would give. Entry ``(m, n)``
        is the sum of the products ``a[m, i] * b[i, n]`` for ``i = 0, ..., k-1``,
        added in that order, each operation rounded once.

    Raises
    ------
    ValueError
        If ``a`` or ``b`` has fewer than 2 dimensions, or their inner sizes differ.

    Examples
    --------
    >>> import numpy as np
    >>> from winit_edu import ordered_matmul
    >>> a = np.array([[1.0, 2.0], [3.0, 4.0]])
    >>> ordered_matmul(a, np.eye(2))
    array([[1., 2.],
           [3., 4.]])
    """
    a, b = np.asarray(a), np.asarray(b)
    if a.ndim < 2 or b.ndim < 2:
        raise ValueError(f"a and b must have at least 2 dimensions, got a.ndim={a.ndim} and b.ndim={b.ndim}")
    if a.shape[-1] != b.shape[-2]:
        raise ValueError(f"a's last axis ({a.shape[-1]}) must match b's second-to-last axis ({b.shape[-2]})")
    k = a.shape[-1]
    shape = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], b.shape[-1])
    out = np.zeros(shape, dtype=np.result_type(a, b))
    for i in range(k):
        out += a[..., :, i:i + 1] * b[..., i:i + 1, :]   # one product, then one sum, per entry
    return out
