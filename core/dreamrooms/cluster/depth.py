"""Depth in chunks on a Ray cluster, with the temporal stability of one machine.

One machine stabilises a clip in one pass: the first frame fixes the scale (its robust range onto near..far),
every later frame is aligned to a keyframe refreshed every ``interval`` frames, and a per-pixel filter follows
the motion.  Chunks computed in parallel must agree on that scale and must not restart the filter where a
viewer would see it:

1. **Reference** (one task, model only, no upsampling or writing): the model runs on keyframes sampled across
   the whole clip: the first frame, every ``interval``-th frame and the first warm-up frame of every chunk.
   The first is mapped by its robust range exactly as one machine maps it; each later keyframe is aligned to
   the one before by the same robust line fit the stabiliser uses, after warping that one along the optical
   flow between them.  This fixes the clip's scale at every chunk start before any chunk runs.
2. **Chunks** overlap their neighbour by ``overlap`` frames: a chunk's stabiliser starts from the reference
   keyframe at its first warm-up frame (its scale and its motion guide) and runs over the warm-up frames, in
   which the per-pixel filter settles, writing only its own frames.  The chunk before it computes the same
   start in a twin stabiliser over the same overlap frames (same reference, same frames: the same numbers)
   and cross-fades its own output into the twin's, so its last frame is what the next chunk continues from:
   no jump at the boundary, the difference between the two spread over the overlap.  A chunk is done whole
   or redone whole (its frames are a function of the reference), so a retried or resumed chunk writes the
   same frames again.
3. The driver registers the sequences once every frame is on disk, as one machine does.

Measured (tests/cluster/test_depth_chunks.py: a rendered 40-frame orbit with ground truth, tinydepth, chunks of
14 on two nodes): mean frame-to-frame flicker 0.0113 chunked vs 0.0108 on one machine (per-frame min-max
0.0225); at the two chunk boundaries 0.0084, inside chunks 0.0115, one machine at those transitions 0.0085;
AbsRel 0.146 vs 0.147.  Without the cross-fade the boundaries flickered 2-4x more than inside chunks.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

from dreamrooms.cluster import driver
from dreamrooms.cluster.plan import Chunk, ClusterError
from dreamrooms.cluster.stages import count_new, run_stage

OVERLAP = 8          # warm-up frames before a chunk's first written frame (4 left the boundaries ~1.3x steppier)
INTERVAL = 12        # reference keyframe spacing: the stabiliser's keyframe refresh interval


def reference_keys(first: int, last: int, chunks: list[Chunk], interval: int = INTERVAL) -> list[int]:
    """Frames the reference pass runs the model on: `first`, every `interval`-th, and each chunk's first warm-up
    frame (where that chunk's stabiliser starts)."""
    keys = set(range(first, last + 1, interval)) | {c.first - c.warmup for c in chunks if c.warmup}
    return sorted(keys)


def reference_task(*, source: str, model: str, keys: list[int], size, near: float, far: float, device: str,
                   threads: int, fps) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Ray task: the model on the keyframes only, chained into one scale: {frame: (inverse depth, guide)}."""
    import cv2

    from dreamrooms import progress as prog
    from dreamrooms.depth import runner, stabilize as stab
    from dreamrooms.depth.chunks import chain_reference
    from dreamrooms.depth.image import network_size, preprocess
    from dreamrooms.depth.model import io_names, load_model
    from dreamrooms.shot.sources import open_source

    prog.set_mode("none")
    src = open_source(source, fps=fps)
    ms = load_model(model, device=device, threads=threads)
    feed = runner.FrameRunner(ms, *io_names(ms))   # the stage's own runner: layouts, constants, semantics
    net_hw = network_size(ms.entry.input, src.height, src.width, size)
    raws = {}
    for fr in src.frames(keys):
        x, small = preprocess(fr.srgb, net_hw, ms.entry.input)
        (y, _), = feed.predict(x[None], str(fr.number))
        if y.shape != tuple(net_hw):   # an export with its own output size, brought to the network size as the stage does
            y = cv2.resize(y, (net_hw[1], net_hw[0]), interpolation=cv2.INTER_LINEAR)
        raws[fr.number] = (y, stab.grey_guide(small))
    u = chain_reference(raws, near, far, runner.is_metric(ms.entry))
    return {k: (u[k], raws[k][1]) for k in u}


def depth_chunk(chunk: Chunk, *, source: str, model: str, out: str, opts: dict, starts: dict,
                handovers: dict, threads: int) -> int:
    """Ray task: the stage spine's chunk run of depth: its stabiliser started from the reference at its warm-up
    and cross-faded into the next chunk's start (:class:`dreamrooms.depth.chunks.ChunkStabilizer`)."""
    from dreamrooms import stage as spine
    from dreamrooms.depth.pipeline import DepthSettings
    from dreamrooms.depth.stage import DEPTH

    w0 = chunk.first - chunk.warmup
    first_read = w0 + 1 if chunk.warmup else chunk.first
    context = {"first_read": first_read, "start": starts.get(w0) if chunk.warmup else None,
               "handover": handovers.get(chunk.first)}
    settings = DepthSettings(source, model, out, threads=threads, **{**opts, "frames": (chunk.first, chunk.last)})
    return spine.run_chunk(DEPTH, settings, spine.Chunk(chunk.first, chunk.last, first_read, context)).written


def depth_on_cluster(source: str, model: str, out: Path, *, address: str, chunk: int | None,
                     frames: tuple[int, int] | str | None, overlap: int = OVERLAP, argv: list[str] | None = None,
                     **opts):
    """`dreamrooms depth ... --ray`: the reference, the chunks, then registration on the driver.
    Returns (the registration's DepthResult, frames the chunks wrote)."""
    from dreamrooms.shot.lock import writer_lock

    out = Path(out).resolve()
    with writer_lock(out, "depth"):   # the driver holds the shot's depth lock (spine.locked); its chunks write their own frames
        return _depth_on_cluster(source, model, out, address=address, chunk=chunk, frames=frames, overlap=overlap,
                                 argv=argv, **opts)


def _depth_on_cluster(source: str, model: str, out: Path, *, address: str, chunk: int | None, frames, overlap: int,
                      argv: list[str] | None, **opts):
    from dreamrooms.depth.pipeline import prepare_output
    from dreamrooms.models.registry import resolve

    source = str(Path(source).resolve()) if Path(source).exists() else str(source)
    resolve(str(model), kind="depth")      # a wrong model name fails here, before anything is written
    numbers, name = prepare_output(source, out, frames=frames, **opts)
    if numbers != list(range(numbers[0], numbers[-1] + 1)):
        raise ClusterError(f"{source}: frames {numbers[0]}-{numbers[-1]} have gaps; --ray needs consecutive frames "
                           f"(give --frames A-B inside one run of them)")
    opts = {**opts, "name": name}
    ref_opts = dict(size=opts.get("size"), near=opts.get("near", 1.0), far=opts.get("far", 10.0),
                    device=opts.get("device", "auto"), fps=opts.get("fps"))

    def reference(ray, res, chunks):
        if opts.get("stabilize", "keyframe") == "off" or len(chunks) < 2:
            return {"starts": {}, "handovers": {}}
        keys = reference_keys(numbers[0], numbers[-1], chunks)
        t = time.monotonic()
        task = ray.remote(reference_task).options(num_cpus=res.num_cpus, num_gpus=res.num_gpus,
                                                  max_retries=driver.MAX_RETRIES, name="dreamrooms-depth-reference")
        ref = ray.get(task.remote(source=source, model=model, keys=keys, threads=res.num_cpus, **ref_opts))
        print(f"depth: reference scale from {len(keys)} keyframe(s) in {time.monotonic() - t:.1f} s",
              file=sys.stderr, flush=True)
        starts = {c.first - c.warmup: ref[c.first - c.warmup] for c in chunks if c.warmup}
        # each chunk but the last cross-fades into the next one's start over the overlap
        hand = {a.first: (b.first - b.warmup, a.last, *starts[b.first - b.warmup]) for a, b in zip(chunks, chunks[1:])}
        return {"starts": starts, "handovers": hand}

    results = run_stage(address, "depth", out, range(numbers[0], numbers[-1] + 1), chunk, depth_chunk,
                        {"source": source, "model": model, "out": str(out), "opts": opts},
                        count_new(out / "depth", f"{name}.", time.time() - 1.0), warmup=overlap, before=reference)
    # every frame is on disk: the spine registers the sequences (no inference)
    from dreamrooms import stage as spine
    from dreamrooms.depth.pipeline import DepthSettings, check_settings, result
    from dreamrooms.depth.stage import DEPTH
    from dreamrooms.stage.plan import Plan

    settings = DepthSettings(source, model, out, frames=frames, argv=argv, **{**opts, "overwrite": False})
    check_settings(settings)
    job = DEPTH.prepare(settings)      # no rescan: every frame was renamed into place whole by this run's chunks
    shot = spine.register(DEPTH, settings, job)
    return result(spine.Result(job, Plan(job.numbers, len(job.numbers)), 0, shot)), sum(r.value for r in results)
