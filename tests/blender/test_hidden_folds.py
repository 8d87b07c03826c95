"""The plane's hidden folds: the sheets bridging a depth edge that turn their back to the moved camera are
deleted at that frame (they lie under the near surface, yet Cycles would still pay for them), every other face
stays, and the rendered picture is the same with or without the deletion."""
import bpy
import numpy as np
import pytest

from blender_helpers import disc_photo, write_shot
from dreamrooms.shot import exr

W, H = 160, 90


def _faces(obj, frame):
    """Per face of the evaluated plane at `frame`: bridges a depth edge, faces away from the scene camera."""
    scene = bpy.context.scene
    scene.frame_set(frame)
    ev = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    me = ev.to_mesh()
    try:
        co = np.empty(len(me.vertices) * 3, np.float32)
        me.vertices.foreach_get("co", co)
        tri = np.empty(len(me.loops), np.int32)
        me.loops.foreach_get("vertex_index", tri)
    finally:
        ev.to_mesh_clear()
    p = co.reshape(-1, 3)[tri.reshape(-1, 3)]
    d = -p[..., 2]
    sheet = d.max(1) > 1.03 * d.min(1)
    cam = np.array(obj.matrix_world.inverted() @ scene.camera.matrix_world.translation)
    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    away = np.einsum("ij,ij->i", normal, cam - p.mean(1)) < 0
    return sheet, away


def _render(scene, shot, R, frame):
    R.render_frames(scene, shot, range(frame, frame + 1), record=False)
    return exr.read_frame(shot.folder / f"render/render.{frame:04d}.exr")["ViewLayer.Combined.RGBA"].astype(np.float32)


@pytest.mark.parametrize("move", ["dolly_in", "truck"])
def test_folded_sheets_go_every_other_face_stays_and_the_picture_is_unchanged(addon_scene, tmp_path, empty_scene, move):
    rgb, depth = disc_photo(W, H)
    shot = write_shot(tmp_path / "shot", [depth] * 3, [rgb] * 3)
    B, R, folds = addon_scene.build, addon_scene.render, addon_scene.folds
    built = B.build(empty_scene, shot, B.BuildSettings(layout="plane"))
    obj = built["objects"][0]
    fold = obj.modifiers[-1]
    assert fold.name == folds.MODIFIER
    B.camera_move(empty_scene, shot, move, start=built["start"], focus=False, intensity=0.6)
    R.setup_render(empty_scene, shot)
    culled_picture = _render(empty_scene, shot, R, 3)
    sheet_1, away_1 = _faces(obj, 1)
    assert sheet_1.sum() > 100 and not (sheet_1 & away_1).any()   # the source view: every sheet faces it, all stay
    culled, _ = _faces(obj, 3)
    fold.show_viewport = fold.show_render = False
    sheet, away = _faces(obj, 3)
    folded = sheet & away
    assert folded.sum() > 50 and (sheet & ~away).sum() > 0       # some sheets fold under, others face the camera
    assert len(culled) == len(sheet) - folded.sum()              # exactly the folded sheets went
    whole_picture = _render(empty_scene, shot, R, 3)
    assert np.abs(culled_picture - whole_picture).max() < 2e-3   # and they were never seen


@pytest.mark.parametrize("move", ["sideways", "forward"])
def test_on_objects_standing_on_a_floor_the_deletion_changes_no_pixel(addon_scene, tmp_path, empty_scene, grounded, move):
    """The grounded room (objects resting on a sloped floor, the floor meeting the walls), its source view as a
    plane, seen from the fixture's moved cameras (a sideways step with a turn, a step forward): folded sheets go
    and the picture is the same, floor and contact lines included."""
    from scenes import grounded as G

    shot = G.write_shot(tmp_path / "shot", grounded)
    B, R, rig = addon_scene.build, addon_scene.render, addon_scene.rig
    built = B.build(empty_scene, shot, B.BuildSettings(layout="plane", colour="color"))
    obj = built["objects"][0]
    fold = obj.modifiers[-1]
    R.setup_render(empty_scene, shot, samples=4, passes=("combined",))
    empty_scene.camera.matrix_world = rig.to_matrix(grounded.moves[move][-1].matrix)

    def picture(name):
        empty_scene.render.filepath = str(tmp_path / name)
        bpy.ops.render.render(write_still=True)
        return exr.read_frame(tmp_path / f"{name}.exr")["ViewLayer.Combined.RGBA"].astype(np.float32)

    culled_picture = picture("culled")
    culled, _ = _faces(obj, 1)
    fold.show_viewport = fold.show_render = False
    sheet, away = _faces(obj, 1)
    whole_picture = picture("whole")
    assert (sheet & away).sum() > 20 and len(culled) == len(sheet) - (sheet & away).sum()
    assert np.abs(culled_picture - whole_picture).max() < 2e-3
