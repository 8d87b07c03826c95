"""`make_masks`: mattes written into a shot as sequences, resumable, nothing partial on failure."""
from __future__ import annotations

import json

import numpy as np
import pytest

import _layer_scenes as S
import _mask_fixtures as F
from dreamrooms.shot import exr
from dreamrooms.errors import DreamroomsError
from dreamrooms.mask import matte as M
from dreamrooms.mask import models as MM
from dreamrooms.mask.run import make_masks
from dreamrooms.shot import Shot


@pytest.fixture
def clip(tmp_path):
    shot, truth = S.write_clip_shot(tmp_path / "shot")
    return tmp_path / "shot", truth


def test_from_depth_writes_mask_sequences_into_the_shot(clip):
    folder, truth = clip
    res = make_masks(folder, folder, from_depth=True)
    assert res.processed == [1, 2, 3, 4] and res.registered
    shot = Shot.load(folder)                      # every registered frame is on disk
    seq = shot.sequences["mask_foreground"]
    assert seq.pattern == "masks/clip_foreground.####.exr" and seq.channels == ["Y"]
    assert seq.meta["kind"] == "mask" and seq.meta["source"] == "depth"
    assert "mask.foreground" in shot.sequences["layers"].channels
    for n, oid in zip(shot.frames, truth):
        m = exr.read_frame(shot.frame_path("mask_foreground", n), ["Y"])["Y"]
        assert M.iou(m, oid > 0) > 0.95
        layered = exr.read_frame(shot.frame_path("layers", n))
        assert set(layered) == {"RGBA", "depth.Z", "mask.foreground"}
        assert np.array_equal(layered["mask.foreground"], m)


def test_rerun_resumes_exactly(clip):
    folder, _ = clip
    make_masks(folder, folder, from_depth=True)
    last = folder / "masks/clip_foreground.0004.exr"
    whole = exr.read_frame(last, ["Y"])["Y"]
    again = make_masks(folder, folder, from_depth=True)
    assert again.processed == []
    last.unlink()
    stale = folder / "masks/.clip_foreground.0004.exr.999.tmp"     # what a killed run was writing
    stale.write_bytes(b"half a frame")
    res = make_masks(folder, folder, from_depth=True)
    assert res.processed == [4] and res.skipped == 3 and not stale.exists()
    assert np.array_equal(exr.read_frame(last, ["Y"])["Y"], whole)
    with pytest.raises(DreamroomsError, match="other mask settings; pass --overwrite"):
        make_masks(folder, folder, from_depth=True, layers=2)


def test_bad_depth_frame_fails_in_one_line_and_leaves_nothing(clip):
    folder, _ = clip
    (folder / "depth/clip.0003.exr").write_bytes(b"not an exr")
    with pytest.raises(DreamroomsError) as err:
        make_masks(folder, folder, from_depth=True, frames="1-4")
    assert "clip.0003.exr" in str(err.value) and "\n" not in str(err.value)
    assert not (folder / "masks").exists()
    assert "mask_foreground" not in json.loads((folder / "shot.json").read_text())["sequences"]


def test_without_depth_the_error_names_the_fix(tmp_path, clip):
    folder, _ = clip
    data = json.loads((folder / "shot.json").read_text())
    del data["sequences"]["depth"]
    data["sequences"]["layers"]["channels"] = ["R", "G", "B", "A"]     # no depth.Z beside the colour either
    (folder / "shot.json").write_text(json.dumps(data))
    with pytest.raises(DreamroomsError, match="dreamrooms depth"):
        make_masks(folder, folder, from_depth=True)
    with pytest.raises(DreamroomsError, match="either --from-depth"):
        make_masks(folder, folder)


def test_mask_rcnn_model_from_the_registry(clip, mdir):
    folder, truth = clip
    srgb = S.render(S.scene(-0.7), 96, 54)[0]
    _, ratio = MM.maskrcnn_input(srgb)
    box, m28 = F.box_and_mask(truth[0] > 0, ratio)
    mdir.mkdir(parents=True)
    F.maskrcnn_onnx(mdir / "standin.onnx", [box], [1], [0.99], [m28])
    (mdir / "models.toml").write_text('[models.maskrcnn-test]\nkind = "mask"\nfile = "standin.onnx"\n'
                                      'license = "test"\n[models.maskrcnn-test.mask]\nfamily = "maskrcnn"\n')
    res = make_masks(folder, folder, model="maskrcnn-test", classes="person,dog")
    assert res.labels == ["person", "dog"]
    shot = Shot.load(folder)
    assert shot.sequences["mask_person"].meta["source"] == "maskrcnn-test"
    first = exr.read_frame(shot.frame_path("mask_person", 1), ["Y"])["Y"]
    assert M.iou(first, truth[0] > 0) > 0.85
    assert exr.read_frame(shot.frame_path("mask_dog", 1), ["Y"])["Y"].max() == 0.0


def test_mask_rcnn_per_instance(clip, mdir):
    folder, truth = clip
    srgb = S.render(S.scene(-0.7), 96, 54)[0]
    _, ratio = MM.maskrcnn_input(srgb)
    b1, m1 = F.box_and_mask(truth[0] == 1, ratio)
    b2, m2 = F.box_and_mask(truth[0] == 2, ratio)
    mdir.mkdir(parents=True)
    F.maskrcnn_onnx(mdir / "standin.onnx", [b1, b2], [1, 1], [0.99, 0.9], [m1, m2])
    (mdir / "models.toml").write_text('[models.mrcnn]\nkind = "mask"\nfile = "standin.onnx"\n[models.mrcnn.mask]\n'
                                      'family = "maskrcnn"\n')
    res = make_masks(folder, folder, model="mrcnn", instances=2, frames="1-1")
    assert res.labels == ["person_1", "person_2"] and not res.registered   # one frame of four: not recorded yet
    one = exr.read_frame(folder / "masks/clip_person_1.0001.exr", ["Y"])["Y"]
    two = exr.read_frame(folder / "masks/clip_person_2.0001.exr", ["Y"])["Y"]
    assert M.iou(one, truth[0] == 1) > 0.85 and M.iou(two, truth[0] == 2) > 0.85


def test_a_mask_model_entry_must_name_its_family(clip, mdir):
    folder, _ = clip
    mdir.mkdir(parents=True)
    F.lama_onnx(mdir / "x.onnx")
    (mdir / "models.toml").write_text('[models.mine]\nkind = "mask"\nfile = "x.onnx"\n')
    with pytest.raises(DreamroomsError, match=r"\[models.mine.mask\] family = one of maskrcnn, birefnet"):
        make_masks(folder, folder, model="mine")
    (mdir / "models.toml").write_text('[models.mine]\nkind = "mask"\nfile = "x.onnx"\n[models.mine.mask]\nfamily = "maskrcnn"\n')
    with pytest.raises(DreamroomsError, match="x.onnx.*Mask R-CNN takes one float 3xHxW image"):
        make_masks(folder, folder, model="mine")
    assert not (folder / "masks").exists()


def test_footage_given_as_an_image_sequence(clip, tmp_path):
    import cv2

    folder, truth = clip
    (tmp_path / "png").mkdir()
    for k in range(4):
        srgb = S.render(S.scene(-0.7 + 0.15 * k), 96, 54)[0]
        cv2.imwrite(str(tmp_path / f"png/f.{k + 1:04d}.png"), (srgb[..., ::-1] * 255 + 0.5).astype(np.uint8))
    res = make_masks(tmp_path / "png/f.####.png", folder, from_depth=True)
    assert res.registered
    m = exr.read_frame(folder / "masks/clip_foreground.0003.exr", ["Y"])["Y"]
    assert M.iou(m, truth[2] > 0) > 0.95
    small = tmp_path / "small"
    small.mkdir()
    cv2.imwrite(str(small / "f.0001.png"), np.zeros((10, 20, 3), np.uint8))
    with pytest.raises(DreamroomsError, match="20x10 but the shot .* is 96x54"):
        make_masks(small, folder, from_depth=True, overwrite=True)
