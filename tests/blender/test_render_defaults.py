"""Render defaults on the built scene (camera rays only, adaptive samples by depth of field, passes asked for), the
plane grid the camera needs (bounded at 1080p, full detail across depth edges), and the first frame of a render
at the defaults is still the photo."""
import numpy as np
import pytest

from blender_helpers import disc_photo, write_shot
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import exr

W, H = 160, 90


def _photo():
    return disc_photo(W, H)


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
    # focus keyed by default, but the render stays sharp (After Effects blurs from the depth pass): still 4 samples
    B.camera_move(empty_scene, shot, "dolly_in", start=built["start"], focus=True)
    cam = empty_scene.camera.data
    assert not cam.dof.use_dof and cam.animation_data is not None
    assert R.setup_render(empty_scene, shot).samples == 4 and c.samples == 4
    # depth of field in the render (--dof): more samples; extra passes only when asked; denoising when asked
    B.camera_move(empty_scene, shot, "dolly_in", start=built["start"], focus=True, dof=True)
    assert cam.dof.use_dof
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


def test_1080p_plane_mesh_is_bounded_watertight_and_keeps_depth_edges(addon_scene):
    import importlib
    grid = importlib.import_module(f"{addon_scene.pkg.__name__}.scene.grid")
    y, x = np.mgrid[0:1080, 0:1920].astype(np.float32)
    disc = (x - 800) ** 2 + (y - 600) ** 2 < 240 ** 2
    depth = np.where(disc, 2.5, 6.0 + 2.0 * y / 1080).astype(np.float32)
    step = grid.coarse_step(1920, 1080, 1920, travel=1.0, median_depth=6.5)
    mesh = grid.adaptive_mesh([depth], step)
    assert step == 4
    # a fraction of the 2 million vertices of one per pixel: the coarse 481 x 271 plus the split edge cells
    coarse = 481 * 271
    assert coarse < len(mesh.uv) < 1.25 * coarse
    px = np.round(mesh.uv[:, 0] * 1920 - 0.5).astype(int), np.round(mesh.uv[:, 1] * 1080 - 0.5).astype(int)
    vertices = set(zip(*px))
    # every pixel on either side of the disc's silhouette is a vertex (full detail along the depth edge)
    edge = grid.edge_pixels([depth])
    assert edge.sum() > 2000 and all((int(i), int(j)) in vertices for j, i in zip(*np.nonzero(edge)))
    # watertight: every inner mesh edge is shared by exactly two triangles (no T-junction cracks), and the
    # triangles tile the frame once, all wound one way
    t = mesh.tris
    e = np.sort(np.concatenate([t[:, [0, 1]], t[:, [1, 2]], t[:, [2, 0]]]), 1)
    _, shared = np.unique(e, axis=0, return_counts=True)
    assert set(shared) == {1, 2} and (shared == 1).sum() == 2 * (480 + 270)
    u, v = mesh.uv[:, 0] * 1920, mesh.uv[:, 1] * 1080
    area = (u[t[:, 1]] - u[t[:, 0]]) * (v[t[:, 2]] - v[t[:, 0]]) - (v[t[:, 1]] - v[t[:, 0]]) * (u[t[:, 2]] - u[t[:, 0]])
    assert (area < 0).all() and abs(-area.sum() / 2 - 1920 * 1080) < 1e-3 * 1920 * 1080
    # a big move relative to the depth: finer everywhere; small frames keep a vertex per pixel
    assert grid.coarse_step(1920, 1080, 1920, travel=8.0, median_depth=6.5) == 1
    assert grid.coarse_step(1920, 1080, 960, travel=1.0, median_depth=6.5) == 2   # depth at half the output size
    assert grid.coarse_step(480, 270, 480) == 1
    assert len(grid.adaptive_mesh([depth[::4, ::4]], 1).uv) == 480 * 270


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
