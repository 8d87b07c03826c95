"""Reveal prediction on the grounded room (tests/scenes/grounded.py, 320x180): accuracy, cost, budget, stills.

    python bench/reveal.py [--png docs/reveal_grounded.png]

* accuracy: the prediction for the moved views (sideways with a slight turn, forward) against the true revealed
  pixels (IoU, 1 px tolerance) and against what Blender leaves empty rendering the source-view plane cut at depth
  edges (--edge-cut 1.1) from those cameras;
* cost: predicting a frame against Cycles rendering that frame of the plane (1 sample): the matte must cost less
  than the render it goes with (target >= 1x);
* budget: the default truck (1 m) over 24 frames of the photo, per-frame reveal before and after --reveal-budget 1;
* stills: `dreamrooms room PHOTO --frames 1-24` with the default truck, rendered: alpha 0 and opaque-grey share of
  frames 8, 16, 24 (the issue measured 13/37/47 % grey before);
* the picture: source | Blender's render of the plane | predicted matte | true revealed, per move, into --png.
"""
from __future__ import annotations

import argparse
import importlib
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT / "tests/blender"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402

from _report import machine, result  # noqa: E402
from dreamrooms import reveal as RV  # noqa: E402
from dreamrooms.camera import reveal as rv  # noqa: E402
from dreamrooms.shot import Shot, exr  # noqa: E402
from dreamrooms.shot.hold import hold_still, move_frames  # noqa: E402
from scenes import grounded as G  # noqa: E402


def _modules():
    from blender_helpers import load_addon

    pkg = load_addon()
    return (importlib.import_module(f"{pkg.__name__}.scene.{m}") for m in ("build", "render", "camera_rig"))


def accuracy(views, folder: Path):
    """Per move: (source rgb, plane render rgba, prediction, truth, IoU truth, IoU Blender, t predict, t render)."""
    B, R, rig = _modules()
    shot = Shot.load(folder)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    B.build(scene, shot, B.BuildSettings(layout="plane", colour="color", edge_cut=1.1, animate=False))
    R.setup_render(scene, shot, samples=1, passes=("combined",))
    out = {}
    for name, steps in views.moves.items():
        for i, view in enumerate(steps):
            scene.camera.matrix_world = rig.to_matrix(view.matrix)
            scene.render.filepath = str(folder / f"plane_{name}_{i}")
            t = time.perf_counter()
            bpy.ops.render.render(write_still=True)
            t_render = time.perf_counter() - t
            rgba = exr.read_frame(folder / f"plane_{name}_{i}.exr")["ViewLayer.Combined.RGBA"]
            t = time.perf_counter()
            pred = rv.predict(views.source.depth, views.K, views.source.matrix, view.matrix)
            t_pred = time.perf_counter() - t
            behind, border = G.revealed(view, views.source, views.K)
            truth = behind | border
            out[(name, i)] = dict(rgba=rgba, pred=pred, truth=truth, border=border, t_pred=t_pred, t_render=t_render,
                                  iou=rv.tolerant_iou(pred.mask, truth),
                                  iou_behind=rv.tolerant_iou(pred.behind, behind),
                                  iou_blender=rv.tolerant_iou(pred.mask, rgba[..., 3] < 0.5))
            r = out[(name, i)]
            print(f"{name} step {i + 1}: true {100 * truth.mean():.2f} % (border {100 * border.mean():.2f} %), "
                  f"predicted {pred.percent:.2f} %; IoU vs truth {r['iou']:.3f} (behind edges {r['iou_behind']:.3f}),"
                  f" vs Blender's empty pixels {r['iou_blender']:.3f} ({100 * (rgba[..., 3] < 0.5).mean():.2f} %); "
                  f"predict {1e3 * t_pred:.0f} ms, render {1e3 * t_render:.0f} ms")
    bpy.ops.wm.read_homefile(use_empty=True)
    return out


def budget(folder: Path) -> None:
    shot = Shot.load(folder)
    frames = move_frames(shot, (1, 24))
    hold_still(shot, frames)
    values = {"layout": "plane", "move": "truck", "intensity": 1.0, "duration": 0, "easing": "ease_in_out",
              "shake": 0.0, "seed": 0, "reveal_budget": 1.0}
    t = time.perf_counter()
    RV.plan(shot, values, frames, say=print)
    print(f"budget fit: {time.perf_counter() - t:.1f} s for 24 frames at {shot.width}x{shot.height}")


def stills(folder: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "dreamrooms", "--progress", "none", "room", str(folder), "--frames",
                           "1-24", "--move", "truck", "--render", "--samples", "1", "--no-save", "--no-focus"],
                          capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(proc.stderr[-2000:])
    shot = Shot.load(folder)
    for f in (8, 16, 24):
        rgba = exr.read_frame(shot.frame_path("render", f))["ViewLayer.Combined.RGBA"]
        a = rgba[..., 3]
        grey = (a > 0.5) & (np.abs(rgba[..., :3] - 0.0508).max(-1) < 0.003)      # Blender's default world colour
        matte = exr.read_frame(shot.frame_path("reveal", f), ["Y"])["Y"]
        print(f"still, default truck, frame {f}: alpha 0 on {100 * (a < 0.5).mean():.1f} %, opaque grey on "
              f"{100 * grey.mean():.1f} %, reveal matte {100 * matte.mean():.1f} %")


def picture(views, acc, path: Path) -> None:
    import cv2

    def show(img):
        return np.clip(np.asarray(img, np.float32), 0, 1) ** (1 / 2.2)

    rows = []
    for name in views.moves:
        r = acc[(name, len(views.moves[name]) - 1)]
        plane = r["rgba"][..., :3] + (1 - r["rgba"][..., 3:4]) * np.array([1.0, 0.0, 1.0])   # empty: magenta
        m = np.repeat(r["pred"].mask[..., None], 3, -1).astype(np.float32)
        t = np.repeat(r["truth"][..., None], 3, -1).astype(np.float32)
        rows.append(np.concatenate([show(views.source.rgb), show(plane), m, t], 1))
    img = (np.concatenate(rows, 0) * 255).astype(np.uint8)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), img[..., ::-1])
    print(f"wrote {path}: rows {', '.join(views.moves)}; columns source, plane render (empty magenta), "
          f"predicted reveal, true reveal")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--png", type=Path, default=ROOT / "docs/reveal_grounded.png")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        views = G.render_views(tmp / "views")
        G.write_shot(tmp / "shot", views)
        acc = accuracy(views, tmp / "shot")
        picture(views, acc, args.png)
        budget(tmp / "shot")
        stills(tmp / "shot")
    pred = float(np.median([r["t_pred"] for r in acc.values()]))
    render = float(np.median([r["t_render"] for r in acc.values()]))
    result("reveal predict 320x180 vs Cycles render of the plane (1 sample)", pred * 1e3, render * 1e3,
           "Cycles render of that frame", "ms", 1.0, higher_is_better=False,
           note=f"grounded room, 4 moved views; median IoU vs truth "
                f"{np.median([r['iou'] for r in acc.values()]):.3f}; {machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
