"""Split one frame into N depth layers, nearest first, each with colour, alpha and depth.

Pixels are assigned to layers either at the clip's depth jumps (:func:`dreamrooms.mask.matte.clip_thresholds`)
or along mattes (:func:`index_from_mattes`).  Layer k then holds

* alpha: the soft coverage of "layer k or nearer" (refined along colour edges), limited to layer k's own
  pixels, a band of ``grow`` pixels reaching behind nearer layers (what a moving camera uncovers first) and
  the soft fringe at its own silhouette; the farthest layer is opaque everywhere;
* colour: the frame's own where the layer's pixels are clean (one pixel in from every boundary, so mixed
  edge colours never stay), filled everywhere else from those clean pixels only by
  :class:`~dreamrooms.layers.fill.TemporalFill`: the soft fringe takes the layer's own colour, no halo of
  what lies behind;
* depth: the frame's own on all of the layer's pixels (edge pixels have mixed colours but their own depth:
  extending the interior's depth instead moved a sphere's silhouette by 2-3 px in a 1.75 m dolly, -4 dB at
  the edges), extended from them everywhere else: where the layer is transparent its surface continues
  its own depth (no triangles stretched from its silhouette to the background).

Composited back to front at the original camera the layers give the frame again; seen from a moved camera
the back layers show a fill instead of stretched foreground.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dreamrooms.colour import srgb_to_linear
from dreamrooms.layers.fill import TemporalFill
from dreamrooms.mask.matte import edge_alpha, inverse_depth, layer_index


KEEP_ALPHA = 0.02
BEHIND_PUSH = 1.003   # the behind layer's depth factor (see split_at_edges)    # colour survives a premultiplied half-float file above this alpha (reused by the next frame)


@dataclass
class Layer:
    srgb: np.ndarray      # HxWx3 straight sRGB-encoded colour, filled where hidden
    alpha: np.ndarray     # HxW 0..1
    depth: np.ndarray     # HxW depth (larger is farther), extended where hidden
    hole: np.ndarray      # HxW bool: what was filled

    def rgba_linear(self) -> np.ndarray:
        """Scene-linear premultiplied RGBA (the shot's EXR convention)."""
        a = self.alpha[..., None]
        return np.concatenate([srgb_to_linear(self.srgb) * a, a], -1).astype(np.float32)


def default_grow(height: int, width: int) -> int:
    """Band behind nearer layers kept by middle layers: 4 % of the short side."""
    return max(2, round(0.04 * min(height, width)))


def index_from_mattes(mattes: Sequence[np.ndarray], depth: np.ndarray, threshold: float = 0.5) -> np.ndarray:
    """Layer index from mattes: each matte is a layer, ordered by its median depth (nearest first), and the
    rest of the frame is the last layer.  Where mattes overlap, the nearer one wins."""
    d = np.asarray(depth, np.float32)
    order = []
    for k, m in enumerate(mattes):
        sel = np.asarray(m) >= threshold
        med = float(np.median(d[sel])) if sel.any() else np.inf
        order.append((med, k))
    order.sort()
    idx = np.full(d.shape, len(mattes), np.int8)
    for rank, (_, k) in reversed(list(enumerate(order))):
        idx[np.asarray(mattes[k]) >= threshold] = rank
    return idx


def index_from_depth(depth: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    return layer_index(inverse_depth(depth), thresholds)


def _dilate(mask: np.ndarray, px: int) -> np.ndarray:
    import cv2

    if px <= 0:
        return mask
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(mask.astype(np.uint8), k) > 0


def split_frame(srgb: np.ndarray, depth: np.ndarray, idx: np.ndarray, count: int, fills: Sequence[TemporalFill],
                guide: np.ndarray, *, grow: int | None = None, radius: int | None = None) -> list[Layer]:
    """The `count` layers of one frame (nearest first); `fills[k]` keeps layer k's fill over time and
    `guide` is the frame as uint8 grey (:func:`dreamrooms.stabilize.grey_guide`)."""
    srgb = np.asarray(srgb, np.float32)
    depth = np.asarray(depth, np.float32)
    h, w = idx.shape
    grow = default_grow(h, w) if grow is None else grow
    layers = []
    for k in range(count):
        own = idx == k
        clean = own & ~_dilate(~own, 1)
        if k == count - 1:
            alpha = np.ones((h, w), np.float32)
        else:
            cover = edge_alpha(srgb, idx <= k, radius)
            support = own | (_dilate(own, grow) & (idx < k)) | _dilate(own, 2)
            alpha = np.where(support, cover, 0.0).astype(np.float32)
            if not own.any():
                alpha[:] = 0.0
        hole = ~clean     # filled from the layer's own clean pixels only, never from what lies around it
        if not clean.any():   # nothing of this layer in the frame: an empty, transparent layer
            layers.append(Layer(np.zeros_like(srgb), np.zeros((h, w), np.float32), depth.copy(), hole))
            continue
        rgb_f, d_f = fills[k](srgb, depth, hole, guide, known=clean, depth_hole=~own, keep=alpha > KEEP_ALPHA)
        layers.append(Layer(rgb_f, alpha, d_f, hole))
    return layers


def composite(layers: Sequence[Layer]) -> np.ndarray:
    """Back-to-front 'over' of the layers at the original camera, straight sRGB out (for checks)."""
    out = np.zeros_like(layers[0].srgb)
    for L in reversed(layers):
        a = L.alpha[..., None]
        out = L.srgb * a + out * (1.0 - a)
    return out


def finite_depth(depth: np.ndarray) -> np.ndarray:
    """Depth with nothing infinite, zero or undefined: such pixels (sky, missing values) are put twice as far
    as the farthest valid one, so they still cut from what stands before them."""
    d = np.asarray(depth, np.float32)
    ok = np.isfinite(d) & (d > 0)
    if ok.all():
        return d
    far = 2.0 * float(d[ok].max()) if ok.any() else 1.0
    return np.where(ok, d, np.float32(far)).astype(np.float32)


def split_at_edges(srgb: np.ndarray, depth: np.ndarray, fills: Sequence[TemporalFill], guide: np.ndarray, *,
                   max_parallax: float | None = None, edges=None) -> list[Layer]:
    """The front surface and what lies behind its depth edges (:mod:`.edges`, :mod:`.behind`), nearest first.

    Layer 0 is the whole frame, opaque but for the cut: a strip of far-side pixels along every depth edge,
    transparent, whose pixels next to the near side take the near depth (so no triangle of the displaced grid
    stretches visibly across the jump).  Layer 1 holds the far side around each cut (its own pixels, covering
    the strip) and the band behind the near side a camera within `max_parallax` pixels can see: the far
    surface's continued depth and colour filled from the far side only (`fills[1]` keeps it over time)."""
    from dreamrooms.layers import behind as bh
    from dreamrooms.layers import edges as ed

    srgb = np.asarray(srgb, np.float32)
    d = finite_depth(depth)
    h, w = d.shape
    px = bh.default_parallax(h, w) if max_parallax is None else max_parallax
    e = ed.detect(d) if edges is None else edges
    b = bh.behind(d, e, px)
    context = _dilate(b.strip, bh.CONTEXT) & ~b.hidden & ~e.near
    support = b.band | b.strip | context
    if not support.any():
        front = Layer(srgb.copy(), np.ones((h, w), np.float32), d.copy(), np.zeros((h, w), bool))
        return [front, Layer(np.zeros_like(srgb), np.zeros((h, w), np.float32), d.copy(), np.ones((h, w), bool))]
    hole = b.near_side | e.near | b.near_strip        # filled only from the far side's clean pixels
    alpha = support.astype(np.float32)
    rgb_f, _ = fills[1](srgb, d, hole, guide, known=~hole, depth_hole=np.zeros((h, w), bool), keep=alpha > KEEP_ALPHA)
    # the cut's edge pixels keep their own (mixed) colour: seen from the source the layers give the frame
    # again, anti-aliased silhouettes included (measured: better at depth jumps than a filled colour there)
    rgb_f = np.where(b.near_strip[..., None], srgb, rgb_f).astype(np.float32)
    fills[1].prev_rgb = rgb_f          # what the file keeps: a resumed run carries the same colours on
    front = Layer(srgb.copy(), (~b.strip).astype(np.float32), b.front_depth.astype(np.float32), b.strip.copy())
    # pushed back a little: where both layers hold the same far surface (around the cut) a ray leaving the
    # front layer's transparent pixels would skip a coincident surface and see nothing
    return [front, Layer(rgb_f, alpha, (b.depth * BEHIND_PUSH).astype(np.float32), hole & support & ~b.near_strip)]

