"""Paths the .blend keeps relative to itself, so a project folder (the .blend beside its shot) can
move or change machines: the shot folder (`scene["dreamrooms_shot"]`, the one place it is stored,
which the panel's Shot field reads and writes), the render output and the sequences the build
loaded from the shot (Blender handles those).  A file not saved yet keeps absolute paths; saving
makes them relative to where the file is saved.
"""
from __future__ import annotations

import os
from pathlib import Path

import bpy
from bpy.app.handlers import persistent

KEY = "dreamrooms_shot"


def relative(path: str, blend: str | None = None) -> str:
    """`path` relative to the .blend `blend` (default: the open one) as '//...'; unchanged when
    there is no .blend yet or it lies on another drive."""
    blend = bpy.data.filepath if blend is None else blend
    if not path or not blend:
        return path
    try:
        return bpy.path.relpath(bpy.path.abspath(path), start=os.path.dirname(blend))
    except ValueError:  # another drive on Windows
        return path


def get_shot(scene) -> str:
    return str(scene.get(KEY, ""))


def set_shot(scene, path: str) -> None:
    scene[KEY] = relative(path) if path else ""


def shot_folder(scene) -> Path | None:
    p = get_shot(scene)
    return Path(bpy.path.abspath(p)) if p else None


def make_relative(scene, blend: str | None = None) -> tuple[str, str]:
    """Store the shot path and the render output relative to `blend` (the file being saved); returns
    the values before.  Blender itself makes image paths relative and rebases them on Save As, but
    neither an ID property nor the render output, so those two are done here."""
    before = (get_shot(scene), scene.render.filepath)
    if before[0]:
        scene[KEY] = relative(before[0], blend)
    if before[1]:
        scene.render.filepath = relative(before[1], blend)
    return before


_before: dict[int, tuple[str, str]] = {}


@persistent
def _on_save_pre(filepath="", *_args) -> None:
    _before.clear()
    for scene in bpy.data.scenes:
        _before[scene.session_uid] = make_relative(scene, filepath or None)


@persistent
def _on_save_post(filepath="", *_args) -> None:
    # a copy (File > Save Copy, a job's scene copy) or a failed save leaves the open file where it
    # was: its own paths must keep resolving from there, so they go back to what they were
    if filepath and bpy.data.filepath != filepath:
        for scene in bpy.data.scenes:
            if scene.session_uid in _before:
                scene[KEY], scene.render.filepath = _before[scene.session_uid]
    _before.clear()


HANDLERS = ((bpy.app.handlers.save_pre, _on_save_pre), (bpy.app.handlers.save_post, _on_save_post),
            (bpy.app.handlers.save_post_fail, _on_save_post))


def register() -> None:
    for handlers, fn in HANDLERS:
        handlers.append(fn)


def unregister() -> None:
    for handlers, fn in HANDLERS:
        if fn in handlers:
            handlers.remove(fn)
