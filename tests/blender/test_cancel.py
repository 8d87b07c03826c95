"""Cancelling a long render job kills the worker and leaves whole frames only; a rerun resumes in a new worker."""
import os
import time

import bpy
import numpy as np

from blender_helpers import write_shot
from dreamrooms.shot import exr

N = 40


def test_cancel_mid_render_leaves_whole_frames_and_rerun_resumes(addon_scene, tmp_path, empty_scene):
    y, x = np.mgrid[0:24, 0:32].astype(np.float32)
    shot = write_shot(tmp_path / "shot", [3.0 + 0.02 * x + 0.05 * k for k in range(N)])
    B = addon_scene.build
    built = B.build(empty_scene, shot, B.BuildSettings(layout="plane"))
    B.camera_move(empty_scene, shot, "dolly_in", start=built["start"], focus=False)
    addon_scene.render.setup_render(empty_scene, shot, samples=64)
    blend = str(tmp_path / "job.blend")
    bpy.ops.wm.save_as_mainfile(filepath=blend, copy=True)
    jobs = addon_scene.jobs
    out = tmp_path / "shot/render"
    job = jobs.Job(jobs.render_command(blend, str(tmp_path / "shot")), cleanup_dirs=[out], label="render")
    deadline = time.time() + 120
    while len(job.frames) < 2 and time.time() < deadline:
        assert job.poll() is None, job.tail
        time.sleep(0.05)
    assert len(job.frames) >= 2 and job.stage == "render" and job.total == N
    assert isinstance(job.proc, jobs.job_worker.Run), "the render did not run in the add-on's worker"
    job.cancel()
    assert job.proc.returncode is not None
    try:
        os.kill(job.proc.pid, 0)
        raise AssertionError("the cancelled job's worker still runs")
    except ProcessLookupError:
        pass
    files = sorted(out.iterdir())
    assert 2 <= len(files) < N
    for p in files:  # no temp files, and every frame left is a whole, readable EXR
        assert p.name.startswith("render.") and p.suffix == ".exr"
        assert exr.is_complete(p, ("ViewLayer.Combined.RGBA", "ViewLayer.Depth.Z"))
    done_before = {p.name: p.stat().st_mtime_ns for p in files}
    # rerun with few samples: resumes at the first missing frame, keeps the finished ones
    empty_scene.cycles.samples = 1
    bpy.ops.wm.save_as_mainfile(filepath=blend, copy=True)
    again = jobs.Job(jobs.render_command(blend, str(tmp_path / "shot")), cleanup_dirs=[out], label="render")
    assert again.wait(timeout=240) == 0, again.tail
    assert isinstance(again.proc, jobs.job_worker.Run) and again.proc.pid != job.proc.pid
    assert len(list(out.glob("render.*.exr"))) == N
    assert all((out / n).stat().st_mtime_ns == t for n, t in done_before.items())
    assert len(again.frames) == N - len(done_before)
