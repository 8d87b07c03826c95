"""The shared rules themselves: path confinement, names, the writer lock, limits, OS-error lines."""
from __future__ import annotations

import errno
import os
import subprocess
import sys

import pytest

from dreamrooms import limits, oserrors
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot.lock import LockedError, lock_path, writer_lock
from dreamrooms.shot.frames import sequence_name
from dreamrooms.shot.paths import check_name, check_relative, confine

from hostile.helpers import dr_env


@pytest.mark.parametrize("rel", ["../x", "/abs/x", "layers/../../x", "C:\\x", "a\\..\\..\\b", "", "a\x00b", "~/x",
                                 "layers/../layers/x"])
def test_confine_refuses(tmp_path, rel):
    with pytest.raises(DreamroomsError, match="shot.json: p"):
        confine(tmp_path, rel, "shot.json: p")


def test_confine_refuses_symlink_out(tmp_path):
    (tmp_path / "shot").mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", tmp_path / "shot" / "layers")
    with pytest.raises(DreamroomsError, match="symlink"):
        confine(tmp_path / "shot", "layers/a.0001.exr", "w")


def test_confine_accepts_inside(tmp_path):
    assert confine(tmp_path, "layers/a.####.exr", "w") == tmp_path / "layers" / "a.####.exr"
    assert confine(tmp_path, "./depth/b.exr", "w") == tmp_path / "depth" / "b.exr"


@pytest.mark.parametrize("name", ["my depth", "v1.2", "deep.v2 final", "Ünïcode_1", "tinydepth"])
def test_check_name_accepts(name):
    assert check_name(name, "--name") == name


@pytest.mark.parametrize("name", ['q"', "a/b", "..", "take#2", "", " x", "x.", "new\nline", "back\\slash", "a" * 200, 3])
def test_check_name_refuses(name):
    with pytest.raises(DreamroomsError, match="--name"):
        check_name(name, "--name")


def test_names_become_safe_file_stems():
    assert sequence_name("take#2") == "take_2"
    assert sequence_name("../../outside/evil") == "outside_evil"
    assert sequence_name("###") == "shot"


@pytest.mark.parametrize("rel", ["../x#", "/abs/#", "C:\\x#", "a/../../b#"])
def test_check_relative_refuses_without_the_file_system(rel):
    with pytest.raises(DreamroomsError, match="field p"):
        check_relative(rel, "field p")


def test_lock_second_holder_is_refused_with_the_pid(tmp_path):
    """A second process cannot take a held lock; the message names the holder's pid."""
    code = ("import sys; from dreamrooms.shot.lock import writer_lock\n"
            "try:\n with writer_lock(sys.argv[1], 'depth'): pass\n"
            "except Exception as e: print(e); sys.exit(3)\n")
    with writer_lock(tmp_path, "depth"):
        p = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=dr_env(), capture_output=True, text=True)
        assert p.returncode == 3, p.stderr
        assert f"pid {os.getpid()}" in p.stdout
    assert not lock_path(tmp_path, "depth").exists()
    p = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=dr_env(), capture_output=True, text=True)
    assert p.returncode == 0, p.stdout + p.stderr


def test_lock_dies_with_its_process(tmp_path):
    """A holder killed with SIGKILL leaves a lock file but no lock."""
    code = ("import sys, time; from dreamrooms.shot.lock import writer_lock\n"
            "with writer_lock(sys.argv[1], 'walk'):\n print('held', flush=True); time.sleep(60)\n")
    p = subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], env=dr_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert p.stdout.readline().strip() == "held"
        with pytest.raises(LockedError):
            with writer_lock(tmp_path, "walk"):
                pass
    finally:
        p.kill()
        p.wait()
        p.stdout.close()
    with writer_lock(tmp_path, "walk"):
        pass


def test_limits():
    with pytest.raises(DreamroomsError, match="--fps"):
        limits.check_number(float("nan"), "--fps", low=0, low_open=True)
    with pytest.raises(DreamroomsError, match="100000x100000"):
        limits.check_resolution(100000, 100000, "--size")
    limits.check_resolution(1920, 1080, "--size")
    assert limits.json_depth('{"a": "[[[", "b": [[{}]]}') == 4
    assert limits.json_depth("[" * 100_000 + "]" * 100_000) == 100_000


def test_os_error_lines():
    line = oserrors.describe(OSError(errno.ENOSPC, "No space left on device", "/shots/a/layers/x.exr"))
    assert line.startswith("/shots/a/layers/x.exr: disk full;") and "\n" not in line
    assert "a file is in the way" in oserrors.describe(NotADirectoryError(errno.ENOTDIR, "x", "/f/s"))
    assert oserrors.describe(ValueError("a bug")) is None
    assert "out of memory" in oserrors.describe(MemoryError())


def _gone(pid: int, within: float) -> bool:
    import time
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
        except OSError:
            return True
        if state in ("Z", "X"):
            return True
        time.sleep(0.05)
    return False


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_lifeline_alone_ends_a_worker(tmp_path):
    """The stdin lifeline (what macOS and Windows rely on, no parent-death signal here) ends the worker when its
    parent is killed."""
    import signal
    child = ("from dreamrooms.worker import watch_parent; import time; watch_parent(); time.sleep(60)")
    parent = ("import os, subprocess, sys, time\n"
              "env = dict(os.environ, DREAMROOMS_LIFELINE='1')\n"
              f"p = subprocess.Popen([sys.executable, '-c', {child!r}], stdin=subprocess.PIPE, env=env)\n"
              "print(p.pid, flush=True); time.sleep(60)\n")
    p = subprocess.Popen([sys.executable, "-c", parent], env=dr_env(), stdout=subprocess.PIPE, text=True)
    worker = int(p.stdout.readline())
    try:
        assert not _gone(worker, 0.5), "the worker did not start"
        os.kill(p.pid, signal.SIGKILL)
        p.wait()
        assert _gone(worker, 5), "the worker outlived its parent"
    finally:
        p.stdout.close()
        if not _gone(worker, 0):
            os.kill(worker, signal.SIGKILL)


def test_out_of_memory_from_onnxruntime_is_one_line():
    """ONNX Runtime raises its own exception type for a failed allocation; it reads as out of memory."""
    fail = type("RuntimeException", (Exception,), {"__module__": "onnxruntime.capi.onnxruntime_pybind11_state"})
    line = oserrors.describe(fail("[ONNXRuntimeError] : 6 : RUNTIME_EXCEPTION : Failed to allocate memory for requested buffer"))
    assert line is not None and "out of memory" in line
    assert oserrors.describe(fail("some other runtime failure")) is None
