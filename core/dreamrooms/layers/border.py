"""The frame border extended by the parallax: what a camera that slides or turns past the frame edge sees.

The layers of the edge cut are written `pad` pixels larger on every side (the pinhole's principal point moves
by `pad`, so the frame's pixels keep their rays).  In the ring outside the frame the front layer continues
every surface that reaches the border: depth along the surface's own slope (the line fit of
:func:`dreamrooms.layers.behind.continue_far`, from the border inwards), colour inpainted from the frame
(kept over time by its :class:`~dreamrooms.layers.fill.TemporalFill`); the behind layer is transparent there.
"""
from __future__ import annotations

import numpy as np

from dreamrooms.layers.behind import continue_far
from dreamrooms.layers.edges import Edges


def border_pad(max_parallax: float) -> int:
    """Pixels added on every side of the frame for a camera whose largest image shift is `max_parallax`."""
    return int(np.ceil(max_parallax))


def pad_depth(depth: np.ndarray, pad: int) -> np.ndarray:
    """`depth` with a ring of `pad` pixels continuing each border pixel's surface outwards."""
    d = np.pad(np.asarray(depth, np.float32), pad, mode="edge")
    if pad <= 0:
        return d
    h, w = d.shape
    inner = np.zeros((h, w), bool)
    inner[pad:h - pad, pad:w - pad] = True
    ring = ~inner
    border = inner.copy()
    border[pad + 1:h - pad - 1, pad + 1:w - pad - 1] = False      # the frame's outermost pixels
    edges = Edges(np.zeros((h, w), bool), border, np.full((h, w), np.inf, np.float32))
    far, _, _, _ = continue_far(d, edges, reach=float(pad) * 1.5 + 1, where=ring)
    ok = ring & np.isfinite(far)
    d[ok] = far[ok]
    return d


def pad_layers(layers: list, pad: int, fill, guide: np.ndarray) -> list:
    """The layers of one frame (front, behind) grown by `pad` pixels on every side (see module doc);
    `fill` keeps the ring's colour over time, `guide` is the frame's uint8 grey."""
    from dreamrooms.layers.split import KEEP_ALPHA, Layer

    if pad <= 0:
        return layers
    front, *rest = layers
    h, w = front.alpha.shape
    ring = np.ones((h + 2 * pad, w + 2 * pad), bool)
    ring[pad:pad + h, pad:pad + w] = False
    depth = pad_depth(front.depth, pad)
    rgb = np.pad(front.srgb, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
    g = np.pad(guide, pad, mode="edge")
    alpha = np.pad(front.alpha, pad, constant_values=1.0)
    rgb_f, _ = fill(rgb, depth, ring, g, known=~ring, depth_hole=np.zeros(ring.shape, bool), keep=alpha > KEEP_ALPHA)
    out = [Layer(rgb_f, alpha, depth, np.pad(front.hole, pad) | ring)]
    for L in rest:
        out.append(Layer(np.pad(L.srgb, ((pad, pad), (pad, pad), (0, 0))), np.pad(L.alpha, pad),
                         np.pad(L.depth, pad, mode="edge"), np.pad(L.hole, pad)))
    return out
