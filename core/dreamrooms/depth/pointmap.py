"""Camera from a predicted point map (MoGe): the z shift and focal length that make the points project onto
the image, metric depth, and the horizontal field of view / lens that follow.

MoGe-2's ONNX graph outputs an *affine* point map: camera-space x, y, z up to an unknown shift of z, plus a
metric scale (microsoft/MoGe docs/onnx.md: the focal/shift recovery of `infer()` is not in the graph).  A
pinhole camera centred on the image maps a point to view-plane coordinates uv = focal * (x, y) / (z + shift),
where uv spans +-W/diag by +-H/diag (diag = sqrt(W^2 + H^2)) and `focal` is relative to half the diagonal
(MoGe's `normalized_view_plane_uv` / `recover_focal_shift` conventions).  For a given shift the best focal is
a 1-D least-squares ratio, so only the shift is searched: on a coarse geometric grid, then by golden section.
"""
from __future__ import annotations

import math

import numpy as np


def view_plane_uv(height: int, width: int) -> np.ndarray:
    """H x W x 2 view-plane coordinates of the pixel centres: u in +-(W/diag)(W-1)/W, v likewise (y down)."""
    diag = math.hypot(width, height)
    u = (2 * np.arange(width, dtype=np.float64) + 1 - width) / diag
    v = (2 * np.arange(height, dtype=np.float64) + 1 - height) / diag
    uu, vv = np.meshgrid(u, v)
    return np.stack([uu, vv], axis=-1)


def _subsample(a: np.ndarray, size: int = 64) -> np.ndarray:
    h, w = a.shape[:2]
    ys = np.minimum((np.arange(min(size, h)) + 0.5) * h / min(size, h), h - 1).astype(int)
    xs = np.minimum((np.arange(min(size, w)) + 0.5) * w / min(size, w), w - 1).astype(int)
    return a[ys][:, xs]


def recover_focal_shift(points: np.ndarray, mask: np.ndarray | None = None) -> tuple[float, float]:
    """(focal relative to half the diagonal, z shift) for an H x W x 3 affine point map."""
    h, w = points.shape[:2]
    uv = _subsample(view_plane_uv(h, w)).reshape(-1, 2)
    p = _subsample(np.asarray(points, np.float64)).reshape(-1, 3)
    keep = np.isfinite(p).all(axis=1)
    if mask is not None:
        keep &= _subsample(np.asarray(mask) > 0.5).ravel()
    uv, xy, z = uv[keep], p[keep, :2], p[keep, 2]
    if z.size < 2:
        return 1.0, 0.0

    def cost(shift: float) -> tuple[float, float]:
        q = xy / (z + shift)[:, None]
        f = float((q * uv).sum() / max((q * q).sum(), 1e-30))
        return float(np.square(f * q - uv).sum()), f

    lo = -float(z.min())                   # every point must stay in front of the camera
    scale = max(float(np.median(np.abs(z))), float(z.max() - z.min()), 1e-6)
    grid = lo + scale * np.geomspace(1e-4, 1e3, 96)
    costs = [cost(s)[0] for s in grid]
    i = int(np.argmin(costs))
    a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
    g = (math.sqrt(5) - 1) / 2
    c, d = b - g * (b - a), a + g * (b - a)
    fc, fd = cost(c)[0], cost(d)[0]
    for _ in range(60):
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - g * (b - a)
            fc = cost(c)[0]
        else:
            a, c, fc = c, d, fd
            d = a + g * (b - a)
            fd = cost(d)[0]
    shift = (a + b) / 2
    return cost(shift)[1], float(shift)


def focal_to_fov_x(focal: float, height: int, width: int) -> float:
    """Horizontal field of view (degrees) of a focal length relative to half the image diagonal."""
    a = width / height
    fx_widths = focal / 2 * math.sqrt(1 + a * a) / a        # focal length in image widths
    return math.degrees(2 * math.atan(0.5 / fx_widths))


def fov_x_to_lens_mm(fov_x_deg: float, sensor_mm: float) -> float:
    """Lens (mm) that gives this horizontal FOV on a sensor `sensor_mm` wide."""
    return sensor_mm / (2 * math.tan(math.radians(fov_x_deg) / 2))


def focal_px_to_fov_x(focal_px: float, width_px: int) -> float:
    """Horizontal FOV (degrees) of a focal length in pixels at an image `width_px` wide (Depth Pro)."""
    return math.degrees(2 * math.atan(width_px / (2 * focal_px)))


def metric_depth(points: np.ndarray, mask: np.ndarray | None, metric_scale: float) -> tuple[np.ndarray, float]:
    """(depth in metres H x W, horizontal FOV in degrees) from MoGe's affine point map and metric scale.
    Pixels the mask rejects (sky, background) get the farthest valid depth, so they read as far away."""
    h, w = points.shape[:2]
    focal, shift = recover_focal_shift(points, mask)
    depth = (np.asarray(points[..., 2], np.float32) + np.float32(shift)) * np.float32(metric_scale)
    valid = np.isfinite(depth) & (depth > 0)
    if mask is not None:
        valid &= np.asarray(mask) > 0.5
    far = float(depth[valid].max()) if valid.any() else 1.0
    depth = np.where(valid, depth, np.float32(far)).astype(np.float32)
    return depth, focal_to_fov_x(focal, h, w)
