"""Long work off Blender's UI thread: a worker streams `--progress json` lines, which a
Job collects (progress, frames, the device that rendered, results); `cancel()` kills it.  Workers
write frames atomically (temp name, then rename), so a cancelled job leaves whole frames only; the
temp file of the frame in flight is removed here.  The operators that run jobs are in job_ui.py, the
kinds of job in job_kinds.py.
"""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import bpy

from . import job_worker, worker_loop
from .worker_loop import HEADLESS


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


def base_env() -> dict[str, str]:
    """Blender's environment for workers: the import path, JSON progress, unbuffered output."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(worker_path() + [env.get("PYTHONPATH", "")])
    env["DREAMROOMS_PROGRESS"] = "json"
    env["PYTHONUNBUFFERED"] = "1"
    return env


class Job:
    """A job and its progress: `poll()` drains new lines, `cancel()` kills it.  It runs in the add-on's one
    worker process (job_worker.py) when its command is a dreamrooms CLI or headless command line and the worker
    is free, else in a process of its own; `proc` is that process, or the worker's Popen-like `Run`."""

    def __init__(self, cmd: list[str], env: dict[str, str] | None = None, cwd: str | None = None,
                 cleanup_dirs: list[Path] | None = None, label: str = "job"):
        self.cmd = [str(c) for c in cmd]
        self.label = label
        self.cleanup_dirs = [Path(d) for d in (cleanup_dirs or [])]
        self.lines: "queue.Queue[tuple[str, str]]" = queue.Queue()
        self._threads: list[threading.Thread] = []
        base = base_env()
        full_env = {**base, **(env or {})}
        self.proc = self._in_worker(full_env, base, cwd) or self._own_process(full_env, cwd)
        self.done = 0
        self.total: int | None = None
        self.stage = label
        self.errors: list[str] = []
        self.tail: list[str] = []
        self.frames: list[str] = []
        self.result: dict = {}  # what the worker reports back (`result` events)
        self.device = ""         # what rendered, when the worker says
        self.cancelled = False

    def _in_worker(self, env: dict[str, str], base: dict[str, str], cwd: str | None) -> "job_worker.Run | None":
        """The job in the add-on's worker; None when its command is not one the worker runs, or the worker is
        busy or cannot start (or died before taking the job)."""
        request = worker_loop.request_for(self.cmd)
        worker = job_worker.idle_worker(worker_command(), base) if request else None
        if worker is None:
            return None
        try:
            return worker.submit(request, env, cwd, self.lines)
        except OSError:
            worker.kill()
            return None

    def _own_process(self, env: dict[str, str], cwd: str | None) -> subprocess.Popen:
        """The job as a process of its own (a command the worker does not run, or the worker is busy)."""
        from dreamrooms.worker import tied_popen_kwargs
        kw = tied_popen_kwargs(env, new_session=True)  # its own group (cancel kills it), dies with Blender
        proc = subprocess.Popen(self.cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env,
                                text=True, bufsize=1, **kw)
        self._threads = [threading.Thread(target=self._pump, args=(s, n), daemon=True)
                         for s, n in ((proc.stdout, "out"), (proc.stderr, "err"))]
        for t in self._threads:
            t.start()
        return proc

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
            elif ev["event"] == "result":
                self.result.update({k: v for k, v in ev.items() if k != "event"})
            if ev.get("device"):
                self.device = ev["device"]
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
        on = f" on {self.device}" if self.device else ""
        return f"dreamrooms {self.stage}{on}: {self.done}{total}  (Esc over the dreamrooms sidebar cancels)"

    def cancel(self) -> None:
        """Kill the worker (and its children), then remove the temp file of the frame in flight; a killed shared
        worker is replaced at once, so the next job does not wait for its start-up."""
        self.cancelled = True
        if isinstance(self.proc, job_worker.Run):
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(timeout=30)
                job_worker.prestart(worker_command(), base_env())
        else:
            job_worker.kill_group(self.proc)
        self.cleanup()

    def cleanup(self) -> None:
        for folder in self.cleanup_dirs:
            if folder.is_dir():
                for tmp in folder.glob(".*.tmp*"):
                    try:
                        if tmp.is_dir() and not tmp.is_symlink():
                            shutil.rmtree(tmp)   # render's private temp folder (dreamrooms.atomic.private_folder)
                        else:
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


def walk_command(s, shot: str, prefs) -> tuple[list[str], list[Path]]:
    """`dreamrooms walk` from the panel settings `s` and the add-on preferences; and the folders it writes."""
    cmd = core_command("walk", "--model", s.walk_model, "--out", shot, "--frames", str(s.walk_frames),
                       "--fps", f"{s.walk_fps:g}", "--seeds", s.walk_seeds, *device_args(prefs))
    if s.walk_size.strip():
        cmd += ["--size", s.walk_size.strip()]
    return cmd, [Path(shot) / "layers", Path(shot) / "color"]


def depth_command(s, shot: str, prefs) -> tuple[list[str], list[Path]]:
    """`dreamrooms depth` from the panel settings `s` and the add-on preferences; and the folders it writes."""
    cmd = core_command("depth", shot, "--model", s.depth_model, "--out", shot, "--stabilize", s.depth_stabilize,
                       *device_args(prefs))
    return cmd, [Path(shot) / "layers", Path(shot) / "depth"]


def film_command(s, script: str, folder: str) -> tuple[list[str], list[Path]]:
    """`dreamrooms film` from the panel settings `s`; and the folder it writes."""
    cmd = core_command("film", script, "--out", folder, "--fps", f"{s.film_fps:g}",
                       "--render" if s.film_render else "--no-render")
    if s.film_size.strip():
        cmd += ["--size", s.film_size.strip()]
    return cmd, [Path(folder) / "shots"]


def export_command(shot: str) -> tuple[list[str], list[Path]]:
    """`dreamrooms ae`; and the folder it writes."""
    return core_command("ae", shot), [Path(shot) / "ae"]


def blender_binary() -> str | None:
    """Blender's executable, or None with the bpy module (this interpreter is the Python one)."""
    binary = bpy.app.binary_path
    return binary if binary and Path(binary).name.lower().startswith("blender") else None


def blender_command(blend: str, *args: str) -> list[str]:
    """A worker that opens `blend` and runs the headless entry with `args`."""
    binary = blender_binary()
    if binary:
        return [binary, "-b", blend, "--factory-startup", "-P", str(HEADLESS), "--", "--progress", "json", *args]
    # the bpy module: the same entry with this interpreter, opening the file itself
    return [sys.executable, str(HEADLESS), "--progress", "json", *args, "--blend", blend]


def worker_command() -> list[str]:
    """The add-on's long-lived job worker (job_worker.py), started like blender_command's workers."""
    binary = blender_binary()
    if binary:
        return [binary, "-b", "--factory-startup", "-P", worker_loop.__file__]
    return [sys.executable, worker_loop.__file__]


def render_command(blend: str, shot: str, frames: tuple[int, int] | None = None,
                   device: tuple[str, str | None] = ("auto", None)) -> list[str]:
    """A worker that renders `blend` into the shot frame by frame, on `device` (the user's Cycles
    choice: a `--factory-startup` worker does not load the preferences that hold it)."""
    extra = ["--frames", f"{frames[0]}-{frames[1]}"] if frames else []
    extra += ["--device", device[0]] + (["--compute-backend", device[1]] if device[1] else [])
    return blender_command(blend, "render", shot, *extra)


def focus_command(blend: str, shot: str, point: tuple[float, float], frames: tuple[int, int]) -> list[str]:
    """A worker that evaluates every frame of `blend` and reports the depth at `point` (a `result` event)."""
    return blender_command(blend, "focus", shot, "--point", f"{point[0]:g},{point[1]:g}",
                           "--frames", f"{frames[0]}-{frames[1]}")


def save_copy_for_worker(context) -> str:
    """Save the current scene to a temp .blend the worker opens (the user's file is untouched)."""
    folder = Path(tempfile.mkdtemp(prefix="dreamrooms-job-"))
    path = folder / "scene.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True, check_existing=False)
    return str(path)
