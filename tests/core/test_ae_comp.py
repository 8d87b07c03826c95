"""`dreamrooms ae` (issue 15): focus as 0..1, the disparity map, depth of field from the camera, every pass,
pixel aspect in the EXR header, stale frames removed, comp.json beside shot.jsx, the new options."""
import json

import numpy as np
import OpenEXR
import pytest

from dreamrooms.ae import camera as aecam
from dreamrooms.ae import relayer as rl
from dreamrooms.shot import exr

from _ae_fixtures import ROOT, comp_json, ms, run_cli  # noqa: E402


def test_focus_is_stored_0_to_1_on_the_maps_own_scale(tmp_path):
    """Defect 1: the data holds focus as 0..1 (the library scales it by Blur Focal Distance's maxValue)."""
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=3)
    assert run_cli(shot.folder, "--depth-range", "2,8") == 0
    data = comp_json(shot.folder)
    focus = data["depth_blur"]["focus"]
    d = np.array(shot.camera.focus_distance, np.float64)       # disparity map: white = near, linear in 1/depth
    expect = np.clip((1 / d - 1 / 8.0) / (1 / 2.0 - 1 / 8.0), 0, 1)
    assert focus["values"] == pytest.approx(expect.tolist(), abs=1e-6)
    assert all(0 <= v <= 1 for v in focus["values"])


def test_disparity_map_blurs_2m_and_4m_3_to_1_with_focus_at_8m(tmp_path):
    """Defect 6: defocus grows with |1/d - 1/f|; the default map makes |v - v_f| proportional to it."""
    v = lambda d, kind: float(rl.normalise_map(np.array([d]), 1.0, 10.0, kind)[0])
    for kind, ratio in (("disparity", 3.0), ("linear", 1.5)):
        b2, b4 = abs(v(2, kind) - v(8, kind)), abs(v(4, kind) - v(8, kind))
        assert b2 / b4 == pytest.approx(ratio, rel=1e-6), kind
    # and the exported map is that function of the depth, background black
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    assert run_cli(shot.folder, "--depth-range", "2,8") == 0
    _, depth, _ = ms.frame_pixels(shot.width, shot.height, 0)
    got = exr.read_frame(shot.folder / "ae" / "map" / "walk_map.0001.exr")["RGB"][..., 0]
    expect = np.clip((1 / depth - 1 / 8) / (1 / 2 - 1 / 8), 0, 1)
    expect[0, 0] = 0
    np.testing.assert_allclose(got, expect, atol=2e-3)
    assert comp_json(shot.folder)["maps"]["kind"] == "disparity"


def test_blur_radius_from_f_stop_matches_thin_lens_defocus(tmp_path):
    """Defect 3: radius * |v - v_focus| is half the thin-lens circle of confusion in pixels, at every depth."""
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=3, w=64, h=36)
    shot.camera.fstop = 2.8
    shot.save()
    assert run_cli(shot.folder, "--depth-range", "2,8") == 0
    data = comp_json(shot.folder)
    radius = data["depth_blur"]["radius"]["values"]
    focus_v = data["depth_blur"]["focus"]["values"]
    F, N, sensor = 50.0, 2.8, 36.0
    px_per_mm = 64 / sensor
    for i, f_m in enumerate(shot.camera.focus_distance):
        for d_m in (2.5, 5.0, 7.5):
            # image distances: v = F x / (x - F); CoC = aperture * |v_d - v_f| / v_d
            vf, vd = F * f_m * 1000 / (f_m * 1000 - F), F * d_m * 1000 / (d_m * 1000 - F)
            coc_px = (F / N) * abs(vd - vf) / vd * px_per_mm
            v_d = float(rl.normalise_map(np.array([d_m]), 2.0, 8.0, "disparity")[0])
            assert radius[i] * abs(v_d - focus_v[i]) == pytest.approx(coc_px / 2, rel=1e-3)
    # the camera exports its depth of field: aperture = zoom / f-number, in pixels
    assert data["camera"]["aperture"]["values"][0] == pytest.approx(50 * 64 / 36 / 2.8, rel=1e-6)


def test_a_blender_render_with_dof_keeps_blenders_and_skips_lens_blur(tmp_path):
    """Defect 3: one place for depth of field; --dof ae overrides."""
    shot = ms.make_blender_shot(tmp_path / "s", "room", fstop=2.8)
    assert run_cli(shot.folder) == 0
    data = comp_json(shot.folder)
    assert data["options"]["depth_blur"] is False
    assert data["depth_blur"] is not None and data["camera"]["aperture"] is not None
    assert run_cli(shot.folder, "--dof", "ae") == 0
    assert comp_json(shot.folder)["options"]["depth_blur"] is True
    # a sharp Blender render of a camera with keyed focus (room's default, no --dof): AE's lens blur does the focus
    sharp = ms.make_blender_shot(tmp_path / "sharp", "room", fstop=2.8)
    sharp.camera.dof_in_render = False
    sharp.save()
    assert run_cli(sharp.folder) == 0
    data = comp_json(sharp.folder)
    assert data["options"]["depth_blur"] is True and data["depth_blur"]["radius"]["values"][0] > 0
    sharp.camera.dof_in_render = True
    sharp.save()
    assert run_cli(sharp.folder) == 0 and comp_json(sharp.folder)["options"]["depth_blur"] is False
    # without an f-stop the radius scales with the width (15 px per 1920)
    plain = ms.make_layers_shot(tmp_path / "p", "walk", frames=2, w=64, h=36)
    assert run_cli(plain.folder) == 0
    assert comp_json(plain.folder)["depth_blur"]["radius"]["values"] == [pytest.approx(15 * 64 / 1920)]


def test_every_pass_is_exported_as_its_own_sequence(tmp_path):
    """Mist, Normal, Vector, IndexOB, Cryptomatte (any pass) under ae/passes/, float RGB(A), listed as role 'pass'."""
    shot = ms.make_blender_shot(tmp_path / "s", "room", passes=True)
    assert run_cli(shot.folder, "--depth-range", "2,8") == 0
    ae = shot.folder / "ae"
    passes = {f["id"]: f for f in comp_json(shot.folder)["footage"] if f["role"] == "pass"}
    assert sorted(passes) == ["pass:cryptoobject", "pass:indexob", "pass:mist", "pass:normal", "pass:vector"]
    mist = exr.read_frame(ae / "passes" / "mist" / "room_mist.0002.exr")
    assert set(mist) == {"RGB"}
    want = ms.pass_pixels(shot.width, shot.height, 1)
    np.testing.assert_allclose(mist["RGB"][..., 1], want["Mist"], atol=1e-6)
    vec = exr.read_frame(ae / "passes" / "vector" / "room_vector.0001.exr")["RGBA"]
    np.testing.assert_allclose(vec, ms.pass_pixels(shot.width, shot.height, 0)["Vector"], atol=1e-6)
    assert {c.type for c in exr.info(ae / "passes" / "normal" / "room_normal.0001.exr").channels} == {"float"}
    crypto = exr.read_frame(ae / "passes" / "cryptoobject" / "room_cryptoobject.0001.exr")
    for key in ("RGBA", "ViewLayer.CryptoObject00.RGBA"):   # a viewable layer, and the rank under its own name
        np.testing.assert_array_equal(crypto[key], ms.pass_pixels(shot.width, shot.height, 0)["CryptoObject00"])
    index = exr.read_frame(ae / "passes" / "indexob" / "room_indexob.0001.exr")["RGB"][..., 0]
    np.testing.assert_array_equal(index, ms.pass_pixels(shot.width, shot.height, 0)["IndexOB"])
    assert run_cli(shot.folder, "--no-passes") == 0
    assert not [f for f in comp_json(shot.folder)["footage"] if f["role"] == "pass"]


def test_pixel_aspect_is_in_every_exr_header(tmp_path):
    """Defect 7: non-square pixels reach AE through the files and the comp description."""
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    shot.pixel_aspect = 2.0
    shot.save()
    assert run_cli(shot.folder) == 0
    files = sorted((shot.folder / "ae").rglob("*.exr"))
    assert len(files) >= 6
    for f in files:
        assert OpenEXR.File(str(f), header_only=True).header()["pixelAspectRatio"] == pytest.approx(2.0), f
    assert comp_json(shot.folder)["comp"]["pixel_aspect"] == 2.0


def test_a_shorter_reexport_removes_stale_frames(tmp_path):
    """Defect 8: frames outside the range of the last export are gone, so AE imports the shot's range."""
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=5)
    assert run_cli(shot.folder) == 0
    shot.frame_end = shot.frame_start + 2
    shot.camera.matrices = shot.camera.matrices[:3]
    shot.camera.focus_distance = shot.camera.focus_distance[:3]
    shot.save()
    assert run_cli(shot.folder) == 0
    for folder in ("beauty", "map", "mask_mask"):
        names = sorted(p.name for p in (shot.folder / "ae" / folder).glob("*.exr"))
        assert [n.split(".")[-2] for n in names] == ["0001", "0002", "0003"], (folder, names)


def test_comp_json_beside_shot_jsx_and_defaults(tmp_path):
    """Defects 9/10: the panel's data (comp.json = the shot.jsx literal); AE 17 by default; options kept."""
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    assert run_cli(shot.folder, "--no-camera", "--grain", "--fog", "--working-space", "keep", "--no-linear32") == 0
    ae = shot.folder / "ae"
    data = comp_json(shot.folder)
    text = (ae / "shot.jsx").read_text(encoding="ascii")
    assert json.loads(text[text.index("dreamrooms.run(") + 15:text.rindex(", $.fileName);")]) == data
    assert data["version"] == 2 and data["min_ae_version"] == 17.0
    assert data["options"] == {"linear32": False, "camera": False, "depth_blur": True, "displacement": True,
                               "grain": True, "dust": False, "fog": True, "passes": True, "render_queue": False,
                               "update": False}
    assert data["colour"]["working_spaces"] == []
    for name in ("dreamrooms.jsxinc", "dreamrooms_dom.jsxinc"):
        assert (ae / name).read_bytes() == (ROOT / "ae_scripts" / name).read_bytes()
    assert not (ae / "dreamrooms.jsx").exists()


def test_scene_description_gives_one_null_per_room_or_plane(tmp_path):
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    m = np.eye(4)
    m[:3, 3] = [1.0, 3.0, 0.5]
    shot.provenance.extra["scene"] = [{"name": "room 1", "matrix": m.tolist()}, {"name": "plane 1", "matrix": np.eye(4).tolist()}]
    shot.save()
    assert run_cli(shot.folder) == 0
    nulls = comp_json(shot.folder)["nulls"]
    assert [n["name"] for n in nulls] == ["room 1", "plane 1"]
    # AE x = x, y = -z, z = y, in comp pixels (ppu 100) around the comp centre; an unrotated object is [-90, 0, 0]
    # (issue 26 defect 6: Blender's exporter, x_rot_correction=True for nulls: "In Blender, object of zero rotation
    # lays on floor. In AE, layer of zero orientation stands")
    assert nulls[0]["position"] == pytest.approx([shot.width / 2 + 100, shot.height / 2 - 50, 300])
    assert nulls[0]["orientation"] == pytest.approx([-90, 0, 0], abs=1e-9)


def _ae_rotation(o):
    """The AE rotation of orientation `o` (degrees), as the validated camera formula defines it: a Blender
    camera R = Rx(rx) Ry(ry) Rz(rz) has o = [rx - 90, -ry, -rz] and AE rotation P R Rx(-90) P^T."""
    p = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # Blender -> AE axes (x, -z, y)
    rx, ry, rz = np.radians([o[0] + 90, -o[1], -o[2]])
    return p @ aecam.rotation_zyx(rx, ry, rz) @ aecam.rotation_zyx(-np.pi / 2, 0, 0) @ p.T


def test_null_orientation_turns_like_the_blender_object():
    """Issue 26 defect 6: a layer parented to a null lies in the Blender object's XY plane (a plane object's face),
    as Blender's exporter does it: the layer's AE x axis is the object's X, its up (AE -y) the object's Y, its
    normal (AE z, into the screen) the object's -Z.  (The camera formula for nulls, x_rot_correction=True.)"""
    p = np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])
    rng = np.random.default_rng(15)
    for _ in range(200):
        r = aecam.rotation_zyx(*rng.uniform(-np.pi, np.pi, 3))
        layer_in_blender = p.T @ _ae_rotation(aecam.object_orientation(r)) @ p   # the layer's axes, in Blender terms
        np.testing.assert_allclose(layer_in_blender @ p.T @ [1, 0, 0], r @ [1, 0, 0], atol=1e-9)
        np.testing.assert_allclose(layer_in_blender @ p.T @ [0, -1, 0], r @ [0, 1, 0], atol=1e-9)
        np.testing.assert_allclose(layer_in_blender @ p.T @ [0, 0, 1], r @ [0, 0, -1], atol=1e-9)


@pytest.mark.parametrize("args, words", [
    (["--blur-radius", "600"], "--blur-radius 600"),
    (["--displace", "500"], "--displace 500"),
    (["--fstop", "0"], "--fstop 0"),
])
def test_bad_settings_fail_before_anything_is_written(tmp_path, capsys, args, words):
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    assert run_cli(shot.folder, *args) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and words in err[0]
    assert not (shot.folder / "ae").exists()


def test_disparity_needs_a_positive_near(tmp_path, capsys):
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    assert run_cli(shot.folder, "--depth-range", "0,8") == 1
    assert "NEAR > 0" in capsys.readouterr().err
    assert not (shot.folder / "ae").exists()
    assert run_cli(shot.folder, "--depth-range", "0,8", "--blur-map", "linear") == 0
