"""Synthetic scenes with known object masks for the mask and layer tests: a textured wall, figures in front."""
from __future__ import annotations

import numpy as np

from dreamrooms.colour import linear_to_srgb
from dreamrooms.training import synth

WALL_Y = 6.0


def scene(sphere_x: float = -0.4, with_figures: bool = True) -> synth.Scene:
    """A tiled, noisy back wall 6 m away, a sphere (1.6 m) and a box (2.4 m) in front of it."""
    wall = synth.Quad((0.0, WALL_Y, 1.0), (6.0, 0.0, 0.0), (0.0, 0.0, 4.0),
                      synth.Texture("marble", (0.8, 0.7, 0.5), (0.2, 0.3, 0.5), scale=1.5, seed=3))
    objs = [wall]
    if with_figures:
        objs += [synth.Sphere((sphere_x, 1.6, 0.9), 0.35, synth.Texture("checker", (0.9, 0.2, 0.2), (0.3, 0.05, 0.05), 6.0)),
                 synth.Box((0.9, 2.4, 0.7), (0.5, 0.5, 1.2), 0.3, synth.Texture("stripes", (0.2, 0.8, 0.3), (0.05, 0.3, 0.1), 5.0))]
    return synth.Scene(objects=objs, lights=[synth.PointLight((0.0, 0.5, 3.0), intensity=30.0)],
                       ambient=(0.25, 0.25, 0.25), shadows=False)


def camera() -> synth.Camera:
    return synth.Camera.look_at((0.0, -1.0, 1.0), (0.0, 5.0, 1.0), lens_mm=24.0)


def render(sc: synth.Scene, w: int = 160, h: int = 90):
    """(srgb HxWx3 straight 0..1, depth HxW, object_id HxW): object 0 is the wall."""
    rgb, depth, extra = synth.render_scene(sc, camera(), w, h, extras=True)
    return linear_to_srgb(rgb), depth, extra["object_id"]


def write_clip_shot(folder, frames: int = 4, w: int = 96, h: int = 54, start: float = -0.7, step: float = 0.15):
    """A shot as `dreamrooms depth` leaves it: layers/clip.####.exr (RGBA + depth.Z) and depth/clip.####.exr (Y),
    the sphere crossing the wall from x = `start`, `step` per frame.  Returns the shot and the true figure masks
    per frame."""
    from dreamrooms.shot import exr
    from dreamrooms.colour import srgb_to_linear
    from dreamrooms.shot import Shot

    shot = Shot(fps=24, width=w, height=h, frame_start=1, frame_end=frames, name="clip")
    shot.folder = folder
    truth = []
    for k, n in enumerate(shot.frames):
        srgb, depth, oid = render(scene(start + step * k), w, h)
        rgba = np.concatenate([srgb_to_linear(srgb), np.ones((h, w, 1), np.float32)], -1)
        exr.write_frame(folder / f"layers/clip.{n:04d}.exr", {"RGBA": rgba, "depth.Z": depth})
        exr.write_frame(folder / f"depth/clip.{n:04d}.exr", {"Y": depth})
        truth.append(oid)
    shot.add_sequence("layers", "layers/clip.####.exr", ["R", "G", "B", "A", "depth.Z"])
    shot.add_sequence("depth", "depth/clip.####.exr", ["Y"], colorspace="data", premultiplied=False)
    shot.save()
    return shot, truth
