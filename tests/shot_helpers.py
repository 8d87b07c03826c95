"""Test helpers shared by suites (tests/ is on sys.path via pytest's `pythonpath`)."""
from __future__ import annotations

import numpy as np

from dreamrooms.shot import exr
from dreamrooms.shot import CameraTrack, Shot


def make_shot(folder, frames=3, with_files=True, camera=True) -> Shot:
    shot = Shot(fps=24, width=16, height=8, frame_start=1, frame_end=frames, name="t")
    shot.folder = folder
    shot.add_sequence("layers", "layers/t.####.exr", ["R", "G", "B", "A", "depth.Z"])
    if with_files:
        for f in shot.frames:
            exr.write_frame(shot.frame_path("layers", f), {"RGBA": np.ones((8, 16, 4)), "depth.Z": np.ones((8, 16))})
    if camera:
        eye = np.eye(4).tolist()
        shot.camera = CameraTrack(matrices=[eye] * frames, lens_mm=35.0, sensor_mm=36.0, sensor_fit="HORIZONTAL",
                                  clip_start=0.1, clip_end=50.0, focus_distance=[2.0] * frames)
    shot.provenance.add_model("tinydepth", "ab" * 32, stabilize="keyframe")
    shot.provenance.seeds = [3, 17]
    shot.provenance.add_command(["dreamrooms", "walk"])
    shot.save()
    return shot
