"""The numpy ray caster gives exact depth along the camera axis."""

import numpy as np
import pytest

from dreamrooms.training import synth


def test_wall_depth_is_constant_along_camera_axis():
    # camera at origin looking down +y at an infinite wall at y = 3
    scene = synth.Scene(objects=[synth.Plane(point=(0, 3, 0), normal=(0, -1, 0))],
                        lights=[synth.PointLight(position=(0, 0, 2))])
    cam = synth.Camera.look_at((0, 0, 0), (0, 1, 0), lens_mm=20)
    rgb, depth = synth.render_scene(scene, cam, 64, 48)
    assert rgb.shape == (48, 64, 3) and rgb.dtype == np.float32
    assert depth.shape == (48, 64) and depth.dtype == np.float32
    # a fronto-parallel wall has the same axis depth everywhere, not ray length
    np.testing.assert_allclose(depth, 3.0, rtol=1e-6)
    assert 0 <= rgb.min() and rgb.max() <= 1


def test_sphere_depth_matches_analytic_value():
    scene = synth.Scene(objects=[synth.Sphere(center=(0, 0, -5), radius=1.0)])
    cam = synth.Camera(np.eye(4), lens_mm=50)  # looks down -z
    _, depth, extra = synth.render_scene(scene, cam, 33, 33, extras=True)
    assert depth[16, 16] == pytest.approx(4.0, abs=1e-5)
    assert np.isinf(depth[0, 0])  # corner misses the sphere
    assert extra["object_id"][16, 16] == 0 and extra["object_id"][0, 0] == -1
    np.testing.assert_allclose(extra["normal"][16, 16], [0, 0, 1], atol=1e-5)
    # every hit point lies on the sphere surface
    pts = cam.unproject(np.where(np.isfinite(depth), depth, 0))
    hit = np.isfinite(depth)
    r = np.linalg.norm(pts[hit] - np.array([0, 0, -5]), axis=1)
    np.testing.assert_allclose(r, 1.0, atol=1e-4)


def test_unproject_project_roundtrip_and_room_bounds():
    scene = synth.random_scene(3)
    cam = scene.camera
    rgb, depth, extra = synth.render_scene(scene, cam, 80, 60, extras=True)
    assert np.isfinite(depth).all() and depth.min() > 0
    pts = cam.unproject(depth)
    np.testing.assert_allclose(pts, extra["position"], atol=1e-3)
    lo, hi = scene.objects[0].bounds()
    assert (pts >= lo - 1e-3).all() and (pts <= hi + 1e-3).all()
    uv, z = cam.project(pts, 80, 60)
    jj, ii = np.meshgrid(np.arange(80) + 0.5, np.arange(60) + 0.5)
    np.testing.assert_allclose(uv[..., 0], jj, atol=1e-3)
    np.testing.assert_allclose(uv[..., 1], ii, atol=1e-3)
    np.testing.assert_allclose(z, depth, rtol=1e-4)


def test_box_occludes_wall_and_shadows_darken():
    wall = synth.Plane(point=(0, 0, -6), normal=(0, 0, 1), texture=synth.Texture(color_a=(0.8, 0.8, 0.8)))
    box = synth.Box(center=(0, 0, -3), size=(1, 1, 1), yaw=0.3)
    light = synth.PointLight(position=(0, 0, 0), intensity=40)
    cam = synth.Camera(np.eye(4), lens_mm=30)
    scene = synth.Scene(objects=[wall, box], lights=[light], ambient=(0.02,) * 3)
    rgb, depth = synth.render_scene(scene, cam, 41, 41)
    assert depth[20, 20] == pytest.approx(2.5, abs=1e-4)  # front face of the box at z=-2.5
    assert depth[0, 0] == pytest.approx(6.0, abs=1e-4)
    # a light above the camera casts the box's shadow onto the visible wall below it
    scene2 = synth.Scene(objects=[wall, box], lights=[synth.PointLight(position=(0, 1.5, -1.0), intensity=40)],
                         ambient=(0.02,) * 3)
    rgb_s, _ = synth.render_scene(scene2, cam, 41, 41)
    scene2.shadows = False
    rgb_n, _ = synth.render_scene(scene2, cam, 41, 41)
    assert rgb_s.sum() < rgb_n.sum() - 1.0  # part of the wall is in shadow
    # the wall point on the light->box-centre line (y = -2.25 at z = -6) is dark
    uv, _ = cam.project(np.array([0.0, -2.25, -6.0]), 41, 41)
    j, i = int(uv[0]), int(uv[1])
    assert rgb_s[i, j].mean() < 0.5 * rgb_n[i, j].mean()


def test_random_scene_is_deterministic_and_varied():
    a1, d1 = synth.render_scene(synth.random_scene(7), synth.random_scene(7).camera, 48, 32)
    a2, d2 = synth.render_scene(synth.random_scene(7), synth.random_scene(7).camera, 48, 32)
    np.testing.assert_array_equal(a1, a2)
    np.testing.assert_array_equal(d1, d2)
    b, e = synth.render_scene(synth.random_scene(8), synth.random_scene(8).camera, 48, 32)
    assert not np.allclose(a1, b)
    assert a1.std() > 0.02  # textured, not flat


def test_camera_path_moves_smoothly():
    scene = synth.random_scene(1)
    cams = synth.camera_path(scene, 10, kind="dolly", distance=0.5)
    assert len(cams) == 10
    pos = np.array([c.position for c in cams])
    np.testing.assert_allclose(pos[0], scene.camera.position)
    assert np.linalg.norm(pos[-1] - pos[0]) == pytest.approx(0.5, abs=1e-6)
    steps = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    assert steps.max() < 0.2
    frames = list(synth.render_clip(scene, cams[:3], 32, 24))
    assert len(frames) == 3 and frames[0][1].shape == (24, 32)
    for kind in ("truck", "pan", "orbit"):
        assert len(synth.camera_path(scene, 4, kind=kind)) == 4
    with pytest.raises(ValueError):
        synth.camera_path(scene, 4, kind="zoomy")


def test_ssaa_keeps_centre_depth_and_sensor_fit():
    scene = synth.random_scene(2)
    _, d1 = synth.render_scene(scene, scene.camera, 40, 30)
    _, d3 = synth.render_scene(scene, scene.camera, 40, 30, ssaa=3)
    np.testing.assert_allclose(d1, d3, rtol=1e-5)
    cam = synth.Camera(np.eye(4), lens_mm=36, sensor_mm=36, sensor_fit="VERTICAL")
    assert cam.focal_px(200, 100) == pytest.approx(100)
    cam.sensor_fit = "AUTO"
    assert cam.focal_px(200, 100) == pytest.approx(200)
