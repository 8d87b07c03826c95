"""Blender camera -> After Effects camera, pure numpy (no bpy).

Axes (Blender's own AE exporter): AE x = Blender x, AE y = -Blender z, AE z = Blender y, scaled by
pixels-per-unit and centred on the comp.  The centring offset is added *after* scaling (the Blender
exporter scales the offset too, which moves the origin whenever the scale is not 1).  With a
non-square pixel aspect, x is divided by the aspect (AE positions are in comp pixels).

Orientation is `[rx - 90, -ry, -rz]` degrees from `matrix_world.to_euler('ZYX')`, which for a
normalised rotation R means R = Rx(rx) @ Ry(ry) @ Rz(rz); `euler_zyx` reproduces mathutils' choice
between the two solutions (the one with the smaller sum of absolute angles).

Zoom = lens * dimension / sensor, with (dimension, sensor) chosen by the sensor fit: HORIZONTAL
uses the image width (in square pixels, width * aspect), VERTICAL the height, AUTO the larger one.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from dreamrooms.camera.geometry import resolve_fit
from dreamrooms.errors import DreamroomsError

GIMBAL_EPS = 16 * np.finfo(np.float32).eps


def _normalised_rotation(matrix: np.ndarray) -> np.ndarray:
    m = np.asarray(matrix, dtype=np.float64)[:3, :3]
    norms = np.linalg.norm(m, axis=0)
    if np.any(norms < 1e-12):
        raise DreamroomsError("camera matrix has a zero-length axis (scale 0); fix the camera's scale")
    return m / norms


def _wrap_near(e: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Each angle plus a multiple of 2 pi, as close as possible to `ref`."""
    return e + 2 * np.pi * np.round((ref - e) / (2 * np.pi))


def euler_zyx(matrix: np.ndarray | Sequence[Sequence[float]], compat: np.ndarray | None = None) -> np.ndarray:
    """Angles (x, y, z) in radians with R = Rx(x) Ry(y) Rz(z), as Blender's `to_euler('ZYX')`.

    Accepts a 3x3 or 4x4 (row-major, column vectors: world = M @ local) matrix; scale is removed.
    Without `compat` the solution with the smaller sum of absolute angles is returned (Blender's
    choice); with `compat` (the previous frame's angles) the equivalent solution nearest to it, so
    a camera panning past 90 degrees keeps continuous angles (Blender's `to_euler(order, compat)`).
    """
    r = _normalised_rotation(np.asarray(matrix, dtype=np.float64))
    # R = [[cy cz, -cy sz, sy], [cx sz + sx sy cz, cx cz - sx sy sz, -sx cy], [sx sz - cx sy cz, sx cz + cx sy sz, cx cy]]
    cy = math.hypot(r[0, 0], r[0, 1])
    if cy > GIMBAL_EPS:
        e1 = np.array([math.atan2(-r[1, 2], r[2, 2]), math.atan2(r[0, 2], cy), math.atan2(-r[0, 1], r[0, 0])])
        e2 = np.array([math.atan2(r[1, 2], -r[2, 2]), math.atan2(r[0, 2], -cy), math.atan2(r[0, 1], -r[0, 0])])
    else:
        # gimbal lock (y = +-90 deg): only x + z (or x - z) is defined; like Blender, put it all in z
        e1 = np.array([0.0, math.atan2(r[0, 2], cy), math.atan2(r[1, 0], r[1, 1])])
        e2 = e1
    if compat is None:
        return e1 if np.abs(e1).sum() <= np.abs(e2).sum() else e2
    ref = np.asarray(compat, dtype=np.float64)
    c1, c2 = _wrap_near(e1, ref), _wrap_near(e2, ref)
    return c1 if np.abs(c1 - ref).sum() <= np.abs(c2 - ref).sum() else c2


def rotation_zyx(x: float, y: float, z: float) -> np.ndarray:
    """R = Rx(x) @ Ry(y) @ Rz(z) (radians): the inverse of `euler_zyx`."""
    cx, sx, cy, sy, cz, sz = math.cos(x), math.sin(x), math.cos(y), math.sin(y), math.cos(z), math.sin(z)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rx @ ry @ rz


def zoom(lens_mm: float, sensor_mm: float, sensor_fit: str, width: int, height: int, pixel_aspect: float = 1.0) -> float:
    """AE camera zoom in pixels: lens * dimension / sensor, dimension chosen by the sensor fit."""
    if lens_mm <= 0 or sensor_mm <= 0:
        raise DreamroomsError(f"camera lens ({lens_mm} mm) and sensor ({sensor_mm} mm) must be positive")
    if resolve_fit(sensor_fit, width, height, pixel_aspect) == "HORIZONTAL":
        return lens_mm * width * pixel_aspect / sensor_mm
    return lens_mm * height / sensor_mm


def position(matrix, width: int, height: int, pixel_aspect: float = 1.0, ppu: float = 100.0) -> np.ndarray:
    """AE position [x, y, z] of a Blender world matrix's translation, origin at the comp centre."""
    t = np.asarray(matrix, dtype=np.float64)[:3, 3]
    return np.array([t[0] * ppu / pixel_aspect + width / 2.0, -t[2] * ppu + height / 2.0, t[1] * ppu])


def orientation(matrix, compat: np.ndarray | None = None) -> np.ndarray:
    """AE orientation [rx - 90, -ry, -rz] in degrees from `to_euler('ZYX')` (`compat`: previous
    frame's Blender euler in radians, for continuity)."""
    e = np.degrees(euler_zyx(matrix, compat))
    return np.array([e[0] - 90.0, -e[1], -e[2]])


def object_orientation(matrix) -> np.ndarray:
    """AE orientation of a 3D layer (a null) standing for a Blender object with world matrix `matrix`.

    A Blender camera looks down its local -Z with +Y up; rotated by Rx(90) it looks down Blender +Y with +Z
    up, which is AE's unrotated camera (AE z = Blender y, AE y = -Blender z).  AE cameras and layers share
    one orientation convention, so an object R maps to the camera formula applied to R @ Rx(90)."""
    r = _normalised_rotation(np.asarray(matrix, dtype=np.float64))
    return orientation(r @ rotation_zyx(math.pi / 2, 0.0, 0.0))


@dataclass
class AECamera:
    """Per-frame AE camera values: positions (N,3), orientations (N,3) degrees, zooms (N,), focus (N,) or None."""
    positions: np.ndarray
    orientations: np.ndarray
    zooms: np.ndarray
    focus: np.ndarray | None


def convert_track(matrices, lens_mm, sensor_mm: float, sensor_fit: str, width: int, height: int,
                  pixel_aspect: float = 1.0, ppu: float = 100.0, focus_distance=None) -> AECamera:
    """Convert a whole camera track; each frame's euler solution is the one nearest the previous frame,
    so orientation keys never jump (no 360 wraps, no branch flips when panning past 90 degrees)."""
    if ppu <= 0:
        raise DreamroomsError(f"pixels per unit must be positive (got {ppu})")
    mats = [np.asarray(m, dtype=np.float64) for m in matrices]
    n = len(mats)
    lenses = list(lens_mm) if isinstance(lens_mm, (list, tuple, np.ndarray)) else [lens_mm] * n
    pos = np.array([position(m, width, height, pixel_aspect, ppu) for m in mats]).reshape(n, 3)
    eulers = []
    for m in mats:
        eulers.append(euler_zyx(m, eulers[-1] if eulers else None))
    e = np.degrees(np.array(eulers).reshape(n, 3))
    ori = np.stack([e[:, 0] - 90.0, -e[:, 1], -e[:, 2]], axis=1)
    zo = np.array([zoom(float(lenses[i]), sensor_mm, sensor_fit, width, height, pixel_aspect) for i in range(n)])
    focus = None if focus_distance is None else np.asarray(focus_distance, dtype=np.float64) * ppu
    return AECamera(pos, ori, zo, focus)


def sparse_keys(times: Sequence[float], values, tol: float = 1e-6) -> tuple[list[float], list]:
    """Keys only where values change, exact under linear interpolation at every frame.

    A frame keeps its key when its value differs from the previous or the next frame (so a hold is
    bounded by two equal keys), plus the first and last frame.  A value that never changes gives a
    single entry (set as a static value, no keyframes).
    """
    v = np.asarray(values, dtype=np.float64)
    v2 = v.reshape(len(v), -1)
    n = len(v2)
    if n == 0:
        return [], []

    def same(a, b):
        return bool(np.all(np.abs(a - b) <= tol * np.maximum(1.0, np.abs(a))))

    if all(same(v2[i], v2[0]) for i in range(n)):
        return [float(times[0])], [_plain(v[0])]
    keep = [i for i in range(n)
            if i == 0 or i == n - 1 or not same(v2[i], v2[i - 1]) or not same(v2[i], v2[i + 1])]
    return [float(times[i]) for i in keep], [_plain(v[i]) for i in keep]


def _plain(x):
    if np.ndim(x) == 0:
        return round(float(x), 6)
    return [round(float(c), 6) for c in np.asarray(x).ravel()]
