"""Shot-side helpers shared by the mask and layers stages: which sequences hold colour, depth and masks,
reading a frame's colour, the settings fingerprint in EXR headers, and cleaning up after a failed run."""
from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np

from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot

MASK_KIND = "mask"


def depth_of(shot: Shot) -> tuple[str, str]:
    """(colour sequence, single-channel depth sequence) of a shot, or a one-line error with the fix."""
    from dreamrooms.sources import SourceError, colour_sequence

    try:
        colour = colour_sequence(shot)
    except SourceError as exc:
        raise DreamroomsError(str(exc)) from None
    seq = shot.sequences.get("depth")
    if seq is None or list(seq.channels) != ["Y"]:
        raise DreamroomsError(f"{shot.folder}/shot.json: no depth sequence; run `dreamrooms depth {shot.folder} "
                              f"--out {shot.folder} --model tinydepth` first")
    return colour, "depth"


def mask_sequences(shot: Shot) -> list[str]:
    """Keys of the shot's mask sequences, in shot.json order."""
    return [k for k, s in shot.sequences.items() if s.meta.get("kind") == MASK_KIND]


def read_colour(shot: Shot, key: str, n: int) -> np.ndarray:
    """Frame `n` of a colour sequence as straight sRGB 0..1 (what models and guides take)."""
    from dreamrooms.sources import SourceError, read_image

    try:
        return read_image(shot.frame_path(key, n))[0]
    except SourceError as exc:
        raise DreamroomsError(str(exc)) from None


def select_frames(shot: Shot, frames: str | tuple[int, int] | None) -> list[int]:
    """The shot frames a run covers (`--frames A-B` must lie inside the shot)."""
    from dreamrooms.depth import parse_frames

    rng = parse_frames(frames) if isinstance(frames, str) else frames
    if rng is None:
        return list(shot.frames)
    a, b = rng
    if a < shot.frame_start or b > shot.frame_end:
        raise DreamroomsError(f"--frames {a}-{b}: the shot has frames {shot.frame_start}-{shot.frame_end}; "
                              f"pick a range inside it")
    return list(range(a, b + 1))


def header_attr(path: Path, name: str) -> str | None:
    """A string attribute of an EXR header (None when the file or the attribute is missing)."""
    import OpenEXR

    try:
        with OpenEXR.File(str(path), header_only=True) as f:
            v = f.parts[0].header.get(name)
    except Exception:
        return None
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def resume_start(numbers: list[int], complete, probe: Path | None, attr: str, fingerprint: str, what: str,
                 overwrite: bool) -> int:
    """Index of the first frame to compute: frames whose files are whole and carry `fingerprint` are kept.
    A whole file made with other settings (`probe(n)`'s header) stops the run with the fix, as in the depth
    stage: --overwrite recomputes, the same settings resume."""
    if overwrite:
        return 0
    start = 0
    while start < len(numbers) and complete(numbers[start]):
        start += 1
    if start < len(numbers) and probe is not None:
        p = probe(numbers[start])
        other = header_attr(p, attr) if p.is_file() else None
        if other is not None and other != fingerprint:
            raise DreamroomsError(f"{p}: written with other {what} settings; pass --overwrite to recompute, or use "
                                  f"the same settings to resume")
    return start


def remove_created(created: list[Path], made_dirs: list[Path]) -> None:
    """A failed run leaves nothing behind: the files it created and the folders it made, if empty."""
    for p in created:
        with contextlib.suppress(OSError):
            p.unlink()
    for d in sorted(made_dirs, key=lambda x: len(x.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()
