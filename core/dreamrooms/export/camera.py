"""Camera-track maths shared by exporters, pure numpy: Blender's ZYX euler decomposition (continuous from
frame to frame) and the sparse keys that reproduce a per-frame track exactly under linear interpolation.

Convention: world matrices as Blender writes them (row-major, column vectors, world = M @ local, metres);
`euler_zyx` returns (x, y, z) radians with R = Rx(x) @ Ry(y) @ Rz(z), which is `to_euler('ZYX')`.
"""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from dreamrooms.errors import DreamroomsError

GIMBAL_EPS = 16 * np.finfo(np.float32).eps


def normalised_rotation(matrix: np.ndarray) -> np.ndarray:
    """The 3x3 rotation of a (3x3 or 4x4) matrix with its scale removed."""
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
    r = normalised_rotation(np.asarray(matrix, dtype=np.float64))
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


def continuous_eulers(matrices) -> np.ndarray:
    """(N, 3) ZYX eulers in radians, each frame's solution the one nearest the previous frame's."""
    eulers: list[np.ndarray] = []
    for m in matrices:
        eulers.append(euler_zyx(m, eulers[-1] if eulers else None))
    return np.array(eulers).reshape(len(eulers), 3)


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
