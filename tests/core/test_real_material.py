"""A user's own material: folders of photos (stills, cuts, --fit), the depth model chosen when none is named,
and their own matte model (`models add --kind mask`, a plain path, the ISNet entry on a fixture of its export's
exact signature). Everything runs through real ONNX Runtime on small files built here; nothing downloads."""
from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from dreamrooms.models import registry, resolve, sha256_file
from dreamrooms.shot import Shot, exr
from dreamrooms.shot.segments import image_cut, segment_starts, starts_segment
from dreamrooms.shot.sources import SourceError, open_source

import _matte_exports as M  # noqa: E402
from _photos import PHOTOS, photo, photos, vouch, write_png  # noqa: E402


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
    for n in shot.frames:   # each photo's own depth range: its near end at --near 1, its far end at --far 10
        inv = 1 / exr.read_frame(shot.frame_path("depth", n), ["Y"])["Y"]
        assert np.percentile(inv, 98) == pytest.approx(1.0, rel=0.08)
        assert np.percentile(inv, 2) == pytest.approx(0.1, rel=0.15)
    code, out, err = run_cli("depth", folder, "--out", tmp_path / "split", "--split")   # one shot per photo
    assert code == 0, err
    sizes = {d.name: (Shot.load(d).width, Shot.load(d).height) for d in (tmp_path / "split").iterdir()}
    assert sizes == {"astronaut": (80, 60), "cameraman": (64, 64), "coffee": (96, 54)}
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


def test_isnet_entry_and_own_matte_models(tmp_path, mdir, run_cli):
    from dreamrooms.mask import models as mm

    path = vouch(mdir, "isnet", M.isnet)
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


def test_worker_output_keeps_out_gpu_probe_noise(capsys):
    from dreamrooms.worker import GPU_PROBE_NOISE, spawn

    code = spawn([sys.executable, "-c", "print('00:06.451  cycles  | WARNING CUEW initialization failed: Error "
                  "opening the library'); print('HIPEW initialization failed: x'); print('Fra:1 rendering')"],
                 quiet=GPU_PROBE_NOISE)
    out = capsys.readouterr().out
    assert code == 0 and out == "Fra:1 rendering\n"


def test_cut_inside_a_clip_is_found_in_the_pictures_and_recorded(tmp_path, run_cli):
    clip = tmp_path / "clip"
    for i in range(5):          # a slow push-in over one photo, then a cut to another at frame 4
        seed, cx = (1, 0.3) if i < 3 else (2, 0.7)
        img = photo(96, 54, seed, cx, 0.5)
        c = 2 * (i % 3)
        write_png(clip / f"take_{i + 1:03d}.png", cv2.resize(img[c // 2:54 - c // 2, c:96 - c], (96, 54)))
    code, out, err = run_cli("depth", clip, "--out", tmp_path / "shot", "--model", "tinydepth")
    assert code == 0, err
    shot = Shot.load(tmp_path / "shot")
    assert shot.cuts == [4] and not shot.is_stills and "1 cut(s) at frame(s) 4" in out
    assert [list(r) for r in shot.segments()] == [[1, 2, 3], [4, 5]]


def test_matte_of_a_photo_is_its_own_not_the_previous_photos(tmp_path, run_cli):
    """Soft mattes (a low-contrast photo through a logits net) are where the matte filter blends with the frame
    before: across a cut it must not. The issue: the cameraman's matte correlated 0.78 with the astronaut's."""
    from dreamrooms.mask import models as mm
    from dreamrooms.models.runtime import open_session

    folder = tmp_path / "photos"
    for name, _, _, seed, cx, cy in PHOTOS:
        write_png(folder / name, 0.4 + 0.2 * photo(64, 48, seed, cx, cy))
    own = M.logits_matte(tmp_path / "own.onnx")
    shot_dir = tmp_path / "shot"
    assert run_cli("depth", folder, "--out", shot_dir, "--model", "tinydepth")[0] == 0
    code, out, err = run_cli("mask", shot_dir, "--out", shot_dir, "--model", own)    # a plain path, no `add`
    assert code == 0, err
    shot = Shot.load(shot_dir)
    entry = resolve(str(own), kind="mask")
    session = open_session(entry).session
    for n in shot.frames:
        written = exr.read_frame(shot.frame_path("mask_subject", n), ["Y"])["Y"]
        srgb = open_source(shot_dir).frames([n]).__next__().srgb
        alone = mm.run_family("matte", session, srgb, entry=entry)["subject"]
        assert 0.2 < alone.min() and alone.max() < 0.8                     # soft: the filter would blend here
        assert np.abs(written - alone).max() < 2e-3, f"frame {n} carries another photo's matte"
    models = {m["name"]: m for m in shot.provenance.models}
    assert models["own"]["sha256"] == sha256_file(own) and models["own"]["stage"] == "mask"


def test_fills_are_not_reused_across_photos(tmp_path, run_cli):
    from dreamrooms.layers.run import make_layers

    folder = tmp_path / "photos"
    for name, _, _, seed, cx, cy in PHOTOS:       # one size, the subjects elsewhere in every photo
        write_png(folder / name, photo(64, 48, seed, cx, cy))
    shot_dir = tmp_path / "shot"
    assert run_cli("depth", folder, "--out", shot_dir, "--model", "tinydepth")[0] == 0
    res = make_layers(shot_dir, 2)
    assert res.reused == 0.0          # every photo's hole is filled from that photo


def test_inpainting_model_is_in_the_provenance(tmp_path, mdir, run_cli):
    import _mask_fixtures as F
    from dreamrooms.layers.run import make_layers

    write_png(tmp_path / "one.png", photo(64, 48, 1, 0.4, 0.5))
    assert run_cli("depth", tmp_path / "one.png", "--out", tmp_path / "shot", "--model", "tinydepth")[0] == 0
    mdir.mkdir(parents=True, exist_ok=True)      # tinydepth's run may have made it (its hash cache)
    F.lama_onnx(mdir / "lama_fp32.onnx", colour=(0.25, 0.5, 0.75))
    (mdir / "models.toml").write_text('[models.lama]\nkind = "inpaint"\nfile = "lama_fp32.onnx"\n'
                                      '[models.lama.inpaint]\nfamily = "lama"\n')
    shot = make_layers(tmp_path / "shot", 2, inpaint="lama").shot
    lama = next(m for m in shot.provenance.models if m["name"] == "lama")
    assert lama["sha256"] == sha256_file(mdir / "lama_fp32.onnx") and lama["stage"] == "layers"
    assert "layer1_depth" in shot.sequences
