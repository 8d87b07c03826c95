"""Depth in chunks (a cluster run), beside the stabiliser it extends: the chain of reference keyframes that fixes
the clip's scale at every chunk start, and the stabiliser of one chunk (started from its reference keyframe,
cross-faded into the next chunk's start).  Why and how well: :mod:`dreamrooms.cluster.depth`."""
from __future__ import annotations

import numpy as np


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
