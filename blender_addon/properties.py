"""Scene settings behind the panel (Scene.dreamrooms).

The build, camera and render settings are made from `dreamrooms.room_options.OPTIONS`, the one list the
`room` command line also comes from: the same names, defaults, ranges and help.  Enums come from the
core's registries (layouts, camera moves, easings).  The render engine is not among them: the panel
shows the scene's own engine, which lists what the running Blender has.
"""
from __future__ import annotations

import bpy
from bpy.props import (BoolProperty, EnumProperty, FloatProperty, FloatVectorProperty, IntProperty, PointerProperty,
                       StringProperty)

from dreamrooms.camera.moves import REGISTRY as MOVES
from dreamrooms.room_options import LAYOUTS, OPTIONS

from . import paths

AUTO_MOVE = "AUTO"  # the move option's "none given": walk_past for a corridor, else dolly_in
ITEMS = {
    "layout": tuple((name, label, desc.capitalize()) for name, (label, desc) in LAYOUTS.items()),
    "move": ((AUTO_MOVE, "By layout", "Walk past for a corridor, else dolly in"),)
    + tuple((m.name, m.label, m.description.capitalize()) for m in MOVES.values()),
}


def _get_shot(self) -> str:
    return paths.get_shot(self.id_data)


def _set_shot(self, value: str) -> None:
    paths.set_shot(self.id_data, value)


def _limits(o) -> dict:
    kw = {}
    if o.min is not None:
        kw["min"] = o.min
    if o.max is not None:
        kw["max"] = o.max
    return kw


def option_property(o):
    """The Blender property for one room option."""
    common = {"name": o.label, "description": o.help[:1].upper() + o.help[1:]}
    if o.type is bool:
        return BoolProperty(default=bool(o.default), **common)
    if o.type is int:
        return IntProperty(default=int(o.default), **_limits(o), **common)
    if o.type is float:
        return FloatProperty(default=float(o.default), **_limits(o), **common)
    if o.type is tuple:
        return FloatVectorProperty(size=len(o.default), default=o.default, **_limits(o), **common)
    if o.type is str and not o.choices:   # free text the option parses (e.g. frames A-B, render passes)
        return StringProperty(default=o.default or "", **common)
    items = ITEMS.get(o.name) or tuple((c, c.replace("_", " ").capitalize(), "") for c in o.choices)
    default = o.default if o.default is not None else items[0][0]
    return EnumProperty(items=items, default=default, **common)


def room_values(s) -> dict:
    """The panel's room options as the core names them (`dreamrooms.room_options.validate` checks them)."""
    values = {o.name: getattr(s, o.name) for o in OPTIONS if o.panel}
    if "focus_point" in values:
        values["focus_point"] = tuple(values["focus_point"])
    if values.get("move") == AUTO_MOVE:
        values["move"] = None
    return values


ANNOTATIONS = {
    # stored once, in scene["dreamrooms_shot"], relative to the .blend (see paths.py)
    "shot_path": StringProperty(name="Shot", subtype="DIR_PATH", description="Shot folder (with shot.json)",
                                get=_get_shot, set=_set_shot),
    # walk
    "walk_model": StringProperty(name="Generator", default="cppn-walk", description="Generator model name or .onnx path"),
    "walk_frames": IntProperty(name="Frames", default=48, min=1),
    "walk_fps": FloatProperty(name="FPS", default=24.0, min=1.0),
    "walk_seeds": StringProperty(name="Seeds", default="3,17,42", description="Comma-separated keyframe seeds"),
    "walk_size": StringProperty(name="Size", default="512x512", description="WxH"),
    # depth
    "depth_model": StringProperty(name="Depth model", default="tinydepth", description="Depth model name or .onnx path"),
    "depth_stabilize": EnumProperty(name="Stabilise", default="keyframe", items=(
        ("keyframe", "Keyframe", "Anchor scale/shift on keyframes"), ("ema", "EMA", "Exponential moving average"),
        ("off", "Off", ""))),
    **{o.name: option_property(o) for o in OPTIONS if o.panel},
    # film (`dreamrooms film`): a screenplay made into a shot per scene and cut together
    "film_script": StringProperty(name="Screenplay", subtype="FILE_PATH", description="The .fountain screenplay"),
    "film_folder": StringProperty(name="Film folder", subtype="DIR_PATH",
                                  description="Where the shot list, the shots and the cut go"),
    "film_size": StringProperty(name="Size", default="480x270", description="WxH of every shot (a quick draft: small)"),
    "film_fps": FloatProperty(name="FPS", default=24.0, min=1.0, max=99.0),
    "film_render": BoolProperty(name="Render shots", default=False,
                                description="Render every shot in Blender (else the animatic cuts the shots' frames)"),
    # the last job's outcome (running jobs live in job_ui, never in the file)
    "job_message": StringProperty(default="", options={"SKIP_SAVE"}),
}
DreamroomsSettings = type("DreamroomsSettings", (bpy.types.PropertyGroup,), {
    "__doc__": "dreamrooms panel settings", "__annotations__": ANNOTATIONS})


def register() -> None:
    bpy.utils.register_class(DreamroomsSettings)
    bpy.types.Scene.dreamrooms = PointerProperty(type=DreamroomsSettings)


def unregister() -> None:
    del bpy.types.Scene.dreamrooms
    bpy.utils.unregister_class(DreamroomsSettings)
