"""The stage spine: the one life every per-frame stage shares (lock, validation, plan, streaming, registration,
cleanup), so a stage supplies only its settings, its per-frame work and its shot.json record.

* :mod:`~dreamrooms.stage.spine`: :class:`Stage` (what a stage declares) and the runs: :func:`run` (one machine),
  :func:`plan`, :func:`run_chunk`, :func:`register` and :func:`locked` (what a cluster driver calls);
* :mod:`~dreamrooms.stage.fingerprint`: the one resume scheme, a settings fingerprint in every frame's EXR header
  (:func:`stamp_exr` lets Blender renders join it);
* :mod:`~dreamrooms.stage.plan`: which frames a run does (resume from what is on disk);
* :mod:`~dreamrooms.stage.state`: saved temporal state for an exact resume;
* :mod:`~dreamrooms.stage.record`: a stage's record in shot.json and the check of the inputs it read;
* :mod:`~dreamrooms.stage.stream`: the reader/compute/writer threads and progress of a per-frame run.
"""
from dreamrooms.stage.fingerprint import fingerprint_of, read_attribute, stamp_exr
from dreamrooms.stage.record import Inputs, Record
from dreamrooms.stage.spine import Chunk, Job, Output, Result, Stage, locked, plan, produce, register, run, run_chunk

__all__ = ["Chunk", "Inputs", "Job", "Output", "Record", "Result", "Stage", "fingerprint_of", "locked", "plan",
           "produce", "read_attribute", "register", "run", "run_chunk", "stamp_exr"]
