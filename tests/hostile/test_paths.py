"""Repros 1, 4 (room part in test_room.py) and 6: paths from data never leave their folder."""
from __future__ import annotations

import hashlib
import os

import pytest

from hostile.helpers import dr, dr_env, edit_manifest, snapshot


def _escape_patterns(sentinel):
    return ["../outside/victim#.txt", str(sentinel / "victim#.txt"), "layers/../../outside/victim#.txt"]


@pytest.mark.parametrize("which", [0, 1, 2], ids=["dotdot", "absolute", "inner-dotdot"])
def test_depth_pattern_cannot_write_outside_the_shot(shot, sentinel, which):
    """Repro 1: a depth pattern leading out of the shot must not turn a victim file into an EXR."""
    pattern = _escape_patterns(sentinel)[which]
    edit_manifest(shot, frame_start=3, frame_end=3, sequences__walk__frame_offset=-2,
                  sequences__depth__pattern=pattern)
    before = snapshot(sentinel)
    r = dr("depth", shot, "--model", "tinydepth", "--out", shot)
    r.one_line_error("shot.json", "sequences.depth.pattern")
    assert snapshot(sentinel) == before


def test_shot_info_rejects_escaping_pattern(shot, sentinel):
    edit_manifest(shot, sequences__walk__pattern="../outside/victim.####.exr")
    dr("shot", "info", shot).one_line_error("shot.json", "sequences.walk.pattern")


def test_symlink_out_of_the_shot_is_refused(shot, sentinel):
    """A folder inside the shot that is a symlink to elsewhere is a way out too."""
    import shutil
    shutil.rmtree(shot / "depth")
    os.symlink(sentinel, shot / "depth")
    edit_manifest(shot, sequences__depth__pattern="depth/victim.####.exr")
    before = snapshot(sentinel)
    r = dr("depth", shot, "--model", "tinydepth", "--out", shot, "--overwrite")
    r.one_line_error("symlink")
    assert snapshot(sentinel) == before


def _models_dir_with(tmp_path, file_value: str, payload: bytes) -> tuple:
    """A user manifest whose entry `evil` has `file = file_value`, downloadable from a file:// URL."""
    mdir = tmp_path / "models"
    mdir.mkdir()
    src = tmp_path / "payload.onnx"
    src.write_bytes(payload)
    sha = hashlib.sha256(payload).hexdigest()
    (mdir / "models.toml").write_text(
        '[models.evil]\nkind = "generator"\n'
        f'file = {file_value!r}\n'.replace("'", '"') +
        f'url = "{src.as_uri()}"\nsha256 = "{sha}"\nsize = {len(payload)}\n'
        '[models.evil.generator]\nlatent_input = "z"\nlatent_dim = 4\nnative_size = [8, 8]\n')
    return mdir, src


@pytest.mark.parametrize("kind", ["dotdot", "absolute"])
def test_models_fetch_cannot_write_outside_the_models_dir(tmp_path, sentinel, kind):
    """Repro 6: a manifest `file` with ../ or an absolute path must not be written there."""
    target = "../outside/planted.onnx" if kind == "dotdot" else str(sentinel / "planted.onnx")
    mdir, _ = _models_dir_with(tmp_path, target, b"attacker bytes")
    before = snapshot(sentinel)
    r = dr("models", "fetch", "evil", env=dr_env(DREAMROOMS_MODELS=str(mdir)))
    r.one_line_error("models.toml", "file")
    assert snapshot(sentinel) == before


def test_model_name_with_separator_in_manifest_is_refused(tmp_path):
    mdir = tmp_path / "models"
    mdir.mkdir()
    (mdir / "models.toml").write_text('[models."../x"]\nkind = "depth"\nfile = "x.onnx"\n'
                                      '[models."../x".input]\nsize = [8, 8]\nnormalization_in_graph = true\n'
                                      '[models."../x".output]\nsemantics = "inverse_relative"\n')
    dr("models", "list", env=dr_env(DREAMROOMS_MODELS=str(mdir))).one_line_error("models.toml", "../x")
