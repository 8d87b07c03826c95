"""Mattes on synthetic scenes with known object masks: from depth, and through model stand-ins with the
exact I/O signatures of Mask R-CNN (ONNX zoo) and BiRefNet lite.  IoU numbers are printed (pytest -s)."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import _layer_scenes as S
import _mask_fixtures as F
from dreamrooms.depth import stabilize as stab
from dreamrooms.errors import ModelError
from dreamrooms.mask import matte as M
from dreamrooms.models import contracts
from dreamrooms.mask import models as MM


@pytest.fixture(scope="module")
def frame():
    return S.render(S.scene())


def test_depth_matte_finds_the_figures_at_the_depth_jump(frame):
    srgb, depth, oid = frame
    th = M.clip_thresholds([M.inverse_depth(depth)], 2)
    assert 1 / th[0] > 2.6 and 1 / th[0] < 7.0          # between the box (<= 2.9 m) and the wall (7 m)
    got = M.iou(M.depth_matte(depth, srgb, th), oid > 0)
    print(f"IoU depth matte (true depth): {got:.3f}")
    assert got > 0.97


def test_depth_matte_with_noisy_blurred_depth(frame):
    """Model-like depth: 4 % multiplicative noise and edges smeared over 3 px; still one clean figure matte."""
    import cv2

    srgb, depth, oid = frame
    rng = np.random.default_rng(1)
    u = cv2.GaussianBlur(M.inverse_depth(depth), (0, 0), 1.5) * (1 + 0.04 * rng.standard_normal(depth.shape))
    noisy = (1 / np.maximum(u, 1e-3)).astype(np.float32)
    th = M.clip_thresholds([M.inverse_depth(noisy)], 2)
    got = M.iou(M.depth_matte(noisy, srgb, th), oid > 0)
    print(f"IoU depth matte (noisy, blurred depth): {got:.3f}")
    assert got > 0.9


def test_three_layers_separate_sphere_box_and_wall(frame):
    srgb, depth, oid = frame
    th = M.clip_thresholds([M.inverse_depth(depth)], 3)
    idx = M.layer_index(M.inverse_depth(depth), th)
    assert M.iou(idx == 0, oid == 1) > 0.97 and M.iou(idx == 1, oid == 2) > 0.97 and M.iou(idx == 2, oid == 0) > 0.97


def test_refinement_snaps_a_shifted_depth_edge_to_the_colour_edge(frame):
    """Depth whose silhouette is 2 px off (upsampled model depth): the colour-guided matte is closer to the
    true silhouette than the hard split."""
    srgb, depth, oid = frame
    shifted = np.roll(depth, 2, axis=1)
    th = M.clip_thresholds([M.inverse_depth(shifted)], 2)
    hard = M.layer_index(M.inverse_depth(shifted), th) < 1
    soft = M.refine(hard, srgb, radius=4, eps=1e-4)
    assert M.iou(soft, oid > 0) > M.iou(hard, oid > 0) + 0.01
    assert M.iou(M.edge_alpha(srgb, hard), oid > 0) > M.iou(hard, oid > 0) + 0.05    # what depth_matte uses


def test_temporal_filter_steadies_noise_and_follows_motion():
    rng = np.random.default_rng(0)
    outs, ins, truth = [], [], []
    filt = M.MatteFilter()
    for i in range(6):
        srgb, depth, oid = S.render(S.scene(-0.6 + 0.12 * i))
        clean = (oid > 0).astype(np.float32)
        noisy = np.clip(clean + 0.15 * rng.standard_normal(clean.shape), 0, 1).astype(np.float32)
        ins.append(noisy)
        outs.append(filt(noisy, stab.grey_guide(srgb)))
        truth.append(clean)
    change = lambda seq: np.mean([np.abs(b - a)[(ta > 0) == (tb > 0)].mean()
                                  for a, b, ta, tb in zip(seq, seq[1:], truth, truth[1:])])
    assert change(outs) < 0.75 * change(ins)
    assert M.iou(outs[-1], truth[-1]) > 0.97      # the moving sphere is not left behind


def test_maskrcnn_input_matches_the_zoo_preprocessing():
    srgb = np.zeros((90, 160, 3), np.float32)
    srgb[..., 0] = 1.0                          # pure red
    x, ratio = MM.maskrcnn_input(srgb)
    assert ratio == pytest.approx(800 / 90)
    assert x.shape == (3, 800, 1440)            # 1422 wide, padded to a multiple of 32
    assert x[:, 10, 10] == pytest.approx([-102.9801, -115.9465, 255 - 122.7717], abs=1e-3)   # BGR minus mean
    assert np.all(x[:, :, 1422:] == 0)


def test_maskrcnn_stand_in_mattes_match_the_known_objects(tmp_path, frame):
    srgb, depth, oid = frame
    _, ratio = MM.maskrcnn_input(srgb)
    b1, m1 = F.box_and_mask(oid == 1, ratio)
    b2, m2 = F.box_and_mask(oid == 2, ratio)
    path = F.maskrcnn_onnx(tmp_path / "MaskRCNN-10.onnx", [b1, b2, b1], [1, 1, MM.COCO_CLASSES.index("chair")], [0.98, 0.9, 0.95], [m1, m2, m1])
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    contracts.check_family_io("mask", "maskrcnn", sess, str(path))
    mattes = MM.run_family("maskrcnn", sess, srgb, MM.parse_classes("person,chair"))
    assert sorted(mattes) == ["chair", "person"]
    person = M.iou(mattes["person"], oid > 0)
    chair = M.iou(mattes["chair"], oid == 1)
    print(f"IoU Mask R-CNN stand-in: person (sphere + box) {person:.3f}, chair (sphere) {chair:.3f}")
    assert person > 0.85 and chair > 0.85
    low = MM.run_family("maskrcnn", sess, srgb, [1], min_score=0.95)   # the box's 0.9 is below the cut
    assert M.iou(low["person"], oid == 1) > 0.85


def test_wrong_signatures_are_refused(tmp_path):
    path = F.lama_onnx(tmp_path / "lama.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for fam in ("maskrcnn", "birefnet"):
        with pytest.raises(ModelError, match="lama.onnx"):
            contracts.check_family_io("mask", fam, sess, str(path))
    contracts.check_family_io("inpaint", "lama", sess, str(path))
    with pytest.raises(ModelError, match="family 'sam'"):
        contracts.check_family_io("mask", "sam", sess, str(path))
    with pytest.raises(MM.MaskModelError, match="unknown class 'persn'"):
        MM.parse_classes("persn")


def test_birefnet_stand_in_finds_the_red_subject(tmp_path, frame):
    srgb, depth, oid = frame
    path = F.birefnet_onnx(tmp_path / "birefnet.onnx")
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    contracts.check_family_io("mask", "birefnet", sess, str(path))
    m = MM.run_family("birefnet", sess, srgb)["subject"]
    assert m.shape == depth.shape and 0.0 <= m.min() and m.max() <= 1.0
    got = M.iou(m, oid == 1)
    print(f"IoU BiRefNet stand-in (red sphere): {got:.3f}")
    assert got > 0.85


def test_instance_slots_keep_their_labels_over_time():
    h, w = 40, 60
    def blob(x):
        m = np.zeros((h, w), np.float32)
        m[10:30, x:x + 10] = 1.0
        return m
    slots = MM.InstanceSlots([1], 2)
    assert slots.labels == ["person_1", "person_2"]
    a = slots([MM.Instance(1, 0.9, (0, 0, 0, 0), blob(5)), MM.Instance(1, 0.8, (0, 0, 0, 0), blob(40))], h, w)
    assert a["person_1"][20, 8] == 1 and a["person_2"][20, 43] == 1
    # next frame: both moved 2 px and the detector lists them the other way round (scores swapped)
    b = slots([MM.Instance(1, 0.95, (0, 0, 0, 0), blob(42)), MM.Instance(1, 0.7, (0, 0, 0, 0), blob(7))], h, w)
    assert b["person_1"][20, 10] == 1 and b["person_2"][20, 45] == 1
    # one leaves: its slot goes empty, the other keeps its label
    c = slots([MM.Instance(1, 0.9, (0, 0, 0, 0), blob(44))], h, w)
    assert c["person_1"].max() == 0 and c["person_2"][20, 47] == 1
