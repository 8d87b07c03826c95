"""Where a room render's time goes: Blender start-up, build, per-frame geometry-node evaluation, BVH, sampling,
EXR write.  Phases we run are timed around our own calls; what happens inside `render.render` is split by
Blender's render-stats status lines (`bpy.app.handlers.render_stats`, whose one argument is the stats line: "Synchronizing
object", "Updating Scene BVH", "Sample 3/8", "Finished", "Time: ... (Saving: ...)").  Printed with `--debug`.
"""
from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from contextlib import contextmanager

from dreamrooms.commands.main import DEBUG_ENV
# render-stats status text (the last `|` field, e.g. "Updating Scene BVH", "Sample 3/8", "Finished", then
# "Time: 00:01.20 (Saving: 00:00.30)" once the file is written) -> phase; first match wins, None ends the frame
_STATUS = (("bvh", "bvh"), ("loading", "scene sync"), ("sample", "sampling"), ("denois", "denoise"),
           ("finished", "exr write"), ("time:", None))


def process_age() -> float | None:
    """Seconds since this process started (Linux /proc), or None elsewhere."""
    try:
        with open("/proc/self/stat") as fh:
            start_ticks = int(fh.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as fh:
            uptime = float(fh.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return None


def classify(status: str) -> str | None:
    low = status.lower()
    return next((phase for key, phase in _STATUS if key in low), "scene sync")


class Profile:
    """Accumulated seconds per phase, and per-frame counts; `enabled` False makes every call a no-op."""

    def __init__(self, enabled: bool | None = None, startup: bool = True):
        self.enabled = bool(os.environ.get(DEBUG_ENV)) if enabled is None else enabled
        self.seconds: dict[str, float] = defaultdict(float)
        self.frames = 0
        self._mark: tuple[str, float] | None = None
        self._handlers: list = []
        if self.enabled and startup:
            age = process_age()
            if age is not None:
                self.seconds["blender start-up"] = age  # process start to here: interpreter, bpy, add-on import

    @contextmanager
    def phase(self, name: str):
        t = time.perf_counter()
        try:
            yield
        finally:
            if self.enabled:
                self.seconds[name] += time.perf_counter() - t

    def _stats(self, stats, *_):
        now = time.perf_counter()
        status = (stats if isinstance(stats, str) else "").rsplit("|", 1)[-1].strip()
        phase = classify(status)
        if phase is None:
            self.frames += 1
        self._switch(phase, now)

    def _switch(self, phase: str | None, now: float) -> None:
        if self._mark is not None:
            self.seconds[self._mark[0]] += now - self._mark[1]
        self._mark = (phase, now) if phase else None

    def _pre(self, *_):
        self._switch("render start", time.perf_counter())

    def attach(self) -> None:
        """Listen to Blender's render handlers (no-op unless enabled)."""
        if not self.enabled or self._handlers:
            return
        import bpy
        h = bpy.app.handlers
        self._handlers = [(h.render_stats, self._stats), (h.render_pre, self._pre)]
        for lst, fn in self._handlers:
            lst.append(fn)

    def detach(self) -> None:
        for lst, fn in self._handlers:
            if fn in lst:
                lst.remove(fn)
        self._handlers = []

    def report(self, title: str = "render profile", wall: float | None = None) -> str:
        if not self.enabled:
            return ""
        total = wall if wall is not None else sum(self.seconds.values())
        lines = [f"dreamrooms: {title} ({self.frames} frame(s), {total:.2f} s)"]
        for name, sec in sorted(self.seconds.items(), key=lambda kv: -kv[1]):
            per = f", {sec / self.frames:.3f} s/frame" if self.frames and name not in ("blender start-up", "build", "save .blend") else ""
            lines.append(f"  {name:<22} {sec:8.3f} s {100 * sec / total if total else 0:5.1f}%{per}")
        text = "\n".join(lines)
        print(text, file=sys.stderr, flush=True)
        return text


_current: Profile | None = None
_runs = 0


def start() -> Profile:
    """A fresh profile for a run (the headless entry's): its --debug and its seconds only; the process's start-up
    is counted in its first run only (the add-on's job worker pays it once for many runs)."""
    global _current, _runs
    _current = Profile(startup=_runs == 0)
    _runs += 1
    return _current


def current() -> Profile:
    """The profile of the run in progress."""
    return _current if _current is not None else start()
