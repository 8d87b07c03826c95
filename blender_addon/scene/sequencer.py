"""Scene builder for a film's edit: one scene per shot (an image strip of its frames) and a `film` scene whose
sequencer cuts those scenes in script order, with cross strips for dissolves and text strips for dialogue.

Input is the film's `edit.json` (dreamrooms.film.assemble writes it: shots with start, length, overlap and their
frame files relative to the film folder; subtitles).  Blender 5.0 API: `sequence_editor.strips.new_scene`,
`new_image`, `new_effect(name, type, channel, frame_start, length, input1, input2)`.
"""
from __future__ import annotations

from pathlib import Path

import bpy


def _shot_scene(film_dir: Path, shot: dict, fps: float, size: tuple[int, int]) -> bpy.types.Scene:
    sc = bpy.data.scenes.new(f"{shot['id']} {shot['heading']}"[:63])
    sc.render.resolution_x, sc.render.resolution_y = size
    sc.render.fps = round(fps)
    sc.render.fps_base = round(fps) / fps
    sc.frame_start, sc.frame_end = 1, shot["frames"]
    files = shot["files"]
    ed = sc.sequence_editor_create()
    first = film_dir / files[0]
    strip = ed.strips.new_image(shot["id"], str(first), 1, 1, fit_method="FIT")
    for rel in files[1:]:
        strip.elements.append(Path(rel).name)
    # a shot shorter than its place in the cut holds its last frame
    strip.frame_final_duration = shot["frames"]
    return sc


def build_film_edit(edit: dict, film_dir: Path) -> bpy.types.Scene:
    """Build every shot scene and the `film` scene; returns the film scene (made the window's scene)."""
    fps = float(edit["fps"])
    size = (int(edit["width"]), int(edit["height"]))
    film = bpy.data.scenes.new("film")
    film.render.resolution_x, film.render.resolution_y = size
    film.render.fps = round(fps)
    film.render.fps_base = round(fps) / fps
    film.frame_start, film.frame_end = 1, max(1, int(edit["frames"]))
    strips = film.sequence_editor_create().strips
    prev = None
    for k, shot in enumerate(edit["shots"]):
        scene = _shot_scene(film_dir, shot, fps, size)
        strip = strips.new_scene(f"{k + 1:02d} {shot['id']}", scene, 1 + k % 2, shot["start"] + 1)
        if prev is not None and shot["overlap_in"] > 0:
            strips.new_effect(f"dissolve {k:02d}-{k + 1:02d}", "CROSS", 3, shot["start"] + 1,
                              length=shot["overlap_in"], input1=prev, input2=strip)
        prev = strip
    for n, sub in enumerate(edit["subtitles"]):
        text = strips.new_effect(f"sub {n + 1:03d}", "TEXT", 4, sub["start"] + 1, length=sub["end"] - sub["start"])
        text.text = f"{sub['character']}: {sub['text']}" if sub["character"] else sub["text"]
        text.location = (0.5, 0.08)
    window = getattr(bpy.context, "window", None)
    if window is not None:
        window.scene = film
    return film


def save_film_blend(edit: dict, film_dir: Path, out: Path) -> Path:
    """A fresh file holding only the film's scenes, saved atomically."""
    import os

    bpy.ops.wm.read_homefile(use_empty=True)
    default = list(bpy.data.scenes)
    build_film_edit(edit, film_dir)
    for sc in default:
        bpy.data.scenes.remove(sc)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.blend")
    try:
        bpy.ops.wm.save_as_mainfile(filepath=str(tmp), compress=True)
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)
    return out
