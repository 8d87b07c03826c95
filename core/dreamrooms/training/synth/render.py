"""Rendering synthetic scenes: colour, depth along the camera axis and extras (normals, object ids, positions)."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from dreamrooms.training.synth.scene import Camera, Room, Scene, _inf


def render_scene(scene: Scene, camera: Camera, width: int, height: int, *,
                 ssaa: int = 1, extras: bool = False):
    """Ray-cast ``scene`` from ``camera`` at width x height.

    Returns ``(rgb, depth)``: rgb float32 (H,W,3) scene-linear in 0..1;
    depth float32 (H,W) along the camera axis (inf where nothing is hit).
    ``ssaa`` (odd, >= 1) supersamples colour ssaa x ssaa per pixel; depth and
    extras always come from the exact pixel-centre ray.
    With ``extras=True`` returns ``(rgb, depth, extra)`` where extra has
    ``normal`` (H,W,3 world unit normals facing the camera, 0 on misses),
    ``object_id`` (H,W int32 index into scene.objects, -1 on misses) and
    ``position`` (H,W,3 world hit points, inf on misses).
    """
    if width < 1 or height < 1:
        raise ValueError("render_scene: width and height must be positive")
    if ssaa < 1 or ssaa % 2 == 0:
        raise ValueError("render_scene: ssaa must be an odd integer >= 1")
    d = camera.ray_directions(width, height, ssaa)
    hs, ws = d.shape[:2]
    d = d.reshape(-1, 3)
    o = np.broadcast_to(camera.position, d.shape)
    t, n, obj, face = closest_hit(scene, o, d)
    hit = np.isfinite(t)
    rgb = np.broadcast_to(np.asarray(scene.background, dtype=np.float64), d.shape).copy()
    p = o + d * np.where(hit, t, 0)[:, None]
    if hit.any():
        col, nf = shade(scene, p[hit], n[hit], d[hit], obj[hit], face[hit])
        rgb[hit] = col
        n = n.copy()
        n[hit] = nf
    rgb = np.clip(rgb, 0, 1).reshape(hs, ws, 3)
    if ssaa > 1:
        rgb = rgb.reshape(height, ssaa, width, ssaa, 3).mean(axis=(1, 3))
        c = ssaa // 2
        sel = lambda a: a.reshape(height, ssaa, width, ssaa, *a.shape[1:])[:, c, :, c]
    else:
        sel = lambda a: a.reshape(height, width, *a.shape[1:])
    depth = sel(t).astype(np.float32)
    rgb = rgb.astype(np.float32)
    if not extras:
        return rgb, depth
    hit_c = sel(hit)
    normal = np.where(hit_c[..., None], sel(n), 0).astype(np.float32)
    pos = np.where(hit_c[..., None], sel(p), np.inf).astype(np.float32)
    return rgb, depth, {"normal": normal, "object_id": sel(obj).astype(np.int32), "position": pos}


def render_clip(scene: Scene, cameras: Sequence[Camera], width: int, height: int,
                **kw) -> Iterator[tuple]:
    """Yield ``render_scene`` results for each camera (streams; no accumulation)."""
    for cam in cameras:
        yield render_scene(scene, cam, width, height, **kw)


# ---------------------------------------------------------------- ray casting and shading

def closest_hit(scene: Scene, o, d):
    """Per ray: nearest hit distance (inf on a miss), its normal, object index (-1) and room face."""
    n_rays = len(d)
    t_best = _inf(n_rays)
    n_best = np.zeros((n_rays, 3))
    obj = np.full(n_rays, -1, dtype=np.int32)
    face = np.zeros(n_rays, dtype=np.int64)
    for k, ob in enumerate(scene.objects):
        if isinstance(ob, Room):
            t, n, fc = ob.intersect_faces(o, d)
        else:
            t, n = ob.intersect(o, d)
            fc = None
        closer = t < t_best
        if not closer.any():
            continue
        t_best = np.where(closer, t, t_best)
        n_best[closer] = n[closer]
        obj[closer] = k
        if fc is not None:
            face[closer] = fc[closer]
    return t_best, n_best, obj, face


def _occluded(scene: Scene, o, d):
    """True where something lies between o and o + d (t in (eps, 1))."""
    occ = np.zeros(len(d), dtype=bool)
    for ob in scene.objects:
        if isinstance(ob, Room):
            t, _, _ = ob.intersect_faces(o, d)
        else:
            t, _ = ob.intersect(o, d)
        occ |= t < 1.0 - 1e-3
    return occ


def shade(scene: Scene, p, n, d, obj, face):
    """Lambert shading with point lights and hard shadows: (colour, normals turned to face the viewer)."""
    albedo = np.zeros_like(p)
    for k, ob in enumerate(scene.objects):
        if isinstance(ob, Room):
            for fc in range(6):
                m = (obj == k) & (face == fc)
                if m.any():
                    albedo[m] = ob.textures[fc].albedo(p[m])
        else:
            m = obj == k
            if m.any():
                albedo[m] = ob.texture.albedo(p[m])
    # normals face the viewer
    flip = np.einsum("ij,ij->i", n, d) > 0
    n = np.where(flip[:, None], -n, n)
    light = np.broadcast_to(np.asarray(scene.ambient, dtype=np.float64), p.shape).copy()
    origin = p + n * 1e-3
    for L in scene.lights:
        lv = np.asarray(L.position, dtype=np.float64)[None, :] - origin
        dist2 = np.einsum("ij,ij->i", lv, lv)
        dist = np.sqrt(dist2)
        lam = np.clip(np.einsum("ij,ij->i", n, lv) / np.maximum(dist, 1e-9), 0, None)
        contrib = lam * L.intensity / (1.0 + dist2)
        if scene.shadows:
            lit = contrib > 0
            if lit.any():
                occ = np.zeros(len(p), dtype=bool)
                occ[lit] = _occluded(scene, origin[lit], lv[lit])
                contrib = np.where(occ, 0.0, contrib)
        light += contrib[:, None] * np.asarray(L.color, dtype=np.float64)[None, :]
    return albedo * light, n
