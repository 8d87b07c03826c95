"""The first hour with real material, as a newcomer follows the README: a folder of photos of different sizes
through depth (stills, then one shot per photo) -> mask (their own ISNet export) -> layers -> room (a camera move
over one held photo, rendered; then again with other settings) -> ae -> preview. The photos are generated
(tests/core/_photos.py); ISNet is a fixture of the export's exact signature; Blender is the real bpy module."""
from __future__ import annotations

import cv2
import numpy as np

from dreamrooms.shot import Shot, exr

import _matte_exports as M  # noqa: E402
from _photos import PHOTOS, photos, vouch  # noqa: E402


def corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a.ravel() - a.mean(), b.ravel() - b.mean()
    return float((a * b).sum() / max(1e-12, np.sqrt((a * a).sum() * (b * b).sum())))


def test_newcomer_photos_to_after_effects(tmp_path, mdir, run_cli):
    folder, stills = photos(tmp_path / "photos"), tmp_path / "stills"
    code, out, err = run_cli("depth", folder, "--out", stills, "--fit", "64x48")
    assert code == 0, err
    assert "dreamrooms models fetch depth-anything-v2-small" in out and "3 independent stills" in out
    vouch(mdir, "isnet", M.isnet)
    code, out, err = run_cli("mask", stills, "--out", stills, "--model", "isnet")
    assert code == 0, err
    shot = Shot.load(stills)
    assert shot.cuts == [2, 3] and shot.is_stills and shot.frame_count == len(PHOTOS)
    mattes = [exr.read_frame(shot.frame_path("mask_subject", n), ["Y"])["Y"] for n in shot.frames]
    for k, n in enumerate(shot.frames):
        rgba = exr.read_frame(shot.frame_path("layers", n), ["RGBA"])["RGBA"]
        subject = (rgba[..., :3].mean(axis=2) > 0.3).astype(np.float32)     # the bright subject, linear
        m = mattes[k]
        assert 0 <= m.min() and m.max() <= 1 and m[subject > 0].mean() > 0.8 and m[subject == 0].mean() < 0.2
        if k:   # no temporal leak: each photo's matte follows its own picture, not the photo before it
            assert corr(m, subject) > 0.9 and corr(m, mattes[k - 1]) < corr(m, subject)

    # the usual start of a 3D-photo move: one shot per photo, then a camera move over one of them
    assert run_cli("depth", folder, "--out", tmp_path / "split", "--split")[0] == 0
    photo = tmp_path / "split" / "cameraman"
    for stage in (("mask", photo, "--out", photo, "--model", "isnet"), ("layers", photo, "--count", "2")):
        code, out, err = run_cli(*stage)
        assert code == 0, err
    room = ["room", photo, "--layout", "plane", "--grid", "16", "--move", "truck", "--samples", "1",
            "--render", "--frames", "1-3", "--no-focus"]
    code, out, err = run_cli(*room, "--intensity", "0.05")
    assert code == 0, err
    assert "initialization failed" not in out                  # Blender's GPU probe stays out of the terminal
    render = photo / "render" / "render.0003.exr"              # where the move has arrived
    first = exr.read_frame(render)
    key = next(k for k in first if k.endswith("Combined.RGBA"))
    assert first[key][..., :3].max() > 0.3                     # the photo is on the plane
    code, out, err = run_cli(*room, "--intensity", "0.6")      # other settings: the frame is rendered again
    assert code == 0, err
    again = exr.read_frame(render)[key]
    assert np.abs(again - first[key]).max() > 0.05 and (photo / "room.blend").is_file()
    code, out, err = run_cli("ae", photo)
    assert code == 0, err
    code, out, err = run_cli("preview", photo, "--columns", "3", "--width", "64")
    assert code == 0, err
    sheet = cv2.imread(str(photo / "preview" / "contact_sheet.png"))
    assert sheet is not None and sheet.shape[1] >= 3 * 64 and (photo / "preview" / "render.mp4").stat().st_size
    shot = Shot.load(photo)
    assert shot.frame_count == 3                                # the photo held over the move
    stages = [c.split()[1] for c in shot.provenance.commands]
    # every stage that writes the shot records itself (ae only reads it: its output is ae/shot.jsx)
    assert [s for s in ("depth", "mask", "layers", "room") if s not in stages] == []
    assert (photo / "ae" / "shot.jsx").is_file()
    models = {m["name"]: m for m in shot.provenance.models}
    assert len(models["isnet"]["sha256"]) == 64 and models["isnet"]["stage"] == "mask" and "tinydepth" in models
    assert shot.provenance.extra["room"]["intensity"] == 0.6
