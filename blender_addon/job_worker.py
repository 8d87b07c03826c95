"""One long-lived worker process per Blender instance for the add-on's jobs (its loop: worker_loop.py), so a job
pays Blender's, the interpreter's and numpy/onnxruntime's start-up once per session, not once per job.

The worker starts with the first job, tied to Blender like a job's process (dreamrooms.worker: it dies with
Blender) and in its own process group; jobs go to it one at a time.  A job that comes while it is busy (another
scene's) or when it cannot start runs as a process of its own, as every job did before.  Cancelling a job kills
the worker's group (a job cannot be stopped inside a process safely) and starts a fresh worker at once, so the
next job does not wait for its start-up.  Disabling the add-on shuts it down.
"""
from __future__ import annotations

import collections
import itertools
import json
import os
import queue
import signal
import subprocess
import threading

from .worker_loop import END

_worker: "Worker | None" = None


class Run:
    """A job in the worker, with the part of subprocess.Popen's interface a Job uses (poll, wait, returncode, pid,
    kill): its lines go to `lines` as ("out", text) until its end line."""

    def __init__(self, worker: "Worker", rid: int, lines: queue.Queue):
        self.worker, self.id, self.lines = worker, rid, lines
        self.pid = worker.proc.pid
        self.returncode: int | None = None
        self._done = threading.Event()

    def poll(self) -> int | None:
        return self.returncode

    def wait(self, timeout: float | None = None) -> int:
        if not self._done.wait(timeout):
            raise subprocess.TimeoutExpired(f"dreamrooms job {self.id} in worker {self.pid}", timeout)
        return self.returncode

    def kill(self) -> None:
        """Kill the worker while it runs this job (and anything the job started); its end comes through `wait`.
        A finished job's worker is left alone: it may be running the next job."""
        if self.returncode is None and self.worker.run is self:
            self.worker.kill()

    def finish(self, rc: int) -> None:
        self.returncode = rc
        self._done.set()


class Worker:
    """The worker process: sends it requests, routes its output to the job it runs."""

    def __init__(self, cmd: list[str], env: dict[str, str]):
        from dreamrooms.worker import tied_popen_kwargs

        env = dict(env)
        kw = tied_popen_kwargs(env, new_session=True)   # dies with Blender; its own group, killed on cancel
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, text=True,
                                     bufsize=1, errors="replace", **kw)
        self.run: Run | None = None
        self.killed = False
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self._idle = collections.deque(maxlen=8)   # lines outside any job: start-up trouble, shown if it dies
        threading.Thread(target=self._route, name="dreamrooms-worker-output", daemon=True).start()

    def ready(self) -> bool:
        """Alive and not running a job."""
        return self.proc.poll() is None and not self.killed and (self.run is None or self.run.returncode is not None)

    def submit(self, request: dict, env: dict[str, str], cwd: str | None, lines: queue.Queue) -> Run:
        run = Run(self, next(self._ids), lines)
        with self._lock:
            self.run = run
        try:
            self.proc.stdin.write(json.dumps({"id": run.id, **request, "env": env, "cwd": cwd}) + "\n")
            self.proc.stdin.flush()
        except OSError:   # it died (a broken pipe): the caller runs the job elsewhere
            with self._lock:
                self.run = None
            raise
        return run

    def _route(self) -> None:
        """Each output line to the job running (its end line finishes it); a dead worker ends its job."""
        from dreamrooms.progress import parse_event

        for line in iter(self.proc.stdout.readline, ""):
            line = line.rstrip("\n")
            with self._lock:
                run = self.run if self.run is not None and self.run.returncode is None else None
            ev = parse_event(line) if line.startswith('{"event": "' + END) else None
            if ev is not None and ev["event"] == END:
                if run is not None and ev.get("id") == run.id:
                    run.finish(int(ev.get("rc", 1)))
            elif run is not None:
                run.lines.put(("out", line))
            else:
                self._idle.append(line)
        self.proc.stdout.close()
        rc = self.proc.wait()
        with self._lock:
            run = self.run if self.run is not None and self.run.returncode is None else None
        if run is not None:
            if not self.killed:
                for line in self._idle:
                    run.lines.put(("out", line))
                run.lines.put(("out", f"dreamrooms: error: the job worker stopped (exit code {rc}); "
                                      "the next job starts a new one"))
            run.finish(rc or 1)

    def kill(self) -> None:
        """Kill the worker's process group and wait for it."""
        self.killed = True
        kill_group(self.proc)

    def close(self) -> None:
        """Shut it down: closing its stdin ends it at once (its lifeline), the kill makes sure."""
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        self.kill()


def kill_group(proc: subprocess.Popen) -> None:
    """Kill a process started in its own group (tied_popen_kwargs(new_session=True)) with everything it started."""
    if proc.poll() is None:
        try:
            if os.name != "nt":
                os.killpg(proc.pid, signal.SIGKILL)
            else:
                proc.kill()
        except ProcessLookupError:
            pass
    proc.wait(timeout=30)


def idle_worker(cmd: list[str], env: dict[str, str]) -> Worker | None:
    """The worker, started with `cmd` and `env` when there is none (or it died); None while it runs a job or
    when it cannot start (the caller then runs the job as a process of its own)."""
    global _worker
    if _worker is not None and _worker.ready():
        return _worker
    if _worker is not None and _worker.proc.poll() is None and not _worker.killed:
        return None   # busy with another scene's job
    try:
        _worker = Worker(cmd, env)
    except OSError:
        _worker = None
    return _worker


def prestart(cmd: list[str], env: dict[str, str]) -> None:
    """Start a worker now when none is alive (after a cancel), so the next job does not wait for its start-up."""
    idle_worker(cmd, env)


def current() -> Worker | None:
    return _worker


def shutdown() -> None:
    """Stop the worker (the add-on is disabled)."""
    global _worker
    if _worker is not None:
        _worker.close()
        _worker = None
