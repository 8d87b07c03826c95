"""Rendering synthetic scenes: colour, depth along the camera axis and extras (normals, object ids, positions)."""
from __future__ import annotations

from typing import Iterator, Sequence

import numpy as np

from dreamrooms.training.synth.scene import Camera, Scene, closest_hit, shade


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
