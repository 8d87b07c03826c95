"""Operating-system failures as one line naming the file and the fix (the CLI's one error path uses it).

A full disk, a read-only folder or a file where a folder should be is not a bug in dreamrooms, so
the user gets what happened to which file and what to do, not a traceback (`--debug` shows one).
Out-of-memory from numpy, ONNX Runtime or OpenCV is reported the same way.
"""
from __future__ import annotations

import contextlib
import errno
import os
import sys

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


# What C++ libraries that write files (OpenEXR's Iex, via its Python binding) put in the RuntimeError they raise
# for an OS failure: the strerror text. Mapped back to the errno so the user gets the same one line.
_STRERRORS = {errno.ENOSPC: ("No space left on device",), errno.EACCES: ("Permission denied",),
              errno.EROFS: ("Read-only file system",), errno.EIO: ("Input/output error",),
              errno.ENOENT: ("No such file or directory",)}
if hasattr(errno, "EDQUOT"):
    _STRERRORS[errno.EDQUOT] = ("Disk quota exceeded",)


def as_oserror(exc: BaseException, path, temp=None) -> OSError | None:
    """`exc` as an OSError naming `path` (the file being written) when it is an OS failure: an OSError that names
    no file or only the temporary `temp` (so the line says which frame), or a RuntimeError carrying an OS error
    text (OpenEXR's "No space left on device"). None for anything else, which stays as it is."""
    if isinstance(exc, OSError):
        if exc.errno is None:
            return None
        names = [exc.filename, exc.filename2]
        if temp is not None:   # the random temporary means nothing to the user: name the file it becomes
            names = [str(path) if n is not None and str(n) == str(temp) else n for n in names]
        if names[0] is None:
            names = [str(path), None]
        if names == [exc.filename, exc.filename2]:
            return None
        strerror = exc.strerror or os.strerror(exc.errno)
        if names[1] is None:
            return OSError(exc.errno, strerror, names[0])
        return OSError(exc.errno, strerror, names[0], None, names[1])   # 4th argument: Windows' winerror
    if isinstance(exc, RuntimeError):
        text = str(exc)
        for code, markers in _STRERRORS.items():
            if any(m.lower() in text.lower() for m in markers):
                return OSError(code, os.strerror(code), str(path))
    return None


def safe_streams() -> None:
    """Let stdout/stderr print any path whatever the locale (LANG=C, PYTHONIOENCODING=ascii): characters the
    encoding lacks are escaped instead of raising UnicodeEncodeError in the middle of an error message."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
