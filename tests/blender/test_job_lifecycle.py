"""Job lifecycle in Blender: no worker outlives the add-on or the file that started it, no stuck
"already running" state, temp copies deleted, and Esc away from the sidebar is not ours."""
from __future__ import annotations

import importlib
import sys
import types

import bpy
import numpy as np

from blender_helpers import write_shot




def _sleeper(pkg):
    jobs = importlib.import_module(f"{pkg.__name__}.jobs")
    return jobs.Job([sys.executable, "-c", "import time; time.sleep(120)"], label="walk")


def _start(pkg, scene, job):
    job_ui = importlib.import_module(f"{pkg.__name__}.job_ui")
    job_ui.track(scene, job)
    return job_ui


def test_disabling_the_addon_kills_the_worker_and_reenabling_is_not_stuck(registered, tmp_path):
    scene = bpy.context.scene
    scene.dreamrooms.shot_path = str(tmp_path)
    job = _sleeper(registered)
    _start(registered, scene, job)
    assert not bpy.ops.dreamrooms.run_job.poll() and bpy.ops.dreamrooms.cancel_job.poll()
    registered.unregister()
    assert job.proc.poll() is not None, "the worker outlived the add-on"
    registered.register()
    assert bpy.ops.dreamrooms.run_job.poll(), "a re-enabled add-on still thinks a job runs"
    assert not bpy.ops.dreamrooms.cancel_job.poll()


def test_new_file_during_a_job_kills_its_worker(registered, tmp_path):
    job = _sleeper(registered)
    job_ui = _start(registered, bpy.context.scene, job)
    bpy.ops.wm.read_homefile(use_empty=True)  # File > New: load_pre
    assert job.proc.wait(timeout=10) is not None and job_ui.held() == []
    scene = bpy.context.scene  # the new file's "Scene" has no job and may start one
    assert job_ui.running(scene) is None
    scene.dreamrooms.shot_path = str(tmp_path)
    assert bpy.ops.dreamrooms.run_job.poll()


def test_render_job_deletes_its_temp_blend(registered, tmp_path, monkeypatch):
    import tempfile
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    y, x = np.mgrid[0:8, 0:12].astype(np.float32)
    write_shot(tmp_path / "shot", [2.0 + 0.05 * x for _ in range(2)])
    s = bpy.context.scene.dreamrooms
    s.shot_path, s.samples, s.grid = str(tmp_path / "shot"), 1, 0
    bpy.context.scene.render.engine = "CYCLES"
    assert bpy.ops.dreamrooms.load_shot() == {"FINISHED"}
    assert bpy.ops.dreamrooms.build() == {"FINISHED"}
    assert bpy.ops.dreamrooms.render_setup() == {"FINISHED"}
    assert bpy.ops.dreamrooms.run_job(kind="render") == {"FINISHED"}, s.job_message
    assert len(list((tmp_path / "shot" / "render").glob("render.*.exr"))) == 2
    assert not list((tmp_path / "tmp").glob("dreamrooms-job-*")), "the worker's scene copy was left behind"
    assert "CPU" in s.job_message, "the panel says which device rendered"


def _region(kind, x, y, w, h):
    return types.SimpleNamespace(type=kind, x=x, y=y, width=w, height=h)


def test_esc_cancels_only_over_the_sidebar(registered):
    job_ui = importlib.import_module(f"{registered.__name__}.job_ui")
    view = types.SimpleNamespace(type="VIEW_3D", regions=[_region("WINDOW", 0, 0, 800, 600),
                                                           _region("UI", 800, 0, 200, 600)])
    timeline = types.SimpleNamespace(type="DOPESHEET_EDITOR", regions=[_region("UI", 0, 600, 1000, 100)])
    screen = types.SimpleNamespace(areas=[view, timeline])
    assert job_ui.over_sidebar(screen, 900, 300)
    assert not job_ui.over_sidebar(screen, 400, 300)  # the viewport itself (playback, modal tools)
    assert not job_ui.over_sidebar(screen, 900, 650)  # another editor's sidebar
    hidden = types.SimpleNamespace(areas=[types.SimpleNamespace(type="VIEW_3D", regions=[_region("UI", 800, 0, 1, 600)])])
    assert not job_ui.over_sidebar(hidden, 800, 300)


def test_camera_move_during_another_job_keys_the_move_and_says_focus_waits(registered, tmp_path):
    """The move is keyed on the UI thread; its focus job is not started while another job runs (it would fail
    after the move was keyed and report the whole operator as an error)."""
    pkg = registered
    scene = bpy.context.scene
    write_shot(tmp_path / "shot", [np.full((12, 16), 2.5 + 0.1 * k, np.float32) for k in range(3)])
    s = scene.dreamrooms
    s.shot_path, s.grid, s.no_focus = str(tmp_path / "shot"), 8, False
    assert bpy.ops.dreamrooms.load_shot() == {"FINISHED"} and bpy.ops.dreamrooms.build() == {"FINISHED"}
    job = _sleeper(pkg)
    job_ui = _start(pkg, scene, job)
    try:
        s.move, s.intensity = "crane", 0.5
        assert bpy.ops.dreamrooms.camera_move() == {"FINISHED"}
        scene.frame_set(3)
        assert abs(scene.camera.matrix_world.translation.z - 0.5) < 1e-4
        assert job_ui.running(scene) is job   # no focus job replaced or stopped the running one
    finally:
        job.cancel()
        job_ui.release(job)
