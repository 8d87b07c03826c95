"""A stage's record in shot.json (everything it changes there, declared, merged into a fresh read under the
manifest lock), and the check that the other stages' files it read are still what it read."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

from dreamrooms.errors import DreamroomsError
from dreamrooms.shot.manifest import CameraTrack, Sequence, Shot

STAMP_PREFIX = "dreamrooms_"


class InputsChanged(DreamroomsError):
    """Another run rewrote files this run read, while it ran."""


def stamps(path: str | os.PathLike) -> dict[str, str]:
    """The `dreamrooms_*` header attributes of a frame (what made it), from the header only ({} when none)."""
    import OpenEXR

    try:
        with OpenEXR.File(str(path), header_only=True) as f:
            h = f.parts[0].header
    except Exception:
        return {}
    out = {}
    for k, v in h.items():
        if isinstance(k, str) and k.startswith(STAMP_PREFIX):
            out[k] = v.decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
    return out


def _token(path: Path) -> str:
    """What a file was when read: the fingerprints in its header, or (for a file no stage stamped) its identity."""
    got = stamps(path)
    if got:
        return repr(sorted(got.items()))
    try:
        st = path.stat()
    except OSError:
        return "missing"
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


@dataclass
class Inputs:
    """Other stages' frames a run reads, with their fingerprints when it planned; :meth:`check` at registration."""
    files: dict[Path, str] = field(default_factory=dict)

    @classmethod
    def of(cls, paths: Iterable[Path]) -> "Inputs":
        return cls({Path(p): _token(Path(p)) for p in paths})

    def check(self, stage: str) -> None:
        for p, was in self.files.items():
            if _token(p) != was:
                raise InputsChanged(f"{p}: rewritten by another run while `dreamrooms {stage}` read it; rerun "
                                    f"`dreamrooms {stage}` once that run has finished (its frames are kept where "
                                    f"their inputs did not change)")


@dataclass
class Record:
    """Everything a stage changes in shot.json.  :meth:`merge` applies exactly that to the shot as it is now."""
    sequences: dict[str, Sequence] = field(default_factory=dict)        # added or replaced
    drop: Callable[[str, Sequence], bool] | None = None                 # sequences this stage's earlier runs made
    channels: dict[str, list[str]] = field(default_factory=dict)        # layers added to sequences already there
    camera: CameraTrack | None = None
    camera_always: bool = False                                         # else only when the shot has none
    models: list[dict] = field(default_factory=list)                    # provenance.add_model keyword sets
    seeds: list[int] = field(default_factory=list)
    extra: dict = field(default_factory=dict)                           # provenance.extra entries
    argv: list[str] | None = None
    fps: float | None = None
    cuts: list[int] | None = None         # the shot's cuts, as this stage found them (depth)
    new_shot: Shot | None = None          # the shot to start from when there is none (or `replace`)
    replace: bool = False                 # start from `new_shot` even when one exists (walk --overwrite)
    inputs: Inputs | None = None
    stage: str = ""

    def merge(self, shot: Shot | None) -> Shot:
        if self.inputs is not None:
            self.inputs.check(self.stage)
        if shot is None or self.replace:
            if self.new_shot is None:
                raise DreamroomsError(f"{self.stage}: the shot's shot.json vanished while the stage ran; rerun it")
            shot = self.new_shot
        if self.drop is not None:
            for key in [k for k, s in shot.sequences.items() if self.drop(k, s) and k not in self.sequences]:
                del shot.sequences[key]
        for key, seq in self.sequences.items():
            shot.sequences[key] = seq
        for key, chans in self.channels.items():
            if key in shot.sequences:
                seq = shot.sequences[key]
                seq.channels = list(seq.channels) + [c for c in chans if c not in seq.channels]
        if self.camera is not None and (self.camera_always or shot.camera is None):
            shot.camera = self.camera
        if self.fps is not None:
            shot.fps = self.fps
        if self.cuts is not None:
            shot.cuts = sorted(set(self.cuts) | set(shot.cuts))
        for m in self.models:
            shot.provenance.add_model(**m)
        shot.provenance.seeds += [s for s in self.seeds if s not in shot.provenance.seeds]
        shot.provenance.extra.update(self.extra)
        shot.provenance.add_command(self.argv)
        return shot
