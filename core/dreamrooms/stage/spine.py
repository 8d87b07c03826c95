"""What a stage declares, and the one life every stage run goes through.

A stage subclasses :class:`Stage`: its `name` (CLI command, lock, progress), the header attribute of its
fingerprint (`attr`), the roles it `reads` and `writes`, its settings as one dataclass (`Settings`: the CLI, the
headless entry, the panel and the cluster all build that one object; it has `frames` and `overwrite`), and

* :meth:`Stage.prepare` (validate everything, write nothing) -> a :class:`Job`: the frames, the fingerprint, the
  output files of a frame, the other stages' inputs it reads;
* :meth:`Stage.compute` (one frame; `state` is the stage's temporal state, if any) -> {output path: layers};
* :meth:`Stage.record` -> the :class:`~dreamrooms.stage.record.Record` it adds to shot.json;
* for temporal state: :meth:`Stage.fresh` and :meth:`Stage.seed` (the state after a frame on disk, for an exact
  resume) or, for state that cannot be read back from the outputs, :meth:`Stage.restore` with a
  :class:`~dreamrooms.stage.state.StateFile`.

The spine then does, once for every stage: :func:`run` = writer lock -> prepare -> plan (resume) -> clean what a
killed run left -> stream -> register (re-read shot.json, check inputs, merge, write, under the manifest lock).
A cluster driver uses the same pieces: :func:`locked` + :func:`plan` on the driver, :func:`run_chunk` in each task
(a :class:`Chunk`: its frames and warm-up), :func:`register` at the end.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from dreamrooms.errors import DreamroomsError
from dreamrooms.stage.fingerprint import settings_diff, settings_of
from dreamrooms.stage.plan import Plan, all_written, first_missing, missing
from dreamrooms.stage.record import Inputs, Record


@dataclass
class Output:
    """One file a frame writes: its path, the layers a whole file has, and whether it carries the fingerprint."""
    path: Path
    required: tuple[str, ...] = ()
    stamped: bool = True
    exr: bool = True           # else (a preview PNG) a file that exists is whole


@dataclass
class Job:
    """One prepared run: everything checked, nothing written yet."""
    folder: Path                                  # the shot folder (locks, shot.json)
    numbers: list[int]                            # frames this run covers
    fingerprint: str                              # the settings that make its frames (in every header)
    outputs: Callable[[int], list[Output]]        # the files of frame n
    shot_frames: list[int] = field(default_factory=list)   # registration waits for all of these
    inputs: Inputs | None = None                  # other stages' frames it reads (checked at registration)
    data: Any = None                              # the stage's own prepared things (session, thresholds, ...)
    chunk: "Chunk | None" = None                  # set when the run is one chunk of a cluster run


@dataclass
class Chunk:
    """Part of a run on a cluster: frames `first`..`last`, computed from `warmup_from` (frames before `first` are
    not written); `context` is what the driver computed for every chunk (e.g. depth's reference keyframes)."""
    first: int
    last: int
    warmup_from: int | None = None
    context: dict = field(default_factory=dict)


@dataclass
class Result:
    job: Job
    plan: Plan
    written: int = 0
    shot: Any = None           # the registered Shot (None when not every frame is on disk yet)


class Stage:
    """Base of every per-frame stage (see the module doc)."""
    name = ""
    attr = ""
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    Settings: type = object
    temporal = False           # state carried from frame to frame
    redo_other_settings = False  # a frame made with other settings is redone, not an error (derived data: the AE export)
    whole_chunks = False       # a chunk is redone whole unless all of it is on disk (its frames follow its start)

    # ---- what a stage supplies ---------------------------------------------------------------------------
    def folder(self, settings) -> Path:
        return Path(settings.out)

    def prepare(self, settings, chunk: Chunk | None = None) -> Job:
        raise NotImplementedError

    def fresh(self, job: Job, chunk: Chunk | None = None):
        """The temporal state at a run's (or chunk's warm-up's) first frame."""
        return None

    def seed(self, job: Job, state, prev: int) -> bool:
        """Set `state` to what it was after frame `prev` (on disk), for an exact resume; False when it cannot."""
        return False

    def restore(self, job: Job, plan: Plan, state) -> int:
        """Where a resumed temporal run continues: index into `job.numbers` (state set up for it).  By default
        from the outputs of the frame before `plan.start` (:meth:`seed`), else from the start (exact either way)."""
        if plan.start and self.seed(job, state, job.numbers[plan.start - 1]):
            return plan.start
        return 0

    def read(self, job: Job, n: int):
        """Frame `n`'s inputs, decoded on a reader thread."""
        return None

    def read_workers(self, job: Job) -> int:
        """Threads reading frames ahead (1 unless :meth:`read` is safe to run for several frames at once: a video
        decoder is not; EXR files are)."""
        return 1

    def compute(self, job: Job, state, n: int, inputs) -> dict[Path, dict]:
        """{output path: layers} of frame `n` (or {path: (layers, write options)} when a file needs its own)."""
        raise NotImplementedError

    def write_options(self, job: Job, path: Path) -> dict:
        """Keyword arguments of :func:`dreamrooms.shot.exr.write_frame` for one output (compression, types, header
        attributes besides the fingerprint)."""
        return {}

    def stream(self, job: Job, plan: Plan, state) -> int:
        from dreamrooms.stage.stream import stream

        return stream(self, job, plan, state)

    def finish(self, job: Job, plan: Plan) -> None:
        """After a run that wrote its frames (e.g. remove a saved state)."""

    def clear(self, job: Job) -> None:
        """With --overwrite, before planning (lock held): remove what the new run replaces (default: nothing; the
        frames are rewritten in place)."""

    def published(self, job: Job, shot) -> None:
        """After registration (e.g. a preview movie made from the registered sequence)."""

    def record(self, job: Job) -> Record:
        raise NotImplementedError

    def registered(self, job: Job, shot) -> bool:
        """The shot already has this stage's record (a rerun with nothing to do changes nothing)."""
        return all(k in shot.sequences for k in self.record_keys(job))

    def record_keys(self, job: Job) -> list[str]:
        return list(self.record(job).sequences)

    def stale(self, job: Job) -> list[Path]:
        """Files beside which a killed run may have left temporaries (cleaned while holding the lock)."""
        return [o.path for o in job.outputs(job.numbers[0])] if job.numbers else []

    def mismatch(self, job: Job, path: Path, other: str) -> DreamroomsError:
        diff = settings_diff(settings_of(other), settings_of(job.fingerprint))
        return DreamroomsError(f"{path}: written with other {self.name} settings; pass --overwrite to recompute, or "
                               f"use the same settings to resume ({diff})")


# ---- the runs --------------------------------------------------------------------------------------------
@contextlib.contextmanager
def locked(stage: Stage, settings) -> Iterator[Path]:
    """The stage's writer lock on its shot (what a cluster driver holds around its chunks)."""
    from dreamrooms.shot.lock import writer_lock

    with writer_lock(stage.folder(settings), stage.name) as p:
        yield p


def plan(stage: Stage, settings, job: Job | None = None, chunk: Chunk | None = None) -> tuple[Job, Plan]:
    """Prepare and plan a run (the caller holds the lock); a chunk's run covers only its frames.  Without a chunk
    it also removes what a killed run left, and with --overwrite lets the stage clear what it replaces."""
    from dreamrooms.atomic import clean_stale_temps

    job = job or stage.prepare(settings, chunk)
    job.chunk = chunk
    if chunk is not None:
        job.numbers = [n for n in job.numbers if chunk.first <= n <= chunk.last]
    overwrite = bool(getattr(settings, "overwrite", False)) and chunk is None
    if chunk is None:
        clean_stale_temps(stage.stale(job))
        if overwrite:
            stage.clear(job)
    if stage.temporal:
        return job, Plan(job.numbers, first_missing(stage, job, overwrite))
    return job, Plan(job.numbers, only=missing(stage, job, overwrite))


def _start(stage: Stage, job: Job, p: Plan, chunk: Chunk | None) -> None:
    """Set the plan's state and where it starts: fresh, resumed exactly, or a chunk's warm-up."""
    if not p.todo:
        return
    p.state = stage.fresh(job, chunk)
    if chunk is not None and stage.whole_chunks and p.start:
        p.start = 0          # a chunk's frames follow from its start: all of them again, never from the middle
    if p.start and stage.temporal:
        p.start = stage.restore(job, p, p.state)
    if chunk is not None and chunk.warmup_from is not None and p.start == 0 and chunk.warmup_from < job.numbers[0]:
        p.warmup = list(range(chunk.warmup_from, job.numbers[0]))


def run(stage: Stage, settings) -> Result:
    """One machine: lock, prepare, plan, stream, register."""
    with locked(stage, settings):
        job, p = plan(stage, settings)
        _start(stage, job, p, None)
        written = stage.stream(job, p, p.state)
        stage.finish(job, p)
        shot = register(stage, settings, job, changed=bool(written))
    if shot is not None:
        stage.published(job, shot)
    return Result(job, p, written, shot)


def produce(stage: Stage, settings) -> Result:
    """The frames only, for a stage that records nothing in shot.json (the AE re-layer): plan and stream; the caller
    holds the stage's lock."""
    job, p = plan(stage, settings)
    _start(stage, job, p, None)
    return Result(job, p, stage.stream(job, p, p.state))


def run_chunk(stage: Stage, settings, chunk: Chunk) -> Result:
    """A cluster task: frames `chunk.first..last` (after its warm-up); the driver holds the lock and registers."""
    job, p = plan(stage, settings, chunk=chunk)
    _start(stage, job, p, chunk)
    written = stage.stream(job, p, p.state)
    return Result(job, p, written)


def register(stage: Stage, settings, job: Job | None = None, changed: bool = True):
    """Once every frame of the shot is on disk: merge the stage's record into shot.json (re-read under the manifest
    lock, inputs checked).  Returns the Shot, or None when frames are still missing.  The caller holds the stage's
    lock, so what a killed writer (a chunk task on a lost node) left is removed first."""
    from dreamrooms.atomic import clean_stale_temps
    from dreamrooms.shot.manifest import Shot, update_shot

    job = job or stage.prepare(settings)
    clean_stale_temps(stage.stale(job))
    if not all_written(job):
        return None
    if not changed and (job.folder / "shot.json").is_file():
        current = Shot.load(job.folder, check_files=False)
        if stage.registered(job, current):
            return current
    rec = stage.record(job)
    rec.stage = rec.stage or stage.name
    return update_shot(job.folder, rec.merge)
