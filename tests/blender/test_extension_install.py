"""`build.py extension` makes a zip that Blender's own extension installer accepts, and its operators run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

pytest.importorskip("bpy")

from shot_helpers import make_shot  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]

INSTALL_AND_RUN = r"""
import json, sys
import bpy
zip_path, shot = sys.argv[1], sys.argv[2]
bpy.ops.wm.read_homefile(use_empty=True)
result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
import addon_utils
enabled = sorted(m for m in bpy.context.preferences.addons.keys() if m.endswith("dreamrooms"))
ops = sorted(name for name in dir(bpy.ops.dreamrooms))
scene = bpy.context.scene
scene.dreamrooms.shot_path = shot
r1 = bpy.ops.dreamrooms.load_shot()
r2 = bpy.ops.dreamrooms.build(layout="plane")
meshes = [o.name for o in scene.objects if o.type == "MESH"]
addon_module = sys.modules[enabled[0]] if enabled else None
print("RESULT " + json.dumps({
    "install": sorted(result), "enabled": enabled, "ops": ops, "load": sorted(r1), "build": sorted(r2),
    "meshes": meshes, "resolution": [scene.render.resolution_x, scene.render.resolution_y],
    "frames": [scene.frame_start, scene.frame_end],
    "addon_file": getattr(addon_module, "__file__", ""),
}))
"""


def test_built_zip_installs_enables_and_runs_operators(tmp_path):
    out = tmp_path / "dreamrooms.zip"
    subprocess.run([sys.executable, str(ROOT / "blender_addon" / "build_extension.py"), "--no-deps", "--out", str(out)],
                   check=True, cwd=ROOT)
    with zipfile.ZipFile(out) as z:
        names = z.namelist()
    assert "blender_manifest.toml" in names and "__init__.py" in names
    wheel = [n for n in names if n.startswith("wheels/dreamrooms-") and n.endswith(".whl")]
    assert len(wheel) == 1, names
    with zipfile.ZipFile(out) as z, z.open(wheel[0]) as wf:
        inner = zipfile.ZipFile(wf)
        packaged = inner.namelist()
    assert "dreamrooms/builtin_models/models.toml" in packaged  # built-in models ship inside the wheel
    assert any(n.startswith("dreamrooms/builtin_models/") and n.endswith(".onnx") for n in packaged)
    assert "dreamrooms/ae/jsx/dreamrooms.jsx" in packaged

    shot = make_shot(tmp_path / "shot", frames=3)
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"))
    proc = subprocess.run([sys.executable, "-c", INSTALL_AND_RUN, str(out), str(shot.folder)],
                          capture_output=True, text=True, env=env, timeout=300)
    line = next((l for l in proc.stdout.splitlines() if l.startswith("RESULT ")), None)
    assert proc.returncode == 0 and line, proc.stdout[-2000:] + proc.stderr[-2000:]
    res = json.loads(line[7:])
    assert res["install"] == ["FINISHED"]
    assert res["enabled"] == ["bl_ext.user_default.dreamrooms"]
    assert str(home) in res["addon_file"], "the add-on must run from the installed extension, not the source tree"
    assert {"load_shot", "build", "camera_move", "render_setup"} <= set(res["ops"])
    assert res["load"] == ["FINISHED"] and res["build"] == ["FINISHED"]
    assert res["resolution"] == [16, 8] and res["frames"] == [1, 3]
    assert res["meshes"], "build made no mesh"
