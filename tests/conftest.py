"""Shared fixtures: tests make their own data; nothing is downloaded."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("DREAMROOMS_PROGRESS", "none")


@pytest.fixture
def run_cli(capsys):
    """Run `dreamrooms ARGS` in-process; returns (exit code, stdout, stderr)."""
    from dreamrooms.commands.main import main

    def _run(*args: str):
        try:
            code = main([str(a) for a in args])
        except SystemExit as exc:  # argparse usage errors
            code = exc.code
        out, err = capsys.readouterr()
        return code, out, err

    return _run


@pytest.fixture
def python_exe() -> str:
    return sys.executable


@pytest.fixture
def mdir(tmp_path, monkeypatch):
    """An empty models folder that `dreamrooms.models` uses (DREAMROOMS_MODELS), progress off."""
    d = tmp_path / "models"
    monkeypatch.setenv("DREAMROOMS_MODELS", str(d))
    monkeypatch.setenv("DREAMROOMS_PROGRESS", "none")
    return d
