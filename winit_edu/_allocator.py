"""Keep freed memory for reuse, so an ensemble's training steps do not page-fault.

Every step of :func:`winit_edu.train` allocates and frees the same arrays:
pre-activations, activations, gradients, each of shape ``(members, batch,
width)``. With eight members of a 256-wide layer these are about a megabyte
each. glibc's ``malloc`` hands blocks that large straight back to the
operating system when they are freed (``mmap``, or trimming the top of the
heap), so the next step gets fresh pages and pays a page fault for every 4 KiB
of them. Measured on workload (b) of ``benchmarks/run.py``, that made training
eight seeds at once about 1.5x *slower* than training them one after the
other, although the matrix products took the same time.

:func:`keep_freed_memory` raises glibc's two thresholds so that blocks up to
32 MiB come from the heap and freed heap memory is kept (up to 256 MiB) for
the next step. It changes nothing else: the arrays and the results are the
same, and the process may keep a little more memory mapped. On a system
without glibc (macOS, Windows, musl) it does nothing.
"""
from __future__ import annotations

import ctypes
import ctypes.util

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3  # mallopt parameters, <malloc.h>
_done = False


def keep_freed_memory(mmap_threshold=32 << 20, trim_threshold=256 << 20):
    """Ask glibc to reuse freed blocks instead of returning them to the system; once per process.

    Returns
    -------
    bool
        Whether the allocator was tuned (False where glibc's ``mallopt`` is absent).
    """
    global _done
    if _done:
        return True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    _done = bool(mallopt(M_MMAP_THRESHOLD, mmap_threshold)) and bool(mallopt(M_TRIM_THRESHOLD, trim_threshold))
    return _done
