"""Walk rendering: real cppn-walk through the CLI, and tiny ONNX generators built by the tests."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import _walk_fixtures as fx  # noqa: E402

from dreamrooms.walk import latent  # noqa: E402
from dreamrooms.commands import main as cli
from dreamrooms.shot import exr
from dreamrooms.walk import generator
from dreamrooms.walk import run as walk_stage
from dreamrooms.colour import linear_to_srgb, srgb_to_linear  # noqa: E402
from dreamrooms.shot import Shot  # noqa: E402


def frames_of(folder: Path) -> np.ndarray:
    shot = Shot.load(folder)
    return np.stack([exr.read_frame(shot.frame_path("walk", f))["RGBA"].astype(np.float32) for f in shot.frames])


def run_cli(*args: str) -> int:
    return cli.main(["--progress", "none", *args])


# ---- the built-in generator, through the CLI --------------------------------------------------------
@pytest.fixture(scope="module")
def cppn_loop(tmp_path_factory):
    out = tmp_path_factory.mktemp("cppn") / "loop"
    rc = run_cli("walk", "--model", "cppn-walk", "--out", str(out), "--frames", "36", "--fps", "24",
                 "--size", "512x512", "--seeds", "3,17,42", "--loop", "--batch", "4", "--threads", "2")
    assert rc == 0
    return out


def test_cppn_walk_512_changes_smoothly_and_loop_closes(cppn_loop):
    shot = Shot.load(cppn_loop)
    assert (shot.width, shot.height, shot.frame_count, shot.fps) == (512, 512, 36, 24)
    seq = shot.sequences["walk"]
    assert seq.pattern == "layers/walk.####.exr" and seq.channels == ["R", "G", "B", "A"]
    assert seq.colorspace == "linear" and seq.meta["source_colorspace"] == "srgb"
    assert shot.provenance.models[0]["name"] == "cppn-walk" and len(shot.provenance.models[0]["sha256"]) == 64
    assert shot.provenance.seeds == [3, 17, 42]
    info = exr.info(shot.frame_path("walk", 1))
    assert {c.name: c.type for c in info.channels} == {"R": "half", "G": "half", "B": "half", "A": "half"}

    f = linear_to_srgb(frames_of(cppn_loop)[..., :3])  # measure change as seen (sRGB-encoded)
    steps = latent.path_speed(f)
    # unrelated images (different seeds) differ by far more than consecutive frames
    rng_pairs = [abs(f[i] - f[j]).mean() for i, j in ((0, 12), (12, 24), (0, 24))]
    assert steps.max() < 0.4 * min(rng_pairs), (steps, rng_pairs)
    assert steps.min() > 0.0  # it moves
    # even: no step is far from the typical one
    assert steps.max() < 2.0 * np.median(steps) and steps.min() > 0.4 * np.median(steps), steps
    # closes: the seam step (frame N -> frame 1) looks like every other step
    seam = abs(f[-1] - f[0]).mean()
    assert 0.4 * np.median(steps) < seam < 2.0 * np.median(steps), (seam, steps)


def test_cppn_loop_frame_n_plus_1_equals_frame_1(cppn_loop):
    from dreamrooms import models
    from dreamrooms.models import runtime as sessions

    entry = models.resolve("cppn-walk", kind="generator")
    ms = sessions.open_session(entry, device="cpu", threads=2)
    gen = generator.Generator(ms.session, generator.GeneratorSpec.from_dict(entry.generator), name="cppn-walk")
    s = walk_stage.WalkSettings(frames=36, fps=24, size=(512, 512), seeds=[3, 17, 42], loop=True)
    latents_at, _ = walk_stage.build_path(gen, s)
    img = gen.render(latents_at(np.array([1.0])), (512, 512))[0]  # frame N+1
    first = exr.read_frame(Shot.load(cppn_loop).frame_path("walk", 1))["RGBA"].astype(np.float32)[..., :3]
    assert np.abs(srgb_to_linear(img) - first).max() < 2e-3  # equal up to half precision


def test_cppn_constant_speed_evens_out_change(tmp_path):
    common = ["--model", "cppn-walk", "--frames", "20", "--size", "128x128", "--seeds", "1,2,3", "--threads", "2"]
    assert run_cli("walk", "--out", str(tmp_path / "plain"), *common, "--ease", "smooth") == 0
    assert run_cli("walk", "--out", str(tmp_path / "even"), *common, "--constant-speed") == 0
    plain = latent.path_speed(frames_of(tmp_path / "plain"))
    even = latent.path_speed(frames_of(tmp_path / "even"))
    cv = lambda d: d.std() / d.mean()
    assert cv(even) < 0.5 * cv(plain), (cv(even), cv(plain))
    assert cv(even) < 0.2


def test_cppn_seed_determinism_through_cli(tmp_path):
    args = ["--model", "cppn-walk", "--frames", "3", "--size", "64x48", "--seeds", "7,8", "--threads", "1"]
    assert run_cli("walk", "--out", str(tmp_path / "a"), *args) == 0
    assert run_cli("walk", "--out", str(tmp_path / "b"), *args) == 0
    assert run_cli("walk", "--out", str(tmp_path / "c"), *args[:-4], "--seeds", "7,9", "--threads", "1") == 0
    a, b, c = (frames_of(tmp_path / n) for n in "abc")
    assert a.shape == (3, 48, 64, 4)
    assert np.array_equal(a, b)
    assert np.array_equal(a[0], c[0]) and not np.allclose(a[2], c[2])  # shared first seed, different last


def test_noise_loop_cli_closes(tmp_path):
    out = tmp_path / "noise"
    assert run_cli("walk", "--model", "cppn-walk", "--out", str(out), "--frames", "16", "--size", "96x96",
                   "--noise-loop", "1.5", "--seeds", "5", "--threads", "2") == 0
    f = frames_of(out)
    steps = latent.path_speed(f)
    seam = abs(f[-1] - f[0]).mean()
    assert seam < 2.0 * np.median(steps) and steps.max() < 2.5 * np.median(steps)
    assert Shot.load(out).provenance.extra["walk"]["noise_loop"] == 1.5


@pytest.mark.parametrize("args,match", [
    (["--model", "no-such-model"], "unknown model"),
    (["--model", "cppn-walk", "--space", "w"], "no mapping step"),
    (["--model", "cppn-walk", "--seeds", "1,x"], "not an integer"),
    (["--model", "cppn-walk", "--truncation", "-1"], "truncation"),
    (["--model", "cppn-walk", "--keyframes", "missing.toml"], "keyframe file not found"),
])
def test_cli_errors_are_one_line_and_leave_nothing(tmp_path, capsys, args, match):
    out = tmp_path / "shot"
    rc = run_cli("walk", "--out", str(out), "--frames", "4", "--size", "32x32", *args)
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert len(err) == 1 and err[0].startswith("dreamrooms: error:") and match in err[0], err
    assert not out.exists()


def test_walk_help_and_bad_size():
    r = subprocess.run([sys.executable, "-m", "dreamrooms", "walk", "--out", "x", "--model", "m", "--frames", "2",
                        "--size", "512"], capture_output=True, text=True)
    assert r.returncode == 2 and "WIDTHxHEIGHT" in r.stderr


# ---- tiny generators built by the tests ------------------------------------------------------------
@pytest.fixture
def tiny(tmp_path):
    return fx.make_generator(fx.cppn_onnx(tmp_path / "tiny.onnx"), fx.CPPN_DICT)


def test_exr_is_honest_linear_from_srgb(tmp_path, tiny):
    s = walk_stage.WalkSettings(frames=5, fps=12, size=(24, 40), seeds=[1, 2], batch=2)
    shot = walk_stage.run_walk(tiny, tmp_path / "s", s)
    lat, _ = walk_stage.frame_latents(tiny, s)
    enc = tiny.render(lat, (24, 40))  # sRGB-encoded generator output
    for i, f in enumerate(shot.frames):
        rgba = exr.read_frame(shot.frame_path("walk", f))["RGBA"]
        assert rgba.dtype == np.float16 and rgba.shape == (24, 40, 4)
        assert np.all(rgba[..., 3] == 1.0)
        want = srgb_to_linear(enc[i])
        assert np.abs(rgba[..., :3].astype(np.float32) - want).max() <= 1e-3 * np.maximum(want, 0.02).max() + 2e-4
    # mid-grey sRGB 0.5 is linear 0.214, not 0.5: the conversion really happens
    grey = generator.to_linear_rgba_half(np.full((3, 2, 2), 0.5, np.float32))
    assert float(grey[0, 0, 0]) == pytest.approx(0.21404, abs=2e-4)
    assert json.loads((tmp_path / "s" / "shot.json").read_text())["sequences"]["walk"]["colorspace"] == "linear"


def test_batching_does_not_change_frames(tmp_path, tiny):
    a = walk_stage.run_walk(tiny, tmp_path / "b1", walk_stage.WalkSettings(7, 24, (16, 16), [4, 5, 6], batch=1))
    b = walk_stage.run_walk(tiny, tmp_path / "b3", walk_stage.WalkSettings(7, 24, (16, 16), [4, 5, 6], batch=3))
    assert np.array_equal(frames_of(a.folder), frames_of(b.folder))


def test_fixed_size_generator_range_resize_and_constant_noise(tmp_path):
    gen = fx.make_generator(fx.fixed_onnx(tmp_path / "f.onnx", noise=True),
                            {"latent_input": "z", "latent_dim": 8, "output": "image", "output_range": [-1, 1],
                             "noise_inputs": ["noise"]})
    assert gen.spec.native_size == (16, 16) and gen.noise_inputs == ["noise"]
    z = latent.seed_latent(3, 8)[None]
    raw = gen.run_raw(z, (16, 16))
    assert raw.min() < 0  # the model speaks -1..1
    img = gen.render(np.repeat(z, 2, 0), (16, 16))
    assert img.min() >= 0 and np.allclose(img[0], img[1])  # same noise for every frame
    assert np.allclose(img[0], np.clip((raw[0] + 1) / 2, 0, 1).transpose(1, 2, 0), atol=1e-6)
    shot = walk_stage.run_walk(gen, tmp_path / "s", walk_stage.WalkSettings(3, 24, (32, 48), [1, 2]))
    assert frames_of(shot.folder).shape == (3, 32, 48, 4)
    assert shot.sequences["walk"].meta["model_size"] == [16, 16]


def test_w_space_walk_interpolates_mapped_keys(tmp_path):
    gen = fx.make_generator(fx.fixed_onnx(tmp_path / "syn.onnx", w_input="w"),
                            {"latent_input": "z", "latent_dim": 8, "mapping_input": "w", "output": "image",
                             "output_range": [-1, 1]}, mapping=fx.mapping_onnx(tmp_path / "map.onnx"))
    s = walk_stage.WalkSettings(frames=5, fps=24, size=(16, 16), seeds=[1, 2], space="w", interp="lerp")
    lat, info = walk_stage.frame_latents(gen, s)
    w1, w2 = gen.map(np.stack([latent.seed_latent(1, 8), latent.seed_latent(2, 8)]))
    assert np.allclose(lat[0], w1, atol=1e-5) and np.allclose(lat[4], w2, atol=1e-5)
    assert np.allclose(lat[2], (w1 + w2) / 2, atol=1e-5)  # linear in W, not in z
    # truncation in W pulls toward the measured mean W
    s.truncation = 0.5
    lat_t, _ = walk_stage.frame_latents(gen, s)
    mean = gen.mean_w()
    assert np.allclose(lat_t[0], mean + 0.5 * (w1 - mean), atol=1e-4)
    # z-space walk on the same model goes through the mapping for every frame
    zs = walk_stage.WalkSettings(frames=5, fps=24, size=(16, 16), seeds=[1, 2], space="z")
    lat_z, _ = walk_stage.frame_latents(gen, zs)
    assert not np.allclose(lat_z[2], (w1 + w2) / 2, atol=1e-3)
    shot = walk_stage.run_walk(gen, tmp_path / "w", s)
    assert shot.provenance.extra["walk"]["space"] == "w"


def test_resume_rewrites_only_missing_or_broken_frames(tmp_path, tiny):
    s = walk_stage.WalkSettings(frames=8, fps=24, size=(16, 16), seeds=[1, 2, 3], batch=2)
    shot = walk_stage.run_walk(tiny, tmp_path / "r", s)
    before = frames_of(shot.folder)
    paths = [shot.frame_path("walk", f) for f in shot.frames]
    os.remove(paths[3])
    paths[5].write_bytes(paths[5].read_bytes()[:100])  # a torn file
    (shot.folder / "shot.json").unlink()  # as if killed before the end
    old = {i: paths[i].stat().st_mtime_ns for i in (0, 1, 2, 4, 6, 7)}
    walk_stage.run_walk(tiny, tmp_path / "r", s)
    assert all(paths[i].stat().st_mtime_ns == t for i, t in old.items())
    assert np.array_equal(frames_of(shot.folder), before)
    # different settings: refuse, leave the frames alone
    s2 = walk_stage.WalkSettings(frames=8, fps=24, size=(16, 16), seeds=[9, 2, 3])
    with pytest.raises(generator.GenerateError, match="different walk"):
        walk_stage.run_walk(tiny, tmp_path / "r", s2)
    assert np.array_equal(frames_of(shot.folder), before)
    walk_stage.run_walk(tiny, tmp_path / "r", s2, overwrite=True)
    assert not np.array_equal(frames_of(shot.folder)[0], before[0])


def test_previews_png_and_mp4(tmp_path, tiny):
    shot = walk_stage.run_walk(tiny, tmp_path / "p", walk_stage.WalkSettings(6, 24, (32, 32), [1, 2], preview="png"))
    pngs = sorted((shot.folder / "preview").glob("walk.*.png"))
    assert [p.name for p in pngs] == [f"walk.{i:04d}.png" for i in range(1, 7)]
    first = cv2.imread(str(pngs[0]))[..., ::-1].astype(np.float32) / 255
    lin = exr.read_frame(shot.frame_path("walk", 1))["RGBA"][..., :3].astype(np.float32)
    assert np.abs(srgb_to_linear(first) - lin).max() < 0.01  # the PNG is the sRGB view of the same frame
    shot = walk_stage.run_walk(tiny, tmp_path / "m", walk_stage.WalkSettings(6, 24, (32, 32), [1, 2], preview="mp4"))
    cap = cv2.VideoCapture(str(shot.folder / "preview" / "walk.mp4"))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 6
    assert shot.sequences["walk"].meta["preview"] == "preview/walk.mp4"


def test_keyframes_file_through_run_walk(tmp_path, tiny):
    (tmp_path / "k.toml").write_text('[[key]]\nseed = 4\nframe = 1\nease = "smooth"\n[[key]]\nseed = 6\nframe = 9\n')
    s = walk_stage.WalkSettings(frames=9, fps=24, size=(16, 16), keyframes=str(tmp_path / "k.toml"))
    lat, info = walk_stage.frame_latents(tiny, s)
    assert np.allclose(lat[0], latent.seed_latent(4, 8), atol=1e-6) and np.allclose(lat[8], latent.seed_latent(6, 8), atol=1e-6)
    d = np.linalg.norm(np.diff(lat, axis=0), axis=1)
    assert d[0] < 0.3 * d[4]  # smooth ease: slow off the key
    assert info["seeds"] == [4, 6]


def test_keyframe_file_truncation_pulls_the_latents_toward_the_mean(tmp_path, tiny):
    """`truncation` in a keyframe file is applied (it was parsed and ignored): latents shrink by that factor
    toward the origin of Z, and a bad value names the file."""
    keys = '[[key]]\nseed = 4\nframe = 1\n[[key]]\nseed = 6\nframe = 9\n'
    (tmp_path / "plain.toml").write_text(keys)
    (tmp_path / "trunc.toml").write_text("truncation = 0.5\n" + keys)
    plain, _ = walk_stage.frame_latents(tiny, walk_stage.WalkSettings(frames=9, fps=24, size=(16, 16),
                                                                   keyframes=str(tmp_path / "plain.toml")))
    trunc, info = walk_stage.frame_latents(tiny, walk_stage.WalkSettings(frames=9, fps=24, size=(16, 16),
                                                                      keyframes=str(tmp_path / "trunc.toml")))
    assert info["truncation"] == 0.5
    np.testing.assert_allclose(trunc, 0.5 * plain, atol=1e-6)
    (tmp_path / "bad.toml").write_text("truncation = -2\n" + keys)
    with pytest.raises(generator.GenerateError, match="bad.toml: truncation must be a positive number"):
        walk_stage.frame_latents(tiny, walk_stage.WalkSettings(frames=9, fps=24, size=(16, 16),
                                                           keyframes=str(tmp_path / "bad.toml")))
