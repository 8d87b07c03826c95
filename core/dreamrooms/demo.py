"""`python3 build.py demo`: the main job.  (Foundation stage: writes a shot from a generated sequence.)"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from dreamrooms import exr
from dreamrooms.progress import progress
from dreamrooms.shot import Shot


def synthetic_frame(i: int, width: int, height: int) -> dict[str, np.ndarray]:
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    t = i / 12.0
    rgb = np.stack([0.5 + 0.5 * np.sin(x / 23 + t), 0.5 + 0.5 * np.sin(y / 17 - t), 0.5 + 0.5 * np.cos((x + y) / 31 + t)], -1)
    rgba = np.concatenate([rgb, np.ones((height, width, 1), np.float32)], -1)
    depth = (2.0 + 3.0 * y / height).astype(np.float32)
    return {"RGBA": rgba, "depth.Z": depth}


def main(argv: list[str] | None = None) -> int:
    out = Path(argv[0] if argv else "demo_out/shot")
    shot = Shot(fps=24, width=320, height=180, frame_start=1, frame_end=24, name="demo")
    shot.folder = out
    pattern = "layers/demo.####.exr"
    shot.add_sequence("layers", pattern, ["R", "G", "B", "A", "depth.Z"])
    with exr.SequenceWriter() as w, progress(shot.frame_count, "write") as bar:
        for f in shot.frames:
            w.submit(shot.frame_path("layers", f), synthetic_frame(f, shot.width, shot.height))
            bar.update()
    shot.provenance.add_command(["build.py", "demo"])
    print(f"shot written: {shot.save()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
