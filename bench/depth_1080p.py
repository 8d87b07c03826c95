"""Depth at 1080p with the built-in model against the I/O it cannot avoid: `estimate_sequence` (tinydepth,
keyframe stabilisation) on a 1080p PNG sequence vs a bare loop on one thread that only decodes the same PNGs
and writes the same two files per frame as the stage: per frame it decodes the PNG with `read_image` (as the
stage's source does) and writes, with `exr.write_frame` (atomic, `exr.DEFAULT_COMPRESSION`, OpenEXR's thread
pool off), the layered file (RGBA half + depth.Z float) and the depth file (Y float), both with the stage's
header stamp.  The depth it writes is the stage's own output for that frame, read back into memory from an
untimed run before any timing (real depth compresses far slower than a constant map would).
Ratio = ours frames/s / bare frames/s; target >= 1.2x: two cores overlap decoding (the read-ahead in
shot.sources), compression (the writer pool) and the stage's own work.
"""
from __future__ import annotations

import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import OpenEXR  # noqa: E402

from _report import result  # noqa: E402
from dreamrooms import progress  # noqa: E402
from dreamrooms.depth import estimate_sequence, load_model, resume  # noqa: E402
from dreamrooms.shot import exr  # noqa: E402
from dreamrooms.shot.sources import read_image  # noqa: E402
from dreamrooms.stage.fingerprint import read_attribute  # noqa: E402

W, H = 1920, 1080
N = int(os.environ.get("DREAMROOMS_BENCH_FRAMES", "24"))
REPEATS = 3


def make_frames(folder: Path) -> str:
    """A 1080p clip: the synthetic room of the depth benchmark rendered small and scaled up, panning."""
    from dreamrooms.colour import linear_to_srgb
    from dreamrooms.training import synth

    scene = synth.random_scene(11)
    cams = synth.camera_path(scene, 4, kind="pan", seed=1)
    small = [(linear_to_srgb(synth.render_scene(scene, c, 480, 270)[0])[..., ::-1] * 255 + 0.5).astype(np.uint8)
             for c in cams]
    rng = np.random.default_rng(0)
    for i in range(N):
        big = cv2.resize(small[i % len(small)], (W, H), interpolation=cv2.INTER_CUBIC)
        big = np.clip(big.astype(np.int16) + rng.integers(-3, 4, big.shape), 0, 255).astype(np.uint8)  # grain
        cv2.imwrite(str(folder / f"f.{i + 1:04d}.png"), big)
    return str(folder / "f.####.png")


def stage_output(out: Path) -> tuple[list[np.ndarray], dict[str, str]]:
    """The depth maps an untimed run of the stage wrote (frame order) and its header stamp, for the bare loop."""
    files = sorted((out / "depth").glob("*.exr"))
    if len(files) != N:
        raise SystemExit(f"{out / 'depth'}: {len(files)} depth files, expected {N}")
    stamp = read_attribute(files[0], resume.DEPTH_ATTR)
    return [exr.read_frame(f, ["Y"])["Y"] for f in files], {resume.DEPTH_ATTR: stamp}


def bare_loop(folder: Path, out: Path, depths: list[np.ndarray], attrs: dict[str, str]) -> tuple[float, float]:
    """The peer (module docstring); returns its seconds decoding and writing."""
    out.mkdir()
    keep = OpenEXR.global_thread_count()
    OpenEXR.set_global_thread_count(0)
    decode = write = 0.0
    try:
        for i in range(1, N + 1):
            t = time.perf_counter()
            _, rgba = read_image(folder / f"f.{i:04d}.png")
            depth = depths[i - 1]
            t1 = time.perf_counter()
            exr.write_frame(out / f"l.{i:04d}.exr", {"RGBA": rgba, "depth.Z": depth}, attributes=attrs)
            exr.write_frame(out / f"d.{i:04d}.exr", {"Y": depth}, attributes=attrs)
            decode, write = decode + t1 - t, write + time.perf_counter() - t1
    finally:
        OpenEXR.set_global_thread_count(keep)
    return decode, write


def timed(fn) -> tuple[float, float, object]:
    """(wall seconds, process CPU seconds, result) of `fn()`, after flushing earlier writes to disk."""
    os.sync()
    t, c = time.perf_counter(), time.process_time()
    got = fn()
    return time.perf_counter() - t, time.process_time() - c, got


def main() -> int:
    progress.set_mode("none")
    ms = load_model("tinydepth", device="cpu")
    load0 = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(prefix="depth1080-") as tmp:
        tmp = Path(tmp)
        pattern = make_frames(tmp)
        estimate_sequence(pattern, ms, tmp / "warm", stabilize="keyframe", frames=(1, N))
        depths, attrs = stage_output(tmp / "warm")
        shutil.rmtree(tmp / "warm")
        ours, bare = [], []
        for r in range(REPEATS):
            bare.append(timed(lambda: bare_loop(tmp, tmp / f"bare{r}", depths, attrs)))
            shutil.rmtree(tmp / f"bare{r}")
            ours.append(timed(lambda: estimate_sequence(pattern, ms, tmp / f"ours{r}", stabilize="keyframe",
                                                        frames=(1, N))))
            shutil.rmtree(tmp / f"ours{r}")
    per_run = statistics.median(b[0] / o[0] for b, o in zip(bare, ours))

    def ms_(seconds) -> str:
        """Median milliseconds per frame."""
        return f"{1000 * statistics.median(seconds) / N:.0f}"
    result("depth 1080p tinydepth vs bare decode-and-write loop", N / statistics.median(o[0] for o in ours),
           N / statistics.median(b[0] for b in bare), "one-thread decode + both EXR writes of the same depth",
           "frames/s", 1.2,
           note=f"{N} frames {W}x{H}, keyframe stabilisation, codec {exr.DEFAULT_COMPRESSION}, medians of {REPEATS}; "
                f"median per-run ratio {per_run:.2f}; per frame: bare decode {ms_(b[2][0] for b in bare)} ms + "
                f"writes {ms_(b[2][1] for b in bare)} ms; process CPU ours {ms_(o[1] for o in ours)} ms, bare "
                f"{ms_(b[1] for b in bare)} ms; load (1 min) {load0:.1f} -> {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
