"""Repros 7, 10, 11, 14: every failure is one line naming the file and the fix, decided before the first
byte is written (nothing partial on disk)."""
from __future__ import annotations

import json

import numpy as np
import pytest

from hostile.helpers import dr, edit_manifest


@pytest.fixture
def frames_dir(tmp_path):
    """Three small PNG frames, the input of `depth` from footage."""
    import cv2
    d = tmp_path / "frames"
    d.mkdir()
    rng = np.random.default_rng(1)
    for i in range(1, 4):
        cv2.imwrite(str(d / f"img.{i:04d}.png"), rng.integers(0, 255, (16, 32, 3), dtype=np.uint8))
    return d


# ---- OS errors: one line, not a traceback --------------------------------------------------------------

def test_out_under_a_file(tmp_path):
    """A file where a folder is expected."""
    (tmp_path / "afile").write_text("x")
    dr("walk", "--model", "cppn-walk", "--out", tmp_path / "afile" / "shot", "--frames", 2,
       "--size", "16x16").one_line_error("afile")


def test_out_is_a_file(tmp_path):
    (tmp_path / "afile").write_text("x")
    dr("walk", "--model", "cppn-walk", "--out", tmp_path / "afile", "--frames", 2,
       "--size", "16x16").one_line_error("afile")


def test_name_too_long(tmp_path, frames_dir):
    out = tmp_path / ("n" * 300)
    dr("depth", frames_dir, "--model", "tinydepth", "--out", out).one_line_error("too long")


def test_depth_out_is_a_file(tmp_path, frames_dir):
    (tmp_path / "afile").write_text("x")
    dr("depth", frames_dir, "--model", "tinydepth", "--out", tmp_path / "afile").one_line_error("afile")


# ---- shot.json: unknown keys and deep nesting ------------------------------------------------------------

@pytest.mark.parametrize("key", ["sequences__walk__bogus", "camera__bogus"])
def test_unknown_keys_in_shot_json(shot, key):
    if key.startswith("camera"):
        edit_manifest(shot, camera={"matrices": [np.eye(4).tolist()] * 3, "lens_mm": 35, "sensor_mm": 36})
    edit_manifest(shot, **{key: 1})
    dr("shot", "info", shot).one_line_error("shot.json", "bogus")


def test_deeply_nested_json(shot):
    (shot / "shot.json").write_text("[" * 100_000 + "]" * 100_000)
    dr("shot", "info", shot).one_line_error("shot.json")


def test_deeply_nested_json_inside_meta(shot):
    data = json.loads((shot / "shot.json").read_text())
    text = json.dumps(data).replace('"meta": {', '"meta": {"deep": ' + "[" * 50_000 + "]" * 50_000 + ", ", 1)
    (shot / "shot.json").write_text(text)
    dr("shot", "info", shot).one_line_error("shot.json")


# ---- settings validated before the first byte ---------------------------------------------------------------

@pytest.mark.parametrize("flag,value", [("--far", "inf"), ("--near", "nan"), ("--fps", "nan"), ("--fps", "-5"),
                                        ("--fps", "0"), ("--fps", "1e308"), ("--far", "1e309")])
def test_depth_bad_numbers_write_nothing(tmp_path, frames_dir, flag, value):
    out = tmp_path / "out"
    dr("depth", frames_dir, "--model", "tinydepth", "--out", out, flag, value).refused(flag)
    assert not out.exists()


@pytest.mark.parametrize("args", [("--fps", "nan"), ("--fps", "1e308"), ("--noise-loop", "1e9"), ("--noise-loop", "nan"),
                                  ("--truncation", "nan"), ("--size", "100000x100000"), ("--frames", "100000000"),
                                  ("--batch", "0"), ("--batch", "100000"), ("--compression", "bogus"),
                                  ("--threads", "-3")])
def test_walk_bad_settings_write_nothing(tmp_path, args):
    """Repros 10/14: refused in one line before anything (walk.settings.json included) is written."""
    out = tmp_path / "out"
    base = {"--frames": "3", "--size": "16x16"}
    base[args[0]] = args[1]
    argv = [x for kv in base.items() for x in kv]
    r = dr("walk", "--model", "cppn-walk", "--out", out, *argv, timeout=20)
    r.refused(args[0])
    assert not out.exists()


def test_resolution_limit_in_shot_json(shot):
    edit_manifest(shot, resolution=[100000, 100000])
    dr("shot", "info", shot).one_line_error("shot.json", "resolution")


def test_frame_count_limit_in_shot_json(shot):
    edit_manifest(shot, frame_start=1, frame_end=10**9, sequences={})
    dr("shot", "info", shot).one_line_error("shot.json", "frame")


def test_debug_shows_the_traceback_behind_the_line(shot):
    """`--debug` keeps the one line and adds the traceback that led to it."""
    (shot / "shot.json").write_text("[" * 100_000)
    r = dr("--debug", "shot", "info", shot)
    assert r.code == 1 and "Traceback" in r.err
    assert r.err.rstrip().splitlines()[-1].startswith("dreamrooms: error:")


def test_os_error_midway_is_one_line(tmp_path):
    """An OS error in the middle of a stage (a file where the walk's layers folder goes) is one line."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "layers").write_text("not a folder")
    dr("walk", "--model", "cppn-walk", "--out", out, "--frames", 2, "--size", "16x16").one_line_error("layers")


@pytest.mark.parametrize("command", [["ae", "{shot}", "--out", ""], ["walk", "--model", "cppn-walk", "--out", "",
                                                                   "--frames", "2", "--size", "16x16"]])
def test_empty_output_path_is_refused(shot, tmp_path, command):
    """An empty --out (found by the CLI fuzzer: `ae --out ''` wrote into the working directory) is refused."""
    r = dr(*[c.format(shot=shot) for c in command], cwd=tmp_path)
    r.refused("--out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shot"]
