"""The one registry of job kinds: what a job started from the panel runs in its worker, which folders it writes,
and what it changes in the open file when it finishes.  The run operator's enum, its dispatch and its finish all
read KINDS; a new job kind is one `@job_kind` function here (plus its button in panels.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from . import jobs, models_ui, preferences


@dataclass
class Launch:
    """A worker to start: its command line, the folders it writes (partial frames there are removed on cancel)
    and temporary folders deleted when the job ends."""
    cmd: list[str]
    outputs: list[Path] = field(default_factory=list)
    temp: list[Path] = field(default_factory=list)


@dataclass(frozen=True)
class JobKind:
    name: str
    label: str
    description: str
    launch: Callable[..., Launch]                    # (context, shot folder, model) -> Launch; RuntimeError says why not
    needs_shot: bool = True                          # refuse to start before the shot folder is set
    finish: Callable[..., str] | None = None         # (job, context) -> message; on the UI thread, so fast


KINDS: dict[str, JobKind] = {}


def job_kind(name: str, label: str, description: str = "", *, needs_shot: bool = True,
             finish: Callable[..., str] | None = None):
    """Register the decorated `launch(context, shot, model) -> Launch` as job kind `name`."""
    def register(launch: Callable[..., Launch]) -> Callable[..., Launch]:
        KINDS[name] = JobKind(name, label, description, launch, needs_shot, finish)
        return launch
    return register


def enum_items() -> tuple[tuple[str, str, str], ...]:
    """The kinds as Blender enum items, in registry order."""
    return tuple((k.name, k.label, k.description) for k in KINDS.values())


def launch(kind: str, context, model: str = "") -> Launch:
    """The worker for a job of `kind` started from the panel (RuntimeError: why it cannot start)."""
    entry = KINDS[kind]
    s = context.scene.dreamrooms
    if entry.needs_shot and not s.shot_path:
        raise RuntimeError("set the shot folder first (Shot section)")
    shot = bpy_abspath(s.shot_path)
    return entry.launch(context, shot, model)


def finish(kind: str, job: jobs.Job, context) -> str:
    """What a finished job of `kind` changes in the open file, as a message ("" when nothing)."""
    entry = KINDS[kind]
    return entry.finish(job, context) if entry.finish else ""


def bpy_abspath(path: str) -> str:
    import bpy

    return bpy.path.abspath(path).rstrip("/\\") or path


# --------------------------------------------------------------------------- the kinds, in the panel's order

@job_kind("walk", "Walk", "Generate a latent walk into the shot")
def _walk(context, shot: str, model: str) -> Launch:
    s = context.scene.dreamrooms
    models_ui.require_installed(context, s.walk_model, "Walk")
    cmd, dirs = jobs.walk_command(s, shot, preferences.get(context))
    return Launch(cmd, dirs)


@job_kind("depth", "Depth", "Estimate depth for every frame of the shot")
def _depth(context, shot: str, model: str) -> Launch:
    s = context.scene.dreamrooms
    models_ui.require_installed(context, s.depth_model, "Depth")
    cmd, dirs = jobs.depth_command(s, shot, preferences.get(context))
    return Launch(cmd, dirs)


def _saved_scene(context) -> tuple[str, list[Path]]:
    if context.scene.camera is None:
        raise RuntimeError("the scene has no camera; build a plane, room or corridor first")
    blend = jobs.save_copy_for_worker(context)
    return blend, [Path(blend).parent]


@job_kind("render", "Render", "Render the scene into the shot's render folder")
def _render(context, shot: str, model: str) -> Launch:
    from .scene import engine

    if context.scene.camera is None:
        raise RuntimeError("the scene has no camera; build a plane, room or corridor first")
    device = engine.from_preferences(context.scene, context)
    blend, temp = _saved_scene(context)
    return Launch(jobs.render_command(blend, shot, device=device), [Path(shot) / "render"], temp)


def _key_focus(job: jobs.Job, context) -> str:
    from .scene import camera_rig

    s = context.scene.dreamrooms
    values = job.result.get("focus") or []
    camera_rig.key_focus_values(context.scene.camera, values, int(job.result.get("frame_start", 1)), s.fstop, s.dof)
    return f"focus keyed over {len(values)} frame(s): {min(values):.2f}-{max(values):.2f} m" if values else "focus"


@job_kind("focus", "Focus", "Key the focus distance to the depth at the focus point", finish=_key_focus)
def _focus(context, shot: str, model: str) -> Launch:
    scene = context.scene
    blend, temp = _saved_scene(context)
    frames = (scene.frame_start, scene.frame_end)
    return Launch(jobs.focus_command(blend, shot, tuple(scene.dreamrooms.focus_point), frames), [], temp)


@job_kind("export", "Export", "After Effects export of the shot")
def _export(context, shot: str, model: str) -> Launch:
    cmd, dirs = jobs.export_command(shot)
    return Launch(cmd, dirs)


def _film_made(job: jobs.Job, context) -> str:
    folder = bpy_abspath(context.scene.dreamrooms.film_folder)
    return f"film made: {folder}/animatic.mp4, film.blend, film.jsx"


@job_kind("film", "Film", "Make a film from a screenplay: a shot per scene, then the cut", needs_shot=False,
          finish=_film_made)
def _film(context, shot: str, model: str) -> Launch:
    s = context.scene.dreamrooms
    if not s.film_script or not s.film_folder:
        raise RuntimeError("set the screenplay and the film folder first (Film section)")
    cmd, dirs = jobs.film_command(s, bpy_abspath(s.film_script), bpy_abspath(s.film_folder))
    return Launch(cmd, dirs)


def _forget_models(job: jobs.Job, context) -> str:
    models_ui.forget()
    return ""


@job_kind("fetch", "Fetch model", "Download the model into the models folder", needs_shot=False,
          finish=_forget_models)
def _fetch(context, shot: str, model: str) -> Launch:
    blocked = models_ui.fetch_blocked(context)
    if blocked:
        raise RuntimeError(blocked)
    return Launch(models_ui.fetch_command(model, context))
