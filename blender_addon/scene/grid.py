"""How many vertices a depth plane gets: as many as the camera needs, not one per pixel (pure numpy, no bpy).

The default mesh is a coarse grid (a vertex every `step` output pixels) where depth is smooth, with each coarse
cell that holds a depth edge (a jump between neighbouring pixels) split into one quad per pixel, so silhouettes
keep their full detail for novel views while smooth regions stay coarse.  Coarse cells beside split ones are
fanned over every vertex on their sides, so the mesh has no T-junctions and no cracks.  Geometry nodes re-read
depth at each vertex's UV, so per-frame updates work on any such mesh.  `step` follows the output resolution
and how far the camera moves relative to the scene depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

COARSE_STEP = 4         # most output pixels between vertices where depth is smooth (a 1080p frame: 480 x 270)
VERTEX_BUDGET = 1920 * 1080 // 16   # coarse vertices (frames up to this many pixels keep one per pixel), and
                                    # at most as many again for the cells split along depth edges
EDGE_RATIO = 1.03       # neighbouring depths further apart than this ratio are an edge that keeps full detail


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


@dataclass(frozen=True)
class PlaneMesh:
    """A depth plane's mesh in image space: `uv` (N,2) normalised vertex coordinates (u across, v down) and
    `tris` (T,3) indices, wound as `camera.grid_triangles` winds them (counter-clockwise seen from the camera)."""
    uv: np.ndarray
    tris: np.ndarray


def edge_pixels(depths: list[np.ndarray]) -> np.ndarray:
    """(H,W) True where a pixel is one of a depth-edge pair (a jump to its right or lower neighbour) in any of
    `depths`."""
    mask = None
    for depth in depths:
        d = np.asarray(depth, np.float32)
        ok = np.isfinite(d) & (d > 0)
        d = np.where(ok, d, np.float32(d[ok].max() if ok.any() else 1.0))
        e = np.zeros(d.shape, bool)
        for a, b, sa, sb in ((d[:, :-1], d[:, 1:], np.s_[:, :-1], np.s_[:, 1:]),
                             (d[:-1, :], d[1:, :], np.s_[:-1, :], np.s_[1:, :])):
            jump = np.maximum(a, b) > EDGE_RATIO * np.maximum(np.minimum(a, b), 1e-12)
            e[sa] |= jump
            e[sb] |= jump
        mask = e if mask is None else (mask | e)
    return mask


def _cells(n: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Coarse lattice lines along one axis (every `step`-th pixel and the last) and each pixel's cell."""
    lines = np.unique(np.append(np.arange(0, n, max(1, step)), n - 1))
    cell = np.clip(np.searchsorted(lines, np.arange(n), side="right") - 1, 0, max(len(lines) - 2, 0))
    return lines, cell


def _refined_cells(edges: np.ndarray, cx: np.ndarray, cy: np.ndarray, shape: tuple[int, int],
                   budget: int) -> np.ndarray:
    """(ncy, ncx) True for the cells that hold a depth-edge pixel, the ones with most edge pixels first while
    their added vertices stay within `budget`."""
    counts = np.zeros(shape, np.int64)
    ey, ex = np.nonzero(edges)
    np.add.at(counts, (cy[ey], cx[ex]), 1)
    order = np.argsort(-counts.ravel(), kind="stable")
    order = order[counts.ravel()[order] > 0]
    cw = np.bincount(cx, minlength=shape[1])
    ch = np.bincount(cy, minlength=shape[0])
    cost = (cw[order % shape[1]] + 1) * (ch[order // shape[1]] + 1)
    keep = order[np.cumsum(cost) <= budget]
    out = np.zeros(shape, bool)
    out.ravel()[keep] = True
    return out


def _closed(cells: np.ndarray, cx: np.ndarray, cy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels of the half-open cells marked in `cells`, and those pixels closed by their right and lower lines."""
    inner = cells[np.ix_(cy, cx)]
    closed = inner.copy()
    closed[:, 1:] |= inner[:, :-1]
    closed[1:, :] |= inner[:-1, :]
    closed[1:, 1:] |= inner[:-1, :-1]
    return inner, closed


def _sides_hold_vertices(used: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """(ncy, ncx) True for cells with a vertex on a side besides their corners (a split neighbour's)."""
    rows = np.cumsum(used[ys, :], axis=1)            # per lattice row: used pixels up to x
    cols = np.cumsum(used[:, xs], axis=0)            # per lattice column: used pixels up to y
    between_x = rows[:, xs[1:] - 1] - rows[:, xs[:-1]]   # (len(ys), ncx): strictly between two lattice columns
    between_y = cols[ys[1:] - 1, :] - cols[ys[:-1], :]   # (ncy, len(xs))
    return (between_x[:-1] > 0) | (between_x[1:] > 0) | (between_y[:, :-1] > 0) | (between_y[:, 1:] > 0)


def _fan(ring: np.ndarray, centre: int) -> np.ndarray:
    """Triangles from `centre` to each consecutive pair of the closed `ring`."""
    return np.stack([np.full(len(ring), centre), ring, np.roll(ring, -1)], -1)


def adaptive_mesh(depths: list[np.ndarray], step: int, fill_frame: bool = True) -> PlaneMesh:
    """A coarse grid (a vertex every `step` pixels) whose cells holding a depth edge in any of `depths` are
    split into one quad per pixel, so silhouettes keep full detail and smooth regions stay coarse.  A coarse
    cell beside a split one is fanned from its centre over every vertex on its sides: no T-junction, no crack."""
    h, w = depths[0].shape
    xs, cx = _cells(w, step)
    ys, cy = _cells(h, step)
    shape = (max(len(ys) - 1, 1), max(len(xs) - 1, 1))
    if step <= 1:
        refined = np.ones(shape, bool)
    else:
        refined = _refined_cells(edge_pixels(depths), cx, cy, shape, VERTEX_BUDGET)
    inner, used = _closed(refined, cx, cy)
    used[np.ix_(ys, xs)] = True
    index = np.full((h, w), -1, np.int64)
    py, px = np.nonzero(used)
    index[py, px] = np.arange(len(py))
    quad = inner[:-1, :-1]
    a = index[:-1, :-1][quad]
    b, c, d = index[:-1, 1:][quad], index[1:, :-1][quad], index[1:, 1:][quad]
    tris = [np.stack([a, c, d], -1), np.stack([a, d, b], -1)]
    plain = ~refined & ~_sides_hold_vertices(used, xs, ys)
    j, i = np.nonzero(plain)
    tl, tr, bl, br = index[ys[j], xs[i]], index[ys[j], xs[i + 1]], index[ys[j + 1], xs[i]], index[ys[j + 1], xs[i + 1]]
    tris += [np.stack([tl, bl, br], -1), np.stack([tl, br, tr], -1)]
    centres = []
    for j, i in zip(*np.nonzero(~refined & ~plain)):
        x0, x1, y0, y1 = xs[i], xs[i + 1], ys[j], ys[j + 1]
        ring = np.concatenate([index[y0, x0:x1], index[y0:y1, x1], index[y1, x1:x0:-1], index[y1:y0:-1, x0]])
        centres.append(((x0 + x1) / 2.0, (y0 + y1) / 2.0))
        tris.append(_fan(ring[ring >= 0], len(py) + len(centres) - 1))
    cxy = np.asarray(centres, np.float64).reshape(-1, 2)
    x = np.concatenate([px.astype(np.float64), cxy[:, 0]])
    y = np.concatenate([py.astype(np.float64), cxy[:, 1]])
    tris = np.concatenate(tris).astype(np.int32)
    # wind every triangle as grid_triangles does: negative area in image space (y down)
    area = (x[tris[:, 1]] - x[tris[:, 0]]) * (y[tris[:, 2]] - y[tris[:, 0]]) - \
        (y[tris[:, 1]] - y[tris[:, 0]]) * (x[tris[:, 2]] - x[tris[:, 0]])
    tris = tris[area != 0]
    flip = area[area != 0] > 0
    tris[flip] = tris[flip][:, [0, 2, 1]]
    u, v = (x + 0.5) / w, (y + 0.5) / h
    if fill_frame:
        u[x == 0], u[x == w - 1], v[y == 0], v[y == h - 1] = 0.0, 1.0, 0.0, 1.0
    return PlaneMesh(uv=np.stack([u, v], -1), tris=tris)
