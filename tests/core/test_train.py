"""Training a generator on a folder of images: dataset checks, train -> resume -> export -> walk."""
from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from dreamrooms.commands import main as cli
from dreamrooms.shot import exr
from dreamrooms.walk import latent
from dreamrooms.shot import Shot

train_gan = pytest.importorskip("dreamrooms.training.gan")
from dreamrooms.training import photos  # noqa: E402


def draw_dataset(folder: Path, n: int = 40, size: int = 48) -> Path:
    """Procedural 'photos': a soft disc of random colour on a dark random background."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        rng = np.random.default_rng(i)
        img = np.zeros((size, size, 3), np.uint8)
        img[:] = rng.integers(20, 90, 3)
        c = tuple(int(v) for v in rng.integers(120, 255, 3))
        cx, cy, r = (int(v) for v in (rng.integers(14, 34), rng.integers(14, 34), rng.integers(6, 14)))
        cv2.circle(img, (cx, cy), r, c, -1, lineType=cv2.LINE_AA)
        cv2.imwrite(str(folder / f"img_{i:03d}.png"), img)
    return folder


def run_cli(*args: str) -> int:
    return cli.main(["--progress", "none", *args])


# ---- dataset checks ---------------------------------------------------------------------------------
def test_dataset_loads_as_minus1_to_1(tmp_path):
    ds = draw_dataset(tmp_path / "ds", n=12)
    x = photos.load_images(ds, 32)
    assert x.shape == (12, 3, 32, 32) and x.dtype == np.float32
    assert -1.0 <= x.min() and x.max() <= 1.0
    # RGB order: compare with the file read by OpenCV (BGR)
    ref = cv2.resize(cv2.imread(str(ds / "img_000.png")), (32, 32), interpolation=cv2.INTER_AREA)
    assert np.abs((x[0].transpose(1, 2, 0) + 1) * 127.5 - ref[..., ::-1]).max() < 1.0


@pytest.mark.parametrize("case,match", [
    ("empty", "no images found"),
    ("few", "only 4 image"),
    ("unreadable", "unreadable image file"),
    ("tiny", "smaller than 16px"),
    ("notdir", "not a folder"),
])
def test_dataset_errors_are_clear(tmp_path, capsys, case, match):
    ds = tmp_path / "ds"
    if case == "empty":
        ds.mkdir()
        (ds / "notes.txt").write_text("no images here")
    elif case == "few":
        draw_dataset(ds, n=4)
    elif case == "unreadable":
        draw_dataset(ds, n=12)
        (ds / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    elif case == "tiny":
        draw_dataset(ds, n=12)
        cv2.imwrite(str(ds / "thumb.png"), np.zeros((10, 12, 3), np.uint8))
    out = tmp_path / "model"
    rc = run_cli("train", str(ds), "--out", str(out), "--size", "32", "--steps", "2")
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1
    assert err[-1].startswith("dreamrooms: error:") and match in err[-1], err
    if case in ("unreadable", "tiny"):
        assert ("broken.jpg" if case == "unreadable" else "thumb.png") in err[-1]
    assert not out.exists()  # nothing written


def test_modes_converted_with_warning_or_refused(tmp_path, capsys):
    ds = draw_dataset(tmp_path / "ds", n=12)
    gray = (np.arange(48 * 48).reshape(48, 48) % 256).astype(np.uint8)
    cv2.imwrite(str(ds / "gray.png"), gray)
    rgba = np.zeros((48, 48, 4), np.uint8)
    rgba[..., 2] = 255  # red (BGR order)
    rgba[:, :24, 3] = 255  # left half opaque, right half transparent
    cv2.imwrite(str(ds / "cutout.png"), rgba)
    x = photos.load_images(ds, 32)
    err = capsys.readouterr().err
    assert "1 grayscale image(s) replicated to RGB: gray.png" in err
    assert "1 transparent (alpha) image(s) composited over white: cutout.png" in err
    files = [p.name for p in photos.list_images(ds)]
    g = x[files.index("gray.png")]
    assert np.allclose(g[0], g[1]) and np.allclose(g[1], g[2])
    c = x[files.index("cutout.png")]
    assert np.allclose(c[:, :, 2], [[1.0], [-1.0], [-1.0]], atol=0.02)  # opaque red stays red
    assert np.allclose(c[:, :, -3], 1.0, atol=0.02)  # transparent becomes white
    with pytest.raises(photos.DatasetError, match="--strict-modes"):
        photos.load_images(ds, 32, strict_modes=True)


def test_jpeg_component_count(tmp_path):
    cv2.imwrite(str(tmp_path / "c.jpg"), np.full((16, 16, 3), 128, np.uint8))
    cv2.imwrite(str(tmp_path / "g.jpg"), np.full((16, 16), 128, np.uint8))
    assert photos._jpeg_components(tmp_path / "c.jpg") == 3
    assert photos._jpeg_components(tmp_path / "g.jpg") == 1
    cv2.imwrite(str(tmp_path / "p.png"), np.zeros((4, 4, 3), np.uint8))
    assert photos._jpeg_components(tmp_path / "p.png") is None


def test_help_works_without_torch():
    code = ("import sys; sys.modules['torch'] = None\n"
            "from dreamrooms.commands import main as cli\n"
            "import dreamrooms.commands.train\n"
            "assert sys.modules['torch'] is None\n"
            "try:\n    cli.main(['train', '--help'])\nexcept SystemExit as e:\n    assert e.code == 0\n")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "IMAGES_DIR" in r.stdout and "--resume" in r.stdout
    r = subprocess.run([sys.executable, "-c", "import sys; sys.modules['torch'] = None\nfrom dreamrooms.commands import main as cli\n"
                        "sys.exit(cli.main(['train', 'x', '--out', 'y']))"], capture_output=True, text=True)
    assert r.returncode == 1 and "training needs torch" in r.stderr, r.stderr


# ---- train -> resume -> export -> walk --------------------------------------------------------------
def test_train_resume_export_walk_end_to_end(tmp_path):
    import onnxruntime as ort
    import torch

    from dreamrooms import models
    from dreamrooms.training import export as export_gan

    ds = draw_dataset(tmp_path / "photos", n=40)
    mdir = tmp_path / "mine"
    common = ["--size", "32", "--batch", "8", "--latent-dim", "16", "--channels", "32", "--checkpoint-every", "15"]
    assert run_cli("train", str(ds), "--out", str(mdir), "--steps", "30", *common) == 0
    assert sorted(p.name for p in (mdir / "samples").iterdir()) == ["step-000015.png", "step-000030.png"]
    grid = cv2.imread(str(mdir / "samples" / "step-000030.png"))
    assert grid.shape == (128, 128, 3) and grid.std() > 5  # 4x4 grid of 32x32 samples, not blank
    # running again without --resume refuses to clobber the run
    assert run_cli("train", str(ds), "--out", str(mdir), "--steps", "30", *common) == 1
    # resume continues from step 30 to 45
    assert run_cli("train", str(ds), "--out", str(mdir), "--steps", "45", "--resume", *common) == 0
    rows = list(csv.DictReader(open(mdir / "loss.csv")))
    assert [int(r["step"]) for r in rows] == list(range(1, 46))
    assert all(np.isfinite(float(r["d_loss"])) and np.isfinite(float(r["g_loss"])) for r in rows)
    ck = train_gan.load_checkpoint(mdir)
    assert ck["step"] == 45 and ck["config"]["latent_dim"] == 16
    # resume with a different architecture is refused
    assert run_cli("train", str(ds), "--out", str(mdir), "--steps", "60", "--resume", "--size", "64",
                   "--latent-dim", "16", "--channels", "32") == 1
    # fine-tune from it into a new folder
    assert run_cli("train", str(ds), "--out", str(tmp_path / "tuned"), "--steps", "2", "--from", str(mdir), *common) == 0

    # export: ONNX + models.toml, independently re-checked against torch
    assert run_cli("train", "export", str(mdir)) == 0
    entries = models.load_manifest(mdir / "models.toml")
    entry = entries["mine"]
    assert entry.kind == "generator" and entry.path == mdir / "generator.onnx"
    assert entry.generator["native_size"] == [32, 32] and entry.generator["latent_dim"] == 16
    assert entry.sha256 == models.sha256_file(mdir / "generator.onnx")
    cfg = train_gan.TrainConfig(**ck["config"])
    g, _ = train_gan.build_models(cfg)
    g.load_state_dict(ck["g_ema"])
    g.eval()
    z = np.random.default_rng(123).standard_normal((5, 16)).astype(np.float32)
    with torch.no_grad():
        want = g(torch.from_numpy(z)).numpy()
    got = ort.InferenceSession(str(entry.path), providers=["CPUExecutionProvider"]).run(["image"], {"z": z})[0]
    assert got.shape == (5, 3, 32, 32) and np.abs(got - want).max() <= 1e-3
    assert float(entry.raw["max_abs_error_vs_torch"]) <= 1e-3
    assert export_gan.TOLERANCE == 1e-3

    # walk the trained model by its folder and by its .onnx path
    shot_dir = tmp_path / "shot"
    assert run_cli("walk", "--model", str(mdir), "--out", str(shot_dir), "--frames", "24", "--seeds", "1,2,3", "--loop") == 0
    shot = Shot.load(shot_dir)
    assert (shot.width, shot.height) == (32, 32)
    assert shot.provenance.models[0]["name"] == "mine" and shot.provenance.models[0]["sha256"] == entry.sha256
    frames = np.stack([exr.read_frame(shot.frame_path("walk", f))["RGBA"].astype(np.float32) for f in shot.frames])
    steps = latent.path_speed(frames)
    apart = np.mean([np.abs(frames[0] - frames[8]).mean(), np.abs(frames[8] - frames[16]).mean()])
    assert 0 < steps.max() < apart  # moves, and consecutive frames are closer than keyframes
    assert run_cli("walk", "--model", str(mdir / "generator.onnx"), "--out", str(tmp_path / "shot2"),
                   "--frames", "2", "--size", "64x64") == 0
    assert Shot.load(tmp_path / "shot2").width == 64


def test_resume_and_export_need_a_checkpoint(tmp_path, capsys):
    ds = draw_dataset(tmp_path / "ds", n=12)
    assert run_cli("train", str(ds), "--out", str(tmp_path / "m"), "--resume", "--steps", "3", "--size", "32") == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert run_cli("train", "export", str(tmp_path / "m")) == 1
    assert "no checkpoint" in capsys.readouterr().err
    assert run_cli("walk", "--model", str(tmp_path / "ds"), "--out", str(tmp_path / "s"), "--frames", "2") == 1
    assert "models.toml" in capsys.readouterr().err


def test_diff_augment_is_differentiable_and_changes_images():
    import torch

    gen = torch.Generator().manual_seed(0)
    x = torch.rand(4, 3, 16, 16, requires_grad=True) * 2 - 1
    x.retain_grad()
    y = train_gan.diff_augment(x, "color,translation,cutout", gen)
    assert y.shape == x.shape and not torch.allclose(y, x)
    y.sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and (x.grad != 0).any()
    # cutout zeroes a square of about a quarter of the image
    z = train_gan.diff_augment(torch.ones(8, 3, 16, 16), "cutout", gen)
    frac = (z == 0).float().mean().item()
    assert 0.15 < frac < 0.4
    with pytest.raises(train_gan.TrainError, match="unknown augmentation"):
        train_gan.diff_augment(x, "rotate", gen)
