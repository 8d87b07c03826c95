"""Camera math in plain numpy (no bpy): pinhole intrinsics like Blender's camera, pixel rays,
unprojection of depth maps, grids, look-at and rotations, focus distance.  Camera moves live in
:mod:`dreamrooms.camera.moves`.

Conventions (Blender's, shared with `dreamrooms.training.synth` and the shot's camera track):

* Camera space: x right, y up, the camera looks down -z.  A world matrix is camera-to-world
  (columns: right, up, backward, position), row-major 4x4.
* Image space: pixel ``(row i, col j)`` covers ``[j, j+1) x [i, i+1)`` with rows going *down*;
  its centre is ``(j + 0.5, i + 0.5)``.  Normalised image coordinates ``u = x / W`` (0 left,
  1 right) and ``v = y / H`` (0 top, 1 bottom).  Blender's texture UV has its origin at the
  bottom, so ``uv = (u, 1 - v)``.
* Depth is the distance along the camera axis (camera-space ``-z``), larger is farther.
* Sensor fit: ``AUTO`` fits ``sensor_mm`` to the larger image side, ``HORIZONTAL`` to the
  width, ``VERTICAL`` to the height (Blender uses ``sensor_height`` for that; dreamrooms sets
  both to ``sensor_mm``).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dreamrooms.errors import DreamroomsError
from dreamrooms.shot.manifest import SENSOR_FITS  # noqa: F401  (the shot contract's list; re-exported)


# --------------------------------------------------------------------------- intrinsics

@dataclass(frozen=True)
class Intrinsics:
    """Pinhole intrinsics in pixels (x right, y down), principal point at the image centre."""
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float

    @property
    def K(self) -> np.ndarray:
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    @property
    def fov_x(self) -> float:
        return 2.0 * math.atan(self.width / (2.0 * self.fx))

    @property
    def fov_y(self) -> float:
        return 2.0 * math.atan(self.height / (2.0 * self.fy))


def resolve_fit(sensor_fit: str, width: int, height: int, pixel_aspect: float = 1.0) -> str:
    """`AUTO` becomes HORIZONTAL or VERTICAL by the larger (aspect-corrected) side, as in Blender."""
    fit = sensor_fit.upper()
    if fit not in SENSOR_FITS:
        raise DreamroomsError(f"sensor fit {sensor_fit!r}: use one of {', '.join(SENSOR_FITS)}")
    if fit == "AUTO":
        fit = "HORIZONTAL" if width * pixel_aspect >= height else "VERTICAL"
    return fit


def intrinsics(lens_mm: float, sensor_mm: float, width: int, height: int,
               sensor_fit: str = "AUTO", pixel_aspect: float = 1.0) -> Intrinsics:
    """Blender's camera as a pinhole: focal length in pixels from lens, sensor and sensor fit.

    `pixel_aspect` is x/y of one pixel (Blender's pixel_aspect_x / pixel_aspect_y).
    """
    if lens_mm <= 0 or sensor_mm <= 0:
        raise DreamroomsError(f"camera: lens ({lens_mm} mm) and sensor ({sensor_mm} mm) must be positive")
    if width < 1 or height < 1:
        raise DreamroomsError(f"camera: resolution {width}x{height} must be positive")
    fit = resolve_fit(sensor_fit, width, height, pixel_aspect)
    if fit == "HORIZONTAL":
        fx = lens_mm / sensor_mm * width
        fy = fx * pixel_aspect
    else:
        fy = lens_mm / sensor_mm * height
        fx = fy / pixel_aspect
    return Intrinsics(int(width), int(height), float(fx), float(fy), width / 2.0, height / 2.0)


def rays_uv(K: Intrinsics, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Camera-space ray directions (..., 3) through normalised image points, with z = -1 (so a point
    at depth d is ``ray * d``).  `u`, `v` broadcast; v grows downwards."""
    u = np.asarray(u, dtype=np.float64)
    v = np.asarray(v, dtype=np.float64)
    x = (u * K.width - K.cx) / K.fx
    y = -(v * K.height - K.cy) / K.fy
    x, y = np.broadcast_arrays(x, y)
    return np.stack([x, y, -np.ones_like(x)], axis=-1)


def pixel_rays(K: Intrinsics) -> np.ndarray:
    """(H, W, 3) camera-space rays through every pixel centre, z = -1."""
    u = (np.arange(K.width) + 0.5) / K.width
    v = (np.arange(K.height) + 0.5) / K.height
    return rays_uv(K, u[None, :], v[:, None])


def project(K: Intrinsics, points_cam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Camera-space points (..., 3) -> pixel coordinates (..., 2) (x right, y down) and depth (...)."""
    p = np.asarray(points_cam, dtype=np.float64)
    z = -p[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        x = p[..., 0] / z * K.fx + K.cx
        y = -p[..., 1] / z * K.fy + K.cy
    return np.stack([x, y], axis=-1), z


def unproject(depth: np.ndarray, K: Intrinsics) -> np.ndarray:
    """Camera-space points (H, W, 3) of a depth map at its pixel centres."""
    depth = np.asarray(depth)
    if depth.shape != (K.height, K.width):
        raise DreamroomsError(f"unproject: depth is {depth.shape[::-1]} (WxH) but the camera is {K.width}x{K.height}")
    return pixel_rays(K) * depth[..., None]


def to_world(points_cam: np.ndarray, matrix_world: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix_world, dtype=np.float64)
    return points_cam @ m[:3, :3].T + m[:3, 3]


def unproject_world(depth: np.ndarray, K: Intrinsics, matrix_world: np.ndarray) -> np.ndarray:
    """World-space points (H, W, 3) of a depth map seen by a camera with `matrix_world`."""
    return to_world(unproject(depth, K), matrix_world)


# --------------------------------------------------------------------------- depth grids

def grid_uv(nx: int, ny: int, fill_frame: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Normalised coordinates of an nx x ny vertex grid: cell centres ``(k + 0.5) / n`` (so a grid
    the size of the image sits exactly on pixel centres); with `fill_frame` the outer ring is pushed
    to the frame edges (0 and 1) so the mesh covers the whole view."""
    if nx < 2 or ny < 2:
        raise DreamroomsError(f"depth grid {nx}x{ny}: needs at least 2x2 vertices")
    u = (np.arange(nx) + 0.5) / nx
    v = (np.arange(ny) + 0.5) / ny
    if fill_frame:
        u[0], u[-1], v[0], v[-1] = 0.0, 1.0, 0.0, 1.0
    return u, v


def sample_bilinear(img: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Sample an (H, W) map at normalised points (v down) with bilinear filtering and clamped
    edges, pixel centres at ``(j + 0.5) / W`` (what Blender's Linear/Extend image texture does)."""
    img = np.asarray(img)
    h, w = img.shape[:2]
    x = np.clip(np.asarray(u, dtype=np.float64) * w - 0.5, 0.0, w - 1.0)
    y = np.clip(np.asarray(v, dtype=np.float64) * h - 0.5, 0.0, h - 1.0)
    x0 = np.floor(x).astype(np.intp)
    y0 = np.floor(y).astype(np.intp)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    fx = (x - x0).astype(np.float32)
    fy = (y - y0).astype(np.float32)
    if img.ndim == 3:
        fx = fx[..., None]
        fy = fy[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bot = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return top * (1 - fy) + bot * fy


def sample_grid(img: np.ndarray, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """`sample_bilinear` over the outer product grid u (nx,) x v (ny,) -> (ny, nx); exact copies
    when the grid sits on pixel centres (no interpolation cost)."""
    img = np.asarray(img)
    h, w = img.shape[:2]
    xs = np.clip(u * w - 0.5, 0, w - 1)
    ys = np.clip(v * h - 0.5, 0, h - 1)
    if np.all(xs == np.round(xs)) and np.all(ys == np.round(ys)):
        return img[np.ix_(ys.astype(np.intp), xs.astype(np.intp))]
    return sample_bilinear(img, u[None, :], v[:, None])


def clamp_depth(depth: np.ndarray, scale: float = 1.0, near: float = 0.0, far: float = 0.0) -> np.ndarray:
    """Scaled depth clamped to [near, far] (far <= 0 means no far clamp); non-finite -> far or max."""
    d = np.asarray(depth, dtype=np.float32) * np.float32(scale)
    finite = np.isfinite(d)
    if not finite.all():
        fill = far if far > 0 else (float(d[finite].max()) if finite.any() else 1.0)
        d = np.where(finite, d, np.float32(fill))
    lo = near if near > 0 else None
    hi = far if far > 0 else None
    if lo is not None or hi is not None:
        d = np.clip(d, lo, hi)
    return d


def grid_triangles(nx: int, ny: int) -> np.ndarray:
    """(2*(nx-1)*(ny-1), 3) vertex indices of a row-major grid, two triangles per cell, wound
    counter-clockwise seen from the camera (normals face it)."""
    i = np.arange(ny - 1)[:, None] * nx + np.arange(nx - 1)[None, :]
    a = i.ravel()            # top-left (rows go down the image)
    b = a + 1                # top-right
    c = a + nx               # bottom-left
    d = c + 1                # bottom-right
    tris = np.empty((a.size, 2, 3), dtype=np.int32)
    tris[:, 0, 0], tris[:, 0, 1], tris[:, 0, 2] = a, c, d
    tris[:, 1, 0], tris[:, 1, 1], tris[:, 1, 2] = a, d, b
    return tris.reshape(-1, 3)


def edge_cut_mask(depth_vertices: np.ndarray, tris: np.ndarray, threshold: float) -> np.ndarray:
    """True for triangles to keep: max/min depth over the triangle's corners <= threshold
    (threshold <= 1 disables the cut)."""
    if threshold <= 1.0:
        return np.ones(len(tris), dtype=bool)
    d = np.asarray(depth_vertices, dtype=np.float32).ravel()[tris]
    lo = d.min(axis=1)
    hi = d.max(axis=1)
    return hi <= np.float32(threshold) * np.maximum(lo, np.float32(1e-12))


# --------------------------------------------------------------------------- matrices

def look_at(eye, target, up=(0.0, 0.0, 1.0)) -> np.ndarray:
    """Camera-to-world 4x4 looking from `eye` at `target` (Blender camera convention)."""
    eye = np.asarray(eye, dtype=np.float64)
    fwd = np.asarray(target, dtype=np.float64) - eye
    n = np.linalg.norm(fwd)
    if n == 0:
        raise DreamroomsError("look_at: eye and target coincide")
    fwd = fwd / n
    up = np.asarray(up, dtype=np.float64)
    right = np.cross(fwd, up)
    if np.linalg.norm(right) < 1e-8:
        right = np.cross(fwd, np.array([0.0, 1.0, 0.0]))
    right /= np.linalg.norm(right)
    cam_up = np.cross(right, fwd)
    m = np.eye(4)
    m[:3, 0], m[:3, 1], m[:3, 2], m[:3, 3] = right, cam_up, -fwd, eye
    return m


def rotation(axis, angle: float) -> np.ndarray:
    """3x3 rotation about `axis` by `angle` radians (Rodrigues)."""
    a = np.asarray(axis, dtype=np.float64)
    a = a / np.linalg.norm(a)
    x, y, z = a
    c, s = math.cos(angle), math.sin(angle)
    C = 1 - c
    return np.array([[c + x * x * C, x * y * C - z * s, x * z * C + y * s],
                     [y * x * C + z * s, c + y * y * C, y * z * C - x * s],
                     [z * x * C - y * s, z * y * C + x * s, c + z * z * C]])


def focus_distance(depth: np.ndarray, point: tuple[float, float] = (0.5, 0.5), window: int = 1) -> float:
    """Depth at normalised image point (u, v down) as a robust focus distance: the median over a
    (2*window+1)^2 pixel patch, ignoring non-finite values."""
    depth = np.asarray(depth, dtype=np.float32)
    h, w = depth.shape
    j = min(max(int(point[0] * w), 0), w - 1)
    i = min(max(int(point[1] * h), 0), h - 1)
    patch = depth[max(i - window, 0):i + window + 1, max(j - window, 0):j + window + 1]
    patch = patch[np.isfinite(patch) & (patch > 0)]
    if patch.size == 0:
        raise DreamroomsError(f"focus point {point}: no finite depth there; pick another point")
    return float(np.median(patch))


def focus_from_points(points_world: np.ndarray, matrix_world: np.ndarray) -> float:
    """Distance along the camera axis from a camera to a world point (for refocusing on moves)."""
    m = np.asarray(matrix_world, dtype=np.float64)
    p = np.asarray(points_world, dtype=np.float64) - m[:3, 3]
    return float(p @ -m[:3, 2])


def matrices_to_lists(matrices: Sequence[np.ndarray]) -> list[list[list[float]]]:
    return [[[float(x) for x in row] for row in np.asarray(m, dtype=np.float64).reshape(4, 4)] for m in matrices]
