"""Small real EXR sequences for the AE model tests: `python make_frames.py ROOT < spec.json`.

spec: [{"pattern": "beauty/s.####.exr", "frames": [1, 2, 3], "channels": ["R", "G", "B", "A", "depth.Z"],
        "width": 16, "height": 8, "pixel_aspect": 1.0}]; every channel is a float ramp (half for R G B A).
Written with the OpenEXR binding itself, so the model reads headers exactly as a real file has them.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import OpenEXR


def write(root: Path, spec: dict) -> None:
    w, h = int(spec.get("width", 16)), int(spec.get("height", 8))
    for f in spec["frames"]:
        digits = spec["pattern"].count("#")
        name = spec["pattern"].replace("#" * digits, f"{f:0{digits}d}")
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        ramp = np.linspace(0, 1, w * h, dtype=np.float32).reshape(h, w)
        chans = {c: (ramp.astype(np.float16) if c in ("R", "G", "B", "A") else ramp) for c in spec["channels"]}
        header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage,
                  "pixelAspectRatio": float(spec.get("pixel_aspect", 1.0))}
        OpenEXR.File(header, chans).write(str(path))


if __name__ == "__main__":
    for s in json.load(sys.stdin):
        write(Path(sys.argv[1]), s)
