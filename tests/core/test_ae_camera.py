"""Blender -> After Effects camera math, against values worked out by hand."""
import math

import numpy as np
import pytest

from dreamrooms.ae import camera as c
from dreamrooms.errors import DreamroomsError


def world(rot3=np.eye(3), loc=(0, 0, 0)):
    m = np.eye(4)
    m[:3, :3] = rot3
    m[:3, 3] = loc
    return m


def rx(deg):
    a = math.radians(deg)
    return np.array([[1, 0, 0], [0, math.cos(a), -math.sin(a)], [0, math.sin(a), math.cos(a)]])


def rz(deg):
    a = math.radians(deg)
    return np.array([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1]])


def test_camera_looking_down_minus_z_50mm_36mm_1920():
    m = world()
    assert c.zoom(50, 36, "AUTO", 1920, 1080) == pytest.approx(2666.6667, abs=1e-3)
    assert c.zoom(50, 36, "HORIZONTAL", 1920, 1080) == pytest.approx(2666.6667, abs=1e-3)
    np.testing.assert_allclose(c.orientation(m), [-90, 0, 0], atol=1e-9)
    np.testing.assert_allclose(c.position(m, 1920, 1080), [960, 540, 0])


def test_sensor_fit_vertical_and_auto_portrait_and_pixel_aspect():
    assert c.zoom(35, 24, "VERTICAL", 1920, 1080) == pytest.approx(35 * 1080 / 24)  # 1575
    assert c.zoom(50, 36, "AUTO", 1080, 1920) == pytest.approx(2666.6667, abs=1e-3)  # portrait: height is larger
    # anamorphic 2:1 pixels, 960 wide: the image is 1920 square pixels wide
    assert c.zoom(50, 36, "HORIZONTAL", 960, 1080, pixel_aspect=2.0) == pytest.approx(2666.6667, abs=1e-3)
    np.testing.assert_allclose(c.position(world(loc=(1, 0, 0)), 960, 1080, pixel_aspect=2.0), [480 + 50, 540, 0])
    with pytest.raises(DreamroomsError):
        c.zoom(50, 36, "DIAGONAL", 10, 10)


def test_camera_looking_along_plus_y_is_ae_default_orientation_and_axes_map():
    m = world(rx(90), (1, -5, 2))
    np.testing.assert_allclose(c.orientation(m), [0, 0, 0], atol=1e-9)
    # AE x = Bx, AE y = -Bz, AE z = By, times 100, plus the comp centre
    np.testing.assert_allclose(c.position(m, 1920, 1080), [960 + 100, 540 - 200, -500])


def test_origin_is_the_comp_centre_at_any_pixels_per_unit():
    for ppu in (1.0, 37.0, 100.0, 250.0):
        np.testing.assert_allclose(c.position(world(), 1920, 1080, ppu=ppu), [960, 540, 0])
        np.testing.assert_allclose(c.position(world(loc=(2, 3, 1)), 1920, 1080, ppu=ppu),
                                   [960 + 2 * ppu, 540 - ppu, 3 * ppu])


def test_orientation_from_zyx_euler_by_hand():
    # R = Rx(80) Ry(10) Rz(-30): to_euler('ZYX') = (80, 10, -30) -> AE [80-90, -10, 30]
    ry10 = np.array([[math.cos(math.radians(10)), 0, math.sin(math.radians(10))], [0, 1, 0],
                     [-math.sin(math.radians(10)), 0, math.cos(math.radians(10))]])
    m = world(rx(80) @ ry10 @ rz(-30))
    np.testing.assert_allclose(np.degrees(c.euler_zyx(m)), [80, 10, -30], atol=1e-9)
    np.testing.assert_allclose(c.orientation(m), [-10, -10, 30], atol=1e-9)
    # a +Y-looking camera panned 30 deg to the left (Blender rotation XYZ (90, 0, 30)):
    # R = Rz(30) Rx(90) = [[.866, 0, .5], [.5, 0, -.866], [0, 1, 0]] -> ZYX (90, 30, 0) -> AE [0, -30, 0]
    np.testing.assert_allclose(c.orientation(world(rz(30) @ rx(90))), [0, -30, 0], atol=1e-9)


def test_scale_is_ignored_and_gimbal_lock_round_trips():
    m = world(rx(80) @ rz(20) @ np.diag([2.0, 0.5, 3.0]))
    np.testing.assert_allclose(c.orientation(m), c.orientation(world(rx(80) @ rz(20))), atol=1e-9)
    for y in (90.0, -90.0):
        r = c.rotation_zyx(math.radians(20), math.radians(y), math.radians(35))
        e = c.euler_zyx(r)
        np.testing.assert_allclose(c.rotation_zyx(*e), r, atol=1e-6)


def test_euler_matches_blender_mathutils():
    pytest.importorskip("bpy")
    import mathutils

    rng = np.random.default_rng(1)
    for _ in range(300):
        ang = rng.uniform(-math.pi, math.pi, 3)
        r = np.array(mathutils.Euler(ang.tolist(), "XYZ").to_matrix())
        ref = np.array(mathutils.Matrix(r.tolist()).to_euler("ZYX"))
        np.testing.assert_allclose(c.euler_zyx(r), ref, atol=1e-5)


def test_sparse_keys_only_where_values_change_and_exact_under_linear_interpolation():
    times = [i / 24 for i in range(7)]
    vals = [0, 0, 0, 5, 5, 7, 7]
    kt, kv = c.sparse_keys(times, vals)
    assert kt == pytest.approx([0, 2 / 24, 3 / 24, 4 / 24, 5 / 24, 6 / 24])
    assert kv == [0, 0, 5, 5, 7, 7]
    np.testing.assert_allclose(np.interp(times, kt, kv), vals)
    assert c.sparse_keys(times, [[1, 2, 3]] * 7) == ([0.0], [[1.0, 2.0, 3.0]])


def test_convert_track_unwraps_orientation_and_keys_the_camera():
    mats = [world(rz(170 + 5 * i) @ rx(90), (0.1 * i, 0, 0)) for i in range(5)]  # crosses +-180
    t = c.convert_track(mats, 50, 36, "AUTO", 1920, 1080, focus_distance=[2, 2, 2, 2, 2])
    assert np.all(np.abs(np.diff(t.orientations[:, 1])) < 10)
    np.testing.assert_allclose(t.orientations[:, 1], [-(170 + 5 * i) for i in range(5)], atol=1e-6)
    np.testing.assert_allclose(t.positions[:, 0], [960 + 10 * i for i in range(5)])
    np.testing.assert_allclose(t.focus, [200] * 5)
    with pytest.raises(DreamroomsError):
        c.convert_track(mats, 50, 36, "AUTO", 1920, 1080, ppu=0)
