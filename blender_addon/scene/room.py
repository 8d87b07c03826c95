"""Rooms and corridors: every wall a displaced plane showing a sequence.

Room space: x across, y into the room (the open front at y = 0, the back wall at y = length),
z up with the floor at z = 0.  A wall is a grid on its rectangle whose vertices are pushed
*into* the wall by ``strength * (depth - near)``, so near things in the footage stand out of the
wall towards the viewer.  The geometry-nodes modifier redoes that every frame from the wall's
depth sequence (with its own time offset), the material shows the wall's colour sequence.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from dreamrooms import camera as cm
from dreamrooms.errors import DreamroomsError

from . import mesh as meshlib
from . import nodes

WALLS = ("back", "left", "right", "floor", "ceiling")
FACADE = "dreamrooms facade"
FACADE_GREY = 0.18  # linear mid grey, self-lit: a plain wall between the openings, not a dark gap


@dataclass
class WallSource:
    colour_image: bpy.types.Image
    depth_image: bpy.types.Image | None
    depth: np.ndarray | None          # depth of the first frame (static build)
    frame_start: int
    frame_count: int
    file_offset: int = 0              # sequence frame_offset
    time_offset: int = 0


@dataclass
class RoomOptions:
    width: float = 4.0
    length: float = 5.0
    grid: int = 64               # vertices along the longer side of a wall
    strength: float = 0.1        # metres of relief per unit of depth
    near: float = 0.0            # depth that stays on the wall plane (0: the first frame's minimum)
    far: float = 0.0
    edge_cut: float = 0.0
    walls: tuple[str, ...] = WALLS
    animate: bool = True
    shading: str = "EMISSION"
    edge_fade: float = 0.08      # relief fades out over this fraction of a wall at its border


def wall_frame(wall: str, w: float, h: float, length: float):
    """(origin corner at image top-left, right vector, down vector, inward normal) of a wall."""
    x0, x1, y1 = -w / 2, w / 2, length
    if wall == "back":
        return np.array([x0, y1, h]), np.array([w, 0, 0]), np.array([0, 0, -h]), np.array([0, -1.0, 0])
    if wall == "left":    # seen from inside facing -x: right is +y
        return np.array([x0, 0, h]), np.array([0, length, 0]), np.array([0, 0, -h]), np.array([1.0, 0, 0])
    if wall == "right":   # facing +x: right is -y
        return np.array([x1, length, h]), np.array([0, -length, 0]), np.array([0, 0, -h]), np.array([-1.0, 0, 0])
    if wall == "floor":   # seen from above, image up is +y
        return np.array([x0, length, 0]), np.array([w, 0, 0]), np.array([0, -length, 0]), np.array([0, 0, 1.0])
    if wall == "ceiling":  # seen from below, image up is +y, right is -x
        return np.array([x1, length, h]), np.array([-w, 0, 0]), np.array([0, -length, 0]), np.array([0, 0, -1.0])
    raise DreamroomsError(f"room wall {wall!r}: use one of {', '.join(WALLS)}")


def edge_taper(u: np.ndarray, v: np.ndarray, fade: float) -> np.ndarray:
    """(len(v), len(u)) weights: 1 inside, easing (smoothstep) to 0 at the border over `fade` of the side."""
    if fade <= 0:
        return np.ones((len(v), len(u)))

    def ramp(a):
        s = np.clip(np.minimum(a, 1.0 - a) / fade, 0.0, 1.0)
        return s * s * (3.0 - 2.0 * s)
    return ramp(np.asarray(v))[:, None] * ramp(np.asarray(u))[None, :]


def facade(name: str, x0: float, x1: float, height: float, collection=None) -> bpy.types.Object:
    """A plain strip of wall at the corridor front (y = 0) between two openings, x0..x1, so the gap
    between rooms is a wall, not a hole into the void."""
    co = np.array([[x0, 0.0, 0.0], [x1, 0.0, 0.0], [x1, 0.0, height], [x0, 0.0, height]], np.float32)
    me = meshlib.mesh_from_arrays(name, co, np.array([[0, 1, 2], [0, 2, 3]]))
    obj = bpy.data.objects.new(name, me)
    obj["dreamrooms_kind"] = "facade"
    mat = bpy.data.materials.get(FACADE) or nodes.flat_material(FACADE, FACADE_GREY)
    me.materials.append(mat)
    return meshlib.link(obj, collection)


def build_wall(name: str, wall: str, src: WallSource, opts: RoomOptions, height: float,
               collection: bpy.types.Collection | None = None, offset=(0.0, 0.0, 0.0)) -> bpy.types.Object:
    origin, right, down, normal = wall_frame(wall, opts.width, height, opts.length)
    lr, ld = np.linalg.norm(right), np.linalg.norm(down)
    if lr >= ld:
        nx, ny = opts.grid, max(2, int(round(opts.grid * ld / lr)))
    else:
        ny, nx = opts.grid, max(2, int(round(opts.grid * lr / ld)))
    u, v = cm.grid_uv(nx, ny, fill_frame=True)
    flat = origin[None, None, :] + u[None, :, None] * right[None, None, :] + v[:, None, None] * down[None, None, :]
    flat = flat.reshape(-1, 3).astype(np.float32)
    # relief fades to nothing at the wall's border, so walls meet along the room's edges (no gaps
    # into the void at the corners, no torn edges at the open front)
    taper = edge_taper(u, v, opts.edge_fade).reshape(-1, 1).astype(np.float32)
    direction = (-normal * opts.strength).astype(np.float32)[None, :] * taper
    near = opts.near
    if src.depth is not None:
        d0 = cm.clamp_depth(cm.sample_grid(src.depth, u, v), 1.0, 0.0, opts.far)
        if near <= 0:
            near = float(np.min(d0))
        d = np.maximum(d0, near)
    else:
        d = np.full((ny, nx), max(near, 0.0), np.float32)
    base = flat - direction * near
    co = base + direction * d.reshape(-1, 1)
    tris = cm.grid_triangles(nx, ny)
    # the grid winds counter-clockwise seen from the side the image faces (the inside)
    if not opts.animate and opts.edge_cut > 1.0:
        tris = tris[cm.edge_cut_mask(d, tris, opts.edge_cut)]
    uv = np.stack(np.meshgrid(u, 1.0 - v), axis=-1).reshape(-1, 2).astype(np.float32)
    attrs = None
    if opts.animate:
        attrs = {"dr_base": base, "dr_dir": np.ascontiguousarray(direction),
                 "dr_uv": np.concatenate([uv, np.zeros((len(uv), 1), np.float32)], axis=1)}
    me = meshlib.mesh_from_arrays(name, co, tris, uv, attrs)
    obj = bpy.data.objects.new(name, me)
    obj.location = offset
    obj["dreamrooms_kind"] = "wall"
    obj["dreamrooms_wall"] = wall
    meshlib.link(obj, collection)
    if opts.animate and src.depth_image is not None:
        nodes.add_depth_modifier(obj, src.depth_image, near=near, far=opts.far, edge_cut=opts.edge_cut,
                                 timing=nodes.SequenceTiming(frame_start=src.frame_start, frame_count=src.frame_count,
                                                             file_offset=src.file_offset, time_offset=src.time_offset,
                                                             wrap=True))
    mat = nodes.sequence_material(f"{name} material", src.colour_image, frame_duration=src.frame_count,
                                  frame_start=src.frame_start - src.time_offset,
                                  frame_offset=src.frame_start - 1 + src.file_offset,
                                  cyclic=True, shading=opts.shading)
    me.materials.append(mat)
    return obj


def build_room(name: str, sources: dict[str, WallSource], opts: RoomOptions, aspect: float,
               collection: bpy.types.Collection | None = None, offset=(0.0, 0.0, 0.0)) -> list[bpy.types.Object]:
    """The walls in `opts.walls`, each from `sources[wall]`; height from the shot aspect."""
    height = opts.width / aspect
    objs = []
    for wall in opts.walls:
        if wall not in sources:
            raise DreamroomsError(f"room: no sequence for wall {wall!r}")
        objs.append(build_wall(f"{name} {wall}", wall, sources[wall], opts, height, collection, offset))
    return objs


def corridor_offsets(n_rooms: int, width: float, gap: float = 0.0) -> list[tuple[float, float, float]]:
    """Room origins side by side along +x, centred on x = 0."""
    step = width + gap
    x0 = -step * (n_rooms - 1) / 2
    return [(x0 + i * step, 0.0, 0.0) for i in range(n_rooms)]
