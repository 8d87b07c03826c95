"""Add-on preferences: model folder, threads, device."""
from __future__ import annotations

import bpy
from bpy.props import EnumProperty, IntProperty, StringProperty

DEVICES = (("auto", "Auto", "GPU if onnxruntime has one, else CPU"), ("cpu", "CPU", "Always the CPU"))


class DREAMROOMS_AP_preferences(bpy.types.AddonPreferences):
    bl_idname = __package__

    model_folder: StringProperty(name="Model folder", subtype="DIR_PATH", default="",
                                 description="Where ONNX models are cached (empty: the dreamrooms default, or $DREAMROOMS_MODELS)")
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
    prefs = get(context)
    env = {}
    if prefs.model_folder:
        env["DREAMROOMS_MODELS"] = bpy.path.abspath(prefs.model_folder)
    if prefs.threads:
        env["OMP_NUM_THREADS"] = str(prefs.threads)
    return env


def register() -> None:
    bpy.utils.register_class(DREAMROOMS_AP_preferences)


def unregister() -> None:
    bpy.utils.unregister_class(DREAMROOMS_AP_preferences)
