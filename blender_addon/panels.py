"""View3D > Sidebar (N) > dreamrooms: Shot, Walk, Depth, Build, Camera, Render, Export."""
from __future__ import annotations

import bpy

from dreamrooms.room_options import OPTIONS

from . import job_ui, models_ui
from .scene import engine


class _Panel:
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "dreamrooms"


class DREAMROOMS_PT_main(_Panel, bpy.types.Panel):
    bl_idname = "DREAMROOMS_PT_main"
    bl_label = "dreamrooms"

    def draw(self, context):
        s = context.scene.dreamrooms
        col = self.layout.column()
        job = job_ui.running(context.scene)
        if job is not None:
            col.progress(factor=job.fraction, text=job.status())
            col.operator("dreamrooms.cancel_job", icon="CANCEL")
        elif s.job_message:
            col.label(text=s.job_message)


class _Sub(_Panel):
    bl_parent_id = "DREAMROOMS_PT_main"


class DREAMROOMS_PT_shot(_Sub, bpy.types.Panel):
    bl_label = "Shot"

    def draw(self, context):
        s = context.scene.dreamrooms
        col = self.layout.column()
        col.prop(s, "shot_path")
        col.operator("dreamrooms.load_shot", icon="FILE_FOLDER")


class DREAMROOMS_PT_walk(_Sub, bpy.types.Panel):
    bl_label = "Walk"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        s = context.scene.dreamrooms
        col = self.layout.column()
        models_ui.draw(col, context, "walk_model")
        for p in ("walk_frames", "walk_fps", "walk_seeds", "walk_size"):
            col.prop(s, p)
        col.operator("dreamrooms.run_job", text="Generate walk", icon="PLAY").kind = "walk"


class DREAMROOMS_PT_depth(_Sub, bpy.types.Panel):
    bl_label = "Depth"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        s = context.scene.dreamrooms
        col = self.layout.column()
        models_ui.draw(col, context, "depth_model")
        col.prop(s, "depth_stabilize")
        col.operator("dreamrooms.run_job", text="Estimate depth", icon="PLAY").kind = "depth"


class DREAMROOMS_PT_build(_Sub, bpy.types.Panel):
    bl_label = "Build"

    def draw(self, context):
        s = context.scene.dreamrooms
        col = self.layout.column()
        for name in build_options(s.layout):
            col.prop(s, name)
        col.operator("dreamrooms.build", icon="MESH_GRID")


def build_options(layout: str) -> list[str]:
    """The build options the panel shows for `layout`: the layout first, the lens last, between them those that
    room_options.OPTIONS says this layout uses (a new layout or option needs no change here)."""
    shown = [o.name for o in OPTIONS if o.group == "build" and o.panel and (not o.layouts or layout in o.layouts)]
    middle = [n for n in shown if n not in ("layout", "lens")]
    return ["layout", *middle, "lens"]


class DREAMROOMS_PT_camera(_Sub, bpy.types.Panel):
    bl_label = "Camera"

    def draw(self, context):
        s = context.scene.dreamrooms
        col = self.layout.column()
        col.prop(s, "frames")
        col.prop(s, "move")
        col.prop(s, "intensity")
        row = col.row(align=True)
        row.prop(s, "duration")
        row.prop(s, "easing", text="")
        row = col.row(align=True)
        row.prop(s, "shake")
        row.prop(s, "seed")
        if s.layout in ("plane", "layered"):
            col.prop(s, "reveal_budget")
        col.prop(s, "no_focus")
        if not s.no_focus:
            col.prop(s, "focus_point")
            col.prop(s, "fstop")
            col.prop(s, "dof")
        col.operator("dreamrooms.camera_move", icon="CAMERA_DATA")
        col.operator("dreamrooms.run_job", text="Focus on subject", icon="CON_CAMERASOLVER").kind = "focus"


class DREAMROOMS_PT_render(_Sub, bpy.types.Panel):
    bl_label = "Render"

    def draw(self, context):
        s = context.scene.dreamrooms
        col = self.layout.column()
        col.prop(context.scene.render, "engine")  # the engines this Blender has
        if context.scene.render.engine == "CYCLES":
            device, backend = engine.from_preferences(context.scene, context)
            col.label(text=f"Device: {device.upper()}" + (f" ({backend})" if backend else "")
                      + " (Render Properties and Preferences › System)", icon="PREFERENCES")
        col.prop(s, "samples")
        col.prop(s, "passes")
        col.prop(s, "denoise")
        col.prop(s, "cryptomatte")
        col.operator("dreamrooms.render_setup", icon="RENDER_STILL")
        col.operator("dreamrooms.run_job", text="Render to shot", icon="RENDER_ANIMATION").kind = "render"


class DREAMROOMS_PT_export(_Sub, bpy.types.Panel):
    bl_label = "Export"

    def draw(self, context):
        col = self.layout.column()
        col.operator("dreamrooms.record_camera", icon="EXPORT")
        col.operator("dreamrooms.run_job", text="After Effects export", icon="EXPORT").kind = "export"


class DREAMROOMS_PT_film(_Sub, bpy.types.Panel):
    bl_label = "Film"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        s = context.scene.dreamrooms
        col = self.layout.column()
        for p in ("film_script", "film_folder", "film_size", "film_fps", "film_render"):
            col.prop(s, p)
        col.operator("dreamrooms.run_job", text="Make film", icon="SEQUENCE").kind = "film"


classes = (DREAMROOMS_PT_main, DREAMROOMS_PT_shot, DREAMROOMS_PT_walk, DREAMROOMS_PT_depth, DREAMROOMS_PT_build,
           DREAMROOMS_PT_camera, DREAMROOMS_PT_render, DREAMROOMS_PT_export, DREAMROOMS_PT_film)


register, unregister = bpy.utils.register_classes_factory(classes)
