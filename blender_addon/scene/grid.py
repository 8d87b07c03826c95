"""How many vertices a depth plane gets: as many as the camera needs, not one per pixel (pure numpy, no bpy).

The default grid puts a vertex column and row every `step` output pixels where depth is smooth, and adds every
pixel column and row that crosses a depth edge (a jump between neighbouring pixels), so silhouettes keep their
full detail for novel views while smooth regions stay coarse.  The grid stays a tensor grid (columns x rows at
chosen pixel centres): no T-junctions, so no cracks, and the same triangulation and geometry-nodes update as a
uniform grid.  `step` follows the output resolution and how far the camera moves relative to the scene depth.
"""
from __future__ import annotations

import numpy as np

COARSE_STEP = 4         # most output pixels between vertices where depth is smooth (a 1080p frame: 480 x 270)
VERTEX_BUDGET = 1920 * 1080 // 16   # smooth-region vertices: frames up to this many pixels keep one per pixel
EDGE_RATIO = 1.03       # neighbouring depths further apart than this ratio are an edge that keeps full detail
MAX_EDGE_SHARE = 1.0    # edge columns (rows) added at most this share of the coarse count, strongest first


def coarse_step(out_width: int, out_height: int, depth_width: int, travel: float = 0.0,
                median_depth: float = 1.0) -> int:
    """Depth-map pixels between vertices where depth is smooth: enough output pixels per vertex to stay within
    VERTEX_BUDGET (1 up to about 640x360, 3 at 720p, 4 at 1080p and above), halved when the camera travels more
    than half the median depth (surfaces are then seen from far off their first angle) and 1 beyond it."""
    step_out = min(COARSE_STEP, max(1, int(round((out_width * out_height / VERTEX_BUDGET) ** 0.5))))
    rel = abs(float(travel)) / max(float(median_depth), 1e-6)
    if rel > 1.0:
        step_out = 1
    elif rel > 0.5:
        step_out = max(1, step_out // 2)
    return max(1, int(round(step_out * depth_width / max(out_width, 1))))


def _edge_counts(depth: np.ndarray, axis: int) -> np.ndarray:
    """Per pixel column (axis=1) or row (axis=0): how many neighbour pairs across it are a depth edge; the
    count is given to both pixels of a pair."""
    d = np.asarray(depth, np.float32)
    d = np.where(np.isfinite(d) & (d > 0), d, np.float32(np.nanmax(d[np.isfinite(d)]) if np.isfinite(d).any() else 1.0))
    a = d[:, :-1] if axis == 1 else d[:-1, :]
    b = d[:, 1:] if axis == 1 else d[1:, :]
    jump = np.maximum(a, b) > EDGE_RATIO * np.maximum(np.minimum(a, b), 1e-12)
    per = jump.sum(axis=0 if axis == 1 else 1).astype(np.int64)
    counts = np.zeros(d.shape[axis], np.int64)
    counts[:-1] += per
    counts[1:] += per
    return counts


def axis_indices(n: int, step: int, edges: np.ndarray) -> np.ndarray:
    """Sorted pixel indices along one axis: every `step`-th (and the last) plus the edge pixels, strongest
    first up to MAX_EDGE_SHARE of the coarse count."""
    coarse = np.unique(np.append(np.arange(0, n, max(1, step)), n - 1))
    if step <= 1:
        return coarse
    cand = np.flatnonzero(edges > 0)
    cand = cand[~np.isin(cand, coarse)]
    budget = int(MAX_EDGE_SHARE * len(coarse))
    if len(cand) > budget:
        cand = cand[np.argsort(-edges[cand], kind="stable")[:budget]]
    return np.union1d(coarse, cand)


def adaptive_uv(depths: list[np.ndarray], step: int, fill_frame: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Normalised vertex coordinates (u across, v down) at pixel centres of the depth maps' grid: coarse every
    `step` pixels, full detail on the columns and rows that cross a depth edge in any of `depths` (the frames
    of an animated plane that were looked at).  With `fill_frame` the outer ring sits on the frame edges."""
    h, w = depths[0].shape
    ex = sum(_edge_counts(d, 1) for d in depths)
    ey = sum(_edge_counts(d, 0) for d in depths)
    u = (axis_indices(w, step, ex) + 0.5) / w
    v = (axis_indices(h, step, ey) + 0.5) / h
    if fill_frame:
        u[0], u[-1], v[0], v[-1] = 0.0, 1.0, 0.0, 1.0
    return u, v
