"""Repros 12 and 14: stale state and leftovers. A shot never claims what its files are not, and a failed
run leaves the shot as it found it."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from dreamrooms.shot import exr

from hostile.helpers import dr, snapshot


def test_walk_overwrite_drops_the_stale_depth_sequence(shot):
    """Repro 12: a new walk over an old shot must not keep the old walk's depth registered."""
    r = dr("walk", "--model", "cppn-walk", "--out", shot, "--frames", 4, "--size", "16x16", "--overwrite")
    assert r.code == 0, r.err
    data = json.loads((shot / "shot.json").read_text())
    assert "depth" not in data["sequences"]
    assert not list((shot / "depth").glob("*.exr"))   # the old walk's depth frames are gone too
    assert dr("shot", "info", shot).code == 0


def _shrink_frame(shot, rel="layers/walk.0002.exr"):
    exr.write_frame(shot / rel, {"RGBA": np.ones((8, 16, 4), np.float32), "depth.Z": np.ones((8, 16), np.float32)})


@pytest.mark.parametrize("command", [("shot", "info"), ("ae",)])
def test_frame_of_another_resolution_is_caught(shot, command):
    """Repro 12: a frame whose size differs from shot.json's resolution is an error naming the file."""
    _shrink_frame(shot)
    dr(*command, shot).one_line_error("walk.0002.exr", "16x8")


def test_failed_ae_leaves_no_partial_folder(shot):
    """Repro 14: `ae` over a shot with a corrupt frame fails in one line and leaves no ae/ folder."""
    frame = shot / "layers" / "walk.0003.exr"
    frame.write_bytes(frame.read_bytes()[: frame.stat().st_size * 2 // 3])  # header intact, pixels cut
    dr("ae", shot, "--depth-range", "1,10").one_line_error("walk.0003.exr")
    assert not (shot / "ae").exists()


def test_stale_walk_temp_files_are_removed(shot):
    """Repro 14: temp files of a killed walk (a dead pid) are cleaned by the next run."""
    stale = shot / "layers" / ".walk.0002.exr.999999.tmp"
    stale.write_bytes(b"half a frame")
    r = dr("walk", "--model", "cppn-walk", "--out", shot, "--frames", 3, "--size", "32x16")
    assert r.code == 0, r.err
    assert not stale.exists()


def test_depth_failure_midway_keeps_the_shot_consistent(shot):
    """A depth rerun that fails on a corrupt colour frame leaves shot.json as it was."""
    before = (shot / "shot.json").read_bytes()
    (shot / "layers" / "walk.0002.exr").write_bytes(b"v/1\x01 truncated")
    dr("depth", shot, "--model", "tinydepth", "--out", shot, "--overwrite", "--near", 2).one_line_error("walk.0002.exr")
    assert (shot / "shot.json").read_bytes() == before
