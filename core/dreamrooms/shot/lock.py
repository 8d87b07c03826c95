"""Advisory locks of a shot folder: one writer per stage, and one shot-wide lock around every shot.json update.

`writer_lock(folder, stage)` holds `folder/.STAGE.lock` for a whole run; a second run of the same stage on the same
shot fails at once with one line naming the run that holds it (pid and command line, which the holder writes into
the file).  `manifest_lock(folder)` holds `folder/.shot.json.lock` only while a stage re-reads shot.json, merges its
record and writes it back (:func:`dreamrooms.shot.manifest.update_shot`); other writers wait for it.

Both are OS locks that the OS drops when the process ends, however it ends, so a killed run never leaves a stale
lock.  A lock file is opened without following a symlink (``O_NOFOLLOW``) and without ``O_TRUNC``, and must be a
plain file with one link: a symlink, a hard link, a FIFO or a folder planted at the lock's name is refused in one
line naming it, and no other file is ever truncated or written through it.

Windows (by reasoning; only POSIX runs in the tests): there is no ``O_NOFOLLOW``, and ``os.open`` follows symlinks and
junctions (reparse points).  The name is therefore checked with ``os.lstat`` first (a reparse point is refused by its
``st_file_attributes``), and after opening, ``os.fstat`` of the handle must equal ``os.lstat`` of the name
(``samestat``: same volume and file index), so a swap between the check and the open is refused too.  Windows locks
are mandatory, so ``msvcrt.locking`` locks one byte far past the text: readers can still read who holds it.
"""
from __future__ import annotations

import contextlib
import os
import shlex
import stat
import sys
import time
from pathlib import Path
from typing import Iterator

from dreamrooms.errors import DreamroomsError

_WIN_LOCK_OFFSET = 1 << 30  # Windows locks are mandatory: lock a byte far past the text so others can read it
MANIFEST_WAIT_S = 120.0     # a shot.json update holds the manifest lock for milliseconds; this is only a safety net
_REPARSE = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0x400)


class LockedError(DreamroomsError):
    """Another run of the same stage is writing this shot."""


class LockFileError(DreamroomsError):
    """Something other than a plain lock file sits at a lock's name."""


def lock_path(folder: str | os.PathLike, stage: str) -> Path:
    return Path(folder) / f".{stage}.lock"


def manifest_lock_path(folder: str | os.PathLike) -> Path:
    return Path(folder) / ".shot.json.lock"


def _refuse(path: Path, what: str) -> LockFileError:
    return LockFileError(f"{path}: {what}, not a lock file; remove it (no dreamrooms run writes it) and rerun")


def _open_lock_file(path: Path) -> int:
    """Open (or create) the lock file itself: never through a symlink, never truncating, only a plain file."""
    if sys.platform == "win32":   # no O_NOFOLLOW: look first, then compare the handle with the name (see module doc)
        with contextlib.suppress(FileNotFoundError):
            st = os.lstat(path)
            if stat.S_ISLNK(st.st_mode) or getattr(st, "st_file_attributes", 0) & _REPARSE:
                raise _refuse(path, "is a symlink or junction")
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
                     | getattr(os, "O_NONBLOCK", 0), 0o644)   # O_NONBLOCK: a FIFO planted here must not hang us
    except OSError as exc:
        if os.path.islink(path):
            raise _refuse(path, "is a symlink") from None
        if os.path.isdir(path):
            raise _refuse(path, "is a folder") from None
        raise LockFileError(f"{path}: cannot open the lock file ({exc.strerror}); check the folder's permissions") from None
    st = os.fstat(fd)
    why = ("is not a plain file" if not stat.S_ISREG(st.st_mode) else
           "has other hard links" if st.st_nlink > 1 else None)
    if why is None and sys.platform == "win32":
        with contextlib.suppress(OSError):
            if not os.path.samestat(st, os.lstat(path)):
                why = "was swapped while being opened"
    if why:
        os.close(fd)
        raise _refuse(path, why)
    return fd


def _try_lock(fd: int, wait: bool = False) -> bool:
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
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except BlockingIOError:
        return False
    return True


def _holder(path: Path) -> str:
    with contextlib.suppress(OSError, UnicodeDecodeError):
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
        try:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                text = os.read(fd, 4096).decode("utf-8").strip()
                if text:
                    return text.splitlines()[0][:300]
        finally:
            os.close(fd)
    return "unknown pid"


def _describe_self() -> str:
    return f"pid {os.getpid()}: dreamrooms {shlex.join(sys.argv[1:])}"


def _acquire(path: Path, wait_s: float | None) -> int | None:
    """The locked fd of the lock file at `path` (None when another holds it and `wait_s` is None or ran out)."""
    deadline = None if wait_s is None else time.monotonic() + wait_s
    while True:
        fd = _open_lock_file(path)
        got = _try_lock(fd)
        while not got and deadline is not None and time.monotonic() < deadline:
            time.sleep(0.01)
            got = _try_lock(fd)
        if not got:
            os.close(fd)
            return None
        # the holder we raced with may have removed the file after we opened it: lock the file that is there
        try:
            same = os.path.samestat(os.fstat(fd), os.lstat(path))
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)


def _release(fd: int, path: Path) -> None:
    with contextlib.suppress(OSError):
        if os.path.samestat(os.fstat(fd), os.lstat(path)):
            os.unlink(path)  # while still locked, so no one can take the lock on a file about to vanish
    os.close(fd)


@contextlib.contextmanager
def writer_lock(folder: str | os.PathLike, stage: str) -> Iterator[Path]:
    """Hold the `stage` writer lock of shot `folder` for the `with` block. A folder made for the lock is removed
    again when the block leaves it empty (a run refused before its first frame leaves nothing behind)."""
    path = lock_path(folder, stage)
    made = [p for p in (path.parent, *path.parent.parents) if not p.exists()]
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = _acquire(path, None)
    except LockFileError:
        _remove_made(made)
        raise
    if fd is None:
        raise LockedError(f"{Path(folder)}: another `dreamrooms {stage}` run is writing this shot ({_holder(path)}); "
                          f"wait for it to finish or stop it, then rerun")
    try:
        os.ftruncate(fd, 0)   # our own lock file: a plain file with one link (checked when opened)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, (_describe_self() + "\n").encode("utf-8", "replace"))
        yield path
    finally:
        _release(fd, path)
        _remove_made(made)


@contextlib.contextmanager
def manifest_lock(folder: str | os.PathLike, wait_s: float = MANIFEST_WAIT_S) -> Iterator[Path]:
    """Hold the shot-wide shot.json lock of `folder` for a re-read, merge and write (waits for another holder)."""
    path = manifest_lock_path(folder)
    Path(folder).mkdir(parents=True, exist_ok=True)
    fd = _acquire(path, wait_s)
    if fd is None:
        raise LockedError(f"{path}: another run held the shot.json lock for over {wait_s:.0f} s ({_holder(path)}); "
                          f"stop it, then rerun")
    try:
        yield path
    finally:
        _release(fd, path)


def _remove_made(made: list[Path]) -> None:
    for p in made:  # innermost first; stops at the first folder that holds something
        try:
            p.rmdir()
        except OSError:
            break
