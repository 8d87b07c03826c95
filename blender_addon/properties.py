"""Scene settings behind the panel (Scene.dreamrooms)."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from . import paths

LAYOUT_ITEMS = (("plane", "Depth plane", "The frame unprojected through the camera: a 3D photo"),
                ("room", "Room", "Back, left, right walls, floor and ceiling, each a displaced plane"),
                ("corridor", "Corridor", "Rooms side by side for a camera that walks past them"))
MOVE_ITEMS = tuple((m, m.replace("_", " ").title(), f"{m.replace('_', ' ')} camera move") for m in
                   ("static", "dolly_in", "dolly_out", "truck", "pan", "orbit", "crane", "walk_past", "handheld"))
EASE_ITEMS = (("linear", "Linear", ""), ("ease_in", "Ease in", ""), ("ease_out", "Ease out", ""),
              ("ease_in_out", "Ease in/out", ""))


def _get_shot(self) -> str:
    return paths.get_shot(self.id_data)


def _set_shot(self, value: str) -> None:
    paths.set_shot(self.id_data, value)


class DreamroomsSettings(bpy.types.PropertyGroup):
    # stored once, in scene["dreamrooms_shot"], relative to the .blend (see paths.py)
    shot_path: StringProperty(name="Shot", subtype="DIR_PATH", description="Shot folder (with shot.json)",
                              get=_get_shot, set=_set_shot)
    # walk
    walk_model: StringProperty(name="Generator", default="cppn-walk", description="Generator model name or .onnx path")
    walk_frames: IntProperty(name="Frames", default=48, min=1)
    walk_fps: FloatProperty(name="FPS", default=24.0, min=1.0)
    walk_seeds: StringProperty(name="Seeds", default="3,17,42", description="Comma-separated keyframe seeds")
    walk_size: StringProperty(name="Size", default="512x512", description="WxH")
    # depth
    depth_model: StringProperty(name="Depth model", default="tinydepth", description="Depth model name or .onnx path")
    depth_stabilize: EnumProperty(name="Stabilise", items=(("keyframe", "Keyframe", "Anchor scale/shift on keyframes"), ("ema", "EMA", "Exponential moving average"), ("off", "Off", "")), default="keyframe")
    # build
    layout: EnumProperty(name="Layout", items=LAYOUT_ITEMS, default="plane")
    grid: IntProperty(name="Grid", default=256, min=0, max=4096, description="Vertices along the long side (0: one per pixel)")
    depth_scale: FloatProperty(name="Depth scale", default=1.0, min=0.001)
    near: FloatProperty(name="Near", default=0.0, min=0.0, description="Clamp depth below (0: off)")
    far: FloatProperty(name="Far", default=0.0, min=0.0, description="Clamp depth above (0: off)")
    edge_cut: FloatProperty(name="Edge cut", default=0.0, min=0.0, description="Delete triangles whose depth ratio exceeds this (e.g. 1.2; 0: off)")
    fill_behind: BoolProperty(name="Fill behind edges", default=False)
    animate: BoolProperty(name="Follow frames", default=True, description="Geometry follows the depth sequence (geometry nodes)")
    room_width: FloatProperty(name="Room width", default=4.0, min=0.1)
    room_length: FloatProperty(name="Room length", default=5.0, min=0.1)
    strength: FloatProperty(name="Relief", default=0.1, min=0.0, description="Wall relief in metres per unit of depth")
    rooms: IntProperty(name="Rooms", default=3, min=1, max=64)
    room_gap: FloatProperty(name="Gap", default=0.5, min=0.0)
    room_offset: IntProperty(name="Room offset", default=8, description="Frames between rooms")
    wall_offset: IntProperty(name="Wall offset", default=0, description="Frames between walls")
    # camera
    move: EnumProperty(name="Move", items=MOVE_ITEMS, default="dolly_in")
    intensity: FloatProperty(name="Intensity", default=1.0)
    duration: IntProperty(name="Duration", default=0, min=0, description="Frames the move takes (0: the whole shot)")
    easing: EnumProperty(name="Easing", items=EASE_ITEMS, default="ease_in_out")
    shake: FloatProperty(name="Shake", default=0.0, min=0.0)
    seed: IntProperty(name="Seed", default=0)
    focus: BoolProperty(name="Focus on subject", default=True)
    focus_u: FloatProperty(name="Focus U", default=0.5, min=0.0, max=1.0)
    focus_v: FloatProperty(name="Focus V", default=0.5, min=0.0, max=1.0)
    fstop: FloatProperty(name="F-stop", default=2.8, min=0.1)
    # render
    samples: IntProperty(name="Samples", default=32, min=1)
    cryptomatte: BoolProperty(name="Cryptomatte", default=False)
    # the last job's outcome (running jobs live in job_ui, never in the file)
    job_message: StringProperty(default="", options={"SKIP_SAVE"})


def register() -> None:
    bpy.utils.register_class(DreamroomsSettings)
    bpy.types.Scene.dreamrooms = PointerProperty(type=DreamroomsSettings)


def unregister() -> None:
    del bpy.types.Scene.dreamrooms
    bpy.utils.unregister_class(DreamroomsSettings)
