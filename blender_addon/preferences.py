"""Add-on preferences: model folder, threads, device."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

DEVICES = (("auto", "Auto", "GPU if onnxruntime has one, else CPU"), ("cpu", "CPU", "Always the CPU"))


class DREAMROOMS_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    model_folder: StringProperty(name="Model folder", subtype="DIR_PATH", default="",
                                 description="Where fetched ONNX models and your models.toml live (empty: the extension's own user folder)")
    threads: IntProperty(name="Threads", default=0, min=0, max=256,
                         description="Worker threads for inference and EXR writing (0: automatic)")
    device: EnumProperty(name="Device", items=DEVICES, default="auto", description="Where models run")

    def draw(self, context):
        col = self.layout.column()
        col.prop(self, "model_folder")
        row = col.row()
        row.prop(self, "threads")
        row.prop(self, "device")


class Defaults:
    model_folder = ""
    threads = 0
    device = "auto"


def get(context=None):
    """The preferences, or defaults when the add-on is registered without the add-on system (tests)."""
    context = context or bpy.context
    addon = context.preferences.addons.get(__package__)
    return addon.preferences if addon and addon.preferences else Defaults()


def worker_env(context=None) -> dict[str, str]:
    """Environment for worker processes from the preferences."""
    from . import models_ui
    prefs = get(context)
    env = {}
    mdir = models_ui.models_dir(context)  # the preference, else the extension's user folder
    if mdir:
        env["DREAMROOMS_MODELS"] = mdir
    if prefs.threads:
        env["OMP_NUM_THREADS"] = str(prefs.threads)
    return env


def register() -> None:
    bpy.utils.register_class(DREAMROOMS_AP_preferences)


def unregister() -> None:
    bpy.utils.unregister_class(DREAMROOMS_AP_preferences)
