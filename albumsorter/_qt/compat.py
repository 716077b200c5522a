"""Work-arounds for defects of the Qt binding we ship with.

PySide6 6.12 on CPython 3.11 drops references it does not own (measured; see tests/test_gui.py::
test_pyside_refcount_workaround): every `SignalInstance.emit()` from Python releases one reference to
`True`, every Qt-emitted signal delivered to a Python slot releases one to `None`, and `QModelIndex.data()`
returning an invalid QVariant releases one to `None`. After a few thousand signals (an indexing run of a
large folder, scrolling a big grid) the interpreter aborts with "Fatal Python error: none_dealloc /
bool_dealloc". CPython 3.12+ makes these singletons immortal (their reference count is never changed), so
the bug is harmless there; on 3.11 we make them effectively immortal the same way: a huge reference count
that no number of dropped references can bring to zero. Nothing else is touched.
"""

from __future__ import annotations

import ctypes
import platform
import sys

_PINNED = False
_EXTRA = 1 << 40  # references: ~10^12 dropped references before any risk


def pin_singletons() -> bool:
    """Give None/True/False an effectively infinite reference count on CPython < 3.12. Idempotent."""
    global _PINNED
    if _PINNED or sys.version_info >= (3, 12) or platform.python_implementation() != "CPython":
        return False
    if hasattr(sys, "gettotalrefcount"):  # a debug build counts references globally: leave it alone
        return False
    for obj in (None, True, False):
        # ob_refcnt is the first field (Py_ssize_t) of every object in CPython 3.11's non-debug layout.
        ctypes.c_ssize_t.from_address(id(obj)).value += _EXTRA
    _PINNED = True
    return True
