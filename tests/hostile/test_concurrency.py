"""Repro 8: two `depth` runs racing on one shot never leave mixed settings; the loser says who holds it."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from hostile.helpers import dr, dr_env

TRIALS = 8


def _frame_settings(path) -> dict:
    """The settings a depth frame was made with (the fingerprint `depth` stamps into every frame's header)."""
    import OpenEXR
    with OpenEXR.File(str(path), header_only=True) as f:
        for key, value in f.parts[0].header.items():
            if "depth" in key and isinstance(value, (str, bytes)):
                text = value.decode() if isinstance(value, bytes) else value
                if text.startswith("{"):
                    return json.loads(text)
    raise AssertionError(f"{path}: no settings stamp")


@pytest.fixture(scope="module")
def race_template(tmp_path_factory):
    shot = tmp_path_factory.mktemp("race") / "shot"
    assert dr("walk", "--model", "cppn-walk", "--out", shot, "--frames", 24, "--size", "64x32").code == 0
    return shot


def test_two_depth_runs_never_mix(race_template, tmp_path):
    import shutil
    locked = 0
    for trial in range(TRIALS):
        shot = tmp_path / f"t{trial}"
        shutil.copytree(race_template, shot)
        runs = [subprocess.Popen([sys.executable, "-m", "dreamrooms", "depth", str(shot), "--model", "tinydepth",
                                  "--out", str(shot), "--overwrite", "--near", near, "--far", far, "--batch", "1"],
                                 env=dr_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for near, far in (("1", "10"), ("2", "20"))]
        results = [(p.wait(timeout=120), p.stderr.read()) for p in runs]
        for p in runs:
            p.stdout.close()
            p.stderr.close()
        for code, err in results:
            assert "Traceback" not in err, err
            if code != 0:
                lines = [ln for ln in err.splitlines() if ln.startswith("dreamrooms: error:")]
                assert code == 1 and len(lines) == 1, err
                if "pid" in lines[0]:
                    locked += 1
        assert any(code == 0 for code, _ in results), results
        meta = json.loads((shot / "shot.json").read_text())["sequences"]["depth"]["meta"]
        for frame in sorted((shot / "depth").glob("*.exr")):
            s = _frame_settings(frame)
            assert (s["near"], s["far"]) == (meta["near"], meta["far"]), f"trial {trial}: {frame.name} mixes settings"
    assert locked >= 1, "the runs never overlapped: the race was not exercised (or no lock names the other run)"


@pytest.mark.parametrize("stage,argv", [
    ("depth", ["depth", "{shot}", "--model", "tinydepth", "--out", "{shot}", "--overwrite", "--near", "2"]),
    ("walk", ["walk", "--model", "cppn-walk", "--out", "{shot}", "--frames", "3", "--size", "32x16", "--overwrite",
              "--seeds", "5"]),
    ("ae", ["ae", "{shot}"]),
    ("room", ["room", "{shot}", "--engine", "BLENDER_WORKBENCH"]),
])
def test_a_held_stage_lock_refuses_a_second_writer(shot, stage, argv):
    """While another process (here: this test) writes a stage of a shot, a run of that stage fails at once with one
    line naming the holder's pid, and changes nothing."""
    import os

    from dreamrooms.shot.lock import writer_lock

    from hostile.helpers import snapshot

    if stage == "room":
        pytest.importorskip("bpy")
    with writer_lock(shot, stage):
        before = snapshot(shot)
        r = dr(*[a.format(shot=shot) for a in argv])
        r.one_line_error(f"pid {os.getpid()}")
        assert snapshot(shot) == before
