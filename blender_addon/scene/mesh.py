"""Fast mesh creation from numpy arrays (foreach_set, no per-vertex Python)."""
from __future__ import annotations

import bpy
import numpy as np


def mesh_from_arrays(name: str, co: np.ndarray, tris: np.ndarray, uv: np.ndarray | None = None,
                     point_vectors: dict[str, np.ndarray] | None = None) -> bpy.types.Mesh:
    """A mesh of triangles: `co` (N,3) vertex positions, `tris` (T,3) indices, optional per-vertex
    `uv` (N,2) into the UV map `UVMap` and float-vector point attributes."""
    co = np.ascontiguousarray(co, dtype=np.float32).reshape(-1, 3)
    tris = np.ascontiguousarray(tris, dtype=np.int32).reshape(-1, 3)
    me = bpy.data.meshes.new(name)
    n_tri = len(tris)
    me.vertices.add(len(co))
    me.loops.add(3 * n_tri)
    me.polygons.add(n_tri)
    # Blender 4.0+ (the extension needs 4.2): the generic attribute arrays are the storage, one memcpy each,
    # and a polygon's loop count follows from loop_start
    me.attributes["position"].data.foreach_set("vector", co.ravel())
    me.attributes[".corner_vert"].data.foreach_set("value", tris.ravel())
    me.polygons.foreach_set("loop_start", np.arange(0, 3 * n_tri, 3, dtype=np.int32))
    me.update(calc_edges=True)
    if uv is not None:
        per_corner = np.ascontiguousarray(np.asarray(uv, np.float32)[tris.ravel()]).ravel()
        me.attributes.new("UVMap", "FLOAT2", "CORNER").data.foreach_set("vector", per_corner)  # UVs: float2 corner attributes
    for key, arr in (point_vectors or {}).items():
        attr = me.attributes.new(key, "FLOAT_VECTOR", "POINT")
        attr.data.foreach_set("vector", np.ascontiguousarray(arr, dtype=np.float32).ravel())
    return me


def mesh_positions(me: bpy.types.Mesh) -> np.ndarray:
    co = np.empty(len(me.vertices) * 3, dtype=np.float32)
    me.vertices.foreach_get("co", co)
    return co.reshape(-1, 3)


def mesh_triangles(me: bpy.types.Mesh) -> np.ndarray:
    """(T,3) vertex indices of a triangle mesh (as built by mesh_from_arrays)."""
    idx = np.empty(len(me.loops), dtype=np.int32)
    me.loops.foreach_get("vertex_index", idx)
    return idx.reshape(-1, 3)


def evaluated_positions(obj: bpy.types.Object, depsgraph=None) -> tuple[np.ndarray, np.ndarray]:
    """Positions and triangles of the evaluated (modifiers applied) mesh, in object space."""
    depsgraph = depsgraph or bpy.context.evaluated_depsgraph_get()
    ev = obj.evaluated_get(depsgraph)
    me = ev.to_mesh()
    try:
        return mesh_positions(me), mesh_triangles(me)
    finally:
        ev.to_mesh_clear()


def link(obj: bpy.types.Object, collection: bpy.types.Collection | None = None) -> bpy.types.Object:
    (collection or bpy.context.scene.collection).objects.link(obj)
    return obj
