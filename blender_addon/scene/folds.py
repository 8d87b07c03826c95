"""Hidden folds: at each frame, delete the faces of a depth plane that span a depth edge and face away from the
camera.

A depth plane bridges every depth edge with a thin "rubber" sheet from the near side to the far side.  When the
camera moves so that the near side slides over the far side (a dolly in, the trailing side of a truck), that sheet
turns its back to the camera and folds under the near surface: it cannot be seen, yet Cycles still traverses it,
and these long, thin faces along the view rays cost more render time than the rest of the plane (measured in
bench/REPORT.md).  Deleting them per frame leaves the picture as it was.  Sheets that face the camera (the side a
move opens) stay: they are what the camera sees there.  Node types: Blender 5.0 geometry nodes (Active Camera,
Object Info in Relative space, Evaluate on Domain, Delete Geometry, https://docs.blender.org/manual/en/5.0/
modeling/geometry_nodes/).
"""
from __future__ import annotations

import bpy

from .grid import EDGE_RATIO
from .nodes import _math, versioned_group

TREE = "dreamrooms hidden folds"
VERSION = 1
MODIFIER = "dreamrooms hidden folds"


def _vec(N, L, op, a, b):
    n = N.new("ShaderNodeVectorMath")
    n.operation = op
    L.new(a, n.inputs[0])
    L.new(b, n.inputs[1])
    return n.outputs["Value" if op == "DOT_PRODUCT" else "Vector"]


def _edge_spans_depth_edge(N, L):
    """Per edge (as 0/1): its end depths (-z in the plane's camera space) differ by more than EDGE_RATIO."""
    ev = N.new("GeometryNodeInputMeshEdgeVertices")
    depths = []
    for k in ("Position 1", "Position 2"):
        sep = N.new("ShaderNodeSeparateXYZ")
        L.new(ev.outputs[k], sep.inputs[0])
        depths.append(_math(N, "MULTIPLY", sep.outputs["Z"], -1.0, links=L))
    hi = _math(N, "MAXIMUM", depths[0], depths[1], links=L)
    lo = _math(N, "MAXIMUM", _math(N, "MINIMUM", depths[0], depths[1], links=L), 1e-12, links=L)
    over = _math(N, "GREATER_THAN", _math(N, "DIVIDE", hi, lo, links=L), EDGE_RATIO, links=L)
    on_edges = N.new("GeometryNodeFieldOnDomain")
    on_edges.domain = "EDGE"
    on_edges.data_type = "FLOAT"
    L.new(over, on_edges.inputs["Value"])
    return on_edges.outputs["Value"]


def fold_tree() -> bpy.types.NodeTree:
    """The shared node group (created once per file): faces with a depth-edge side that face away from the
    active camera are deleted."""
    ng, current = versioned_group(TREE, VERSION)
    if current:
        return ng
    ng.interface.new_socket("Geometry", in_out="INPUT", socket_type="NodeSocketGeometry")
    ng.interface.new_socket("Geometry", in_out="OUTPUT", socket_type="NodeSocketGeometry")
    N, L = ng.nodes, ng.links
    gin, gout = N.new("NodeGroupInput"), N.new("NodeGroupOutput")
    info = N.new("GeometryNodeObjectInfo")
    info.transform_space = "RELATIVE"          # the camera in the plane's own space
    L.new(N.new("GeometryNodeInputActiveCamera").outputs[0], info.inputs["Object"])
    to_camera = _vec(N, L, "SUBTRACT", info.outputs["Location"], N.new("GeometryNodeInputPosition").outputs[0])
    facing = _vec(N, L, "DOT_PRODUCT", N.new("GeometryNodeInputNormal").outputs["Normal"], to_camera)
    away = _math(N, "LESS_THAN", facing, 0.0, links=L)
    rubber = _math(N, "GREATER_THAN", _edge_spans_depth_edge(N, L), 0.0, links=L)   # any side of the face
    delete = N.new("GeometryNodeDeleteGeometry")
    delete.domain = "FACE"
    delete.mode = "ONLY_FACE"
    L.new(gin.outputs["Geometry"], delete.inputs["Geometry"])
    L.new(_math(N, "MULTIPLY", away, rubber, links=L), delete.inputs["Selection"])
    L.new(delete.outputs["Geometry"], gout.inputs["Geometry"])
    return ng


def add_fold_cull(obj: bpy.types.Object) -> bpy.types.Modifier:
    """The hidden-folds modifier, last on `obj` (after the depth update that moves its vertices)."""
    mod = obj.modifiers.get(MODIFIER) or obj.modifiers.new(MODIFIER, "NODES")
    mod.node_group = fold_tree()
    return mod
