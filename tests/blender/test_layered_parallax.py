"""Layered parallax against one depth plane, measured on a scene Blender renders itself.

Objects stand in front of a textured wall (emission shading: what the camera sees does not depend on where
it stands, so Blender's render from a moved camera is the exact truth).  From the render at the start camera
and its true depth we build (a) one depth plane with --edge-cut 1.2 --fill-behind and (b) the layered build
from `dreamrooms layers`, render both from moved cameras and compare with Blender's true render of those
cameras: PSNR over the whole frame and in the band around depth jumps (depth edges of the true moved view,
widened by 4 px).  Renders are 160x90, Cycles 16 samples (emission only, so few samples are enough).
"""
from __future__ import annotations

import bpy
import numpy as np
import pytest

from dreamrooms.camera import geometry as cm
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import exr
from dreamrooms.shot import Shot

W, H = 160, 90
EYE = (0.0, 0.0, 1.2)
WALL = 12.0
MOVES = {"small": (0.1, 0.5), "large": (0.35, 1.75)}   # metres sideways, forward


def _emission(name, c1, c2, scale, kind="checker"):
    m = bpy.data.materials.new(name)
    if m.node_tree is None:
        m.use_nodes = True
    N, L = m.node_tree.nodes, m.node_tree.links
    N.clear()
    out = N.new("ShaderNodeOutputMaterial")
    em = N.new("ShaderNodeEmission")
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


def _scene():
    bpy.ops.mesh.primitive_plane_add(size=1, location=(0, WALL, 1.5), rotation=(np.pi / 2, 0, 0))
    wall = bpy.context.object
    wall.scale = (24, 14, 1)
    wall.data.materials.append(_emission("wall", (0.9, 0.75, 0.5), (0.15, 0.25, 0.5), 3.0, "noise"))
    bpy.ops.mesh.primitive_uv_sphere_add(radius=0.8, location=(-1.0, 6.0, 1.2), segments=48, ring_count=24)
    bpy.context.object.data.materials.append(_emission("ball", (0.9, 0.15, 0.1), (0.95, 0.9, 0.85), 2.0))
    bpy.ops.mesh.primitive_cube_add(size=1.3, location=(1.5, 8.0, 0.9), rotation=(0, 0, 0.5))
    bpy.context.object.data.materials.append(_emission("box", (0.1, 0.6, 0.2), (0.9, 0.85, 0.1), 1.5))
    return [o for o in bpy.context.scene.objects if o.type == "MESH"]


def _render(scene, addon_scene, shot, path, passes=("combined",)):
    addon_scene.render.setup_render(scene, shot, samples=16, passes=passes)
    scene.render.filepath = str(path)
    bpy.ops.render.render(write_still=True)
    f = exr.read_frame(path)
    rgb = f["ViewLayer.Combined.RGBA"][..., :3].astype(np.float32)
    return rgb, (f["ViewLayer.Depth.Z"].astype(np.float32) if "z" in passes else None)


def _band(depth: np.ndarray, px: int = 4) -> np.ndarray:
    import cv2

    u = 1.0 / np.maximum(depth, 1e-3)
    jump = np.zeros(depth.shape, bool)
    for ax in (0, 1):
        r = np.maximum(np.roll(u, 1, ax), u) / np.maximum(np.minimum(np.roll(u, 1, ax), u), 1e-9)
        jump |= r > 1.2
    jump[0, :] = jump[:, 0] = False
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(jump.astype(np.uint8), k) > 0


def _psnr(a, b, sel=None):
    d = (np.clip(a, 0, 1) - np.clip(b, 0, 1)) ** 2
    mse = float(d[sel].mean() if sel is not None else d.mean())
    return 10 * np.log10(1.0 / max(mse, 1e-12))


def test_layered_build_beats_one_plane_at_depth_jumps(addon_scene, tmp_path, empty_scene):
    from dreamrooms.layers.run import make_layers

    scene = empty_scene
    originals = _scene()
    shot = Shot(fps=24, width=W, height=H, frame_start=1, frame_end=1, name="lp")
    shot.folder = tmp_path / "shot"
    cam = addon_scene.rig.ensure_camera(scene, lens_mm=30)
    start = cm.look_at(EYE, (EYE[0], WALL, EYE[2]))
    cam.matrix_world = addon_scene.rig.to_matrix(start)
    rgb0, depth0 = _render(scene, addon_scene, shot, tmp_path / "start.exr", ("combined", "z"))
    assert depth0.max() < 1e3                                       # the wall fills the frame
    shot.add_sequence("color", "color/lp.####.exr", ["R", "G", "B", "A"])
    exr.write_frame(shot.frame_path("color", 1), {"RGBA": np.concatenate([rgb0, np.ones((H, W, 1), np.float32)], -1)})
    shot.add_sequence("depth", "depth/lp.####.exr", ["Y"], colorspace="data", premultiplied=False)
    exr.write_frame(shot.frame_path("depth", 1), {"Y": depth0})
    shot.camera = addon_scene.rig.camera_track(scene, cam, shot.frames)
    shot.save()

    moved, truth = {}, {}
    for key, (side, fwd) in MOVES.items():
        eye = (EYE[0] + side, EYE[1] + fwd, EYE[2])
        moved[key] = cm.look_at(eye, (eye[0], WALL, eye[2]))
        cam.matrix_world = addon_scene.rig.to_matrix(moved[key])
        truth[key] = _render(scene, addon_scene, shot, tmp_path / f"truth_{key}.exr", ("combined", "z"))
    for ob in originals:
        bpy.data.objects.remove(ob)

    def measure(label):
        out = {}
        for key in MOVES:
            cam.matrix_world = addon_scene.rig.to_matrix(moved[key])
            got, _ = _render(scene, addon_scene, shot, tmp_path / f"{label}_{key}.exr")
            t_rgb, t_depth = truth[key]
            out[key] = (_psnr(got, t_rgb), _psnr(got, t_rgb, _band(t_depth)))
        return out

    s = addon_scene.build.BuildSettings(layout="plane", colour="color", edge_cut=1.2, fill_behind=True, animate=False)
    addon_scene.build.build(scene, shot, s)
    plane = measure("plane")

    res = make_layers(shot.folder, count=3)
    assert res.processed == [1]
    shot = Shot.load(shot.folder)
    s = addon_scene.build.BuildSettings(layout="layered", colour="color", animate=False)
    objs = addon_scene.build.build(scene, shot, s)["objects"]
    assert [o["dreamrooms_layer"] for o in objs] == [2, 1, 0]
    assert not [o for o in scene.objects if o.name.startswith("dreamrooms plane")]     # the plane build is gone
    layers = measure("layered")
    for key in MOVES:
        print(f"{key} move: whole frame plane {plane[key][0]:.2f} dB, layered {layers[key][0]:.2f} dB; "
              f"depth-jump band plane {plane[key][1]:.2f} dB, layered {layers[key][1]:.2f} dB")
    assert layers["large"][1] >= plane["large"][1] + 2.0
    for key in MOVES:
        assert layers[key][0] >= plane[key][0] - 0.05


def test_animated_layers_follow_their_depth_sequences(addon_scene, tmp_path, empty_scene):
    """Each layer plane re-reads its own depth sequence frame by frame and shows its colour with its alpha."""
    import _layer_scenes as S
    from dreamrooms.layers.run import make_layers

    S.write_clip_shot(tmp_path / "shot", frames=3, w=32, h=18)
    shot = Shot.load(tmp_path / "shot")
    with pytest.raises(DreamroomsError, match="dreamrooms layers"):
        addon_scene.build.build(empty_scene, shot, addon_scene.build.BuildSettings(layout="layered"))
    make_layers(tmp_path / "shot", count=2)
    shot = Shot.load(tmp_path / "shot")
    scene = empty_scene
    objs = addon_scene.build.build(scene, shot, addon_scene.build.BuildSettings(layout="layered"))["objects"]
    by_layer = {o["dreamrooms_layer"]: o for o in objs}
    for k, obj in by_layer.items():
        links = {(l.from_socket.name, l.to_node.type) for l in obj.data.materials[0].node_tree.links}
        assert ("Alpha", "MIX_SHADER") in links
        for frame in (3, 1):
            scene.frame_set(frame)
            pos, _ = addon_scene.mesh.evaluated_positions(obj)
            d = exr.read_frame(shot.frame_path(f"layer{k}_depth", frame), ["Y"])["Y"]
            u, v = cm.grid_uv(32, 18)
            want = cm.sample_grid(d, u, v)
            np.testing.assert_allclose(-pos.reshape(18, 32, 3)[..., 2], want, rtol=1e-4)
