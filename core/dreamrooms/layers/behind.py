"""What lies behind a depth edge: the far surface continued into the band the near side hides.

The layered depth image of 3D Photo Inpainting (Shih et al., CVPR 2020) in our terms.  For each far-side pixel
of a cut (:mod:`.edges`) the band behind the near side it may be seen through is, for a camera whose largest
parallax is `max_parallax` pixels, ``max_parallax * (1 - z_near / z_far)`` plus a margin (a point at depth z
shifts by f * t / z, so the gap between near and far opens by f * t / z_near * (1 - z_near / z_far)).

* depth: every pixel near a cut takes its nearest far-side edge pixel q and continues the far surface along
  the line from q through it: inverse depth is linear along any image line on a plane, so a line fitted to
  the far side's inverse depth beyond q (its own pixels only, a few of them: the local slope of that
  surface, so a floor and the wall it meets each continue their own way) is extrapolated back across the
  cut.  A pixel is hidden (it is the near side) where what the source saw there is nearer than that
  continued far surface.
* colour: the hidden pixels are filled from the far side only (the near side is part of the hole, so it never
  bleeds in); the zone filled is twice the widest band wide, so every band pixel lies nearer the far side
  than the near side's interior.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamrooms.layers.edges import Edges

MARGIN = 3          # pixels added to every band (the colour fill's radius: its soft end stays hidden)
SAMPLES = (1, 2, 3, 4, 5, 6, 7, 8)    # far-side samples (pixels beyond the edge pixel) of the slope fit
HIDDEN = 0.03       # a pixel is hidden when it is this much (relative) nearer than the continued far surface
CONTEXT = 2         # true far-side pixels kept around the cut by the behind layer (covers the front's ramp)


def default_parallax(height: int, width: int) -> int:
    """The largest image shift (pixels) a layered build is made for by default: 4 % of the short side."""
    return max(2, round(0.04 * min(height, width)))


@dataclass
class Behind:
    """One frame's far-side continuation: `depth` (the far surface where `hidden`, the frame's elsewhere),
    `hidden` (near-side pixels in front of a continued far surface), `band` (the hidden pixels a camera
    within the parallax can see: the behind layer's synthesis region), `zone` (where the colour fill may
    write), `strip` (the front layer's cut: far-side pixels next to near ones, transparent there)."""
    depth: np.ndarray
    hidden: np.ndarray
    band: np.ndarray
    zone: np.ndarray
    strip: np.ndarray
    near_strip: np.ndarray     # the part of the strip touching the near side (its colour is mixed)
    near_ext: np.ndarray       # the part of the strip that takes the near depth in front
    front_depth: np.ndarray    # the front layer's depth: the frame's, the near depth over `near_ext`
    near_side: np.ndarray      # every pixel on the near side of a cut within reach (never a colour source)


def _nearest(far: np.ndarray):
    """Distance to and coordinates of the nearest `far` pixel, for every pixel."""
    import cv2

    src = np.where(far, 0, 1).astype(np.uint8)
    dist, lab = cv2.distanceTransformWithLabels(src, cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL)
    ys, xs = np.nonzero(far)
    table_y = np.zeros(lab.max() + 1, np.int32)
    table_x = np.zeros(lab.max() + 1, np.int32)
    table_y[lab[ys, xs]] = ys
    table_x[lab[ys, xs]] = xs
    return dist, table_y[lab], table_x[lab]


def _bilinear(img: np.ndarray, y: np.ndarray, x: np.ndarray) -> np.ndarray:
    """`img` sampled at pixel coordinates (y, x) (pixel centres at integers), clamped at the frame: OpenCV's
    remap over the points laid out in rows of 4096 (its maps must stay under 32767 on a side)."""
    import cv2

    shape = np.shape(y)
    fy, fx = np.ravel(y).astype(np.float32), np.ravel(x).astype(np.float32)
    n, cols = fy.size, 4096
    rows = max(1, -(-n // cols))
    my = np.zeros(rows * cols, np.float32)
    mx = np.zeros(rows * cols, np.float32)
    my[:n], mx[:n] = fy, fx
    out = np.empty(rows * cols, np.float32)
    src = np.asarray(img, np.float32)
    step = 8000      # rows per call: well under remap's limit
    for r0 in range(0, rows, step):
        sl = slice(r0 * cols, min(rows, r0 + step) * cols)
        out[sl] = cv2.remap(src, mx[sl].reshape(-1, cols), my[sl].reshape(-1, cols), cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_REPLICATE).ravel()
    return out[:n].reshape(shape)


def toward_near(edges: Edges) -> tuple[np.ndarray, np.ndarray]:
    """Per far edge pixel, the unit direction (y, x) to the near pixels among its 8 neighbours."""
    import cv2

    ky = np.array([[-1, -1, -1], [0, 0, 0], [1, 1, 1]], np.float32)
    ky = ky / np.hypot(*np.mgrid[-1:2, -1:2]).clip(1e-9).astype(np.float32)
    kx = np.ascontiguousarray(ky.T)
    near = edges.near.astype(np.float32)
    vy = cv2.filter2D(near, -1, ky, borderType=cv2.BORDER_CONSTANT)     # correlation: sum of near(y+dy, x+dx) dy
    vx = cv2.filter2D(near, -1, kx, borderType=cv2.BORDER_CONSTANT)
    n = np.hypot(vy, vx) + 1e-9
    return vy / n, vx / n


def on_near_side(edges: Edges, dist: np.ndarray, qy: np.ndarray, qx: np.ndarray) -> np.ndarray:
    """Pixels that lie from their nearest far edge pixel toward that pixel's near neighbours."""
    h, w = dist.shape
    ys, xs = np.mgrid[0:h, 0:w]
    my, mx = toward_near(edges)
    return (ys - qy) * my[qy, qx] + (xs - qx) * mx[qy, qx] > 0.3 * dist


def continue_far(depth: np.ndarray, edges: Edges, reach: float, where: np.ndarray | None = None,
                 near_side: bool | np.ndarray = False) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The far surface continued (depth) over the pixels within `reach` of a far edge pixel (and in `where`;
    with `near_side` only those on the near side of it), with the distance to that edge pixel and its
    coordinates; inf where not computed."""
    d = np.asarray(depth, np.float32)
    u = 1.0 / np.maximum(d, 1e-6)
    dist, qy, qx = _nearest(edges.far)
    zone = dist <= reach
    if where is not None:
        zone &= where
    if near_side is not False:
        side = on_near_side(edges, dist, qy, qx) if near_side is True else near_side
        zone &= side | edges.far
    ys, xs = np.nonzero(zone)
    py, px, q_y, q_x, r = ys.astype(np.float32), xs.astype(np.float32), qy[zone].astype(np.float32), \
        qx[zone].astype(np.float32), dist[zone].astype(np.float32)
    ny = np.where(r > 0, (q_y - py) / np.maximum(r, 1e-6), 0.0)
    nx = np.where(r > 0, (q_x - px) / np.maximum(r, 1e-6), 0.0)
    # pixels on the far edge itself or with no direction: step away from the near side instead
    still = r <= 0
    if still.any():
        grad_y, grad_x = np.gradient(u)
        gy, gx = grad_y[ys[still], xs[still]], grad_x[ys[still], xs[still]]
        n = np.hypot(gy, gx) + 1e-12
        ny[still], nx[still] = -gy / n, -gx / n     # down the inverse-depth slope: away from the near side
    t = np.asarray(SAMPLES, np.float32)
    sy = q_y[:, None] + ny[:, None] * t[None, :]
    sx = q_x[:, None] + nx[:, None] * t[None, :]
    vals = _bilinear(u, sy, sx)
    near_mask = _bilinear(edges.near.astype(np.float32), sy, sx)
    # only the far surface's own samples: stop at the first one that reaches a near pixel or jumps
    uq = u[qy[zone], qx[zone]]
    ok = (near_mask < 0.01) & (vals > 0) & (vals < uq[:, None] * 1.15) & (vals > uq[:, None] / 1.15)
    ok = np.cumprod(ok, axis=1).astype(bool)
    w = ok.astype(np.float32)
    cnt = w.sum(1)
    tm = (w * t).sum(1) / np.maximum(cnt, 1)
    vm = (w * vals).sum(1) / np.maximum(cnt, 1)
    slope = (w * (t - tm[:, None]) * (vals - vm[:, None])).sum(1) / np.maximum((w * (t - tm[:, None]) ** 2).sum(1), 1e-6)
    slope = np.where(cnt >= 3, slope, 0.0)
    intercept = np.where(cnt >= 1, vm - slope * tm, uq)
    uf = intercept - slope * r            # the line at t = -r (the pixel itself)
    uf = np.clip(uf, uq * 0.5, uq * 2.0)
    far_depth = np.full(d.shape, np.inf, np.float32)
    far_depth[ys, xs] = 1.0 / uf
    return far_depth, dist, qy, qx


def behind(depth: np.ndarray, edges: Edges, max_parallax: float, margin: int = MARGIN) -> Behind:
    """The far side continued behind every cut of one frame (see module doc)."""
    import cv2

    d = np.asarray(depth, np.float32)
    h, w = d.shape
    empty = np.zeros((h, w), bool)
    if not edges.far.any():
        return Behind(d.copy(), empty, empty, empty, empty, empty, empty, d.copy(), empty)
    ratio = np.where(edges.far, edges.near_depth / np.maximum(d, 1e-6), 1.0)
    width = np.where(edges.far, max_parallax * np.clip(1.0 - ratio, 0.0, 1.0) + margin, 0.0).astype(np.float32)
    widest = float(width.max())
    reach = 2.0 * widest + 2 * margin
    dist, qy, qx = _nearest(edges.far)
    side = on_near_side(edges, dist, qy, qx)
    far_depth, dist, qy, qx = continue_far(d, edges, reach, near_side=side)
    zone = np.isfinite(far_depth)
    # never a colour source: the near side, and anything within reach nearer than halfway (in ratio) from its
    # cut's far side to its near side (an object's pixels where it meets the floor are not cut but near)
    mid = np.sqrt(np.where(edges.far, edges.near_depth * d, np.inf))
    near_side = zone & (side | (d < mid[qy, qx])) & ~edges.far
    hidden = zone & side & ~edges.far & (d < far_depth * (1.0 - HIDDEN))
    band = hidden & (dist <= width[qy, qx])
    near_strip = edges.far
    # the cut in the front layer: far-side pixels up to 2 px from the near side; those next to it take the
    # near depth (the front's soft silhouette stays flat), the others keep theirs (the one stretched row of
    # grid triangles lies between the two, transparent at both ends)
    near_level = cv2.erode(np.where(edges.near, d, np.inf).astype(np.float32), np.ones((5, 5), np.uint8),
                           borderType=cv2.BORDER_CONSTANT, borderValue=np.inf)
    far_side = ~edges.near & ~hidden & (d > near_level * 1.04)
    strip = near_strip | ((cv2.dilate(edges.near.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0) & far_side)
    near_ext = near_strip
    out = np.where(hidden, far_depth, d).astype(np.float32)
    return Behind(out, hidden, band, zone, strip, near_strip, near_ext, np.where(near_ext, edges.near_depth, d),
                  near_side)
