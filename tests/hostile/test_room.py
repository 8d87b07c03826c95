"""Repros 3, 4, 11, 13, 14, 15 and room parts of 7, 10, 12: `dreamrooms room` under hostile input
(runs the real headless Blender worker through the bpy module)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dreamrooms.shot import exr

from hostile.helpers import dr, dr_env, drop_sequence, edit_manifest, snapshot

pytest.importorskip("bpy")
FAST = ("--engine", "BLENDER_WORKBENCH")


def _combined_rgb(shot: Path, frame: int = 1) -> np.ndarray:
    return exr.read_frame(shot / f"render/render.{frame:04d}.exr")["ViewLayer.Combined.RGBA"][..., :3]


def test_relative_shot_path_renders_the_images(shot):
    """Repro 3: `cd parent; dreamrooms room shot --render` renders the walk, not flat grey."""
    r = dr("room", "shot", "--render", *FAST, cwd=shot.parent)
    assert r.code == 0, r.err
    assert "does not exist" not in r.err
    rgb = _combined_rgb(shot)
    assert float(rgb.std()) > 0.02, "the render is flat: the images were not found"


@pytest.mark.parametrize("name", ["../../outside/evil", "take#2", 'q"uote', "/abs/evil"])
def test_shot_name_never_becomes_a_path(shot, sentinel, name):
    """Repro 4: the depth sequence room writes for Blender is named from a sanitised shot name, inside the shot."""
    drop_sequence(shot, "depth")
    edit_manifest(shot, name=name)
    before = snapshot(sentinel)
    r = dr("room", shot, "--no-save", cwd=shot.parent)
    assert "Traceback" not in r.err
    assert snapshot(sentinel) == before
    assert r.code == 0, r.err
    data = json.loads((shot / "shot.json").read_text())
    pattern = data["sequences"]["depth"]["pattern"]
    assert pattern.startswith("depth/") and pattern.count("#") == 4 and ".." not in pattern, pattern
    assert dr("shot", "info", shot).code == 0


@pytest.mark.parametrize("args", [("--lens", "-1"), ("--lens", "nan"), ("--intensity", "nan"), ("--fstop", "0"),
                                  ("--samples", "-1"), ("--grid", "-4"), ("--grid", "1000000"), ("--rooms", "0"),
                                  ("--rooms", "100000"), ("--depth-scale", "inf"), ("--near", "-1"),
                                  ("--duration", "-1"), ("--shake", "nan"), ("--percentage", "0")])
def test_room_bad_settings_write_nothing(shot, args):
    """Repro 11: bad settings are refused before Blender writes anything (no room.blend, shot.json as it was)."""
    before = snapshot(shot)
    dr("room", shot, *args).refused(args[0])
    assert snapshot(shot) == before


def test_room_fps_out_of_range(shot):
    """Repro 7: fps 1e308 in shot.json is one line, not a traceback from Blender."""
    edit_manifest(shot, fps=1e308)
    dr("room", shot, "--no-save").one_line_error("shot.json", "fps")


def test_room_huge_resolution_is_refused(shot):
    """Repro 10: a 100000x100000 shot is refused before Blender starts churning."""
    edit_manifest(shot, resolution=[100000, 100000])
    t0 = time.monotonic()
    dr("room", shot, "--render", *FAST, timeout=60).one_line_error("shot.json", "resolution")
    assert time.monotonic() - t0 < 30


def test_room_frame_of_another_resolution(shot):
    """Repro 12: a colour frame whose size differs from the shot is caught."""
    exr.write_frame(shot / "layers/walk.0002.exr", {"RGBA": np.ones((8, 16, 4), np.float32),
                                                     "depth.Z": np.ones((8, 16), np.float32)})
    dr("room", shot, "--no-save").one_line_error("walk.0002.exr", "16x8")


def test_all_nan_depth_says_so(shot):
    """Repro 15: an all-NaN depth map is named as such, not as 'nothing in front of the camera'."""
    for f in (1, 2, 3):
        exr.write_frame(shot / f"depth/walk.{f:04d}.exr", {"Y": np.full((16, 32), np.nan, np.float32)})
    line = dr("room", shot, "--no-save").one_line_error("walk.0001.exr")
    assert "nothing in front" not in line
    assert "NaN" in line or "finite" in line


def test_failed_render_leaves_no_room_blend(shot):
    """Repro 14: when the render cannot be written, no room.blend is left behind."""
    (shot / "render").write_text("a file where the render folder goes")
    dr("room", shot, "--render", *FAST).one_line_error("render")
    assert not (shot / "room.blend").exists()


def _children(pid: int) -> list[int]:
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_killing_room_kills_its_blender_worker(tmp_path):
    """Repro 13: SIGKILL to `dreamrooms room` takes its headless worker with it."""
    shot = tmp_path / "long"  # enough frames that the render is still going when the parent is killed
    assert dr("walk", "--model", "cppn-walk", "--out", shot, "--frames", 40, "--size", "64x64").code == 0
    assert dr("depth", shot, "--model", "tinydepth", "--out", shot).code == 0
    p = subprocess.Popen([sys.executable, "-m", "dreamrooms", "room", str(shot), "--render", "--samples", "256", "--no-save"],
                         env=dr_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    worker = None
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and worker is None:
            kids = _children(p.pid)
            worker = kids[0] if kids else None
            time.sleep(0.1)
        assert worker is not None, "no worker process appeared"
        time.sleep(2.0)
        assert _alive(worker), "the worker finished too early for this test"
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and _alive(worker):
            time.sleep(0.1)
        assert not _alive(worker), "the Blender worker outlived `dreamrooms room`"
    finally:
        if p.poll() is None:
            p.kill()
        if worker is not None and _alive(worker):
            os.kill(worker, signal.SIGKILL)


def test_render_from_a_png_blend_leaves_no_temp(shot, tmp_path):
    """Repro 14: `headless.py render SHOT --blend B` with a .blend set to PNG output renders the shot's EXR and
    leaves no `.tmp.png` behind."""
    assert dr("room", shot, *FAST).code == 0
    png_blend = tmp_path / "png.blend"
    script = ("import bpy, sys; bpy.ops.wm.open_mainfile(filepath=sys.argv[1]); s = bpy.context.scene; "
              "s.render.image_settings.media_type = 'IMAGE'; s.render.image_settings.file_format = 'PNG'; "
              "bpy.ops.wm.save_as_mainfile(filepath=sys.argv[2])")
    p = subprocess.run([sys.executable, "-c", script, str(shot / "room.blend"), str(png_blend)], env=dr_env(),
                       capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    headless = Path(__file__).resolve().parents[2] / "blender_addon" / "headless.py"
    p = subprocess.run([sys.executable, str(headless), "render", str(shot), "--blend", str(png_blend)], env=dr_env(),
                       capture_output=True, text=True, timeout=120)
    assert "Traceback" not in p.stderr
    assert not [f.name for f in (shot / "render").iterdir() if ".tmp" in f.name]
    assert p.returncode == 0, p.stderr
    assert exr.read_frame(shot / "render/render.0001.exr")["ViewLayer.Combined.RGBA"].shape == (16, 32, 4)
