"""`dreamrooms room` without Blender: a clear error telling how to run it inside Blender."""
import importlib.util

import pytest

from dreamrooms.room_options import parse_point
from dreamrooms.shot.frames import parse_frames


def test_room_without_bpy_says_how_to_run_it_in_blender(run_cli, tmp_path, monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "bpy" else real(name, *a))
    code, out, err = run_cli("room", tmp_path, "--layout", "corridor", "--move", "walk_past")
    assert code == 1
    assert "dreamrooms: error:" in err and "blender -b -P blender_addon/headless.py -- room" in err
    assert not any(tmp_path.iterdir())  # nothing written


def test_room_arguments_are_checked_before_anything_runs(run_cli, tmp_path):
    code, _, err = run_cli("room", tmp_path, "--frames", "9-2")
    assert code == 2 and "last frame is before the first" in err
    code, _, err = run_cli("room", tmp_path, "--layout", "tunnel")
    assert code == 2 and "invalid choice" in err
    assert parse_frames("1-48") == (1, 48) and parse_frames("7") == (7, 7)
    with pytest.raises(Exception, match="U,V"):
        parse_point("middle")
