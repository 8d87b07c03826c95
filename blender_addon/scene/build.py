"""High-level builds from a shot folder, shared by the operators and the headless entry:
layout plane | room | corridor | layered, the camera and its move, focus, render setup."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import bpy
import numpy as np

from dreamrooms import camera as cm
from dreamrooms.shot.roles import colour_sequence
from dreamrooms.errors import DreamroomsError
from dreamrooms.room_options import LAYOUTS as LAYOUT_REGISTRY
from dreamrooms.room_options import default_move
from dreamrooms.shot import Shot

from .. import paths
from . import camera_rig, depth_plane, layered, nodes, room, shotio

LAYOUTS = tuple(LAYOUT_REGISTRY)
COLLECTION = "dreamrooms"
TAG = "dreamrooms_kind"  # set on every object a build makes; rebuilds replace only these


@dataclass
class BuildSettings:
    layout: str = "plane"
    colour: str | None = None          # colour sequence name (default: first RGB sequence)
    depth: str | None = None           # depth source sequence (default: `depth` or the first with depth.Z)
    grid: int = 0                      # plane: vertices along the long side (0 = one per pixel); rooms: per wall
    depth_scale: float = 1.0
    near: float = 0.0
    far: float = 0.0
    edge_cut: float = 0.0
    fill_behind: bool = False
    animate: bool = True
    shading: str = "EMISSION"
    # rooms / corridors
    room_width: float = 4.0
    room_length: float = 5.0
    strength: float = 0.1
    walls: tuple[str, ...] = room.WALLS
    wall_offset: int = 0               # frames between consecutive walls (one sequence, time offsets)
    rooms: int = 3
    room_gap: float = 0.5
    room_offset: int = 0               # frames between consecutive rooms
    sequences: list[str] = field(default_factory=list)  # per-room (or per-wall) colour sequences, cycled
    with_plane: bool = False           # room/corridor: add a depth plane ("3D photo") in a bay after the last room
    # camera
    lens_mm: float = 0.0               # 0: the shot's camera or 35 mm
    sensor_mm: float = 36.0


def settings_from(v: Mapping[str, Any]) -> BuildSettings:
    """BuildSettings from room option values by their `dreamrooms.room_options.OPTIONS` names (the CLI's
    arguments or the panel's properties), so both build alike."""
    return BuildSettings(
        layout=v["layout"], colour=v.get("colour"), depth=v.get("depth"), grid=v["grid"], depth_scale=v["depth_scale"],
        near=v["near"], far=v["far"], edge_cut=v["edge_cut"], fill_behind=v["fill_behind"], animate=not v["static"],
        room_width=v["room_width"], room_length=v["room_length"], strength=v["strength"], wall_offset=v["wall_offset"],
        rooms=v["rooms"], room_offset=v["room_offset"], room_gap=v["room_gap"],
        sequences=[s for s in (v.get("sequences") or "").split(",") if s], lens_mm=v["lens"], with_plane=v["with_plane"])


def move_from(scene: bpy.types.Scene, shot: Shot, v: Mapping[str, Any], *, start=None, frames: range | None = None,
              focus: bool | None = None, scale: float = 1.0) -> tuple[str, list[np.ndarray]]:
    """Key the camera move the room option values ask for (`scale`: the reveal budget's factor); returns (move
    name, per-frame matrices)."""
    move = v.get("move") or default_move(v["layout"])
    mats = camera_move(scene, shot, move, start=start, intensity=v["intensity"], duration=v["duration"] or None,
                       easing=v["easing"], shake=v["shake"], seed=v["seed"],
                       focus=(not v["no_focus"]) if focus is None else focus, focus_point=tuple(v["focus_point"]),
                       fstop=v["fstop"], frames=frames, scale=scale)
    return move, mats


def collection(scene: bpy.types.Scene, clear: bool = True) -> bpy.types.Collection:
    """The "dreamrooms" collection; `clear` removes what an earlier build made (objects tagged
    `dreamrooms_kind`) and keeps everything the artist added to it."""
    col = bpy.data.collections.get(COLLECTION)
    if col is None:
        col = bpy.data.collections.new(COLLECTION)
    if col.name not in scene.collection.children:
        scene.collection.children.link(col)
    if clear:
        for ob in [o for o in col.objects if TAG in o]:
            me = ob.data if ob.type == "MESH" else None
            bpy.data.objects.remove(ob)
            if me is not None and me.users == 0:
                bpy.data.meshes.remove(me)
    return col


def apply_shot_settings(scene: bpy.types.Scene, shot: Shot) -> None:
    r = scene.render
    r.resolution_x, r.resolution_y = shot.width, shot.height
    r.resolution_percentage = 100
    r.pixel_aspect_x, r.pixel_aspect_y = shot.pixel_aspect, 1.0
    r.film_transparent = True  # what no surface covers (past a moved photo's border, cut edges) renders alpha 0
    scene.frame_start, scene.frame_end = shot.frame_start, shot.frame_end
    from .render import set_fps
    set_fps(scene, shot.fps)
    paths.set_shot(scene, str(shot.folder))


def shot_camera(scene: bpy.types.Scene, shot: Shot, s: BuildSettings) -> bpy.types.Object:
    if shot.camera is not None:
        c = shot.camera
        cam = camera_rig.ensure_camera(scene, lens_mm=s.lens_mm or c.lens_at(0), sensor_mm=c.sensor_mm,
                                       sensor_fit=c.sensor_fit, clip_start=c.clip_start, clip_end=c.clip_end)
    else:
        cam = camera_rig.ensure_camera(scene, lens_mm=s.lens_mm or 35.0, sensor_mm=s.sensor_mm)
    return cam


def _source(shot: Shot, colour: str, depth_name: str | None, time_offset: int, animate: bool) -> room.WallSource:
    img = shotio.load_sequence_image(shot, colour)
    dimg = shotio.load_sequence_image(shot, depth_name, non_color=True) if (depth_name and animate) else None
    d0 = shotio.read_depth(shot, depth_name, shot.frame_start) if depth_name else None
    return room.WallSource(img, dimg, d0, shot.frame_start, shot.frame_count,
                           file_offset=shot.sequences[colour].frame_offset, time_offset=time_offset)


def build(scene: bpy.types.Scene, shot: Shot, s: BuildSettings) -> dict:
    """Build the layout from the shot; returns {'objects': [...], 'camera': obj, 'start': 4x4}."""
    if s.layout not in LAYOUTS:
        raise DreamroomsError(f"layout {s.layout!r}: use one of {', '.join(LAYOUTS)}")
    apply_shot_settings(scene, shot)
    if s.layout == "layered":
        layered.layer_sequences(shot)          # fail with the fix before anything is cleared or built
    col = collection(scene)
    colour = colour_sequence(shot, s.colour)
    depth_name = shotio.ensure_blender_depth(shot, s.depth)
    cam = shot_camera(scene, shot, s)
    aspect = shot.width * shot.pixel_aspect / shot.height
    if s.layout == "plane":
        start = camera_rig.default_start(shot)
        cam.matrix_world = camera_rig.to_matrix(start)
        K = camera_rig.intrinsics_of(scene, cam)
        d0 = shotio.read_depth(shot, depth_name, shot.frame_start)
        grid = _plane_grid(d0, s.grid)
        opts = depth_plane.PlaneOptions(grid=grid, scale=s.depth_scale, near=s.near, far=s.far, edge_cut=s.edge_cut)
        objs = [_plane(scene, shot, "dreamrooms plane", d0, K, start, opts, colour, depth_name, s, col)]
        if s.fill_behind:
            back = depth_plane.PlaneOptions(grid=grid, scale=s.depth_scale * opts.fill_push, near=s.near, far=s.far)
            objs.append(_plane(scene, shot, "dreamrooms plane fill", d0, K, start, back, colour, depth_name, s, col))
        return {"objects": objs, "camera": cam, "start": start}
    if s.layout == "layered":
        start = camera_rig.default_start(shot)
        cam.matrix_world = camera_rig.to_matrix(start)
        K = camera_rig.intrinsics_of(scene, cam)
        d0 = shotio.read_depth(shot, layered.layer_sequences(shot)[-1][1], shot.frame_start)
        opts = depth_plane.PlaneOptions(grid=_plane_grid(d0, s.grid), scale=s.depth_scale, near=s.near, far=s.far,
                                        edge_cut=s.edge_cut)
        objs = layered.build_layers(scene, shot, K, start, opts, animate=s.animate, collection=col)
        return {"objects": objs, "camera": cam, "start": start}
    if s.with_plane and s.layout != "corridor":
        raise DreamroomsError(f"--with-plane puts the depth plane in a bay after the last room of a corridor; a "
                              f"{s.layout!r} layout's camera never sees it: use --layout corridor (--rooms 1 for one room)")
    sequences = s.sequences or [colour]
    for name in sequences:
        colour_sequence(shot, name)
    ropts = room.RoomOptions(width=s.room_width, length=s.room_length, grid=s.grid or 64, strength=s.strength,
                             near=s.near, far=s.far, edge_cut=s.edge_cut, walls=tuple(s.walls),
                             animate=s.animate, shading=s.shading)
    n_rooms = 1 if s.layout == "room" else max(1, s.rooms)
    offsets = room.corridor_offsets(n_rooms, s.room_width, s.room_gap)
    height = s.room_width / aspect
    objs = []
    k = 0
    for i, off in enumerate(offsets):
        srcs = {}
        for j, wall in enumerate(ropts.walls):
            seq = sequences[(k if len(sequences) > 1 else 0) % len(sequences)]
            k += 1
            depth_for = depth_name if seq == colour else _depth_for(shot, seq, depth_name)
            srcs[wall] = _source(shot, seq, depth_for, i * s.room_offset + j * s.wall_offset, s.animate)
        objs += room.build_room(f"dreamrooms room {i + 1}", srcs, ropts, aspect, col, off)
    eye_y = -0.35 * s.room_length if s.layout == "room" else -0.6 * s.room_length
    if s.layout == "room":
        start = cm.look_at((0.0, eye_y, height / 2), (0.0, s.room_length, height / 2))
        span = s.room_width
    else:
        # the walk-past starts where the view's left edge meets the first room's opening (y = 0) and
        # ends where its right edge meets the last one's, or facing the depth plane in the bay: every
        # frame looks into rooms, never past the corridor's ends
        K = camera_rig.intrinsics_of(scene, cam)
        half = -eye_y * (K.width / 2) / K.fx
        bay_x = offsets[-1][0] + s.room_width + s.room_gap
        first = offsets[0][0] - s.room_width / 2 + half
        last = bay_x if s.with_plane else offsets[-1][0] + s.room_width / 2 - half
        if last < first:
            first = last = (first + last) / 2
        start = cm.look_at((first, eye_y, height / 2), (first, s.room_length, height / 2))
        span = last - first
        # plain wall between the openings, so gaps between rooms are not holes into the void
        edges = [(o[0] - s.room_width / 2, o[0] + s.room_width / 2) for o in offsets]
        if s.with_plane:
            edges.append((bay_x - half, bay_x + half))
        for i, ((_, right), (left, _)) in enumerate(zip(edges, edges[1:])):
            if left > right:
                objs.append(room.facade(f"dreamrooms facade {i + 1}", right, left, height, col))
    cam.matrix_world = camera_rig.to_matrix(start)
    if s.with_plane:
        objs.append(_bay_plane(scene, shot, cam, bay_x, eye_y, height, colour, depth_name, s, col))
    scene["dreamrooms_span"] = span if s.layout == "corridor" else 0.0
    return {"objects": objs, "camera": cam, "start": start, "span": span}


def _bay_plane(scene, shot, cam, bay_x, eye_y, height, colour, depth_name, s, col):
    """A depth plane seen from a virtual camera standing in the next bay, scaled so its median depth
    sits at the depth of a room's back wall: the 3D photo continues the corridor."""
    start = cm.look_at((bay_x, eye_y, height / 2), (bay_x, s.room_length, height / 2))
    K = camera_rig.intrinsics_of(scene, cam)
    d0 = shotio.read_depth(shot, depth_name, shot.frame_start)
    valid = d0[np.isfinite(d0) & (d0 > 0)]
    if valid.size == 0:
        raise DreamroomsError(f"depth plane: depth frame {shot.frame_start} of {depth_name!r} has no valid depth")
    scale = s.depth_scale * 0.8 * (s.room_length - eye_y) / float(np.median(valid))
    opts = depth_plane.PlaneOptions(grid=_plane_grid(d0, s.grid), scale=scale, near=s.near, far=s.far,
                                    edge_cut=s.edge_cut)
    return _plane(scene, shot, "dreamrooms plane", d0, K, start, opts, colour, depth_name, s, col)


def _plane_grid(depth: np.ndarray, grid: int) -> tuple[int, int] | None:
    """Plane vertices (columns, rows) with `grid` along the long side and the frame's aspect; None (one
    vertex per depth pixel) when no grid is asked for."""
    if not grid:
        return None
    h, w = depth.shape
    return (grid, max(2, round(grid * h / w))) if w >= h else (max(2, round(grid * w / h)), grid)


def _depth_for(shot: Shot, colour_seq: str, fallback: str) -> str:
    """A depth sequence matching a colour sequence when it carries its own depth.Z."""
    seq = shot.sequences[colour_seq]
    if "depth.Z" in seq.channels:
        return shotio.ensure_blender_depth(shot, colour_seq)
    return fallback


def _plane(scene, shot, name, d0, K, start, opts, colour, depth_name, s, col):
    obj = depth_plane.build_depth_plane(name, d0, K, start, opts, animate=s.animate, collection=col)
    if s.animate:
        dimg = shotio.load_sequence_image(shot, depth_name, non_color=True)
        nodes.add_depth_modifier(obj, dimg, scale=opts.scale, near=opts.near, far=opts.far, edge_cut=opts.edge_cut,
                                 frame_start=shot.frame_start, frame_count=shot.frame_count,
                                 file_offset=shot.sequences[depth_name].frame_offset)
    img = shotio.load_sequence_image(shot, colour)
    mat = nodes.sequence_material(f"{name} material", img, frame_duration=shot.frame_count,
                                  frame_start=shot.frame_start,
                                  frame_offset=shot.frame_start - 1 + shot.sequences[colour].frame_offset,
                                  shading=s.shading)
    obj.data.materials.append(mat)
    return obj


def camera_move(scene: bpy.types.Scene, shot: Shot, move: str, *, start=None, intensity: float = 1.0,
                duration: int | None = None, easing: str = "ease_in_out", shake: float = 0.0, seed: int = 0,
                focus: bool = True, focus_point=(0.5, 0.5), fstop: float = 2.8, length: float | None = None,
                frames: range | None = None, scale: float = 1.0) -> list[np.ndarray]:
    """Key `move` on the scene camera over the shot frames (walk_past follows +x, the corridor
    axis), then key focus to the depth at `focus_point`."""
    cam = scene.camera
    if cam is None:
        raise DreamroomsError("camera move: the scene has no camera; build a plane, room or corridor first")
    frames = frames or shot.frames
    kw = {}
    if cm.normalise_move(move) == "walk_past":
        kw["axis"] = (1.0, 0.0, 0.0)
        span = scene.get("dreamrooms_span")
        kw["length"] = length if length is not None else (float(span) if span else 4.0 * intensity)
    mats = camera_rig.apply_move(scene, cam, move, frames, start=start, intensity=intensity, duration=duration,
                                 easing=easing, shake=shake, seed=seed, scale=scale, **kw)
    if focus:
        camera_rig.key_focus(scene, cam, frames, focus_point, fstop)
    return mats


def scene_description(scene: bpy.types.Scene) -> list[dict]:
    """What a build made, for shot.json's provenance.extra["scene"]: name, kind and 4x4 world matrix of every
    tagged object (the After Effects export places a 3D null per room or plane from it)."""
    col = bpy.data.collections.get(COLLECTION)
    objs = [o for o in (col.all_objects if col else scene.objects) if TAG in o]
    return [{"name": o.name, "kind": str(o[TAG]), "matrix": [[float(x) for x in row] for row in o.matrix_world]}
            for o in sorted(objs, key=lambda o: o.name)]
