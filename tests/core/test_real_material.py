"""A user's own material: folders of photos (stills, cuts, --fit), the depth model chosen when none is named,
and their own matte model (`models add --kind mask`, a plain path, the ISNet entry on a fixture of its export's
exact signature). Everything runs through real ONNX Runtime on small files built here; nothing downloads."""
from __future__ import annotations

import copy
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from dreamrooms.models import MANIFEST_NAME, dumps_manifest, registry, resolve, sha256_file
from dreamrooms.shot import Shot, exr
from dreamrooms.shot.segments import image_cut, segment_starts, starts_segment
from dreamrooms.shot.sources import SourceError, open_source

sys.path.insert(0, str(Path(__file__).parent))
import _matte_exports as M  # noqa: E402


def photo(w: int, h: int, seed: int, cx: float, cy: float) -> np.ndarray:
    """A photo-like sRGB 0..1 picture: a dark textured, tinted background and one bright subject at (cx, cy)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    tint = rng.uniform(0.05, 0.35, 3).astype(np.float32)
    img = tint[None, None] * (0.6 + 0.4 * yy[..., None] / h) + rng.normal(0, 0.03, (h, w, 3)).astype(np.float32)
    r = ((xx - cx * w) / (0.18 * w)) ** 2 + ((yy - cy * h) / (0.3 * h)) ** 2
    subject = (r < 1.0)[..., None]
    colour = rng.uniform(0.75, 0.95, 3).astype(np.float32)
    return np.clip(np.where(subject, colour, img), 0, 1)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), (rgb * 255 + 0.5).astype(np.uint8)[..., ::-1])
    return path


PHOTOS = (("astronaut.png", 80, 60, 1, 0.3, 0.5), ("cameraman.png", 64, 64, 2, 0.7, 0.5),
          ("coffee.png", 96, 54, 3, 0.5, 0.6))


def photos(folder: Path) -> Path:
    """Three differently named photos of different sizes (the subjects sit in different places)."""
    for name, w, h, seed, cx, cy in PHOTOS:
        write_png(folder / name, photo(w, h, seed, cx, cy))
    return folder


def test_segments_and_image_cuts():
    starts = segment_starts(1, [3, 5])
    assert [starts_segment(starts, n, p) for n, p in ((1, None), (2, 1), (3, 2), (4, 3), (6, 4))] == \
        [True, False, True, False, True]       # 6 after 4 skips the cut at 5
    a = photo(96, 54, 1, 0.3, 0.5)
    push = cv2.resize(a[3:51, 5:91], (96, 54))  # a slow push-in over the same photo
    assert not image_cut(a, push)
    assert image_cut(a, photo(96, 54, 2, 0.7, 0.5)) and image_cut(a, photo(64, 64, 3, 0.5, 0.5))


def test_photo_folder_is_stills_and_mixed_sizes_need_fit(tmp_path):
    folder = photos(tmp_path / "photos")
    with pytest.raises(SourceError, match="--fit 80x60"):
        open_source(folder)
    src = open_source(folder, fit=__import__("dreamrooms.shot.fit", fromlist=["Fit"]).Fit(64, 48, "pad"))
    assert (src.width, src.height) == (64, 48) and src.cuts == [2, 3]
    frames = list(src.frames())
    assert all(f.srgb.shape == (48, 64, 3) for f in frames)
    coffee = frames[2].srgb       # 96x54 padded into 64x48: black bars above and below, picture in between
    assert coffee[:5].max() < 0.01 and coffee[-5:].max() < 0.01 and coffee[24].max() > 0.5
    clip = tmp_path / "clip"
    for i in range(3):
        write_png(clip / f"shot_{i + 1:03d}.png", photo(48, 32, 7, 0.4 + 0.01 * i, 0.5))
    assert open_source(clip).cuts == []                                 # one numbered sequence: a clip
    assert open_source(folder, fit=src.fit, as_clip=True).cuts == []


def test_depth_without_model_picks_the_best_installed(tmp_path, mdir, run_cli):
    from dreamrooms.commands.depth import choose_model

    folder = photos(tmp_path / "photos")
    code, out, _ = run_cli("depth", folder, "--out", tmp_path / "shot", "--fit", "64x48")
    assert code == 0 and "tinydepth is the offline model for generated material" in out
    assert "dreamrooms models fetch depth-anything-v2-small" in out and "3 independent stills" in out
    shot = Shot.load(tmp_path / "shot")
    assert shot.cuts == [2, 3] and shot.is_stills
    assert shot.provenance.models[0]["name"] == "tinydepth" and "fit" in shot.provenance.models[0]
    # installed public models (manifest entry + file where `models fetch` puts it): the best commercial one wins
    reg = registry()
    for name in ("depth-anything-v2-base", "depth-anything-v2-small", "video-depth-anything-small"):
        (mdir / reg[name].file).parent.mkdir(parents=True, exist_ok=True)
        (mdir / reg[name].file).write_bytes(b"x")
    assert choose_model(str(folder)) == "depth-anything-v2-small"       # never the CC-BY-NC base; no clip model
    clip = tmp_path / "clip"                                            # for a clip the video model comes first
    for i in range(2):
        write_png(clip / f"f_{i + 1:02d}.png", photo(48, 32, 7, 0.4, 0.5))
    assert choose_model(str(clip)) == "video-depth-anything-small"


def _vouch(mdir: Path, name: str, build) -> Path:
    """Install a fixture at the entry's path with a user-manifest entry of its own sha256 (user entries win)."""
    entry = registry()[name]
    dest = build(mdir / entry.file)
    table = copy.deepcopy(entry.raw)
    table.update(sha256=sha256_file(dest), size=dest.stat().st_size)
    (mdir / MANIFEST_NAME).write_text(dumps_manifest({name: table}), encoding="utf-8")
    return dest


def test_isnet_entry_and_own_matte_models(tmp_path, mdir, run_cli):
    from dreamrooms.mask import models as mm

    path = _vouch(mdir, "isnet", M.isnet)
    entry = resolve("isnet", kind="mask")
    assert entry.raw["mask"] == {"family": "matte", "activation": "none"} and entry.license == "Apache-2.0"
    from dreamrooms.models.runtime import open_session

    ms = open_session(entry)
    img = photo(96, 54, 1, 0.3, 0.5)
    x = mm.matte_input(img, entry.input)
    assert x.shape == (1, 3, 1024, 1024)
    big = cv2.resize((img * 255).astype(np.float32), (1024, 1024), interpolation=cv2.INTER_LINEAR)
    assert np.allclose(x[0].transpose(1, 2, 0), (big - 128) / 256, atol=0.02)    # the export's own feeding
    m = mm.run_family("matte", ms.session, img, entry=entry)["subject"]
    subject = img.mean(axis=2) > 0.6
    assert m.shape == (54, 96) and 0 <= m.min() and m.max() <= 1
    assert m[subject].mean() > 0.9 and m[~subject].mean() < 0.1                 # a real cut, not flat grey
    # your own logits net: a plain path works (I/O inferred, sigmoid found by the probe) ...
    own = M.logits_matte(tmp_path / "own.onnx")
    inferred = resolve(str(own), kind="mask")
    assert inferred.raw["mask"]["activation"] == "sigmoid" and inferred.input["name"] == "image"
    # ... and `models add --kind mask` describes it with the depth options plus the activation
    code, out, err = run_cli("models", "add", own, "--kind", "mask", "--name", "mine", "--multiple-of", "16",
                             "--target", "64", "--resize", "upper_bound", "--output-activation", "sigmoid")
    assert code == 0, err
    mine = resolve("mine", kind="mask")
    assert mine.raw["mask"] == {"family": "matte", "activation": "sigmoid"} and mine.input["target"] == 64
    code, _, err = run_cli("models", "add", own, "--kind", "mask", "--name", "bad", "--input-name", "nope")
    assert code == 1 and "nope" in err
    assert path.is_file()
