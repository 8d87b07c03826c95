"""Unprojected depth planes match the pinhole model; edge cut removes triangles across discontinuities."""
import numpy as np
import pytest

from blender_helpers import world_vertices
from dreamrooms import camera as cm
from dreamrooms.training import synth

W, H = 48, 32


def _scene_with_box():
    wall = synth.Plane(point=(0, 6, 0), normal=(0, -1, 0))
    box = synth.Box(center=(0.4, 3.0, 1.5), size=(1.0, 1.0, 1.0), yaw=0.5)
    return synth.Scene(objects=[wall, box], lights=[synth.PointLight(position=(0, 0, 3))])


def _tilted_scene():
    # a plane tilted 35 degrees away from the camera
    n = np.array([0.0, -np.cos(np.radians(35)), np.sin(np.radians(35))])
    return synth.Scene(objects=[synth.Plane(point=(0, 4, 1.5), normal=tuple(n))]), n


def _build(a, depth, cam, **opts):
    K = cm.intrinsics(cam.lens_mm, cam.sensor_mm, W, H, cam.sensor_fit)
    o = a.plane.PlaneOptions(fill_frame=False, **opts)
    obj = a.plane.build_depth_plane("p", depth, K, cam.matrix_world, o)
    return obj, world_vertices(obj, a.mesh.mesh_positions(obj.data))


def test_tilted_plane_vertices_lie_on_the_plane(addon_scene):
    scene, n = _tilted_scene()
    cam = synth.Camera.look_at((0, 0, 1.5), (0, 4, 1.5), lens_mm=28)
    _, depth = synth.render_scene(scene, cam, W, H)
    assert np.isfinite(depth).all() and depth.max() / depth.min() > 1.5  # really tilted
    obj, verts = _build(addon_scene, depth, cam)
    assert len(verts) == W * H
    dist = np.abs((verts - np.array([0, 4, 1.5])) @ n)
    assert dist.max() <= 1e-4 * depth.max()
    # and every vertex is where the pinhole puts the pixel centre at that depth
    np.testing.assert_allclose(verts.reshape(H, W, 3), cam.unproject(depth), atol=1e-4 * float(depth.max()))


def test_box_vertices_hit_the_ray_caster_points(addon_scene):
    scene = _scene_with_box()
    cam = synth.Camera.look_at((0, 0, 1.5), (0, 5, 1.5), lens_mm=30)
    _, depth, extra = synth.render_scene(scene, cam, W, H, extras=True)
    assert (extra["object_id"] == 1).sum() > 50  # the box is in view
    obj, verts = _build(addon_scene, depth, cam)
    err = np.linalg.norm(verts.reshape(H, W, 3) - extra["position"], axis=-1)
    assert (err <= 1e-4 * depth).all(), err.max()
    # camera-space z of every vertex is minus its depth (depth along the axis, not ray length)
    local = addon_scene.mesh.mesh_positions(obj.data).reshape(H, W, 3)
    np.testing.assert_allclose(-local[..., 2], depth, rtol=1e-5)


def test_edge_cut_removes_exactly_the_triangles_across_the_box_silhouette(addon_scene):
    scene = _scene_with_box()
    cam = synth.Camera.look_at((0, 0, 1.5), (0, 5, 1.5), lens_mm=30)
    _, depth, extra = synth.render_scene(scene, cam, W, H, extras=True)
    full, _ = _build(addon_scene, depth, cam)
    cut, _ = _build(addon_scene, depth, cam, edge_cut=1.25)
    tris_full = addon_scene.mesh.mesh_triangles(full.data)
    tris_cut = addon_scene.mesh.mesh_triangles(cut.data)
    assert len(tris_full) == 2 * (W - 1) * (H - 1)
    kept = {tuple(sorted(t)) for t in tris_cut}
    removed = [t for t in tris_full if tuple(sorted(t)) not in kept]
    assert len(removed) > 10
    ids = extra["object_id"].ravel()
    # every removed triangle spans the box and the wall ...
    assert all(len(set(ids[t])) > 1 for t in removed)
    # ... and no kept triangle stretches across a depth ratio above the threshold
    d = depth.ravel()[tris_cut]
    assert (d.max(1) / d.min(1) <= 1.25).all()
    # the geometry-nodes version (used for animation) cuts the same triangles
    from dreamrooms.shot import Shot  # noqa: F401
    K = cm.intrinsics(cam.lens_mm, cam.sensor_mm, W, H)
    anim = addon_scene.plane.build_depth_plane("a", depth, K, cam.matrix_world,
                                               addon_scene.plane.PlaneOptions(fill_frame=False), animate=True)
    img = _depth_image(depth)
    addon_scene.nodes.add_depth_modifier(anim, img, edge_cut=1.25,
                                         timing=addon_scene.nodes.SequenceTiming(frame_start=1, frame_count=1))
    pos, tris = addon_scene.mesh.evaluated_positions(anim)
    assert {tuple(sorted(t)) for t in tris} == kept


def _depth_image(depth):
    import bpy
    h, w = depth.shape
    img = bpy.data.images.new("depth", w, h, float_buffer=True, is_data=True)
    px = np.repeat(depth[::-1, :, None], 4, axis=2).astype(np.float32)
    px[..., 3] = 1
    img.pixels.foreach_set(px.ravel())
    return img


def test_depth_scale_and_clamp(addon_scene):
    depth = np.full((4, 6), 3.0, np.float32)
    depth[0, 0] = 50.0
    depth[3, 5] = 0.01
    K = cm.intrinsics(35, 36, 6, 4)
    o = addon_scene.plane.PlaneOptions(fill_frame=False, scale=2.0, near=1.0, far=10.0)
    obj = addon_scene.plane.build_depth_plane("c", depth, K, None, o)
    z = -addon_scene.mesh.mesh_positions(obj.data)[:, 2].reshape(4, 6)
    assert z[1, 1] == pytest.approx(6.0) and z[0, 0] == pytest.approx(10.0) and z[3, 5] == pytest.approx(1.0)


def test_fill_behind_adds_an_uncut_stretched_copy_just_behind(addon_scene, tmp_path, empty_scene):
    from blender_helpers import write_shot
    scene = _scene_with_box()
    cam = synth.Camera.look_at((0, 0, 1.5), (0, 5, 1.5), lens_mm=30)
    _, depth = synth.render_scene(scene, cam, W, H)
    shot = write_shot(tmp_path / "shot", [depth])
    B = addon_scene.build
    built = B.build(empty_scene, shot, B.BuildSettings(layout="plane", edge_cut=1.25, fill_behind=True))
    front, fill = built["objects"]
    empty_scene.frame_set(1)
    p_front, t_front = addon_scene.mesh.evaluated_positions(front)
    p_fill, t_fill = addon_scene.mesh.evaluated_positions(fill)
    assert len(t_fill) == 2 * (W - 1) * (H - 1) > len(t_front)      # the fill is not cut
    np.testing.assert_allclose(p_fill[:, 2], p_front[:, 2] * 1.02, rtol=1e-5)  # 2 % farther, same rays
