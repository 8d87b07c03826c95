"""The peer of bench/render_plane.py: the photo as a displaced emission plane written directly with `bpy`, the
way a user who knows Blender would write it in one script.  A vertex every 4th pixel on each axis unprojected
through a 35 mm camera, an emission material showing the photo, a 1 m dolly, Cycles 4 samples with no bounces,
a multilayer EXR with Combined and Depth per frame.  Prints `minimal: setup S` and `minimal: per_frame S`.

    python bench/_minimal_plane.py SHOT FRAMES [gpu]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import bpy
import numpy as np

from dreamrooms.shot import exr

STEP, LENS, SENSOR = 4, 35.0, 36.0


def main(shot: Path, frames: int, gpu: bool = False) -> None:
    t0 = time.perf_counter()
    layers = exr.read_frame(shot / "layers/photo.0001.exr")
    depth = layers["depth.Z"].astype(np.float32)
    h, w = depth.shape
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    xs, ys = np.arange(0, w, STEP), np.arange(0, h, STEP)
    nx, ny = len(xs), len(ys)
    d = depth[np.ix_(ys, xs)]
    fx = w * LENS / SENSOR
    co = np.stack([d * ((xs[None, :] + 0.5 - w / 2) / fx), d * (-(ys[:, None] + 0.5 - h / 2) / fx), -d], -1)
    i = (np.arange(ny - 1)[:, None] * nx + np.arange(nx - 1)[None, :]).ravel()
    quads = np.stack([i, i + nx, i + nx + 1, i + 1], -1)
    me = bpy.data.meshes.new("photo")
    me.vertices.add(nx * ny)
    me.vertices.foreach_set("co", co.astype(np.float32).ravel())
    me.loops.add(quads.size)
    me.loops.foreach_set("vertex_index", quads.astype(np.int32).ravel())
    me.polygons.add(len(quads))
    me.polygons.foreach_set("loop_start", np.arange(0, quads.size, 4, dtype=np.int32))
    me.update(calc_edges=True)
    uv = np.stack([(xs[None, :] + 0.5) / w + 0 * ys[:, None], 1 - (ys[:, None] + 0.5) / h + 0 * xs[None, :]], -1).reshape(-1, 2)
    me.uv_layers.new(name="UVMap").data.foreach_set("uv", uv[quads.ravel()].astype(np.float32).ravel())
    img = bpy.data.images.load(str(shot / "layers/photo.0001.exr"))
    mat = bpy.data.materials.new("photo")
    if mat.node_tree is None:
        mat.use_nodes = True
    nt = mat.node_tree
    nt.nodes.clear()
    tex, em, out = nt.nodes.new("ShaderNodeTexImage"), nt.nodes.new("ShaderNodeEmission"), nt.nodes.new("ShaderNodeOutputMaterial")
    tex.image = img
    nt.links.new(tex.outputs["Color"], em.inputs["Color"])
    nt.links.new(em.outputs[0], out.inputs["Surface"])
    me.materials.append(mat)
    cam = bpy.data.objects.new("cam", bpy.data.cameras.new("cam"))
    cam.data.lens, cam.data.sensor_width = LENS, SENSOR
    ob = bpy.data.objects.new("photo", me)
    for o in (ob, cam):
        scene.collection.objects.link(o)
    scene.camera = cam
    cam.rotation_euler = ob.rotation_euler = (np.pi / 2, 0, 0)     # look down +Y
    for f, y in ((1, 0.0), (frames, 1.0)):
        cam.location = (0, y, 0)
        cam.keyframe_insert("location", frame=f)
    r = scene.render
    r.engine, r.resolution_x, r.resolution_y, r.resolution_percentage = "CYCLES", w, h, 100
    scene.frame_start, scene.frame_end = 1, frames
    scene.cycles.samples, scene.cycles.use_adaptive_sampling, scene.cycles.use_denoising = 4, False, False
    scene.cycles.max_bounces = 0
    if gpu:
        prefs = bpy.context.preferences.addons["cycles"].preferences
        prefs.compute_device_type = "CUDA"
        prefs.get_devices_for_type("CUDA")
        for d in prefs.devices:
            d.use = d.type == "CUDA"
        scene.cycles.device = "GPU"
    scene.view_layers[0].use_pass_z = True
    r.image_settings.media_type = "MULTI_LAYER_IMAGE"
    r.image_settings.color_depth = "16"
    r.filepath = str(shot / "render/minimal.####")
    t1 = time.perf_counter()
    bpy.ops.render.render(animation=True)
    t2 = time.perf_counter()
    print(f"minimal: setup {t1 - t0:.3f}", file=sys.stderr)
    print(f"minimal: per_frame {(t2 - t1) / frames:.3f}", file=sys.stderr)


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3:4] == ["gpu"])
