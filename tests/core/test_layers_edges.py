"""The depth-edge cut (dreamrooms.layers.edges / behind / split_at_edges) on a synthetic grounded scene: a box
standing on a floor before a wall.  The floor and the box it carries are never cut apart, nor the floor from
the wall; the box's silhouette against what lies behind is; the far side continues along its own surface."""
from __future__ import annotations

import numpy as np
import pytest

from dreamrooms.colour import linear_to_srgb
from dreamrooms.depth import stabilize as stab
from dreamrooms.layers import behind as BH
from dreamrooms.layers import edges as ED
from dreamrooms.layers import fill as FL
from dreamrooms.layers import split as SP
from dreamrooms.training import synth

W, H = 160, 90


def _scene(with_box=True):
    floor = synth.Quad((0.0, 4.0, 0.0), (30.0, 0.0, 0.0), (0.0, 5.0, 0.0),
                       synth.Texture("checker", (0.85, 0.8, 0.7), (0.25, 0.2, 0.15), 2.0))
    wall = synth.Quad((0.0, 9.0, 10.0), (30.0, 0.0, 0.0), (0.0, 0.0, 10.0),
                      synth.Texture("marble", (0.8, 0.7, 0.5), (0.3, 0.35, 0.5), scale=1.5, seed=3))
    objs = [floor, wall]
    if with_box:   # resting on the floor: its bottom at z = 0
        objs.append(synth.Box((0.3, 4.0, 0.6), (1.0, 1.0, 1.2), 0.4,
                              synth.Texture("stripes", (0.2, 0.8, 0.3), (0.05, 0.3, 0.1), 5.0)))
    return synth.Scene(objects=objs, lights=[], ambient=(1.0, 1.0, 1.0), shadows=False)


def _render(with_box=True):
    cam = synth.Camera.look_at((0.0, -1.0, 1.6), (0.0, 6.0, 0.6), lens_mm=24.0)
    rgb, depth, extra = synth.render_scene(_scene(with_box), cam, W, H, extras=True)
    return linear_to_srgb(rgb), depth.astype(np.float32), extra["object_id"]


@pytest.fixture(scope="module")
def room():
    return _render(), _render(False)


def test_cut_only_where_depth_jumps(room):
    (_, depth, oid), _ = room
    e = ED.detect(depth)
    box = oid == 2
    assert e.near.any() and np.all(box[e.near])                      # the near side is always the box
    ys, xs = np.nonzero(box)
    bottom = ys.max()
    # the box's lowest rows stand on the floor: no cut where it touches it
    assert not e.near[bottom - 1:bottom + 1].any()
    # the floor meets the wall in a crease: no cut there (nothing but the box is ever on a cut)
    assert not (e.far & ~ED._shift(box, 0, 0, False) & (oid == 0) & (np.abs(np.gradient(depth)[0]) > 1)).any()
    # the box's sides and top are cut all along
    side_rows = range(ys.min() + 2, bottom - 8)
    assert all(e.near[r].any() for r in side_rows)


def test_cut_ignores_the_noise_of_a_relative_depth_model(room):
    (_, depth, oid), _ = room
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:H, 0:W] / max(H, W)
    warp = 3.0 * (1 + 0.2 * xx + 0.1 * yy)                # an unknown scale, slowly varying
    noisy = (depth * warp * (1 + 0.01 * rng.standard_normal(depth.shape))).astype(np.float32)
    e = ED.detect(noisy)
    assert e.near.sum() > 0.8 * ED.detect(depth).near.sum()
    assert np.mean((oid == 2)[e.near]) > 0.97                # no false cut on the floor or the wall


def test_far_side_continues_along_its_own_surface(room):
    (_, depth, oid), (_, bg_depth, _) = room
    e = ED.detect(depth)
    b = BH.behind(depth, e, max_parallax=8)
    band = b.band
    assert band.any() and np.all((oid == 2)[band])           # the band lies behind the box
    rel = np.abs(b.depth[band] - bg_depth[band]) / bg_depth[band]
    print(f"far surface behind the box: median error {100 * np.median(rel):.1f} %, within 5 %: {np.mean(rel < 0.05):.0%}")
    assert np.mean(rel < 0.05) > 0.8                         # the floor and the wall behind, not a constant
    assert np.ptp(b.depth[band]) > 1.0
    # the band widens with the parallax: per cut PX * (1 - z_near / z_far) + margin from its far edge pixel
    wide = BH.behind(depth, e, max_parallax=16).band
    assert np.all(wide[band]) and wide.sum() > band.sum()
    dist, qy, qx = BH._nearest(e.far)
    for px, sel in ((8, band), (16, wide)):
        limit = px * (1 - e.near_depth[qy, qx] / depth[qy, qx]) + BH.MARGIN
        assert np.all(dist[sel] <= limit[sel] + 0.5)
        assert np.any(dist[sel] > limit[sel] - 1.5)

def test_layers_give_the_frame_again_and_fill_from_the_far_side(room):
    (srgb, depth, oid), (bg, _, _) = room
    fills = [FL.TemporalFill(), FL.TemporalFill()]
    front, back = SP.split_at_edges(srgb, depth, fills, stab.grey_guide(srgb), max_parallax=12)
    assert np.abs(SP.composite([front, back]) - srgb).mean() < 0.003
    assert front.alpha.min() == 0.0 and np.mean(front.alpha) > 0.95      # opaque but for the cut
    # behind the box the fill is the background's colour, not the box's
    band = back.alpha > 0.5
    inside = band & (oid == 2)
    assert np.abs(back.srgb - bg)[inside].mean() < 0.5 * np.abs(srgb - bg)[inside].mean()
    # what the front layer leaves open, the behind layer covers (no hole to the world behind)
    assert np.all(back.alpha[front.alpha < 1] == 1.0)


def test_flat_frame_has_an_empty_behind_layer():
    srgb = np.full((H, W, 3), 0.5, np.float32)
    depth = np.full((H, W), 4.0, np.float32)
    front, back = SP.split_at_edges(srgb, depth, [FL.TemporalFill(), FL.TemporalFill()], stab.grey_guide(srgb))
    assert np.all(front.alpha == 1) and np.all(back.alpha == 0)


def test_sky_and_missing_depth_are_far_and_finite():
    srgb = np.full((H, W, 3), 0.5, np.float32)
    depth = np.full((H, W), 4.0, np.float32)
    depth[:30] = np.inf                     # sky
    depth[40:60, 70:90] = 2.0               # a thing in front
    depth[5, 5] = np.nan
    layers = SP.split_at_edges(srgb, depth, [FL.TemporalFill(), FL.TemporalFill()], stab.grey_guide(srgb),
                               max_parallax=6)
    for L in layers:
        assert np.isfinite(L.depth).all() and L.depth.min() > 0
    assert layers[1].alpha[30:40].max() == 1.0       # the wall's top edge against the sky is a cut
