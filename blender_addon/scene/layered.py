"""Layered depth planes: one displaced plane per depth layer of the shot, back to front, alpha-blended.

`dreamrooms layers` writes, per layer k (0 = nearest), a colour sequence ``layer<k>`` (RGBA premultiplied
only: Blender loads an EXR with any other channel as a multilayer image, whose texture loses the alpha) and a
single-channel depth sequence ``layer<k>_depth`` (``Y``, what Blender's image nodes can read).  Each layer becomes a depth plane with the same camera rules as the plane
layout; its material shows the layer's colour where its alpha is and is transparent elsewhere, so a moved
camera sees the filled back layers through the gaps instead of triangles stretched across depth jumps.
"""
from __future__ import annotations

import bpy

from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot

from . import depth_plane, nodes, shotio

LAYER_KIND = "layer"


def layer_sequences(shot: Shot) -> list[tuple[str, str]]:
    """(colour sequence, depth sequence) per layer, nearest first, from shot.json's layer records."""
    found = []
    for key, seq in shot.sequences.items():
        if seq.meta.get("kind") == LAYER_KIND:
            depth = seq.meta.get("depth_sequence", "")
            if depth not in shot.sequences:
                raise DreamroomsError(f"{shot.folder}/shot.json: layer {key!r} names depth sequence {depth!r}, "
                                      f"which is not in the shot; rerun `dreamrooms layers {shot.folder}`")
            found.append((int(seq.meta.get("index", 0)), key, depth))
    if not found:
        raise DreamroomsError(f"{shot.folder}/shot.json: no depth layers; run `dreamrooms layers {shot.folder}` "
                              f"first")
    return [(k, d) for _, k, d in sorted(found)]


def layer_material(name: str, image: bpy.types.Image, shot: Shot, seq_name: str) -> bpy.types.Material:
    """Emission of the layer's colour, mixed with transparency by its alpha (straight colour from the
    premultiplied EXR: Blender's image texture un-premultiplies)."""
    mat = nodes.sequence_material(name, image, frame_duration=shot.frame_count, frame_start=shot.frame_start,
                                  frame_offset=shot.frame_start - 1 + shot.sequences[seq_name].frame_offset)
    N, L = mat.node_tree.nodes, mat.node_tree.links
    tex = next(n for n in N if n.type == "TEX_IMAGE")
    out = next(n for n in N if n.type == "OUTPUT_MATERIAL")
    emit = next(n for n in N if n.type == "EMISSION")
    clear = N.new("ShaderNodeBsdfTransparent")
    mix = N.new("ShaderNodeMixShader")
    L.new(tex.outputs["Alpha"], mix.inputs["Fac"])
    L.new(clear.outputs[0], mix.inputs[1])
    L.new(emit.outputs[0], mix.inputs[2])
    L.new(mix.outputs[0], out.inputs["Surface"])
    if hasattr(mat, "surface_render_method"):      # EEVEE Next (4.2+): sorted blending per object
        mat.surface_render_method = "BLENDED"
    elif hasattr(mat, "blend_method"):
        mat.blend_method = "BLEND"
    return mat


TRANSPARENT_PER_LAYER = 3    # a camera ray may cross a layer's transparent sheet up to this often (its folds)


def cover_layers(scene, count: int) -> None:
    """Raise Cycles' transparent bounces so a ray passes every layer's transparent pixels (at the limit it
    stops and shows black); never lowers a user's higher setting."""
    cyc = getattr(scene, "cycles", None)
    if cyc is not None:
        cyc.transparent_max_bounces = max(int(cyc.transparent_max_bounces), TRANSPARENT_PER_LAYER * count + 2)


def padded(K, pad: int):
    """The camera's intrinsics for a layer written `pad` pixels larger on every side (the frame's pixels keep
    their rays; `dreamrooms layers` extends the border by the parallax it was made for)."""
    if not pad:
        return K
    from dreamrooms.camera.geometry import Intrinsics

    return Intrinsics(K.width + 2 * pad, K.height + 2 * pad, K.fx, K.fy, K.cx + pad, K.cy + pad)


def build_layers(scene, shot: Shot, K, start, opts: depth_plane.PlaneOptions, *, animate: bool,
                 collection) -> list[bpy.types.Object]:
    """One plane per layer, created back to front (and sorted so in EEVEE), each at the camera `start`."""
    objs = []
    layers = layer_sequences(shot)
    cover_layers(scene, len(layers))
    for k, (colour, depth) in reversed(list(enumerate(layers))):
        name = f"dreamrooms layer {k}"
        d0 = shotio.read_depth(shot, depth, shot.frame_start)
        obj = depth_plane.build_depth_plane(name, d0, padded(K, shot.sequences[colour].meta.get("pad_px", 0)), start,
                                            opts, animate=animate, collection=collection)
        if animate:
            dimg = shotio.load_sequence_image(shot, depth, non_color=True)
            nodes.add_depth_modifier(obj, dimg, scale=opts.scale, near=opts.near, far=opts.far,
                                     edge_cut=opts.edge_cut,
                                     timing=nodes.SequenceTiming(frame_start=shot.frame_start,
                                                                 frame_count=shot.frame_count,
                                                                 file_offset=shot.sequences[depth].frame_offset))
        img = shotio.load_sequence_image(shot, colour)
        img.alpha_mode = "PREMUL"
        obj.data.materials.append(layer_material(f"{name} material", img, shot, colour))
        obj["dreamrooms_layer"] = k
        objs.append(obj)
    return objs
