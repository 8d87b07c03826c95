"""Depth plane ("3D photo"): a grid unprojected through the shot camera from a depth map.

Static build: numpy unprojection (x, y from pixel rays, z from depth) and one `foreach_set`.
Animated build: the same mesh plus the geometry-nodes modifier that re-reads the depth image
sequence at every frame (no baking).  Vertices live in camera space; the object sits at the
camera's world matrix, so the mesh is what the camera saw.
"""
from __future__ import annotations

from dataclasses import dataclass

import bpy
import numpy as np

from dreamrooms import camera as cm
from dreamrooms.errors import DreamroomsError

from . import mesh as meshlib
from . import nodes
from .grid import PlaneMesh


@dataclass
class PlaneOptions:
    grid: tuple[int, int] | None = None  # vertices (nx, ny); None = one per depth pixel
    mesh: PlaneMesh | None = None        # an explicit image-space mesh (grid.adaptive_mesh) instead of a grid
    scale: float = 1.0                   # depth scale
    near: float = 0.0                    # clamp (0 = none)
    far: float = 0.0                     # clamp (0 = none)
    edge_cut: float = 0.0                # max/min depth ratio over a triangle (<= 1: off)
    fill_frame: bool = True              # outer ring of vertices on the frame edges
    fill_push: float = 1.02              # how far behind (depth factor)


def grid_size(depth_shape: tuple[int, int], grid: tuple[int, int] | None, max_vertices: int = 0) -> tuple[int, int]:
    h, w = depth_shape
    nx, ny = grid if grid else (w, h)
    if max_vertices and nx * ny > max_vertices:
        f = (max_vertices / (nx * ny)) ** 0.5
        nx, ny = max(2, int(nx * f)), max(2, int(ny * f))
    if nx < 2 or ny < 2:
        raise DreamroomsError(f"depth plane grid {nx}x{ny}: needs at least 2x2 vertices")
    return int(nx), int(ny)


def plane_arrays(depth: np.ndarray, K: cm.Intrinsics, opts: PlaneOptions, *, cut: bool = True):
    """Vertex positions (N,3 float32, camera space), triangles (T,3), UVs (N,2), rays (N,3, z = -1) and
    vertex depths (N,) for a depth map, on `opts.mesh` or a grid."""
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 2:
        raise DreamroomsError(f"depth map has shape {depth.shape}; give an HxW array")
    if opts.mesh is not None:
        u, v = (np.asarray(a, np.float64) for a in opts.mesh.uv.T)
        d = cm.clamp_depth(cm.sample_bilinear(depth, u, v), opts.scale, opts.near, opts.far).ravel()
        tris = np.asarray(opts.mesh.tris, np.int32)
        rays = np.stack([(u * K.width - K.cx) / K.fx, -(v * K.height - K.cy) / K.fy, -np.ones_like(u)], -1)
        rays = rays.astype(np.float32)
        uv = np.stack([u, 1.0 - v], -1).astype(np.float32)   # Blender UV: origin at the bottom
    else:
        nx, ny = grid_size(depth.shape, opts.grid)
        gu, gv = cm.grid_uv(nx, ny, opts.fill_frame)
        d = cm.clamp_depth(cm.sample_grid(depth, gu, gv), opts.scale, opts.near, opts.far).ravel()
        tris = cm.grid_triangles(nx, ny)
        rays = _ray_vectors(((gu * K.width - K.cx) / K.fx).astype(np.float32),
                            (-(gv * K.height - K.cy) / K.fy).astype(np.float32))
        uv = np.empty((ny, nx, 2), dtype=np.float32)
        uv[..., 0] = gu[None, :]
        uv[..., 1] = (1.0 - gv)[:, None]
        uv = uv.reshape(-1, 2)
    if cut and opts.edge_cut > 1.0:
        tris = tris[cm.edge_cut_mask(d, tris, opts.edge_cut)]
    co = rays * d[:, None]
    return co.astype(np.float32), tris, uv, rays, d


def _ray_vectors(rx: np.ndarray, ry: np.ndarray) -> np.ndarray:
    ny, nx = len(ry), len(rx)
    r = np.empty((ny, nx, 3), dtype=np.float32)
    r[..., 0] = rx[None, :]
    r[..., 1] = ry[:, None]
    r[..., 2] = -1.0
    return r.reshape(-1, 3)


def build_depth_plane(name: str, depth: np.ndarray, K: cm.Intrinsics, matrix_world=None,
                      opts: PlaneOptions | None = None, *, animate: bool = False,
                      collection: bpy.types.Collection | None = None) -> bpy.types.Object:
    """Object whose mesh is `depth` unprojected through `K`, placed at the camera `matrix_world`.
    With `animate`, the point attributes the geometry-nodes modifier needs are stored as well."""
    opts = opts or PlaneOptions()
    co, tris, uv, rays, _ = plane_arrays(depth, K, opts, cut=not animate)
    attrs = None
    if animate:
        attrs = {"dr_dir": rays, "dr_base": np.zeros((len(co), 3), np.float32),
                 "dr_uv": np.concatenate([uv, np.zeros((len(uv), 1), np.float32)], axis=1)}
    me = meshlib.mesh_from_arrays(name, co, tris, uv, attrs)
    obj = bpy.data.objects.new(name, me)
    if matrix_world is not None:
        obj.matrix_world = _mat(matrix_world)
    obj["dreamrooms_kind"] = "depth_plane"
    obj["dreamrooms_vertices"] = len(co)
    meshlib.link(obj, collection)
    return obj


def _mat(m):
    from mathutils import Matrix
    return Matrix([list(map(float, row)) for row in np.asarray(m, dtype=np.float64).reshape(4, 4)])
