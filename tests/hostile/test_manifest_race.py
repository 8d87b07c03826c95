"""Issue 24 items 1 and 4: lock files never follow a symlink, and stages running at once never lose each other's
shot.json records (one shot-wide manifest lock around every re-read, merge and write)."""
from __future__ import annotations

import json
import multiprocessing
import shutil
import subprocess
import sys

import pytest

from hostile.helpers import dr, dr_env, snapshot

STAGE_RUNS = {
    "depth": ["depth", "{shot}", "--model", "tinydepth", "--out", "{shot}", "--overwrite"],
    "walk": ["walk", "--model", "cppn-walk", "--out", "{shot}", "--frames", "3", "--size", "32x16", "--overwrite"],
    "mask": ["mask", "{shot}", "--out", "{shot}", "--from-depth"],
    "layers": ["layers", "{shot}", "--count", "2"],
    "ae": ["ae", "{shot}", "--depth-range", "1,10"],
}


@pytest.mark.parametrize("stage", sorted(STAGE_RUNS))
def test_a_symlinked_lock_file_is_refused_and_its_target_untouched(shot, sentinel, stage):
    """Repro 1: `ln -s V S/.STAGE.lock` left V truncated and overwritten with the holder's pid; now exit 1, one line
    naming the lock and the fix, V byte for byte as it was, the shot unchanged."""
    victim = sentinel / "victim1.txt"
    (shot / f".{stage}.lock").symlink_to(victim)
    before, shot_before = victim.read_bytes(), snapshot(shot)
    dr(*[a.format(shot=shot) for a in STAGE_RUNS[stage]]).one_line_error(f".{stage}.lock", "symlink", "remove it")
    assert victim.read_bytes() == before and snapshot(shot) == shot_before


def test_a_hard_linked_or_fifo_lock_file_is_refused(shot, sentinel):
    import os

    victim = sentinel / "victim2.txt"
    os.link(victim, shot / ".mask.lock")
    dr("mask", shot, "--out", shot, "--from-depth").one_line_error(".mask.lock", "hard links")
    assert victim.read_text() == "victim\n"
    os.mkfifo(shot / ".layers.lock")
    dr("layers", shot, "--count", "2").one_line_error(".layers.lock", "not a plain file")


def _add_records(folder: str, worker: int, rounds: int) -> None:
    from dreamrooms.shot import Sequence, update_shot

    for k in range(rounds):
        def merge(shot, key=f"w{worker}_{k}"):
            shot.sequences[key] = Sequence(f"x/{key}.####.exr", ["Y"], "data", False, meta={"worker": worker})
            return shot
        update_shot(folder, merge)


def test_eight_racing_writers_never_lose_a_record(shot):
    """8 processes each merge 12 records into shot.json at once: all 96 are there (without the manifest lock most
    are lost: each writer saved the copy it had read)."""
    ctx = multiprocessing.get_context("fork")   # each child re-reads and writes shot.json itself
    procs = [ctx.Process(target=_add_records, args=(str(shot), w, 12)) for w in range(8)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    seqs = json.loads((shot / "shot.json").read_text())["sequences"]
    assert {f"w{w}_{k}" for w in range(8) for k in range(12)} <= set(seqs)
    assert {"walk", "depth"} <= set(seqs)            # what was there before is kept too
    assert not (shot / ".shot.json.lock").exists()


def _race(shot, *argvs):
    runs = [subprocess.Popen([sys.executable, "-m", "dreamrooms", *map(str, a)], env=dr_env(), text=True,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE) for a in argvs]
    out = [(p.wait(timeout=300), p.communicate()[1]) for p in runs]
    for code, err in out:
        assert "Traceback" not in err, err
        if code:
            lines = [ln for ln in err.splitlines() if ln.startswith("dreamrooms: error:")]
            assert code == 1 and len(lines) == 1 and "rewritten by another run" in lines[0], err
    return [code for code, _ in out]


@pytest.fixture(scope="module")
def race_shot(tmp_path_factory):
    shot = tmp_path_factory.mktemp("race") / "shot"
    assert dr("walk", "--model", "cppn-walk", "--out", shot, "--frames", 8, "--size", "64x32").code == 0
    assert dr("depth", shot, "--model", "tinydepth", "--out", shot).code == 0
    return shot


def test_layers_and_depth_at_once_keep_both_records_true(race_shot, tmp_path):
    """Repro 4: `layers --count 2` and `depth --overwrite --near 2` at once left shot.json saying near 1 over frames
    stamped 2 (3 of 4 trials).  Now shot.json always says what the depth frames were made with, and layers either
    registers (its inputs unchanged) or fails in one line saying another run rewrote what it read."""
    for trial in range(2):
        shot = tmp_path / f"t{trial}"
        shutil.copytree(race_shot, shot)
        layers_rc, depth_rc = _race(shot, ["layers", shot, "--count", "2"],
                                    ["depth", shot, "--model", "tinydepth", "--out", shot, "--overwrite", "--near", 2])
        assert depth_rc == 0
        data = json.loads((shot / "shot.json").read_text())
        assert data["sequences"]["depth"]["meta"]["near"] == 2.0, f"trial {trial}: depth's record lost"
        assert ("layer0" in data["sequences"]) == (layers_rc == 0), f"trial {trial}"


def test_mask_and_layers_at_once_both_register(race_shot, tmp_path):
    """Repro 4: `mask` + `layers` at once lost the mask_foreground registration in 3 of 3 trials."""
    for trial in range(2):
        shot = tmp_path / f"m{trial}"
        shutil.copytree(race_shot, shot)
        codes = _race(shot, ["mask", shot, "--out", shot, "--from-depth"], ["layers", shot, "--count", "2"])
        data = json.loads((shot / "shot.json").read_text())
        assert codes[0] == 0 and "mask_foreground" in data["sequences"], f"trial {trial}: mask's record lost"
        assert "mask.foreground" in data["sequences"]["walk"]["channels"]
        assert ("layer0" in data["sequences"]) == (codes[1] == 0), f"trial {trial}"
        assert dr("shot", "info", shot).code == 0
