"""Walks and renders in chunks on a Ray cluster.

Walk: the latents of every frame are computed once on the driver (the same path, keyframes and constant-speed
re-timing as one machine), each task renders its frames from its slice, and the driver registers the
sequence once all frames are on disk.  Render: each task runs headless Blender (the ``bpy`` module when the
node has it, else a ``blender`` binary) on the saved ``room.blend`` for its frames; frames are written whole
and renamed, and the task that finds every frame on disk records the ``render`` sequence, as one machine does.
"""
from __future__ import annotations

import importlib.util
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from dreamrooms.cluster import driver
from dreamrooms.cluster.plan import ClusterError, balanced_chunks, default_chunk, plan_chunks


def count_new(folder: Path, prefix: str, since: float) -> Callable[[], int]:
    """Frames finished since `since`: files named PREFIX* in `folder` written after it (renames are atomic,
    so a file that exists is whole).  Polled by the driver for the run's one progress bar."""
    def count() -> int:
        try:
            with os.scandir(folder) as it:
                return sum(1 for e in it if e.name.startswith(prefix) and e.name.endswith(".exr")
                           and e.stat().st_mtime >= since)
        except OSError:
            return 0
    return count


def run_stage(address: str, stage: str, shot: Path, frames: range, chunk: int | None, fn: Callable, kwargs: dict,
              counter: Callable[[], int] | None, *, warmup: int = 0,
              before: Callable | None = None) -> list[driver.ChunkResult]:
    """Connect, plan `frames` (consecutive) into chunks (default size from the cluster), run `fn` on each, wait."""
    first, last = frames[0], frames[-1]
    with driver.connect(address) as ray:
        res = driver.resources(ray)
        size = chunk or default_chunk(last - first + 1, res.slots, stage)
        # --chunk N is taken as asked; the default plan evens out the warm-up so no task runs longer than the rest
        chunks = plan_chunks(first, last, size, warmup) if chunk else \
            balanced_chunks(first, last, math.ceil((last - first + 1) / size), warmup)
        print(f"{stage}: {last - first + 1} frame(s) in {len(chunks)} chunk(s) of up to {size} on {res.nodes} node(s), "
              f"{res.slots} at a time ({res.num_cpus} CPU{f' + {res.num_gpus} GPU' if res.num_gpus else ''} each)",
              file=sys.stderr, flush=True)
        extra = before(ray, res, chunks) if before else {}
        kwargs = {**kwargs, **(extra or {}), "threads": res.num_cpus}
        return driver.run_chunks(ray, fn, chunks, shot=shot, res=res, desc=stage, total=last - first + 1,
                                 count_done=counter, kwargs=kwargs)


# ---- render ------------------------------------------------------------------------------------------
def _die_with_parent() -> None:
    """In the Blender child: get SIGKILL when the Ray worker dies, so a killed task leaves no render behind
    that would race its retry (Linux prctl PR_SET_PDEATHSIG; elsewhere a no-op)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def blender_command(shot: Path, blend: Path, first: int, last: int, threads: int, headless: Path,
                    device: str = "auto", backend: str | None = None) -> list[str]:
    """The command that renders frames `first`..`last` of `blend` into `shot` on this node (Cycles on `device`:
    with `auto` each node renders on a GPU it has, else its CPUs)."""
    tail = ["render", str(shot), "--frames", f"{first}-{last}", "--threads", str(threads), "--device", device]
    if backend:
        tail += ["--compute-backend", backend]
    if importlib.util.find_spec("bpy") is not None:
        return [sys.executable, str(headless), *tail, "--blend", str(blend)]
    blender = shutil.which("blender")
    if blender:
        return [blender, "-b", str(blend), "-P", str(headless), "--", *tail]
    raise ClusterError(f"node {driver.node_name()} has neither the bpy module nor a `blender` binary on PATH; "
                       f"install one of them there (pip install bpy==5.0.1, or Blender 4.2+)")


def render_chunk(chunk, *, shot: str, blend: str, headless: str, device: str, backend: str | None, threads: int) -> int:
    """Ray task: render this chunk's frames with headless Blender; its error line on failure."""
    cmd = blender_command(Path(shot), Path(blend), chunk.first, chunk.last, threads, Path(headless), device, backend)
    env = dict(os.environ, DREAMROOMS_PROGRESS="none")
    p = subprocess.run(cmd, env=env, capture_output=True, text=True, preexec_fn=_die_with_parent)
    if p.returncode != 0:
        lines = [ln for ln in (p.stderr or "").splitlines() if ln.strip()]
        why = next((ln.split("error: ", 1)[1] for ln in reversed(lines) if "dreamrooms: error: " in ln),
                   lines[-1] if lines else f"exit code {p.returncode}")
        raise ClusterError(f"render of frames {chunk.label} on {driver.node_name()} failed: {why}")
    return len(chunk.frames)


def render_on_cluster(shot: Path, first: int, last: int, *, address: str, chunk: int | None, blend: Path,
                      headless: Path, device: str = "auto", backend: str | None = None) -> list[driver.ChunkResult]:
    """Render frames `first`..`last` of the saved `blend` into the shot in chunks on the cluster."""
    shot, blend = Path(shot).resolve(), Path(blend).resolve()
    if not blend.is_file():
        raise ClusterError(f"{blend}: no saved room; build it first (`dreamrooms room {shot} ...` saves room.blend)")
    return run_stage(address, "render", shot, range(first, last + 1), chunk, render_chunk,
                     {"shot": str(shot), "blend": str(blend), "headless": str(Path(headless).resolve()),
                      "device": device, "backend": backend},
                     count_new(shot / "render", "render.", time.time() - 1.0))


# ---- walk --------------------------------------------------------------------------------------------
def walk_chunk(chunk, *, out: str, model: str, settings, latents, device: str, threads: int) -> int:
    """Ray task: the stage spine's chunk run of the walk, from the driver's latents (the chunk's context)."""
    from dreamrooms import stage as spine
    from dreamrooms.walk.generator import open_generator
    from dreamrooms.walk.stage import WALK, WalkRun

    gen = open_generator(model, device=device, threads=threads)
    run = WalkRun(gen, out, settings)
    return spine.run_chunk(WALK, run, spine.Chunk(chunk.first, chunk.last, None, {"latents": latents})).written


def walk_on_cluster(gen, model: str, out: Path, settings, *, overwrite: bool, address: str, chunk: int | None,
                    device: str, argv: list[str] | None = None):
    """The walk of one machine, its frames rendered in chunks on the cluster; returns the registered Shot.  The
    driver holds the walk lock, plans once (validates, clears an --overwrite'd walk, computes the latents, saves a
    new shot's shot.json, which every task checks it sees), and registers once every frame is on disk."""
    from dreamrooms import stage as spine
    from dreamrooms.shot import update_shot
    from dreamrooms.walk.run import check_settings
    from dreamrooms.walk.stage import WALK, WalkRun

    out = Path(out).resolve()
    check_settings(settings)
    run = WalkRun(gen, str(out), settings, overwrite, argv)
    with spine.locked(WALK, run):
        job, _ = spine.plan(WALK, run)
        if not (out / "shot.json").is_file():
            update_shot(out, lambda current: current or job.data.shot)
        run_stage(address, "walk", out, range(1, settings.frames + 1), chunk, walk_chunk,
                  {"out": str(out), "model": model, "settings": settings, "latents": (job.data.lat, job.data.info),
                   "device": device},
                  count_new(out / "layers", "walk.", time.time() - 1.0))
        shot = spine.register(WALK, run, job)
    WALK.published(job, shot)
    return shot
