"""The main job end to end, small: walk -> depth -> Blender corridor + plane -> render -> AE -> previews."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import pytest

pytest.importorskip("bpy")

from dreamrooms.shot import exr  # noqa: E402
from dreamrooms.shot import Shot  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_demo_makes_a_film(tmp_path):
    out = tmp_path / "shot"
    proc = subprocess.run([sys.executable, str(ROOT / "demo.py"), "--out", str(out), "--frames", "8",
                           "--size", "128x72", "--samples", "2"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    # one summary line per stage, with its time
    for stage in ("walk", "depth", "blender", "ae", "preview"):
        assert any(line.split()[:1] == [stage] and " s " in line for line in proc.stdout.splitlines()), proc.stdout
    shot = Shot.load(out)  # validates, and every frame of every sequence exists
    assert shot.frame_count == 8 and (shot.width, shot.height) == (128, 72)
    assert {"walk", "depth", "render"} <= set(shot.sequences)
    assert shot.camera is not None and len(shot.camera.matrices) == 8
    moved = [m[0][3] for m in shot.camera.matrices]
    assert moved[-1] > moved[0] + 1.0, "walk-past: the camera travels along +X"
    assert len(set(round(f, 3) for f in shot.camera.focus_distance)) > 1, "focus tracks the depth"
    assert shot.camera.dof_in_render is False, "the render is sharp: After Effects' lens blur focuses it"
    render = exr.read_frame(shot.frame_path("render", 4))
    assert render["ViewLayer.Combined.RGBA"][..., :3].max() > 0.05, "the render shows the walls"
    names = {p.name for p in (out / "preview").iterdir()}
    assert {"contact_sheet.png", "render.mp4", "frame.png"} <= names
    cap = cv2.VideoCapture(str(out / "preview" / "render.mp4"))
    frames = 0
    while cap.read()[0]:
        frames += 1
    assert frames == 8
    jsx = (out / "ae" / "shot.jsx").read_text()
    assert jsx.isascii() and "dreamrooms.jsxinc" in jsx
