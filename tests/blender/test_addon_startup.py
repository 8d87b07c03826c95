"""Enabling the add-on loads no shot validation, EXR, progress-bar or network library: the scene builders are
imported by the operators that use them (checked in a fresh interpreter's sys.modules)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ADDON = Path(__file__).resolve().parents[2] / "blender_addon"

SCRIPT = f"""
import importlib.util, json, sys, types
import bpy
before = set(sys.modules)
for parent in ("bl_ext", "bl_ext.user_default"):
    mod = types.ModuleType(parent); mod.__path__ = []; sys.modules[parent] = mod
spec = importlib.util.spec_from_file_location("bl_ext.user_default.dreamrooms", {str(ADDON / "__init__.py")!r},
                                              submodule_search_locations=[{str(ADDON)!r}])
pkg = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = pkg
spec.loader.exec_module(pkg)
pkg.register()
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_enabling_the_addon_imports_no_heavy_library():
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300, check=True)
    new = set(json.loads(proc.stdout.strip().splitlines()[-1]))
    assert "bl_ext.user_default.dreamrooms.panels" in new  # it did register
    assert sorted(m for m in ("jsonschema", "OpenEXR", "tqdm", "ssl", "urllib.request", "cv2", "onnxruntime")
                  if m in new) == []
    assert not any(m.endswith((".scene.build", ".scene.render", ".scene.shotio")) for m in new)
