"""Models inside Blender: a picker listing the registry's models (installed or fetchable), their
status in the panel, and where fetched models go.

Fetched models live in the extension's user folder (`bpy.utils.extension_path_user`, kept across
updates of the extension) unless the Model folder preference names another.  Fetching is a job
(`dreamrooms.run_job` kind "fetch", progress and cancel like the others) and is offered only while
Blender allows online access (Preferences › System › Network).  The registry is read again only when
the user manifest changes (its mtime), not on every redraw.
"""
from __future__ import annotations

from pathlib import Path

import bpy

_cache: dict = {"key": None, "entries": {}}
_items: dict[str, list] = {}  # Blender needs the dynamic enum's items kept alive


def models_dir(context=None) -> str:
    """The folder fetched models and the user's models.toml live in ('' when no extension folder exists)."""
    from . import preferences
    prefs = preferences.get(context)
    if prefs.model_folder:
        return bpy.path.abspath(prefs.model_folder)
    try:
        return bpy.utils.extension_path_user(__package__, path="models")  # a fetch creates it
    except ValueError:  # not installed as an extension (the source tree in tests): the core's default
        return ""


def entries(context=None) -> dict:
    """name -> ModelEntry, cached until the models folder or its manifest changes."""
    from dreamrooms.models.registry import MANIFEST_NAME, registry
    mdir = models_dir(context)
    manifest = Path(mdir) / MANIFEST_NAME if mdir else None
    key = (mdir, manifest.stat().st_mtime_ns if manifest and manifest.is_file() else 0)
    if _cache["key"] != key:
        _cache["entries"], _cache["key"] = registry(mdir or None), key
    return _cache["entries"]


def forget() -> None:
    """Read the registry again on the next draw (a fetch finished)."""
    _cache["key"] = None


def status(entry) -> str:
    if entry.installed:
        return "built-in" if entry.builtin else "installed"
    size = f", {entry.size / 1e6:.0f} MB" if entry.size else ""
    return f"not installed{size}" + (", fetchable" if entry.url else "")


def _items_for(kind: str):
    def items(self, context):
        out = [(e.name, e.name, f"{status(e)} · {e.license or 'licence unknown'}"
                + (" · non-commercial" if e.noncommercial else ""),
                "CHECKMARK" if e.installed else "IMPORT", i)
               for i, e in enumerate(sorted((e for e in entries(context).values() if e.kind == kind),
                                            key=lambda e: (not e.installed, e.name)))]
        _items[kind] = out or [("", "no models", "", "ERROR", 0)]
        return _items[kind]
    return items


class _Pick:
    bl_options = {"REGISTER", "UNDO"}
    bl_property = "model"
    target = ""

    def execute(self, context):
        setattr(context.scene.dreamrooms, self.target, self.model)
        return {"FINISHED"}


def _picker(kind: str, target: str, label: str):
    """An operator whose enum lists the registry's `kind` models and sets Scene.dreamrooms.`target`."""
    name = f"DREAMROOMS_OT_pick_{target}"
    return type(name, (_Pick, bpy.types.Operator), {
        "__doc__": f"Pick a {label.lower()} from the registry (built-in, fetched or your own)",
        "bl_idname": f"dreamrooms.pick_{target}", "bl_label": label, "target": target,
        "__annotations__": {"model": bpy.props.EnumProperty(name="Model", items=_items_for(kind))}})


def draw(layout, context, prop: str) -> None:
    """The model field with its picker, its status, and Fetch when it can be fetched."""
    s = context.scene.dreamrooms
    row = layout.row(align=True)
    row.prop(s, prop)
    row.operator_menu_enum(f"dreamrooms.pick_{prop}", "model", text="", icon="DOWNARROW_HLT")
    entry = entries(context).get(getattr(s, prop))
    if entry is None:
        return
    row = layout.row()
    row.label(text=status(entry), icon="CHECKMARK" if entry.installed else "INFO")
    if not entry.installed and entry.url:
        op = row.operator("dreamrooms.run_job", text="Fetch", icon="IMPORT")
        op.kind, op.model = "fetch", entry.name


def require_installed(context, name: str, section: str) -> None:
    """Raise (RuntimeError, shown by the job operator) when a registered model's file is missing,
    naming what to do inside Blender; names not in the registry are paths the worker checks."""
    entry = entries(context).get(name)
    if entry is None or entry.installed:
        return
    how = (f"press Fetch under the model in the {section} section" if entry.url
           else f"put the file at {entry.path}")
    raise RuntimeError(f"model {name!r} is not installed: {how}")


def fetch_blocked(context) -> str:
    """Why a fetch may not start now ('' when it may)."""
    if not bpy.app.online_access:
        return "online access is off: allow it in Preferences › System › Network, or put the model file in place"
    return ""


def fetch_command(name: str, context) -> list[str]:
    from .jobs import core_command
    mdir = models_dir(context)
    return core_command("models", *(["--models-dir", mdir] if mdir else []), "fetch", name)


classes = (_picker("depth", "depth_model", "Depth model"), _picker("generator", "walk_model", "Generator"))
register, unregister = bpy.utils.register_classes_factory(classes)
