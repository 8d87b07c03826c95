"""Depth layers on synthetic scenes: the layers rebuild the frame, back layers are filled with the wall's
colour and depth (not the figures'), and fills are steadier than per-frame inpainting.  Flicker numbers are
printed (pytest -s)."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

import _layer_scenes as S
import _mask_fixtures as F
from dreamrooms.depth import stabilize as stab
from dreamrooms.layers import fill as FL
from dreamrooms.layers import split as SP
from dreamrooms.mask import matte as M


def _layers(srgb, depth, fills, count=3):
    th = M.clip_thresholds([M.inverse_depth(depth)], count)
    idx = SP.index_from_depth(depth, th)
    return SP.split_frame(srgb, depth, idx, count, fills, stab.grey_guide(srgb))


def test_layers_rebuild_the_frame_and_fill_the_back_with_the_wall():
    srgb, depth, oid = S.render(S.scene())
    wall, _, _ = S.render(S.scene(with_figures=False))
    layers = _layers(srgb, depth, [FL.TemporalFill() for _ in range(3)])
    assert [L.alpha.shape for L in layers] == [depth.shape] * 3
    assert np.abs(SP.composite(layers) - srgb).mean() < 0.005
    back = layers[-1]
    assert np.all(back.alpha == 1.0)
    hidden = oid > 0
    assert back.hole[hidden].all()
    # depth behind the figures continues the wall (7 m), never the figures' 1.6-2.9 m
    assert np.abs(back.depth[hidden] - 7.0).max() < 0.05
    # the filled colour is closer to the true wall than the figures were
    assert np.abs(back.srgb - wall)[hidden].mean() < 0.5 * np.abs(srgb - wall)[hidden].mean()
    # the front layer is the sphere only, its fringe filled with its own colour (no wall halo)
    front = layers[0]
    assert M.iou(front.alpha, oid == 1) > 0.95
    fringe = front.hole & (front.alpha > 0.05)
    assert fringe.any()


def test_from_masks_orders_layers_by_depth():
    srgb, depth, oid = S.render(S.scene())
    idx = SP.index_from_mattes([(oid == 2).astype(np.float32), (oid == 1).astype(np.float32)], depth)
    assert np.all(idx[oid == 1] == 0) and np.all(idx[oid == 2] == 1) and np.all(idx[oid == 0] == 2)


def test_temporal_fill_is_steadier_than_per_frame_inpainting():
    """A sphere crossing in front of a static wall, static camera: the wall behind it must not flicker."""
    wall, _, _ = S.render(S.scene(with_figures=False))
    result = {}
    for reuse in (False, True):
        fills = [FL.TemporalFill("telea", reuse=reuse) for _ in range(3)]
        backs, holes, errs = [], [], []
        for i in range(8):
            srgb, depth, _ = S.render(S.scene(-0.8 + 0.1 * i))
            back = _layers(srgb, depth, fills)[-1]
            backs.append(back.srgb)
            holes.append(back.hole)
            errs.append(np.abs(back.srgb - wall)[back.hole].mean())
        result[reuse] = (FL.fill_flicker(backs, holes), float(np.mean(errs)))
    print(f"fill flicker per-frame inpaint {result[False][0]:.4f} vs temporal {result[True][0]:.4f}; "
          f"error vs true wall {result[False][1]:.4f} vs {result[True][1]:.4f}")
    assert result[True][0] < 0.25 * result[False][0]
    assert result[True][1] <= result[False][1]


def test_inpaint_stays_within_the_known_range():
    """OpenCV 4.11's Telea on float32 overshoots wildly; the 16-bit path must not."""
    rng = np.random.default_rng(0)
    img = (0.25 + 0.5 * rng.random((40, 40, 3))).astype(np.float32)
    hole = np.zeros((40, 40), bool)
    hole[10:20, 10:20] = True
    for method in ("telea", "ns"):
        out = FL.inpaint(img, hole, method)
        assert out[hole].min() >= 0.25 - 1e-3 and out[hole].max() <= 0.75 + 1e-3
        assert np.array_equal(out[~hole], img[~hole])


def test_lama_fill_uses_the_network_only_in_the_hole(tmp_path):
    path = F.lama_onnx(tmp_path / "lama_fp32.onnx", colour=(0.25, 0.5, 0.75))
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    run = lambda image, mask: sess.run(None, {"image": image, "mask": mask})[0]
    rgb = np.full((90, 160, 3), 0.1, np.float32)
    hole = np.zeros((90, 160), bool)
    hole[30:60, 50:100] = True
    out = FL.lama_fill(run, rgb, hole)
    assert out[hole] == pytest.approx(np.tile([0.25, 0.5, 0.75], (int(hole.sum()), 1)), abs=1e-4)
    assert np.array_equal(out[~hole], rgb[~hole])


def test_edge_cut_fill_flickers_no_more_than_the_level_split():
    """The same crossing: the behind layer of the depth-edge cut (default) changes frame to frame no more
    than the back layer of the inverse-depth levels (before) over the pixels each fills in both frames."""
    wall, _, _ = S.render(S.scene(with_figures=False))
    flick = {}
    for split in ("levels", "edges"):
        fills = [FL.TemporalFill("telea") for _ in range(2)]
        backs, holes, errs = [], [], []
        for i in range(8):
            srgb, depth, _ = S.render(S.scene(-0.8 + 0.1 * i))
            if split == "edges":
                back = SP.split_at_edges(srgb, depth, fills, stab.grey_guide(srgb), max_parallax=8)[1]
                hole = back.hole & (back.alpha > 0.5)
            else:
                back = _layers(srgb, depth, fills, count=2)[-1]
                hole = back.hole
            backs.append(back.srgb)
            holes.append(hole)
            errs.append(np.abs(back.srgb - wall)[hole].mean())
        flick[split] = (FL.fill_flicker(backs, holes), float(np.mean(errs)))
    print(f"fill flicker levels {flick['levels'][0]:.4f} vs edges {flick['edges'][0]:.4f}; error vs the true wall "
          f"{flick['levels'][1]:.4f} vs {flick['edges'][1]:.4f}")
    assert flick["edges"][0] <= flick["levels"][0] * 1.05
    assert flick["edges"][1] <= flick["levels"][1] * 1.1
