"""Node trees: the geometry-nodes displacement that follows the depth image sequence frame by
frame, and the material that shows the colour sequence.

The geometry tree moves every vertex to ``base + dir * depth(uv, frame)`` where `base`, `dir` and
`uv` are point attributes written by the builders (``dr_base``, ``dr_dir``, ``dr_uv``).  For a
depth plane base is the camera origin and dir the pixel ray (z = -1, camera space): the same
unprojection as the static numpy build.  The depth image's Frame input is wired from Scene Time,
so the geometry follows the scene frame without baking.  Triangles whose corner depths differ by
more than the Edge Cut ratio are deleted (as edges with their faces).
"""
from __future__ import annotations

import dataclasses

import bpy

GN_TREE = "dreamrooms depth displace"
GN_VERSION = 2  # 2: input tooltips and ranges (files built with 1 get the tree rebuilt)
INPUTS = (
    # name, socket type, default, (min, max) or None, tooltip shown on the modifier
    ("Depth", "NodeSocketImage", None, None,
     "Single-channel float depth sequence (depth/NAME.####.exr), distance along the camera axis"),
    ("Depth Scale", "NodeSocketFloat", 1.0, (0.0, 1000.0),
     "Multiplies every depth value: how far the surface sits from the camera or wall"),
    ("Near", "NodeSocketFloat", 0.0, (0.0, 1e6), "Depth below this is raised to it (0: off)"),
    ("Far", "NodeSocketFloat", 0.0, (0.0, 1e6), "Depth above this is lowered to it (0: off)"),
    ("Edge Cut", "NodeSocketFloat", 0.0, (0.0, 100.0),
     "Delete triangles whose corner depths differ by more than this ratio, e.g. 1.2 (0 or up to 1: off)"),
    ("Frame Start", "NodeSocketInt", 1, (0, 1 << 20), "Scene frame that shows the sequence's first file"),
    ("Frame Count", "NodeSocketInt", 1, (1, 1 << 20), "Files in the sequence"),
    ("File Offset", "NodeSocketInt", 0, (-(1 << 20), 1 << 20), "Number of the first file minus Frame Start"),
    ("Time Offset", "NodeSocketInt", 0, (-(1 << 20), 1 << 20),
     "Frames this surface runs ahead of the scene (rooms and walls of a corridor are offset in time)"),
    ("Wrap", "NodeSocketBool", False, None, "Loop the sequence past its end instead of holding the last file"),
)


def _math(nodes, op, a=None, b=None, c=None, links=None, label=None):
    n = nodes.new("ShaderNodeMath")
    n.operation = op
    for i, v in enumerate((a, b, c)):
        if v is None:
            continue
        if isinstance(v, bpy.types.NodeSocket):
            links.new(v, n.inputs[i])
        else:
            n.inputs[i].default_value = v
    if label:
        n.label = label
    return n.outputs[0]


def _named(nodes, name, data_type):
    n = nodes.new("GeometryNodeInputNamedAttribute")
    n.data_type = data_type
    n.inputs["Name"].default_value = name
    return n.outputs["Attribute"]


def _interface(ng: bpy.types.NodeTree) -> None:
    """The group's sockets: geometry in, the INPUTS (defaults, ranges, tooltips), geometry out."""
    ng.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    for name, stype, default, limits, tip in INPUTS:
        sock = ng.interface.new_socket(name, in_out="INPUT", socket_type=stype, description=tip)
        if default is not None:
            sock.default_value = default
        if limits is not None:
            sock.min_value, sock.max_value = limits
    ng.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")


def _file_number(N, L, i):
    """Which file of the sequence: idx = frame - start + time offset, clamped or wrapped, + start + file offset."""
    time = N.new("GeometryNodeInputSceneTime")
    idx = _math(N, "ADD", _math(N, "SUBTRACT", time.outputs["Frame"], i["Frame Start"], links=L), i["Time Offset"], links=L)
    last = _math(N, "SUBTRACT", i["Frame Count"], 1.0, links=L)
    clamped = _math(N, "MINIMUM", _math(N, "MAXIMUM", idx, 0.0, links=L), last, links=L)
    wrapped = _math(N, "FLOORED_MODULO", idx, i["Frame Count"], links=L)
    chosen = N.new("GeometryNodeSwitch")
    chosen.input_type = "FLOAT"
    L.new(i["Wrap"], chosen.inputs["Switch"])
    L.new(clamped, chosen.inputs["False"])
    L.new(wrapped, chosen.inputs["True"])
    return _math(N, "ADD", _math(N, "ADD", chosen.outputs[0], i["Frame Start"], links=L), i["File Offset"], links=L)


def _depth_value(N, L, i, file_no):
    """The depth at each point's ``dr_uv`` in file ``file_no``: clamp(raw * scale, near, far or +inf)."""
    tex = N.new("GeometryNodeImageTexture")
    tex.interpolation = "Linear"
    tex.extension = "EXTEND"
    L.new(i["Depth"], tex.inputs["Image"])
    L.new(_named(N, "dr_uv", "FLOAT_VECTOR"), tex.inputs["Vector"])
    L.new(file_no, tex.inputs["Frame"])
    sep = N.new("FunctionNodeSeparateColor")
    L.new(tex.outputs["Color"], sep.inputs["Color"])

    # depth = clamp(raw * scale, near, far or +inf)
    d = _math(N, "MULTIPLY", sep.outputs["Red"], i["Depth Scale"], links=L)
    d = _math(N, "MAXIMUM", d, i["Near"], links=L)
    far_pos = _math(N, "GREATER_THAN", i["Far"], 0.0, links=L)
    far = N.new("GeometryNodeSwitch")
    far.input_type = "FLOAT"
    L.new(far_pos, far.inputs["Switch"])
    far.inputs["False"].default_value = 1e30
    L.new(i["Far"], far.inputs["True"])
    return _math(N, "MINIMUM", d, far.outputs[0], links=L)


def _displace(N, L, geometry, d):
    """Store ``d`` as ``dr_depth`` and move each point to base + dir * d; returns the moved geometry."""
    scaled = N.new("ShaderNodeVectorMath")
    scaled.operation = "SCALE"
    L.new(_named(N, "dr_dir", "FLOAT_VECTOR"), scaled.inputs[0])
    L.new(d, scaled.inputs["Scale"])
    pos = N.new("ShaderNodeVectorMath")
    pos.operation = "ADD"
    L.new(_named(N, "dr_base", "FLOAT_VECTOR"), pos.inputs[0])
    L.new(scaled.outputs["Vector"], pos.inputs[1])

    store = N.new("GeometryNodeStoreNamedAttribute")
    store.data_type = "FLOAT"
    store.domain = "POINT"
    store.inputs["Name"].default_value = "dr_depth"
    L.new(geometry, store.inputs["Geometry"])
    L.new(d, store.inputs["Value"])
    setp = N.new("GeometryNodeSetPosition")
    L.new(store.outputs["Geometry"], setp.inputs["Geometry"])
    L.new(pos.outputs["Vector"], setp.inputs["Position"])
    return setp.outputs["Geometry"]


def _edge_cut(N, L, i, geometry):
    """Delete edges (and their faces) whose end depths differ by more than the Edge Cut ratio."""
    ev = N.new("GeometryNodeInputMeshEdgeVertices")
    samples = []
    for k in ("Vertex Index 1", "Vertex Index 2"):
        s = N.new("GeometryNodeSampleIndex")
        s.data_type = "FLOAT"
        s.domain = "POINT"
        L.new(geometry, s.inputs["Geometry"])
        L.new(_named(N, "dr_depth", "FLOAT"), s.inputs["Value"])
        L.new(ev.outputs[k], s.inputs["Index"])
        samples.append(s.outputs[0])
    hi = _math(N, "MAXIMUM", samples[0], samples[1], links=L)
    lo = _math(N, "MAXIMUM", _math(N, "MINIMUM", samples[0], samples[1], links=L), 1e-12, links=L)
    ratio = _math(N, "DIVIDE", hi, lo, links=L)
    over = _math(N, "GREATER_THAN", ratio, i["Edge Cut"], links=L)
    enabled = _math(N, "GREATER_THAN", i["Edge Cut"], 1.0, links=L)
    sel = _math(N, "MULTIPLY", over, enabled, links=L)
    delete = N.new("GeometryNodeDeleteGeometry")
    delete.domain = "EDGE"
    delete.mode = "EDGE_FACE"
    L.new(geometry, delete.inputs["Geometry"])
    L.new(sel, delete.inputs["Selection"])
    return delete.outputs["Geometry"]


def versioned_group(name: str, version: int) -> tuple[bpy.types.NodeTree, bool]:
    """The geometry-nodes group `name` of this file and whether it is current: an older version (a file saved by an
    earlier dreamrooms) is emptied for the caller to rebuild in place, so the modifiers using it keep it."""
    ng = bpy.data.node_groups.get(name)
    if ng is not None and ng.get("dreamrooms_version") == version:
        return ng, True
    if ng is None:
        ng = bpy.data.node_groups.new(name, "GeometryNodeTree")
    ng.nodes.clear()
    ng.interface.clear()
    ng["dreamrooms_version"] = version
    return ng, False


def depth_tree() -> bpy.types.NodeTree:
    """The shared geometry-nodes group (created once per file)."""
    ng, current = versioned_group(GN_TREE, GN_VERSION)
    if current:
        return ng
    _interface(ng)
    N, L = ng.nodes, ng.links
    gin = N.new("NodeGroupInput")
    gout = N.new("NodeGroupOutput")
    i = gin.outputs
    d = _depth_value(N, L, i, _file_number(N, L, i))
    moved = _displace(N, L, gin.outputs["Geometry"], d)
    L.new(_edge_cut(N, L, i, moved), gout.inputs["Geometry"])
    return ng


def socket_ids(ng: bpy.types.NodeTree) -> dict[str, str]:
    return {item.name: item.identifier for item in ng.interface.items_tree
            if getattr(item, "in_out", None) == "INPUT" and item.socket_type != "NodeSocketGeometry"}


@dataclasses.dataclass(frozen=True)
class SequenceTiming:
    """Which depth file shows at which scene frame (the modifier's Frame Start ... Wrap inputs)."""
    frame_start: int = 1
    frame_count: int = 1
    file_offset: int = 0
    time_offset: int = 0
    wrap: bool = False


def add_depth_modifier(obj: bpy.types.Object, image: bpy.types.Image, *, scale: float = 1.0, near: float = 0.0,
                       far: float = 0.0, edge_cut: float = 0.0,
                       timing: SequenceTiming = SequenceTiming()) -> bpy.types.Modifier:
    ng = depth_tree()
    mod = obj.modifiers.new("dreamrooms depth", "NODES")
    mod.node_group = ng
    ids = socket_ids(ng)
    values = {"Depth": image, "Depth Scale": float(scale), "Near": float(near), "Far": float(far),
              "Edge Cut": float(edge_cut), "Frame Start": int(timing.frame_start), "Frame Count": int(timing.frame_count),
              "File Offset": int(timing.file_offset), "Time Offset": int(timing.time_offset),
              "Wrap": bool(timing.wrap)}
    for name, value in values.items():
        mod[ids[name]] = value
    return mod



def _empty_material(name: str) -> bpy.types.Material:
    """A new material with an empty node tree."""
    mat = bpy.data.materials.new(name)
    if mat.node_tree is None:  # before 5.0 materials start without nodes
        mat.use_nodes = True
    mat.node_tree.nodes.clear()
    return mat


def sequence_material(name: str, image: bpy.types.Image, *, frame_duration: int, frame_start: int,
                      frame_offset: int, cyclic: bool = False, shading: str = "EMISSION") -> bpy.types.Material:
    """A material showing an image sequence through the mesh's UV map (auto refresh): emission
    (the footage is the light, what the camera saw) or diffuse (lit by the scene)."""
    mat = _empty_material(name)
    N, L = mat.node_tree.nodes, mat.node_tree.links
    out = N.new("ShaderNodeOutputMaterial")
    uv = N.new("ShaderNodeUVMap")
    uv.uv_map = "UVMap"
    tex = N.new("ShaderNodeTexImage")
    tex.image = image
    tex.interpolation = "Linear"
    tex.extension = "EXTEND"
    iu = tex.image_user
    iu.frame_duration = frame_duration
    iu.frame_start = frame_start
    iu.frame_offset = frame_offset
    iu.use_cyclic = cyclic
    iu.use_auto_refresh = True
    L.new(uv.outputs["UV"], tex.inputs["Vector"])
    if shading == "EMISSION":
        sh = N.new("ShaderNodeEmission")
        L.new(tex.outputs["Color"], sh.inputs["Color"])
        sh.inputs["Strength"].default_value = 1.0
        L.new(sh.outputs[0], out.inputs["Surface"])
    else:
        sh = N.new("ShaderNodeBsdfPrincipled")
        L.new(tex.outputs["Color"], sh.inputs["Base Color"])
        L.new(sh.outputs[0], out.inputs["Surface"])
    mat["dreamrooms_image"] = image.name
    return mat


def flat_material(name: str, grey: float) -> bpy.types.Material:
    """A self-lit uniform grey (independent of the scene's lights, like the footage materials)."""
    mat = _empty_material(name)
    N, L = mat.node_tree.nodes, mat.node_tree.links
    sh = N.new("ShaderNodeEmission")
    sh.inputs["Color"].default_value = (grey, grey, grey, 1.0)
    L.new(sh.outputs[0], N.new("ShaderNodeOutputMaterial").inputs["Surface"])
    mat.diffuse_color = (grey, grey, grey, 1.0)  # the viewport's solid colour
    return mat
