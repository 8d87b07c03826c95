"""A 1080p photo on a displaced plane, dollied over 24 frames: `dreamrooms room --render` at its defaults against a
minimal Blender render of the same photo written directly with `bpy`.

The photo is synthetic (smooth gradients, grain, a near subject in front of a far wall: a depth edge), written as
a 24-frame shot the way the depth stage writes one (layered RGBA + depth.Z, and the `Y` depth sequence).
Ours: `python -m dreamrooms --debug room SHOT --layout plane --move dolly_in --render --no-save` (whole process,
its `--debug` profile gives start-up + build and per-frame time).  Peer (bench/_minimal_plane.py, one process): a
grid with a vertex every 4th pixel on each axis unprojected through the same camera, an emission material, the
same dolly, Cycles 4 samples, no bounces, a multilayer EXR with Combined and Depth.  Ratio = peer time / ours
(whole-process wall time), so higher is better; target: ours within 1.3x of the peer (ratio >= 1/1.3).
Set DREAMROOMS_BENCH_FRAMES to render fewer frames (the row says how many ran), DREAMROOMS_BENCH_ARGS to add
`room` options to ours (e.g. `--dof`: depth of field rendered in Blender, which samples 16 per pixel; the
defaults key focus but render sharp, as the peer does).
"""
from __future__ import annotations

import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from _report import result  # noqa: E402
from dreamrooms.shot import Shot, exr  # noqa: E402

W, H = 1920, 1080
FRAMES = int(os.environ.get("DREAMROOMS_BENCH_FRAMES", "24"))
REPEATS = int(os.environ.get("DREAMROOMS_BENCH_REPEATS", "1"))
EXTRA = os.environ.get("DREAMROOMS_BENCH_ARGS", "").split()   # e.g. --dof: ours with depth of field rendered
BENCH = Path(__file__).resolve().parent


def photo() -> tuple[np.ndarray, np.ndarray]:
    """A photo-like frame (linear RGB) and its depth: a wall 6-8 m away and a round subject at 2.5 m."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    rgb = np.stack([0.35 + 0.25 * np.sin(x / 170.0), 0.3 + 0.2 * np.cos(y / 90.0), 0.25 + 0.2 * (x + y) / (W + H)], -1)
    subject = ((x - 0.42 * W) ** 2 + (y - 0.55 * H) ** 2) < (0.22 * H) ** 2
    rgb[subject] = np.stack([0.7 + 0.1 * np.sin(x[subject] / 9.0), 0.45 + 0.0 * y[subject], 0.3 + 0.0 * y[subject]], -1)
    rgb += rng.normal(0.0, 0.01, rgb.shape).astype(np.float32)
    depth = (6.0 + 2.0 * y / H).astype(np.float32)
    depth[subject] = 2.5 + 0.3 * ((x[subject] - 0.42 * W) / (0.22 * H)) ** 2
    return np.clip(rgb, 0, 1), depth


def write_shot(folder: Path) -> Shot:
    rgb, depth = photo()
    rgba = np.concatenate([rgb, np.ones((H, W, 1), np.float32)], -1)
    shot = Shot(fps=24, width=W, height=H, frame_start=1, frame_end=FRAMES, name="photo")
    shot.folder = folder
    shot.add_sequence("layers", "layers/photo.####.exr", ["R", "G", "B", "A", "depth.Z"])
    shot.add_sequence("depth", "depth/photo.####.exr", ["Y"], colorspace="non-color", premultiplied=False, kind="depth")
    for f in shot.frames:
        exr.write_frame(shot.frame_path("layers", f), {"RGBA": rgba, "depth.Z": depth})
        exr.write_frame(shot.frame_path("depth", f), {"Y": depth})
    shot.save()
    return shot


def timed(cmd: list[str], env=None) -> tuple[float, str]:
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:4]} failed: {proc.stderr[-1500:]}")
    return wall, proc.stderr


def profile_seconds(text: str) -> dict[str, float]:
    return {m.group(1).strip(): float(m.group(2)) for m in re.finditer(r"^\s{2}(.+?)\s+([\d.]+) s ", text, re.M)}


def run_once(tmp: Path, r: int) -> tuple[float, float, str, str, float]:
    """One ours/peer pair on fresh shots: (ours wall, peer wall, ours stderr, peer stderr, ours' frame-1 PSNR)."""
    write_shot(tmp / f"ours{r}")
    write_shot(tmp / f"peer{r}")
    os.sync()
    ours_wall, ours_err = timed([sys.executable, "-m", "dreamrooms", "--debug", "room", str(tmp / f"ours{r}"),
                                 "--layout", "plane", "--move", "dolly_in", "--render", "--no-save", *EXTRA])
    peer_wall, peer_err = timed([sys.executable, str(BENCH / "_minimal_plane.py"), str(tmp / f"peer{r}"), str(FRAMES)])
    rendered = sorted((tmp / f"ours{r}" / "render").glob("render.*.exr"))
    assert len(rendered) == FRAMES, rendered
    got = exr.read_frame(rendered[0])["ViewLayer.Combined.RGBA"][..., :3].astype(np.float32)
    mse = float(np.mean((np.clip(got, 0, 1) - photo()[0]) ** 2))
    return ours_wall, peer_wall, ours_err, peer_err, 10 * np.log10(1.0 / max(mse, 1e-12))


def main() -> int:
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(REPEATS):     # ours and peer alternate, so a change in machine load hits both
            runs.append(run_once(Path(tmp), r))
            shutil.rmtree(Path(tmp) / f"ours{r}")
            shutil.rmtree(Path(tmp) / f"peer{r}")
    mid = sorted(range(REPEATS), key=lambda k: runs[k][0])[REPEATS // 2]
    ours_wall, _, ours_err, peer_err, psnr = runs[mid]
    peer_wall = statistics.median(x[1] for x in runs)
    ours_wall = statistics.median(x[0] for x in runs)
    prof = profile_seconds(ours_err)
    peer = dict(re.findall(r"^minimal: (\S+) ([\d.]+)$", peer_err, re.M))
    print(ours_err[ours_err.find("dreamrooms: room"):], file=sys.stderr)
    per_frame = sum(v for k, v in prof.items() if k not in ("blender start-up", "build", "save .blend")) / FRAMES
    setup = prof.get("blender start-up", 0.0) + prof.get("build", 0.0)
    note = (f"{FRAMES} frames {W}x{H}, dolly 1 m, medians of {REPEATS}; ours' frame 1 vs the photo {psnr:.1f} dB; "
            f"ours: start-up + build {setup:.1f} s, {per_frame:.2f} s/frame; peer: build {float(peer.get('setup', 0)):.1f} s "
            f"(after import bpy), {float(peer.get('per_frame', 0)):.2f} s/frame")
    label = "defaults" + (" " + " ".join(EXTRA) if EXTRA else "")
    result(f"render_plane 1080p plane ({label}) vs minimal bpy render", ours_wall, peer_wall,
           "minimal bpy plane (every 4th px, 4 samples)", "s", 1 / 1.3, higher_is_better=False, note=note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
