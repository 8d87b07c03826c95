"""The render engines and Cycles devices of the running Blender.

EEVEE's identifier changed twice (`BLENDER_EEVEE` up to 4.1, `BLENDER_EEVEE_NEXT` in 4.2-4.5,
`BLENDER_EEVEE` again from 5.0), so engine names are resolved against what this Blender offers.
Cycles' device lives in the user's preferences, which a `--factory-startup` worker never loads: the
UI reads the choice (`from_preferences`) and passes it on; the worker applies it (`use_device`).
"""
from __future__ import annotations

import bpy

from dreamrooms.errors import DreamroomsError
from dreamrooms.room_options import BACKENDS, DEVICES

# Names a user may type (CLI `--engine`) -> identifiers to try, in order.
ALIASES = {
    "EEVEE": ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT"),
    "BLENDER_EEVEE": ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT"),
    "BLENDER_EEVEE_NEXT": ("BLENDER_EEVEE_NEXT", "BLENDER_EEVEE"),
    "WORKBENCH": ("BLENDER_WORKBENCH",),
}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def engines() -> list[tuple[str, str]]:
    """(identifier, label) of every engine this Blender renders with: its built-in ones (the RNA enum
    lists EEVEE under this version's identifier; Workbench is always built in) and every registered
    Python engine (Cycles, third-party)."""
    items = [(e.identifier, e.name) for e in bpy.types.RenderSettings.bl_rna.properties["engine"].enum_items]
    items.append(("BLENDER_WORKBENCH", "Workbench"))
    for cls in _subclasses(bpy.types.RenderEngine):
        idname = cls.__dict__.get("bl_idname")
        if idname and getattr(cls, "is_registered", False):
            items.append((idname, getattr(cls, "bl_label", idname)))
    seen: dict[str, str] = {}
    for ident, label in items:
        seen.setdefault(ident, label)
    return list(seen.items())


def resolve(name: str) -> str:
    """This Blender's identifier for an engine name (EEVEE under either identifier, WORKBENCH, CYCLES, ...)."""
    have = [i for i, _ in engines()]
    key = name.strip().upper()
    for candidate in ALIASES.get(key, (key,)):
        if candidate in have:
            return candidate
    raise DreamroomsError(f"render engine {name!r} is not in Blender {bpy.app.version_string}; "
                          f"choose one of {', '.join(have)} (EEVEE and WORKBENCH are accepted too)")


def is_eevee(engine: str) -> bool:
    return engine in ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT")


def _cycles_prefs(context=None):
    addon = (context or bpy.context).preferences.addons.get("cycles")
    return addon.preferences if addon else None


def from_preferences(scene, context=None) -> tuple[str, str | None]:
    """The device the user chose for this scene: ('gpu', backend) when the scene renders on GPU
    compute and the preferences name a backend, else ('cpu', None)."""
    prefs = _cycles_prefs(context)
    backend = getattr(prefs, "compute_device_type", "NONE") if prefs else "NONE"
    if scene.cycles.device == "GPU" and backend not in ("", "NONE"):
        return "gpu", backend
    return "cpu", None


def describe(scene) -> str:
    """What Cycles renders `scene` on as things are set, e.g. 'GPU (CUDA: NVIDIA H200)' or 'CPU'."""
    prefs = _cycles_prefs()
    kind = getattr(prefs, "compute_device_type", "NONE") if prefs else "NONE"
    if scene.cycles.device == "GPU" and kind not in ("", "NONE"):
        prefs.get_devices_for_type(kind)
        used = [d.name for d in prefs.devices if d.use and d.type == kind]
        if used:
            return f"GPU ({kind}: {', '.join(used)})"
    return "CPU"


def use_device(scene, device: str | None = "auto", backend: str | None = None) -> str:
    """Point Cycles at `device` ('auto': a GPU when one exists, else the CPU; 'gpu': a GPU or an
    error; 'cpu'), with `backend` or the first of BACKENDS that has a device; enables that backend's
    devices.  None keeps what the file and preferences say (a render farm's setup, say).  Returns
    what renders, e.g. 'GPU (OPTIX: NVIDIA H200)' or 'CPU'."""
    if device is None:
        return describe(scene)
    if device not in DEVICES:
        raise DreamroomsError(f"--device {device!r}: choose one of {', '.join(DEVICES)}")
    scene.cycles.device = "CPU"
    if device == "cpu":
        return "CPU"
    prefs = _cycles_prefs()
    tried = [backend] if backend else list(BACKENDS)
    if prefs is not None:
        for kind in tried:
            try:
                prefs.compute_device_type = kind
            except TypeError:  # backend not built into this Blender
                continue
            prefs.get_devices_for_type(kind)
            gpus = [d for d in prefs.devices if d.type == kind]
            if gpus:
                for d in prefs.devices:
                    d.use = d.type == kind
                scene.cycles.device = "GPU"
                return f"GPU ({kind}: {', '.join(d.name for d in gpus)})"
        prefs.compute_device_type = "NONE"
    if device == "gpu":
        raise DreamroomsError(f"--device gpu: Cycles finds no GPU here (tried {', '.join(tried)}); "
                              "use --device cpu or auto, or check the GPU driver")
    return "CPU"
