"""Child processes that die with the process that started them, on every OS we ship to.

`spawn` starts a worker (the headless Blender entry) so that it cannot outlive its parent:
* Linux: the kernel sends it SIGKILL when the parent dies (prctl PR_SET_PDEATHSIG, see
  man7.org/linux/man-pages/man2/PR_SET_PDEATHSIG.2const.html; a check of getppid() closes the race
  with a parent that died before the prctl);
* everywhere (macOS has no parent-death signal, Windows no signals): a lifeline pipe on the worker's
  stdin that the parent never writes; the worker calls `watch_parent()`, whose thread sees EOF when
  the parent is gone (the OS closes the parent's end however it dies) and exits at once. On Windows
  this does what a job object with JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE would, without ctypes.
The worker stays in the terminal's process group, so Ctrl-C reaches it too and it stops after a whole
frame; if it has not stopped a few seconds after the parent's own interrupt, it is killed.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading

LIFELINE_ENV = "DREAMROOMS_LIFELINE"


def _linux_tie(parent: int) -> None:
    """Runs in the child between fork and exec: die with `parent`."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_PDEATHSIG = 1
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before the prctl took effect
        os.kill(os.getpid(), signal.SIGKILL)


def tied_popen_kwargs(env: dict, new_session: bool = False) -> dict:
    """Keyword arguments for subprocess.Popen (and the lifeline variable set in `env`) that make the child die
    with this process; `new_session` also puts it in its own process group (so a cancel can kill the group).
    The child must be a dreamrooms entry (CLI or headless), which calls `watch_parent`; keep `proc.stdin` open."""
    env[LIFELINE_ENV] = "1"
    kw: dict = {"stdin": subprocess.PIPE}
    if sys.platform.startswith("linux"):
        parent = os.getpid()

        def tie() -> None:
            if new_session:
                os.setsid()
            _linux_tie(parent)
        kw["preexec_fn"] = tie
    elif sys.platform == "win32":
        if new_session:
            kw["creationflags"] = subprocess.CREATE_NEW_PROCESS_GROUP
    else:
        kw["start_new_session"] = new_session
    return kw


# Blender's Cycles probes every GPU library at start and logs each one it cannot load, on stdout, e.g.
# "00:06.451  cycles | WARNING CUEW initialization failed: Error opening the library" (bpy 5.0.1, no CUDA):
# noise on a machine without that GPU, so `spawn(..., quiet=GPU_PROBE_NOISE)` keeps it out of the terminal.
GPU_PROBE_NOISE = re.compile(r"\b(CUEW|HIPEW|HIPRTEW)\b.*initiali[sz]ation failed")


def spawn(cmd: list[str], env: dict | None = None, quiet: "re.Pattern | None" = None) -> int:
    """Run `cmd` to completion as a worker tied to this process; returns its exit code. With `quiet`, the
    worker's stdout is passed through line by line without the lines `quiet` matches."""
    env = dict(os.environ if env is None else env)
    kw = tied_popen_kwargs(env)
    if quiet is not None:
        kw["stdout"] = subprocess.PIPE
    proc = subprocess.Popen(cmd, env=env, **kw)
    relay = None
    if quiet is not None:
        relay = threading.Thread(target=_relay, args=(proc.stdout, quiet), name="dreamrooms-relay", daemon=True)
        relay.start()
    try:
        return proc.wait()
    except BaseException:
        _stop(proc)
        raise
    finally:
        if relay is not None:
            relay.join(timeout=5)
        if proc.stdin:
            proc.stdin.close()


def _relay(stream, quiet: "re.Pattern") -> None:
    """Copy a worker's output to ours, dropping the lines `quiet` matches."""
    for raw in iter(stream.readline, b""):
        line = raw.decode("utf-8", "replace")
        if not quiet.search(line):
            sys.stdout.write(line)
            sys.stdout.flush()
    stream.close()


def _stop(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Give a worker that got the same Ctrl-C `grace` seconds to finish its frame, then kill it."""
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def watch_parent() -> None:
    """In a worker started by `spawn`: exit as soon as the parent's end of the lifeline closes."""
    if os.environ.get(LIFELINE_ENV) != "1":
        return
    try:
        fd = os.dup(sys.stdin.fileno())  # a raw fd: a thread blocked in os.read holds no lock at shutdown
    except (AttributeError, OSError, ValueError):
        return

    def wait_for_eof() -> None:
        try:
            while os.read(fd, 1 << 12):
                pass
        except OSError:
            pass
        os._exit(1)

    threading.Thread(target=wait_for_eof, name="dreamrooms-lifeline", daemon=True).start()
