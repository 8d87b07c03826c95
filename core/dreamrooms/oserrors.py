"""Operating-system failures as one line naming the file and the fix (the CLI's one error path uses it).

A full disk, a read-only folder or a file where a folder should be is not a bug in dreamrooms, so
the user gets what happened to which file and what to do, not a traceback (`--debug` shows one).
Out-of-memory from numpy, ONNX Runtime or OpenCV is reported the same way.
"""
from __future__ import annotations

import errno

_FIXES = {
    errno.ENOENT: ("does not exist", "check the path"),
    errno.EACCES: ("permission denied", "choose a folder you may write to, or fix its permissions"),
    errno.EPERM: ("operation not permitted", "choose a folder you may write to, or fix its permissions"),
    errno.EROFS: ("is on a read-only file system", "write to a writable disk"),
    errno.ENOSPC: ("disk full", "free some space or write to another disk; whole frames written so far are kept, rerun to resume"),
    errno.ENOTDIR: ("a file is in the way where a folder is expected", "move or rename that file, or choose another path"),
    errno.EISDIR: ("is a folder where a file is expected", "choose a file path"),
    errno.EEXIST: ("already exists", "remove it or choose another path"),
    errno.ENAMETOOLONG: ("file name too long", "use a shorter folder or file name"),
    errno.EMFILE: ("too many open files", "raise the open-file limit (ulimit -n) or lower --workers"),
    errno.ENFILE: ("too many open files", "raise the open-file limit or lower --workers"),
    errno.EIO: ("input/output error", "check the disk or network share"),
    errno.ENOMEM: ("out of memory", "lower --batch or the resolution, or free memory"),
}
if hasattr(errno, "EDQUOT"):
    _FIXES[errno.EDQUOT] = ("disk quota exceeded", "free some space or write to another disk")

_OOM_MARKERS = ("Failed to allocate memory", "Insufficient memory", "bad_alloc", "out of memory", "Cannot allocate memory")


def is_out_of_memory(exc: BaseException) -> bool:
    """True for MemoryError and the allocation failures ONNX Runtime and OpenCV raise as their own types."""
    if isinstance(exc, MemoryError):
        return True
    text = str(exc)
    return type(exc).__module__.split(".")[0] in ("onnxruntime", "cv2") and any(m in text for m in _OOM_MARKERS)


def describe(exc: BaseException) -> str | None:
    """One line for an OSError or an out-of-memory failure; None for anything else (a bug: keep the traceback)."""
    if is_out_of_memory(exc):
        return "out of memory; lower --batch, --size or the resolution, or free memory (whole frames so far are kept)"
    if not isinstance(exc, OSError):
        return None
    files = [f for f in (exc.filename, exc.filename2) if f is not None]
    where = " -> ".join(str(f) for f in files) if files else "a file"
    what, fix = _FIXES.get(exc.errno, (exc.strerror or str(exc) or type(exc).__name__, "check the path and the disk"))
    return f"{where}: {what}; {fix}"
