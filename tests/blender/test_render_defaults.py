"""Render defaults on the built scene (camera rays only, adaptive samples by depth of field, passes asked for), the
plane grid the camera needs (bounded at 1080p, full detail across depth edges), and the first frame of a render
at the defaults is still the photo."""
import numpy as np
import pytest

from blender_helpers import write_shot
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import exr

W, H = 160, 90


def _photo():
    """A photo-like frame and its depth: a far wall and a near disc (a depth edge)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    rgb = np.stack([0.3 + 0.3 * np.sin(x / 11.0), 0.3 + 0.2 * np.cos(y / 7.0), 0.2 + 0.5 * (x + y) / (W + H)], -1)
    disc = (x - 60) ** 2 + (y - 45) ** 2 < 22 ** 2
    rgb[disc] = (0.8, 0.5, 0.2)
    depth = np.where(disc, 2.5, 6.0 + 2.0 * y / H).astype(np.float32)
    return rgb, depth


def test_defaults_are_camera_rays_adaptive_samples_and_asked_passes(addon_scene, tmp_path, empty_scene):
    rgb, depth = _photo()
    shot = write_shot(tmp_path / "shot", [depth, depth], [rgb, rgb])
    B, R = addon_scene.build, addon_scene.render
    built = B.build(empty_scene, shot, B.BuildSettings(layout="plane"))
    B.camera_move(empty_scene, shot, "dolly_in", start=built["start"], focus=False)
    d = R.setup_render(empty_scene, shot)
    c = empty_scene.cycles
    assert (c.max_bounces, c.diffuse_bounces, c.glossy_bounces, c.transmission_bounces, c.volume_bounces) == (0,) * 5
    assert not c.caustics_reflective and not c.caustics_refractive and not c.use_denoising
    assert c.transparent_max_bounces >= 2                    # a plane plus what is behind it
    assert c.samples == 4 and d.samples == 4                 # sharp: antialiasing only, nothing to adapt
    assert not c.use_adaptive_sampling
    assert empty_scene.render.use_persistent_data
    vl = empty_scene.view_layers[0]
    assert vl.use_pass_combined and vl.use_pass_z
    assert not (vl.use_pass_mist or vl.use_pass_normal or vl.use_pass_vector or vl.use_pass_object_index)
    # depth of field on: more samples; extra passes only when asked; denoising when asked
    B.camera_move(empty_scene, shot, "dolly_in", start=built["start"], focus=True)
    R.setup_render(empty_scene, shot, passes="normal,vector", denoise=True)
    assert c.samples == 16 and c.use_denoising
    assert c.use_adaptive_sampling and 0 < c.adaptive_threshold <= 0.05 and c.adaptive_min_samples == 4
    assert vl.use_pass_normal and vl.use_pass_vector and not vl.use_pass_mist
    R.setup_render(empty_scene, shot, samples=3)
    assert c.samples == 3
    with pytest.raises(DreamroomsError, match="--passes 'fog'"):
        R.setup_render(empty_scene, shot, passes="fog")
    # layered planes: a ray crosses every layer (transparent bounces independent of the zero light bounces)
    import bpy
    for k in range(6):
        ob = bpy.data.objects.new(f"layer {k}", None)
        ob["dreamrooms_layer"] = k
        empty_scene.collection.objects.link(ob)
    R.setup_render(empty_scene, shot)
    assert c.transparent_max_bounces >= 7 and c.max_bounces == 0


def test_1080p_plane_grid_is_bounded_and_keeps_depth_edges(addon_scene):
    import importlib
    grid = importlib.import_module(f"{addon_scene.pkg.__name__}.scene.grid")
    y, x = np.mgrid[0:1080, 0:1920].astype(np.float32)
    disc = (x - 800) ** 2 + (y - 600) ** 2 < 240 ** 2
    depth = np.where(disc, 2.5, 6.0 + 2.0 * y / 1080).astype(np.float32)
    step = grid.coarse_step(1920, 1080, 1920, travel=1.0, median_depth=6.5)
    u, v = grid.adaptive_uv([depth], step)
    assert step == 4
    # a fraction of the 2 million vertices of one per pixel: at most twice the coarse 480 x 270 on each axis
    assert 480 * 270 <= len(u) * len(v) <= 4 * 481 * 271
    cols = np.round(u * 1920 - 0.5).astype(int)
    # both pixels either side of the disc's left and right silhouette at its centre row are vertex columns
    row = disc[600]
    left, right = np.flatnonzero(row)[[0, -1]]
    assert {left - 1, left, right, right + 1} <= set(cols)
    # a big move relative to the depth: finer everywhere; small frames keep a vertex per pixel
    assert grid.coarse_step(1920, 1080, 1920, travel=8.0, median_depth=6.5) == 1
    assert grid.coarse_step(1920, 1080, 960, travel=1.0, median_depth=6.5) == 2   # depth at half the output size
    assert grid.coarse_step(480, 270, 480) == 1


def test_first_frame_at_the_defaults_is_the_photo(addon_scene, tmp_path, empty_scene):
    rgb, depth = _photo()
    shot = write_shot(tmp_path / "shot", [depth] * 2, [rgb] * 2)
    B, R = addon_scene.build, addon_scene.render
    built = B.build(empty_scene, shot, B.BuildSettings(layout="plane"))
    assert len(built["objects"][0].data.vertices) == W * H     # a frame this small keeps a vertex per pixel
    B.camera_move(empty_scene, shot, "dolly_in", start=built["start"], focus=False)
    R.setup_render(empty_scene, shot)
    R.render_frames(empty_scene, shot, range(1, 2), record=False)
    got = exr.read_frame(tmp_path / "shot/render/render.0001.exr")["ViewLayer.Combined.RGBA"][..., :3].astype(np.float32)
    mse = float(np.mean((np.clip(got, 0, 1) - rgb) ** 2))
    psnr = 10 * np.log10(1.0 / max(mse, 1e-12))
    print(f"first frame vs photo: {psnr:.1f} dB")
    assert psnr >= 33.0
