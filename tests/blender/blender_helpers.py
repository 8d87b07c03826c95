"""Helpers for the Blender tests (shot writing, loading the add-on as a bl_ext sub-package)."""
from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from pathlib import Path

import bpy
import numpy as np

ROOT = Path(__file__).resolve().parents[2]
ADDON = ROOT / "blender_addon"

from dreamrooms.shot import exr  # noqa: E402
from dreamrooms.shot import Shot  # noqa: E402


def write_shot(folder: Path, depth_frames, colour_frames=None, fps: float = 24.0, name: str = "t",
               layered: bool = True, camera=None) -> Shot:
    """A shot with a layered sequence (RGBA + depth.Z) per frame, as the depth stage writes it."""
    depth_frames = [np.asarray(d, np.float32) for d in depth_frames]
    h, w = depth_frames[0].shape
    shot = Shot(fps=fps, width=w, height=h, frame_start=1, frame_end=len(depth_frames), name=name)
    shot.folder = Path(folder)
    shot.add_sequence("layers", f"layers/{name}.####.exr", ["R", "G", "B", "A", "depth.Z"])
    for k, f in enumerate(shot.frames):
        if colour_frames is None:
            y, x = np.mgrid[0:h, 0:w].astype(np.float32)
            rgb = np.stack([x / w, y / h, np.full_like(x, (k + 1) / len(depth_frames))], -1)
        else:
            rgb = np.asarray(colour_frames[k], np.float32)[..., :3]
        rgba = np.concatenate([rgb, np.ones((h, w, 1), np.float32)], -1)
        exr.write_frame(shot.frame_path("layers", f), {"RGBA": rgba, "depth.Z": depth_frames[k]})
    shot.camera = camera
    shot.save()
    return shot


def load_addon(package: str = "bl_ext.user_default.dreamrooms"):
    """Import blender_addon/ as `package` (a sub-package of a bl_ext-like parent, as the extension
    system installs it) and return the module."""
    if package in sys.modules:
        return sys.modules[package]
    parts = package.split(".")
    for i in range(1, len(parts)):
        parent = ".".join(parts[:i])
        if parent not in sys.modules:
            mod = types.ModuleType(parent)
            mod.__path__ = []
            sys.modules[parent] = mod
    spec = importlib.util.spec_from_file_location(package, ADDON / "__init__.py",
                                                  submodule_search_locations=[str(ADDON)])
    mod = importlib.util.module_from_spec(spec)
    sys.modules[package] = mod
    spec.loader.exec_module(mod)
    return mod


def world_vertices(obj, positions: np.ndarray) -> np.ndarray:
    m = np.array(obj.matrix_world, dtype=np.float64)
    return positions.astype(np.float64) @ m[:3, :3].T + m[:3, 3]


def disc_photo(w: int = 160, h: int = 90):
    """A photo-like frame (linear RGB) and its depth: a far wall sloping away up the frame and a near disc
    (a depth edge all round it)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([0.3 + 0.3 * np.sin(x / 11.0), 0.3 + 0.2 * np.cos(y / 7.0), 0.2 + 0.5 * (x + y) / (w + h)], -1)
    disc = (x - 0.375 * w) ** 2 + (y - 0.5 * h) ** 2 < (0.245 * h) ** 2
    rgb[disc] = (0.8, 0.5, 0.2)
    depth = np.where(disc, 2.5, 6.0 + 2.0 * y / h).astype(np.float32)
    return rgb, depth
