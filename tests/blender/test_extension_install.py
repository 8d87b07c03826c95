"""The Linux extension zip, installed into a bare Blender-as-module (a venv with only `bpy` and its
numpy, no dreamrooms, no onnxruntime), registers and runs a walk, a depth job and a render on the
wheels it bundles: the versions requirements.lock pins, and nothing the install cannot do without.

The bare venv lives in build/venv-bare (git-ignored), rebuilt only when the bpy/numpy pins change;
the zip is built for linux-x64 only (its wheels come from build/wheelhouse or PyPI once).
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import zipfile
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("bpy")

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("build_extension", ROOT / "blender_addon" / "build_extension.py")
build_extension = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_extension)

BARE = ROOT / "build" / "venv-bare"

INSTALL_AND_RUN = r"""
import json, sys, importlib.util
import bpy
zip_path, shot = sys.argv[1], sys.argv[2]
bare = {m: importlib.util.find_spec(m) is not None for m in ("dreamrooms", "onnxruntime", "cv2", "OpenEXR")}
bpy.ops.wm.read_homefile(use_empty=True)
result = bpy.ops.extensions.package_install_files(filepath=zip_path, repo="user_default", enable_on_install=True)
enabled = sorted(m for m in bpy.context.preferences.addons.keys() if m.endswith("dreamrooms"))
scene = bpy.context.scene
s = scene.dreamrooms
s.shot_path = shot
s.walk_model, s.walk_frames, s.walk_seeds, s.walk_size = "cppn-walk", 3, "3,17", "32x16"
s.depth_model = "tinydepth"
ops = {}
ops["walk"] = bpy.ops.dreamrooms.run_job(kind="walk")
ops["depth"] = bpy.ops.dreamrooms.run_job(kind="depth")
ops["load"] = bpy.ops.dreamrooms.load_shot()
ops["build"] = bpy.ops.dreamrooms.build(layout="plane")
ops["move"] = bpy.ops.dreamrooms.camera_move()
scene.render.engine, s.samples = "CYCLES", 1
ops["setup"] = bpy.ops.dreamrooms.render_setup()
ops["render"] = bpy.ops.dreamrooms.run_job(kind="render")
import numpy, onnxruntime, cv2, OpenEXR, dreamrooms, jsonschema, tqdm
mods = {m.__name__: getattr(m, "__file__", "") for m in (onnxruntime, cv2, OpenEXR, dreamrooms, jsonschema, tqdm)}
print("RESULT " + json.dumps({
    "bare": bare, "install": sorted(result), "enabled": enabled,
    "ops": {k: sorted(v) for k, v in ops.items()}, "message": s.job_message,
    "versions": {"onnxruntime": onnxruntime.__version__, "opencv-python-headless": cv2.__version__,
                 "numpy": numpy.__version__},
    "modules": mods, "numpy_file": numpy.__file__,
    "excluded": {m: importlib.util.find_spec(m) is not None for m in ("sympy", "flatbuffers", "google")},
}))
"""


def lock_pin(name: str) -> str:
    for line in build_extension.LOCK.read_text().splitlines():
        n, sep, v = line.partition("==")
        if sep and build_extension.norm(n) == name:
            return v.strip()
    raise AssertionError(f"{name} not pinned in requirements.lock")


@pytest.fixture(scope="module")
def bare_python() -> Path:
    """A venv with only bpy and numpy (and what bpy itself requires), cached by the pins."""
    reqs = [f"bpy=={lock_pin('bpy')}", f"numpy=={lock_pin('numpy')}"]
    python = BARE / "bin" / "python"
    stamp = BARE / "pins.txt"
    if not (python.exists() and stamp.is_file() and stamp.read_text() == " ".join(reqs)):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(BARE)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", *reqs], check=True)
        stamp.write_text(" ".join(reqs))
    return python


@pytest.fixture(scope="module")
def linux_zip(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    zips = build_extension.build(["linux-x64"], with_deps=True, out_dir=out)
    assert [z.name for z in zips] == [f"dreamrooms-{build_extension.version()}-linux_x64.zip"]
    return zips[0]


def test_linux_zip_bundles_one_pinned_wheel_per_package_and_python(linux_zip):
    with zipfile.ZipFile(linux_zip) as z:
        names = z.namelist()
        manifest = z.read("blender_manifest.toml").decode()
        core = zipfile.ZipFile(z.open(next(n for n in names if n.startswith("wheels/dreamrooms-"))))
        packaged = core.namelist()
    wheels = sorted(n[len("wheels/"):] for n in names if n.startswith("wheels/"))
    assert 'platforms = ["linux-x64"]' in manifest and 'license = ["SPDX:GPL-3.0-or-later"]' in manifest
    permissions = manifest.split("[permissions]")[1].split("\n[")[0]
    assert 'network = "Download the models you fetch' in permissions  # the Fetch button, nothing else
    assert all("linux" in w or w.endswith("-none-any.whl") for w in wheels), wheels
    # one OpenCV (abi3: both Pythons load it), one onnxruntime per Python, all at the locked versions
    opencv = [w for w in wheels if w.startswith("opencv")]
    assert opencv == [w for w in opencv if w.startswith(f"opencv_python_headless-{lock_pin('opencv-python-headless')}-")]
    assert len(opencv) == 1
    ort = [w for w in wheels if w.startswith("onnxruntime-")]
    assert sorted(w.split("-")[2] for w in ort) == ["cp311", "cp313"]
    assert all(w.split("-")[1] == lock_pin("onnxruntime") for w in ort)
    unused = ("numpy", "sympy", "mpmath", "coloredlogs", "humanfriendly", "flatbuffers", "protobuf", "packaging")
    assert not [w for w in wheels if w.split("-")[0].lower() in unused]
    assert linux_zip.stat().st_size < build_extension.MAX_ZIP_MB * 1e6
    assert "dreamrooms/builtin_models/models.toml" in packaged  # built-in models ship inside the wheel
    assert any(n.startswith("dreamrooms/builtin_models/") and n.endswith(".onnx") for n in packaged)
    assert "dreamrooms/ae/jsx/dreamrooms.jsxinc" in packaged


def test_zip_installs_into_bare_bpy_and_runs_walk_depth_render(linux_zip, bare_python, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    shot = tmp_path / "shot"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "DREAMROOMS", "VIRTUAL_ENV"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), OMP_NUM_THREADS="1")
    proc = subprocess.run([str(bare_python), "-c", INSTALL_AND_RUN, str(linux_zip), str(shot)],
                          capture_output=True, text=True, env=env, timeout=600)
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")), None)
    assert proc.returncode == 0 and line, proc.stdout[-3000:] + proc.stderr[-3000:]
    res = json.loads(line[7:])
    assert res["bare"] == {"dreamrooms": False, "onnxruntime": False, "cv2": False, "OpenEXR": False}
    assert res["install"] == ["FINISHED"] and res["enabled"] == ["bl_ext.user_default.dreamrooms"]
    assert all(v == ["FINISHED"] for v in res["ops"].values()), (res["ops"], res["message"])
    for name, path in res["modules"].items():  # every library from the extension's own wheels
        assert path.startswith(str(home)), (name, path)
    assert not res["numpy_file"].startswith(str(home)), "Blender's numpy, not a bundled one"
    assert res["versions"]["onnxruntime"] == lock_pin("onnxruntime")
    assert res["versions"]["opencv-python-headless"] == ".".join(lock_pin("opencv-python-headless").split(".")[:3])
    assert res["versions"]["numpy"] == lock_pin("numpy")
    assert res["excluded"] == {"sympy": False, "flatbuffers": False, "google": False}
    manifest = json.loads((shot / "shot.json").read_text())
    assert {"walk", "depth", "render"} <= set(manifest["sequences"]), manifest["sequences"].keys()
    for folder in ("depth", "render"):
        assert len(sorted((shot / folder).glob("*.exr"))) == 3, folder


def _fake_wheel(folder: Path, filename: str, requires: list[str]) -> Path:
    """A wheel file with only a METADATA (what the checks read)."""
    name, version = filename.split("-")[:2]
    path = folder / filename
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}-{version}.dist-info/METADATA",
                   "Metadata-Version: 2.1\nName: x\n" + "".join(f"Requires-Dist: {r}\n" for r in requires))
    return path


def test_build_refuses_an_undeclared_dependency_and_a_raised_macos_minimum(tmp_path):
    ok = _fake_wheel(tmp_path, "tqdm-1.0-py3-none-any.whl", ['colorama; platform_system == "Windows"'])
    build_extension.check_closure("linux-x64", "3.11", [ok])  # excluded (optional on Windows): fine
    new_dep = _fake_wheel(tmp_path, "onnxruntime-9.0-cp311-cp311-win_amd64.whl", ["numpy>=1.21", "brand-new-dep"])
    with pytest.raises(SystemExit, match="needs brand-new-dep on windows-x64 .* add it to RUNTIME"):
        build_extension.check_closure("windows-x64", "3.11", [ok, new_dep])
    # a wheel for a newer macOS than declared: Blender would install it and it would not load
    assert build_extension.macos_floor("macos-arm64", [tmp_path / "a-1-cp311-cp311-macosx_14_0_arm64.whl"]) == (14, 0)
    with pytest.raises(SystemExit, match="need macOS 15.0, above the declared 14.0"):
        build_extension.macos_floor("macos-arm64", [tmp_path / "a-1-cp311-cp311-macosx_15_0_arm64.whl"])
