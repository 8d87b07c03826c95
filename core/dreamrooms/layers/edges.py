"""Depth edges: where the surface really jumps, found robustly in a relative depth map.

As in the layered depth image of 3D Photo Inpainting (Shih et al., CVPR 2020, section 3.1), edges are
detected between neighbouring pixels whose disparity differs, then linked into connected curves and cleaned
of short ones.  Our test is relative to the local level, so it holds for the arbitrary scale of a relative
depth model: a pixel pair jumps where the larger inverse depth exceeds the smaller by `jump` (a depth ratio)
*and* the step is several times the local slope (the median step around it), so a floor seen at a grazing
angle, whose depth grows fast but smoothly, is never cut; a floor meeting an object it carries has no jump
at all, so the two stay one surface there.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JUMP = 1.08          # depth ratio across a pixel pair that can be a cut
SLOPE_FACTOR = 3.0   # ... and the step must exceed this many times the median step around it
MIN_LENGTH = 0.02    # edges shorter than this fraction of the short side (and 5 px) are noise, removed
# the 8 neighbour offsets (dy, dx) a stretched triangle of the depth grid can span
OFFSETS = ((0, 1), (1, 0), (1, 1), (1, -1))


@dataclass
class Edges:
    """The cut of one frame: `near` the pixels on the near side of a kept jump, `far` their neighbours on the
    far side; `near_depth` the near side's depth next to each far pixel (inf elsewhere)."""
    near: np.ndarray
    far: np.ndarray
    near_depth: np.ndarray

    @property
    def any(self) -> bool:
        return bool(self.near.any())


def _shift(a: np.ndarray, dy: int, dx: int, fill) -> np.ndarray:
    """`a` moved so that out[y, x] = a[y + dy, x + dx] (fill outside)."""
    h, w = a.shape
    out = np.full_like(a, fill)
    ys, yd = (slice(0, h - dy), slice(dy, h)) if dy >= 0 else (slice(-dy, h), slice(0, h + dy))
    xs, xd = (slice(0, w - dx), slice(dx, w)) if dx >= 0 else (slice(-dx, w), slice(0, w + dx))
    out[ys, xs] = a[yd, xd]
    return out


def _local_step(u: np.ndarray) -> np.ndarray:
    """Median absolute step of inverse depth to the right and down neighbours over a 7x7 window."""
    import cv2

    gx = np.abs(np.diff(u, axis=1, append=u[:, -1:]))
    gy = np.abs(np.diff(u, axis=0, append=u[-1:, :]))
    g = np.maximum(gx, gy).astype(np.float32)
    # a median filter on a float image: OpenCV takes 8 bits for 7x7, so rank by quantising the log step
    lg = np.log(np.maximum(g, 1e-9))
    lo, hi = float(lg.min()), float(lg.max())
    q = np.clip((lg - lo) / max(hi - lo, 1e-9) * 255.0, 0, 255).astype(np.uint8)
    med = cv2.medianBlur(q, 7).astype(np.float32) / 255.0 * (hi - lo) + lo
    return np.exp(med)


def jumps(depth: np.ndarray, jump: float = JUMP, slope_factor: float = SLOPE_FACTOR):
    """Per neighbour offset, where the pair (pixel, pixel + offset) is a depth jump; returns (near, far)
    masks of the raw jump pixels."""
    d = np.asarray(depth, np.float32)
    u = 1.0 / np.maximum(d, 1e-6)
    step = _local_step(u)
    near = np.zeros(d.shape, bool)
    far = np.zeros(d.shape, bool)
    for dy, dx in OFFSETS:
        v = _shift(u, dy, dx, np.nan)
        hi, lo = np.fmax(u, v), np.fmin(u, v)
        big = (hi > lo * jump) & ((hi - lo) > slope_factor * np.fmax(step, _shift(step, dy, dx, 0.0)))
        big &= np.isfinite(v)
        me_near = big & (u > v)        # this pixel is the near one
        other_near = big & (u < v)
        near |= me_near
        far |= other_near
        near |= _shift(other_near, -dy, -dx, False)
        far |= _shift(me_near, -dy, -dx, False)
    return near, far & ~near      # a pixel between a nearer and a farther one counts as near


def link(near: np.ndarray, min_length: int) -> np.ndarray:
    """The near-side jump pixels linked into 8-connected curves, curves shorter than `min_length` removed."""
    import cv2

    n, lab, stats, _ = cv2.connectedComponentsWithStats(near.astype(np.uint8), connectivity=8)
    keep = np.zeros(n, bool)
    keep[1:] = np.maximum(stats[1:, cv2.CC_STAT_WIDTH], stats[1:, cv2.CC_STAT_HEIGHT]) >= min_length
    return keep[lab]


def detect(depth: np.ndarray, jump: float = JUMP, slope_factor: float = SLOPE_FACTOR,
           min_length: int | None = None) -> Edges:
    """The cleaned depth edges of one frame (see module doc)."""
    import cv2

    d = np.asarray(depth, np.float32)
    h, w = d.shape
    near, far = jumps(d, jump, slope_factor)
    min_length = max(5, round(MIN_LENGTH * min(h, w))) if min_length is None else min_length
    near = link(near, min_length)
    # far pixels are kept where a kept near pixel is among their 8 neighbours
    nd = np.where(near, d, np.float32(np.inf)).astype(np.float32)
    near_depth = cv2.erode(nd, np.ones((3, 3), np.uint8), borderType=cv2.BORDER_CONSTANT, borderValue=np.inf)
    far = far & np.isfinite(near_depth) & (d > near_depth * np.float32(jump ** 0.5))
    return Edges(near, far, np.where(far, near_depth, np.inf).astype(np.float32))
