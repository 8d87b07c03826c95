"""Mask and layers in chunks on a Ray cluster: stages that read the shot's own frames and carry a temporal
state from one frame to the next.

The mask stage steadies each matte along the optical flow (:class:`~dreamrooms.mask.matte.MatteFilter`: the
previous matte carried along the flow, averaged with the new one where they agree); the layers stage reuses the
previous frame's fill of every hidden region (:class:`~dreamrooms.layers.fill.TemporalFill`).  A chunk cannot
know the state one machine would have at its first frame without computing every frame before it, so each chunk
after the first **warms up**: it starts :data:`OVERLAP` frames before its first frame with a fresh state (as one
machine starts at the clip's first frame), runs the stage over those frames without writing them, and writes
its own frames from there.  Everything goes through the stage spine's own API (:mod:`dreamrooms.stage`): the
driver holds the stage's writer lock (``locked``), plans once (``plan``: checks every input and cleans what a
killed run left), each task runs ``run_chunk`` with a warm-up range, and the driver calls ``register`` once
every frame is on disk.  No stage function has a cluster-only parameter.

What is exact and what is not:

* the first chunk, every frame that does not depend on earlier frames (mask --from-depth's hard split and
  edge refinement, the clip's depth levels, the layer split and alpha), and a chunk resumed from its own frames
  on disk (the filters are seeded from the last one, as one machine resumes) are the one-machine result;
* **mask**: the filtered matte is approximate inside a chunk's first frames only: the carried matte is halved
  every frame where old and new agree and replaced where they differ, so a different start fades by 2^-OVERLAP
  before the first written frame;
* **layers**: a hidden region the warm-up saw uncovered gets the same (real) background as one machine; a
  region hidden through the whole warm-up is inpainted afresh where one machine may carry an older fill, until
  the background shows again;
* ``mask --model ... --instances N`` is not chunked: which instance is ``person_1`` is decided over the whole
  clip in order, and a warm-up cannot recover it (a chunk could swap labels); it runs on one machine.

Measured (tests/cluster/test_frame_chunks.py: 16-frame 96x54 shots, chunks 1-8 and 9-16 on two nodes, against
one machine): the first chunk is identical; mask --from-depth differs by at most 0.0012 at the boundary frame
(mean 1e-5), halving every frame after it (9e-6 at frame 16).  Layers, with the wall behind a box hidden in
every frame: alpha identical everywhere; the back layer's fill differs by a mean 0.0017 at the boundary frame
and 0.0013 after it (0.31 at the worst pixel: the hidden wall), the nearer layers by <= 3e-5, layer depth by
<= 0.002 m; composited at the original camera a mean 0.0004 (39 of 5184 pixels above 0.01: soft edges the
fill shows through).  On a clip whose hidden wall shows within the warm-up the layers were identical.  A
cross-fade of the previous chunk into the next one's start over the overlap (what depth does) spread the
boundary step over three frames but moved the convergent case away from one machine; it is not used.
"""
from __future__ import annotations

import time
from pathlib import Path

from dreamrooms.cluster.plan import Chunk, ClusterError
from dreamrooms.cluster.stages import count_new, run_stage

OVERLAP = 6     # warm-up frames before a chunk's first written frame (the matte filter's start fades by 2^-6)


def _stage(stage: str):
    """(the spine stage, its settings class, the module's result function) of mask or layers."""
    if stage == "mask":
        from dreamrooms.mask import run as m

        return m.MASK, m.MaskSettings, m.result
    from dreamrooms.layers import run as m

    return m.LAYERS, m.LayersSettings, m.result


def frames_chunk(chunk: Chunk, *, stage: str, kwargs: dict, threads: int) -> int:
    """Ray task: the stage over the chunk's warm-up frames (not written) and its own frames (the spine's chunk)."""
    from dreamrooms import stage as spine

    st, settings, _ = _stage(stage)
    res = spine.run_chunk(st, settings(**kwargs), spine.Chunk(chunk.first, chunk.last,
                                                             chunk.first - chunk.warmup if chunk.warmup else None))
    return res.written


def on_cluster(stage: str, out: Path, kwargs: dict, *, address: str, chunk: int | None, frames,
               overlap: int = OVERLAP, argv: list[str] | None = None):
    """`dreamrooms mask|layers ... --ray`: the spine's plan (checks every input, cleans stale temps), the chunks,
    then the spine's registration on the driver.  `kwargs`: the stage's settings but frames.  Returns (the
    registering run's result, frames the chunks wrote)."""
    from dreamrooms import stage as spine

    st, make, result = _stage(stage)
    settings = make(**kwargs, frames=frames, argv=argv)
    out = Path(out).resolve()
    with spine.locked(st, settings):   # the driver holds the stage's lock; its chunks write their own frames
        job, todo = spine.plan(st, settings)
        written = 0
        if todo.todo:
            pattern = Path(result(spine.Result(job, todo)).pattern)
            results = run_stage(address, stage, out, range(job.numbers[0], job.numbers[-1] + 1), chunk, frames_chunk,
                                {"stage": stage, "kwargs": {**kwargs, "overwrite": False}},
                                count_new(out / pattern.parent, pattern.name.split("#")[0], time.time() - 1.0),
                                warmup=overlap)
            written = sum(r.value for r in results)
        shot = spine.register(st, settings, job, changed=bool(written))
    return result(spine.Result(job, todo, written, shot)), written


def mask_on_cluster(source: str, out: Path, *, address: str, chunk: int | None, frames, model: str | None = None,
                    instances: int = 0, argv: list[str] | None = None, **opts):
    """`dreamrooms mask ... --ray`: see the module doc."""
    if instances:
        raise ClusterError(f"--instances {instances} --ray: instance labels are kept over the whole clip in order, "
                           f"so per-instance mattes run on one machine; drop --ray (or --instances)")
    out = Path(out).resolve()
    source = str(Path(source).resolve()) if Path(source).exists() else str(source)
    if model and Path(model).exists():
        model = str(Path(model).resolve())
    return on_cluster("mask", out, {"source": source, "out": str(out), "model": model, **opts},
                      address=address, chunk=chunk, frames=frames, argv=argv)


def layers_on_cluster(folder: Path, count: int, *, address: str, chunk: int | None, frames,
                      argv: list[str] | None = None, **opts):
    """`dreamrooms layers ... --ray`: see the module doc."""
    folder = Path(folder).resolve()
    return on_cluster("layers", folder, {"folder": str(folder), "count": count, **opts},
                      address=address, chunk=chunk, frames=frames, argv=argv)
