"""dreamrooms for Blender: displaced rooms, parallax planes, corridors and camera moves from
latent walks and depth maps, rendered to layered EXR for After Effects.

The add-on is an extension (blender_manifest.toml); it imports its own modules relatively
(installed it is `bl_ext.<repo>.dreamrooms`) and the core as `dreamrooms` (a bundled wheel).
"""
from __future__ import annotations

_modules = ("preferences", "paths", "properties", "job_ui", "models_ui", "operators", "panels")


def _load():
    import importlib
    return [importlib.import_module(f".{name}", __package__) for name in _modules]


def register() -> None:
    for mod in _load():
        mod.register()


def unregister() -> None:
    for mod in reversed(_load()):
        try:
            mod.unregister()
        except RuntimeError:  # already unregistered (partial register)
            pass
