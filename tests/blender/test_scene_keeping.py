"""A scene worth keeping: rebuilds keep the artist's objects, paths survive moving the project,
camera moves are a few editable Bezier keys, and the modifier's inputs explain themselves."""
from __future__ import annotations

import shutil

import bpy
import numpy as np
import pytest

from blender_helpers import write_shot
from dreamrooms import camera as cm




def _shot(folder, frames=3):
    y, x = np.mgrid[0:8, 0:12].astype(np.float32)
    return write_shot(folder, [2.0 + 0.05 * x + 0.1 * k for k in range(frames)])


def test_rebuild_replaces_only_what_the_build_made(addon_scene, empty_scene, tmp_path):
    B = addon_scene.build
    shot = _shot(tmp_path / "shot")
    B.build(empty_scene, shot, B.BuildSettings(layout="plane"))
    col = bpy.data.collections[B.COLLECTION]
    prop = bpy.data.objects.new("artist lamp post", None)
    col.objects.link(prop)
    B.build(empty_scene, shot, B.BuildSettings(layout="room"))
    names = sorted(o.name for o in col.objects)
    assert "artist lamp post" in names, "the rebuild deleted the artist's object"
    assert not any(n.startswith("dreamrooms plane") for n in names), "the old build was left behind"
    assert all(B.TAG in o for o in col.objects if o.name != "artist lamp post")


def test_shot_and_render_paths_are_relative_and_survive_moving_the_project(registered, tmp_path):
    project = tmp_path / "project"
    _shot(project / "shot")
    s = bpy.context.scene.dreamrooms
    s.shot_path = str(project / "shot")  # unsaved file: absolute for now
    assert bpy.ops.dreamrooms.build() == {"FINISHED"} and bpy.ops.dreamrooms.render_setup() == {"FINISHED"}
    bpy.ops.wm.save_as_mainfile(filepath=str(project / "scene.blend"))
    scene = bpy.context.scene
    assert scene["dreamrooms_shot"] == "//shot" and s.shot_path == "//shot"
    assert scene.render.filepath == "//shot/render/render.####"
    # a Save Copy elsewhere (or a failed save) leaves the open file's paths resolving from where it is
    with pytest.raises(RuntimeError, match="Cannot open file"):
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "missing" / "copy.blend"), copy=True)
    assert scene["dreamrooms_shot"] == "//shot"
    (tmp_path / "elsewhere").mkdir()
    bpy.ops.wm.save_as_mainfile(filepath=str(tmp_path / "elsewhere" / "copy.blend"), copy=True)
    assert scene["dreamrooms_shot"] == "//shot" and scene.render.filepath == "//shot/render/render.####"
    shutil.move(str(project), str(tmp_path / "moved"))
    bpy.ops.wm.open_mainfile(filepath=str(tmp_path / "moved" / "scene.blend"))
    s = bpy.context.scene.dreamrooms
    assert s.shot_path == "//shot", "the Shot field is restored from the file"
    assert bpy.ops.dreamrooms.load_shot() == {"FINISHED"}  # found at its new place
    assert bpy.path.abspath(bpy.context.scene.render.filepath).startswith(str(tmp_path / "moved" / "shot"))


def test_camera_moves_are_few_bezier_keys_that_follow_the_preset(addon_scene, empty_scene):
    rig = addon_scene.rig
    cam = rig.ensure_camera(empty_scene)
    start = cm.look_at((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    for move, most in (("dolly_in", 2), ("crane", 4), ("orbit", 12)):
        mats = rig.apply_move(empty_scene, cam, move, range(1, 49), start=start, easing="ease_in_out")
        curves = rig.fcurves(cam)
        assert len(curves) == 6
        assert all(len(fc.keyframe_points) <= most for fc in curves), (move, [len(fc.keyframe_points) for fc in curves])
        assert all(kp.interpolation == "BEZIER" for fc in curves for kp in fc.keyframe_points)
        for f in range(1, 49):  # every frame within a millimetre of the preset
            empty_scene.frame_set(f)
            assert np.abs(np.array(cam.matrix_world) - mats[f - 1]).max() < 2e-3, (move, f)


def test_geometry_node_inputs_have_tooltips_and_ranges(addon_scene):
    tree = addon_scene.nodes.depth_tree()
    inputs = {i.name: i for i in tree.interface.items_tree if getattr(i, "in_out", "") == "INPUT"}
    for name in ("Depth Scale", "Near", "Far", "Edge Cut", "Frame Count", "Time Offset"):
        assert inputs[name].description, name
        assert inputs[name].min_value >= (0 if name != "Time Offset" else -(1 << 20)), name
    assert inputs["Frame Count"].min_value == 1 and inputs["Depth Scale"].min_value == 0.0
    assert inputs["Depth"].description


def test_corridor_walk_past_fills_every_frame(addon_scene, empty_scene, tmp_path):
    """The demo's shot: three rooms and a depth plane in a bay, walked past.  No pixel of any frame
    may see past the set (the Depth pass is 1e10 where nothing is hit): not the corridor's ends, not
    the gaps between rooms, not the corners where displaced walls meet."""
    from dreamrooms.shot import exr
    n = 12
    y, x = np.mgrid[0:27, 0:48].astype(np.float32)
    depths = [2.0 + 3.0 * (0.5 + 0.5 * np.sin(x / 5 + k / 3) * np.cos(y / 4)) for k in range(n)]
    shot = write_shot(tmp_path / "shot", depths)
    B, R = addon_scene.build, addon_scene.render
    built = B.build(empty_scene, shot, B.BuildSettings(layout="corridor", rooms=3, room_offset=4, with_plane=True,
                                                       grid=24))
    B.camera_move(empty_scene, shot, "walk_past", start=built["start"], focus=False)
    R.setup_render(empty_scene, shot, engine="CYCLES", samples=1)
    for f in (1, 4, 8, 12):
        R.render_frames(empty_scene, shot, range(f, f + 1), record=False)
        depth = exr.read_frame(tmp_path / f"shot/render/render.{f:04d}.exr", ["ViewLayer.Depth.Z"])
        background = float((next(iter(depth.values())) > 1e9).mean())
        assert background == 0.0, f"frame {f}: {background:.1%} of the frame sees past the set"


def test_camera_track_reads_the_camera_alone_unless_it_depends_on_the_set(addon_scene, empty_scene, tmp_path):
    rig, B = addon_scene.rig, addon_scene.build
    shot = _shot(tmp_path / "shot", frames=6)
    built = B.build(empty_scene, shot, B.BuildSettings(layout="room", grid=32))
    B.camera_move(empty_scene, shot, "crane", start=built["start"], focus=False)
    cam = empty_scene.camera
    track = rig.camera_track(empty_scene, cam, range(1, 7))
    empty_scene.frame_set(6)
    assert np.allclose(track.matrices[5], np.array(cam.matrix_world), atol=1e-6)
    assert not any(lc.exclude for lc in bpy.context.view_layer.layer_collection.children)  # all put back
    # a camera parented to something in the set is read with the set evaluated
    col = bpy.data.collections[B.COLLECTION]
    rig_empty = bpy.data.objects.new("dolly rig", None)
    col.objects.link(rig_empty)
    rig_empty.location = (0.0, 0.0, 0.0)
    rig_empty.keyframe_insert("location", frame=1)
    rig_empty.location = (2.0, 0.0, 0.0)
    rig_empty.keyframe_insert("location", frame=6)
    cam.parent = rig_empty
    track = rig.camera_track(empty_scene, cam, range(1, 7))
    empty_scene.frame_set(6)
    assert np.allclose(track.matrices[5], np.array(cam.matrix_world), atol=1e-6)
