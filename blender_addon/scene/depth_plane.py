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


@dataclass
class PlaneOptions:
    grid: tuple[int, int] | None = None  # vertices (nx, ny); None = one per depth pixel
    uv: tuple[np.ndarray, np.ndarray] | None = None  # explicit vertex columns u and rows v (grid.adaptive_uv)
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
    """Vertex positions (N,3 float32, camera space), triangles (T,3), UVs (N,2), rays (N,3) and
    vertex depths (ny, nx) for a depth map."""
    depth = np.asarray(depth, dtype=np.float32)
    if depth.ndim != 2:
        raise DreamroomsError(f"depth map has shape {depth.shape}; give an HxW array")
    if opts.uv is not None:
        u, v = (np.asarray(a, np.float64) for a in opts.uv)
        nx, ny = len(u), len(v)
    else:
        nx, ny = grid_size(depth.shape, opts.grid)
        u, v = cm.grid_uv(nx, ny, opts.fill_frame)
    d = cm.clamp_depth(cm.sample_grid(depth, u, v), opts.scale, opts.near, opts.far)
    # rays with z = -1 as the outer product of the x and y terms (no (ny,nx) temporaries beyond one)
    rx = ((u * K.width - K.cx) / K.fx).astype(np.float32)
    ry = (-(v * K.height - K.cy) / K.fy).astype(np.float32)
    co = np.empty((ny, nx, 3), dtype=np.float32)
    np.multiply(d, rx[None, :], out=co[..., 0])
    np.multiply(d, ry[:, None], out=co[..., 1])
    np.negative(d, out=co[..., 2])
    tris = cm.grid_triangles(nx, ny)
    if cut and opts.edge_cut > 1.0:
        tris = tris[cm.edge_cut_mask(d, tris, opts.edge_cut)]
    uv = np.empty((ny, nx, 2), dtype=np.float32)
    uv[..., 0] = u[None, :]
    uv[..., 1] = (1.0 - v)[:, None]   # Blender UV: origin at the bottom
    return co.reshape(-1, 3), tris, uv.reshape(-1, 2), (rx, ry), d


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
    co, tris, uv, (rx, ry), _ = plane_arrays(depth, K, opts, cut=not animate)
    attrs = None
    if animate:
        attrs = {"dr_dir": _ray_vectors(rx, ry), "dr_base": np.zeros((len(co), 3), np.float32),
                 "dr_uv": np.concatenate([uv, np.zeros((len(uv), 1), np.float32)], axis=1)}
    me = meshlib.mesh_from_arrays(name, co, tris, uv, attrs)
    obj = bpy.data.objects.new(name, me)
    if matrix_world is not None:
        obj.matrix_world = _mat(matrix_world)
    obj["dreamrooms_kind"] = "depth_plane"
    obj["dreamrooms_grid"] = [len(rx), len(ry)]
    meshlib.link(obj, collection)
    return obj


def _mat(m):
    from mathutils import Matrix
    return Matrix([list(map(float, row)) for row in np.asarray(m, dtype=np.float64).reshape(4, 4)])
