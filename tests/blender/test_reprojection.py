"""Render a known scene with Cycles + depth, rebuild it as a depth plane from that render, re-render."""
import numpy as np
import bpy

from blender_helpers import world_vertices
from dreamrooms import camera as cm
from dreamrooms.shot import exr
from dreamrooms.shot import Shot

W, H = 64, 48


def _material(name, colour1, colour2, scale=4.0):
    m = bpy.data.materials.new(name)
    if m.node_tree is None:
        m.use_nodes = True
    nt = m.node_tree
    bsdf = nt.nodes["Principled BSDF"]
    tex = nt.nodes.new("ShaderNodeTexChecker")
    tex.inputs["Color1"].default_value = (*colour1, 1)
    tex.inputs["Color2"].default_value = (*colour2, 1)
    tex.inputs["Scale"].default_value = scale
    nt.links.new(tex.outputs["Color"], bsdf.inputs["Base Color"])
    return m


def _known_scene(scene):
    bpy.ops.mesh.primitive_plane_add(size=20)
    bpy.context.object.data.materials.append(_material("floor", (0.8, 0.7, 0.5), (0.1, 0.2, 0.3)))
    bpy.ops.mesh.primitive_cube_add(size=1.5, location=(0.5, 6, 0.75), rotation=(0, 0, 0.4))
    bpy.context.object.data.materials.append(_material("box", (0.2, 0.8, 0.2), (0.9, 0.9, 0.1), 2.0))
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.8, location=(-1.2, 4.5, 0.8))
    bpy.context.object.data.materials.append(_material("ball", (0.9, 0.1, 0.1), (0.9, 0.9, 0.9), 6.0))
    bpy.ops.object.light_add(type="SUN", rotation=(0.6, 0.2, 0.5))
    bpy.context.object.data.energy = 3
    return [o for o in scene.objects if o.type in ("MESH", "LIGHT")]


def test_reprojection_psnr_over_30_db(addon_scene, tmp_path, empty_scene):
    scene = empty_scene
    originals = _known_scene(scene)
    shot = Shot(fps=24, width=W, height=H, frame_start=1, frame_end=1, name="re")
    shot.folder = tmp_path / "shot"
    cam = addon_scene.rig.ensure_camera(scene, lens_mm=30)
    cam.matrix_world = addon_scene.rig.to_matrix(cm.look_at((0, 0, 1.6), (0, 6, 0.6)))
    addon_scene.render.setup_render(scene, shot, samples=4, passes=("combined", "z"))
    scene.render.film_transparent = True
    scene.cycles.filter_width = 0.01
    addon_scene.render.render_frames(scene, shot, record=False)
    frame = exr.read_frame(tmp_path / "shot/render/render.0001.exr")
    rgba = frame["ViewLayer.Combined.RGBA"].astype(np.float32)
    depth = frame["ViewLayer.Depth.Z"].astype(np.float32)
    fg = depth < 1e6  # the background (nothing hit) is the only thing masked out
    assert 0.3 < fg.mean() < 0.95

    # the shot a depth stage would hand over: colour + depth sequences
    shot.add_sequence("color", "color/re.####.exr", ["R", "G", "B", "A"])
    exr.write_frame(shot.frame_path("color", 1), {"RGBA": rgba})
    shot.add_sequence("depth", "depth/re.####.exr", ["Y"])
    exr.write_frame(shot.frame_path("depth", 1), {"Y": depth})
    shot.save()
    for ob in originals:
        bpy.data.objects.remove(ob)

    s = addon_scene.build.BuildSettings(layout="plane", colour="color", far=50.0, animate=False)
    shot.camera = addon_scene.rig.camera_track(scene, cam, shot.frames)  # the same camera
    built = addon_scene.build.build(scene, shot, s)
    plane = built["objects"][0]
    # floor pixels were unprojected onto the floor (z = 0): Cycles' depth is along the camera axis
    verts = world_vertices(plane, addon_scene.mesh.mesh_positions(plane.data)).reshape(H, W, 3)
    on_floor = np.abs(verts[..., 2]) < 0.01
    assert on_floor[fg].mean() > 0.3

    shot.sequences.pop("render", None)
    addon_scene.render.setup_render(scene, shot, samples=4, passes=("combined",))
    scene.render.film_transparent = True
    scene.cycles.filter_width = 0.01
    scene.render.filepath = str(tmp_path / "again.exr")
    bpy.ops.render.render(write_still=True)
    again = exr.read_frame(tmp_path / "again.exr")["ViewLayer.Combined.RGBA"].astype(np.float32)
    mse = float(((again[..., :3] - rgba[..., :3]) ** 2)[fg].mean())
    psnr = 10 * np.log10(1.0 / max(mse, 1e-12))
    print(f"reprojection PSNR {psnr:.1f} dB over {fg.sum()} px")
    assert psnr >= 30.0
