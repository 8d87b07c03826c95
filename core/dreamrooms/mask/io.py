"""Shot-side helpers shared by the mask and layers stages: which sequences hold colour, depth and masks,
reading a frame's colour, the frames a run covers and where a rerun resumes."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dreamrooms.depth.resume import read_fingerprint
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot

MASK_KIND = "mask"


def depth_of(shot: Shot) -> tuple[str, str, str]:
    """(colour sequence, depth sequence, its depth channel) of a shot by the one rule of
    :mod:`dreamrooms.shot.roles` (ShotError, one line with the fix, when there is none)."""
    from dreamrooms.shot.roles import colour_sequence, depth_sequence

    colour = colour_sequence(shot)
    return (colour, *depth_sequence(shot))


def mask_sequences(shot: Shot) -> list[str]:
    """Keys of the shot's mask sequences, in shot.json order."""
    return [k for k, s in shot.sequences.items() if s.meta.get("kind") == MASK_KIND]


def read_colour(shot: Shot, key: str, n: int) -> np.ndarray:
    """Frame `n` of a colour sequence as straight sRGB 0..1 (what models and guides take)."""
    from dreamrooms.shot.sources import read_image

    return read_image(shot.frame_path(key, n))[0]


def select_frames(shot: Shot, frames: str | tuple[int, int] | None) -> list[int]:
    """The shot frames a run covers (`--frames A-B` must lie inside the shot)."""
    from dreamrooms.shot.frames import parse_frames, shot_frames

    return list(shot_frames(shot, parse_frames(frames) if isinstance(frames, str) else frames))


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
        other = read_fingerprint(p, attr) if p.is_file() else None
        if other is not None and other != fingerprint:
            raise DreamroomsError(f"{p}: written with other {what} settings; pass --overwrite to recompute, or use "
                                  f"the same settings to resume")
    return start
