"""The animated plane follows the depth (and colour) sequence frame by frame without baking."""
import numpy as np
import pytest

from blender_helpers import write_shot
from dreamrooms import camera as cm
from dreamrooms.shot import exr

W, H, N = 24, 16, 6


def _depth(k):
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    return 2.0 + 0.5 * k + 0.04 * x + 0.02 * y * k   # every frame a different shape and distance


def test_geometry_at_frame_5_comes_from_depth_frame_5(addon_scene, tmp_path, empty_scene):
    shot = write_shot(tmp_path / "shot", [_depth(k) for k in range(N)])
    built = addon_scene.build.build(empty_scene, shot, addon_scene.build.BuildSettings(layout="plane"))
    obj = built["objects"][0]
    K = addon_scene.rig.intrinsics_of(empty_scene, built["camera"])
    assert obj.modifiers and obj.modifiers[0].type == "NODES"
    # the Blender-readable depth sequence was written and recorded in shot.json
    seq = shot.sequences["depth"]
    assert seq.channels == ["Y"]
    np.testing.assert_array_equal(exr.read_frame(shot.frame_path("depth", 5))["Y"], _depth(4))
    for frame in (5, 2, 6):
        empty_scene.frame_set(frame)
        pos, _ = addon_scene.mesh.evaluated_positions(obj)
        u, v = cm.grid_uv(W, H)
        want = cm.rays_uv(K, u[None, :], v[:, None]) * cm.sample_grid(_depth(frame - 1), u, v)[..., None]
        np.testing.assert_allclose(pos.reshape(H, W, 3), want, atol=1e-4 * 6)
    empty_scene.frame_set(5)
    pos5, _ = addon_scene.mesh.evaluated_positions(obj)
    empty_scene.frame_set(1)
    pos1, _ = addon_scene.mesh.evaluated_positions(obj)
    assert np.abs(pos5 - pos1).max() > 1.0


def test_rendered_frame_shows_colour_frame_at_the_same_frame(addon_scene, tmp_path, empty_scene):
    rng = np.random.default_rng(1)
    colours = [np.clip(rng.random((H, W, 3)), 0.05, 0.95).astype(np.float32) for _ in range(N)]
    shot = write_shot(tmp_path / "shot", [_depth(k) for k in range(N)], colours)
    addon_scene.build.build(empty_scene, shot, addon_scene.build.BuildSettings(layout="plane"))
    addon_scene.render.setup_render(empty_scene, shot, samples=1, passes=("combined",))
    empty_scene.cycles.filter_width = 0.01
    addon_scene.render.render_frames(empty_scene, shot, range(4, 6), record=False)
    for f in (4, 5):
        got = exr.read_frame(tmp_path / "shot" / f"render/render.{f:04d}.exr")["ViewLayer.Combined.RGBA"][..., :3]
        err = np.abs(got.astype(np.float32) - colours[f - 1])
        assert err.mean() < 0.01, (f, err.mean())
        other = np.abs(got.astype(np.float32) - colours[f - 2]).mean()
        assert other > 0.1  # and not the neighbouring frame
