"""A grounded room rendered by the real Blender, for measuring camera moves against the truth.

Floor, back wall and two side walls (so the floor meets walls in creases), four objects resting on the floor
(a box, a ball, a pillar, a crate), textures of high and low contrast, all emission-lit: what a camera sees is
the material itself, whatever it stands, so Blender's render from a moved camera is the exact truth.

:func:`render_views` renders the source camera and two moves (sideways with a slight turn, forward) at
320x180 with Cycles: colour (scene-linear RGB), true depth (the Z pass: distance along the camera axis) and
the camera matrices.  :func:`write_shot` writes the source view as a one-frame shot (colour + depth +
camera) the way `dreamrooms depth` leaves one.  :func:`revealed` says which pixels of a moved view the source
could not see (the novel-view definition of issue 23).  The pytest fixture `grounded` (tests/blender/conftest.py)
renders once per test session.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from dreamrooms.camera import geometry as cm

W, H = 320, 180
LENS_MM, SENSOR_MM = 28.0, 36.0
EYE = (0.0, 0.0, 1.5)
TARGET = (0.2, 8.0, 0.8)
SAMPLES = 16
# moves: per moved frame (eye offset in metres, turn about the vertical in degrees, + = to the left)
MOVES = {
    "sideways": [((0.3, 0.0, 0.0), 1.5), ((0.6, 0.0, 0.0), 3.0)],
    "forward": [((0.0, 0.6, 0.0), 0.0), ((0.0, 1.2, 0.0), 0.0)],
}
REVEAL_REL, REVEAL_ABS = 0.03, 0.02     # behind what the source saw there by more than 3 % + 2 cm


@dataclass
class View:
    rgb: np.ndarray        # HxWx3 scene-linear
    depth: np.ndarray      # HxW along the camera axis
    matrix: np.ndarray     # 4x4 camera-to-world (Blender convention)


@dataclass
class Views:
    K: cm.Intrinsics
    source: View
    moves: dict[str, list[View]] = field(default_factory=dict)


def camera_matrix(offset=(0.0, 0.0, 0.0), turn_deg: float = 0.0) -> np.ndarray:
    """The source camera moved by `offset` (world metres) and turned about the world vertical."""
    m = cm.look_at(EYE, TARGET)
    r = cm.rotation((0, 0, 1), np.radians(turn_deg))
    out = np.eye(4)
    out[:3, :3] = r @ m[:3, :3]
    out[:3, 3] = m[:3, 3] + np.asarray(offset, float)
    return out


def intrinsics() -> cm.Intrinsics:
    return cm.intrinsics(LENS_MM, SENSOR_MM, W, H)


def emission_material(name, c1, c2, scale, kind="checker"):
    """An emission material (what the camera sees is the texture): a checker or a noise ramp between two colours."""
    import bpy

    m = bpy.data.materials.new(name)
    if m.node_tree is None:
        m.use_nodes = True
    N, L = m.node_tree.nodes, m.node_tree.links
    N.clear()
    out, em = N.new("ShaderNodeOutputMaterial"), N.new("ShaderNodeEmission")
    if kind == "checker":
        tex = N.new("ShaderNodeTexChecker")
        tex.inputs["Color1"].default_value = (*c1, 1)
        tex.inputs["Color2"].default_value = (*c2, 1)
        tex.inputs["Scale"].default_value = scale
        L.new(tex.outputs["Color"], em.inputs["Color"])
    else:
        tex = N.new("ShaderNodeTexNoise")
        tex.inputs["Scale"].default_value = scale
        ramp = N.new("ShaderNodeValToRGB")
        ramp.color_ramp.elements[0].color = (*c1, 1)
        ramp.color_ramp.elements[1].color = (*c2, 1)
        L.new(tex.outputs["Fac"], ramp.inputs["Fac"])
        L.new(ramp.outputs["Color"], em.inputs["Color"])
    L.new(em.outputs[0], out.inputs["Surface"])
    return m


def _add(obj_op, material, **kw):
    import bpy

    obj_op(**kw)
    ob = bpy.context.object
    ob.data.materials.append(material)
    return ob


def build_scene() -> list:
    """The room and its objects in the current (empty) Blender scene; returns the mesh objects."""
    import bpy

    ops = bpy.ops.mesh
    pi = np.pi
    # room: floor 10 x 16 m, back wall at y = 12, side walls at x = -4.5 and x = +4.5 (7 m high)
    floor = _add(ops.primitive_plane_add, emission_material("floor", (0.85, 0.8, 0.7), (0.2, 0.15, 0.12), 0.6 * 16),
                 size=1, location=(0, 4, 0))
    floor.scale = (10, 16, 1)
    back = _add(ops.primitive_plane_add, emission_material("back wall", (0.7, 0.65, 0.55), (0.5, 0.55, 0.6), 2.5, "noise"),
                size=1, location=(0, 12, 3.5), rotation=(pi / 2, 0, 0))
    back.scale = (10, 7, 1)
    left = _add(ops.primitive_plane_add, emission_material("left wall", (0.3, 0.45, 0.6), (0.8, 0.85, 0.9), 3.0, "noise"),
                size=1, location=(-4.5, 4, 3.5), rotation=(pi / 2, 0, pi / 2))
    left.scale = (16, 7, 1)
    right = _add(ops.primitive_plane_add, emission_material("right wall", (0.55, 0.5, 0.45), (0.6, 0.55, 0.5), 4.0, "noise"),
                 size=1, location=(4.5, 4, 3.5), rotation=(pi / 2, 0, pi / 2))
    right.scale = (16, 7, 1)
    # objects resting on the floor (their lowest point at z = 0)
    _add(ops.primitive_cube_add, emission_material("box", (0.1, 0.55, 0.2), (0.9, 0.85, 0.1), 3.0),
         size=1.0, location=(0.9, 5.0, 0.5), rotation=(0, 0, 0.5))
    _add(ops.primitive_uv_sphere_add, emission_material("ball", (0.9, 0.15, 0.1), (0.95, 0.9, 0.85), 4.0),
         radius=0.55, location=(-1.1, 4.0, 0.55), segments=48, ring_count=24)
    _add(ops.primitive_cylinder_add, emission_material("pillar", (0.55, 0.45, 0.6), (0.5, 0.42, 0.58), 6.0, "noise"),
         radius=0.3, depth=2.0, location=(2.4, 7.5, 1.0), vertices=32)
    _add(ops.primitive_cube_add, emission_material("crate", (0.2, 0.2, 0.25), (0.95, 0.95, 0.9), 5.0),
         size=1.2, location=(-2.2, 8.5, 0.6), rotation=(0, 0, -0.3))
    return [o for o in bpy.context.scene.objects if o.type == "MESH"]


def _setup_render(scene, path: Path) -> None:
    r = scene.render
    r.engine = "CYCLES"
    r.resolution_x, r.resolution_y, r.resolution_percentage = W, H, 100
    scene.cycles.samples = SAMPLES
    scene.cycles.use_denoising = False
    scene.cycles.max_bounces = 0        # emission only: nothing bounces
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    ims = r.image_settings
    ims.media_type = "MULTI_LAYER_IMAGE"
    ims.color_depth = "32"
    ims.exr_codec = "ZIP"
    r.use_file_extension = True
    r.filepath = str(path)
    vl = scene.view_layers[0]
    vl.use_pass_combined = True
    vl.use_pass_z = True


def ensure_camera(scene):
    """A camera with the fixture's lens and sensor, made the scene camera."""
    import bpy

    cam = bpy.data.objects.get("grounded camera")
    if cam is None:
        cam = bpy.data.objects.new("grounded camera", bpy.data.cameras.new("grounded camera"))
        scene.collection.objects.link(cam)
    cam.data.lens, cam.data.sensor_width, cam.data.sensor_height = LENS_MM, SENSOR_MM, SENSOR_MM
    cam.data.sensor_fit = "AUTO"
    cam.data.clip_start, cam.data.clip_end = 0.05, 200.0
    scene.camera = cam
    return cam


def render_view(scene, matrix: np.ndarray, path: Path) -> View:
    """Render the current scene from `matrix` (colour + Z) and read it back."""
    from mathutils import Matrix

    from dreamrooms.shot import exr

    cam = ensure_camera(scene)
    cam.matrix_world = Matrix([list(map(float, row)) for row in np.asarray(matrix, float)])
    _setup_render(scene, path.with_suffix(""))
    import bpy

    bpy.ops.render.render(write_still=True)
    f = exr.read_frame(path)
    rgb = f["ViewLayer.Combined.RGBA"][..., :3].astype(np.float32)
    return View(rgb, f["ViewLayer.Depth.Z"].astype(np.float32), np.asarray(matrix, float))


def render_views(folder: Path) -> Views:
    """Build the scene in a fresh empty file and render the source and every moved camera into `folder`."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    build_scene()
    folder = Path(folder)
    src = render_view(scene, camera_matrix(), folder / "source.exr")
    views = Views(intrinsics(), src)
    for name, steps in MOVES.items():
        views.moves[name] = [render_view(scene, camera_matrix(off, turn), folder / f"{name}_{i + 1}.exr")
                             for i, (off, turn) in enumerate(steps)]
    bpy.ops.wm.read_homefile(use_empty=True)
    return views


def write_shot(folder: Path, views: Views, name: str = "grounded"):
    """The source view as a one-frame shot: `color` (linear RGBA), `depth` (Y) and the source camera."""
    from dreamrooms.shot import CameraTrack, Shot, exr

    folder = Path(folder)
    shot = Shot(fps=24, width=W, height=H, frame_start=1, frame_end=1, name=name)
    shot.folder = folder
    rgba = np.concatenate([views.source.rgb, np.ones((H, W, 1), np.float32)], -1)
    shot.add_sequence("color", f"color/{name}.####.exr", ["R", "G", "B", "A"])
    exr.write_frame(shot.frame_path("color", 1), {"RGBA": rgba})
    shot.add_sequence("depth", f"depth/{name}.####.exr", ["Y"], colorspace="data", premultiplied=False)
    exr.write_frame(shot.frame_path("depth", 1), {"Y": views.source.depth})
    shot.camera = CameraTrack(matrices=cm.matrices_to_lists([views.source.matrix]), lens_mm=LENS_MM,
                              sensor_mm=SENSOR_MM, sensor_fit="AUTO", clip_start=0.05, clip_end=200.0)
    shot.save()
    return shot


def revealed(view: View, source: View, K: cm.Intrinsics) -> tuple[np.ndarray, np.ndarray]:
    """(revealed, border) masks of a moved view: its surface point lies behind what the source saw at the
    (nearest) source pixel by more than 3 % + 2 cm, or projects outside the source frame (border)."""
    pts = cm.unproject_world(view.depth, K, view.matrix)
    m = np.asarray(source.matrix, float)
    cam = (pts - m[:3, 3]) @ m[:3, :3]          # world -> source camera space
    xy, z = cm.project(K, cam)
    col, row = np.floor(xy[..., 0]).astype(int), np.floor(xy[..., 1]).astype(int)
    inside = (z > 0) & (col >= 0) & (col < K.width) & (row >= 0) & (row < K.height)
    seen = source.depth[np.clip(row, 0, K.height - 1), np.clip(col, 0, K.width - 1)]
    behind = inside & (z > seen * (1 + REVEAL_REL) + REVEAL_ABS)
    return behind, ~inside


def parallax_px(view: View, source: View, K: cm.Intrinsics, q: float = 100.0) -> float:
    """The move's parallax in pixels: over the source pixels seen inside the moved frame, the `q`-th
    percentile of how far each point lands from where a point infinitely far along the same ray would
    (the image shift a translation adds to a turn)."""
    m = np.asarray(view.matrix, float)
    rays = cm.pixel_rays(K)
    src_m = np.asarray(source.matrix, float)
    pts = cm.to_world(rays * source.depth[..., None], src_m)
    cam = (pts - m[:3, 3]) @ m[:3, :3]
    xy, z = cm.project(K, cam)
    dirs = rays @ src_m[:3, :3].T @ m[:3, :3]          # the same rays, in the moved camera, at infinity
    xy_inf, z_inf = cm.project(K, dirs)
    ok = (z > 0) & (z_inf > 0) & (xy[..., 0] >= 0) & (xy[..., 0] < K.width) & (xy[..., 1] >= 0) & (xy[..., 1] < K.height)
    shift = np.hypot(*(xy - xy_inf)[ok].T)
    return float(np.percentile(shift, q)) if shift.size else 0.0
