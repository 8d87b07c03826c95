"""Filling what a layer's foreground hides: colour by inpainting, depth by extending the surrounding depth,
and fills that stay put over time.

* :func:`inpaint` fills the hole of any float image with OpenCV's Telea ("An Image Inpainting Technique
  Based on the Fast Marching Method", 2004) or Navier-Stokes (Bertalmio et al. 2001) inpainting, one
  channel at a time on 16 bits, or with a LaMa session (see :func:`lama_fill`).
* Depth is extended in inverse depth from the pixels around the hole only (the hole covers the foreground,
  so its depth never leaks into the background behind it).
* :class:`TemporalFill` reuses the previous frame's filled layer, carried along the background's motion
  (a homography fitted to the stabiliser's optical flow, :func:`~dreamrooms.stabilize.flow_between`, over
  the layer's own pixels: inside the hole the flow is the occluder's, not the background's): background that was visible a
  moment ago comes back as it was, and a static background gets exactly the same fill every frame instead
  of a new guess.  Only pixels no earlier frame explains are inpainted.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from dreamrooms.depth import stabilize as stab

METHODS = ("telea", "ns", "lama")
RADIUS = 3
STATIC_PX = 0.15      # background flow below this (pixels) counts as static: the fill is reused unwarped
CUT_ERROR = 0.08      # median colour change of the visible background above this: a cut, start afresh


def inpaint(img: np.ndarray, hole: np.ndarray, method: str = "telea", radius: int = RADIUS) -> np.ndarray:
    """`img` (HxW or HxWxC float) with the pixels where `hole` is true filled from around them.

    Each channel is mapped onto 16 bits over the range of its known pixels (1/65535 of that range: below
    half-float precision) because OpenCV 4.11's Telea on 32-bit float images returns values far outside the
    known range (measured here: -0.5..1.9 for a hole in 0.25..0.75 noise); 16-bit input works for both methods."""
    import cv2

    a = np.asarray(img, np.float32)
    hole = np.asarray(hole, bool)
    if not hole.any():
        return a.copy()
    if hole.all():
        raise ValueError("nothing to fill from: the hole covers the whole frame")
    flag = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}[method]
    m = hole.astype(np.uint8)
    chans = a[..., None] if a.ndim == 2 else a
    out = np.empty_like(chans)
    for c in range(chans.shape[2]):
        x = chans[..., c]
        known = x[~hole]
        lo, hi = float(known.min()), float(known.max())
        span = hi - lo if hi > lo else 1.0
        q = np.clip(np.rint((x - lo) * (65535.0 / span)), 0, 65535).astype(np.uint16)
        f = cv2.inpaint(q, m, radius, flag).astype(np.float32) * np.float32(span / 65535.0) + np.float32(lo)
        out[..., c] = np.where(hole, f, x)
    return out[..., 0] if a.ndim == 2 else out


def extend_depth(depth: np.ndarray, hole: np.ndarray, method: str = "telea") -> np.ndarray:
    """Depth with the hole filled by extending the surrounding depth (interpolated in inverse depth)."""
    d = np.asarray(depth, np.float32)
    u = 1.0 / np.maximum(d, 1e-6)
    return (1.0 / np.maximum(inpaint(u, hole, "ns" if method == "ns" else "telea"), 1e-6)).astype(np.float32)


def lama_fill(run: Callable[[np.ndarray, np.ndarray], np.ndarray], rgb: np.ndarray, hole: np.ndarray,
              size: int = 512) -> np.ndarray:
    """Colour fill with LaMa: `run(image, mask)` is the session call for the Carve/LaMa-ONNX signature
    (image 1x3x512x512 RGB 0..1, mask 1x1x512x512 with 1 = fill; returns 1x3x512x512 in 0..255, per
    huggingface.co/Carve/LaMa-ONNX).  The frame is resized to the network and back; only the hole takes the
    network's pixels.  `rgb` is straight sRGB-encoded 0..1."""
    import cv2

    h, w = hole.shape
    x = cv2.resize(np.asarray(rgb, np.float32), (size, size), interpolation=cv2.INTER_AREA)
    m = cv2.resize(hole.astype(np.float32), (size, size), interpolation=cv2.INTER_NEAREST)
    m = (m > 0.5).astype(np.float32)
    y = run(x.transpose(2, 0, 1)[None].astype(np.float32), m[None, None])
    y = np.asarray(y, np.float32)[0].transpose(1, 2, 0) / 255.0
    y = cv2.resize(np.clip(y, 0, 1), (w, h), interpolation=cv2.INTER_LINEAR)
    return np.where(hole[..., None], y, rgb).astype(np.float32)


def background_motion(flow: np.ndarray, known: np.ndarray, samples: int = 4000) -> np.ndarray:
    """The layer's own motion as a dense backward flow: a homography fitted (RANSAC) to the flow of its known
    pixels, so the hole follows the background instead of the occluder moving over it (Farneback's flow
    bleeds the occluder's motion a few pixels into the background, which a pixel-wise extension would keep).
    Zero flow when too few known pixels."""
    import cv2

    h, w = known.shape
    ys, xs = np.nonzero(known)
    zero = np.zeros((h, w, 2), np.float32)
    if len(xs) < 16:
        return zero
    step = max(1, len(xs) // samples)
    xs, ys = xs[::step], ys[::step]
    src = np.stack([xs, ys], -1).astype(np.float32)
    dst = src + flow[ys, xs]
    H, _ = cv2.findHomography(src, dst, cv2.RANSAC, 1.0)
    if H is None:
        return zero
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    p = np.stack([gx, gy, np.ones_like(gx)], -1) @ H.T.astype(np.float32)
    z = np.where(np.abs(p[..., 2]) > 1e-6, p[..., 2], 1e-6)
    return np.stack([p[..., 0] / z - gx, p[..., 1] / z - gy], -1).astype(np.float32)


class TemporalFill:
    """Fills one layer's hole frame after frame, reusing the previous fill (see module doc).

    `inpaint_colour(rgb, hole)` fills colour where nothing earlier explains the pixel (Telea by default).
    The state is the previous filled colour, depth and guide: seed it from the last frame on disk to resume.
    """

    def __init__(self, method: str = "telea", inpaint_colour: Callable | None = None, *, reuse: bool = True):
        if method not in METHODS:
            raise ValueError(f"inpaint method {method!r}; use one of {', '.join(METHODS)}")
        self.method, self.reuse = method, reuse
        self.inpaint_colour = inpaint_colour or (lambda rgb, hole: inpaint(rgb, hole, method))
        self.prev_rgb: np.ndarray | None = None
        self.prev_depth: np.ndarray | None = None
        self.prev_guide: np.ndarray | None = None
        self.prev_valid: np.ndarray | None = None   # where the previous fill is known (all of it unless seeded)
        self.reused = 0.0     # fraction of the last hole taken from earlier frames (for tests and stats)

    def reset(self) -> None:
        """Forget the previous frame (a cut: the next frame starts an independent segment)."""
        self.prev_rgb = self.prev_depth = self.prev_guide = self.prev_valid = None

    def seed(self, rgb: np.ndarray, depth: np.ndarray, guide: np.ndarray, valid: np.ndarray | None = None) -> None:
        """Continue after a frame on disk; `valid`: where its colour survived (premultiplied files keep no
        colour where alpha is 0, so those pixels are filled afresh instead of reused as black)."""
        self.prev_rgb, self.prev_depth, self.prev_guide = np.asarray(rgb, np.float32), np.asarray(depth, np.float32), guide
        self.prev_valid = None if valid is None else np.asarray(valid, bool)

    def __call__(self, rgb: np.ndarray, depth: np.ndarray, hole: np.ndarray, guide: np.ndarray,
                 known: np.ndarray | None = None, depth_hole: np.ndarray | None = None,
                 keep: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Filled (colour, depth) of a layer.  `rgb`/`depth`: the frame's layer values (colour valid outside
        `hole`, depth outside `depth_hole`, default the same: a layer's edge pixels have mixed colours but
        their own depth); `guide`: the whole frame as uint8 grey; `known`: where the layer's own pixels are
        reliable for flow (default: outside the hole); `keep`: the part of this fill that is written (where
        the layer's alpha is above 0: a premultiplied file keeps no colour elsewhere): only that is reused by
        the next frame, so a run resumed from the files gives what an uninterrupted run gives."""
        rgb = np.asarray(rgb, np.float32)
        depth = np.asarray(depth, np.float32)
        hole = np.asarray(hole, bool)
        depth_hole = hole if depth_hole is None else np.asarray(depth_hole, bool)
        known = ~hole if known is None else known
        take = np.zeros(hole.shape, bool)
        c_rgb, c_depth = rgb, depth
        if self.reuse and self.prev_rgb is not None and self.prev_rgb.shape == rgb.shape and hole.any():
            flow = background_motion(stab.flow_between(self.prev_guide, guide), known)
            static = np.hypot(flow[..., 0], flow[..., 1]) < STATIC_PX
            maps = stab.flow_maps(np.where(static[..., None], 0.0, flow).astype(np.float32))
            w_rgb = np.stack([stab.warp_with(self.prev_rgb[..., c], maps) for c in range(3)], -1)
            w_depth = stab.warp_with(self.prev_depth, maps)
            w_rgb = np.where(static[..., None], self.prev_rgb, w_rgb)
            w_depth = np.where(static, self.prev_depth, w_depth)
            ok = maps[2]
            if self.prev_valid is not None:
                ok = ok & (stab.warp_with(self.prev_valid.astype(np.float32), maps) > 0.999)
            vis = known & ok
            err = float(np.median(np.abs(w_rgb[vis] - rgb[vis]))) if vis.any() else 1.0
            if err <= CUT_ERROR:
                take = hole & ok
                c_rgb = np.where(take[..., None], w_rgb, rgb)
                c_depth = np.where(take & depth_hole, w_depth, depth)
        rest = hole & ~take
        rest_d = depth_hole & ~take
        out_rgb = self.inpaint_colour(c_rgb, rest) if rest.any() else c_rgb
        out_depth = extend_depth(c_depth, rest_d, self.method) if rest_d.any() else c_depth
        self.reused = float(take.sum()) / max(1, int(hole.sum()))
        self.prev_rgb, self.prev_depth, self.prev_guide = out_rgb, out_depth, guide
        self.prev_valid = None if keep is None else np.asarray(keep, bool)
        return out_rgb, out_depth


def fill_flicker(fills: list[np.ndarray], holes: list[np.ndarray]) -> float:
    """Mean absolute frame-to-frame change of filled colour over the pixels hidden in both frames (where the
    true background is static, any change is flicker)."""
    diffs = []
    for a, b, ha, hb in zip(fills, fills[1:], holes, holes[1:]):
        both = ha & hb
        if both.any():
            diffs.append(float(np.mean(np.abs(np.asarray(b)[both] - np.asarray(a)[both]))))
    return float(np.mean(diffs)) if diffs else 0.0
