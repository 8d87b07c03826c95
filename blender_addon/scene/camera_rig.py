"""The shot camera in Blender: create it from a CameraTrack or a move preset, key it per frame,
key the focus distance from the depth at the frame centre, and read it back into the shot."""
from __future__ import annotations

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


def key_matrices(cam_obj: bpy.types.Object, matrices: Sequence[np.ndarray], frame_start: int) -> None:
    """Key location and rotation per frame (Euler kept continuous to avoid flips)."""
    if cam_obj.animation_data and cam_obj.animation_data.action:
        cam_obj.animation_data.action = None
    prev = None
    for k, m in enumerate(matrices):
        mat = to_matrix(m)
        loc, rot, _ = mat.decompose()
        eul = rot.to_euler("XYZ", prev) if prev is not None else rot.to_euler("XYZ")
        prev = eul
        cam_obj.location = loc
        cam_obj.rotation_euler = eul
        f = frame_start + k
        cam_obj.keyframe_insert("location", frame=f)
        cam_obj.keyframe_insert("rotation_euler", frame=f)
    _linear(cam_obj)


def _linear(idblock) -> None:
    ad = idblock.animation_data
    if not ad or not ad.action:
        return
    curves = getattr(ad.action, "fcurves", None)
    if curves is None:  # 5.0 layered actions: curves live in the channelbag of the slot
        curves = []
        for layer in ad.action.layers:
            for strip in layer.strips:
                for bag in strip.channelbags:
                    curves.extend(bag.fcurves)
    for fc in curves:
        for kp in fc.keyframe_points:
            kp.interpolation = "LINEAR"


def apply_move(scene: bpy.types.Scene, cam_obj: bpy.types.Object, kind: str, frames: range, start=None, **kw) -> list[np.ndarray]:
    """Key a camera-move preset (see dreamrooms.camera.camera_move) over `frames`."""
    start = from_matrix(cam_obj.matrix_world) if start is None else np.asarray(start, dtype=np.float64)
    kw.setdefault("fps", scene.render.fps / scene.render.fps_base)
    mats = cm.camera_move(kind, len(frames), start, **kw)
    key_matrices(cam_obj, mats, frames.start)
    cam_obj["dreamrooms_move"] = cm.normalise_move(kind)
    return mats



def key_focus_values(cam_obj: bpy.types.Object, values: Sequence[float], frame_start: int, fstop: float | None = None) -> None:
    dof = cam_obj.data.dof
    dof.use_dof = True
    if fstop:
        dof.aperture_fstop = fstop
    for k, v in enumerate(values):
        dof.focus_distance = float(v)
        cam_obj.data.keyframe_insert("dof.focus_distance", frame=frame_start + k)


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


def key_focus(scene: bpy.types.Scene, cam_obj: bpy.types.Object, frames: range, point=(0.5, 0.5),
              fstop: float | None = 2.8) -> list[float]:
    """Key the focus distance at every frame to the depth at `point` so the depth of field tracks
    the subject; frames where nothing is hit keep the previous value."""
    values: list[float] = []
    last = None
    keep = scene.frame_current
    for f in frames:
        scene.frame_set(f)
        d = focus_at(scene, cam_obj, point)
        if d is None:
            d = last
        values.append(d)
        last = d if d is not None else last
    scene.frame_set(keep)
    if all(v is None for v in values):
        raise DreamroomsError(f"focus: nothing in front of the camera at point {tuple(point)}; build a plane or room first")
    first = next(v for v in values if v is not None)
    values = [first if v is None else v for v in values]
    key_focus_values(cam_obj, values, frames.start, fstop)
    cam_obj.data.dof.focus_object = None
    return values


def camera_track(scene: bpy.types.Scene, cam_obj: bpy.types.Object, frames: range) -> CameraTrack:
    """The camera as the shot records it: per-frame world matrices, lens, sensor, clip, focus."""
    keep = scene.frame_current
    mats, lenses, focus = [], [], []
    c = cam_obj.data
    for f in frames:
        scene.frame_set(f)
        mats.append(from_matrix(cam_obj.matrix_world))
        lenses.append(float(c.lens))
        focus.append(float(c.dof.focus_distance) if c.dof.use_dof else None)
    scene.frame_set(keep)
    lens: float | list[float] = lenses[0] if len(set(lenses)) == 1 else lenses
    sensor = c.sensor_height if c.sensor_fit == "VERTICAL" else c.sensor_width
    focus_list = [float(v) for v in focus] if all(v is not None and v > 0 for v in focus) else None
    return CameraTrack(matrices=cm.matrices_to_lists(mats), lens_mm=lens, sensor_mm=float(sensor),
                       sensor_fit=c.sensor_fit, clip_start=float(c.clip_start), clip_end=float(c.clip_end),
                       focus_distance=focus_list, fstop=float(c.dof.aperture_fstop) if c.dof.use_dof else None)


def default_start(shot: Shot | None = None) -> np.ndarray:
    """The shot camera's first matrix, or (no camera in the shot) the origin looking down +Y:
    planes and rooms are built in front of it."""
    if shot is not None and shot.camera is not None:
        return np.asarray(shot.camera.matrices[0], dtype=np.float64)
    return cm.look_at((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
