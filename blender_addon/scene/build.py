"""High-level builds from a shot folder, shared by the operators and the headless entry: the layouts (one
`@layout` builder each, for the names in dreamrooms.room_options.LAYOUTS), the camera and its move, focus."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import bpy
import numpy as np

from dreamrooms import camera as cm
from dreamrooms.shot.roles import colour_sequence
from dreamrooms.errors import DreamroomsError
from dreamrooms.room_options import LAYOUTS as LAYOUT_REGISTRY
from dreamrooms.room_options import default_move
from dreamrooms.shot import Shot

from .. import paths
from . import camera_rig, depth_plane, folds, grid, layered, nodes, room, shotio

LAYOUTS = tuple(LAYOUT_REGISTRY)
COLLECTION = "dreamrooms"
TAG = "dreamrooms_kind"  # set on every object a build makes; rebuilds replace only these


@dataclass
class BuildSettings:
    layout: str = "plane"
    colour: str | None = None          # colour sequence name (default: first RGB sequence)
    depth: str | None = None           # depth source sequence (default: `depth` or the first with depth.Z)
    grid: int = 0                      # plane: vertices along the long side (0 = grid.adaptive_mesh); rooms: per wall
    travel: float = 1.0                # how far the camera moves (metres; the move's intensity): finer plane grids
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
        sequences=[s for s in (v.get("sequences") or "").split(",") if s], lens_mm=v["lens"], with_plane=v["with_plane"],
        travel=abs(float(v.get("intensity", 1.0))))


def move_from(scene: bpy.types.Scene, shot: Shot, v: Mapping[str, Any], *, start=None, frames: range | None = None,
              focus: bool | None = None, scale: float = 1.0) -> tuple[str, list[np.ndarray]]:
    """Key the camera move the room option values ask for (`scale`: the reveal budget's factor); returns (move
    name, per-frame matrices)."""
    move = v.get("move") or default_move(v["layout"])
    mats = camera_move(scene, shot, move, start=start, intensity=v["intensity"], duration=v["duration"] or None,
                       easing=v["easing"], shake=v["shake"], seed=v["seed"],
                       focus=(not v["no_focus"]) if focus is None else focus, focus_point=tuple(v["focus_point"]),
                       fstop=v["fstop"], dof=bool(v.get("dof")), frames=frames, scale=scale)
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


@dataclass
class Build:
    """What every layout builder gets: the scene, the shot and settings, the emptied collection, the colour and
    Blender-readable depth sequences, the camera, and the frame's display aspect."""
    scene: bpy.types.Scene
    shot: Shot
    s: BuildSettings
    col: bpy.types.Collection
    colour: str
    depth_name: str
    cam: bpy.types.Object
    aspect: float


# layout name -> (builder returning {'objects', 'camera', 'start', ...}, check run before anything is cleared)
BUILDERS: dict[str, tuple[Callable[[Build], dict], Callable[[Shot, BuildSettings], None] | None]] = {}


def layout(*names: str, check: Callable[[Shot, BuildSettings], None] | None = None):
    """Register the decorated builder for the layouts `names` (each one of dreamrooms.room_options.LAYOUTS)."""
    def register(fn: Callable[[Build], dict]) -> Callable[[Build], dict]:
        for name in names:
            if name not in LAYOUT_REGISTRY:
                raise ValueError(f"layout {name!r} is not in dreamrooms.room_options.LAYOUTS")
            BUILDERS[name] = (fn, check)
        return fn
    return register


def build(scene: bpy.types.Scene, shot: Shot, s: BuildSettings) -> dict:
    """Build the layout from the shot; returns {'objects': [...], 'camera': obj, 'start': 4x4}."""
    if s.layout not in BUILDERS:
        raise DreamroomsError(f"layout {s.layout!r}: use one of {', '.join(LAYOUTS)}")
    builder, check = BUILDERS[s.layout]
    apply_shot_settings(scene, shot)
    if check is not None:
        check(shot, s)                         # fail with the fix before anything is cleared or built
    col = collection(scene)
    colour = colour_sequence(shot, s.colour)
    depth_name = shotio.ensure_blender_depth(shot, s.depth)
    cam = shot_camera(scene, shot, s)
    return builder(Build(scene, shot, s, col, colour, depth_name, cam, shot.width * shot.pixel_aspect / shot.height))


def _front_camera(b: Build):
    """The camera at the shot's own start pose; its intrinsics."""
    start = camera_rig.default_start(b.shot)
    b.cam.matrix_world = camera_rig.to_matrix(start)
    return start, camera_rig.intrinsics_of(b.scene, b.cam)


@layout("plane")
def _build_plane(b: Build) -> dict:
    s, shot = b.s, b.shot
    start, K = _front_camera(b)
    d0 = shotio.read_depth(shot, b.depth_name, shot.frame_start)
    opts = _plane_options(shot, b.depth_name, d0, s, s.depth_scale)
    objs = [_plane(b, "dreamrooms plane", d0, K, start, opts)]
    if s.fill_behind:
        back = depth_plane.PlaneOptions(grid=opts.grid, mesh=opts.mesh, scale=s.depth_scale * opts.fill_push,
                                        near=s.near, far=s.far)
        objs.append(_plane(b, "dreamrooms plane fill", d0, K, start, back))
    return {"objects": objs, "camera": b.cam, "start": start}


@layout("layered", check=lambda shot, s: layered.layer_sequences(shot))
def _build_layered(b: Build) -> dict:
    s, shot = b.s, b.shot
    start, K = _front_camera(b)
    back_depth = layered.layer_sequences(shot)[-1][1]
    d0 = shotio.read_depth(shot, back_depth, shot.frame_start)
    opts = _plane_options(shot, back_depth, d0, s, s.depth_scale)
    objs = layered.build_layers(b.scene, shot, K, start, opts, animate=s.animate, collection=b.col)
    return {"objects": objs, "camera": b.cam, "start": start}


def _plane_only_in_a_corridor(shot: Shot, s: BuildSettings) -> None:
    if s.with_plane and s.layout != "corridor":
        raise DreamroomsError(f"--with-plane puts the depth plane in a bay after the last room of a corridor; a "
                              f"{s.layout!r} layout's camera never sees it: use --layout corridor (--rooms 1 for one room)")


@layout("room", "corridor", check=_plane_only_in_a_corridor)
def _build_rooms(b: Build) -> dict:
    """One room of five displaced walls, or a corridor of rooms side by side (a facade between their openings,
    the depth plane in a bay after the last one with `with_plane`)."""
    s, shot = b.s, b.shot
    sequences = s.sequences or [b.colour]
    for name in sequences:
        colour_sequence(shot, name)
    ropts = room.RoomOptions(width=s.room_width, length=s.room_length, grid=s.grid or 64, strength=s.strength,
                             near=s.near, far=s.far, edge_cut=s.edge_cut, walls=tuple(s.walls),
                             animate=s.animate, shading=s.shading)
    offsets = room.corridor_offsets(1 if s.layout == "room" else max(1, s.rooms), s.room_width, s.room_gap)
    height = s.room_width / b.aspect
    objs = _rooms(b, ropts, offsets, sequences)
    eye_y = -0.35 * s.room_length if s.layout == "room" else -0.6 * s.room_length
    if s.layout == "room":
        start = cm.look_at((0.0, eye_y, height / 2), (0.0, s.room_length, height / 2))
        span = s.room_width
    else:
        start, span, bay_x = _corridor_walk(b, offsets, eye_y, height, objs)
    b.cam.matrix_world = camera_rig.to_matrix(start)
    if s.with_plane:
        objs.append(_bay_plane(b, bay_x, eye_y, height))
    b.scene["dreamrooms_span"] = span if s.layout == "corridor" else 0.0
    return {"objects": objs, "camera": b.cam, "start": start, "span": span}


def _rooms(b: Build, ropts, offsets, sequences: list[str]) -> list:
    """The rooms at `offsets`, their walls showing `sequences` in turn (with their own depth when they carry it)."""
    s, shot = b.s, b.shot
    objs, k = [], 0
    for i, off in enumerate(offsets):
        srcs = {}
        for j, wall in enumerate(ropts.walls):
            seq = sequences[(k if len(sequences) > 1 else 0) % len(sequences)]
            k += 1
            depth_for = b.depth_name if seq == b.colour else _depth_for(shot, seq, b.depth_name)
            srcs[wall] = _source(shot, seq, depth_for, i * s.room_offset + j * s.wall_offset, s.animate)
        objs += room.build_room(f"dreamrooms room {i + 1}", srcs, ropts, b.aspect, b.col, off)
    return objs


def _corridor_walk(b: Build, offsets, eye_y: float, height: float, objs: list):
    """The walk-past's start pose, its length and the bay's x; adds the facades between the rooms to `objs`.

    The walk starts where the view's left edge meets the first room's opening (y = 0) and ends where its right
    edge meets the last one's, or facing the depth plane in the bay: every frame looks into rooms, never past the
    corridor's ends."""
    s = b.s
    K = camera_rig.intrinsics_of(b.scene, b.cam)
    half = -eye_y * (K.width / 2) / K.fx
    bay_x = offsets[-1][0] + s.room_width + s.room_gap
    first = offsets[0][0] - s.room_width / 2 + half
    last = bay_x if s.with_plane else offsets[-1][0] + s.room_width / 2 - half
    if last < first:
        first = last = (first + last) / 2
    start = cm.look_at((first, eye_y, height / 2), (first, s.room_length, height / 2))
    # plain wall between the openings, so gaps between rooms are not holes into the void
    edges = [(o[0] - s.room_width / 2, o[0] + s.room_width / 2) for o in offsets]
    if s.with_plane:
        edges.append((bay_x - half, bay_x + half))
    for i, ((_, right), (left, _)) in enumerate(zip(edges, edges[1:])):
        if left > right:
            objs.append(room.facade(f"dreamrooms facade {i + 1}", right, left, height, b.col))
    return start, last - first, bay_x


def _bay_plane(b: Build, bay_x: float, eye_y: float, height: float):
    """A depth plane seen from a virtual camera standing in the next bay, scaled so its median depth
    sits at the depth of a room's back wall: the 3D photo continues the corridor."""
    s, shot, depth_name = b.s, b.shot, b.depth_name
    start = cm.look_at((bay_x, eye_y, height / 2), (bay_x, s.room_length, height / 2))
    K = camera_rig.intrinsics_of(b.scene, b.cam)
    d0 = shotio.read_depth(shot, depth_name, shot.frame_start)
    valid = d0[np.isfinite(d0) & (d0 > 0)]
    if valid.size == 0:
        raise DreamroomsError(f"depth plane: depth frame {shot.frame_start} of {depth_name!r} has no valid depth")
    scale = s.depth_scale * 0.8 * (s.room_length - eye_y) / float(np.median(valid))
    opts = _plane_options(shot, depth_name, d0, s, scale)
    return _plane(b, "dreamrooms plane", d0, K, start, opts)


def _plane_grid(depth: np.ndarray, grid: int) -> tuple[int, int] | None:
    """Plane vertices (columns, rows) with `grid` along the long side and the frame's aspect; None (one
    vertex per depth pixel) when no grid is asked for."""
    if not grid:
        return None
    h, w = depth.shape
    return (grid, max(2, round(grid * h / w))) if w >= h else (max(2, round(grid * w / h)), grid)


def _plane_options(shot: Shot, depth_name: str, d0: np.ndarray, s: BuildSettings, scale: float) -> depth_plane.PlaneOptions:
    """A plane's options: `--grid N` a uniform grid, 0 the adaptive one (grid.adaptive_mesh) over the depth edges
    of the first, middle and last frames that the geometry nodes will show."""
    opts = depth_plane.PlaneOptions(grid=_plane_grid(d0, s.grid), scale=scale, near=s.near, far=s.far,
                                    edge_cut=s.edge_cut)
    if s.grid:
        return opts
    frames = [shot.frame_start]
    if s.animate and not depth_holds(shot, depth_name):
        frames = sorted({shot.frame_start, (shot.frame_start + shot.frame_end) // 2, shot.frame_end})
    depths = [d0] + [shotio.read_depth(shot, depth_name, f) for f in frames[1:]]
    finite = d0[np.isfinite(d0) & (d0 > 0)]
    median = float(np.median(finite)) * scale if finite.size else 1.0
    step = grid.coarse_step(shot.width, shot.height, d0.shape[1], s.travel, median)
    opts.mesh = grid.adaptive_mesh(depths, step)
    return opts


def depth_holds(shot: Shot, depth_name: str) -> bool:
    """True when every shot frame shows the same depth (one frame, or a held still): the plane needs no
    per-frame geometry update."""
    seq = shot.sequences.get(depth_name)
    return shot.frame_count == 1 or (seq is not None and getattr(seq, "hold", None) is not None)


def _depth_for(shot: Shot, colour_seq: str, fallback: str) -> str:
    """A depth sequence matching a colour sequence when it carries its own depth.Z."""
    seq = shot.sequences[colour_seq]
    if "depth.Z" in seq.channels:
        return shotio.ensure_blender_depth(shot, colour_seq)
    return fallback


def _plane(b: Build, name: str, d0, K, start, opts):
    """A displaced depth plane named `name` from depth `d0` seen through K at `start`, showing the colour."""
    shot, s, depth_name, colour = b.shot, b.s, b.depth_name, b.colour
    animate = s.animate and not depth_holds(shot, depth_name)  # a still's depth never changes: no per-frame update
    obj = depth_plane.build_depth_plane(name, d0, K, start, opts, animate=animate, collection=b.col)
    if animate:
        dimg = shotio.load_sequence_image(shot, depth_name, non_color=True)
        nodes.add_depth_modifier(obj, dimg, scale=opts.scale, near=opts.near, far=opts.far, edge_cut=opts.edge_cut,
                                 timing=nodes.SequenceTiming(frame_start=shot.frame_start,
                                                             frame_count=shot.frame_count,
                                                             file_offset=shot.sequences[depth_name].frame_offset))
    folds.add_fold_cull(obj)
    img = shotio.load_sequence_image(shot, colour)
    mat = nodes.sequence_material(f"{name} material", img, frame_duration=shot.frame_count,
                                  frame_start=shot.frame_start,
                                  frame_offset=shot.frame_start - 1 + shot.sequences[colour].frame_offset,
                                  shading=s.shading)
    obj.data.materials.append(mat)
    return obj


def camera_move(scene: bpy.types.Scene, shot: Shot, move: str, *, start=None, frames: range | None = None,
                focus: bool = True, focus_point=(0.5, 0.5), fstop: float = 2.8, dof: bool = False,
                **settings) -> list[np.ndarray]:
    """Key `move` on the scene camera over the shot frames (walk_past follows +x, the corridor axis, for the span
    the corridor build left), then key focus to the depth at `focus_point` (rendered only with `dof`: else it is
    recorded for After Effects' lens blur); `settings` are dreamrooms.camera.moves.MoveSettings' fields."""
    cam = scene.camera
    if cam is None:
        raise DreamroomsError("camera move: the scene has no camera; build a plane, room or corridor first")
    frames = frames or shot.frames
    if cm.normalise_move(move) == "walk_past":
        settings["axis"] = (1.0, 0.0, 0.0)
        span = scene.get("dreamrooms_span")
        if settings.get("length") is None:
            settings["length"] = float(span) if span else 4.0 * settings.get("intensity", 1.0)
    mats = camera_rig.apply_move(scene, cam, move, frames, start=start, **settings)
    if focus:
        camera_rig.key_focus(scene, cam, frames, focus_point, fstop, dof=dof)
    elif dof:
        cam.data.dof.use_dof = True   # the camera's own focus distance
    return mats


def scene_description(scene: bpy.types.Scene) -> list[dict]:
    """What a build made, for shot.json's provenance.extra["scene"]: name, kind and 4x4 world matrix of every
    tagged object (the After Effects export places a 3D null per room or plane from it)."""
    col = bpy.data.collections.get(COLLECTION)
    objs = [o for o in (col.all_objects if col else scene.objects) if TAG in o]
    return [{"name": o.name, "kind": str(o[TAG]), "matrix": [[float(x) for x in row] for row in o.matrix_world]}
            for o in sorted(objs, key=lambda o: o.name)]
