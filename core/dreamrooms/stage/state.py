"""Saved temporal state (a stabiliser's, a clip scheduler's) for an exact resume: flat arrays in one `.npz` written
atomically beside the frames, tagged with the run's fingerprint and the frame it follows."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np

from dreamrooms.atomic import write_bytes_atomic


class StateFile:
    """`save(frame, state)` after `frame` and every frame before it are on disk; `load()` gives them back (None when
    missing, unreadable or made with other settings)."""

    def __init__(self, path: Path, fingerprint: str):
        self.path, self.fingerprint = Path(path), fingerprint

    def load(self) -> tuple[int, dict] | None:
        try:
            with np.load(self.path, allow_pickle=False) as z:
                if str(z["fingerprint"]) != self.fingerprint:
                    return None
                frame = int(z["frame"])
                state = {k[6:]: z[k] for k in z.files if k.startswith("state_")}
        except (OSError, KeyError, ValueError):
            return None
        return frame, state

    def save(self, frame: int, state: dict) -> None:
        buf = io.BytesIO()
        np.savez(buf, frame=np.asarray(frame), fingerprint=np.asarray(self.fingerprint),
                 **{f"state_{k}": v for k, v in state.items()})
        write_bytes_atomic(self.path, buf.getvalue())

    def remove(self) -> None:
        """Gone once the run is finished (only an unfinished run needs it), with any temporary a kill left."""
        with contextlib.suppress(OSError):
            self.path.unlink()
        self.clean_temps()

    def clean_temps(self) -> None:
        if self.path.parent.is_dir():
            for t in self.path.parent.glob(f".{self.path.name}.*.tmp"):
                with contextlib.suppress(OSError):
                    t.unlink()
