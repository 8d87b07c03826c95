"""The add-on's long-lived job worker, in the worker process: runs the add-on's jobs one after another in this
process, so a job pays no interpreter, numpy/onnxruntime or Blender start-up (job_worker.py starts it).

    blender -b --factory-startup -P worker_loop.py        (Blender)
    python worker_loop.py                                 (with the bpy module)

Requests come one JSON line each on stdin: {"id", "entry": "core"|"headless", "argv", "argv0", "env", "cwd"};
stdin's end is Blender's end (the lifeline of dreamrooms.worker), and this process exits at once, mid-job too.
A job's output is its `--progress json` lines and log lines as a process of its own would print them, on stdout
and stderr (one pipe), then a `{"event": "job-end", "id", "rc"}` line.  An error ends the job (rc 1 and one
`dreamrooms: error:` line; SystemExit keeps its code); the worker goes on.  Each job gets its own argv, env and
working directory, put back afterwards with the CLI's process-wide settings; a Blender job opens its .blend
itself (`--blend`) and an empty file is read after it, so nothing of one job's scene reaches the next.
"""
from __future__ import annotations

import importlib.util
import json
import os
import queue
import sys
import threading
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
HEADLESS = HERE / "headless.py"
END = "job-end"
LIFELINE_ENV = "DREAMROOMS_LIFELINE"   # dreamrooms.worker.LIFELINE_ENV (not imported: this module loads first)


def request_for(cmd: list[str]) -> dict | None:
    """What the worker runs for a job's command line, {"entry", "argv", "argv0"}: the CLI for
    `PYTHON -m dreamrooms ARGS` (jobs.core_command), the headless entry for jobs.blender_command's two forms
    (the .blend given as `--blend`); None for any other command (it runs as a process of its own)."""
    cmd = [str(c) for c in cmd]
    if cmd[1:3] == ["-m", "dreamrooms"]:
        return {"entry": "core", "argv": cmd[3:], "argv0": cmd}
    if len(cmd) > 1 and cmd[1] == str(HEADLESS):                      # PYTHON headless.py ARGS --blend FILE
        return {"entry": "headless", "argv": cmd[2:], "argv0": cmd}
    if cmd[1:2] == ["-b"] and str(HEADLESS) in cmd and "--" in cmd:   # BLENDER -b FILE ... -P headless.py -- ARGS
        return {"entry": "headless", "argv": cmd[cmd.index("--") + 1:] + ["--blend", cmd[2]], "argv0": cmd}
    return None


def serve(headless) -> int:
    """Run requests until Blender closes stdin; `headless` is this folder's headless module."""
    os.environ.pop(LIFELINE_ENV, None)   # a job's own watch_parent() must not read the requests
    requests = _requests()
    for stream in (sys.stdout, sys.stderr):
        getattr(stream, "reconfigure", lambda **_: None)(line_buffering=True)
    _warm()
    while True:
        req = requests.get()
        rc = run(req, headless)
        _flush()
        # on a line of its own even after a job's unfinished last line (an empty line is no job's output)
        print("\n" + json.dumps({"event": END, "id": req.get("id"), "rc": rc}), file=sys.stderr, flush=True)


def _requests() -> "queue.Queue[dict]":
    """A thread reading request lines from stdin; its end means Blender is gone: exit at once."""
    q: "queue.Queue[dict]" = queue.Queue()
    fd = os.dup(sys.stdin.fileno())   # a raw fd: a thread blocked in os.read holds no lock at shutdown

    def read() -> None:
        buf = b""
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                chunk = b""
            if not chunk:
                os._exit(0)
            *lines, buf = (buf + chunk).split(b"\n")
            for line in lines:
                if line.strip():
                    q.put(json.loads(line))

    threading.Thread(target=read, name="dreamrooms-requests", daemon=True).start()
    return q


def _warm() -> None:
    """Import what every job imports, while no job waits (a worker is started before its first job)."""
    import numpy  # noqa: F401

    import dreamrooms.commands.main  # noqa: F401
    import dreamrooms.shot  # noqa: F401


def run(req: dict, headless) -> int:
    """Run one request with its own argv, env and cwd; put this process's back afterwards."""
    from dreamrooms import progress
    from dreamrooms.shot.manifest import set_command_line

    env, cwd, argv = dict(os.environ), os.getcwd(), list(sys.argv)
    try:
        os.environ.clear()
        os.environ.update(req.get("env") or env)
        os.environ.pop(LIFELINE_ENV, None)
        if req.get("cwd"):
            os.chdir(req["cwd"])
        sys.argv = list(req.get("argv0") or argv)
        return _call(req, headless)
    finally:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        sys.argv = argv
        progress.set_mode(None)
        set_command_line(None)
        if req.get("entry") == "headless":
            _fresh_blender()


def _call(req: dict, headless) -> int:
    """The job's exit code: its entry's return value, SystemExit's code, 1 for an exception (with one line)."""
    try:
        if req.get("entry") == "core":
            from dreamrooms.commands.main import main
            return int(main(req["argv"]) or 0)
        if req.get("entry") == "headless":
            return int(headless.main(req["argv"]) or 0)
        raise ValueError(f"unknown job entry {req.get('entry')!r}")
    except SystemExit as exc:
        if exc.code is None or isinstance(exc.code, int):
            return exc.code or 0
        print(f"dreamrooms: error: {exc.code}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dreamrooms: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:   # a bug in the job: its traceback and one line; the worker serves the next job
        traceback.print_exc()
        print("dreamrooms: error: " + f"{type(exc).__name__}: {exc}".replace("\n", " "), file=sys.stderr)
        return 1


def _fresh_blender() -> None:
    """An empty file after a Blender job (its data freed; the next job opens its own file).  Not factory
    settings: with the bpy module they would disable the extensions Blender enabled at start and take their
    wheels (the core's) off the import path; the one preference a job sets, Cycles' device, every render job
    sets again (`--device`)."""
    import bpy

    bpy.ops.wm.read_homefile(use_empty=True)


def _flush() -> None:
    """Everything the job printed, Python's and C's buffers, before its end line."""
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    try:
        import ctypes
        ctypes.CDLL(None).fflush(None)
    except (OSError, AttributeError, TypeError):   # no C library handle (Windows): Python's flush is what we have
        pass


def _headless():
    """This folder as the add-on package (headless.py's bootstrap) and its headless module."""
    spec = importlib.util.spec_from_file_location("_dreamrooms_worker_boot", HEADLESS)
    boot = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(boot)
    return boot._bootstrap()


if __name__ == "__main__":
    sys.exit(serve(_headless()))
