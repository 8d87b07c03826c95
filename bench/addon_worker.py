"""The add-on's jobs in its one long-lived worker against a process per job (as before issue 27).

    python bench/addon_worker.py [--rounds 3]

The same `jobs.Job` calls either way (the per-process side turns the worker off); on the bpy module, as the
tests run.  Two mixes, each a row, the whole sequence timed from the first job's start to the last job's end,
the worker's own start-up included (it is started by the first job, as in a Blender session):
* small jobs: 4 x `dreamrooms shot info` and 4 x a tiny `dreamrooms depth` (two 64x48 images, tinydepth);
* tiny renders: 3 x a render job of a 2-frame 12x8 plane (Cycles, 1 sample) and a focus job.
Ratio = per-process time / worker time (higher is better), medians over --rounds interleaved rounds.  Targets:
a job that small is mostly start-up in its own process (an interpreter, numpy, onnxruntime, for a render the
bpy module), which the worker pays once: >= 2x for the small jobs; >= 1.5x for the renders, whose work (Cycles'
set-up and the frames) stays per job.
"""
from __future__ import annotations

import argparse
import importlib
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests/blender"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import bpy  # noqa: E402

from _report import result  # noqa: E402


def _small_jobs(jobs, folder: Path, shot: Path, k: int) -> list[list[str]]:
    images = folder / "images"
    return [c for i in range(4) for c in (
        jobs.core_command("shot", "info", str(shot)),
        jobs.core_command("depth", str(images), "--out", str(folder / f"depth_{k}_{i}"), "--model", "tinydepth",
                          "--threads", "1"))]


def _render_jobs(jobs, blend: str, folder: Path, k: int) -> list[list[str]]:
    out = [jobs.render_command(blend, str(_copy_shot(folder / "shot", folder / f"r_{k}_{i}")), device=("cpu", None))
           for i in range(3)]
    return out + [jobs.focus_command(blend, str(folder / "shot"), (0.5, 0.5), (1, 2))]


def _copy_shot(src: Path, dst: Path) -> Path:
    import shutil
    return Path(shutil.copytree(src, dst))


def run_all(jobs, cmds: list[list[str]]) -> float:
    """Run `cmds` one after another as jobs; the wall time of the whole sequence."""
    t = time.perf_counter()
    for cmd in cmds:
        job = jobs.Job(cmd, label="bench")
        if job.wait(timeout=600) != 0:
            raise SystemExit(f"addon_worker: job failed: {' '.join(cmd)}: {job.error_message()}")
    return time.perf_counter() - t


def setup(folder: Path):
    """The add-on's jobs module, a tiny shot with a saved plane scene, two small images."""
    import cv2
    from blender_helpers import load_addon, write_shot

    pkg = load_addon()
    jobs = importlib.import_module(f"{pkg.__name__}.jobs")
    y, x = np.mgrid[0:8, 0:12].astype(np.float32)
    shot = write_shot(folder / "shot", [2.0 + 0.05 * x + 0.1 * k for k in range(2)])
    B = importlib.import_module(f"{pkg.__name__}.scene.build")
    R = importlib.import_module(f"{pkg.__name__}.scene.render")
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    built = B.build(scene, shot, B.BuildSettings(layout="plane"))
    B.camera_move(scene, shot, "dolly_in", start=built["start"], focus=False)
    R.setup_render(scene, shot, samples=1)
    blend = str(folder / "scene.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend, copy=True)
    (folder / "images").mkdir()
    for i in range(2):
        img = (np.random.default_rng(i).random((48, 64, 3)) * 255).astype(np.uint8)
        cv2.imwrite(str(folder / "images" / f"img_{i}.png"), img)
    return jobs, blend


def measure(jobs, make, rounds: int) -> tuple[float, float]:
    """Medians of (worker, per process) over `rounds` interleaved rounds; each worker round starts a new worker."""
    ours, theirs = [], []
    request_for = jobs.worker_loop.request_for
    for k in range(rounds):
        jobs.job_worker.shutdown()
        ours.append(run_all(jobs, make(2 * k)))
        jobs.worker_loop.request_for = lambda cmd: None   # every job its own process, as before
        try:
            theirs.append(run_all(jobs, make(2 * k + 1)))
        finally:
            jobs.worker_loop.request_for = request_for
        print(f"round {k + 1}: worker {ours[-1]:.2f} s, a process per job {theirs[-1]:.2f} s", flush=True)
    jobs.job_worker.shutdown()
    return statistics.median(ours), statistics.median(theirs)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="dr-bench-worker-") as tmp:
        folder = Path(tmp)
        jobs, blend = setup(folder)
        ours, theirs = measure(jobs, lambda k: _small_jobs(jobs, folder, folder / "shot", k), args.rounds)
        result("addon_worker 8 small jobs (4 shot info + 4 tiny depth) in one worker", ours, theirs,
               "a process per job", "s", target=2.0, higher_is_better=False,
               note=f"medians of {args.rounds} interleaved rounds, the worker's start-up included; bpy module")
        ours, theirs = measure(jobs, lambda k: _render_jobs(jobs, blend, folder, k), args.rounds)
        result("addon_worker 3 tiny renders + a focus job (12x8, 2 frames, Cycles 1 sample) in one worker", ours,
               theirs, "a process per job", "s", target=1.5, higher_is_better=False,
               note=f"medians of {args.rounds} interleaved rounds, the worker's start-up included; bpy module")
    return 0


if __name__ == "__main__":
    sys.exit(main())
