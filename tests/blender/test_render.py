"""Render setup, multilayer EXR passes read back with dreamrooms.shot.exr, rooms and corridors, headless."""
import json
import subprocess
import sys

import bpy
import numpy as np
import pytest

from blender_helpers import ROOT, write_shot
from dreamrooms.shot import exr
from dreamrooms.shot import Shot

W, H = 32, 24


def _depths(n, base=3.0):
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return [base + 0.2 * k + 0.02 * x for k in range(n)]


def test_multilayer_exr_has_the_passes_and_shot_records_render_and_camera(addon_scene, tmp_path, empty_scene):
    shot = write_shot(tmp_path / "shot", _depths(3))
    B = addon_scene.build
    built = B.build(empty_scene, shot, B.BuildSettings(layout="plane"))
    B.camera_move(empty_scene, shot, "dolly_in", start=built["start"], intensity=0.5)
    addon_scene.render.setup_render(empty_scene, shot, samples=1, passes="all")
    assert empty_scene.render.image_settings.exr_codec == "ZIP"
    assert (empty_scene.frame_start, empty_scene.frame_end, empty_scene.render.fps) == (1, 3, 24)
    addon_scene.render.render_frames(empty_scene, shot)
    f2 = tmp_path / "shot/render/render.0002.exr"
    layers = exr.read_frame(f2)
    index_key = "ViewLayer.Object Index.X" if bpy.app.version >= (5, 0, 0) else "ViewLayer.IndexOB.X"  # renamed in 5.0
    for key in ("ViewLayer.Combined.RGBA", "ViewLayer.Depth.Z", "ViewLayer.Mist.Z", "ViewLayer.Normal.XYZ",
                "ViewLayer.Vector.XYZW", index_key):
        assert key in layers, sorted(layers)
    assert layers["ViewLayer.Combined.RGBA"].dtype == np.float16          # half colour
    assert layers["ViewLayer.Depth.Z"].dtype == np.float32                # full float depth
    assert exr.info(f2).compression == "zip"
    # the plane sits 3.2..3.9 m in front of a camera that has dollied in by up to 0.5 m
    d = layers["ViewLayer.Depth.Z"]
    assert 2.6 < np.median(d) < 3.9
    assert np.all(layers[index_key] == 1)                # the plane has pass index 1
    # shot.json: the render sequence with the channels as read back, and the camera track
    loaded = Shot.load(tmp_path / "shot")
    seq = loaded.sequences["render"]
    assert seq.pattern == "render/render.####.exr"
    assert "ViewLayer.Depth.Z" in seq.channels and "ViewLayer.Combined.R" in seq.channels
    cam = loaded.camera
    assert len(cam.matrices) == 3 and cam.lens_mm == pytest.approx(35.0) and cam.sensor_mm == pytest.approx(36.0)
    moved = np.array(cam.matrices[2])[:3, 3] - np.array(cam.matrices[0])[:3, 3]
    assert np.linalg.norm(moved) == pytest.approx(0.5, abs=1e-4)
    assert cam.focus_distance and cam.focus_distance[2] < cam.focus_distance[0]  # focus follows the subject
    # depth at the frame centre from the render agrees with the keyed focus distance
    centre = float(exr.read_frame(tmp_path / "shot/render/render.0003.exr")["ViewLayer.Depth.Z"][H // 2 - 1:H // 2 + 1, W // 2 - 1:W // 2 + 1].mean())
    assert cam.focus_distance[2] == pytest.approx(centre, rel=0.02)


def test_room_and_corridor_walls(addon_scene, tmp_path, empty_scene):
    shot = write_shot(tmp_path / "shot", _depths(4))
    B = addon_scene.build
    built = B.build(empty_scene, shot, B.BuildSettings(layout="room", grid=16, wall_offset=1))
    walls = {o["dreamrooms_wall"]: o for o in built["objects"]}
    assert set(walls) == {"back", "left", "right", "floor", "ceiling"}
    height = 4.0 / (W / H)
    empty_scene.frame_set(2)
    back, _ = addon_scene.mesh.evaluated_positions(walls["back"])
    # the back wall: relief pushes it back from y = length by strength * (depth - near)
    assert back[:, 1].min() >= 5.0 - 1e-4 and back[:, 1].max() <= 5.0 + 0.1 * 1.0 + 1e-3
    assert back[:, 2].min() == pytest.approx(0.0, abs=1e-4) and back[:, 2].max() == pytest.approx(height, abs=1e-4)
    floor, _ = addon_scene.mesh.evaluated_positions(walls["floor"])
    assert floor[:, 2].max() <= 1e-4  # pushed down, below the room
    # walls show the sequence with time offsets (one frame apart)
    offs = [w.modifiers[0][addon_scene.nodes.socket_ids(w.modifiers[0].node_group)["Time Offset"]] for w in built["objects"]]
    assert offs == [0, 1, 2, 3, 4]
    cor = B.build(empty_scene, shot, B.BuildSettings(layout="corridor", grid=8, rooms=3, room_gap=0.5, room_offset=2))
    walls = [o for o in cor["objects"] if o["dreamrooms_kind"] == "wall"]
    assert len(walls) == 15 and sum(o["dreamrooms_kind"] == "facade" for o in cor["objects"]) == 2  # the 2 gaps
    xs = sorted({round(o.location.x, 4) for o in walls})
    assert xs == [-4.5, 0.0, 4.5]
    mats = B.camera_move(empty_scene, shot, "walk_past", start=cor["start"], focus=False)
    assert mats[-1][0, 3] - mats[0][0, 3] == pytest.approx(cor["span"])
    # a corridor with the depth plane in a bay: --grid sets the plane's vertices too (W x H = 32 x 24 -> 8 x 6)
    bay = B.build(empty_scene, shot, B.BuildSettings(layout="corridor", grid=8, rooms=2, with_plane=True))
    plane = bay["objects"][-1]
    assert plane.name.startswith("dreamrooms plane") and len(plane.data.vertices) == 8 * 6
    assert plane.location.x > max(o.location.x for o in bay["objects"][:-1])   # after the last room
    from dreamrooms.errors import DreamroomsError
    with pytest.raises(DreamroomsError, match="--with-plane .* use --layout corridor"):
        B.build(empty_scene, shot, B.BuildSettings(layout="room", with_plane=True))


def _headless(*args, timeout=240):
    return subprocess.run([sys.executable, str(ROOT / "blender_addon/headless.py"), *map(str, args)],
                          capture_output=True, text=True, timeout=timeout)


def test_headless_room_renders_and_fails_cleanly(tmp_path):
    shot = write_shot(tmp_path / "shot", _depths(3))
    r = _headless("room", tmp_path / "shot", "--layout", "room", "--grid", "8", "--move", "orbit",
                  "--frames", "2-3", "--render", "--samples", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "shot/render").iterdir()) == ["render.0002.exr", "render.0003.exr"]
    assert exr.is_complete(tmp_path / "shot/render/render.0003.exr", ("ViewLayer.Depth.Z",))
    data = json.loads((tmp_path / "shot/shot.json").read_text())
    assert "render" not in data["sequences"]  # frame 1 was not rendered: not recorded as a sequence yet
    assert len(data["camera"]["matrices"]) == 3
    # focus keyed and recorded for After Effects' lens blur; the render itself is sharp (no --dof)
    cam = data["camera"]
    assert cam["dof_in_render"] is False and cam["fstop"] == pytest.approx(2.8) and len(cam["focus_distance"]) == 3
    # the scene description AE's nulls come from: every wall the build made, with its world matrix
    scene = data["provenance"]["extra"]["scene"]
    assert sorted(o["kind"] for o in scene) == ["wall"] * 5
    back = next(o for o in scene if o["name"].endswith("back"))
    assert np.array(back["matrix"]).shape == (4, 4)
    assert (tmp_path / "shot/room.blend").is_file()
    # the run that renders the last missing frame records the sequence, and its own save keeps it
    r = _headless("room", tmp_path / "shot", "--layout", "room", "--grid", "8", "--move", "orbit",
                  "--frames", "1-1", "--render", "--samples", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    data = json.loads((tmp_path / "shot/shot.json").read_text())
    assert "render" in data["sequences"] and len(data["camera"]["matrices"]) == 3
    bad = _headless("room", tmp_path / "nope", "--layout", "plane")
    assert bad.returncode == 1
    assert "dreamrooms: error:" in bad.stderr and "shot.json: not found" in bad.stderr
    out_of_range = _headless("room", tmp_path / "shot", "--frames", "2-9", "--no-save")
    assert out_of_range.returncode == 1 and "outside the shot's frames 1-3" in out_of_range.stderr
    del shot


def test_room_dof_renders_depth_of_field_and_records_it(tmp_path):
    """`--dof` reaches the camera (Blender renders depth of field, 16 samples) and shot.json says so, so the AE
    export keeps Blender's blur instead of adding Camera Lens Blur."""
    write_shot(tmp_path / "shot", _depths(2))
    r = _headless("room", tmp_path / "shot", "--layout", "plane", "--grid", "8", "--move", "dolly", "--dof",
                  "--fstop", "4")
    assert r.returncode == 0, r.stderr[-2000:]
    cam = json.loads((tmp_path / "shot/shot.json").read_text())["camera"]
    assert cam["dof_in_render"] is True and cam["fstop"] == pytest.approx(4.0) and len(cam["focus_distance"]) == 2
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "shot/room.blend"))
    scene = bpy.context.scene
    dof, samples = scene.camera.data.dof.use_dof, scene.cycles.samples
    bpy.ops.wm.read_homefile(use_empty=True)   # the next test starts from an empty file, not room.blend
    assert dof and samples == 16


def test_dreamrooms_room_cli_runs_headless_with_this_interpreter(tmp_path):
    write_shot(tmp_path / "shot", _depths(2))
    r = subprocess.run([sys.executable, "-m", "dreamrooms", "room", str(tmp_path / "shot"), "--layout", "plane",
                        "--move", "truck", "--no-save"], capture_output=True, text=True, timeout=240)
    assert r.returncode == 0, r.stderr[-2000:]
    cam = Shot.load(tmp_path / "shot").camera
    assert np.array(cam.matrices[1])[0, 3] == pytest.approx(1.0)  # trucked 1 m to the right (+x)
