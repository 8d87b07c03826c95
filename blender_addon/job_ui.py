"""Jobs in Blender's UI: the run and cancel operators, the registry of running jobs, and the
lifecycle that keeps a worker from outliving what started it.

Jobs are keyed by the scene's `session_uid` (unique for the whole session, so another file's
"Scene" never takes over an entry); opening or creating a file (load_pre), disabling the add-on and
Blender cancelling the operator (`cancel()`) all kill the worker; the temp .blend a render worker
opens is deleted when its job ends.  Esc cancels only while the pointer is over the dreamrooms
sidebar, where the progress bar and the Cancel button are, so an Esc meant to stop playback or a
tool elsewhere passes through.  Nothing job-related is stored in the scene but the last message.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import bpy
from bpy.app.handlers import persistent

from . import job_kinds, job_worker, jobs, preferences

_active: dict[int, jobs.Job] = {}


def running(scene) -> jobs.Job | None:
    """The job running for `scene`, if any."""
    return _active.get(scene.session_uid)


def track(scene, job: jobs.Job) -> None:
    """Hold `job` as the one running for `scene`: the panel shows it, Cancel and Esc stop it, loading a file or
    disabling the add-on kills it (the run operator calls this; so can a script that starts its own worker)."""
    _active[scene.session_uid] = job


def held() -> list[jobs.Job]:
    """Every job held now, for any scene."""
    return list(_active.values())


def untrack(scene_uid: int, job: jobs.Job) -> None:
    """Forget `job` if it is still the one held for the scene `scene_uid`."""
    if _active.get(scene_uid) is job:
        del _active[scene_uid]


def release(job: jobs.Job) -> None:
    """Kill the worker if it still runs, remove partial frames' temp files and the job's temp folders."""
    if job.proc.poll() is None:
        job.cancel()
    job.cleanup()
    for folder in getattr(job, "temp_dirs", ()):
        shutil.rmtree(folder, ignore_errors=True)


def stop_all() -> int:
    """Stop every job (file load, add-on disabled); returns how many were running."""
    n = 0
    for uid in list(_active):
        job = _active.pop(uid)
        n += job.proc.poll() is None
        release(job)
    return n


@persistent
def _on_load_pre(*_args) -> None:
    # the file whose scene started these jobs is going away; whole frames written so far stay
    stop_all()


def over_sidebar(screen, x: int, y: int) -> bool:
    """Whether window point (x, y) lies in a 3D viewport's sidebar, where the progress is drawn."""
    for area in getattr(screen, "areas", ()):
        if area.type != "VIEW_3D":
            continue
        for region in area.regions:
            if region.type == "UI" and region.width > 1 and \
                    region.x <= x < region.x + region.width and region.y <= y < region.y + region.height:
                return True
    return False


class DREAMROOMS_OT_run_job(bpy.types.Operator):
    """Run a dreamrooms job (walk, depth, render, focus, export, model fetch: job_kinds.KINDS) in a worker process with progress (Esc over the sidebar cancels)"""
    bl_idname = "dreamrooms.run_job"
    bl_label = "Run dreamrooms job"
    bl_options = {"REGISTER"}

    kind: bpy.props.EnumProperty(items=job_kinds.enum_items(), name="Job")
    model: bpy.props.StringProperty(name="Model", description="The model a Fetch job downloads")

    _timer = None
    _job: jobs.Job | None = None

    @classmethod
    def poll(cls, context):
        if running(context.scene) is not None:
            cls.poll_message_set("a dreamrooms job is already running (Cancel in the dreamrooms panel)")
            return False
        return True

    def execute(self, context):
        return self.invoke(context, None)

    def invoke(self, context, event):
        s = context.scene.dreamrooms
        temp: list[Path] = []
        try:
            launch = job_kinds.launch(self.kind, context, self.model)
            temp = launch.temp
            job = jobs.Job(launch.cmd, env=preferences.worker_env(context), cleanup_dirs=launch.outputs,
                           label=self.kind)
        except (RuntimeError, OSError) as exc:
            for folder in temp:
                shutil.rmtree(folder, ignore_errors=True)
            self.report({"ERROR"}, f"dreamrooms {self.kind}: {exc}")
            return {"CANCELLED"}
        job.temp_dirs = temp
        self._job = job
        self._uid = context.scene.session_uid
        track(context.scene, job)
        s.job_message = f"{self.kind} started"
        if bpy.app.background or context.window is None:  # no event loop: run to completion
            job.wait()
            return self._finish(context)
        wm = context.window_manager
        self._timer = wm.event_timer_add(0.2, window=context.window)
        wm.progress_begin(0, 1000)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = self._job
        if event.type == "ESC" and event.value == "PRESS":
            if not over_sidebar(context.window.screen, event.mouse_x, event.mouse_y):
                return {"PASS_THROUGH"}
            job.cancel()
        elif event.type != "TIMER":
            return {"PASS_THROUGH"}
        rc = job.poll()
        if rc is None and not job.cancelled:
            context.window_manager.progress_update(int(job.fraction * 1000))
            context.workspace.status_text_set(job.status())
            for area in context.screen.areas if context.screen else ():
                if area.type == "VIEW_3D":
                    area.tag_redraw()
            return {"PASS_THROUGH"}
        self._end(context)
        return self._finish(context)

    def cancel(self, context):
        """Blender cancels the operator (window closed, file loaded): the worker goes with it."""
        if self._job is not None:
            self._job.cancel()
        self._end(context)
        if self._job is not None:
            untrack(self._uid, self._job)
            release(self._job)

    def _end(self, context):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
            wm.progress_end()
        if context.workspace:
            context.workspace.status_text_set(None)

    def _finish(self, context):
        job = self._job
        untrack(self._uid, job)
        release(job)
        s = context.scene.dreamrooms
        if job.cancelled:
            s.job_message = f"{self.kind} cancelled: whole frames kept"
            self.report({"WARNING"}, f"dreamrooms {self.kind} cancelled; whole frames written so far are kept, rerun to resume")
            return {"CANCELLED"}
        if job.proc.returncode == 0:
            done = job_kinds.finish(self.kind, job, context)
            s.job_message = done or (f"{self.kind} done" + (f" on {job.device}" if job.device else ""))
            self.report({"INFO"}, f"dreamrooms {s.job_message}" + (f" ({job.done} frame(s))" if job.done else ""))
            return {"FINISHED"}
        s.job_message = job.error_message()
        self.report({"ERROR"}, f"dreamrooms {self.kind}: {job.error_message()}")
        return {"CANCELLED"}


class DREAMROOMS_OT_cancel_job(bpy.types.Operator):
    """Cancel the running dreamrooms job (kills the worker; whole frames are kept)"""
    bl_idname = "dreamrooms.cancel_job"
    bl_label = "Cancel job"

    @classmethod
    def poll(cls, context):
        if running(context.scene) is None:
            cls.poll_message_set("no dreamrooms job is running")
            return False
        return True

    def execute(self, context):
        running(context.scene).cancel()  # the operator's next tick reports and cleans up
        self.report({"WARNING"}, "dreamrooms job cancelled; whole frames kept")
        return {"FINISHED"}


classes = (DREAMROOMS_OT_run_job, DREAMROOMS_OT_cancel_job)
_register_classes, _unregister_classes = bpy.utils.register_classes_factory(classes)


def register() -> None:
    _register_classes()
    bpy.app.handlers.load_pre.append(_on_load_pre)


def unregister() -> None:
    if _on_load_pre in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_on_load_pre)
    stop_all()  # no worker outlives the add-on
    job_worker.shutdown()
    _unregister_classes()
