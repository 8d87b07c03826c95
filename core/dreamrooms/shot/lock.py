"""One writer per stage and shot: an advisory lock file that dies with its process.

`writer_lock(folder, stage)` holds `folder/.STAGE.lock` with an OS lock (fcntl.flock on POSIX,
msvcrt.locking on Windows) that the OS drops when the process ends, however it ends, so a killed
run never leaves a stale lock. A second run of the same stage on the same shot fails at once with
one line naming the run that holds it (pid and command line, which the holder writes into the file).
"""
from __future__ import annotations

import contextlib
import os
import shlex
import sys
from pathlib import Path
from typing import Iterator

from dreamrooms.errors import DreamroomsError

_WIN_LOCK_OFFSET = 1 << 30  # Windows locks are mandatory: lock a byte far past the text so others can read it


class LockedError(DreamroomsError):
    """Another run of the same stage is writing this shot."""


def lock_path(folder: str | os.PathLike, stage: str) -> Path:
    return Path(folder) / f".{stage}.lock"


def _try_lock(fd: int) -> bool:
    if sys.platform == "win32":
        import msvcrt
        os.lseek(fd, _WIN_LOCK_OFFSET, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        text = path.read_text(encoding="utf-8").strip()
        if text:
            return text.splitlines()[0][:300]
    return "unknown pid"


def _describe_self() -> str:
    return f"pid {os.getpid()}: dreamrooms {shlex.join(sys.argv[1:])}"


@contextlib.contextmanager
def writer_lock(folder: str | os.PathLike, stage: str) -> Iterator[Path]:
    """Hold the `stage` writer lock of shot `folder` for the `with` block. A folder made for the lock is removed
    again when the block leaves it empty (a run refused before its first frame leaves nothing behind)."""
    path = lock_path(folder, stage)
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            os.close(fd)
            raise LockedError(f"{Path(folder)}: another `dreamrooms {stage}` run is writing this shot ({_holder(path)}); "
                              f"wait for it to finish or stop it, then rerun")
        # the holder we raced with may have removed the file after we opened it: lock the file that is there
        try:
            same = os.path.samestat(os.fstat(fd), os.stat(path))
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)
    try:
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (_describe_self() + "\n").encode("utf-8", "replace"))
        yield path
    finally:
        with contextlib.suppress(OSError):
            os.unlink(path)  # while still locked, so no one can take the lock on a file about to vanish
        os.close(fd)
        for p in made:  # innermost first; stops at the first folder that holds something
            try:
                p.rmdir()
            except OSError:
                break
