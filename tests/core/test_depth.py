"""`dreamrooms depth`: conversion convention, aspect handling, edge-aware upsampling, layered output,
in-place depth for an existing shot, streaming memory, resume after a kill, and bad inputs."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from dreamrooms.colour import linear_to_srgb
from dreamrooms.shot import exr
from dreamrooms.training import synth
from dreamrooms.commands.main import main as cli_main
from dreamrooms.depth import bilinear_upsample, estimate_sequence, joint_bilateral_upsample, network_size
from dreamrooms.models import resolve, sha256_file
from dreamrooms.models.runtime import open_session
from dreamrooms.shot import Shot
from dreamrooms.shot.sources import read_image

from test_sessions import depth_entry, make_depth_onnx  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


# ---- fixtures ------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def oracle(tmp_path_factory):
    """A 'depth model' whose inverse depth is the image's channel mean: grey frames feed known inverse depth."""
    path = make_depth_onnx(tmp_path_factory.mktemp("oracle") / "oracle.onnx")
    return open_session(depth_entry(path), device="cpu", threads=1)


def _write_png(path: Path, rgb01: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    arr = (np.clip(rgb01, 0, 1) * 65535 + 0.5).astype(np.uint16)
    assert cv2.imwrite(str(path), arr[..., ::-1] if arr.ndim == 3 else arr)


def _encode_inverse(gt_depth: np.ndarray) -> np.ndarray:
    """Grey image whose value is affine in the true inverse depth (0.1..0.9)."""
    inv = 1.0 / gt_depth
    v = 0.1 + 0.8 * (inv - inv.min()) / (inv.max() - inv.min())
    return np.repeat(v[..., None], 3, axis=2).astype(np.float32)


def _render_clip(folder: Path, n: int, w: int, h: int, seed: int = 5, kind: str = "pan", encode=False):
    scene = synth.random_scene(seed)
    cams = synth.camera_path(scene, n, kind=kind, seed=1) if kind != "static" else [scene.camera] * n
    gts = []
    for i, cam in enumerate(cams):
        rgb, depth = synth.render_scene(scene, cam, w, h)
        _write_png(folder / f"img.{i + 1:04d}.png", _encode_inverse(depth) if encode else linear_to_srgb(rgb))
        gts.append(depth)
    return str(folder / "img.####.png"), gts


def _depth(out: Path, name: str, n: int) -> np.ndarray:
    return exr.read_frame(out / "depth" / f"{name}.{n:04d}.exr", ["Y"])["Y"]


# ---- conversion ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("mode", ["off", "keyframe"])
def test_inverse_depth_becomes_depth_with_near_and_far_at_the_robust_ends(tmp_path, oracle, mode):
    pattern, gts = _render_clip(tmp_path / "in", 3, 192, 128, seed=7, kind="static", encode=True)
    res = estimate_sequence(pattern, oracle, tmp_path / "out", stabilize=mode, size=128, near=2.0, far=30.0)
    assert res.net_size == (128, 192)  # model runs at the source size: no resampling in this test
    for n, gt in enumerate(gts, start=1):
        d = _depth(tmp_path / "out", "img", n)
        assert d.shape == gt.shape and d.dtype == np.float32
        inv, gt_inv = 1.0 / d.astype(np.float64), 1.0 / gt.astype(np.float64)
        # depth is the reciprocal of an affine function of the model's inverse depth ...
        a = np.stack([gt_inv.ravel(), np.ones(gt_inv.size)], 1)
        (s, t), *_ = np.linalg.lstsq(a, inv.ravel(), rcond=None)
        assert s > 0  # ... with larger = farther kept
        assert np.max(np.abs(s * gt_inv + t - inv)) < 2e-3 * inv.max()
        # ... mapped so the 98th percentile of inverse depth sits at near and the 2nd at far
        assert np.percentile(inv, 98) == pytest.approx(1 / 2.0, rel=5e-3)
        assert np.percentile(inv, 2) == pytest.approx(1 / 30.0, rel=5e-3)
        rank = lambda a: np.argsort(np.argsort(a.ravel(), kind="stable"))
        assert np.corrcoef(rank(d), rank(gt))[0, 1] > 0.99  # same depth order as the truth


def test_non_square_input_keeps_aspect_and_silhouettes(tmp_path, oracle):
    # 640x360 frames: a near box (inverse 0.8) on a far wall (0.2), edges at x=402 and y=100 (mid-pixel
    # of the 5x smaller model input)
    img = np.full((360, 640, 3), 0.2, np.float32)
    img[100:, 402:] = 0.8
    for n in (1, 2):
        _write_png(tmp_path / "in" / f"b.{n:04d}.png", img)
    ms = resolve("tinydepth", kind="depth")
    assert network_size(ms.input, 360, 640) == (128, 224)   # short side to target, each side the nearest multiple of 32
    assert network_size(ms.input, 360, 640, size=192) == (192, 352)
    res = estimate_sequence(str(tmp_path / "in" / "b.####.png"), oracle, tmp_path / "out", stabilize="off", size=64)
    h, w = res.net_size
    assert (h, w) == (64, 128) and abs(w / h - 640 / 360) < 32 / h
    d = _depth(tmp_path / "out", "b", 1)
    assert d.shape == (360, 640)
    inv = 1.0 / d
    near, far = inv[300, 600], inv[20, 20]
    assert near > far
    mid = 0.5 * (near + far)
    row, col = inv[250], inv[:, 550]  # across the vertical and the horizontal edge
    assert int(np.argmax(row > mid)) == 402 and int(np.argmax(col > mid)) == 100

    def soft(line, lo, hi):  # pixels caught between the two sides
        return int(np.sum((line > lo + 0.1 * (hi - lo)) & (line < hi - 0.1 * (hi - lo))))

    # silhouettes stay sharp: at most one in-between pixel; bilinear from the model size smears several
    assert soft(row, far, near) <= 1 and soft(col, far, near) <= 1
    bil = bilinear_upsample(cv2.resize(img[..., 0], (w, h), interpolation=cv2.INTER_AREA), 360, 640)
    assert soft(bil[250], 0.2, 0.8) >= 5 and soft(bil[:, 550], 0.2, 0.8) >= 5


def test_joint_bilateral_upsampling_is_the_kopf_weighted_mean_at_every_pixel():
    """Per pixel, by the formula: spatial Gaussian on the low-res tap distance times range Gaussian on the guide
    colour difference, normalised (a random map bends everywhere, so every output pixel is weighed)."""
    rng = np.random.default_rng(3)
    low = rng.uniform(0.2, 1.0, (6, 10)).astype(np.float32)
    guide = rng.uniform(0.4, 0.55, (15, 25, 3)).astype(np.float32)   # close colours: no weight underflows
    ss, sr = 0.8, 0.05
    got = joint_bilateral_upsample(low, guide, sigma_spatial=ss, sigma_range=sr)
    gl = cv2.resize(guide, (10, 6), interpolation=cv2.INTER_AREA)
    want = np.zeros((15, 25))
    for Y in range(15):
        for X in range(25):
            py, px = (Y + 0.5) * 6 / 15 - 0.5, (X + 0.5) * 10 / 25 - 0.5
            by, bx = int(np.floor(py)), int(np.floor(px))
            num = den = 0.0
            for ty in (by - 1, by, by + 1):
                for tx in (bx - 1, bx, bx + 1):
                    yi, xi = min(max(ty, 0), 5), min(max(tx, 0), 9)
                    d2 = float(np.sum((guide[Y, X].astype(np.float64) - gl[yi, xi]) ** 2))
                    wgt = np.exp(-((py - ty) ** 2 + (px - tx) ** 2) / (2 * ss ** 2) - d2 / (2 * sr ** 2))
                    num, den = num + wgt * low[yi, xi], den + wgt
            want[Y, X] = num / den
    assert np.allclose(got, want, rtol=1e-4, atol=1e-6), np.abs(got - want).max()


def test_joint_bilateral_upsampling_is_the_same_in_chunks_and_with_the_callers_low_res_guide(monkeypatch):
    """The weighted means are computed a chunk of pixels at a time and the guide at the low resolution may come
    from the caller (the stage's network input): neither changes a value."""
    from dreamrooms.depth import image

    scene = synth.random_scene(2)
    rgb, depth = synth.render_scene(scene, scene.camera, 256, 160)
    guide = linear_to_srgb(rgb)
    low = cv2.resize((1.0 / depth).astype(np.float32), (56, 32), interpolation=cv2.INTER_AREA)
    whole = joint_bilateral_upsample(low, guide)
    assert not np.array_equal(whole, bilinear_upsample(low, 160, 256))    # edges were weighed
    given = joint_bilateral_upsample(low, guide, guide_low=cv2.resize(guide, (56, 32), interpolation=cv2.INTER_AREA))
    assert np.array_equal(given, whole)
    monkeypatch.setattr(image, "_CHUNK", 97)
    assert np.allclose(joint_bilateral_upsample(low, guide), whole, rtol=1e-6, atol=0)


def test_joint_bilateral_upsampling_beats_bilinear_at_depth_edges():
    errs_j, errs_b, all_j, all_b = [], [], [], []
    for seed in (1, 4):
        scene = synth.random_scene(seed)
        rgb, depth = synth.render_scene(scene, scene.camera, 256, 160)
        inv = 1.0 / depth
        low = cv2.resize(inv, (64, 40), interpolation=cv2.INTER_AREA)
        mag = np.hypot(cv2.Sobel(inv, cv2.CV_32F, 1, 0), cv2.Sobel(inv, cv2.CV_32F, 0, 1))
        band = cv2.dilate((mag > np.percentile(mag, 95)).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
        up_j = joint_bilateral_upsample(low, linear_to_srgb(rgb))
        up_b = bilinear_upsample(low, 160, 256)
        rel = lambda u: np.abs(u - inv) / inv
        errs_j.append(rel(up_j)[band].mean())
        errs_b.append(rel(up_b)[band].mean())
        all_j.append(rel(up_j).mean())
        all_b.append(rel(up_b).mean())
    assert np.mean(errs_j) < 0.4 * np.mean(errs_b), (errs_j, errs_b)
    assert np.mean(all_j) < np.mean(all_b)  # and no texture copied into flat regions


# ---- output files ----------------------------------------------------------------------------------------
def test_layered_and_blender_depth_files_and_manifest(tmp_path):
    pattern, gts = _render_clip(tmp_path / "in", 5, 160, 96)
    rc = cli_main(["--progress", "none", "depth", pattern, "--model", "tinydepth", "--out", str(tmp_path / "shot"),
                   "--preview", "--batch", "2"])
    assert rc == 0
    shot = Shot.load(tmp_path / "shot")  # checks every registered frame exists
    assert (shot.width, shot.height, shot.frame_start, shot.frame_end) == (160, 96, 1, 5)
    assert shot.sequences["layers"].pattern == "layers/img.####.exr"
    assert shot.sequences["layers"].channels == ["R", "G", "B", "A", "depth.Z"]
    dseq = shot.sequences["depth"]
    assert dseq.pattern == "depth/img.####.exr" and dseq.channels == ["Y"]
    assert dseq.meta["near"] == 1.0 and dseq.meta["far"] == 10.0 and dseq.meta["preview"].startswith("preview/")
    m = shot.provenance.models[-1]
    tiny = resolve("tinydepth", kind="depth")
    assert m["name"] == "tinydepth" and m["sha256"] == sha256_file(tiny.path) and m["stabilize"] == "keyframe"
    assert any("depth" in c for c in shot.provenance.commands)
    info = exr.info(tmp_path / "shot/layers/img.0003.exr")
    types = {c.name: c.type for c in info.channels}
    assert types == {"R": "half", "G": "half", "B": "half", "A": "half", "depth.Z": "float"}
    assert [(c.name, c.type) for c in exr.info(tmp_path / "shot/depth/img.0003.exr").channels] == [("Y", "float")]
    frame = exr.read_frame(tmp_path / "shot/layers/img.0003.exr")
    y = _depth(tmp_path / "shot", "img", 3)
    np.testing.assert_array_equal(frame["depth.Z"], y)
    assert np.all(np.isfinite(y)) and y.min() >= 0.25 and y.max() <= 40.0
    png = cv2.imread(str(tmp_path / "in/img.0003.png"), cv2.IMREAD_UNCHANGED)[..., ::-1] / 65535.0
    lin = np.where(png <= 0.04045, png / 12.92, ((png + 0.055) / 1.055) ** 2.4)
    np.testing.assert_allclose(frame["RGBA"][..., :3].astype(np.float64), lin, atol=2e-3)
    assert np.all(frame["RGBA"][..., 3] == 1)
    prev = cv2.imread(str(tmp_path / "shot/preview/img_depth.0003.png"), cv2.IMREAD_UNCHANGED)
    assert prev.dtype == np.uint16 and prev.shape == (96, 160)
    assert np.corrcoef(prev.ravel().astype(float), (1 / y).ravel())[0, 1] > 0.99  # white = near
    assert not list((tmp_path / "shot").rglob("*.tmp"))


def _walk_shot(folder: Path, n: int = 4, w: int = 96, h: int = 64) -> Shot:
    scene = synth.random_scene(2)
    shot = Shot(fps=24, width=w, height=h, frame_start=1, frame_end=n, name="myshot")
    shot.folder = folder
    for f, cam in zip(shot.frames, synth.camera_path(scene, n, kind="dolly")):
        rgb, _ = synth.render_scene(scene, cam, w, h)
        rgba = np.dstack([rgb, np.ones((h, w), np.float32)])
        exr.write_frame(folder / f"layers/walk.{f:04d}.exr", {"RGBA": rgba, "mask.A": np.full((h, w), 0.5, np.float32)})
    shot.add_sequence("walk", "layers/walk.####.exr", ["R", "G", "B", "A", "mask.A"])
    shot.provenance.add_model("cppn-walk", "abc")
    shot.save()
    return shot


def test_depth_is_added_into_an_existing_walk_shot(tmp_path, capsys):
    _walk_shot(tmp_path)
    before = exr.read_frame(tmp_path / "layers/walk.0002.exr")
    assert cli_main(["--progress", "none", "depth", str(tmp_path), "--model", "tinydepth", "--out", str(tmp_path)]) == 0
    after = exr.read_frame(tmp_path / "layers/walk.0002.exr")
    assert set(after) == {"RGBA", "mask.A", "depth.Z"}
    np.testing.assert_array_equal(after["RGBA"], before["RGBA"])
    np.testing.assert_array_equal(after["mask.A"], before["mask.A"])
    shot = Shot.load(tmp_path)
    assert shot.sequences["walk"].channels == ["R", "G", "B", "A", "mask.A", "depth.Z"]
    assert shot.sequences["depth"].pattern == "depth/walk.####.exr"
    assert [m["name"] for m in shot.provenance.models] == ["cppn-walk", "tinydepth"]
    np.testing.assert_array_equal(after["depth.Z"], _depth(tmp_path, "walk", 2))
    # a rerun finds every frame complete and rewrites nothing
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "layers").iterdir()}
    capsys.readouterr()
    assert cli_main(["--progress", "none", "depth", str(tmp_path), "--model", "tinydepth", "--out", str(tmp_path)]) == 0
    assert "0 frame(s) written, 4 already complete" in capsys.readouterr().out
    assert mtimes == {p: p.stat().st_mtime_ns for p in (tmp_path / "layers").iterdir()}
    # depth from a different source into a shot that has colour already is refused, not mixed
    other = tmp_path.parent / (tmp_path.name + "_frames")
    _render_clip(other, 4, 96, 64)
    assert cli_main(["--progress", "none", "depth", str(other / "img.####.png"), "--model", "tinydepth",
                     "--out", str(tmp_path)]) == 1
    assert "already has colour frames" in capsys.readouterr().err


def test_frame_range_and_batches(tmp_path, capsys):
    pattern, _ = _render_clip(tmp_path / "in", 8, 96, 64)
    out = tmp_path / "out"
    assert cli_main(["--progress", "none", "depth", pattern, "--model", "tinydepth", "--out", str(out),
                     "--frames", "3-7", "--batch", "3", "--stabilize", "ema"]) == 0
    shot = Shot.load(out)
    assert (shot.frame_start, shot.frame_end) == (3, 7)
    assert sorted(p.name for p in (out / "depth").iterdir()) == [f"img.{n:04d}.exr" for n in range(3, 8)]
    # batches of 3 (the last one short) give the depth that one frame at a time gives
    assert cli_main(["--progress", "none", "depth", pattern, "--model", "tinydepth", "--out", str(tmp_path / "b1"),
                     "--frames", "3-7", "--batch", "1", "--stabilize", "ema"]) == 0
    for n in range(3, 8):
        assert np.allclose(_depth(out, "img", n), _depth(tmp_path / "b1", "img", n), rtol=1e-4)
    assert cli_main(["--progress", "none", "depth", pattern, "--model", "tinydepth", "--out", str(tmp_path / "o2"),
                     "--frames", "5-12"]) == 1
    assert "frame 9" in capsys.readouterr().err and not (tmp_path / "o2").exists()


def test_rerunning_a_finished_run_changes_nothing(tmp_path, capsys):
    pattern, _ = _render_clip(tmp_path / "in", 5, 96, 64)
    out = tmp_path / "out"
    args = ["--progress", "none", "depth", pattern, "--model", "tinydepth", "--out", str(out)]
    assert cli_main(args) == 0
    capsys.readouterr()
    files = sorted(out.rglob("*.exr"))
    before = {p: p.stat().st_mtime_ns for p in files + [out / "shot.json"]}
    assert cli_main(args) == 0   # the same command again: every frame is whole, nothing is redone
    assert "0 frame(s) written, 5 already complete" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in before} == before and sorted(out.rglob("*.exr")) == files
    # other settings on the finished shot: one line naming the file and the fix, nothing touched
    assert cli_main(args + ["--stabilize", "ema"]) == 1
    err = capsys.readouterr().err
    assert "depth/img.0001.exr: written with other depth settings" in err and "--overwrite" in err
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_other_footage_of_the_same_name_is_not_taken_for_finished_frames(tmp_path, capsys):
    """Two clips both called img.####.png: the second into the first one's shot must not "resume" (skip every
    frame and keep the first clip's pixels); it fails naming the file and the fix, and --overwrite replaces."""
    a, _ = _render_clip(tmp_path / "a", 3, 96, 64, seed=2)
    b, _ = _render_clip(tmp_path / "b", 3, 96, 64, seed=9)
    out = tmp_path / "out"
    run = lambda pattern, *extra: cli_main(["--progress", "none", "depth", pattern, "--model", "tinydepth",
                                            "--out", str(out), *extra])
    assert run(a) == 0
    before = {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}
    capsys.readouterr()
    assert run(b) == 1
    err = capsys.readouterr().err.strip()
    assert "depth/img.0001.exr: made from other footage" in err and str(tmp_path / "a") in err
    assert "--overwrite" in err and len(err.splitlines()) == 1
    assert {p: p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()} == before
    assert run(b, "--overwrite") == 0
    want = read_image(b.replace("####", "0002"))[1]
    got = exr.read_frame(out / "layers/img.0002.exr", ["RGBA"])["RGBA"]
    assert np.allclose(got, want, atol=2e-3)


# ---- bad inputs ------------------------------------------------------------------------------------------
def _bad_cases(tmp_path: Path):
    good = tmp_path / "good"
    _render_clip(good, 3, 64, 48)
    corrupt = tmp_path / "corrupt"
    _render_clip(corrupt, 6, 64, 48)
    data = (corrupt / "img.0005.png").read_bytes()
    (corrupt / "img.0005.png").write_bytes(data[: len(data) // 3])
    mixed = tmp_path / "mixed"
    _render_clip(mixed, 3, 64, 48)
    _write_png(mixed / "img.0004.png", np.zeros((40, 64, 3), np.float32))
    (tmp_path / "empty").mkdir()
    (tmp_path / "clip.mov").write_bytes(b"\x00\x00\x00\x18ftypqt  " + os.urandom(2000))
    pat = str(good / "img.####.png")
    return [
        ([str(corrupt / "img.####.png"), "--model", "tinydepth"], "img.0005.png: unreadable image"),
        ([str(mixed), "--model", "tinydepth"], "img.0004.png: 64x40 but"),
        ([str(tmp_path / "empty"), "--model", "tinydepth"], "folder has no images"),
        ([str(tmp_path / "clip.mov"), "--model", "tinydepth"], "clip.mov: cannot decode this video"),
        ([pat, "--model", "cppn-walk"], "'cppn-walk' is a generator, not a depth model"),
        ([pat, "--model", str(tmp_path / "missing.onnx")], "missing.onnx does not exist"),
        ([pat, "--model", "tinydepth", "--frames", "2-1"], "before the first"),
    ]


def test_bad_inputs_fail_with_one_line_and_leave_nothing(tmp_path, capsys):
    for k, (args, expect) in enumerate(_bad_cases(tmp_path)):
        out = tmp_path / f"out{k}"
        rc = cli_main(["--progress", "none", "depth", *args, "--out", str(out)])
        err = capsys.readouterr().err
        assert rc == 1, (args, err)
        lines = err.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("dreamrooms: error: ") and expect in lines[0], (args, err)
        assert not out.exists(), f"{args}: left {list(out.rglob('*'))}"


def test_bad_input_leaves_an_existing_shot_as_it_was(tmp_path, capsys):
    _walk_shot(tmp_path / "shot", n=5)
    bad = tmp_path / "shot/layers/walk.0004.exr"
    bad.write_bytes(bad.read_bytes()[:300])
    manifest = (tmp_path / "shot/shot.json").read_text()
    assert cli_main(["--progress", "none", "depth", str(tmp_path / "shot"), "--model", "tinydepth",
                     "--out", str(tmp_path / "shot")]) == 1
    assert "walk.0004.exr" in capsys.readouterr().err
    assert (tmp_path / "shot/shot.json").read_text() == manifest
    assert not (tmp_path / "shot/depth").exists() and not list((tmp_path / "shot").rglob("*.tmp"))


# ---- streaming memory -------------------------------------------------------------------------------------
_RSS_SCRIPT = r"""
import resource, sys
from dreamrooms.depth import estimate_sequence
from dreamrooms import progress
progress.set_mode("none")
res = estimate_sequence(sys.argv[1], "tinydepth", sys.argv[2], size=32, batch=2, frames=sys.argv[3], threads=1)
assert len(res.processed) == int(sys.argv[3].split("-")[1])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def test_memory_does_not_grow_with_the_number_of_frames(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    y, x = np.mgrid[0:72, 0:128].astype(np.float32)
    for n in range(1, 401):
        img = np.stack([0.5 + 0.4 * np.sin(x / 9 + n / 7), 0.5 + 0.4 * np.cos(y / 7 - n / 5), x / 128], -1)
        cv2.imwrite(str(folder / f"m.{n:04d}.png"), (img[..., ::-1] * 255).astype(np.uint8))
    peaks = {}
    for count in (20, 400):
        r = subprocess.run([PY, "-c", _RSS_SCRIPT, str(folder / "m.####.png"), str(tmp_path / f"o{count}"),
                            f"1-{count}"], capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr[-2000:]
        peaks[count] = int(r.stdout.strip().splitlines()[-1]) / 1024  # MiB
        assert len(list((tmp_path / f"o{count}/depth").iterdir())) == count
    # 400 frames of 128x72 held in memory would be > 100 MiB more than 20 frames
    assert peaks[400] - peaks[20] < 15, peaks


# ---- resume after a kill ------------------------------------------------------------------------------------
def _run_cli(args, **kw):
    return subprocess.Popen([PY, "-m", "dreamrooms", "--progress", "none", "depth", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kw)


@pytest.fixture(scope="module")
def kill_clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("killclip")
    return _render_clip(folder, 32, 288, 160, seed=11)[0]


@pytest.mark.parametrize("mode", ["off", "keyframe"])
def test_killed_run_resumes_and_matches_a_clean_run(tmp_path, kill_clip, mode):
    n = 32
    pattern = kill_clip
    args = [pattern, "--model", "tinydepth", "--size", "160", "--batch", "1", "--threads", "1", "--stabilize", mode]
    clean = tmp_path / "clean"
    p = _run_cli([*args, "--out", str(clean)])
    assert p.wait(timeout=300) == 0, p.stderr.read().decode()[-2000:]

    out = tmp_path / "killed"
    p = _run_cli([*args, "--out", str(out)])
    t0 = time.time()
    state = out / "depth" / ".img.depth-state.npz"   # exact resume needs a saved stabiliser state to resume from
    while time.time() - t0 < 120:
        done = list((out / "depth").glob("img.*.exr")) if (out / "depth").is_dir() else []
        if (len(done) >= 6 and (mode == "off" or state.is_file())) or p.poll() is not None:
            break
        time.sleep(0.002)
    p.send_signal(signal.SIGKILL)
    p.wait()
    written = sorted((out / "depth").glob("img.*.exr"))
    assert 6 <= len(written) < n, "the run ended before it could be killed"
    assert not (out / "shot.json").exists()  # a killed run never registers half a sequence
    whole = [f for f in range(1, n + 1) if exr.is_complete(out / f"depth/img.{f:04d}.exr", ("Y",))
             and exr.is_complete(out / f"layers/img.{f:04d}.exr", ("depth.Z",))]
    first_missing = next(f for f in range(1, n + 1) if f not in whole)
    kept = {f: (out / f"depth/img.{f:04d}.exr").stat().st_mtime_ns for f in range(1, first_missing)}

    p = _run_cli([*args, "--out", str(out)])
    so, se = p.communicate(timeout=300)
    assert p.returncode == 0, se.decode()[-2000:]
    import re

    skipped = int(re.search(r"(\d+) already complete", so.decode()).group(1))
    # only frames in flight are redone (keyframe mode resumes from the stabiliser state saved with a frame
    # whose predecessors were all on disk: at most the writer backlog, 4 frames, plus the frames since the
    # last saved state, fewer than STATE_EVERY, before the first gap)
    from dreamrooms.depth.resume import STATE_EVERY

    assert first_missing - (4 + STATE_EVERY if mode == "keyframe" else 1) <= skipped <= first_missing - 1
    assert all(kept[f] == (out / f"depth/img.{f:04d}.exr").stat().st_mtime_ns for f in range(1, skipped + 1))
    assert not list(out.rglob("*.tmp")) and not list(out.rglob("*state*"))
    shot = Shot.load(out)
    assert (shot.frame_start, shot.frame_end) == (1, n)
    for f in range(1, n + 1):  # the resumed result is the uninterrupted result, bit for bit
        np.testing.assert_array_equal(_depth(clean, "img", f), _depth(out, "img", f))
        np.testing.assert_array_equal(exr.read_frame(clean / f"layers/img.{f:04d}.exr")["depth.Z"],
                                      exr.read_frame(out / f"layers/img.{f:04d}.exr")["depth.Z"])


def test_video_input_and_a_shot_into_a_new_shot(tmp_path):
    path = tmp_path / "clip.avi"
    vw = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 12.0, (96, 64))
    scene = synth.random_scene(4)
    for cam in synth.camera_path(scene, 6, kind="truck"):
        rgb, _ = synth.render_scene(scene, cam, 96, 64)
        vw.write((linear_to_srgb(rgb)[..., ::-1] * 255).astype(np.uint8))
    vw.release()
    assert cli_main(["--progress", "none", "depth", str(path), "--model", "tinydepth", "--out", str(tmp_path / "v")]) == 0
    shot = Shot.load(tmp_path / "v")
    assert shot.fps == pytest.approx(12.0) and (shot.frame_start, shot.frame_end) == (1, 6)
    assert shot.sequences["depth"].pattern == "depth/clip.####.exr"
    # a shot with a camera as input, a new shot as output: frames 2-4 and their camera keys carried over
    src = _walk_shot(tmp_path / "walk", n=5)
    src.camera = __import__("dreamrooms.shot", fromlist=["CameraTrack"]).CameraTrack(
        matrices=[np.eye(4).tolist() for _ in range(5)], lens_mm=[20.0 + k for k in range(5)])
    src.save()
    assert cli_main(["--progress", "none", "depth", str(tmp_path / "walk"), "--model", "tinydepth",
                     "--out", str(tmp_path / "d"), "--frames", "2-4"]) == 0
    out = Shot.load(tmp_path / "d")
    assert (out.frame_start, out.frame_end) == (2, 4) and out.camera.lens_mm == [21.0, 22.0, 23.0]
    assert set(exr.read_frame(tmp_path / "d/layers/walk.0003.exr")) == {"RGBA", "depth.Z"}
    assert not (tmp_path / "walk/depth").exists()  # the input shot is not touched
