"""Engines come from the running Blender (EEVEE's identifier differs between 4.2-4.5 and 5.x) and
Cycles renders on the device asked for, saying which."""
from __future__ import annotations

import importlib

import bpy
import numpy as np
import pytest

from blender_helpers import load_addon, write_shot
from dreamrooms.shot import exr
from dreamrooms.errors import DreamroomsError


@pytest.fixture
def engine():
    return importlib.import_module(f"{load_addon().__name__}.scene.engine")


def test_engine_list_is_what_this_blender_renders_with(engine, empty_scene):
    ids = [i for i, _ in engine.engines()]
    assert "CYCLES" in ids and "BLENDER_WORKBENCH" in ids
    assert sum(engine.is_eevee(i) for i in ids) == 1
    for ident in ids:  # every listed engine is accepted by this Blender
        empty_scene.render.engine = ident
        assert empty_scene.render.engine == ident
    with pytest.raises(TypeError):  # the other EEVEE identifier is not (what crashed the old panel)
        empty_scene.render.engine = next(e for e in ("BLENDER_EEVEE", "BLENDER_EEVEE_NEXT") if e not in ids)


def test_engine_names_map_or_fail_with_the_choices(engine):
    eevee = next(i for i, _ in engine.engines() if engine.is_eevee(i))
    for name in ("EEVEE", "eevee", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT"):
        assert engine.resolve(name) == eevee
    assert engine.resolve("workbench") == "BLENDER_WORKBENCH" and engine.resolve("CYCLES") == "CYCLES"
    with pytest.raises(DreamroomsError, match=r"'LUXCORE' is not in Blender .*choose one of .*CYCLES"):
        engine.resolve("LUXCORE")


def test_eevee_renders_the_multilayer_exr(addon_scene, empty_scene, tmp_path):
    y, x = np.mgrid[0:8, 0:12].astype(np.float32)
    shot = write_shot(tmp_path / "shot", [2.0 + 0.05 * x])
    B = addon_scene.build
    B.build(empty_scene, shot, B.BuildSettings(layout="plane"))
    addon_scene.render.setup_render(empty_scene, shot, engine="EEVEE", samples=1)  # either identifier works
    assert addon_scene.render.render_frames(empty_scene, shot)
    assert exr.is_complete(tmp_path / "shot/render/render.0001.exr", ("ViewLayer.Combined.RGBA", "ViewLayer.Depth.Z"))
    assert empty_scene.view_settings.view_transform == "Standard"  # footage shown as it is, EXR still linear


def test_cycles_device_follows_the_request_and_says_which(engine, empty_scene):
    prefs = bpy.context.preferences.addons["cycles"].preferences
    assert engine.use_device(empty_scene, "cpu") == "CPU" and empty_scene.cycles.device == "CPU"
    what = engine.use_device(empty_scene, "auto")
    assert (empty_scene.cycles.device == "GPU") == what.startswith("GPU ("), what
    if empty_scene.cycles.device == "CPU":  # no GPU on this machine: asking for one fails with the fix
        with pytest.raises(DreamroomsError, match="--device gpu: Cycles finds no GPU.*use --device cpu"):
            engine.use_device(empty_scene, "gpu")
    with pytest.raises(DreamroomsError, match="choose one of auto, cpu, gpu"):
        engine.use_device(empty_scene, "fastest")
    # the panel passes on the user's choice: a GPU scene with a backend in the preferences
    empty_scene.cycles.device = "GPU"
    prefs.compute_device_type = "CUDA"
    assert engine.from_preferences(empty_scene) == ("gpu", "CUDA")
    prefs.compute_device_type = "NONE"
    assert engine.from_preferences(empty_scene) == ("cpu", None)


def test_render_worker_gets_the_users_device(addon_scene):
    jobs = addon_scene.jobs
    cmd = jobs.render_command("/tmp/x.blend", "/tmp/shot", device=("gpu", "OPTIX"))
    assert cmd[cmd.index("--device") + 1] == "gpu" and cmd[cmd.index("--compute-backend") + 1] == "OPTIX"
    from importlib import import_module
    headless = import_module(f"{addon_scene.pkg.__name__}.headless")
    args = headless.build_parser().parse_args(cmd[cmd.index("render"):])
    assert args.device == "gpu" and args.compute_backend == "OPTIX"


def test_room_command_maps_engine_names_and_rejects_others(tmp_path):
    import subprocess
    import sys
    y, x = np.mgrid[0:8, 0:12].astype(np.float32)
    write_shot(tmp_path / "shot", [2.0 + 0.05 * x])

    def room(*args):
        return subprocess.run([sys.executable, "-m", "dreamrooms", "room", str(tmp_path / "shot"), "--layout", "plane",
                               "--no-save", *args], capture_output=True, text=True, timeout=240)
    # the 4.2-4.5 identifier on a 5.x Blender: mapped, rendered, and the device said
    r = room("--engine", "BLENDER_EEVEE_NEXT", "--render", "--samples", "1")
    assert r.returncode == 0, r.stderr[-2000:]
    assert "rendering on BLENDER_EEVEE" in r.stderr
    assert exr.is_complete(tmp_path / "shot/render/render.0001.exr", ("ViewLayer.Combined.RGBA",))
    bad = room("--engine", "LUXCORE")
    assert bad.returncode == 2 and "--engine: invalid choice: 'LUXCORE'" in bad.stderr
    r = room("--engine", "CYCLES", "--device", "cpu", "--render", "--samples", "1")
    assert r.returncode == 0 and "rendering on CPU" in r.stderr, r.stderr[-2000:]


def test_render_without_device_keeps_what_the_file_says(engine, empty_scene, addon_scene):
    """A render farm sets the device before the headless render runs; no --device must not undo it."""
    headless = importlib.import_module(f"{addon_scene.pkg.__name__}.headless")
    args = headless.build_parser().parse_args(["render", "/tmp/shot"])
    assert args.device is None
    empty_scene.render.engine = "CYCLES"
    empty_scene.cycles.device = "GPU"  # the file asks for a GPU; this machine's preferences name none
    assert engine.use_device(empty_scene, args.device) == "CPU" and empty_scene.cycles.device == "GPU"
