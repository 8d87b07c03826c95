"""The add-on's one long-lived job worker: jobs run in it one after another (the same worker process), give what
a process of their own gives, a failing job leaves it serving, and one job's env and cwd do not reach the next.
Cancelling (a new worker afterwards) is checked in test_cancel.py."""
from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
from pathlib import Path

import bpy
import numpy as np
import pytest

from blender_helpers import write_shot
from dreamrooms.shot import exr


@pytest.fixture
def jobs(addon_scene):
    return addon_scene.jobs


@pytest.fixture
def shot(tmp_path):
    y, x = np.mgrid[0:8, 0:12].astype(np.float32)
    return write_shot(tmp_path / "shot", [2.0 + 0.05 * x + 0.1 * k for k in range(2)])


def _run(jobs, *args, **kw):
    job = jobs.Job(jobs.core_command(*args), label="job", **kw)
    job.wait(timeout=120)
    return job


def test_jobs_in_a_row_run_in_one_worker_and_a_failure_leaves_it_serving(jobs, shot, tmp_path):
    first = _run(jobs, "shot", "info", str(shot.folder))
    assert first.proc.returncode == 0 and "12x8 px" in "\n".join(first.tail)
    pid = first.proc.pid
    assert pid != os.getpid() and isinstance(first.proc, jobs.job_worker.Run)
    missing = _run(jobs, "shot", "info", str(tmp_path / "nope"))
    assert missing.proc.returncode == 1 and missing.proc.pid == pid
    assert "nope" in missing.error_message() and "not found" in missing.error_message()
    usage = _run(jobs, "no-such-command")
    assert usage.proc.returncode == 2 and "invalid choice" in usage.error_message()
    first.cancel()   # a finished job's cancel (the UI's release) leaves the worker serving
    again = _run(jobs, "shot", "info", str(shot.folder))
    assert again.proc.returncode == 0 and again.proc.pid == pid, "the worker did not survive the failed jobs"
    assert again.tail == first.tail, "the failed jobs' output reached the next job"


def test_env_and_cwd_of_a_job_do_not_reach_the_next(jobs, shot, tmp_path):
    nope = str(tmp_path / "nope")
    debug = _run(jobs, "--debug", "shot", "info", nope)          # --debug sets DREAMROOMS_DEBUG in the process
    assert debug.proc.returncode == 1 and any("Traceback" in line for line in debug.tail)
    given = _run(jobs, "shot", "info", nope, env={"DREAMROOMS_DEBUG": "1"})
    assert any("Traceback" in line for line in given.tail)
    plain = _run(jobs, "shot", "info", nope)
    assert plain.proc.pid == debug.proc.pid and plain.proc.returncode == 1
    assert not any("Traceback" in line for line in plain.tail), "a job's environment reached the next job"
    relative = _run(jobs, "shot", "info", "shot", cwd=str(tmp_path))
    assert relative.proc.returncode == 0, relative.tail
    elsewhere = _run(jobs, "shot", "info", "shot")
    assert elsewhere.proc.returncode == 1 and elsewhere.proc.pid == relative.proc.pid, "a job's cwd reached the next"


def test_a_job_while_the_worker_is_busy_runs_as_its_own_process(jobs, shot):
    worker = jobs.job_worker.idle_worker(jobs.worker_command(), jobs.base_env())
    worker.run = jobs.job_worker.Run(worker, -1, queue.Queue())   # as if another scene's job ran in it
    try:
        job = _run(jobs, "shot", "info", str(shot.folder))
    finally:
        worker.run.finish(0)
    assert isinstance(job.proc, subprocess.Popen) and job.proc.returncode == 0
    assert "12x8 px" in "\n".join(job.tail)


def test_a_job_runs_as_its_own_process_when_the_worker_cannot_start(jobs, shot, monkeypatch):
    jobs.job_worker.shutdown()
    monkeypatch.setattr(jobs, "worker_command", lambda: [str(shot.folder / "no-such-blender")])
    job = _run(jobs, "shot", "info", str(shot.folder))
    assert isinstance(job.proc, subprocess.Popen) and job.proc.returncode == 0
    assert "12x8 px" in "\n".join(job.tail)


def _scene_blend(addon_scene, empty_scene, shot, path):
    B = addon_scene.build
    built = B.build(empty_scene, shot, B.BuildSettings(layout="plane"))
    B.camera_move(empty_scene, shot, "dolly_in", start=built["start"], focus=False)
    addon_scene.render.setup_render(empty_scene, shot, samples=1)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    return str(path)


def test_render_and_focus_in_the_worker_match_a_process_of_their_own(addon_scene, jobs, shot, tmp_path,
                                                                      empty_scene, monkeypatch):
    blend = _scene_blend(addon_scene, empty_scene, shot, tmp_path / "job.blend")
    twin = shutil.copytree(shot.folder, tmp_path / "twin")   # the same shot, for the render in its own process
    out = shot.folder / "render"
    job = jobs.Job(jobs.render_command(blend, str(shot.folder)), cleanup_dirs=[out], label="render")
    assert job.wait(timeout=240) == 0, job.tail
    assert isinstance(job.proc, jobs.job_worker.Run) and len(job.frames) == 2 and "CPU" in job.device
    ours = {p.name: exr.read_frame(p) for p in sorted(out.glob("render.*.exr"))}
    focus = jobs.Job(jobs.focus_command(blend, str(shot.folder), (0.5, 0.5), (1, 2)), label="focus")
    assert focus.wait(timeout=120) == 0, focus.tail
    assert focus.proc.pid == job.proc.pid, "the second Blender job did not reuse the worker"
    monkeypatch.setattr(jobs.worker_loop, "request_for", lambda cmd: None)   # every job its own process
    own = jobs.Job(jobs.render_command(blend, str(twin)), label="render")
    assert own.wait(timeout=240) == 0 and isinstance(own.proc, subprocess.Popen), own.tail
    theirs = {p.name: exr.read_frame(p) for p in sorted((twin / "render").glob("render.*.exr"))}
    assert sorted(theirs) == sorted(ours) and len(ours) == 2
    for name, layers in ours.items():
        for key, value in layers.items():
            np.testing.assert_allclose(value, theirs[name][key], atol=1e-4, err_msg=f"{name} {key}")
    own_focus = jobs.Job(jobs.focus_command(blend, str(shot.folder), (0.5, 0.5), (1, 2)), label="focus")
    assert own_focus.wait(timeout=120) == 0, own_focus.tail
    assert focus.result["focus"] == pytest.approx(own_focus.result["focus"]) and len(focus.result["focus"]) == 2


def test_with_the_blender_binary_the_worker_is_one_blender(addon_scene, jobs, shot, tmp_path, empty_scene, monkeypatch):
    """Blender's command lines (`blender -b FILE -P headless.py -- ...`) run in one `blender -b -P worker_loop.py`
    (the bpy-module stand-in for the binary: tests/blender/blender_cli.py)."""
    blend = _scene_blend(addon_scene, empty_scene, shot, tmp_path / "job.blend")
    binary = tmp_path / "bin" / "blender"
    binary.parent.mkdir()
    binary.write_text(f"#!/bin/sh\nexec {sys.executable} {Path(__file__).with_name('blender_cli.py')} \"$@\"\n")
    binary.chmod(0o755)
    monkeypatch.setattr(jobs, "blender_binary", lambda: str(binary))
    jobs.job_worker.shutdown()
    try:
        job = jobs.Job(jobs.render_command(blend, str(shot.folder)), label="render")
        assert job.cmd[:3] == [str(binary), "-b", blend]
        assert job.wait(timeout=240) == 0, job.tail
        focus = jobs.Job(jobs.focus_command(blend, str(shot.folder), (0.5, 0.5), (1, 2)), label="focus")
        assert focus.wait(timeout=120) == 0, focus.tail
        assert jobs.job_worker.current().proc.args[:4] == [str(binary), "-b", "--factory-startup", "-P"]
    finally:
        jobs.job_worker.shutdown()
    assert isinstance(job.proc, jobs.job_worker.Run) and focus.proc.pid == job.proc.pid
    assert len(job.frames) == 2 and len(focus.result["focus"]) == 2


def test_each_job_in_the_worker_has_its_own_debug_profile(jobs, shot):
    """A room run's `--debug` profile is that run's: a first job without --debug does not switch it off for the
    worker's later jobs, and the worker's start-up is not billed to a later job."""
    room = ["room", str(shot.folder), "--layout", "plane", "--grid", "8", "--no-focus", "--no-save"]
    first = jobs.Job([sys.executable, str(jobs.HEADLESS), *room], label="room")
    assert first.wait(timeout=120) == 0, first.tail
    second = jobs.Job([sys.executable, str(jobs.HEADLESS), "--debug", *room], label="room")
    assert second.wait(timeout=120) == 0, second.tail
    assert isinstance(second.proc, jobs.job_worker.Run) and second.proc.pid == first.proc.pid
    text = "\n".join(second.tail)
    assert "room plane profile" in text and "  build " in text, text
    assert "blender start-up" not in text, "the worker's start-up was billed to its second job"
    assert not any("profile" in line for line in first.tail)
