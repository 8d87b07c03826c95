"""Procedural scenes with exact depth: a small numpy ray caster.

Used to train the built-in ``tinydepth`` model and by tests that need images
with known geometry (depth estimation, unprojection, camera export).

Conventions (the same as Blender's, so results drop straight into a shot):

* World space is Z-up, metres.
* A :class:`Camera` holds a 4x4 camera-to-world matrix ``matrix_world``
  whose columns are the camera's right (+x), up (+y) and *backward* (+z)
  axes and its position; the camera looks down its local -z axis.
* Pinhole intrinsics from ``lens_mm``/``sensor_mm``/``sensor_fit``
  (``"AUTO"`` fits the sensor to the larger image side, ``"HORIZONTAL"`` to
  the width, ``"VERTICAL"`` to the height). The principal point is the image
  centre; pixel ``(row i, col j)`` is sampled at ``(j + 0.5, i + 0.5)``.
* ``depth`` is the distance along the camera axis (the camera-space ``-z``
  of the hit point), not the Euclidean ray length. Larger is farther. Rays
  that hit nothing get ``np.inf`` (scenes from :func:`random_scene` are
  closed rooms, so every pixel is finite there).
* ``rgb`` is scene-linear float32 in 0..1 (clipped), HxWx3.

Public API::

    scene = random_scene(seed)                          # a furnished room
    cam = scene.camera                                   # a good viewpoint
    rgb, depth = render_scene(scene, cam, 128, 96)       # (H,W,3), (H,W)
    rgb, depth, extra = render_scene(scene, cam, 128, 96, extras=True)
    #   extra["normal"] (H,W,3 world-space unit normals facing the camera),
    #   extra["object_id"] (H,W int32, -1 for misses; index into scene.objects)
    #   extra["position"] (H,W,3 world-space hit points)
    cams = camera_path(scene, n_frames=24, seed=0, kind="dolly")  # list[Camera]
    clip = render_clip(scene, cams, 128, 96)             # iterator of (rgb, depth)
    K = cam.intrinsics(128, 96)                          # 3x3 pixel intrinsics
    pts = cam.unproject(depth)                           # (H,W,3) world points

Everything is deterministic for a given seed. A 128x128 frame of a random
room takes a few tens of milliseconds on one core.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


import numpy as np

from dreamrooms.camera.geometry import SENSOR_FITS, look_at, resolve_fit


_EPS = 1e-4


# --------------------------------------------------------------------------
# camera

@dataclass
class Camera:
    """Pinhole camera. ``matrix_world`` is camera-to-world (Blender style)."""

    matrix_world: np.ndarray = field(default_factory=lambda: np.eye(4))
    lens_mm: float = 24.0
    sensor_mm: float = 36.0
    sensor_fit: str = "AUTO"

    def __post_init__(self):
        self.matrix_world = np.asarray(self.matrix_world, dtype=np.float64).reshape(4, 4)
        if self.sensor_fit not in SENSOR_FITS:
            raise ValueError(f"sensor_fit must be AUTO, HORIZONTAL or VERTICAL, not {self.sensor_fit!r}")

    @classmethod
    def look_at(cls, eye, target, up=(0.0, 0.0, 1.0), **kw) -> "Camera":
        return cls(look_at(eye, target, up), **kw)

    @property
    def position(self) -> np.ndarray:
        return self.matrix_world[:3, 3].copy()

    @property
    def forward(self) -> np.ndarray:
        return -self.matrix_world[:3, 2]

    def focal_px(self, width: int, height: int) -> float:
        dim = width if resolve_fit(self.sensor_fit, width, height) == "HORIZONTAL" else height
        return self.lens_mm / self.sensor_mm * dim

    def intrinsics(self, width: int, height: int) -> np.ndarray:
        """3x3 K for pixel coordinates with y down (OpenCV-style image axes)."""
        f = self.focal_px(width, height)
        return np.array([[f, 0, width / 2.0], [0, f, height / 2.0], [0, 0, 1.0]])

    def ray_directions(self, width: int, height: int, ssaa: int = 1) -> np.ndarray:
        """World-space ray directions (H*ssaa, W*ssaa, 3), scaled so that the
        component along the camera's forward axis is exactly 1 (so a hit at
        parameter t has depth t)."""
        f = self.focal_px(width, height)
        s = ssaa
        js = (np.arange(width * s) + 0.5) / s
        is_ = (np.arange(height * s) + 0.5) / s
        x = (js - width / 2.0) / f
        y = -(is_ - height / 2.0) / f
        xx, yy = np.meshgrid(x, y)
        cam = np.stack([xx, yy, -np.ones_like(xx)], axis=-1)
        return cam @ self.matrix_world[:3, :3].T

    def unproject(self, depth: np.ndarray) -> np.ndarray:
        """World-space points (H,W,3) for a depth map (along-axis depth)."""
        h, w = depth.shape
        d = self.ray_directions(w, h)
        return self.position[None, None, :] + d * depth[..., None]

    def project(self, points: np.ndarray, width: int, height: int):
        """Project world points (...,3) to pixel coords (...,2) (x right, y down)
        and their depth (...)."""
        p = np.asarray(points, dtype=np.float64)
        inv = np.linalg.inv(self.matrix_world)
        pc = p @ inv[:3, :3].T + inv[:3, 3]
        z = -pc[..., 2]
        f = self.focal_px(width, height)
        u = pc[..., 0] / z * f + width / 2.0
        v = -pc[..., 1] / z * f + height / 2.0
        return np.stack([u, v], axis=-1), z


# --------------------------------------------------------------------------
# textures (solid 3D textures: a function of the world-space hit point)

class _Noise:
    def __init__(self, seed: int):
        rng = np.random.default_rng(seed)
        self.perm = rng.permutation(256).astype(np.int64)
        self.vals = rng.random(256)

    def _hash(self, ix, iy, iz):
        p = self.perm
        return self.vals[p[(p[(p[ix & 255] + iy) & 255] + iz) & 255]]

    def value(self, pts: np.ndarray) -> np.ndarray:
        fl = np.floor(pts)
        i = fl.astype(np.int64)
        f = pts - fl
        f = f * f * (3 - 2 * f)
        out = 0.0
        for dx in (0, 1):
            wx = f[:, 0] if dx else 1 - f[:, 0]
            for dy in (0, 1):
                wy = f[:, 1] if dy else 1 - f[:, 1]
                for dz in (0, 1):
                    wz = f[:, 2] if dz else 1 - f[:, 2]
                    out = out + wx * wy * wz * self._hash(i[:, 0] + dx, i[:, 1] + dy, i[:, 2] + dz)
        return out

    def fbm(self, pts: np.ndarray, octaves: int = 4) -> np.ndarray:
        total = np.zeros(len(pts))
        amp, norm = 1.0, 0.0
        for o in range(octaves):
            total += amp * self.value(pts * (2.0 ** o) + 17.0 * o)
            norm += amp
            amp *= 0.5
        return total / norm


@dataclass
class Texture:
    """A solid texture. kind: solid | checker | stripes | noise | marble | tiles."""

    kind: str = "solid"
    color_a: tuple = (0.6, 0.6, 0.6)
    color_b: tuple = (0.2, 0.2, 0.2)
    scale: float = 1.0          # features per metre
    axis: int = 0               # stripes direction
    seed: int = 0

    def __post_init__(self):
        self._noise = _Noise(self.seed)

    def albedo(self, p: np.ndarray) -> np.ndarray:
        a = np.asarray(self.color_a, dtype=np.float64)
        b = np.asarray(self.color_b, dtype=np.float64)
        if len(p) == 0:
            return np.zeros((0, 3))
        q = p * self.scale
        k = self.kind
        if k == "solid":
            t = np.zeros(len(p))
        elif k == "checker":
            t = (np.floor(q).astype(np.int64).sum(axis=1) & 1).astype(np.float64)
        elif k == "stripes":
            t = 0.5 + 0.5 * np.sin(2 * np.pi * q[:, self.axis])
            t = (t > 0.5).astype(np.float64) * 0.85 + 0.15 * t
        elif k == "noise":
            t = self._noise.fbm(q, 4)
            t = np.clip((t - 0.25) * 2.0, 0, 1)
        elif k == "marble":
            t = 0.5 + 0.5 * np.sin(q[:, 0] * 2.0 + q[:, 1] * 1.3 + 6.0 * self._noise.fbm(q, 4))
        elif k == "tiles":
            fr = q - np.floor(q)
            edge = np.minimum(fr, 1 - fr)
            # grout where any two of the three coordinates are near a cell edge
            near = (edge < 0.06).sum(axis=1) >= 2
            t = near.astype(np.float64) + 0.15 * self._noise.value(q * 3)
            t = np.clip(t, 0, 1)
        else:
            raise ValueError(f"unknown texture kind {k!r}")
        return a[None, :] * (1 - t[:, None]) + b[None, :] * t[:, None]


# --------------------------------------------------------------------------
# primitives: intersect(o, d) -> (t, normal); o, d are (N,3); t (N,) with inf for miss

def _inf(n):
    return np.full(n, np.inf)


@dataclass
class Sphere:
    center: tuple
    radius: float
    texture: Texture = field(default_factory=Texture)

    def intersect(self, o, d):
        c = np.asarray(self.center, dtype=np.float64)
        oc = o - c
        a = np.einsum("ij,ij->i", d, d)
        b = 2 * np.einsum("ij,ij->i", oc, d)
        cc = np.einsum("ij,ij->i", oc, oc) - self.radius ** 2
        disc = b * b - 4 * a * cc
        t = _inf(len(d))
        ok = disc >= 0
        sq = np.sqrt(np.where(ok, disc, 0))
        t0 = (-b - sq) / (2 * a)
        t1 = (-b + sq) / (2 * a)
        tt = np.where(t0 > _EPS, t0, np.where(t1 > _EPS, t1, np.inf))
        t = np.where(ok, tt, t)
        p = o + d * np.where(np.isfinite(t), t, 0)[:, None]
        n = (p - c) / self.radius
        return t, n


@dataclass
class Plane:
    """Infinite plane through ``point`` with ``normal``."""

    point: tuple
    normal: tuple
    texture: Texture = field(default_factory=Texture)

    def intersect(self, o, d):
        n = np.asarray(self.normal, dtype=np.float64)
        n = n / np.linalg.norm(n)
        denom = d @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((np.asarray(self.point) - o) @ n) / denom
        t = np.where((np.abs(denom) > 1e-12) & (t > _EPS), t, np.inf)
        return t, np.broadcast_to(n, d.shape).copy()


@dataclass
class Quad:
    """Rectangle: centre, two orthogonal half-extent vectors u and v."""

    center: tuple
    u: tuple
    v: tuple
    texture: Texture = field(default_factory=Texture)

    def intersect(self, o, d):
        c = np.asarray(self.center, dtype=np.float64)
        u = np.asarray(self.u, dtype=np.float64)
        v = np.asarray(self.v, dtype=np.float64)
        n = np.cross(u, v)
        n /= np.linalg.norm(n)
        denom = d @ n
        with np.errstate(divide="ignore", invalid="ignore"):
            t = ((c - o) @ n) / denom
        ok = (np.abs(denom) > 1e-12) & (t > _EPS)
        p = o + d * np.where(ok, t, 0)[:, None] - c
        su = (p @ u) / (u @ u)
        sv = (p @ v) / (v @ v)
        ok &= (np.abs(su) <= 1) & (np.abs(sv) <= 1)
        return np.where(ok, t, np.inf), np.broadcast_to(n, d.shape).copy()


def rotation_z(yaw):
    c, s = math.cos(yaw), math.sin(yaw)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1.0]])


@dataclass
class Box:
    """Box with centre, full size (sx, sy, sz) and rotation ``yaw`` (radians) about world z."""

    center: tuple
    size: tuple
    yaw: float = 0.0
    texture: Texture = field(default_factory=Texture)

    def intersect(self, o, d):
        r = rotation_z(self.yaw)
        c = np.asarray(self.center, dtype=np.float64)
        ol = (o - c) @ r          # world -> local: r^T x, written as row-vector x @ r
        dl = d @ r
        half = np.asarray(self.size, dtype=np.float64) / 2
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / dl
            t1 = (-half - ol) * inv
            t2 = (half - ol) * inv
        tmin_ax = np.minimum(t1, t2)
        tmax_ax = np.maximum(t1, t2)
        tmin_ax = np.nan_to_num(tmin_ax, nan=-np.inf)
        tmax_ax = np.nan_to_num(tmax_ax, nan=np.inf)
        tnear = tmin_ax.max(axis=1)
        tfar = tmax_ax.min(axis=1)
        hit = (tnear <= tfar) & (tfar > _EPS)
        use_near = tnear > _EPS
        t = np.where(hit, np.where(use_near, tnear, tfar), np.inf)
        ax = np.where(use_near, tmin_ax.argmax(axis=1), tmax_ax.argmin(axis=1))
        nl = np.zeros_like(d)
        idx = np.arange(len(d))
        sign = -np.sign(dl[idx, ax])
        sign = np.where(use_near, sign, -sign)
        nl[idx, ax] = sign
        return t, nl @ r.T


@dataclass
class Room:
    """The inside of an axis-aligned box: floor at ``z = floor_z``.

    ``size`` = (width x, depth y, height z), centred on (cx, cy) in x/y.
    ``textures``: 6 textures for faces (-x, +x, -y, +y, floor, ceiling)."""

    center_xy: tuple = (0.0, 0.0)
    size: tuple = (5.0, 6.0, 3.0)
    floor_z: float = 0.0
    textures: list = field(default_factory=lambda: [Texture() for _ in range(6)])

    def bounds(self):
        cx, cy = self.center_xy
        w, dd, h = self.size
        lo = np.array([cx - w / 2, cy - dd / 2, self.floor_z])
        hi = np.array([cx + w / 2, cy + dd / 2, self.floor_z + h])
        return lo, hi

    def intersect_faces(self, o, d):
        lo, hi = self.bounds()
        with np.errstate(divide="ignore", invalid="ignore"):
            inv = 1.0 / d
            t1 = (lo - o) * inv
            t2 = (hi - o) * inv
        tmax_ax = np.nan_to_num(np.maximum(t1, t2), nan=np.inf)
        ax = tmax_ax.argmin(axis=1)
        idx = np.arange(len(d))
        t = tmax_ax[idx, ax]
        positive = d[idx, ax] > 0
        face = ax * 2 + positive.astype(np.int64)   # 0 -x,1 +x,2 -y,3 +y,4 floor,5 ceiling
        n = np.zeros_like(d)
        n[idx, ax] = np.where(positive, -1.0, 1.0)  # inward
        t = np.where(t > _EPS, t, np.inf)
        return t, n, face

    def intersect(self, o, d):
        t, n, _ = self.intersect_faces(o, d)
        return t, n


@dataclass
class PointLight:
    position: tuple
    color: tuple = (1.0, 1.0, 1.0)
    intensity: float = 10.0   # radiant power scale; falloff 1/(1+d^2)


@dataclass
class Scene:
    objects: list = field(default_factory=list)
    lights: list = field(default_factory=list)
    ambient: tuple = (0.08, 0.08, 0.08)
    background: tuple = (0.0, 0.0, 0.0)
    shadows: bool = True
    camera: Camera | None = None   # a suggested viewpoint (set by random_scene)
    seed: int | None = None
