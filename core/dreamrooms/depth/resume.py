"""What the depth stage stamps and saves for the stage spine's one resume scheme (:mod:`dreamrooms.stage`): the
header attributes of its frames, how often its stabiliser state is saved, and what its frames are made from."""
from __future__ import annotations

from pathlib import Path

from dreamrooms.shot.sources import FrameSource, ShotSource

DEPTH_ATTR = "dreamrooms_depth"   # EXR header attribute on depth/ frames: the settings that made them
CUT_ATTR = "dreamrooms_cut"       # "1" on a frame where the pictures showed a cut inside a clip (recorded in shot.cuts)
FOV_ATTR = "dreamrooms_fov_x"     # the model's horizontal field of view for this frame (degrees), when it gives one
# the stabiliser state (a few MB) is saved with every STATE_EVERY-th frame once all frames before it are on
# disk: saving it with every frame cost 5-7 % of the run; a killed run redoes at most this many more frames
STATE_EVERY = 4


def source_id(src: FrameSource, out: Path, inplace_key: str | None) -> str:
    """What the frames are made from, kept in every depth file's fingerprint so that other footage written
    into the same shot is never taken for a finished frame.  In place it names the shot's own sequence (not
    its path), so a moved shot still resumes."""
    if inplace_key:
        return f"this shot's {inplace_key} sequence"
    if isinstance(src, ShotSource):
        return f"{src.shot.folder.resolve()} ({src.sequence})"
    return str(Path(src.label).resolve())
