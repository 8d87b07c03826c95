"""Operators (dreamrooms.*): thin wrappers over the scene builders; every failure is reported."""
from __future__ import annotations

import time
import traceback
from pathlib import Path

import bpy

from dreamrooms.errors import DreamroomsError
from dreamrooms.room_options import LAYOUTS, validate
from dreamrooms.shot import MANIFEST

from . import job_ui, paths
from .properties import room_values
# the scene builders (EXR and shot I/O) are imported in the operators that use them: the add-on registers light


def _shot_folder(context) -> Path | None:
    return paths.shot_folder(context.scene)


_has_manifest: dict[Path, tuple[float, bool]] = {}
POLL_RECHECK_S = 1.0  # poll() runs on every redraw: look at the disk at most once a second per folder


def _manifest_exists(folder: Path) -> bool:
    now = time.monotonic()
    seen = _has_manifest.get(folder)
    if seen is None or now - seen[0] > POLL_RECHECK_S:
        seen = _has_manifest[folder] = (now, (folder / MANIFEST).is_file())
    return seen[1]


def _poll_shot(cls, context) -> bool:
    folder = _shot_folder(context)
    if folder is None:
        cls.poll_message_set("set the shot folder first (Shot section)")
        return False
    if not _manifest_exists(folder):
        cls.poll_message_set(f"{folder} has no shot.json; pick a shot folder or run Walk first")
        return False
    return True


def _poll_camera(cls, context) -> bool:
    if not _poll_shot(cls, context):
        return False
    if context.scene.camera is None:
        cls.poll_message_set("the scene has no camera; build a plane, room or corridor first")
        return False
    return True


class _Base:
    def run(self, context):  # pragma: no cover - overridden
        raise NotImplementedError

    def execute(self, context):
        try:
            msg = self.run(context)
        except DreamroomsError as exc:
            self.report({"ERROR"}, f"dreamrooms: {exc}")
            return {"CANCELLED"}
        except Exception as exc:  # a report, never a raw traceback in the artist's face
            traceback.print_exc()
            self.report({"ERROR"}, f"dreamrooms: {type(exc).__name__}: {exc} (details in the system console)")
            return {"CANCELLED"}
        self.report({"INFO"}, msg)
        return {"FINISHED"}


class DREAMROOMS_OT_load_shot(_Base, bpy.types.Operator):
    """Read the shot: resolution, frame range and fps into the scene"""
    bl_idname = "dreamrooms.load_shot"
    bl_label = "Load shot"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _poll_shot(cls, context)

    def run(self, context):
        from .scene import build as B, shotio

        shot = shotio.load_shot(_shot_folder(context))
        B.apply_shot_settings(context.scene, shot)
        return (f"shot {shot.name}: {shot.width}x{shot.height}, frames {shot.frame_start}-{shot.frame_end}, "
                f"{shot.fps:g} fps, sequences {', '.join(shot.sequences)}")


class DREAMROOMS_OT_build(_Base, bpy.types.Operator):
    """Build the depth plane, room or corridor from the shot's colour and depth sequences"""
    bl_idname = "dreamrooms.build"
    bl_label = "Build"
    bl_options = {"REGISTER", "UNDO"}

    layout: bpy.props.EnumProperty(items=(("SETTINGS", "From settings", ""),
                                          *((name, label, desc) for name, (label, desc) in LAYOUTS.items())),
                                   default="SETTINGS")

    @classmethod
    def poll(cls, context):
        if context.mode != "OBJECT":
            cls.poll_message_set("switch to Object Mode to build")
            return False
        return _poll_shot(cls, context)

    def run(self, context):
        from dreamrooms.shot.hold import hold_still, move_frames

        from .scene import build as B, shotio

        s = context.scene.dreamrooms
        shot = shotio.load_shot(_shot_folder(context))
        values = validate(room_values(s))
        if self.layout != "SETTINGS":
            values["layout"] = self.layout
        if hold_still(shot, move_frames(shot, values["frames"])):   # a photo held over the Frames range
            from dreamrooms.shot import update_shot

            def merge(current):   # shot.json as it is now, held over the same range (under the manifest lock)
                if current is None:
                    return shot
                hold_still(current, move_frames(current, values["frames"]))
                return current

            update_shot(shot.folder, merge)
        settings = B.settings_from(values)
        built = B.build(context.scene, shot, settings)
        context.scene["dreamrooms_start"] = [list(r) for r in built["start"]]
        return f"built {settings.layout}: {len(built['objects'])} object(s) from {shot.folder}"


class DREAMROOMS_OT_camera_move(_Base, bpy.types.Operator):
    """Key a camera move preset over the shot's frames on few Bezier keys (then focus on the subject, as a job)"""
    bl_idname = "dreamrooms.camera_move"
    bl_label = "Camera move"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _poll_camera(cls, context)

    def run(self, context):
        from dreamrooms import reveal as RV
        from dreamrooms.shot.hold import move_frames

        from .scene import build as B, shotio

        s = context.scene.dreamrooms
        shot = shotio.load_shot(_shot_folder(context), check_files=False)
        values = validate(room_values(s))
        frames = move_frames(shot, values["frames"])
        if frames.start < shot.frame_start or frames.stop - 1 > shot.frame_end:
            raise DreamroomsError(f"frames {frames.start}-{frames.stop - 1}: press Build first (it holds the still "
                                  f"over them)")
        start = context.scene.get("dreamrooms_start")
        reveal = values["layout"] in RV.LAYOUTS
        factor = RV.plan(shot, values, frames).factor if reveal and values["reveal_budget"] else 1.0
        move, mats = B.move_from(context.scene, shot, values, start=[list(r) for r in start] if start else None,
                                 focus=False, frames=frames, scale=factor)
        msg = f"camera: {move} over {len(mats)} frame(s)" + (f", scaled by {factor:.3f} (reveal budget)"
                                                              if factor < 1 else "")
        if reveal:   # the matte for every shot frame: the move, held before and after it
            poses = {f: mats[min(max(f - frames.start, 0), len(mats) - 1)] for f in shot.frames}
            worst = max(RV.write_matte(shot, values, poses, move))
            from dreamrooms.shot import update_shot

            def merge(current):   # shot.json as it is now plus the matte (re-read under the manifest lock)
                current = current or shot
                current.sequences[RV.MATTE] = shot.sequences[RV.MATTE]
                return current

            update_shot(shot.folder, merge)
            msg += f"; reveal matte written (worst frame {worst:.1f} %)"
        if not s.no_focus:  # every frame must be evaluated for focus: a worker does it, the UI stays live
            if job_ui.running(context.scene) is not None:   # the move is keyed; focus waits for the other job
                msg += "; focus not keyed: another dreamrooms job is running (press Focus when it is done)"
            else:
                bpy.ops.dreamrooms.run_job("INVOKE_DEFAULT", kind="focus")
                msg += "; focus runs as a job"
        return msg


class DREAMROOMS_OT_render_setup(_Base, bpy.types.Operator):
    """Set up the multilayer EXR render (passes, half float, ZIP) into the shot's render folder"""
    bl_idname = "dreamrooms.render_setup"
    bl_label = "Render setup"
    bl_options = {"REGISTER", "UNDO"}

    @classmethod
    def poll(cls, context):
        return _poll_shot(cls, context)

    def run(self, context):
        from .scene import render as R, shotio

        s = context.scene.dreamrooms
        shot = shotio.load_shot(_shot_folder(context), check_files=False)
        R.setup_render(context.scene, shot, engine=context.scene.render.engine, samples=s.samples,
                       cryptomatte=s.cryptomatte, passes=s.passes, denoise=s.denoise)
        return f"render: multilayer EXR to {context.scene.render.filepath}.exr, frames {shot.frame_start}-{shot.frame_end}"


class DREAMROOMS_OT_record_camera(_Base, bpy.types.Operator):
    """Write the scene camera (matrices, lens, sensor, focus per frame) into shot.json"""
    bl_idname = "dreamrooms.record_camera"
    bl_label = "Record camera in shot"
    bl_options = {"REGISTER"}

    @classmethod
    def poll(cls, context):
        return _poll_camera(cls, context)

    def run(self, context):
        from .scene import build as B, camera_rig, shotio
        from dreamrooms.shot import MANIFEST, update_shot

        shot = shotio.load_shot(_shot_folder(context), check_files=False)
        track = camera_rig.camera_track(context.scene, context.scene.camera, shot.frames)
        described = B.scene_description(context.scene)

        def merge(current):   # shot.json as it is now, this camera on top (under the manifest lock)
            current = current or shot
            current.camera, current.provenance.extra["scene"] = track, described
            return current

        shot = update_shot(shot.folder, merge)
        return f"camera track of {shot.frame_count} frame(s) written to {shot.folder / MANIFEST}"


classes = (DREAMROOMS_OT_load_shot, DREAMROOMS_OT_build, DREAMROOMS_OT_camera_move, DREAMROOMS_OT_render_setup,
           DREAMROOMS_OT_record_camera)


register, unregister = bpy.utils.register_classes_factory(classes)
