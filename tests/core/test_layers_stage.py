"""`make_layers`: depth layers written into a shot as sequences AE and Blender find, resumable."""
from __future__ import annotations

import json

import numpy as np
import pytest

import _layer_scenes as S
from dreamrooms.shot import exr
from dreamrooms.errors import DreamroomsError
from dreamrooms.layers.run import make_layers
from dreamrooms.mask.run import make_masks
from dreamrooms.shot import Shot


@pytest.fixture
def clip(tmp_path):
    shot, truth = S.write_clip_shot(tmp_path / "shot")
    return tmp_path / "shot", truth


def _over(shot, n, count):
    out = None
    for k in reversed(range(count)):
        rgba = exr.read_frame(shot.frame_path(f"layer{k}", n), ["RGBA"])["RGBA"].astype(np.float32)
        out = rgba if out is None else rgba + out * (1 - rgba[..., 3:])
    return out


def test_layers_are_recorded_and_rebuild_the_frames(clip):
    folder, truth = clip
    res = make_layers(folder, count=3)
    assert res.processed == [1, 2, 3, 4] and len(res.thresholds) == 2
    shot = Shot.load(folder)
    for k in range(3):
        seq, dseq = shot.sequences[f"layer{k}"], shot.sequences[f"layer{k}_depth"]
        assert seq.pattern == f"layers/clip_layer{k}.####.exr" and seq.channels == ["R", "G", "B", "A"]
        assert seq.meta["kind"] == "layer" and seq.meta["index"] == k and seq.meta["count"] == 3
        assert seq.meta["depth_sequence"] == f"layer{k}_depth" and dseq.channels == ["Y"]
    for n, oid in zip(shot.frames, truth):
        frame = exr.read_frame(shot.frame_path("layers", n), ["RGBA"])["RGBA"].astype(np.float32)
        assert np.abs(_over(shot, n, 3)[..., :3] - frame[..., :3]).mean() < 0.01
        back = exr.read_frame(shot.frame_path("layer2_depth", n), ["Y"])["Y"]
        assert np.abs(back[oid > 0] - 7.0).max() < 0.05     # the wall continues behind the figures
        front_a = exr.read_frame(shot.frame_path("layer0", n), ["RGBA"])["RGBA"][..., 3]
        assert ((front_a > 0.5) == (oid == 1)).mean() > 0.99


def test_rerun_and_resume(clip, tmp_path):
    """A run stopped after frame 2 and resumed writes what an uninterrupted run writes (every layer: the fills
    carried from frame to frame are only what the files keep)."""
    import shutil

    folder, _ = clip
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    make_layers(folder, count=3)
    assert make_layers(folder, count=3).processed == []
    make_layers(other, count=3, frames="1-2")
    res = make_layers(other, count=3)
    assert res.processed == [3, 4] and res.skipped == 2
    for k in range(3):
        for n in (3, 4):
            name = f"layers/clip_layer{k}.{n:04d}.exr"
            a = exr.read_frame(folder / name, ["RGBA"])["RGBA"].astype(np.float32)
            b = exr.read_frame(other / name, ["RGBA"])["RGBA"].astype(np.float32)
            assert np.abs(a - b).max() < 2e-3, (k, n)
    with pytest.raises(DreamroomsError, match="--count 1"):
        make_layers(folder, count=1)


def test_other_settings_stop_with_the_fix_and_overwrite_redoes(clip):
    folder, _ = clip
    make_layers(folder, count=2, inpaint="telea")
    with pytest.raises(DreamroomsError, match="other layers settings; pass --overwrite"):
        make_layers(folder, count=2, inpaint="ns")
    assert make_layers(folder, count=2, inpaint="ns", overwrite=True).processed == [1, 2, 3, 4]
    assert Shot.load(folder).sequences["layer0"].meta["inpaint"] == "ns"


def test_from_masks_needs_masks_then_uses_them(clip):
    folder, truth = clip
    with pytest.raises(DreamroomsError, match="dreamrooms mask"):
        make_layers(folder, from_masks=True)
    make_masks(folder, folder, from_depth=True)
    res = make_layers(folder, from_masks=True)
    shot = Shot.load(folder)
    assert shot.sequences["layer0"].meta["split"] == "masks" and "layer2" not in shot.sequences
    a = exr.read_frame(shot.frame_path("layer0", 2), ["RGBA"])["RGBA"][..., 3]
    assert ((a > 0.5) == (truth[1] > 0)).mean() > 0.99
    assert res.processed == [1, 2, 3, 4]


def test_a_bad_frame_leaves_nothing(clip):
    folder, _ = clip
    (folder / "layers/clip.0002.exr").write_bytes(b"broken")
    with pytest.raises(DreamroomsError, match="clip.0002.exr"):
        make_layers(folder, count=2)
    assert not list((folder / "layers").glob("clip_layer*"))
    assert "layer0" not in json.loads((folder / "shot.json").read_text())["sequences"]


def test_inpaint_lama_uses_the_registered_export(clip, mdir):
    """--inpaint lama: a model with the Carve/LaMa-ONNX signature fills the hidden colour (here a stand-in that
    paints one colour); depth is still extended from the wall."""
    import cv2

    import _mask_fixtures as F
    from dreamrooms.colour import srgb_to_linear

    folder, truth = clip
    mdir.mkdir(parents=True)
    F.lama_onnx(mdir / "lama_fp32.onnx", colour=(0.25, 0.5, 0.75))
    (mdir / "models.toml").write_text('[models.lama]\nkind = "inpaint"\nfile = "lama_fp32.onnx"\n'
                                      '[models.lama.inpaint]\nfamily = "lama"\n')
    make_layers(folder, count=3, inpaint="lama", frames="1-1")
    back = exr.read_frame(folder / "layers/clip_layer2.0001.exr", ["RGBA"])["RGBA"].astype(np.float32)
    inner = cv2.erode((truth[0] == 1).astype(np.uint8), np.ones((5, 5), np.uint8)) > 0   # well inside the sphere
    assert np.abs(back[inner][:, :3] - srgb_to_linear(np.array([0.25, 0.5, 0.75]))).max() < 0.01
    d = exr.read_frame(folder / "depth/clip_layer2.0001.exr", ["Y"])["Y"]
    assert np.abs(d[inner] - 7.0).max() < 0.05


def test_inpaint_lama_refuses_another_signature(clip, mdir):
    import _mask_fixtures as F

    folder, _ = clip
    mdir.mkdir(parents=True)
    F.maskrcnn_onnx(mdir / "lama_fp32.onnx", [[0, 0, 1, 1]], [1], [0.9], [np.zeros((28, 28))])
    (mdir / "models.toml").write_text('[models.lama]\nkind = "inpaint"\nfile = "lama_fp32.onnx"\n'
                                      '[models.lama.inpaint]\nfamily = "lama"\n')
    with pytest.raises(DreamroomsError, match="lama_fp32.onnx.*Carve/LaMa-ONNX"):
        make_layers(folder, count=2, inpaint="lama")
    assert not list((folder / "layers").glob("clip_layer*"))


def test_depth_without_any_valid_value_is_one_line(clip):
    folder, _ = clip
    shot = Shot.load(folder)
    for n in shot.frames:
        exr.write_frame(shot.frame_path("depth", n), {"Y": np.full((54, 96), np.inf, np.float32)})
    with pytest.raises(DreamroomsError, match="no finite positive depth"):
        make_layers(folder, count=2)


def test_default_cuts_at_depth_edges_and_records_the_parallax(clip, run_cli, tmp_path):
    """`dreamrooms layers SHOT` (no --count): two layers, the front surface (opaque but for the cut) and the far
    side behind it; the band's parallax is recorded; a rerun with another one stops with the fix."""
    import shutil

    folder, truth = clip
    resumed = tmp_path / "resumed"
    shutil.copytree(folder, resumed)
    code, out, err = run_cli("layers", folder, "--max-parallax", "6")
    assert code == 0, err
    shot = Shot.load(folder)
    for k in range(2):
        meta = shot.sequences[f"layer{k}"].meta
        assert meta["split"] == "edges" and meta["count"] == 2 and meta["max_parallax"] == 6.0
        assert meta["pad_px"] == 6                           # the frame border extends by the parallax
    assert "layer2" not in shot.sequences
    from dreamrooms.reveal import layer_parallax

    assert layer_parallax(shot) == 6.0                       # what room and reveal compare a move with
    p = 6
    for n, oid in zip(shot.frames, truth):
        frame = exr.read_frame(shot.frame_path("layers", n), ["RGBA"])["RGBA"].astype(np.float32)
        over = _over(shot, n, 2)
        assert over.shape[:2] == (frame.shape[0] + 2 * p, frame.shape[1] + 2 * p)
        assert np.all(over[..., 3] > 0.999)                  # opaque out to the extended border
        assert np.abs(over[p:-p, p:-p, :3] - frame[..., :3]).mean() < 0.01
        back_a = exr.read_frame(shot.frame_path("layer1", n), ["RGBA"])["RGBA"][p:-p, p:-p, 3]
        assert back_a[oid > 0].mean() > 0.2                 # the band reaches behind the figures
        back = exr.read_frame(shot.frame_path("layer1_depth", n), ["Y"])["Y"][p:-p, p:-p]
        behind = (back_a > 0.5) & (oid > 0)
        assert np.median(np.abs(back[behind] - 7.0)) < 0.2   # ... at the wall's depth, not the figures'
    with pytest.raises(DreamroomsError, match="other layers settings; pass --overwrite"):
        make_layers(folder, max_parallax=9)
    # resumed after frame 2: what an uninterrupted run writes
    make_layers(resumed, max_parallax=6, frames="1-2")
    assert make_layers(resumed, max_parallax=6).processed == [3, 4]
    for n in (3, 4):
        name = f"layers/clip_layer1.{n:04d}.exr"
        a = exr.read_frame(folder / name, ["RGBA"])["RGBA"].astype(np.float32)
        b = exr.read_frame(resumed / name, ["RGBA"])["RGBA"].astype(np.float32)
        assert np.abs(a - b).max() < 2e-3


def test_max_parallax_is_for_the_edge_cut(clip, run_cli):
    folder, _ = clip
    code, out, err = run_cli("layers", folder, "--max-parallax", "6", "--count", "3")
    assert code == 1 and "--max-parallax" in err and len(err.strip().splitlines()) == 1
    code, out, err = run_cli("layers", folder, "--max-parallax", "0")
    assert code == 1 and "--max-parallax" in err
    assert not (folder / "layers" / "clip_layer0.0001.exr").exists()


def test_fills_start_afresh_at_a_cut(clip):
    """Frames after a cut (Shot.cuts) are filled as if the clip began there: nothing is carried over."""
    import shutil

    folder, _ = clip
    alone = folder.parent / "alone"
    shutil.copytree(folder, alone)
    shot = Shot.load(folder)
    shot.cuts = [3]
    shot.save()
    make_layers(folder)
    make_layers(alone, frames="3-4")
    for n in (3, 4):
        name = f"layers/clip_layer1.{n:04d}.exr"
        a = exr.read_frame(folder / name, ["RGBA"])["RGBA"].astype(np.float32)
        b = exr.read_frame(alone / name, ["RGBA"])["RGBA"].astype(np.float32)
        assert np.abs(a - b).max() < 1e-3, n
    c = exr.read_frame(folder / "layers/clip_layer1.0002.exr", ["RGBA"])["RGBA"]   # before the cut: written
    assert c[..., 3].max() == 1.0


def test_auto_inpaint_takes_lama_when_installed(clip, mdir, tmp_path):
    """The default colour fill is LaMa when its model is installed, OpenCV Telea otherwise (recorded)."""
    import shutil

    import _mask_fixtures as F

    folder, truth = clip
    other = tmp_path / "other"
    shutil.copytree(folder, other)
    make_layers(other)
    assert Shot.load(other).sequences["layer1"].meta["inpaint"] == "telea"
    mdir.mkdir(parents=True)
    F.lama_onnx(mdir / "lama_fp32.onnx", colour=(0.25, 0.5, 0.75))
    (mdir / "models.toml").write_text('[models.lama]\nkind = "inpaint"\nfile = "lama_fp32.onnx"\n'
                                      '[models.lama.inpaint]\nfamily = "lama"\n')
    make_layers(folder)
    assert Shot.load(folder).sequences["layer1"].meta["inpaint"] == "lama"
    back = exr.read_frame(folder / "layers/clip_layer1.0001.exr", ["RGBA"])["RGBA"].astype(np.float32)
    p = Shot.load(folder).sequences["layer1"].meta["pad_px"]
    band = (back[p:-p, p:-p, 3] > 0.5) & (truth[0] == 1)
    from dreamrooms.colour import srgb_to_linear
    assert np.median(np.abs(back[p:-p, p:-p][band][:, :3] - srgb_to_linear(np.array([0.25, 0.5, 0.75]))), 0).max() < 0.02
