"""Fuzzing extended to writes (issue 24): plant symlinks out of the shot at names a stage writes (locks, temps,
output folders, shot.json, sidecars, frames), run the stage, and check that nothing outside the shot changed: the
sentinel's files, contents, modes and mtimes. Exit 0 or one line; never a traceback."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from hostile.helpers import snapshot_full  # noqa: E402

HOME = os.getcwd()
PID = os.getpid()   # the stages run in this process (run_cli): its pid is the one a guessable temp name would use
# Names the stages write (relative to the shot); a `{pid}` is this process's pid.
FOLDERS = ["layers", "depth", "masks", "ae", "preview", "ae/beauty", "ae/map"]
FILES = [".walk.lock", ".depth.lock", ".layers.lock", ".mask.lock", ".ae.lock", ".shot.json.lock", "shot.json",
         ".shot.json.{pid}.tmp", "layers/.walk.0001.exr.{pid}.tmp", "layers/walk.settings.json",
         "layers/.walk.settings.json.{pid}.tmp", "depth/.walk.0002.exr.{pid}.tmp", "depth/.walk.depth-state.npz",
         "depth/walk.0003.exr", "layers/walk.0002.exr", "masks/walk_foreground.0001.exr",
         "layers/walk_layer0.0001.exr", "depth/walk_layer1.0002.exr", "ae/shot.jsx", "ae/.relayer.json",
         "ae/dreamrooms.jsxinc"]
STAGES = {
    "walk": ("walk", "--model", "cppn-walk", "--frames", "3", "--size", "32x16", "--out", "{shot}", "--overwrite"),
    "walk-new": ("walk", "--model", "cppn-walk", "--frames", "4", "--size", "32x16", "--out", "{shot}", "--overwrite",
                 "--preview", "png"),
    "depth": ("depth", "{shot}", "--model", "tinydepth", "--out", "{shot}", "--overwrite", "--preview"),
    "layers": ("layers", "{shot}", "--count", "2"),
    "mask": ("mask", "{shot}", "--out", "{shot}", "--from-depth"),
    "ae": ("ae", "{shot}", "--workers", "1"),
}
SETTINGS = settings(max_examples=14, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def _plant(shot: Path, outside: Path, name: str, to_folder: bool) -> None:
    p = shot / name.format(pid=PID)
    if p.is_symlink() or p.is_file():
        p.unlink()
    elif p.is_dir():
        shutil.rmtree(p)
    p.parent.mkdir(parents=True, exist_ok=True)
    os.symlink(outside if to_folder else outside / "victim1.txt", p)


@SETTINGS
@given(stage=st.sampled_from(sorted(STAGES)),
       plants=st.lists(st.tuples(st.sampled_from(FOLDERS + FILES), st.booleans()), min_size=1, max_size=4, unique_by=lambda t: t[0]))
def test_fuzz_planted_symlinks_never_change_the_outside(shot_template, run_cli, stage, plants):
    root = Path(tempfile.mkdtemp(prefix="fuzzw"))
    try:
        shot = root / "shot"
        shutil.copytree(shot_template, shot, symlinks=True)
        outside = root / "outside"
        outside.mkdir()
        for i in range(1, 4):
            (outside / f"victim{i}.txt").write_text("victim")
            (outside / f"walk.{i:04d}.exr").write_text("victim")
        os.chdir(root)
        for name, to_folder in plants:
            _plant(shot, outside, name, to_folder or name in FOLDERS)
        before = snapshot_full(outside)
        code, _, err = run_cli(*(a.format(shot=shot) for a in STAGES[stage]))
        assert code in (0, 1, 2) and "Traceback" not in err, (code, err)
        if code == 1:
            assert len([ln for ln in err.splitlines() if ln.startswith("dreamrooms: error:")]) == 1, err
        assert snapshot_full(outside) == before, (stage, plants, err)
        assert sorted(p.name for p in root.iterdir()) == ["outside", "shot"]
    finally:
        os.chdir(HOME)
        shutil.rmtree(root, ignore_errors=True)
