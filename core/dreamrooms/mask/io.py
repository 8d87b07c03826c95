"""Shot-side helpers shared by the mask and layers stages: which sequences hold colour, depth and masks,
reading a frame's colour and the frames a run covers."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot

MASK_KIND = "mask"


def depth_of(shot: Shot) -> tuple[str, str, str]:
    """(colour sequence, depth sequence, its depth channel) of a shot by the one rule of
    :mod:`dreamrooms.shot.roles` (ShotError, one line with the fix, when there is none)."""
    from dreamrooms.shot.roles import colour_sequence, depth_sequence

    colour = colour_sequence(shot)
    return (colour, *depth_sequence(shot))


SAMPLES = 12    # frames (evenly over the clip) whose depth sets the clip's layer levels


def segment_levels(shot: Shot, depth_key: str, channel: str, count: int) -> dict[int, list[float]]:
    """:func:`clip_levels` of every segment of the shot (:meth:`Shot.segments`), by the segment's first frame:
    a set of stills gets each photo's own levels, never its neighbours'."""
    return {seg.start: clip_levels(shot, depth_key, channel, count, list(seg)) for seg in shot.segments()}


def levels_setting(levels: dict[int, list[float]]) -> list:
    """How the levels go into a stage's settings: one list for a clip (as before segments), else one per segment."""
    return next(iter(levels.values())) if len(levels) == 1 else [levels[k] for k in sorted(levels)]


def clip_levels(shot: Shot, depth_key: str, channel: str, count: int, frames: list[int] | None = None) -> list[float]:
    """The clip's `count - 1` layer levels in inverse depth (:func:`dreamrooms.mask.matte.clip_thresholds`) from
    :data:`SAMPLES` frames of its depth (of `frames`, default all); one line naming the sequence when none of
    them has valid depth."""
    from dreamrooms.mask.matte import clip_thresholds, inverse_depth
    from dreamrooms.shot import exr

    frames = list(shot.frames) if frames is None else frames
    pick = sorted({frames[round(i * (len(frames) - 1) / max(1, SAMPLES - 1))] for i in range(SAMPLES)})
    maps = [inverse_depth(exr.read_frame(shot.frame_path(depth_key, n), [channel])[channel]) for n in pick]
    try:
        return [round(t, 9) for t in clip_thresholds(maps, count)]
    except ValueError:
        raise DreamroomsError(f"{shot.frame_path(depth_key, pick[0])} (sequence {depth_key}): no finite positive depth "
                              f"in the sampled frames; rerun `dreamrooms depth` for this shot") from None


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
