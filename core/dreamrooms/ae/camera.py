"""Blender camera -> After Effects camera, pure numpy (no bpy).

Axes (Blender's own AE exporter): AE x = Blender x, AE y = -Blender z, AE z = Blender y, scaled by
pixels-per-unit and centred on the comp.  The centring offset is added *after* scaling (the Blender
exporter scales the offset too, which moves the origin whenever the scale is not 1).  With a
non-square pixel aspect, x is divided by the aspect (AE positions are in comp pixels).

Orientation is `[rx - 90, -ry, -rz]` degrees from `matrix_world.to_euler('ZYX')`, which for a
normalised rotation R means R = Rx(rx) @ Ry(ry) @ Rz(rz) (the shared maths is dreamrooms.export.camera).
Blender's own exporter (io_export_after_effects.py, `convert_transform_matrix(..., x_rot_correction=True)`)
uses this one formula for cameras, lights, solids and nulls: "In Blender, object of zero rotation lays on
floor. In AE, layer of zero orientation stands", so an unrotated object is [-90, 0, 0].

Zoom = lens * dimension / sensor, with (dimension, sensor) chosen by the sensor fit: HORIZONTAL
uses the image width (in square pixels, width * aspect), VERTICAL the height, AUTO the larger one.
The zoom is the focal length in square (height) pixels, the `fy` of dreamrooms.camera.geometry.intrinsics:
Blender's own projection (BKE_camera_params_compute_viewplane: `viewfac = ycor * winy` for a vertical fit)
maps the sensor height onto the image height, so a vertical fit needs no pixel aspect.  Blender's
exporter's `convert_lens` multiplies by the aspect for both fits, which disagrees with that projection
for a vertical fit with non-square pixels; tests/core/test_ae_camera.py holds zoom to `fy`.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamrooms.camera.geometry import resolve_fit
from dreamrooms.errors import DreamroomsError
from dreamrooms.export.camera import (continuous_eulers, euler_zyx, normalised_rotation, rotation_zyx,  # noqa: F401
                                      sparse_keys)


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
    """AE orientation of a 3D layer (a null) standing for a Blender object with world matrix `matrix`:
    the camera formula (Blender's exporter uses x_rot_correction=True for nulls too), so an unrotated object
    is [-90, 0, 0] and a layer parented to it lies in the object's XY plane, as the object does in Blender."""
    return orientation(normalised_rotation(np.asarray(matrix, dtype=np.float64)))


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
    e = np.degrees(continuous_eulers(mats))
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
