"""The shot camera in Blender: create it from a CameraTrack or a move preset, key it on few
Bezier keys that follow the per-frame move, key the focus distance from the depth at an image
point, and read it back into the shot (per frame)."""
from __future__ import annotations

import contextlib
from typing import Sequence

import bpy
import numpy as np
from mathutils import Matrix, Vector

from dreamrooms import camera as cm
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import CameraTrack, Shot

CAMERA_NAME = "dreamrooms camera"


def to_matrix(m) -> Matrix:
    return Matrix([list(map(float, row)) for row in np.asarray(m, dtype=np.float64).reshape(4, 4)])


def from_matrix(m: Matrix) -> np.ndarray:
    return np.array([list(row) for row in m], dtype=np.float64)


def ensure_camera(scene: bpy.types.Scene, *, lens_mm: float = 35.0, sensor_mm: float = 36.0,
                  sensor_fit: str = "AUTO", clip_start: float = 0.05, clip_end: float = 200.0,
                  name: str = CAMERA_NAME) -> bpy.types.Object:
    """The dreamrooms camera (created once), made the scene camera."""
    obj = bpy.data.objects.get(name)
    if obj is None or obj.type != "CAMERA":
        data = bpy.data.cameras.new(name)
        obj = bpy.data.objects.new(name, data)
        scene.collection.objects.link(obj)
    elif obj.name not in scene.objects:
        scene.collection.objects.link(obj)
    cam = obj.data
    cam.lens = lens_mm
    cam.sensor_width = sensor_mm
    cam.sensor_height = sensor_mm  # VERTICAL fit uses the height: the shot has one sensor size
    cam.sensor_fit = sensor_fit
    cam.clip_start, cam.clip_end = clip_start, clip_end
    obj.rotation_mode = "XYZ"
    scene.camera = obj
    return obj


def intrinsics_of(scene: bpy.types.Scene, cam_obj: bpy.types.Object) -> cm.Intrinsics:
    r = scene.render
    w = int(r.resolution_x * r.resolution_percentage / 100)
    h = int(r.resolution_y * r.resolution_percentage / 100)
    c = cam_obj.data
    sensor = c.sensor_height if c.sensor_fit == "VERTICAL" else c.sensor_width
    return cm.intrinsics(c.lens, sensor, w, h, c.sensor_fit, r.pixel_aspect_x / r.pixel_aspect_y)


# Keys may leave a curve this far from the per-frame move (1 mm, 0.05 degrees, 1 mm of focus).
TOLERANCE = {"location": 1e-3, "rotation_euler": float(np.radians(0.05)), "dof.focus_distance": 1e-3}


def fcurves(idblock) -> list:
    """The F-curves animating `idblock` (4.x actions and 5.0 layered actions alike)."""
    ad = idblock.animation_data
    if not ad or not ad.action:
        return []
    curves = getattr(ad.action, "fcurves", None)
    if curves is not None:
        return list(curves)
    out = []
    for layer in ad.action.layers:
        for strip in layer.strips:
            for bag in strip.channelbags:
                out.extend(bag.fcurves)
    return out


def key_sparse(idblock, channels: dict[str, np.ndarray], frame_start: int, interpolation: str = "BEZIER") -> list[int]:
    """Key each channel (data path -> per-frame values, shape (frames, components)) on as few
    frames as keep every frame within TOLERANCE of it: the first and last frame, then, while a
    stretch between keys strays, its worst frame.  With Bezier keys an eased preset needs two or
    three keys, so an artist retimes a move by dragging them.  Returns the keyed frame indices."""
    for fc in fcurves(idblock):  # replace these channels' keys, keep any other animation
        if fc.data_path in channels:
            fc.keyframe_points.clear()
    vals = {path: np.asarray(v, dtype=np.float64).reshape(len(v), -1) for path, v in channels.items()}
    n = len(next(iter(vals.values())))

    def put(i: int) -> None:
        for path, v in vals.items():
            owner_path, _, attr = path.rpartition(".")
            owner = idblock.path_resolve(owner_path) if owner_path else idblock
            setattr(owner, attr, v[i] if v.shape[1] > 1 else float(v[i, 0]))
            idblock.keyframe_insert(path, frame=frame_start + i)

    keys = sorted({0, n - 1})
    for i in keys:
        put(i)
    frames = np.arange(n, dtype=np.float64) + frame_start
    while True:
        curves = {(fc.data_path, fc.array_index): fc for fc in fcurves(idblock)}
        for fc in curves.values():
            for kp in fc.keyframe_points:
                kp.interpolation = interpolation
        err = np.zeros(n)
        for path, v in vals.items():
            for c in range(v.shape[1]):
                fc = curves[(path, c)]
                est = np.fromiter((fc.evaluate(f) for f in frames), np.float64, n)
                err = np.maximum(err, np.abs(est - v[:, c]) / TOLERANCE[path])
        new = []
        for a, b in zip(keys, keys[1:]):
            if b - a > 1:
                i = a + 1 + int(err[a + 1:b].argmax())
                if err[i] > 1.0:
                    new.append(i)
        if not new:
            return keys
        for i in new:
            put(i)
        keys = sorted(keys + new)


def key_matrices(cam_obj: bpy.types.Object, matrices: Sequence[np.ndarray], frame_start: int,
                 interpolation: str = "BEZIER") -> list[int]:
    """Key location and rotation (Euler kept continuous to avoid flips) on few frames, see key_sparse."""
    locs, eulers, prev = [], [], None
    for m in matrices:
        loc, rot, _ = to_matrix(m).decompose()
        prev = rot.to_euler("XYZ", prev) if prev is not None else rot.to_euler("XYZ")
        locs.append(tuple(loc))
        eulers.append(tuple(prev))
    return key_sparse(cam_obj, {"location": np.array(locs), "rotation_euler": np.array(eulers)}, frame_start,
                      interpolation)


def apply_move(scene: bpy.types.Scene, cam_obj: bpy.types.Object, kind: str, frames: range, start=None, **kw) -> list[np.ndarray]:
    """Key a camera-move preset (see dreamrooms.camera.camera_move) over `frames`."""
    start = from_matrix(cam_obj.matrix_world) if start is None else np.asarray(start, dtype=np.float64)
    kw.setdefault("fps", scene.render.fps / scene.render.fps_base)
    mats = cm.camera_move(kind, len(frames), start, **kw)
    key_matrices(cam_obj, mats, frames.start, "LINEAR" if kw.get("easing") == "linear" else "BEZIER")
    cam_obj["dreamrooms_move"] = cm.normalise_move(kind)
    return mats



def key_focus_values(cam_obj: bpy.types.Object, values: Sequence[float], frame_start: int, fstop: float | None = None,
                     dof: bool = False) -> None:
    """Key the focus distance per frame; Blender renders depth of field only with `dof` (else the keyed focus and
    the f-stop are recorded in the shot for After Effects' Camera Lens Blur, and the render stays sharp)."""
    data = cam_obj.data
    data.dof.use_dof = bool(dof)
    data.dof.focus_object = None
    if fstop:
        data.dof.aperture_fstop = fstop
    key_sparse(data, {"dof.focus_distance": np.asarray(values, dtype=np.float64)}, frame_start)


def focus_keyed(cam_data: bpy.types.Camera) -> bool:
    """The camera's focus distance is animated (keyed to the subject by dreamrooms, or by hand)."""
    return any(fc.data_path == "dof.focus_distance" and len(fc.keyframe_points) for fc in fcurves(cam_data))


def focus_at(scene: bpy.types.Scene, cam_obj: bpy.types.Object, point=(0.5, 0.5), depsgraph=None) -> float | None:
    """Depth (along the camera axis) of the first surface seen through normalised image point
    `point` (u right, v down) at the current frame, or None if the ray hits nothing."""
    depsgraph = depsgraph or bpy.context.evaluated_depsgraph_get()
    K = intrinsics_of(scene, cam_obj)
    ray = cm.rays_uv(K, np.array(point[0]), np.array(point[1]))
    m = cam_obj.matrix_world
    origin = m.translation
    direction = (m.to_3x3() @ Vector(tuple(ray))).normalized()
    hit, loc, *_ = scene.ray_cast(depsgraph, origin, direction)
    if not hit:
        return None
    axis = -(m.to_3x3() @ Vector((0.0, 0.0, 1.0))).normalized()
    return float((loc - origin).dot(axis))


def focus_values(scene: bpy.types.Scene, cam_obj: bpy.types.Object, frames: range, point=(0.5, 0.5),
                 on_frame=None) -> list[float]:
    """The depth at `point` on every frame (frames where nothing is hit keep the previous value).
    Each frame is evaluated (geometry follows the depth sequence), so this belongs in a worker."""
    values: list[float | None] = []
    last = None
    keep = scene.frame_current
    for f in frames:
        scene.frame_set(f)
        d = focus_at(scene, cam_obj, point)
        values.append(d if d is not None else last)
        last = d if d is not None else last
        if on_frame:
            on_frame(f)
    scene.frame_set(keep)
    if all(v is None for v in values):
        raise DreamroomsError(f"focus: nothing in front of the camera at point {tuple(point)}; build a plane or room first")
    first = next(v for v in values if v is not None)
    return [first if v is None else v for v in values]


def key_focus(scene: bpy.types.Scene, cam_obj: bpy.types.Object, frames: range, point=(0.5, 0.5),
              fstop: float | None = 2.8, dof: bool = False) -> list[float]:
    """Key the focus distance to the depth at `point` so the depth of field tracks the subject (rendered with `dof`)."""
    values = focus_values(scene, cam_obj, frames, point)
    key_focus_values(cam_obj, values, frames.start, fstop, dof)
    return values


@contextlib.contextmanager
def _only_camera(scene: bpy.types.Scene, cam_obj: bpy.types.Object):
    """Leave the collections that do not hold the camera out of evaluation while its frames are read
    (the rooms' geometry nodes would otherwise be evaluated on every frame: seconds on the UI thread)."""
    layer = bpy.context.view_layer if bpy.context.scene == scene else scene.view_layers[0]
    excluded = []
    ad = cam_obj.animation_data
    depends = cam_obj.parent is not None or len(cam_obj.constraints) or (ad is not None and len(ad.drivers))
    for lc in () if depends else layer.layer_collection.children:
        if not lc.exclude and cam_obj.name not in lc.collection.all_objects:
            lc.exclude = True
            excluded.append(lc)
    try:
        yield
    finally:
        for lc in excluded:
            lc.exclude = False


def camera_track(scene: bpy.types.Scene, cam_obj: bpy.types.Object, frames: range) -> CameraTrack:
    """The camera as the shot records it: per-frame world matrices, lens, sensor, clip, focus."""
    keep = scene.frame_current
    mats, lenses, focus = [], [], []
    c = cam_obj.data
    focused = bool(c.dof.use_dof or focus_keyed(c))   # a sharp render with keyed focus: AE blurs by it
    with _only_camera(scene, cam_obj):
        for f in frames:
            scene.frame_set(f)
            mats.append(from_matrix(cam_obj.matrix_world))
            lenses.append(float(c.lens))
            focus.append(float(c.dof.focus_distance) if focused else None)
        scene.frame_set(keep)
    lens: float | list[float] = lenses[0] if len(set(lenses)) == 1 else lenses
    sensor = c.sensor_height if c.sensor_fit == "VERTICAL" else c.sensor_width
    focus_list = [float(v) for v in focus] if all(v is not None and v > 0 for v in focus) else None
    return CameraTrack(matrices=cm.matrices_to_lists(mats), lens_mm=lens, sensor_mm=float(sensor),
                       sensor_fit=c.sensor_fit, clip_start=float(c.clip_start), clip_end=float(c.clip_end),
                       focus_distance=focus_list, fstop=float(c.dof.aperture_fstop) if focused else None,
                       dof_in_render=bool(c.dof.use_dof))


def default_start(shot: Shot | None = None) -> np.ndarray:
    """The shot camera's first matrix, or (no camera in the shot) the origin looking down +Y:
    planes and rooms are built in front of it."""
    if shot is not None and shot.camera is not None:
        return np.asarray(shot.camera.matrices[0], dtype=np.float64)
    return cm.look_at((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
