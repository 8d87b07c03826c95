"""Blender tests on the real `bpy` module; the whole directory is skipped when bpy cannot import."""
from __future__ import annotations

import importlib
import types

import pytest

try:
    import bpy
except Exception as exc:  # pragma: no cover - depends on the environment
    pytest.skip(f"bpy (Blender as a Python module) cannot be imported: {exc}; "
                "install it with `pip install bpy==5.0.1` on Python 3.11 (python3 build.py setup does)",
                allow_module_level=True)

from blender_helpers import load_addon  # noqa: E402  (tests/blender is on pytest's pythonpath: pyproject.toml)


@pytest.fixture(autouse=True)
def empty_scene():
    """Every test starts from an empty file (no startup cube)."""
    bpy.ops.wm.read_homefile(use_empty=True)
    yield bpy.context.scene


@pytest.fixture
def addon_scene():
    """The add-on's modules, imported through a bl_ext-like parent package."""
    pkg = load_addon()
    names = {"build": "scene.build", "plane": "scene.depth_plane", "nodes": "scene.nodes", "folds": "scene.folds", "mesh": "scene.mesh",
             "rig": "scene.camera_rig", "render": "scene.render", "shotio": "scene.shotio", "room": "scene.room",
             "jobs": "jobs"}
    return types.SimpleNamespace(pkg=pkg, **{k: importlib.import_module(f"{pkg.__name__}.{v}") for k, v in names.items()})


@pytest.fixture
def registered():
    """The add-on registered as an installed extension would be (bl_ext.user_default.dreamrooms)."""
    pkg = load_addon("bl_ext.user_default.dreamrooms")
    pkg.register()
    yield pkg
    try:
        pkg.unregister()
    except RuntimeError:  # a test already unregistered it
        pass


@pytest.fixture(scope="session")
def grounded(tmp_path_factory):
    """The grounded room (tests/scenes/grounded.py) rendered once per session: source and moved views."""
    from scenes import grounded as G

    return G.render_views(tmp_path_factory.mktemp("grounded"))
