"""Which frames a run does: the frames on disk that are whole and carry this run's fingerprint are kept, up to the
first that is not; a whole frame made with other settings stops the run with the fix."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from dreamrooms.stage.fingerprint import inspect

if TYPE_CHECKING:
    from dreamrooms.stage.spine import Job, Stage


@dataclass
class Plan:
    """What a run computes: a temporal stage `numbers[start:]` (state carries from the frame before), a stage with
    independent frames exactly the frames in `only` (those not on disk yet); `warmup` frames before them are
    computed and not written (a cluster chunk's warm-up); `state` is the temporal state the first computed frame
    continues from."""
    numbers: list[int]
    start: int = 0
    warmup: list[int] = field(default_factory=list)
    state: object = None
    only: list[int] | None = None

    @property
    def todo(self) -> list[int]:
        return self.numbers[self.start:] if self.only is None else self.only

    @property
    def skipped(self) -> int:
        return len(self.numbers) - len(self.todo)


def frame_done(stage: "Stage", job: "Job", n: int) -> bool:
    """Every output of frame `n` is whole and carries the fingerprint (one read per file); a whole one made with
    other settings raises the stage's mismatch error."""
    for out in job.outputs(n):
        if out.path.is_symlink():   # never read a frame through a link (a shot from an archive may point it anywhere)
            from dreamrooms.shot.paths import UnsafePathError

            raise UnsafePathError(f"{out.path}: a frame file that is a symlink (to {out.path.resolve()}); remove the "
                                  f"symlink, or rerun with --overwrite to replace it with a frame")
        if not out.exr:
            if not out.path.is_file():
                return False
            continue
        whole, fp = inspect(out.path, out.required, stage.attr if out.stamped else None)
        if whole and out.stamped and fp is not None and fp != job.fingerprint and not stage.redo_other_settings:
            raise stage.mismatch(job, out.path, fp)
        if not whole or (out.stamped and fp != job.fingerprint):
            return False
    return True


def first_missing(stage: "Stage", job: "Job", overwrite: bool) -> int:
    """Index in `job.numbers` of the first frame to compute (0 with --overwrite)."""
    if overwrite:
        return 0
    for i, n in enumerate(job.numbers):
        if not frame_done(stage, job, n):
            return i
    return len(job.numbers)


def all_written(job: "Job") -> bool:
    """Every output of every frame of the shot exists (files are renamed into place whole): registration's test."""
    return all(o.path.is_file() for n in job.shot_frames for o in job.outputs(n))


def new_dirs(paths: list[Path]) -> list[Path]:
    """Folders a run will make for these files (removed again when it fails)."""
    out: list[Path] = []
    for p in paths:
        for d in (p.parent, *p.parent.parents):
            if d.exists():
                break
            if d not in out:
                out.append(d)
    return out


def missing(stage: "Stage", job: "Job", overwrite: bool) -> list[int]:
    """Every frame not on disk whole with this fingerprint (all of them with --overwrite): for independent frames."""
    if overwrite:
        return list(job.numbers)
    return [n for n in job.numbers if not frame_done(stage, job, n)]
