"""Fixtures of the hostile-input suite: a real shot made by the CLI and a sentinel folder beside it."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from hostile.helpers import dr


@pytest.fixture(scope="session")
def shot_template(tmp_path_factory) -> Path:
    """A 3-frame 32x16 walk with depth, made once by the CLI (walk + depth, built-in models)."""
    root = tmp_path_factory.mktemp("template")
    shot = root / "shot"
    r = dr("walk", "--model", "cppn-walk", "--out", shot, "--frames", 3, "--size", "32x16")
    assert r.code == 0, r.err
    r = dr("depth", shot, "--model", "tinydepth", "--out", shot)
    assert r.code == 0, r.err
    return shot


@pytest.fixture
def shot(tmp_path, shot_template) -> Path:
    """A private copy of the template shot at tmp_path/shot."""
    dest = tmp_path / "shot"
    shutil.copytree(shot_template, dest)
    return dest


@pytest.fixture
def sentinel(tmp_path) -> Path:
    """tmp_path/outside: a folder beside the shot holding victim files that no run may touch."""
    d = tmp_path / "outside"
    d.mkdir()
    for i in range(1, 6):
        (d / f"victim{i}.txt").write_text("victim\n")
        (d / f"victim.{i:04d}.exr").write_text("victim\n")
    return d
