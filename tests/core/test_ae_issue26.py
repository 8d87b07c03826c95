"""Issue 26 on the Python side of the AE export: mattes from `dreamrooms mask` (also over a rendered beauty) and the
reveal matte reach the comp description as mattes, Cryptomatte keeps its header, no spaces in names, the fps cap of
AE's addComp, the zoom convention, shot metadata markers, and the new options."""
import numpy as np
import OpenEXR
import pytest

from dreamrooms import limits
from dreamrooms.ae import camera as aecam
from dreamrooms.camera.geometry import intrinsics
from dreamrooms.commands.main import main
from dreamrooms.shot import Shot, exr, frame_file

from _ae_fixtures import comp_json, ms, run_cli  # noqa: E402


def _mask(folder):
    assert main(["--progress", "none", "mask", str(folder), "--out", str(folder), "--from-depth"]) == 0


@pytest.fixture(scope="module")
def masked(tmp_path_factory):
    """A layered shot with a `dreamrooms mask --from-depth` matte, a Blender render beside it and a reveal matte."""
    folder = tmp_path_factory.mktemp("m") / "masked shot"
    ms.make_layers_shot(folder, "masked walk", frames=2, w=40, h=24)
    _mask(folder)
    return folder


def _matte_ids(folder):
    return {f["id"]: f for f in comp_json(folder)["footage"] if f["role"] in ("mask", "reveal")}


def test_dreamrooms_mask_mattes_are_exported_as_mattes_not_passes(masked):
    assert run_cli(masked) == 0
    data = comp_json(masked)
    mattes = _matte_ids(masked)
    assert "mask:foreground" in mattes
    assert not [f for f in data["footage"] if f["role"] == "pass" and "mask" in f["id"]]
    shot = Shot.load(masked)
    for i, f in enumerate(shot.frames):
        want = exr.read_frame(shot.frame_path("mask_foreground", f))["Y"]
        got = exr.read_frame(masked / "ae" / frame_file("mask_foreground/masked_walk_foreground.####.exr", f))
        assert set(got) == {"A"}
        np.testing.assert_allclose(got["A"], want, atol=1e-3)   # half


def test_mattes_reach_the_comp_over_a_rendered_beauty_with_the_reveal_matte(masked, tmp_path):
    import shutil
    folder = tmp_path / "rendered"
    shutil.copytree(masked, folder)
    shot = ms.add_reveal(ms.add_render(Shot.load(folder)))
    assert run_cli(folder) == 0
    mattes = _matte_ids(folder)
    assert set(mattes) == {"mask:foreground", "reveal"}
    assert mattes["reveal"]["path"] == ["reveal", "masked_walk_reveal.0001.exr"]
    beauty = exr.read_frame(folder / "ae" / "beauty" / "masked_walk.0001.exr")
    rgba, _, _ = ms.frame_pixels(shot.width, shot.height, 0)
    np.testing.assert_allclose(beauty["RGBA"], rgba * 0.5, atol=2e-3)   # the render is the beauty
    reveal = exr.read_frame(folder / "ae" / "reveal" / "masked_walk_reveal.0002.exr")["A"]
    np.testing.assert_array_equal(reveal, exr.read_frame(shot.frame_path("reveal", 2))["Y"])
    assert comp_json(folder)["maps"] is not None, "the reveal matte is never the depth"


def test_cryptomatte_keeps_its_header_and_ranks_and_names_have_no_spaces(tmp_path):
    shot = ms.make_blender_shot(tmp_path / "s", "room walk", frames=2, passes=True)
    assert run_cli(shot.folder, "--depth-range", "2,8") == 0
    ae = shot.folder / "ae"
    path = ae / "passes" / "cryptoobject" / "room_walk_cryptoobject.0001.exr"
    header = OpenEXR.File(str(path), header_only=True).header()
    for k, v in ms.CRYPTO_HEADER.items():
        assert header[k] == v, k
    assert {c.name for c in exr.info(path).channels} >= {f"ViewLayer.CryptoObject00.{c}" for c in "RGBA"}
    assert {c.type for c in exr.info(path).channels} == {"float"}
    for f in ae.rglob("*"):
        assert " " not in f.relative_to(ae).as_posix(), f


def test_fps_beyond_what_addcomp_takes_is_refused_by_the_ae_export_only(tmp_path, capsys):
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    shot.fps = 120.0
    shot.save()
    assert run_cli(shot.folder) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "fps 120" in err[0] and "1..99" in err[0]
    assert not (shot.folder / "ae").exists()
    assert limits.MAX_FPS > 99, "the cap is the AE export's, not every stage's"


@pytest.mark.parametrize("fit, w, h, aspect", [("HORIZONTAL", 1920, 1080, 1.0), ("VERTICAL", 1920, 1080, 2.0),
                                               ("AUTO", 1080, 1920, 2.0), ("AUTO", 720, 1280, 0.5), ("VERTICAL", 64, 36, 1.5)])
def test_zoom_is_the_focal_length_in_square_pixels_for_every_fit(fit, w, h, aspect):
    """Defect 8 (zoom) examined: AE zoom is the camera's fy (Blender's viewplane maps the sensor height onto the
    image height for a vertical fit), so the pixel aspect enters a horizontal fit only; multiplying a vertical
    fit by the aspect, as Blender's exporter's convert_lens does, would change the field of view."""
    assert aecam.zoom(35.0, 24.0, fit, w, h, aspect) == pytest.approx(intrinsics(35.0, 24.0, w, h, fit, aspect).fy)


def test_shot_metadata_marker_and_new_options(tmp_path, capsys):
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=3, frame_start=1001)
    shot.camera.fstop = 2.8
    shot.provenance.add_model("depth-anything-v2-small")
    shot.save()
    assert run_cli(shot.folder, "--update", "--render-queue") == 0
    data = comp_json(shot.folder)
    (marker,) = data["markers"]
    assert marker["time"] == 0.0
    for words in ("frames 1001-1003 at 24 fps", "lens 50 mm", "f/2.8", "depth-anything-v2-small"):
        assert words in marker["comment"], words
    assert data["options"]["update"] is True and data["options"]["render_queue"] is True
    assert data["render"]["path"] == ["render", "walk_[####].exr"]
    assert data["ocio"]["raw"][0] == "Raw"
    with pytest.raises(SystemExit):
        main(["ae", "--help"])
    dust_help = " ".join(capsys.readouterr().out.split("\n  --dust")[1].split("\n  --")[0].split())
    assert "Add" in dust_help and "Screen" not in dust_help, dust_help


def test_exporter_contract_is_neutral_and_the_ae_export_is_its_first_entry(masked, tmp_path):
    """Issue 22's exporter contract: neutral sources, one registry line per exporter, no host name below it."""
    from pathlib import Path

    import dreamrooms.export as export_pkg
    from dreamrooms.ae import comp
    from dreamrooms.export.contract import gather
    from dreamrooms.export.registry import EXPORTERS, export_function
    assert export_function("ae") is comp.export_job and EXPORTERS["ae"].folder == "ae"
    shot = Shot.load(masked)
    job = gather(shot, tmp_path / "out")
    assert job.sources.masks["foreground"] == ("mask_foreground", "Y")
    assert job.camera is shot.camera and job.fps == shot.fps and job.frames == shot.frames
    near, far = job.depth_range
    assert 0 < near < far
    assert not (tmp_path / "out").exists(), "gathering writes nothing"
    import ast
    for f in Path(export_pkg.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = [node.module or ""] if isinstance(node, ast.ImportFrom) else \
                [a.name for a in node.names] if isinstance(node, ast.Import) else []
            assert not [n for n in names if n.startswith("dreamrooms.ae")], f"{f.name} imports an exporter"
