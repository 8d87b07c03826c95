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

import functools
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


def chain_reference(raws: dict[int, tuple[np.ndarray, np.ndarray]], near: float, far: float,
                    metric: bool = False) -> dict[int, np.ndarray]:
    """Canonical inverse depth at each keyframe from the model's raw output and grey guide per keyframe.

    The first keyframe is mapped like the stabiliser maps a clip's first frame; each next one is fitted to
    the one before, warped along the flow between their guides (pixels that leave the picture are left out)."""
    from dreamrooms.depth import stabilize as stab

    out: dict[int, np.ndarray] = {}
    prev = None
    for k in sorted(raws):
        v, guide = raws[k]
        v = np.asarray(v, np.float32)
        if metric:
            out[k] = (1.0 / np.maximum(v, 1e-6)).astype(np.float32)
        elif prev is None:
            s, t = stab.range_mapping(*stab.robust_range(v), near, far)
            out[k] = (s * v + t).astype(np.float32)
        else:
            maps = stab.flow_maps(stab.flow_between(raws[prev][1], guide))
            ref = stab.warp_with(out[prev], maps)
            ok = maps[2] if maps[2].mean() > 0.2 else np.ones(v.shape, bool)
            s, t, _ = stab.robust_affine(v[ok], ref[ok], noise_ratio=1.0)
            if not s > 0:   # no usable overlap (a cut): match the distributions instead
                mv, sv = stab.median_mad(v)
                mr, sr = stab.median_mad(out[prev])
                s = sr / sv if sv > 1e-12 else 1.0
                t = mr - s * mv
            out[k] = (s * v + t).astype(np.float32)
        prev = k
    return out


class ChunkStabilizer:
    """The stabiliser of one chunk: started from the reference at its first warm-up frame, and cross-faded
    into the next chunk's start over the overlap (see module doc).  Called once per frame in order from
    `first_read` on, like :class:`dreamrooms.depth.stabilize.Stabilizer`."""

    def __init__(self, mode: str, near: float, far: float, *, metric: bool, first_read: int,
                 start: tuple[np.ndarray, np.ndarray] | None = None,
                 handover: tuple[int, int, np.ndarray, np.ndarray] | None = None):
        from dreamrooms.depth.stabilize import Stabilizer

        self.mode, self._args = mode, (mode, near, far)
        self._metric = metric
        self.base = Stabilizer(mode, near, far, metric=metric)
        if start is not None:
            self.base.seed(*start)
        self.frame = self._first = first_read
        self.handover = handover        # (next chunk's first warm-up frame, our last frame, its start u, guide)
        self.twin = None

    def restart(self) -> None:
        """A cut (dreamrooms.shot.segments) inside the chunk starts afresh; at the chunk's first frame the
        reference it was started from stands."""
        if self.frame != self._first:
            self.base.restart()

    def __call__(self, raw: np.ndarray, guide: np.ndarray | None = None, flow: np.ndarray | None = None) -> np.ndarray:
        from dreamrooms.depth.stabilize import Stabilizer

        n, self.frame = self.frame, self.frame + 1
        u = self.base(raw, guide, flow)
        if self.handover is None:
            return u
        w0, end, u_ref, g_ref = self.handover
        if n == w0:
            self.twin = Stabilizer(*self._args, metric=self._metric)
            self.twin.seed(u_ref, g_ref)
        elif self.twin is not None and n <= end:
            lam = np.float32((n - w0) / max(1, end - w0))
            u = ((1 - lam) * u + lam * self.twin(raw, guide, flow)).astype(np.float32)
        return u


def reference_task(*, source: str, model: str, keys: list[int], size, near: float, far: float, device: str,
                   threads: int, fps) -> dict[int, tuple[np.ndarray, np.ndarray]]:
    """Ray task: the model on the keyframes only, chained into one scale: {frame: (inverse depth, guide)}."""
    from types import SimpleNamespace

    import cv2

    from dreamrooms import progress as prog
    from dreamrooms.depth import runner, stabilize as stab
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
        (_, y, _), = feed([SimpleNamespace(frame=fr, tensor=x)])
        if y.shape != tuple(net_hw):   # an export with its own output size, brought to the network size as the stage does
            y = cv2.resize(y, (net_hw[1], net_hw[0]), interpolation=cv2.INTER_LINEAR)
        raws[fr.number] = (y, stab.grey_guide(small))
    u = chain_reference(raws, near, far, runner.is_metric(ms.entry))
    return {k: (u[k], raws[k][1]) for k in u}


def depth_chunk(chunk: Chunk, *, source: str, model: str, out: str, opts: dict, starts: dict,
                handovers: dict, threads: int) -> int:
    """Ray task: depth for the chunk's frames, its stabiliser started from the reference at its warm-up and
    cross-faded into the next chunk's start."""
    from dreamrooms.depth.pipeline import estimate_sequence

    w0 = chunk.first - chunk.warmup
    first_read = w0 + 1 if chunk.warmup else chunk.first
    make = functools.partial(ChunkStabilizer, first_read=first_read, start=starts.get(w0) if chunk.warmup else None,
                             handover=handovers.get(chunk.first))
    res = estimate_sequence(source, model, out, frames=(chunk.first, chunk.last), threads=threads,
                            make_stabilizer=make, warmup_from=first_read, register=False, lock=False, **opts)
    return len(res.processed)


def depth_on_cluster(source: str, model: str, out: Path, *, address: str, chunk: int | None,
                     frames: tuple[int, int] | str | None, overlap: int = OVERLAP, argv: list[str] | None = None,
                     **opts):
    """`dreamrooms depth ... --ray`: the reference, the chunks, then registration on the driver.
    Returns (the registration's DepthResult, frames the chunks wrote)."""
    from dreamrooms.shot.lock import writer_lock

    out = Path(out).resolve()
    with writer_lock(out, "depth"):   # the driver holds the shot's depth lock; its chunks write their own frames
        return _depth_on_cluster(source, model, out, address=address, chunk=chunk, frames=frames, overlap=overlap,
                                 argv=argv, **opts)


def _depth_on_cluster(source: str, model: str, out: Path, *, address: str, chunk: int | None, frames, overlap: int,
                      argv: list[str] | None, **opts):
    from dreamrooms.depth.pipeline import estimate_sequence, prepare_output
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

    results = run_stage(address, "depth", out, numbers[0], numbers[-1], chunk, depth_chunk,
                        {"source": source, "model": model, "out": str(out), "opts": opts},
                        count_new(out / "depth", f"{name}.", time.time() - 1.0), warmup=overlap, before=reference)
    # every frame is on disk: this registers the sequences (checking each frame's settings) without inference
    res = estimate_sequence(source, model, out, frames=frames, argv=argv, trust_renames=True, lock=False,
                            **{**opts, "overwrite": False})
    return res, sum(r.value for r in results)
