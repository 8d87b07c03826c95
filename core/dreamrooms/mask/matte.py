"""Depth-based foreground mattes: depth layers split at depth jumps, refined along colour edges, steady in time.

* :func:`clip_thresholds` finds, once per clip, the levels of inverse depth that the clip's depth jumps
  cross and few pixels occupy (the gap a jump leaves), a multi-level Otsu split when there are no jumps.  Inverse depth,
  because depth models predict it and because the gap between a figure at 2 m and a wall at 6 m is wide
  there while the far end of the room is compressed.
* :func:`edge_alpha` turns the hard split into a soft matte whose edges follow the colour edges of the frame:
  edge pixels take the coverage their colour says (the compositing equation between the nearby clean colours
  on either side), falling back to :func:`guided_filter` (He et al., "Guided Image Filtering", ECCV 2010,
  colour guide) where the two sides look alike.  The same edge rule serves mattes and depth layers.
* :class:`MatteFilter` keeps mattes steady over time with the depth stabiliser's motion rules: the previous
  matte is carried along the optical flow (:func:`dreamrooms.stabilize.flow_between` and friends), averaged
  with the new one where they agree, and replaced where they disagree (motion lets edges through at once).
"""
from __future__ import annotations

from typing import Iterable, Sequence

import numpy as np

from dreamrooms.memo import last_call

from dreamrooms.depth import stabilize as stab

BINS = 128


def inverse_depth(depth: np.ndarray) -> np.ndarray:
    """1/depth with 0 for non-finite or non-positive depth (misses, infinitely far)."""
    d = np.asarray(depth, np.float32)
    ok = np.isfinite(d) & (d > 0)
    return np.where(ok, 1.0 / np.where(ok, d, 1.0), 0.0).astype(np.float32)


def _multi_otsu(hist: np.ndarray, classes: int) -> list[int]:
    """Bin indices (class k = bins [cut[k-1], cut[k])) maximising the between-class variance (dynamic
    programming over the histogram; exact for any number of classes)."""
    b = len(hist)
    x = np.arange(b, dtype=np.float64)
    w = np.concatenate([[0.0], np.cumsum(hist)])
    m = np.concatenate([[0.0], np.cumsum(hist * x)])

    best = np.full((classes + 1, b + 1), -np.inf)
    arg = np.zeros((classes + 1, b + 1), np.int64)
    best[0, 0] = 0.0
    for k in range(1, classes + 1):
        for j in range(k, b + 1):
            i = np.arange(k - 1, j)
            cand = best[k - 1, i] + _score(w, m, i, j)
            n = int(np.argmax(cand))
            best[k, j], arg[k, j] = cand[n], i[n]
    cuts, j = [], b
    for k in range(classes, 0, -1):
        j = int(arg[k, j])
        cuts.append(j)
    return sorted(cuts)[1:]


def _score(w: np.ndarray, m: np.ndarray, i: np.ndarray, j: int) -> np.ndarray:
    """Sum of w * mean^2 of the bin ranges [i, j) (i an array)."""
    ww = w[j] - w[i]
    mm = m[j] - m[i]
    return np.where(ww > 0, mm * mm / np.maximum(ww, 1e-12), 0.0)


JUMP = 1.15       # neighbouring pixels whose depths differ by more than this ratio straddle a depth jump


def clip_thresholds(inverse_maps: Iterable[np.ndarray], count: int = 2, bins: int = BINS) -> list[float]:
    """`count - 1` thresholds in inverse depth, ascending, that split a clip into `count` depth layers at its
    depth jumps.  `inverse_maps`: inverse depth of some frames of the clip (0 = no depth).

    Every pair of neighbouring pixels whose depths differ by more than :data:`JUMP` spans an interval of
    inverse depth; a good cut lies inside many such intervals (it separates many jumps) where few pixels
    are (it cuts through no surface): the score of a level is the number of jump intervals covering it over
    1 + the number of pixels at and around it.  The best levels are taken one by one (each at the centre of its
    plateau, the plateau then excluded); a clip without jumps falls back to a multi-level Otsu split of the
    histogram."""
    if count < 2:
        raise ValueError(f"need at least 2 layers (got {count})")
    maps = [np.asarray(u, np.float32) for u in inverse_maps]
    vals = np.concatenate([u.ravel() for u in maps])
    vals = vals[np.isfinite(vals) & (vals > 0)]
    if vals.size == 0:
        raise ValueError("no valid depth in the sampled frames")
    lo, hi = np.percentile(vals, (0.1, 99.9))
    if not hi > lo:
        return [float(hi)] * (count - 1)
    scale = bins / (hi - lo)
    density, _ = np.histogram(np.clip(vals, lo, hi), bins=bins, range=(lo, hi))
    cover = np.zeros(bins + 1, np.float64)
    for u in maps:
        for a, b in ((u[:, :-1], u[:, 1:]), (u[:-1, :], u[1:, :])):
            near, far = np.maximum(a, b), np.minimum(a, b)
            jump = (far > 0) & (near > JUMP * far)
            i0 = np.clip(((far[jump] - lo) * scale).astype(np.int64) + 1, 0, bins)
            i1 = np.clip(((near[jump] - lo) * scale).astype(np.int64), 0, bins)
            keep = i1 > i0
            np.add.at(cover, i0[keep], 1.0)
            np.add.at(cover, i1[keep], -1.0)
    cover = np.cumsum(cover)[:bins]
    # a surface spread thinly over many levels leaves empty bins inside its own range: a level counts as
    # occupied when its neighbours (2 bins either side) are
    padded = np.pad(density.astype(np.float64), 2)
    occupied = np.max(np.stack([padded[k:k + bins] for k in range(5)]), axis=0)
    score = cover / (1.0 + occupied)
    centre = lambda pos: float(lo + (pos + 0.5) / scale)
    cuts: list[float] = []
    free = np.ones(bins, bool)
    while len(cuts) < count - 1 and (score * free).max() > 0:
        best = float((score * free).max())
        i = int(np.argmax((score * free) >= best))
        j = i
        while j + 1 < bins and free[j + 1] and score[j + 1] >= best:
            j += 1
        cuts.append(centre(0.5 * (i + j)))
        a, b = i, j            # exclude the plateau and its shoulders (the same jump)
        while a > 0 and free[a - 1] and score[a - 1] >= 0.5 * best:
            a -= 1
        while b + 1 < bins and free[b + 1] and score[b + 1] >= 0.5 * best:
            b += 1
        free[a:b + 1] = False
    if len(cuts) < count - 1:
        return sorted(centre(c - 0.5) for c in _multi_otsu(density.astype(np.float64), count))
    return sorted(cuts)


def layer_index(u: np.ndarray, thresholds: Sequence[float]) -> np.ndarray:
    """Layer of each pixel, 0 = nearest: the number of thresholds above its inverse depth."""
    t = np.sort(np.asarray(thresholds, np.float32))[::-1]
    idx = np.zeros(u.shape, np.int8)
    for v in t:
        idx += (u < v).astype(np.int8)
    return idx


def guided_filter(guide: np.ndarray, src: np.ndarray, radius: int, eps: float = 1e-3) -> np.ndarray:
    """Edge-preserving smoothing of `src` (HxW) along the edges of `guide` (HxWx3 sRGB 0..1 or HxW grey):
    a local linear model src ~ a . guide + b per (2r+1)^2 window (He et al. 2010)."""
    import cv2

    p = np.asarray(src, np.float32)
    g = np.asarray(guide, np.float32)
    k = (2 * radius + 1, 2 * radius + 1)
    box = lambda x: cv2.blur(x, k, borderType=cv2.BORDER_REFLECT)
    if g.ndim == 2:
        mi, mp = box(g), box(p)
        a = (box(g * p) - mi * mp) / (box(g * g) - mi * mi + eps)
        b = mp - a * mi
        return box(a) * g + box(b)
    mp = box(p)
    mi, var = _colour_stats(guide, radius, eps)
    cov = [box(g[..., c] * p) - mi[c] * mp for c in range(3)]
    a = np.linalg.solve(var, np.stack(cov, -1)[..., None])[..., 0]
    b = mp - sum(a[..., c] * mi[c] for c in range(3))
    return sum(box(a[..., c]) * g[..., c] for c in range(3)) + box(b)


@last_call
def _colour_stats(guide: np.ndarray, radius: int, eps: float) -> tuple[list[np.ndarray], np.ndarray]:
    """The guide's local colour means and regularised covariance (He et al. 2010): they depend on the guide only,
    so every layer's guided filter of one frame shares them (computed once per guide object and radius)."""
    import cv2

    g = np.asarray(guide, np.float32)
    k = (2 * radius + 1, 2 * radius + 1)
    box = lambda x: cv2.blur(x, k, borderType=cv2.BORDER_REFLECT)
    mi = [box(g[..., c]) for c in range(3)]
    var = np.empty(g.shape[:2] + (3, 3), np.float32)
    for i in range(3):
        for j in range(i, 3):
            v = box(g[..., i] * g[..., j]) - mi[i] * mi[j]
            var[..., i, j] = var[..., j, i] = v
    var += np.eye(3, dtype=np.float32) * eps
    return mi, var


def default_radius(height: int, width: int) -> int:
    """Refinement window: about 1 % of the short side (2 px at 160x90, 11 px at 1920x1080)."""
    return max(2, round(min(height, width) / 100))


def refine(hard: np.ndarray, srgb: np.ndarray, radius: int | None = None, eps: float = 1e-3) -> np.ndarray:
    """Soft matte 0..1 from a hard 0/1 mask whose edges snap to the colour edges of `srgb`."""
    h, w = hard.shape
    r = radius or default_radius(h, w)
    return np.clip(guided_filter(srgb, hard.astype(np.float32), r, eps), 0.0, 1.0).astype(np.float32)


def _local_mean(srgb: np.ndarray, mask: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean colour of the `mask` pixels in each (2r+1)^2 window, and whether the window had any."""
    import cv2

    k = (2 * radius + 1, 2 * radius + 1)
    m = mask.astype(np.float32)
    n = cv2.blur(m, k, borderType=cv2.BORDER_REFLECT)
    s = cv2.blur(srgb * m[..., None], k, borderType=cv2.BORDER_REFLECT)
    return s / np.maximum(n, 1e-6)[..., None], n > 1e-6


def edge_alpha(srgb: np.ndarray, inside: np.ndarray, radius: int | None = None, min_contrast: float = 0.05) -> np.ndarray:
    """Soft matte of `inside` (a hard 0/1 split) whose edge pixels take the coverage their colour says.

    An edge pixel of colour c between a foreground colour F and a background colour B (the means of the
    clean pixels on either side nearby) is a mix c = a F + (1 - a) B, so a = (c - B).(F - B) / |F - B|^2
    (the compositing equation solved per pixel, as in closed-form matting).  Where F and B are too alike to
    tell (below `min_contrast`) the colour-guided filter's value is kept."""
    import cv2

    inside = np.asarray(inside, bool)
    h, w = inside.shape
    r = radius or default_radius(h, w)
    soft = refine(inside, srgb, r)
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3))
    fg_clean = cv2.erode(inside.astype(np.uint8), k) > 0
    bg_clean = cv2.erode((~inside).astype(np.uint8), k) > 0
    ring = ~fg_clean & ~bg_clean
    ring = cv2.dilate(ring.astype(np.uint8), k) > 0
    f, has_f = _local_mean(srgb, fg_clean, r + 1)
    b, has_b = _local_mean(srgb, bg_clean, r + 1)
    d = f - b
    n2 = (d * d).sum(-1)
    a = ((np.asarray(srgb, np.float32) - b) * d).sum(-1) / np.maximum(n2, 1e-6)
    use = ring & has_f & has_b & (n2 > min_contrast ** 2)
    out = np.where(use, np.clip(a, 0.0, 1.0), soft)
    out[fg_clean] = 1.0
    out[bg_clean & ~ring] = 0.0
    return out.astype(np.float32)


def depth_matte(depth: np.ndarray, srgb: np.ndarray, thresholds: Sequence[float], layers: int = 1,
                radius: int | None = None) -> np.ndarray:
    """Soft matte of the nearest `layers` depth layers of one frame (thresholds from :func:`clip_thresholds`)."""
    idx = layer_index(inverse_depth(depth), thresholds)
    return edge_alpha(srgb, idx < layers, radius)


class MatteFilter:
    """Temporal filter for a matte sequence (see module doc).  Its whole state is the previous output and the
    previous frame's guide, so a resumed run seeded with the last matte on disk continues exactly."""

    def __init__(self, blend: float = 0.5, gate: float = 0.25):
        self.blend, self.gate = float(blend), float(gate)
        self.prev: np.ndarray | None = None
        self.prev_guide: np.ndarray | None = None

    def seed(self, matte: np.ndarray, guide: np.ndarray) -> None:
        self.prev, self.prev_guide = np.asarray(matte, np.float32), guide

    def restart(self) -> None:
        """A cut (:mod:`dreamrooms.shot.segments`): the next matte is taken as it is, nothing carried over."""
        self.prev, self.prev_guide = None, None

    def __call__(self, matte: np.ndarray, guide: np.ndarray) -> np.ndarray:
        """`matte` HxW 0..1 of this frame, `guide` the frame as uint8 grey (:func:`stabilize.grey_guide`)."""
        m = np.asarray(matte, np.float32)
        if self.prev is None or self.prev.shape != m.shape or self.prev_guide.shape != guide.shape:
            out = m
        else:
            maps = stab.flow_maps(stab.flow_between(self.prev_guide, guide))
            carried = stab.warp_with(self.prev, maps)
            agree = maps[2] & (np.abs(carried - m) < self.gate)
            out = np.where(agree, self.blend * m + (1.0 - self.blend) * carried, m).astype(np.float32)
        self.prev, self.prev_guide = out, guide
        return out


def iou(a: np.ndarray, b: np.ndarray, threshold: float = 0.5) -> float:
    """Intersection over union of two mattes cut at `threshold` (1.0 when both are empty)."""
    x, y = np.asarray(a) >= threshold, np.asarray(b) >= threshold
    union = int((x | y).sum())
    return float((x & y).sum()) / union if union else 1.0
