"""`pip wheel .` makes a dreamrooms that works outside the source tree: built-in models and the AE library are
package data, nothing reaches back into the repository."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_installed_wheel_runs_walk_depth_and_ae_from_any_folder(tmp_path):
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(ROOT)], check=True, cwd=tmp_path)
    wheel = next(wheels.glob("dreamrooms-*.whl"))
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, cwd=tmp_path)
    work = tmp_path / "elsewhere"
    work.mkdir()
    # the installed copy first on the path; its dependencies come from this environment
    env = {k: v for k, v in os.environ.items() if not k.startswith("DREAMROOMS_")}
    env.update(PYTHONPATH=str(site), DREAMROOMS_PROGRESS="none", DREAMROOMS_MODELS=str(tmp_path / "models"))

    def dreamrooms(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "dreamrooms", *args], cwd=work, env=env, capture_output=True,
                              text=True, timeout=300)

    where = subprocess.run([sys.executable, "-c", "import dreamrooms; print(dreamrooms.__file__)"], cwd=work, env=env,
                           capture_output=True, text=True, check=True).stdout.strip()
    assert Path(where).is_relative_to(site), where
    r = dreamrooms("walk", "--model", "cppn-walk", "--out", "shot", "--frames", "3", "--size", "64x36", "--seeds", "1,2")
    assert r.returncode == 0, r.stderr
    r = dreamrooms("depth", "shot", "--model", "tinydepth", "--out", "shot")
    assert r.returncode == 0, r.stderr
    r = dreamrooms("ae", "shot")
    assert r.returncode == 0, r.stderr
    shot = json.loads((work / "shot" / "shot.json").read_text())
    assert "depth.Z" in shot["sequences"]["walk"]["channels"]
    assert (work / "shot" / "ae" / "shot.jsx").is_file() and (work / "shot" / "ae" / "dreamrooms.jsx").is_file()
    models = json.loads(dreamrooms("models", "list", "--json").stdout)
    builtins = {m["name"]: m for m in models if m.get("builtin")}
    assert {"tinydepth", "cppn-walk"} <= set(builtins)
