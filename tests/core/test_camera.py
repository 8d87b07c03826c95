"""Camera math without Blender: intrinsics, unprojection, grids, edge cut, move presets."""
import math

import numpy as np
import pytest

from dreamrooms import camera as cm
from dreamrooms.training import synth
from dreamrooms.errors import DreamroomsError


def test_intrinsics_follow_blender_sensor_fit():
    # 50 mm on a 36 mm sensor, 1920 wide: f = 50/36*1920 px, fov_x = 2 atan(18/50)
    K = cm.intrinsics(50, 36, 1920, 1080)
    assert K.fx == pytest.approx(50 / 36 * 1920)
    assert K.fov_x == pytest.approx(2 * math.atan(18 / 50))
    # portrait AUTO fits the sensor to the height
    Kp = cm.intrinsics(50, 36, 1080, 1920)
    assert Kp.fov_y == pytest.approx(2 * math.atan(18 / 50))
    # VERTICAL on landscape: the sensor spans the height
    Kv = cm.intrinsics(50, 36, 1920, 1080, "VERTICAL")
    assert Kv.fy == pytest.approx(50 / 36 * 1080)
    with pytest.raises(DreamroomsError, match="sensor fit"):
        cm.intrinsics(50, 36, 10, 10, "DIAGONAL")


def test_unprojection_matches_the_synth_ray_caster():
    scene = synth.random_scene(3)
    cam = scene.camera
    w, h = 48, 32
    _, depth = synth.render_scene(scene, cam, w, h)
    K = cm.intrinsics(cam.lens_mm, cam.sensor_mm, w, h, cam.sensor_fit)
    pts = cm.unproject_world(depth, K, cam.matrix_world)
    np.testing.assert_allclose(pts, cam.unproject(depth), atol=1e-5)
    # and projecting back lands on the pixel centres with the same depth
    local = cm.to_world(pts, np.linalg.inv(cam.matrix_world))
    px, z = cm.project(K, local)
    jj, ii = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    np.testing.assert_allclose(px[..., 0], jj, atol=1e-4)
    np.testing.assert_allclose(px[..., 1], ii, atol=1e-4)
    np.testing.assert_allclose(z, depth, rtol=1e-5)


def test_grid_on_pixel_centres_samples_exact_depth_and_fill_frame_reaches_edges():
    depth = np.arange(12, dtype=np.float32).reshape(3, 4) + 1
    u, v = cm.grid_uv(4, 3, fill_frame=False)
    np.testing.assert_array_equal(cm.sample_grid(depth, u, v), depth)
    u, v = cm.grid_uv(4, 3, fill_frame=True)
    assert (u[0], u[-1], v[0], v[-1]) == (0, 1, 0, 1)
    np.testing.assert_allclose(cm.sample_grid(depth, u, v), depth)  # edge pixels are clamped
    # half-way between two pixel centres is their mean
    assert cm.sample_bilinear(depth, np.array(0.25), np.array(0.5)) == pytest.approx((5 + 6) / 2)


def test_edge_cut_removes_only_triangles_across_a_discontinuity():
    depth = np.full((4, 6), 2.0, np.float32)
    depth[:, 3:] = 8.0  # a step between columns 2 and 3
    tris = cm.grid_triangles(6, 4)
    assert len(tris) == 2 * 5 * 3
    keep = cm.edge_cut_mask(depth, tris, threshold=1.5)
    d = depth.ravel()[tris]
    spans = (d.min(1) == 2) & (d.max(1) == 8)
    np.testing.assert_array_equal(keep, ~spans)
    assert spans.sum() == 6  # one column of cells, two triangles each
    assert cm.edge_cut_mask(depth, tris, threshold=0).all()


def test_triangles_face_the_camera():
    K = cm.intrinsics(35, 36, 8, 6)
    u, v = cm.grid_uv(8, 6)
    pts = (cm.rays_uv(K, u[None, :], v[:, None]) * 3.0).reshape(-1, 3)
    tris = cm.grid_triangles(8, 6)
    n = np.cross(pts[tris[:, 1]] - pts[tris[:, 0]], pts[tris[:, 2]] - pts[tris[:, 0]])
    assert (n[:, 2] > 0).all()  # +z points back at the camera


@pytest.mark.parametrize("kind", ["dolly_in", "dolly_out", "truck", "pan", "orbit", "crane", "walk_past", "handheld", "static"])
def test_moves_start_at_the_start_matrix_and_stay_rigid(kind):
    start = cm.look_at((1, -4, 1.5), (0, 0, 1.2))
    ms = cm.camera_move(kind, 24, start, intensity=1.0, seed=2)
    assert len(ms) == 24
    if kind != "handheld":
        np.testing.assert_allclose(ms[0], start, atol=1e-9)
    for m in ms:
        r = m[:3, :3]
        np.testing.assert_allclose(r.T @ r, np.eye(3), atol=1e-9)
        assert np.linalg.det(r) == pytest.approx(1.0)


def test_move_amounts_duration_and_easing():
    start = cm.look_at((0, 0, 1), (0, 5, 1))  # looking down +y
    ms = cm.camera_move("dolly_in", 10, start, intensity=2.0, easing="linear")
    np.testing.assert_allclose(ms[-1][:3, 3], [0, 2, 1], atol=1e-9)
    np.testing.assert_allclose(ms[5][:3, 3], [0, 2 * 5 / 9, 1], atol=1e-9)
    held = cm.camera_move("truck", 10, start, intensity=1.0, duration=5)
    np.testing.assert_allclose(held[4], held[9])
    np.testing.assert_allclose(held[4][:3, 3], [1, 0, 1], atol=1e-9)  # right of a +y view is +x
    pan = cm.camera_move("pan", 5, start, intensity=1.0)
    fwd = -pan[-1][:3, 2]
    assert math.degrees(math.atan2(fwd[0], fwd[1])) == pytest.approx(-30.0)
    orbit = cm.camera_move("orbit", 5, start, intensity=1.0, pivot_distance=3.0)
    pivot = np.array([0, 3, 1])
    assert np.linalg.norm(orbit[-1][:3, 3] - pivot) == pytest.approx(3.0)
    assert cm.focus_from_points(pivot, orbit[-1]) == pytest.approx(3.0)  # still looks at it
    crane = cm.camera_move("crane", 5, start, intensity=1.0)
    assert crane[-1][2, 3] == pytest.approx(2.0)
    assert cm.focus_from_points(pivot, crane[-1]) == pytest.approx(math.hypot(3, 1))
    walk = cm.camera_move("walk_past", 25, start, axis=(1, 0, 0), length=6.0)
    assert walk[-1][0, 3] == pytest.approx(6.0)
    with pytest.raises(DreamroomsError, match="camera move"):
        cm.camera_move("zoom-dance", 5)


def test_handheld_shake_is_seeded_small_and_smooth():
    start = cm.look_at((0, 0, 1), (0, 5, 1))
    a = cm.camera_move("handheld", 48, start, intensity=1.0, seed=7)
    b = cm.camera_move("handheld", 48, start, intensity=1.0, seed=7)
    c = cm.camera_move("handheld", 48, start, intensity=1.0, seed=8)
    np.testing.assert_array_equal(np.stack(a), np.stack(b))
    assert not np.allclose(np.stack(a), np.stack(c))
    offs = np.stack([m[:3, 3] for m in a]) - start[:3, 3]
    assert 0.001 < np.abs(offs).max() < 0.03
    assert np.abs(np.diff(offs, axis=0)).max() < 0.01  # no jumps frame to frame


def test_focus_distance_reads_the_centre_and_ignores_holes():
    d = np.full((9, 9), 5.0, np.float32)
    d[4, 4] = np.inf
    d[4, 3] = 2.0
    assert cm.focus_distance(d) == pytest.approx(5.0)
    assert cm.focus_distance(d, (3.5 / 9, 4.5 / 9), window=0) == pytest.approx(2.0)
    with pytest.raises(DreamroomsError, match="no finite depth"):
        cm.focus_distance(np.full((3, 3), np.inf, np.float32))
