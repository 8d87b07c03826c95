"""The plane's default mesh at a depth edge: `room --render` of bench/render_plane.py's 1080p photo after a
sideways move (truck 0.5 m, the near disc's left edge opens), with the default mesh (a 4 px grid split per pixel
in the cells across depth edges), a uniform 4 px grid (`--grid 480`, the minimal peer's) and one vertex per pixel
(`--grid 1920`, the reference: the most a depth plane can show).  Ratio = per-pixel mesh's time per frame / the
default's (higher is better).  Target >= 1x: the default must not cost more than the per-pixel mesh whose edges it
keeps (sampling, the same for every mesh, is most of a frame; the mesh saves sync, BVH and geometry nodes, and
start-up + build, which the note gives); the quality claim is the PSNR in the note, each mesh against the
reference in a band around the disc's outline.  Writes docs/mesh_edges.png: crops of the photo, the reference, the default and
the 4 px grid, and the default's and the grid's differences from the reference (x4).

    python bench/mesh_edges.py [--png docs/mesh_edges.png]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent / "tests"))
import render_plane as rp  # noqa: E402
from scenes import novel_view as nv  # noqa: E402  (the project's PSNR: display-encoded, over a selection)
from _report import result  # noqa: E402
from dreamrooms.colour import linear_to_srgb  # noqa: E402
from dreamrooms.shot import exr  # noqa: E402

MESHES = {"default": [], "4 px grid": ["--grid", "480"], "per pixel": ["--grid", "1920"]}
REPEATS = int(os.environ.get("DREAMROOMS_BENCH_REPEATS", "3"))
CROP = np.s_[330:870, 380:1100]        # the disc's left half and the wall it opens onto


def render(folder: Path, extra: list[str]) -> tuple[np.ndarray, float]:
    """Frame 2 (the whole move) of the truck and the per-frame time from the `--debug` profile."""
    proc = subprocess.run([sys.executable, "-m", "dreamrooms", "--debug", "room", str(folder), "--layout", "plane",
                           "--move", "truck", "--intensity", "0.5", "--easing", "linear", "--render", "--no-save",
                           "--no-focus", *extra], capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    prof = rp.profile_seconds(proc.stderr)
    per_frame = sum(v for k, v in prof.items() if k in ("sampling", "bvh", "scene sync", "render start",
                                                          "frame_set (geometry nodes)", "exr write")) / 2
    got = exr.read_frame(folder / "render/render.0002.exr")["ViewLayer.Combined.RGBA"]
    return np.asarray(got, np.float32), per_frame


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--png", type=Path, default=BENCH.parent / "docs/mesh_edges.png")
    args = ap.parse_args()
    rp.FRAMES = 2
    out, runs = {}, {name: [] for name in MESHES}
    with tempfile.TemporaryDirectory(prefix="mesh-edges-") as tmp:
        for r in range(REPEATS):     # the meshes alternate, so a change in machine load hits each
            for name, extra in MESHES.items():
                folder = Path(tmp) / (re.sub(r"\W", "_", name) + str(r))
                rp.write_shot(folder)
                t = time.perf_counter()
                out[name], per_frame = render(folder, extra)
                runs[name].append((per_frame, time.perf_counter() - t))
                print(f"{name}: {runs[name][-1][1]:.1f} s whole run, {per_frame:.2f} s/frame", file=sys.stderr)
                shutil.rmtree(folder)
    times = {k: statistics.median(x[0] for x in v) for k, v in runs.items()}
    walls = {k: statistics.median(x[1] for x in v) for k, v in runs.items()}
    rgb, depth = rp.photo()
    near = (depth < 4.0).astype(np.uint8)
    band = cv2.dilate(near, np.ones((41, 41), np.uint8)) != cv2.erode(near, np.ones((41, 41), np.uint8))
    ref = out["per pixel"][..., :3]
    scores = {k: nv.psnr(nv.display(out[k][..., :3]), nv.display(ref), band) for k in ("default", "4 px grid")}

    def tile(x):
        rgb8 = (np.clip(linear_to_srgb(np.clip(x[CROP][..., :3], 0, 1)), 0, 1) * 255 + 0.5).astype(np.uint8)
        return np.ascontiguousarray(rgb8[..., ::-1])

    def diff(x):
        return np.ascontiguousarray((np.clip(np.abs(x[CROP][..., :3] - ref[CROP]) * 4, 0, 1) * 255).astype(np.uint8)[..., ::-1])

    tiles = [("photo (source view)", tile(rgb)), ("one vertex per pixel (reference)", tile(ref)),
             (f"default mesh: {scores['default']:.1f} dB", tile(out["default"])),
             (f"4 px grid: {scores['4 px grid']:.1f} dB", tile(out["4 px grid"])),
             ("default - reference (x4)", diff(out["default"])), ("4 px grid - reference (x4)", diff(out["4 px grid"]))]
    for label, t in tiles:
        cv2.putText(t, label, (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (255, 255, 255), 2, cv2.LINE_AA)
    rows = [np.concatenate([a[1], b[1]], 1) for a, b in zip(tiles[::2], tiles[1::2])]
    args.png.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(args.png), np.concatenate(rows, 0))
    result("mesh_edges 1080p truck: default plane mesh vs one vertex per pixel", times["default"], times["per pixel"],
           "one vertex per pixel", "s/frame", 1.0, higher_is_better=False,
           note=(f"PSNR against the per-pixel render in a 20 px band round the depth edge: default mesh "
                 f"{scores['default']:.1f} dB, 4 px grid {scores['4 px grid']:.1f} dB; 4 px grid "
                 f"{times['4 px grid']:.2f} s/frame; medians of {REPEATS}; whole 2-frame runs: default {walls['default']:.1f} s, per pixel "
                 f"{walls['per pixel']:.1f} s, 4 px grid {walls['4 px grid']:.1f} s; picture {args.png.name}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
