"""Random furnished rooms and camera paths through them (deterministic per seed)."""
from __future__ import annotations

import math

import numpy as np

from dreamrooms.camera import look_at
from dreamrooms.training.synth.scene import Box, Camera, PointLight, Quad, Room, Scene, Sphere, Texture, rotation_z


_KINDS = ("solid", "checker", "stripes", "noise", "marble", "tiles")


def _rand_color(rng, lo=0.05, hi=0.9):
    return tuple(float(x) for x in rng.uniform(lo, hi, 3))


def random_texture(rng: np.random.Generator) -> Texture:
    kind = _KINDS[int(rng.integers(len(_KINDS)))]
    return Texture(kind=kind, color_a=_rand_color(rng), color_b=_rand_color(rng),
                   scale=float(rng.uniform(0.5, 4.0)), axis=int(rng.integers(3)),
                   seed=int(rng.integers(1 << 30)))


def random_scene(seed: int, *, n_boxes: tuple = (2, 7), n_spheres: tuple = (0, 4),
                 n_panels: tuple = (0, 3)) -> Scene:
    """A closed room with random size, textures, boxes, spheres, wall panels
    and 1-3 point lights; ``scene.camera`` is a random viewpoint inside it
    (1-2 m high, looking roughly horizontally, lens 16-35 mm)."""
    rng = np.random.default_rng(seed)
    w, dd, h = rng.uniform(3.0, 9.0), rng.uniform(3.0, 10.0), rng.uniform(2.4, 4.0)
    room = Room(center_xy=(0.0, 0.0), size=(w, dd, h), floor_z=0.0,
                textures=[random_texture(rng) for _ in range(6)])
    objects: list = [room]
    for _ in range(int(rng.integers(n_boxes[0], n_boxes[1] + 1))):
        sx, sy, sz = rng.uniform(0.2, 1.6), rng.uniform(0.2, 1.6), rng.uniform(0.2, 2.0)
        cx = rng.uniform(-w / 2 + 0.3, w / 2 - 0.3)
        cy = rng.uniform(-dd / 2 + 0.3, dd / 2 - 0.3)
        z0 = 0.0 if rng.random() < 0.8 else rng.uniform(0.3, h - sz - 0.05) if h - sz > 0.4 else 0.0
        objects.append(Box(center=(cx, cy, z0 + sz / 2), size=(sx, sy, sz),
                           yaw=float(rng.uniform(0, np.pi)), texture=random_texture(rng)))
    for _ in range(int(rng.integers(n_spheres[0], n_spheres[1] + 1))):
        r = rng.uniform(0.15, 0.8)
        cx = rng.uniform(-w / 2 + r, w / 2 - r)
        cy = rng.uniform(-dd / 2 + r, dd / 2 - r)
        cz = r if rng.random() < 0.6 else rng.uniform(r, max(r, h - r))
        objects.append(Sphere(center=(cx, cy, cz), radius=r, texture=random_texture(rng)))
    for _ in range(int(rng.integers(n_panels[0], n_panels[1] + 1))):
        # a picture/panel slightly in front of a wall
        wall = int(rng.integers(4))
        pw, ph = rng.uniform(0.4, 1.8), rng.uniform(0.4, 1.5)
        cz = rng.uniform(ph / 2 + 0.3, max(ph / 2 + 0.31, h - ph / 2 - 0.1))
        if wall < 2:
            x = (-w / 2 + 0.02) if wall == 0 else (w / 2 - 0.02)
            c = (x, rng.uniform(-dd / 2 + pw / 2, dd / 2 - pw / 2), cz)
            u = (0.0, pw / 2, 0.0)
        else:
            y = (-dd / 2 + 0.02) if wall == 2 else (dd / 2 - 0.02)
            c = (rng.uniform(-w / 2 + pw / 2, w / 2 - pw / 2), y, cz)
            u = (pw / 2, 0.0, 0.0)
        objects.append(Quad(center=c, u=u, v=(0.0, 0.0, ph / 2), texture=random_texture(rng)))
    lights = []
    for _ in range(int(rng.integers(1, 4))):
        pos = (rng.uniform(-w / 2 + 0.2, w / 2 - 0.2), rng.uniform(-dd / 2 + 0.2, dd / 2 - 0.2),
               rng.uniform(h * 0.6, h - 0.1))
        warm = rng.uniform(0.7, 1.0, 3)
        lights.append(PointLight(position=pos, color=tuple(float(x) for x in warm),
                                 intensity=float(rng.uniform(3.0, 10.0))))
    amb = float(rng.uniform(0.05, 0.2))
    scene = Scene(objects=objects, lights=lights, ambient=(amb, amb, amb), seed=seed)
    scene.camera = _random_camera(scene, rng)
    return scene


def _random_camera(scene: Scene, rng: np.random.Generator) -> Camera:
    room = next(o for o in scene.objects if isinstance(o, Room))
    lo, hi = room.bounds()
    for _ in range(50):
        eye = np.array([rng.uniform(lo[0] + 0.3, hi[0] - 0.3), rng.uniform(lo[1] + 0.3, hi[1] - 0.3),
                        rng.uniform(1.0, min(2.0, hi[2] - 0.2))])
        if not _inside_any(scene, eye):
            break
    # look at a random point at least 2 m away (so most views see some depth range)
    for _ in range(50):
        target = np.array([rng.uniform(lo[0], hi[0]), rng.uniform(lo[1], hi[1]), 0.0])
        if np.linalg.norm((target - eye)[:2]) > 2.0:
            break
    fwd = target - eye
    yaw = math.atan2(fwd[1], fwd[0]) + rng.uniform(-0.3, 0.3)
    pitch = rng.uniform(-0.35, 0.2)
    fwd = np.array([math.cos(yaw) * math.cos(pitch), math.sin(yaw) * math.cos(pitch), math.sin(pitch)])
    return Camera.look_at(eye, eye + fwd, lens_mm=float(rng.uniform(16, 35)))


def _inside_any(scene: Scene, p) -> bool:
    p = np.asarray(p, dtype=np.float64)
    for ob in scene.objects:
        if isinstance(ob, Sphere):
            if np.linalg.norm(p - np.asarray(ob.center)) < ob.radius + 0.15:
                return True
        elif isinstance(ob, Box):
            local = (p - np.asarray(ob.center)) @ rotation_z(ob.yaw)
            if np.all(np.abs(local) < np.asarray(ob.size) / 2 + 0.15):
                return True
    return False


def camera_path(scene: Scene, n_frames: int, *, seed: int = 0, kind: str = "dolly",
                start: Camera | None = None, distance: float = 1.0) -> list:
    """A smooth camera move of ``n_frames`` cameras inside ``scene``.

    kind: ``"dolly"`` (move ``distance`` metres along the view direction),
    ``"truck"`` (move sideways), ``"pan"`` (rotate in place by up to 30 deg),
    ``"orbit"`` (circle around a point 2 m ahead by up to 40 deg).
    Starts at ``start`` or ``scene.camera``. Deterministic for a seed.
    """
    if n_frames < 1:
        raise ValueError("camera_path: n_frames must be >= 1")
    rng = np.random.default_rng(seed)
    cam0 = start or scene.camera or Camera()
    eye0 = cam0.position
    fwd = cam0.forward
    right = cam0.matrix_world[:3, 0]
    cams = []
    s = np.linspace(0.0, 1.0, n_frames)
    s = s * s * (3 - 2 * s)   # ease in/out
    sign = 1.0 if rng.random() < 0.5 else -1.0
    ang = math.radians(rng.uniform(10, 30)) * sign
    for u in s:
        if kind == "dolly":
            eye = eye0 + fwd * distance * u
            m = look_at(eye, eye + fwd)
        elif kind == "truck":
            eye = eye0 + right * distance * u * sign
            m = look_at(eye, eye + fwd)
        elif kind == "pan":
            f = rotation_z(ang * u) @ fwd
            m = look_at(eye0, eye0 + f)
        elif kind == "orbit":
            pivot = eye0 + fwd * 2.0
            r = rotation_z(ang * 1.33 * u)
            eye = pivot + r @ (eye0 - pivot)
            m = look_at(eye, pivot)
        else:
            raise ValueError(f"camera_path: unknown kind {kind!r} (dolly, truck, pan, orbit)")
        cams.append(Camera(m, lens_mm=cam0.lens_mm, sensor_mm=cam0.sensor_mm, sensor_fit=cam0.sensor_fit))
    return cams
