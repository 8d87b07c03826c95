"""Verified, resumable model downloads into the models dir.

``fetch(name)`` streams the manifest's URL into ``<models dir>/<file>.part`` (resuming with an HTTP
Range request when a partial file is there or the connection drops), checks size and sha256, and
only then renames the file into place, so a model file that is visible is always a verified one.
A `.part` is only resumed from the URL that started it (`<file>.part.url`), a download that gets less
than ``limits.DOWNLOAD_STALL_BYTES`` in ``limits.DOWNLOAD_STALL_S`` seconds fails as stalled (a server
trickling a byte at a time never trips the per-read timeout), and the file lands inside the models
dir (`confine`). A sha256 mismatch deletes the download. Without a sha256 in the manifest the download is refused
unless ``allow_unverified=True`` (``--allow-unverified``), which prints the hash it got.
"""
from __future__ import annotations

import hashlib
import http.client
import os
import socket
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from dreamrooms import limits
from dreamrooms.models import ModelEntry, ModelError, registry, sha256_file
from dreamrooms.progress import progress

CHUNK = 1 << 16
USER_AGENT = "dreamrooms-model-fetch/1"


class DownloadError(ModelError):
    """A download failed: offline, server error, interrupted beyond retries, stalled, or a bad hash."""


class _Stalled(Exception):
    """Raised inside the read loop when too few bytes arrived in the stall window."""


class _TooLong(Exception):
    """Raised inside the read loop before a chunk would take the file past the manifest's size."""


def _content_length(resp, url: str, dest: Path) -> int | None:
    """The response's Content-Length as a number of bytes (None when absent); a malformed one is one line."""
    text = resp.headers.get("Content-Length")
    if text is None:
        return None
    if not text.strip().isdigit():
        raise DownloadError(f"{url}: the server sent Content-Length {text[:40]!r}, not a number of bytes; "
                            f"try again later or another --url, or put the file at {dest}")
    return int(text)


def _offline_msg(url: str, dest: Path, reason, sha: str) -> str:
    hint = f" (sha256 {sha})" if sha else ""
    return (f"cannot download {url}: {reason}; you may be offline or the server is down — "
            f"download the file by other means and put it at {dest}{hint}, or pass --url MIRROR")


STALL_ENV = "DREAMROOMS_DOWNLOAD_STALL_S"  # override limits.DOWNLOAD_STALL_S (seconds)


def check_url(url: str, what: str) -> str:
    """`url` if it is an http(s) URL with a host, or a file: URL (a local mirror); else one line naming `what`."""
    try:
        u = urllib.parse.urlsplit(url)
    except ValueError:
        u = None
    ok = u is not None and ((u.scheme in ("http", "https") and bool(u.hostname)) or (u.scheme == "file" and bool(u.path)))
    if not ok:
        raise DownloadError(f"{what} {url!r}: not a download URL; give the full address, e.g. "
                            "https://host/path/model.onnx (or file:///path/model.onnx for a local mirror)")
    return url


def _stall_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get(STALL_ENV, limits.DOWNLOAD_STALL_S)))
    except ValueError:
        return limits.DOWNLOAD_STALL_S


def _open(url: str, start: int, timeout: float):
    req = urllib.request.Request(url, headers={"User-Agent": USER_AGENT})
    if start > 0:
        req.add_header("Range", f"bytes={start}-")
    return urllib.request.urlopen(req, timeout=timeout)  # noqa: S310 (URLs come from the manifest or the user)


_DONE = object()  # _connect: the partial file is already complete (HTTP 416)


class _Job:
    """One download in progress: the ``.part`` file, its running sha256 and size, the progress bar."""

    def __init__(self, url: str, dest: Path, sha256: str, size: int, retries: int, timeout: float):
        self.url, self.dest, self.sha256, self.size = url, dest, sha256, size
        self.retries, self.timeout = retries, timeout
        self.part = dest.with_name(dest.name + ".part")
        self.origin = dest.with_name(dest.name + ".part.url")
        self.stall_s = 0.0
        self.h = hashlib.sha256()
        self.have = 0
        self.total = size or None
        self.attempts = 0
        self.bar = None


def _start(url: str, dest: Path, sha256: str, allow_unverified: bool) -> None:
    """Refuse a download that cannot be verified or has no URL; make the destination folder."""
    if not sha256 and not allow_unverified:
        raise DownloadError(f"no sha256 is known for {url}, so the download cannot be verified; rerun with "
                            f"--allow-unverified to accept it anyway, or download it yourself and put it at {dest}")
    if not url:
        raise DownloadError(f"no URL to download {dest.name} from; put the file at {dest}")
    dest.parent.mkdir(parents=True, exist_ok=True)


def _resume(job: _Job) -> None:
    """Keep a ``.part`` only if it came from this URL, and hash what it already holds."""
    part, origin = job.part, job.origin
    if part.exists() and (not origin.is_file() or origin.read_text(encoding="utf-8", errors="replace") != job.url):
        part.unlink()  # left by a download from another URL: splicing it would corrupt the file
    origin.write_text(job.url, encoding="utf-8")
    if part.exists():
        job.have = part.stat().st_size
        with open(part, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                job.h.update(chunk)


def _connect(job: _Job):
    """Open the URL from ``job.have`` on: the response, None to retry, or _DONE when the .part is complete."""
    url, dest = job.url, job.dest
    try:
        return _open(url, job.have, job.timeout)
    except urllib.error.HTTPError as exc:
        if exc.code == 416 and job.have:        # the partial file is already complete (or bigger)
            return _DONE
        raise DownloadError(f"cannot download {url}: HTTP {exc.code} {exc.reason}; "
                            f"download it by other means and put it at {dest}") from None
    except (urllib.error.URLError, socket.timeout, ConnectionError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        job.attempts += 1
        if job.attempts > job.retries or job.have == 0 or isinstance(reason, ConnectionRefusedError):
            raise DownloadError(_offline_msg(url, dest, reason, job.sha256)) from None
        return None


def _prepare_body(job: _Job, resp) -> None:
    """Restart when the server ignored Range, refuse a body longer than the manifest, learn the total."""
    url, dest, size, bar = job.url, job.dest, job.size, job.bar
    status = getattr(resp, "status", 200)
    if job.have and status == 200:          # server ignored Range: start over
        job.have = 0
        job.h = hashlib.sha256()
        job.part.unlink(missing_ok=True)
        bar.reset() if hasattr(bar, "reset") else None
    length = _content_length(resp, url, dest)
    if size and length is not None and job.have + length > size:
        job.part.unlink(missing_ok=True)
        raise DownloadError(f"{url} sends {job.have + length} bytes but the manifest says {size}; nothing "
                            f"kept — check the URL or put the right file at {dest}")
    if job.total is None and length is not None:
        job.total = job.have + length
        if hasattr(bar, "total"):
            bar.total = job.total


def _stream(job: _Job, resp) -> None:
    """Append the response body to the .part, hashing it; raises _Stalled or _TooLong."""
    size = job.size
    read = getattr(resp, "read1", resp.read)  # read1: whatever has arrived, so the stall check runs
    window_start, window_bytes = time.monotonic(), 0
    with open(job.part, "ab") as f:
        while True:
            chunk = read(CHUNK)
            if not chunk:
                break
            window_bytes += len(chunk)
            if time.monotonic() - window_start >= job.stall_s:
                if window_bytes < limits.DOWNLOAD_STALL_BYTES:
                    raise _Stalled(window_bytes)
                window_start, window_bytes = time.monotonic(), 0
            if size and job.have + len(chunk) > size:   # never more than the manifest's size on disk
                raise _TooLong(job.have + len(chunk))
            f.write(chunk)
            job.h.update(chunk)
            job.have += len(chunk)
            job.bar.update(len(chunk))
        f.flush()
        os.fsync(f.fileno())


def _receive(job: _Job, resp) -> bool:
    """Take one response's body into the .part; False when a read error means retrying."""
    url, dest = job.url, job.dest
    with resp:
        _prepare_body(job, resp)
        try:
            _stream(job, resp)
        except _TooLong as exc:
            job.part.unlink(missing_ok=True)
            raise DownloadError(f"{url} sent more than the manifest's size of {job.size} bytes (at least "
                                f"{exc.args[0]}); deleted the partial download — check the URL or put the "
                                f"right file at {dest}") from None
        except _Stalled as exc:
            raise DownloadError(f"download of {url} stalled: {exc.args[0]} bytes in the last {job.stall_s:g} s "
                                f"(less than {limits.DOWNLOAD_STALL_BYTES >> 10} KB); the server is stuck or too "
                                f"slow — rerun to resume, pass --url MIRROR, or put the file at {dest}") from None
        except (http.client.IncompleteRead, socket.timeout, ConnectionError, OSError) as exc:
            job.attempts += 1
            if job.attempts > job.retries:
                raise DownloadError(f"download of {url} kept failing ({exc.__class__.__name__}) at "
                                    f"{job.have} bytes; rerun to resume, or put the file at {dest}") from None
            return False
    return True


def _transfer(job: _Job) -> None:
    """Connect and receive until the whole file is in the .part, retrying drops up to ``job.retries``."""
    while True:
        resp = _connect(job)
        if resp is _DONE:
            break
        if resp is None or not _receive(job, resp):
            continue
        if job.total is not None and job.have < job.total:   # the server closed early without an error
            job.attempts += 1
            if job.attempts > job.retries:
                raise DownloadError(f"download of {job.url} stopped at {job.have} of {job.total} bytes; "
                                    f"rerun to resume, or put the file at {job.dest}")
            continue
        break


def _verify_and_place(job: _Job) -> str:
    """Check the .part's size and sha256, then rename it into place; returns its sha256."""
    url, dest, part, size, sha256 = job.url, job.dest, job.part, job.size, job.sha256
    got = job.h.hexdigest() if job.have == part.stat().st_size else sha256_file(part)
    job.origin.unlink(missing_ok=True)
    if size and part.stat().st_size != size:
        n = part.stat().st_size
        part.unlink(missing_ok=True)
        raise DownloadError(f"download of {url} has {n} bytes, the manifest says {size}; deleted it — "
                            f"check the URL or put the right file at {dest}")
    if sha256 and got != sha256:
        part.unlink(missing_ok=True)
        raise DownloadError(f"sha256 mismatch for {url}: expected {sha256}, got {got}; the download was deleted — "
                            f"check the URL/mirror or put the right file at {dest}")
    os.replace(part, dest)
    if not sha256:
        print(f"dreamrooms: warning: {dest.name} downloaded UNVERIFIED (no sha256 in the manifest); "
              f"its sha256 is {got}", file=sys.stderr)
    return got


def download(url: str, dest: str | os.PathLike, *, sha256: str = "", size: int = 0, allow_unverified: bool = False,
             retries: int = 5, timeout: float = 30.0, desc: str | None = None) -> str:
    """Download ``url`` to ``dest`` (resumable, verified); returns the file's sha256.

    ``dest`` appears only after the whole file is in and its size/sha256 match."""
    dest = Path(dest)
    sha256 = (sha256 or "").lower()
    _start(url, dest, sha256, allow_unverified)
    job = _Job(url, dest, sha256, size, retries, timeout)
    _resume(job)
    job.stall_s = _stall_seconds()
    job.bar = progress(job.total, desc or f"downloading {dest.name}", unit="B")
    job.bar.update(job.have)
    try:
        _transfer(job)
    finally:
        job.bar.close()
        if not job.part.exists():
            job.origin.unlink(missing_ok=True)
    return _verify_and_place(job)


def fetch(name_or_entry: str | ModelEntry, *, models_dir_override=None, allow_unverified: bool = False,
          url: str | None = None, retries: int = 5, timeout: float = 30.0) -> ModelEntry:
    """Make a registered model installed: built-ins are already there; others are downloaded."""
    if isinstance(name_or_entry, ModelEntry):
        entry = name_or_entry
    else:
        reg = registry(models_dir_override)
        if name_or_entry not in reg:
            raise ModelError(f"unknown model {name_or_entry!r}; see `dreamrooms models list`")
        entry = reg[name_or_entry]
    if entry.builtin:
        if not entry.installed:
            raise ModelError(f"built-in model {entry.name!r} is missing its file {entry.path}; "
                             f"run `python3 build.py models` in the source tree")
        return entry
    if url:
        check_url(url, "--url")
    files = entry_files(entry, url)
    for _, src, _, _ in files if not url else []:
        if src:
            check_url(src, f"{entry.manifest}: [models.{entry.name}] url")
    if entry.installed:
        for dest, _, sha, _ in files:
            if sha and sha256_file(dest) != sha:
                raise ModelError(f"{dest} does not match the sha256 of {entry.name!r}; delete it and fetch again")
        return entry
    if not files[0][1]:
        where = entry.raw.get("source")
        raise ModelError(f"model {entry.name!r} has no pinned download URL; "
                         + (f"get it from {where} and pass --url URL, or " if where else "")
                         + f"put the file{'s' if len(files) > 1 else ''} at {entry.path.parent}")
    got = []
    for dest, src, sha, size in files:       # each file on its own: resumable, verified, then moved into place
        if dest.is_file() and sha and sha256_file(dest) == sha:
            continue
        got.append(dest)
        download(src, dest, sha256=sha, size=size, allow_unverified=allow_unverified, retries=retries,
                 timeout=timeout, desc=f"fetching {entry.name}" + (f" ({dest.name})" if len(files) > 1 else ""))
    if not entry.sha256:
        _check_unverified(entry, got, url or entry.url)
    return entry


def entry_files(entry: ModelEntry, url: str | None = None) -> list[tuple[Path, str, str, int]]:
    """(destination, URL, sha256, size) of every file of an entry, the graph first.  A `url` ending in ``/`` is
    the folder of every file (each fetched by its own name); otherwise it replaces the graph's URL and the
    external-data files are taken from the same folder."""
    graph_name = (entry.url.rsplit("/", 1)[-1] if entry.url else "") or entry.path.name
    if url and url.endswith("/"):
        base, graph_url = url, url + graph_name
    elif url:
        base, graph_url = url.rsplit("/", 1)[0] + "/", url
    else:
        base, graph_url = "", entry.url
    out = [(entry.path, graph_url, entry.sha256, entry.size)]
    for d, dest in zip(entry.raw.get("data", []), entry.data_paths):
        durl = base + d["file"] if base else d.get("url", "")
        out.append((dest, durl, str(d.get("sha256", "")).lower(), int(d.get("size", 0))))
    return out


def _check_unverified(entry: ModelEntry, got: list[Path], url: str) -> None:
    """A download no hash vouches for must at least be the export the entry describes: its inputs and outputs
    are checked, and on a mismatch every file just downloaded is deleted (a mirror with other tensor names,
    e.g. fabio-sim's image/depth export of Depth Anything V2, is a different model)."""
    from dreamrooms.models.contracts import check_io

    try:
        check_io(entry)
    except ModelError as exc:
        for p in got:
            p.unlink(missing_ok=True)
        raise ModelError(f"{url}: not the export {entry.name!r} describes ({exc}); the download was deleted — "
                         f"register that file as its own model with `dreamrooms models add FILE --kind depth ...`") from None
