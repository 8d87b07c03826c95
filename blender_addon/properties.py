"""Scene settings behind the panel (Scene.dreamrooms)."""
from __future__ import annotations

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from dreamrooms.camera.moves import EASINGS, REGISTRY as MOVES
from dreamrooms.room import LAYOUTS

# enums come from the core's registries (the CLI lists the same names)
LAYOUT_ITEMS = tuple((name, label, desc.capitalize()) for name, (label, desc) in LAYOUTS.items())
MOVE_ITEMS = tuple((m.name, m.label, m.description.capitalize()) for m in MOVES.values())
EASE_ITEMS = tuple((e, e.replace("_", " ").capitalize(), "") for e in EASINGS)
ENGINE_ITEMS = (("CYCLES", "Cycles", ""), ("BLENDER_EEVEE_NEXT", "EEVEE", ""), ("BLENDER_WORKBENCH", "Workbench", ""))


class DreamroomsSettings(bpy.types.PropertyGroup):
    shot_path: StringProperty(name="Shot", subtype="DIR_PATH", description="Shot folder (with shot.json)")
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
    engine: EnumProperty(name="Engine", items=ENGINE_ITEMS, default="CYCLES")
    samples: IntProperty(name="Samples", default=32, min=1)
    cryptomatte: BoolProperty(name="Cryptomatte", default=False)
    # job state (shown in the panel and status bar)
    job_running: BoolProperty(default=False, options={"SKIP_SAVE"})
    job_progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR", options={"SKIP_SAVE"})
    job_message: StringProperty(default="", options={"SKIP_SAVE"})


def register() -> None:
    bpy.utils.register_class(DreamroomsSettings)
    bpy.types.Scene.dreamrooms = PointerProperty(type=DreamroomsSettings)


def unregister() -> None:
    del bpy.types.Scene.dreamrooms
    bpy.utils.unregister_class(DreamroomsSettings)
