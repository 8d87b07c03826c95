"""Atomic file writes: write `name.tmp`, fsync, rename; a failure leaves no file and no temp."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterable, Iterator


def temp_path_for(path: Path) -> Path:
    """The temp name used while `path` is being written (same folder, so rename is atomic)."""
    return path.with_name(f".{path.name}.{os.getpid()}.tmp")


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every filesystem lets a folder be fsynced
        _fsync_file(folder)


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temp path to write; on success fsync it and rename it over `path`, else remove it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path_for(path)
    try:
        yield tmp
        _fsync_file(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_dir(path.parent)


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> None:
    """Write `data` to `path` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Write UTF-8 `text` to `path` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))


def clean_stale_temps(paths: Iterable[Path]) -> None:
    """Remove the temps a killed run left beside these frames (`.NAME.####.exr.PID.tmp`). Call it while holding
    the stage's writer lock (dreamrooms.shot.lock), so no live writer of those files can be running."""
    seen = set()
    for p in paths:
        key = (p.parent, p.name.split(".")[0])
        if key in seen or not p.parent.is_dir():
            continue
        seen.add(key)
        for t in p.parent.glob(f".{key[1]}.*.tmp"):
            with contextlib.suppress(OSError):
                t.unlink()
