"""The add-on registers as a bl_ext sub-package and its operators run through bpy.ops in background."""
from pathlib import Path
import bpy
import numpy as np
import pytest

from blender_helpers import write_shot
from dreamrooms.shot import exr
from dreamrooms.shot import Shot

W, H = 24, 16




def test_register_exposes_operators_panels_and_settings(registered):
    ops = set(dir(bpy.ops.dreamrooms))
    assert {"load_shot", "build", "camera_move", "render_setup", "record_camera", "run_job", "cancel_job",
            "pick_depth_model", "pick_walk_model"} <= ops
    assert hasattr(bpy.types, "DREAMROOMS_PT_main") and hasattr(bpy.types, "DREAMROOMS_PT_camera")
    assert bpy.types.DREAMROOMS_PT_main.bl_category == "dreamrooms"
    assert bpy.context.scene.dreamrooms.layout == "plane"
    prefs = registered.preferences.DREAMROOMS_AP_preferences
    assert prefs.is_registered and prefs.bl_idname == "bl_ext.user_default.dreamrooms"


def test_operators_explain_why_they_are_greyed_out(registered):
    with pytest.raises(RuntimeError, match="set the shot folder first"):
        bpy.ops.dreamrooms.build()
    bpy.context.scene.dreamrooms.shot_path = "/nonexistent/shot"
    with pytest.raises(RuntimeError, match="has no shot.json"):
        bpy.ops.dreamrooms.load_shot()


def test_build_camera_render_setup_record_via_bpy_ops(registered, tmp_path):
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    write_shot(tmp_path / "shot", [2.5 + 0.03 * x + 0.1 * k for k in range(4)])
    s = bpy.context.scene.dreamrooms
    s.shot_path = str(tmp_path / "shot")
    s.grid = 0
    assert bpy.ops.dreamrooms.load_shot() == {"FINISHED"}
    assert bpy.context.scene.frame_end == 4 and bpy.context.scene.render.resolution_x == W
    assert bpy.ops.dreamrooms.build() == {"FINISHED"}
    plane = bpy.data.objects["dreamrooms plane"]
    assert len(plane.data.vertices) == W * H
    s.move, s.intensity = "crane", 0.5
    assert bpy.ops.dreamrooms.camera_move() == {"FINISHED"}
    cam = bpy.context.scene.camera
    bpy.context.scene.frame_set(4)
    assert cam.matrix_world.translation.z == pytest.approx(0.5, abs=1e-4)
    assert cam.data.dof.focus_distance > 2.0 and not cam.data.dof.use_dof   # keyed; sharp render unless s.dof
    assert bpy.ops.dreamrooms.render_setup() == {"FINISHED"}
    assert bpy.context.scene.render.filepath.endswith("render/render.####")
    assert bpy.ops.dreamrooms.record_camera() == {"FINISHED"}
    track = Shot.load(tmp_path / "shot").camera
    assert len(track.matrices) == 4 and track.matrices[3][2][3] == pytest.approx(0.5, abs=1e-4)
    # a bad shot is reported, not raised into Blender
    (tmp_path / "shot/shot.json").write_text("{not json")
    with pytest.raises(RuntimeError, match="not valid JSON"):
        bpy.ops.dreamrooms.build()


def test_render_job_runs_in_a_worker_process(registered, tmp_path):
    y, x = np.mgrid[0:H, 0:W].astype(np.float32)
    write_shot(tmp_path / "shot", [3.0 + 0.03 * x for _ in range(2)])
    s = bpy.context.scene.dreamrooms
    s.shot_path = str(tmp_path / "shot")
    s.samples = 1
    bpy.context.scene.render.engine = "CYCLES"  # the panel renders with the scene's engine
    bpy.ops.dreamrooms.build()
    bpy.ops.dreamrooms.camera_move()
    bpy.ops.dreamrooms.render_setup()
    # background mode has no event loop: the job runs to completion (the UI path is modal)
    assert bpy.ops.dreamrooms.run_job(kind="render") == {"FINISHED"}
    assert s.job_message == "render done on CPU", s.job_message
    for f in (1, 2):
        assert exr.is_complete(tmp_path / f"shot/render/render.{f:04d}.exr", ("ViewLayer.Combined.RGBA", "ViewLayer.Depth.Z"))
    assert "render" in Shot.load(tmp_path / "shot").sequences


def test_job_command_lines_parse_with_the_dreamrooms_cli(registered, tmp_path):
    from dreamrooms.commands.main import build_parser
    job_kinds = __import__(f"{registered.__name__}.job_kinds", fromlist=["KINDS"])
    s = bpy.context.scene.dreamrooms
    parser = build_parser()
    shot = tmp_path / "shot"
    s.shot_path = str(shot)
    outputs = {"walk": ["layers", "color"], "depth": ["layers", "depth"], "export": ["ae"]}
    for kind, sub in (("walk", "walk"), ("depth", "depth"), ("export", "ae")):
        launch = job_kinds.launch(kind, bpy.context)   # what the Run button starts
        cmd, dirs = launch.cmd, launch.outputs
        assert cmd[1:5] == ["-m", "dreamrooms", "--progress", "json"]
        args = parser.parse_args(cmd[3:])  # the real parser accepts every flag the panel sends
        assert args.command == sub and callable(args.func)
        assert [Path(d) for d in dirs] == [shot / d for d in outputs[kind]]   # the folders this job writes
    s.film_script, s.film_folder, s.film_size, s.film_render = str(tmp_path / "a.fountain"), str(tmp_path / "F"), "96x54", True
    launch = job_kinds.launch("film", bpy.context)
    args = parser.parse_args(launch.cmd[3:])
    assert (args.command, args.script, args.out, args.size, args.render) == (
        "film", [str(tmp_path / "a.fountain")], tmp_path / "F", (96, 54), True)
    assert launch.outputs == [tmp_path / "F" / "shots"]
