"""Models inside Blender: the picker lists the registry with each model's status, Fetch is a job
that respects Blender's online-access setting and stores into the models folder the workers use,
and a missing model points at Fetch, not at a command line."""
from __future__ import annotations

import importlib
import shutil
from pathlib import Path

import bpy
import pytest

from blender_helpers import ROOT

MANIFEST = """
[models.remote-tiny]
kind = "depth"
file = "remote-tiny.onnx"
url = "{url}"
sha256 = "{sha}"
size = {size}
license = "MIT (test)"

[models.remote-tiny.input]
name = "image"
layout = "NCHW"
multiple_of = 32
target = 128
resize = "lower_bound"
normalization_in_graph = true
range = [0.0, 1.0]

[models.remote-tiny.output]
name = "inverse_depth"
semantics = "inverse_relative"
"""


@pytest.fixture
def addon(registered, tmp_path, monkeypatch):
    pkg = registered
    prefs = importlib.import_module(f"{pkg.__name__}.preferences")
    monkeypatch.setattr(prefs.Defaults, "model_folder", str(tmp_path / "models"))
    ui = importlib.import_module(f"{pkg.__name__}.models_ui")
    ui.forget()
    online = bpy.context.preferences.system.use_online_access
    yield pkg
    bpy.context.preferences.system.use_online_access = online


def _remote_model(tmp_path) -> str:
    from dreamrooms.models.registry import sha256_file
    src = tmp_path / "server" / "remote-tiny.onnx"
    src.parent.mkdir()
    shutil.copy(ROOT / "models_onnx" / "tinydepth.onnx", src)
    models = tmp_path / "models"
    models.mkdir()
    (models / "models.toml").write_text(MANIFEST.format(url=src.as_uri(), sha=sha256_file(src), size=src.stat().st_size))
    return "remote-tiny"


def test_picker_lists_models_with_status_and_sets_the_field(addon):
    ui = importlib.import_module(f"{addon.__name__}.models_ui")
    prop = bpy.ops.dreamrooms.pick_depth_model.get_rna_type().properties["model"]
    items = ui._items_for("depth")(None, bpy.context)
    names = [i[0] for i in items]
    assert "tinydepth" in names and "cppn-walk" not in names  # depth models only
    tiny = next(i for i in items if i[0] == "tinydepth")
    assert "built-in" in tiny[2] and "MIT" in tiny[2]
    assert prop is not None
    assert bpy.ops.dreamrooms.pick_depth_model(model="tinydepth") == {"FINISHED"}
    assert bpy.context.scene.dreamrooms.depth_model == "tinydepth"


def test_fetch_respects_online_access_and_fills_the_models_folder(addon, tmp_path):
    name = _remote_model(tmp_path)
    ui = importlib.import_module(f"{addon.__name__}.models_ui")
    assert ui.status(ui.entries()[name]).startswith("not installed")
    bpy.context.preferences.system.use_online_access = False
    with pytest.raises(RuntimeError, match="online access is off: allow it in Preferences"):
        bpy.ops.dreamrooms.run_job(kind="fetch", model=name)
    assert not (tmp_path / "models" / "remote-tiny.onnx").exists()
    bpy.context.preferences.system.use_online_access = True
    assert bpy.ops.dreamrooms.run_job(kind="fetch", model=name) == {"FINISHED"}, bpy.context.scene.dreamrooms.job_message
    assert (tmp_path / "models" / "remote-tiny.onnx").is_file()
    assert ui.status(ui.entries()[name]) == "installed"
    prefs = importlib.import_module(f"{addon.__name__}.preferences")
    assert prefs.worker_env()["DREAMROOMS_MODELS"] == str(tmp_path / "models")  # where depth jobs look


def test_missing_model_points_at_fetch(addon, tmp_path):
    name = _remote_model(tmp_path)
    s = bpy.context.scene.dreamrooms
    s.shot_path, s.depth_model = str(tmp_path / "shot"), name
    job_kinds = importlib.import_module(f"{addon.__name__}.job_kinds")
    with pytest.raises(RuntimeError, match="is not installed: press Fetch"):
        job_kinds.launch("depth", bpy.context)


def test_models_default_to_the_extension_user_folder(addon, monkeypatch):
    prefs = importlib.import_module(f"{addon.__name__}.preferences")
    monkeypatch.setattr(prefs.Defaults, "model_folder", "")
    ui = importlib.import_module(f"{addon.__name__}.models_ui")
    folder = Path(ui.models_dir())
    assert folder.parts[-2:] == ("dreamrooms", "models") and "extensions" in folder.parts
