"""Reveal prediction: which pixels of a moved camera's view show what the source view never saw.

The source view is a depth map seen from a camera (the plane and layered builds unproject it there).  A pixel of
a moved view is *revealed* when its surface point lies behind what the source saw there (a disocclusion behind a
depth edge) or outside the source frame.  The prediction marches each moved-view ray through the source view's
depth, read as the surface a one-vertex-per-pixel depth plane makes (bilinear inside the frame, the border's depth
continued past it): where the ray first crosses that surface at a place the source really saw, the pixel is
seen; where it slips behind the surface at a depth edge (a cell whose corners jump in depth, not explained by
either side's slope) it is in the shadow of that edge until it comes out in front again; a ray that ends in a
shadow, or first meets the surface past the frame border, is revealed.  The same tolerance as the ground truth
(`seen_truth`) decides what counts as behind: 3 % of the depth + 2 cm.  Pure numpy, no Blender.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from dreamrooms.camera.geometry import Intrinsics, pixel_rays

REL_TOL = 0.03     # "behind" means farther than 3 % of the depth ...
ABS_TOL = 0.02     # ... plus 2 cm (the definition of revealed)
STEP_PX = 0.5      # march steps in source pixels: no surface a pixel wide is stepped over
MAX_STEPS = 4096
COARSE_SIDE = 480  # larger pictures: a first pass this wide, the full-size march only near what it found


@dataclass(frozen=True)
class Reveal:
    """One frame's prediction: pixels behind depth edges and pixels outside the source frame (bool HxW)."""
    behind: np.ndarray
    outside: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        return self.behind | self.outside

    @property
    def percent(self) -> float:
        return 100.0 * float(self.mask.mean())


def _behind(far: np.ndarray, near: np.ndarray, rel: float, abs_: float) -> np.ndarray:
    """`far` lies behind `near` by more than the tolerance."""
    return far > near * (1.0 + rel) + abs_


def _mismatch(a: np.ndarray, b: np.ndarray, rel: float, abs_: float) -> np.ndarray:
    return _behind(np.maximum(a, b), np.minimum(a, b), rel, abs_)


def _pair_jumps(depth: np.ndarray, axis: int, rel: float, abs_: float) -> np.ndarray:
    """Neighbour pairs along `axis` that are a depth edge: the far one lies behind the near one, and neither
    side's slope (in inverse depth, where a plane is linear) carried across the pair explains the step.  A floor
    seen at a grazing angle steps by several % a pixel yet is no edge; an object's outline is."""
    d = np.moveaxis(np.asarray(depth, np.float64), axis, -1)
    s = 1.0 / np.maximum(d, 1e-9)
    pad = np.concatenate([s[..., :1], s, s[..., -1:]], axis=-1)
    a, b = s[..., :-1], s[..., 1:]
    ga = a - pad[..., :-3]            # slope into a, carried forward to b
    gb = pad[..., 3:] - b             # slope out of b, carried back to a
    with np.errstate(divide="ignore"):
        za_pred_b = np.where(a + ga > 0, 1.0 / np.maximum(a + ga, 1e-12), np.inf)
        zb_pred_a = np.where(b - gb > 0, 1.0 / np.maximum(b - gb, 1e-12), np.inf)
    da, db = d[..., :-1], d[..., 1:]
    jump = (_mismatch(da, db, rel, abs_) & _mismatch(za_pred_b, db, rel, abs_)
            & _mismatch(zb_pred_a, da, rel, abs_))
    return np.moveaxis(jump, -1, axis)


def depth_edges(depth: np.ndarray, rel: float = REL_TOL, abs_: float = ABS_TOL) -> np.ndarray:
    """(H-1, W-1) bool: the cells between four pixel centres that straddle a depth edge."""
    h = _pair_jumps(depth, 1, rel, abs_)    # (H, W-1)
    v = _pair_jumps(depth, 0, rel, abs_)    # (H-1, W)
    return h[:-1] | h[1:] | v[:, :-1] | v[:, 1:]


class _Surface:
    """The source depth as the surface a depth plane makes: bilinear between pixel centres, a step inside a
    depth-edge cell (so a ray slipping past an edge is seen to go behind its near side), the border's depth
    continued past the frame.  Sampled with OpenCV's remap (C, 1/32 px weights)."""

    def __init__(self, depth: np.ndarray, rel: float, abs_: float):
        self.d = np.ascontiguousarray(depth, dtype=np.float32)
        self.h, self.w = self.d.shape
        edges = depth_edges(self.d, rel, abs_) if min(self.h, self.w) > 1 else np.zeros((1, 1), bool)
        self.edges = np.ascontiguousarray(edges, dtype=np.uint8)
        self.rel, self.abs_ = rel, abs_

    def sample(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Depth at source pixel coordinates (x right, y down, pixel centres at +0.5)."""
        xc, yc = x - 0.5, y - 0.5
        lin = _remap(self.d, xc, yc, _cv2().INTER_LINEAR)
        step = _remap(self.edges, xc - 0.5, yc - 0.5, _cv2().INTER_NEAREST) > 0
        if step.any():
            lin[step] = _remap(self.d, xc[step], yc[step], _cv2().INTER_NEAREST)
        return lin

    def outside(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        return (x < 0) | (y < 0) | (x > self.w) | (y > self.h)

    def into_shadow(self, x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
        """A crossing at (x, y, depth z) slips behind a depth edge's near side (rather than landing on a surface)."""
        return _behind(z, self.sample(x, y), self.rel, self.abs_)


def _cv2():
    import cv2
    return cv2


_ROW = 1024   # remap maps are 2D with sides < 32767: a ray list goes in as rows of this length


def _remap(img: np.ndarray, x: np.ndarray, y: np.ndarray, interpolation: int) -> np.ndarray:
    """`img` sampled at float pixel coordinates (OpenCV's: centres on integers), edges clamped; 1D in, 1D out."""
    n = len(x)
    rows = max(1, -(-n // _ROW))
    mx = np.zeros(rows * _ROW, np.float32)
    my = np.zeros(rows * _ROW, np.float32)
    mx[:n], my[:n] = x, y
    cv2 = _cv2()
    out = cv2.remap(img, mx.reshape(rows, _ROW), my.reshape(rows, _ROW), interpolation,
                    borderMode=cv2.BORDER_REPLICATE)
    return out.reshape(-1)[:n].astype(np.float64 if img.dtype != np.uint8 else np.uint8)


def predict(depth: np.ndarray, K_source: Intrinsics, source: np.ndarray, target: np.ndarray,
            K_target: Intrinsics | None = None, *, rel: float = REL_TOL, abs_: float = ABS_TOL,
            coarse: int | None = COARSE_SIDE) -> Reveal:
    """What the camera `target` (4x4 camera-to-world) sees that the camera `source` did not, given the source's
    depth map (H, W, distance along its axis) and intrinsics; the result has `K_target`'s size (default the
    source's).  A picture wider than `coarse` is predicted at that size first and marched at full size only in a
    band around what that found (the march costs rays x parallax: cubic in the picture's size)."""
    Kt = K_target or K_source
    depth = np.asarray(depth, np.float32)
    if depth.shape != (K_source.height, K_source.width):
        raise ValueError(f"depth is {depth.shape[::-1]} (WxH) but the source camera is {K_source.width}x{K_source.height}")
    A = np.linalg.inv(np.asarray(source, np.float64)) @ np.asarray(target, np.float64)
    shape = (Kt.height, Kt.width)
    if not coarse or max(shape) <= coarse * 1.5:
        behind, outside = _predict_rays(_Surface(depth, rel, abs_), K_source, A, pixel_rays(Kt).reshape(-1, 3))
        return Reveal(behind.reshape(shape), outside.reshape(shape))
    small = _shrink(Kt, coarse)
    sd, sK = shrink_depth(depth, K_source, coarse)
    first = predict(sd, sK, source, target, small, rel=rel, abs_=abs_, coarse=None)
    import cv2

    up = [cv2.resize(m.astype(np.uint8), (Kt.width, Kt.height), interpolation=cv2.INTER_NEAREST)
          for m in (first.behind, first.outside)]
    r = 2 * math.ceil(max(shape) / max(small.width, small.height)) + 1
    k = np.ones((2 * r + 1, 2 * r + 1), np.uint8)
    band = np.zeros(shape, bool)
    for m in up:
        band |= cv2.dilate(m, k) != cv2.erode(m, k)
    behind, outside = up[0].astype(bool).reshape(-1), up[1].astype(bool).reshape(-1)
    sel = np.nonzero(band.reshape(-1))[0]
    if len(sel):    # the full-size surface only where the first look found an edge of what is revealed
        rays = pixel_rays(Kt).reshape(-1, 3)[sel]
        behind[sel], outside[sel] = _predict_rays(_Surface(depth, rel, abs_), K_source, A, rays)
    return Reveal(behind.reshape(shape), outside.reshape(shape))


def _shrink(K: Intrinsics, side: int) -> Intrinsics:
    """`K` scaled so its long side is `side` pixels."""
    f = side / max(K.width, K.height)
    w, h = max(2, round(K.width * f)), max(2, round(K.height * f))
    return Intrinsics(w, h, K.fx * w / K.width, K.fy * h / K.height, w / 2.0, h / 2.0)


def shrink_depth(depth: np.ndarray, K: Intrinsics, side: int):
    """Depth and intrinsics at most `side` pixels wide (nearest: depth edges stay steps)."""
    import cv2

    small = _shrink(K, side)
    return cv2.resize(depth, (small.width, small.height), interpolation=cv2.INTER_NEAREST), small


def _predict_rays(surf: _Surface, K_source: Intrinsics, A: np.ndarray, rays: np.ndarray):
    """(behind, outside) per target ray (camera space, z = -1); `A` maps target to source camera space."""
    rays = rays @ A[:3, :3].T                                   # target rays in source camera space
    o = A[:3, 3]
    a, b = -o[2], -rays[:, 2]                                   # source depth along a ray: a + b t
    n = len(rays)
    behind = np.zeros(n, bool)
    outside = np.zeros(n, bool)
    finite = surf.d[np.isfinite(surf.d)]
    dmin, dmax = (float(finite.min()), float(finite.max())) if finite.size else (1.0, 1.0)
    ok = b > 1e-9
    outside[~ok] = True                                         # never goes deeper: nothing the source saw
    idx = np.nonzero(ok)[0]
    r, bb = rays[idx], b[idx]
    lo = np.maximum(dmin, a + bb * 1e-4)
    start_beyond = lo >= dmax * (1 + 1e-6)
    behind[idx[start_beyond]] = True                            # the camera stands past everything seen
    keep = ~start_beyond
    idx, r, bb, lo = idx[keep], r[keep], bb[keep], lo[keep]
    # x and y of the source pixel are affine in w = 1 / depth along the ray: march uniformly in w
    px1 = K_source.fx * (o[0] - r[:, 0] * a / bb)
    px0 = K_source.fx * r[:, 0] / bb + K_source.cx
    py1 = -K_source.fy * (o[1] - r[:, 1] * a / bb)
    py0 = -K_source.fy * r[:, 1] / bb + K_source.cy
    w0, w1 = 1.0 / lo, np.full_like(lo, 1.0 / (dmax * 1.01))   # a little past the farthest: every ray ends behind
    length = np.hypot(px1, py1) * (w0 - w1)
    steps = np.clip(np.ceil(length / STEP_PX), 2, MAX_STEPS).astype(np.int64)
    state = _march(surf, px0, px1, py0, py1, w0, w1, steps)
    behind[idx] |= state == _SHADOW
    outside[idx] |= (state == _OUT) | (state == _FRONT)
    return behind, outside


_FRONT, _SHADOW, _SEEN, _OUT = 0, 1, 2, 3


def _march(surf: _Surface, px0, px1, py0, py1, w0, w1, steps: np.ndarray) -> np.ndarray:
    """Per ray: _SEEN (met a surface the source saw), _OUT (met the surface past the frame border), _SHADOW
    (ends behind a depth edge) or _FRONT (never met it).  Ray i takes steps[i] even steps in w."""
    state = np.full(len(w0), _FRONT, np.int8)
    dw = (w1 - w0) / steps

    def behind_at(i, w):
        return (1.0 / w) > surf.sample(px0[i] + px1[i] * w, py0[i] + py1[i] * w)

    state[behind_at(slice(None), w0)] = _SHADOW              # starts behind the surface: in a shadow already
    active = np.arange(len(w0))
    for k in range(1, int(steps.max(initial=1)) + 1):
        active = active[steps[active] >= k]
        if not active.size:
            break
        w = w0[active] + dw[active] * k
        now = behind_at(active, w)
        was = state[active]
        state[active[~now & (was == _SHADOW)]] = _FRONT       # came out in front again past the edge
        enter = now & (was == _FRONT)
        if enter.any():
            e = active[enter]
            state[e] = _classify(surf, e, px0, px1, py0, py1, w[enter] - dw[e], w[enter])
            active = active[state[active] <= _SHADOW]
    return state


def _classify(surf: _Surface, i, px0, px1, py0, py1, w_front, w_behind, iterations: int = 10) -> np.ndarray:
    """Where a ray crosses the surface between two march samples: bisect the crossing, then decide."""
    lo, hi = w_front.copy(), w_behind.copy()
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        x, y = px0[i] + px1[i] * mid, py0[i] + py1[i] * mid
        b = (1.0 / mid) > surf.sample(x, y)
        hi = np.where(b, mid, hi)
        lo = np.where(b, lo, mid)
    x, y = px0[i] + px1[i] * hi, py0[i] + py1[i] * hi
    out = np.full(len(i), _SEEN, np.int8)
    out[surf.into_shadow(x, y, 1.0 / hi)] = _SHADOW
    out[surf.outside(x, y)] = _OUT
    return out


def seen_truth(depth_target: np.ndarray, K_target: Intrinsics, target: np.ndarray, depth_source: np.ndarray,
               K_source: Intrinsics, source: np.ndarray, *, rel: float = REL_TOL, abs_: float = ABS_TOL) -> Reveal:
    """The true revealed pixels of a view whose true depth is known: its surface point lies behind what the source
    saw at that point's source pixel by more than the tolerance (`behind`), or projects outside the source frame
    (`outside`).  Pixels with no surface (infinite depth) count as outside."""
    from dreamrooms.camera.geometry import project, unproject

    pts = unproject(np.asarray(depth_target, np.float64), K_target).reshape(-1, 3)
    A = np.linalg.inv(np.asarray(source, np.float64)) @ np.asarray(target, np.float64)
    p_src = pts @ A[:3, :3].T + A[:3, 3]
    xy, z = project(K_source, p_src)
    ds = np.asarray(depth_source, np.float64)
    h, w = ds.shape
    finite = np.isfinite(z) & np.isfinite(pts).all(axis=1) & (z > 0)
    with np.errstate(invalid="ignore"):
        inside = finite & (xy[:, 0] >= 0) & (xy[:, 0] < w) & (xy[:, 1] >= 0) & (xy[:, 1] < h)
    j = np.clip(np.nan_to_num(xy[:, 0]).astype(np.intp), 0, w - 1)
    i = np.clip(np.nan_to_num(xy[:, 1]).astype(np.intp), 0, h - 1)
    behind = inside & _behind(z, ds[i, j], rel, abs_)
    shape = (K_target.height, K_target.width)
    return Reveal(behind.reshape(shape), (~inside).reshape(shape))


def tolerant_iou(a: np.ndarray, b: np.ndarray, px: int = 1) -> float:
    """IoU of two masks where a pixel that only one marks but that lies within `px` pixels of the other's mask
    is not counted as a disagreement (edges may sit a pixel apart)."""
    import cv2

    a, b = np.asarray(a, bool), np.asarray(b, bool)
    union = int((a | b).sum())
    if union == 0:
        return 1.0
    k = np.ones((2 * px + 1, 2 * px + 1), np.uint8)
    da = cv2.dilate(a.astype(np.uint8), k) > 0
    db = cv2.dilate(b.astype(np.uint8), k) > 0
    wrong = int((a & ~db).sum() + (b & ~da).sum())
    return 1.0 - wrong / union


# --------------------------------------------------------------------------- moves, shift and budget

def largest_shift(depth: np.ndarray, K: Intrinsics, source: np.ndarray, targets: Sequence[np.ndarray],
                  stride: int = 4) -> float:
    """The largest image shift (pixels) the move's translation gives any seen point: its position in a target view
    against where a point at infinity on the same source ray lands (so a pan alone shifts nothing).  This is the
    parallax `dreamrooms layers --max-parallax` sizes its bands for."""
    from dreamrooms.camera.geometry import project, unproject

    d = np.asarray(depth, np.float64)[::stride, ::stride]
    pts = unproject(np.asarray(depth, np.float64), K)[::stride, ::stride].reshape(-1, 3)
    rays = pts / np.maximum(d.reshape(-1, 1), 1e-9)
    S = np.asarray(source, np.float64)
    world = pts @ S[:3, :3].T + S[:3, 3]
    dirs = rays @ S[:3, :3].T
    best = 0.0
    for M in targets:
        Mi = np.linalg.inv(np.asarray(M, np.float64))
        p, z = project(K, world @ Mi[:3, :3].T + Mi[:3, 3])
        q, zq = project(K, dirs @ Mi[:3, :3].T)
        ok = (z > 1e-6) & (zq > 1e-6)
        if ok.any():
            best = max(best, float(np.hypot(*(p[ok] - q[ok]).T).max()))
    return best


def fit_factor(worst_percent: Callable[[float], float], budget: float, *, iterations: int = 12) -> float:
    """The largest factor in (0, 1] whose move reveals at most `budget` % on its worst frame, by bisection (the
    reveal grows with the move's size).  1 when the whole move fits."""
    if worst_percent(1.0) <= budget:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(iterations):
        mid = 0.5 * (lo + hi)
        if worst_percent(mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo
