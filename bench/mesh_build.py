"""Time to build a 1024x1024-vertex unprojected depth mesh in Blender (bpy module).

    python bench/mesh_build.py [--size 1024] [--peer-size 1024] [--repeat 3]

* ours:  dreamrooms' static depth-plane build (numpy unprojection + foreach_set of vertices,
         triangles and UVs) from a depth map
* limit: the same foreach_set mesh creation from *precomputed* coordinates, triangles and UVs
         (what any build must at least pay)
* peer:  a straightforward per-vertex bmesh loop (what most depth add-ons do): unproject each
         vertex in Python, bm.verts.new, bm.faces.new per triangle, UVs per loop, to_mesh

Prints medians and ratios; target: ours within 1.5x of the limit.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import bpy  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _report import result  # noqa: E402
import bmesh  # noqa: E402

from dreamrooms import camera as cm  # noqa: E402


def _addon():
    spec = importlib.util.spec_from_file_location("_dr_bench_addon", ROOT / "blender_addon/__init__.py",
                                                  submodule_search_locations=[str(ROOT / "blender_addon")])
    mod = importlib.util.module_from_spec(spec)
    sys.modules["_dr_bench_addon"] = mod
    spec.loader.exec_module(mod)

    return importlib.import_module("_dr_bench_addon.scene.depth_plane"), importlib.import_module("_dr_bench_addon.scene.mesh")


def depth_map(n: int) -> np.ndarray:
    y, x = np.mgrid[0:n, 0:n].astype(np.float32) / n
    return (2.0 + x + 0.5 * np.sin(6 * y) + 0.3 * np.cos(9 * x * y)).astype(np.float32)


def clear():
    for ob in list(bpy.data.objects):
        bpy.data.objects.remove(ob)
    for me in list(bpy.data.meshes):
        bpy.data.meshes.remove(me)


def peer_bmesh(depth: np.ndarray, K: cm.Intrinsics) -> bpy.types.Object:
    h, w = depth.shape
    bm = bmesh.new()
    verts = []
    for i in range(h):
        v = (i + 0.5) / h
        for j in range(w):
            u = (j + 0.5) / w
            d = float(depth[i, j])
            x = (u * K.width - K.cx) / K.fx * d
            y = -(v * K.height - K.cy) / K.fy * d
            verts.append(bm.verts.new((x, y, -d)))
    bm.verts.ensure_lookup_table()
    uv_layer = bm.loops.layers.uv.new("UVMap")
    for i in range(h - 1):
        for j in range(w - 1):
            a = i * w + j
            b, c = a + 1, a + w
            d = c + 1
            for tri in ((a, c, d), (a, d, b)):
                f = bm.faces.new([verts[k] for k in tri])
                for loop, k in zip(f.loops, tri):
                    loop[uv_layer].uv = ((k % w + 0.5) / w, 1.0 - (k // w + 0.5) / h)
    me = bpy.data.meshes.new("peer")
    bm.to_mesh(me)
    bm.free()
    obj = bpy.data.objects.new("peer", me)
    bpy.context.scene.collection.objects.link(obj)
    return obj


def timed(fn) -> tuple[float, object]:
    """Wall time of one `fn()` on a cleared scene, and what it returned."""
    clear()
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", type=int, default=1024, help="vertices per side for ours and the limit")
    ap.add_argument("--peer-size", type=int, default=1024, help="vertices per side for the bmesh loop (0: skip)")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    bpy.ops.wm.read_homefile(use_empty=True)
    dp, meshlib = _addon()
    n = args.size
    depth = depth_map(n)
    K = cm.intrinsics(35, 36, n, n)
    opts = dp.PlaneOptions(fill_frame=False)

    # limit: everything precomputed, only the foreach_set mesh creation is timed
    co, tris, uv, _, _ = dp.plane_arrays(depth, K, opts)

    def limit():
        me = meshlib.mesh_from_arrays("limit", co, tris, uv)
        obj = bpy.data.objects.new("limit", me)
        bpy.context.scene.collection.objects.link(obj)
        return obj

    def ours():
        return dp.build_depth_plane("ours", depth, K, None, opts)

    lim, our = [], []
    for _ in range(args.repeat):  # interleaved, so neither side gets the warm caches
        dt, _ = timed(limit)
        lim.append(dt)
        dt, obj = timed(ours)
        our.append(dt)
    t_limit, t_ours = statistics.median(lim), statistics.median(our)
    got = meshlib.mesh_positions(obj.data)
    assert np.allclose(got, co), "ours built different geometry"
    print(f"mesh {n}x{n} vertices, {len(tris)} triangles (Blender {bpy.app.version_string})")
    print(f"  limit (foreach_set of precomputed arrays): {t_limit * 1000:8.1f} ms")
    print(f"  ours  (numpy unprojection + foreach_set):  {t_ours * 1000:8.1f} ms   ours/limit = {t_ours / t_limit:.2f}x "
          f"(target <= 1.5x: {'ok' if t_ours / t_limit <= 1.5 else 'MISSED'})")
    # a ratio of times: limit/ours, target 1/1.5 (within 1.5x of the raw limit)
    result(f"mesh_build {n}x{n} vs raw foreach_set limit", t_ours * 1000, t_limit * 1000, "raw foreach_set", "ms",
           round(1 / 1.5, 3), higher_is_better=False)
    if args.peer_size:
        pn = args.peer_size
        pdepth = depth_map(pn)
        pK = cm.intrinsics(35, 36, pn, pn)
        t_peer, pobj = timed(lambda: peer_bmesh(pdepth, pK))
        scale = (n * n) / (pn * pn)
        note = " (one run)" if pn == n else f" (one run at {pn}x{pn}, scaled x{scale:g} by vertex count)"
        t_peer_n = t_peer * scale
        print(f"  peer  (per-vertex bmesh loop):            {t_peer_n * 1000:8.1f} ms   peer/ours = {t_peer_n / t_ours:.1f}x{note}")
        result(f"mesh_build {n}x{n} vs per-vertex bmesh loop", t_ours * 1000, t_peer_n * 1000, "bmesh loop" + note, "ms",
               1.0, higher_is_better=False)
        pco, _, _, _, _ = dp.plane_arrays(pdepth, pK, opts)
        assert np.allclose(meshlib.mesh_positions(pobj.data), pco, atol=1e-4), "peer built different geometry"
    return 0


if __name__ == "__main__":
    sys.exit(main())
