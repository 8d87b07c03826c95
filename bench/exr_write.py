"""Frames/s writing 1920x1080 RGBA half + depth.Z float (ZIP): ours vs raw OpenEXR loop vs OpenCV.

Ours = dreamrooms.shot.exr.write_sequence (writer threads).  Peers: a single-threaded loop of the raw
OpenEXR API writing the same channels, and OpenCV's imwrite of RGBA only (it cannot name layers),
compared per byte of pixel data written.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

os.environ["OPENCV_IO_ENABLE_OPENEXR"] = "1"
sys.path.insert(0, str(Path(__file__).parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import OpenEXR  # noqa: E402

from _report import median_time, result  # noqa: E402
from dreamrooms.shot import exr  # noqa: E402

W, H, N = 1920, 1080, 12


def frame_data(i: int) -> tuple[np.ndarray, np.ndarray]:
    """A film-like frame: smooth gradients with fine grain, and a depth ramp with steps."""
    rng = np.random.default_rng(i)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    rgb = np.stack([0.5 + 0.5 * np.sin(x / 80 + i), 0.5 + 0.5 * np.cos(y / 60), (x + y) / (W + H)], -1)
    rgb += rng.normal(0, 0.01, rgb.shape).astype(np.float32)
    rgba = np.concatenate([rgb, np.ones((H, W, 1), np.float32)], -1).astype(np.float16)
    depth = (1.0 + 10.0 * y / H + np.floor(x / 200)).astype(np.float32)
    return rgba, depth


def main() -> int:
    frames = [frame_data(i) for i in range(N)]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)

        def ours():
            exr.write_sequence(((out / f"ours.{i:04d}.exr", {"RGBA": rgba, "depth.Z": d}) for i, (rgba, d) in enumerate(frames)))

        def raw_loop():
            keep = OpenEXR.global_thread_count()
            OpenEXR.set_global_thread_count(0)  # the peer: the raw API in a plain single-threaded loop
            for i, (rgba, d) in enumerate(frames):
                ch = {c: np.ascontiguousarray(rgba[..., k]) for k, c in enumerate("RGBA")}
                ch["depth.Z"] = d
                OpenEXR.File({"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}, ch).write(str(out / f"raw.{i:04d}.exr"))
            OpenEXR.set_global_thread_count(keep)

        def opencv():
            params = [cv2.IMWRITE_EXR_TYPE, cv2.IMWRITE_EXR_TYPE_HALF, cv2.IMWRITE_EXR_COMPRESSION, cv2.IMWRITE_EXR_COMPRESSION_ZIP]
            for i, (rgba, _) in enumerate(frames):
                cv2.imwrite(str(out / f"cv.{i:04d}.exr"), rgba.astype(np.float32)[..., [2, 1, 0, 3]], params)

        t_ours = median_time(ours, repeats=3)
        t_raw = median_time(raw_loop, repeats=3)
        t_cv = median_time(opencv, repeats=3)
    bytes_ours = H * W * (4 * 2 + 4)  # pixel bytes per frame: RGBA half + depth float
    bytes_cv = H * W * 4 * 2
    result("exr_write vs raw OpenEXR loop", N / t_ours, N / t_raw, "raw single-threaded OpenEXR", "frames/s", 1.5)
    result("exr_write vs OpenCV (per byte)", N * bytes_ours / t_ours / 1e6, N * bytes_cv / t_cv / 1e6, "cv2.imwrite RGBA", "MB/s", 1.0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
