"""Atomic file writes that never write through a name someone else put there.

A shot folder may come from anyone (an archive, a share), so every name in it may already be a symlink
to somewhere else. A write therefore creates its temporary exclusively (`O_CREAT|O_EXCL|O_NOFOLLOW`, a
random name, mode 0600) inside the target's folder, which it holds open (`dir_fd`, openat-style), checks
that the temporary is still a plain file before giving it the target's mode, fsyncs it and renames it
over the target *in that same folder*: a planted `.shot.json.<pid>.tmp` symlink or a folder swapped for a
symlink meanwhile is never written through, and `rename` replaces a symlinked target instead of following
it. A failure leaves no file and no temporary.

Windows has neither `O_NOFOLLOW` nor `dir_fd`: there `O_EXCL` maps to CreateFile(CREATE_NEW), which fails on
any existing name, a symlink or junction (reparse point) included, so the temporary is still never an
existing file; the folder is then named by path, not held open (the confinement checks of
`dreamrooms.shot.paths` run before it).
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
import stat
from pathlib import Path
from typing import Callable, Iterable, Iterator


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_DIR_FD = os.open in os.supports_dir_fd and os.rename in os.supports_dir_fd and bool(_DIRECTORY)
_UMASK = os.umask(0o022)   # read once at import (os.umask is the only way to read it); restored at once
os.umask(_UMASK)
# Installed by dreamrooms.shot.paths (a part above this one): asked before every write, it refuses one that would
# leave the shot folder the file lies in. Without shots loaded nothing is checked.
_write_check: Callable[[Path], None] | None = None


def set_write_check(check: Callable[[Path], None]) -> None:
    """Install the confinement check every atomic write runs first (dreamrooms.shot.paths.check_write_target)."""
    global _write_check
    _write_check = check


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


def temp_name_for(name: str) -> str:
    """A fresh temp name for file `name` (`.NAME.RANDOM.tmp`, same folder, so the rename is atomic and
    `clean_stale_temps` finds it); random, so nobody can plant a file or symlink at it beforehand."""
    return f".{name}.{secrets.token_hex(8)}.tmp"


def _open_dir(folder: Path) -> int | None:
    """An fd of `folder` for openat-style calls, or None where the platform has none (Windows)."""
    if not _DIR_FD:
        return None
    return os.open(folder, os.O_RDONLY | _DIRECTORY)


def _target_mode(name: str, dir_fd: int | None, folder: Path) -> int:
    """The mode the new file gets: that of the regular file it replaces, else 0666 less the umask."""
    try:
        st = os.stat(name if dir_fd is not None else folder / name, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        st = None
    if st is not None and stat.S_ISREG(st.st_mode):
        return stat.S_IMODE(st.st_mode)
    return 0o666 & ~_UMASK


def _create_exclusive(folder: Path, name: str, dir_fd: int | None) -> str:
    """Create an empty temp for `name` exclusively (never through an existing name); returns its name."""
    for _ in range(100):
        tmp = temp_name_for(name)
        try:
            fd = os.open(tmp if dir_fd is not None else folder / tmp,
                         os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY, 0o600, dir_fd=dir_fd)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"{folder}: could not create a temporary file (100 random names taken)")


def _seal(folder: Path, tmp: str, mode: int, dir_fd: int | None) -> None:
    """Give the written temp its final mode and fsync it, refusing it if it is no longer a plain file."""
    fd = os.open(tmp if dir_fd is not None else folder / tmp, os.O_RDONLY | _NOFOLLOW | _BINARY, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(f"{folder / tmp}: temporary file was replaced by something else while being written")
        if hasattr(os, "fchmod"):
            os.fchmod(fd, mode)
        else:  # Windows: only the read-only bit exists
            os.chmod(folder / tmp, mode)
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(dir_fd: int | None) -> None:
    if dir_fd is not None:
        with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
            os.fsync(dir_fd)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a fresh, exclusively created temp path beside `path` to write (by name: OpenEXR, torch, shutil);
    on success seal it (mode, fsync) and rename it over `path` in the same held-open folder, else remove it."""
    path = Path(path)
    folder = path.parent
    dir_fd = tmp = None
    if _write_check is not None:
        _write_check(path)   # inside a shot folder: never through a symlink out of it
    try:
        folder.mkdir(parents=True, exist_ok=True)
        dir_fd = _open_dir(folder)
        mode = _target_mode(path.name, dir_fd, folder)
        tmp = _create_exclusive(folder, path.name, dir_fd)
        yield folder / tmp
        _seal(folder, tmp, mode, dir_fd)
        if dir_fd is not None:
            os.replace(tmp, path.name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
        else:
            os.replace(folder / tmp, path)
        tmp = None
        _fsync_dir(dir_fd)
    except BaseException as exc:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp if dir_fd is not None else folder / tmp, dir_fd=dir_fd)
        mapped = as_oserror(exc, path, folder / tmp if tmp else None)   # disk full in OpenEXR etc.: name the frame
        if mapped is not None:
            raise mapped from exc
        raise
    finally:
        if dir_fd is not None:
            os.close(dir_fd)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | _NOFOLLOW | _BINARY)   # the temp just made: no truncation of anything else
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def private_folder(parent: str | os.PathLike, prefix: str = ".tmp-") -> Path:
    """A fresh folder `PREFIXrandom.tmp` (mode 0700, made exclusively) inside `parent` for a program that writes its
    output by name (Blender's render): nothing can have been planted in it. The caller removes it (shutil.rmtree)
    after renaming what it wants out of it; after a kill, whoever cleans `.*.tmp*` removes it too."""
    import tempfile

    if _write_check is not None:
        _write_check(Path(parent) / prefix)
    return Path(tempfile.mkdtemp(prefix=prefix, suffix=".tmp", dir=parent))


def clean_stale_temps(paths: Iterable[Path]) -> None:
    """Remove the temps a killed run left beside these frames (`.NAME.####.exr.RANDOM.tmp`). Call it while holding
    the stage's writer lock (dreamrooms.shot.lock), so no live writer of those files can be running. `unlink`
    removes a symlink itself, never what it points to."""
    seen = set()
    for p in paths:
        key = (p.parent, p.name.split(".")[0])
        if key in seen or not p.parent.is_dir():
            continue
        seen.add(key)
        for t in p.parent.glob(f".{key[1]}.*.tmp"):
            with contextlib.suppress(OSError):
                t.unlink()
