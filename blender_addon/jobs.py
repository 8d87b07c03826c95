"""Long work off Blender's UI thread: a worker process streams `--progress json` lines; a modal
operator polls it on a timer, drives the window-manager progress and a status line, and Esc
kills the worker.  Workers write frames atomically (temp name, then rename), so a cancelled job
leaves whole frames only; the temp file of the frame in flight is removed here.
"""
from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import bpy

from . import preferences

HEADLESS = Path(__file__).resolve().parent / "headless.py"


def worker_path() -> list[str]:
    """This process's import path for workers (so they find the bundled `dreamrooms` wheel and its
    dependencies), minus Blender's own script folders: Blender adds those itself, and in a
    plain-Python worker their `bpy` package would shadow the real `bpy` module."""
    scripts = []
    for kind in ("LOCAL", "SYSTEM", "USER"):
        try:
            root = bpy.utils.resource_path(kind)
        except Exception:
            continue
        if root:
            scripts.append(Path(root).resolve() / "scripts")
    out = []
    for p in sys.path:
        if not p:
            continue
        rp = Path(p).resolve()
        if any(rp == s or s in rp.parents for s in scripts):
            continue
        out.append(p)
    return out


class Job:
    """A worker process and its progress: `poll()` drains new lines, `cancel()` kills it."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
                 cleanup_dirs: list[Path] | None = None, label: str = "job"):
        self.cmd = [str(c) for c in cmd]
        self.label = label
        self.cleanup_dirs = [Path(d) for d in (cleanup_dirs or [])]
        full_env = dict(os.environ)
        full_env["PYTHONPATH"] = os.pathsep.join(worker_path() + [full_env.get("PYTHONPATH", "")])
        full_env["DREAMROOMS_PROGRESS"] = "json"
        full_env["PYTHONUNBUFFERED"] = "1"
        full_env.update(env or {})
        kw = {"start_new_session": True} if os.name != "nt" else {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}
        self.proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=full_env,
                                     text=True, bufsize=1, **kw)
        self.lines: "queue.Queue[tuple[str, str]]" = queue.Queue()
        self.done = 0
        self.total: int | None = None
        self.stage = label
        self.errors: list[str] = []
        self.tail: list[str] = []
        self.frames: list[str] = []
        self.cancelled = False
        self._threads = [threading.Thread(target=self._pump, args=(s, n), daemon=True)
                         for s, n in ((self.proc.stdout, "out"), (self.proc.stderr, "err"))]
        for t in self._threads:
            t.start()

    def _pump(self, stream, name: str) -> None:
        for line in iter(stream.readline, ""):
            self.lines.put((name, line.rstrip("\n")))
        stream.close()

    def poll(self) -> int | None:
        """Process new output; returns the exit code once the worker has finished."""
        while True:
            try:
                _, line = self.lines.get_nowait()
            except queue.Empty:
                break
            self._line(line)
        rc = self.proc.poll()
        if rc is not None:
            for t in self._threads:
                t.join(timeout=2)
            while not self.lines.empty():
                self._line(self.lines.get_nowait()[1])
        return rc

    def _line(self, line: str) -> None:
        from dreamrooms.progress import parse_event

        ev = parse_event(line)
        if ev is not None:
            if ev["event"] in ("start", "progress", "end"):
                self.stage = ev.get("stage", self.stage)
                self.total = ev.get("total", self.total)
                self.done = ev.get("done", 0 if ev["event"] == "start" else self.done)
            elif ev["event"] == "frame":
                self.frames.append(ev.get("path", ""))
            return
        if line.strip():
            self.tail = (self.tail + [line])[-20:]
            if "error" in line.lower():
                self.errors.append(line)

    @property
    def fraction(self) -> float:
        return (self.done / self.total) if self.total else 0.0

    def status(self) -> str:
        total = f"/{self.total}" if self.total else ""
        return f"dreamrooms {self.stage}: {self.done}{total}  (Esc to cancel)"

    def cancel(self) -> None:
        """Kill the worker (and its children), then remove the temp file of the frame in flight."""
        self.cancelled = True
        if self.proc.poll() is None:
            try:
                if os.name != "nt":
                    os.killpg(self.proc.pid, signal.SIGKILL)
                else:
                    self.proc.kill()
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=30)
        self.cleanup()

    def cleanup(self) -> None:
        for folder in self.cleanup_dirs:
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp*"):
                    try:
                        tmp.unlink()
                    except OSError:
                        pass

    def wait(self, timeout: float | None = None) -> int:
        rc = self.proc.wait(timeout=timeout)
        self.poll()
        return rc

    def error_message(self) -> str:
        for line in reversed(self.errors or self.tail):
            if line.strip():
                return line.strip()
        return f"{self.label} failed (exit code {self.proc.returncode})"


# --------------------------------------------------------------------------- worker commands

def core_command(*args: str) -> list[str]:
    """`python -m dreamrooms --progress json ARGS` with Blender's (or this) interpreter."""
    return [sys.executable, "-m", "dreamrooms", "--progress", "json", *args]


def device_args(prefs) -> list[str]:
    """The model-device and thread preferences as the stage options every inference job takes."""
    return ["--device", prefs.device] + (["--threads", str(prefs.threads)] if prefs.threads else [])


def job_command(kind: str, s, shot: str, prefs) -> tuple[list[str], list[Path]]:
    """Worker command line and output folders for a walk, depth or After Effects export job,
    from the panel settings `s` and the add-on preferences."""
    root = Path(shot)
    if kind == "walk":
        cmd = core_command("walk", "--model", s.walk_model, "--out", shot, "--frames", str(s.walk_frames),
                           "--fps", f"{s.walk_fps:g}", "--seeds", s.walk_seeds, *device_args(prefs))
        if s.walk_size.strip():
            cmd += ["--size", s.walk_size.strip()]
        return cmd, [root / "layers", root / "color"]
    if kind == "depth":
        cmd = core_command("depth", shot, "--model", s.depth_model, "--out", shot, "--stabilize", s.depth_stabilize,
                           *device_args(prefs))
        return cmd, [root / "layers", root / "depth"]
    if kind == "export":
        return core_command("ae", shot), [root / "ae"]
    raise ValueError(f"unknown job kind {kind!r}")


def render_command(blend: str, shot: str, frames: tuple[int, int] | None = None) -> list[str]:
    """A worker that opens `blend` and renders it into the shot, frame by frame."""
    extra = ["--frames", f"{frames[0]}-{frames[1]}"] if frames else []
    binary = bpy.app.binary_path
    if binary and Path(binary).name.lower().startswith("blender"):
        return [binary, "-b", blend, "--factory-startup", "-P", str(HEADLESS), "--",
                "--progress", "json", "render", shot, *extra]
    # the bpy module: the same entry with this interpreter, opening the file itself
    return [sys.executable, str(HEADLESS), "--progress", "json", "render", shot, "--blend", blend, *extra]


def save_copy_for_worker(context) -> str:
    """Save the current scene to a temp .blend the worker opens (the user's file is untouched)."""
    folder = Path(tempfile.mkdtemp(prefix="dreamrooms-job-"))
    path = folder / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False)
    return str(path)


_active: dict[str, Job] = {}


class DREAMROOMS_OT_run_job(bpy.types.Operator):
    """Run walk, depth, render or export in a worker process with progress (Esc cancels)"""
    bl_idname = "dreamrooms.run_job"
    bl_label = "Run dreamrooms job"
    bl_options = {"REGISTER"}

    kind: bpy.props.EnumProperty(items=(("walk", "Walk", ""), ("depth", "Depth", ""), ("render", "Render", ""),
                                        ("export", "Export", "")), name="Job")

    _timer = None
    _job: Job | None = None

    @classmethod
    def poll(cls, context):
        s = context.scene.dreamrooms
        if s.job_running:
            cls.poll_message_set("a dreamrooms job is already running (Esc in the viewport cancels it)")
            return False
        if not s.shot_path:
            cls.poll_message_set("set the shot folder first (Shot section)")
            return False
        return True

    def _command(self, context) -> tuple[list[str], list[Path]]:
        s = context.scene.dreamrooms
        shot = bpy.path.abspath(s.shot_path).rstrip("/\\") or s.shot_path
        if self.kind == "render":
            if context.scene.camera is None:
                raise RuntimeError("the scene has no camera; build a camera move first")
            return render_command(save_copy_for_worker(context), shot), [Path(shot) / "render"]
        return job_command(self.kind, s, shot, preferences.get(context))

    def execute(self, context):
        return self.invoke(context, None)

    def invoke(self, context, event):
        s = context.scene.dreamrooms
        try:
            cmd, dirs = self._command(context)
            job = Job(cmd, env=preferences.worker_env(context), cleanup_dirs=dirs, label=self.kind)
        except (RuntimeError, OSError) as exc:
            self.report({"ERROR"}, f"dreamrooms {self.kind}: {exc}")
            return {"CANCELLED"}
        self._job = job
        _active[context.scene.name] = job
        s.job_running, s.job_progress, s.job_message = True, 0.0, f"{self.kind} started"
        wm = context.window_manager
        if bpy.app.background or context.window is None:  # no event loop: run to completion
            job.wait()
            return self._finish(context)
        self._timer = wm.event_timer_add(0.2, window=context.window)
        wm.progress_begin(0, 1000)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context, event):
        job = self._job
        s = context.scene.dreamrooms
        if event.type == "ESC" and event.value == "PRESS":
            job.cancel()
            self._end(context)
            s.job_message = f"{self.kind} cancelled: whole frames kept"
            self.report({"WARNING"}, f"dreamrooms {self.kind} cancelled; whole frames written so far are kept, rerun to resume")
            return {"CANCELLED"}
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        rc = job.poll()
        s.job_progress = job.fraction
        s.job_message = job.status()
        context.window_manager.progress_update(int(job.fraction * 1000))
        context.workspace.status_text_set(job.status())
        if context.area:
            context.area.tag_redraw()
        if rc is None:
            return {"PASS_THROUGH"}
        self._end(context)
        return self._finish(context)

    def _end(self, context):
        wm = context.window_manager
        if self._timer is not None:
            wm.event_timer_remove(self._timer)
            self._timer = None
        wm.progress_end()
        if context.workspace:
            context.workspace.status_text_set(None)
        context.scene.dreamrooms.job_running = False
        _active.pop(context.scene.name, None)

    def _finish(self, context):
        job = self._job
        s = context.scene.dreamrooms
        s.job_running = False
        _active.pop(context.scene.name, None)
        if job.cancelled:
            s.job_message = f"{self.kind} cancelled: whole frames kept"
            self.report({"WARNING"}, f"dreamrooms {self.kind} cancelled; whole frames written so far are kept, rerun to resume")
            return {"CANCELLED"}
        if job.proc.returncode == 0:
            s.job_progress = 1.0
            s.job_message = f"{self.kind} done"
            self.report({"INFO"}, f"dreamrooms {self.kind} done ({job.done} frame(s))")
            return {"FINISHED"}
        job.cleanup()
        s.job_message = job.error_message()
        self.report({"ERROR"}, f"dreamrooms {self.kind}: {job.error_message()}")
        return {"CANCELLED"}


class DREAMROOMS_OT_cancel_job(bpy.types.Operator):
    """Cancel the running dreamrooms job (kills the worker; whole frames are kept)"""
    bl_idname = "dreamrooms.cancel_job"
    bl_label = "Cancel job"

    @classmethod
    def poll(cls, context):
        if context.scene.name not in _active:
            cls.poll_message_set("no dreamrooms job is running")
            return False
        return True

    def execute(self, context):
        job = _active.get(context.scene.name)
        if job:
            job.cancel()
        self.report({"WARNING"}, "dreamrooms job cancelled; whole frames kept (the progress bar clears on the next tick)")
        return {"FINISHED"}


classes = (DREAMROOMS_OT_run_job, DREAMROOMS_OT_cancel_job)


register, _unregister_classes = bpy.utils.register_classes_factory(classes)


def unregister() -> None:
    for job in list(_active.values()):  # no worker outlives the add-on
        job.cancel()
    _active.clear()
    _unregister_classes()
