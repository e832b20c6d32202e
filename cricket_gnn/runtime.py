"""Process-wide settings for running PyTorch on CPU."""

from __future__ import annotations

import ctypes
import ctypes.util

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_KEEP_BYTES = 1 << 30


def keep_freed_memory() -> bool:
    """Stop glibc handing large freed blocks back to the kernel after every batch.

    Every forward allocates and frees tensors of several MB (the gathered keys and values
    of each edge). By default glibc serves those with mmap and returns them on free, so
    the next batch page-faults the same memory in again: a full-data val forward of the
    full model spent 35 of its 40 s in the kernel. Raising the mmap and trim thresholds
    keeps the memory in the heap for reuse; the same forward then takes 22 s.
    Returns whether the settings took (False off glibc, where it changes nothing).
    """
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _KEEP_BYTES)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _KEEP_BYTES)
    )
