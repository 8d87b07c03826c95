"""A model file is checked against its manifest's sha256 every time it is used.

Hashing a 100 MB model on every run would cost a second, so the hash is cached per file
(`<models dir>/.sha256-cache.json`) keyed by its size, modification time, inode and *status-change* time
(st_ctime on POSIX). Writing the file in place moves its ctime to now, and no user-level call sets ctime
back (`touch -r` and `os.utime` restore only atime and mtime); replacing it by rename changes the inode. So
the cache trusts only what takes the system clock (root) to fake. On Windows `st_ctime` is the *creation*
time, which an in-place rewrite keeps, so there the cache is not used and every use hashes the file.
A mismatch refuses the model with one line; the hash recorded in a shot's provenance is the file's own.
"""
from __future__ import annotations

import contextlib
import json
import os
import sys
from pathlib import Path

from dreamrooms.errors import DreamroomsError
from dreamrooms.models.registry import sha256_file

CACHE_NAME = ".sha256-cache.json"
CACHE_VERSION = 2     # v1 keys (size, mtime) are never trusted again
# POSIX st_ctime is the inode's last status change, which user code cannot set; Windows' is creation time.
CTIME_IS_CHANGE_TIME = sys.platform != "win32"


class IntegrityError(DreamroomsError):
    """A model file's sha256 differs from its manifest's."""


def _load_cache(cache: Path) -> dict:
    with contextlib.suppress(OSError, ValueError, UnicodeDecodeError):
        data = json.loads(cache.read_text(encoding="utf-8"))
        if isinstance(data, dict):
            return data
    return {}


def cached_sha256(path: str | os.PathLike, cache_dir: str | os.PathLike | None) -> str:
    """sha256 of `path`, from the cache in `cache_dir` when its size, mtime, inode and ctime are unchanged."""
    path = Path(path).resolve()
    st = path.stat()
    key = [CACHE_VERSION, st.st_size, st.st_mtime_ns, st.st_ino, st.st_dev, st.st_ctime_ns]
    cache = Path(cache_dir) / CACHE_NAME if (cache_dir and CTIME_IS_CHANGE_TIME) else None
    data = _load_cache(cache) if cache else {}
    hit = data.get(str(path))
    if isinstance(hit, list) and len(hit) == len(key) + 1 and hit[:-1] == key and isinstance(hit[-1], str):
        return hit[-1]
    sha = sha256_file(path)
    if cache is not None:
        data[str(path)] = [*key, sha]
        with contextlib.suppress(OSError):  # a read-only models dir only costs the next run a hash
            from dreamrooms.atomic import write_text_atomic
            write_text_atomic(cache, json.dumps(data, indent=0))
    return sha


def verify(path: str | os.PathLike, expected: str, name: str, cache_dir: str | os.PathLike | None) -> str:
    """The file's sha256; a one-line IntegrityError when `expected` is given and differs."""
    got = cached_sha256(path, cache_dir)
    if expected and got != expected.lower():
        raise IntegrityError(f"{path}: sha256 {got[:16]}... does not match model {name!r}'s manifest "
                             f"({expected[:16]}...); the file was changed or damaged — reinstall or fetch it again "
                             f"(`dreamrooms models fetch {name}`), or re-add your own file with `models add --force`")
    return got
