"""farm/flamenco/dreamrooms.js without a Manager: the node model compiles the job, then each task's
command line runs here in dependency order, with the bpy module standing in for the `blender` binary."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import OpenEXR
import pytest
from blender_helpers import write_shot

from dreamrooms.shot import exr
from dreamrooms.shot import Shot

ROOT = Path(__file__).resolve().parents[2]
HEADLESS = ROOT / "blender_addon" / "headless.py"
NODE = shutil.which("node")
VARIABLES = {"blender": "blender", "blenderArgs": "-b -y", "dreamrooms_headless": str(HEADLESS), "dreamrooms": "dreamrooms"}

pytestmark = pytest.mark.skipif(NODE is None, reason="node not found: install Node.js 18+ for the Flamenco job checks")


def compile_job(**settings) -> list[dict]:
    r = subprocess.run([NODE, str(ROOT / "tests/farm/lib/compile_cli.js"),
                        json.dumps({"settings": settings, "variables": VARIABLES})],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["tasks"]


def run_task(task: dict) -> subprocess.CompletedProcess:
    """Run the task's one command as a Worker would, `blender` and `dreamrooms` mapped to this interpreter."""
    (command,) = task["commands"]
    argv = command["argv"]
    if command["name"] == "blender-render":
        assert argv[0] == VARIABLES["blender"]
        argv = [sys.executable, str(Path(__file__).with_name("blender_cli.py")), *argv[1:]]
    else:
        assert command["name"] == "exec" and argv[0] == VARIABLES["dreamrooms"]
        argv = [sys.executable, "-m", "dreamrooms", *argv[1:]]
    return subprocess.run(argv, capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONUNBUFFERED": "1"})


def make_room(folder: Path, frames: int = 3) -> Path:
    """A small shot and its room.blend saved with 1 sample (the job below asks for 2)."""
    y, x = np.mgrid[0:12, 0:16].astype(np.float32)
    write_shot(folder, [2.0 + 0.05 * x + 0.1 * k for k in range(frames)])
    r = subprocess.run([sys.executable, str(HEADLESS), "room", str(folder), "--layout", "plane", "--grid", "8",
                        "--move", "dolly", "--samples", "1"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert (folder / "room.blend").is_file()
    return folder


def renders(folder: Path) -> list[str]:
    return sorted(p.name for p in (folder / "render").glob("render.*.exr")) if (folder / "render").is_dir() else []


def test_job_renders_the_shot_in_chunks_then_writes_the_ae_script(tmp_path):
    shot = make_room(tmp_path / "shot")
    tasks = compile_job(shot=str(shot), frames="1-3", chunk_size=2, samples=2, device="CPU")
    assert [t["name"] for t in tasks] == ["render-1-2", "render-3-3", "ae"]
    assert tasks[2]["dependencies"] == ["render-1-2", "render-3-3"]

    first = run_task(tasks[0])
    assert first.returncode == 0, first.stderr[-3000:]
    assert renders(shot) == ["render.0001.exr", "render.0002.exr"]
    assert "render" not in Shot.load(shot).sequences  # frame 3 is missing: not recorded yet

    second = run_task(tasks[1])
    assert second.returncode == 0, second.stderr[-3000:]
    assert renders(shot) == ["render.0001.exr", "render.0002.exr", "render.0003.exr"]
    assert exr.is_complete(shot / "render/render.0003.exr", ("ViewLayer.Combined.RGBA", "ViewLayer.Depth.Z"))
    assert "render" in Shot.load(shot).sequences  # the chunk that wrote the last frame recorded the sequence
    # Cycles writes the samples it used into the EXR header: the job's 2, not the 1 saved in room.blend
    header = OpenEXR.File(str(shot / "render/render.0001.exr"), header_only=True).parts[0].header
    samples = {k: v for k, v in header.items() if k.endswith(".samples")}
    assert samples and all(str(v).strip() == "2" for v in samples.values()), samples

    ae = run_task(tasks[2])
    assert ae.returncode == 0, ae.stderr[-3000:]
    assert (shot / "ae" / "shot.jsx").is_file()


def test_gpu_device_renders_or_fails_the_task_with_the_reason(tmp_path):
    """Where the worker has no CUDA device, the task fails (exit 1) before rendering, saying which
    device is missing and where to change it; where it has one, it renders on it."""
    import bpy
    prefs = bpy.context.preferences.addons["cycles"].preferences
    kinds = [k[0] for k in prefs.get_device_types(bpy.context)]
    has_cuda = "CUDA" in kinds and any(d.type == "CUDA" for d in prefs.get_devices_for_type("CUDA"))
    shot = make_room(tmp_path / "shot", frames=1)
    (task, _ae) = compile_job(shot=str(shot), frames="1-1", chunk_size=1, samples=1, device="CUDA")
    r = run_task(task)
    if has_cuda:
        assert r.returncode == 0, r.stderr[-3000:]
        assert renders(shot) == ["render.0001.exr"]
    else:
        assert r.returncode == 1
        assert "dreamrooms: this worker has no CUDA device: choose another device (or CPU) in the job settings" in r.stderr
        assert renders(shot) == []
