"""Opening a depth model for the stage: resolve, thread count, its I/O names, a fixed batch, its sha256."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from dreamrooms.models import resolve, sha256_file
from dreamrooms.models.runtime import open_session

SMALL_MODEL_BYTES = 4_000_000


def default_threads(path) -> int:
    """Inference threads when the user gives none.  A small network (tinydepth, ~1 MB) is I/O-bound: leave
    half the cores to decoding, upsampling and EXR writing (measured on 2 cores: ~25 % faster).  A real
    depth network (MiDaS, Depth Anything: tens of MB, tens of ms per frame) is compute-bound: all cores
    (measured on 2 cores with a 6 MB, ~40 ms network: 16.9 vs 12.7 frames/s)."""
    cores = os.cpu_count() or 2
    try:
        small = os.path.getsize(path) < SMALL_MODEL_BYTES
    except OSError:
        small = False
    return max(1, cores // 2) if small else cores


def load_model(model: Any, device: str = "auto", threads: int | None = None):
    """A ModelSession for `model`: a name or path (resolved as a depth model) or an already open session."""
    if hasattr(model, "session") and hasattr(model, "entry"):
        return model
    entry = resolve(str(model), kind="depth")
    if threads is None:
        threads = default_threads(entry.path)
    return open_session(entry, device=device, threads=threads)


def model_sha256(entry) -> str:
    sha = getattr(entry, "sha256", "") or ""
    if not sha and getattr(entry, "path", None) and Path(entry.path).is_file():
        sha = sha256_file(entry.path)
    return sha


def io_names(ms) -> tuple[str, str]:
    iname = getattr(ms, "input_name", "") or ms.entry.input.get("name") or ms.session.get_inputs()[0].name
    oname = getattr(ms, "output_name", "") or ms.entry.output.get("name") or ms.session.get_outputs()[0].name
    return iname, oname


def fixed_batch(ms, iname: str) -> int | None:
    for i in ms.session.get_inputs():
        if i.name == iname and i.shape and isinstance(i.shape[0], int):
            return int(i.shape[0])
    return None
