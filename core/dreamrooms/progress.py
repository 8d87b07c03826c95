"""Progress for long work: a tqdm bar on stderr, or JSON lines (`--progress json`) for machine readers.

Blender's worker-process bridge reads the JSON lines; the mode is process-wide and set by the CLI
or the `DREAMROOMS_PROGRESS` environment variable (`bar`, `json`, `none`).
"""
from __future__ import annotations

import json
import os
import sys
import time
from typing import Any


MODES = ("bar", "json", "none")
_mode: str | None = None


def set_mode(mode: str | None) -> None:
    """The process-wide mode, also for child processes; None: the environment's again (the add-on's worker
    between jobs)."""
    global _mode
    if mode is None:
        _mode = None
        return
    if mode not in MODES:
        raise ValueError(f"progress mode {mode!r}; use one of {MODES}")
    _mode = mode
    os.environ["DREAMROOMS_PROGRESS"] = mode  # child processes report the same way


def mode() -> str:
    return _mode or os.environ.get("DREAMROOMS_PROGRESS", "bar")


def parse_event(line: str) -> dict[str, Any] | None:
    """The one reader of `--progress json` lines (the demo and the Blender jobs): the event dict, or None for
    any other line (a log line, a message, broken JSON)."""
    if not line.startswith("{"):
        return None
    try:
        event = json.loads(line)
    except ValueError:
        return None
    return event if isinstance(event, dict) and isinstance(event.get("event"), str) else None


def emit(event: str, **fields: Any) -> None:
    """One JSON line on stderr in json mode (stage start/end, messages); silent otherwise."""
    if mode() == "json":
        sys.stderr.write(json.dumps({"event": event, **fields}) + "\n")
        sys.stderr.flush()


class _JsonProgress:
    def __init__(self, total: int | None, desc: str):
        self.total, self.desc, self.n = total, desc, 0
        self._last = 0.0
        self._start = time.monotonic()
        emit("start", stage=desc, total=total)

    def update(self, n: int = 1) -> None:
        self.n += n
        now = time.monotonic()
        if now - self._last >= 0.2 or (self.total is not None and self.n >= self.total):
            self._last = now
            emit("progress", stage=self.desc, done=self.n, total=self.total,
                 elapsed=round(now - self._start, 3))

    def set_postfix_str(self, s: str) -> None:
        pass

    def close(self) -> None:
        emit("end", stage=self.desc, done=self.n, total=self.total,
             elapsed=round(time.monotonic() - self._start, 3))

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def progress(total: int | None, desc: str, unit: str = "frame"):
    """A reporter with `update(n)`, `close()` and context-manager use, per the process-wide mode."""
    m = mode()
    if m == "json":
        return _JsonProgress(total, desc)
    from tqdm import tqdm  # here, not at the top: the command line starts without it

    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, disable=(m == "none"), dynamic_ncols=True)
