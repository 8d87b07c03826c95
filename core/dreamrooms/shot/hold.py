"""Stills held over a frame range: a one-frame shot (a photo) moved by a camera over frames A-B (the 3D photo).

`move_frames` is the one rule for which frames a camera move may run over; `hold_still` extends a still's frame
range in place so every sequence reads its one file on every frame (`Sequence.hold`), and the camera track gets
one matrix per frame.  The colour sequence tells whether a shot is a held still: a photo (one frame), or a photo
already held over a range by an earlier run.  A folder of photos (`Shot.is_stills`, a cut at every frame) is not
one: each photo is its own frame there, and a move stays inside the shot's frames.
"""
from __future__ import annotations

import sys

from dreamrooms.shot.frames import shot_frames
from dreamrooms.shot.roles import colour_sequence


def is_still(shot) -> bool:
    """One picture: a one-frame shot, or one whose colour sequence is held."""
    if shot.frame_count == 1:
        return True
    try:
        return shot.sequences[colour_sequence(shot)].hold is not None
    except Exception:  # no colour sequence: not a photo
        return False


def move_frames(shot, frames: tuple[int, int] | None) -> range:
    """The frames a camera move runs over: `frames` (default the shot's); a still takes any range (it is held
    over it), other shots one inside their own frames."""
    if frames is not None and is_still(shot):
        a, b = frames
        return range(a, b + 1)
    return shot_frames(shot, frames)


def hold_still(shot, frames: range) -> bool:
    """Extend a still's frame range to cover `frames` (in place; the caller saves): every sequence holds its
    one file, and a sequence that is per frame (the render of an earlier, shorter move) is dropped from the
    manifest when the new frames lack its files.  Returns True when the range changed."""
    first, last = min(frames.start, shot.frame_start), max(frames.stop - 1, shot.frame_end)
    if (first, last) == (shot.frame_start, shot.frame_end) or not is_still(shot):
        return False
    one = shot.frame_count == 1
    for name, seq in list(shot.sequences.items()):
        if seq.hold is None and one:
            seq.hold = seq.file_number(shot.frame_start)
        elif seq.hold is None and not _covers(shot, name, range(first, last + 1)):
            del shot.sequences[name]
            print(f"dreamrooms: {name!r} covers frames {shot.frame_start}-{shot.frame_end} only; it is dropped "
                  f"from shot.json (rerun what made it for frames {first}-{last})", file=sys.stderr)
    if shot.camera is not None:
        m = shot.camera.matrices
        before, after = shot.frame_start - first, last - shot.frame_end
        shot.camera.matrices = [m[0]] * before + list(m) + [m[-1]] * after
        for key in ("lens_mm", "focus_distance"):
            v = getattr(shot.camera, key)
            if isinstance(v, list):
                setattr(shot.camera, key, [v[0]] * before + list(v) + [v[-1]] * after)
    shot.frame_start, shot.frame_end = first, last
    shot.cuts = []
    return True


def _covers(shot, name: str, frames: range) -> bool:
    """Sequence `name` has a file for every frame of `frames`."""
    return shot.folder is not None and all(shot.frame_path(name, f).is_file() for f in frames)
