"""The `dreamrooms` CLI: exit codes 0/1/2 and one-line messages."""
from __future__ import annotations

import subprocess
import sys

import numpy as np

from dreamrooms.shot import exr

from shot_helpers import make_shot


def test_shot_info_ok(tmp_path, run_cli):
    make_shot(tmp_path)
    code, out, err = run_cli("shot", "info", tmp_path)
    assert code == 0, err
    assert "16x8 px" in out and "frames 1-3" in out and "sequence layers" in out
    assert "ok: 3 frame file(s)" in out


def test_shot_info_missing_frame_is_exit_1(tmp_path, run_cli):
    shot = make_shot(tmp_path)
    shot.frame_path("layers", 2).unlink()
    code, out, err = run_cli("shot", "info", tmp_path)
    assert code == 1
    assert err.startswith("dreamrooms: error: ") and "frame 2 missing" in err and err.count("\n") == 1


def test_shot_info_channel_listed_but_absent(tmp_path, run_cli):
    shot = make_shot(tmp_path)
    exr.write_frame(shot.frame_path("layers", 3), {"RGBA": np.ones((8, 16, 4))})
    code, _, err = run_cli("shot", "info", tmp_path)
    assert code == 1 and "t.0003.exr" in err and "depth.Z" in err


def test_exr_info(tmp_path, run_cli):
    p = exr.write_frame(tmp_path / "a.exr", {"RGBA": np.ones((4, 6, 4)), "depth.Z": np.ones((4, 6))}, compression="piz")
    code, out, _ = run_cli("exr", "info", p)
    assert code == 0
    assert "6x4, piz" in out and "depth.Z" in out and "float" in out and "half" in out


def test_exr_info_bad_file_exit_1(tmp_path, run_cli):
    bad = tmp_path / "bad.exr"
    bad.write_text("hello")
    code, _, err = run_cli("exr", "info", bad)
    assert code == 1 and "bad.exr: not an OpenEXR file" in err


def test_usage_errors_exit_2(run_cli):
    assert run_cli("nosuchcommand")[0] == 2
    assert run_cli("shot")[0] == 2
    code, _, err = run_cli()
    assert code == 2 and "usage" in err


def test_console_script_help_and_version():
    out = subprocess.run([sys.executable, "-m", "dreamrooms", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "shot" in out.stdout and "exr" in out.stdout
    out = subprocess.run([sys.executable, "-m", "dreamrooms", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.startswith("dreamrooms ")
