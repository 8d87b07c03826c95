"""Round two, defects 10 and 11 of issue 24: what used to end in a traceback (or hang) is one line naming the file
and the fix, exit 1 (or 2 for a bad argument), nothing partial left."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from dreamrooms.shot import exr
from hostile.helpers import dr, dr_env
from hostile.helpers import one_line as _one_line

WALK = ("walk", "--model", "cppn-walk", "--frames", "3", "--size", "32x16")




def _keyframes(tmp_path: Path, latent_line: str) -> Path:
    k = tmp_path / "keys.toml"
    k.write_text(f"[[key]]\nseed = 1\n[[key]]\n{latent_line}\n")
    return k


def test_structured_npy_latent_is_one_line(tmp_path, run_cli):
    """Repro 10: a structured-dtype .npy as a keyframe latent."""
    np.save(tmp_path / "face.npy", np.zeros(4, dtype=[("a", "f4"), ("b", "i4")]))
    code, _, err = run_cli(*WALK, "--out", tmp_path / "S", "--keyframes", _keyframes(tmp_path, 'latent = "face.npy"'))
    _one_line(code, err, "face.npy")
    assert not (tmp_path / "S").exists()


def test_latent_number_in_keyframe_file_is_one_line(tmp_path, run_cli):
    """Repro 10: `latent = 3` in a keyframe file."""
    code, _, err = run_cli(*WALK, "--out", tmp_path / "S", "--keyframes", _keyframes(tmp_path, "latent = 3"))
    _one_line(code, err, "keys.toml", "latent")
    assert not (tmp_path / "S").exists()


def test_non_utf8_out_is_refused(tmp_path):
    """Repro 10: a non-UTF-8 `--out` (bytes a UTF-8 shot.json cannot record) is a usage error, nothing written."""
    p = subprocess.run([sys.executable, "-m", "dreamrooms", *WALK, "--out", os.fsencode(tmp_path) + b"/S\xff"],
                       env=dr_env(), capture_output=True, timeout=120)
    err = p.stderr.decode("utf-8", "replace")
    assert p.returncode == 2 and "Traceback" not in err and "UTF-8" in err, err
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("env", [{"LANG": "C", "LC_ALL": "C", "PYTHONIOENCODING": ""}, {"PYTHONIOENCODING": "ascii"}])
def test_non_utf8_locale_prints_the_error_line(tmp_path, env):
    """Repro 10: an error naming a non-ASCII path, printed under LANG=C or PYTHONIOENCODING=ascii."""
    shot = tmp_path / "plan\u00e9te"
    shot.mkdir()
    (shot / "shot.json").write_text("{")
    p = subprocess.run([sys.executable, "-m", "dreamrooms", "shot", "info", str(shot)], env=dr_env(**env),
                       capture_output=True, timeout=120)
    err = p.stderr.decode("ascii", "replace")
    assert p.returncode == 1 and "Traceback" not in err, err
    assert "shot.json" in err and "plan" in err


def test_ctrl_c_during_start_up_is_not_a_traceback():
    """Repro 10: Ctrl-C while the modules load (before the CLI's handler runs): no traceback."""
    for delay in (0.3, 0.8):
        p = subprocess.Popen([sys.executable, "-m", "dreamrooms", "models", "list"], env=dr_env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        assert "Traceback" not in err.decode(), err.decode()
        assert p.returncode in (130, -signal.SIGINT, 0, 1), p.returncode


def test_read_only_layers_during_depth_names_the_file(shot, run_cli, monkeypatch):
    """Repro 10: a read-only `layers/` during depth (root ignores modes here, so the create is made to fail the way
    the kernel does for a user: EACCES with no file name) is one line naming the frame."""
    from dreamrooms import atomic

    real = atomic._create_exclusive

    def refuse(folder, name, dir_fd):
        if Path(folder).name == "layers":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real(folder, name, dir_fd)
    monkeypatch.setattr(atomic, "_create_exclusive", refuse)
    code, _, err = run_cli("depth", shot, "--model", "tinydepth", "--out", shot, "--overwrite")
    _one_line(code, err, "layers/walk.000", "permission denied")
    assert not [p for p in shot.rglob("*.tmp")]


@pytest.fixture
def tiny_disk(tmp_path):
    """A 24 KB tmpfs (root only); skipped where it cannot be mounted."""
    d = tmp_path / "full"
    d.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24k", "tmpfs", str(d)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and tmpfs to fill a disk (test_exr_disk_full_message_is_mapped covers the mapping)")
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


@pytest.mark.parametrize("stage", ["walk", "ae", "depth"])
def test_full_disk_is_one_line_naming_the_file(shot, tiny_disk, run_cli, stage):
    """Repro 10: a full disk during walk, ae or depth: one line naming the file (OpenEXR's RuntimeError mapped;
    depth used to say "a file: disk full"), and no temporary left."""
    argv = {"walk": ("walk", "--model", "cppn-walk", "--frames", "6", "--size", "160x90", "--out", tiny_disk / "S"),
            "ae": ("ae", shot, "--out", tiny_disk / "ae", "--workers", "1"),
            "depth": ("depth", shot, "--model", "tinydepth", "--out", tiny_disk / "D")}[stage]
    code, _, err = run_cli(*argv)
    line = _one_line(code, err, "disk full", str(tiny_disk))
    assert "a file:" not in line and ".tmp" not in line
    assert not list(tiny_disk.rglob("*.tmp"))


def test_exr_disk_full_message_is_mapped(tmp_path, monkeypatch):
    """OpenEXR reports ENOSPC as RuntimeError('Failed to write pixel data to image file "T". No space left on
    device.') (OpenEXR 3.5.3, measured on a full tmpfs): the write path maps it to the errno, naming the frame."""
    import OpenEXR

    class Full:
        def __init__(self, *a, **k):
            pass

        def write(self, name):
            Path(name).write_bytes(b"partial")
            raise RuntimeError(f'Failed to write pixel data to image file "{name}". No space left on device.')
    monkeypatch.setattr(exr, "OpenEXR", type("M", (), {"File": Full, "Part": OpenEXR.Part,
                                                      "scanlineimage": OpenEXR.scanlineimage}))
    with pytest.raises(OSError) as exc:
        exr.write_frame(tmp_path / "f.0001.exr", {"RGBA": np.zeros((4, 4, 4), np.float32)})
    assert exc.value.errno == errno.ENOSPC and exc.value.filename == str(tmp_path / "f.0001.exr")
    assert os.listdir(tmp_path) == []


def test_fifo_in_an_input_pattern_does_not_hang(tmp_path, shot):
    """Repro 11: a FIFO among the input frames used to block depth forever with its lock held: now one line at once,
    and no lock or output is left."""
    frames = tmp_path / "frames"
    frames.mkdir()
    import cv2
    cv2.imwrite(str(frames / "img.0001.png"), np.zeros((16, 32, 3), np.uint8))
    os.mkfifo(frames / "img.0002.png")
    r = dr("depth", frames / "img.####.png", "--model", "tinydepth", "--out", tmp_path / "D", timeout=60)
    r.one_line_error("img.0002.png", "regular file")
    assert not (tmp_path / "D").exists() and not list(tmp_path.rglob(".*.lock"))


def test_killed_ae_leaves_no_temp_after_the_rerun(shot, run_cli):
    """Repro 11: `ae` killed mid-frame leaves `.NAME.####.exr.RANDOM.tmp`; the next run (holding the ae lock)
    removes it."""
    code, _, err = run_cli("ae", shot, "--workers", "1")
    assert code == 0, err
    beauty = next(p for p in (shot / "ae").rglob("*.0001.exr"))
    stale = beauty.with_name(f".{beauty.name}.0123456789abcdef.tmp")
    stale.write_bytes(b"half a frame")
    code, _, err = run_cli("ae", shot, "--workers", "1")
    assert code == 0, err
    assert not list((shot / "ae").rglob("*.tmp"))


def test_uint32_channel_is_not_used_as_colour(tmp_path, run_cli):
    """Repro 11: an EXR whose R, G, B are uint32 (an id pass named like colour) is one line, not silently colour."""
    frames = tmp_path / "frames"
    for n in (1, 2):
        exr.write_frame(frames / f"ids.{n:04d}.exr", {"RGB": np.full((16, 32, 3), 7, np.uint32)}, types={"RGB": "uint"})
    code, _, err = run_cli("depth", frames / "ids.####.exr", "--model", "tinydepth", "--out", tmp_path / "D")
    _one_line(code, err, "ids.0001.exr", "uint32")
    assert not (tmp_path / "D").exists()
