"""Clip models (the `video` depth kind): overlapping windows, each aligned to the previous overlap, streamed.

A clip model (Video Depth Anything) sees `window` frames per run.  Windows advance by `window - overlap`; the
first `overlap` inputs of a window are the previous window's inputs at `keyframes` (so the clip's first frame
stays in every window as an anchor).  A window's scale and shift are fitted by least squares on its first
`align_frames` outputs against the already aligned outputs of the same frames, and the `blend_frames` frames
two windows share are cross-faded linearly.  This is the scheme of `infer_video_depth` in
DepthAnything/Video-Depth-Anything (video_depth_anything/video_depth.py), re-derived, not copied.

Frames are pushed in clip order as network inputs; aligned predictions come out in clip order as soon as no
later window can change them, so memory holds one window whatever the clip length.  `state()` after each
window is enough to resume: a run restarted at window k pushes the anchors `anchors(k)` and then frames from
`first_frame(k)` on, and emits exactly the frames from `first_frame(k)` on.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from dreamrooms.models.video_plan import VideoPlan  # noqa: F401  (the manifest's window geometry; re-exported)


def fit_scale_shift(pred: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """Least-squares (s, t) minimising |s * pred + t - ref|^2 over all pixels (float64 sums)."""
    p = pred.astype(np.float64).ravel()
    r = ref.astype(np.float64).ravel()
    a00, a01, a11 = p @ p, p.sum(), float(p.size)
    b0, b1 = p @ r, r.sum()
    det = a00 * a11 - a01 * a01
    if det <= 1e-12 * max(a00 * a11, 1e-30):
        return 1.0, float((r - p).mean())
    return float((a11 * b0 - a01 * b1) / det), float((a00 * b1 - a01 * b0) / det)


class VideoWindows:
    """Streaming window scheduler: `push(index, x)` network inputs in clip order, get final (index, prediction)."""

    def __init__(self, plan: VideoPlan, run: Callable[[np.ndarray], np.ndarray], n_frames: int,
                 state: dict | None = None):
        plan.check()
        self.plan, self.run, self.n = plan, run, int(n_frames)
        self.k = 0
        self.ref: list[np.ndarray] = []          # aligned predictions of the alignment anchors
        self.pending: list[np.ndarray] = []      # aligned predictions of the frames the next window shares
        self.inputs: dict[int, np.ndarray] = {}
        self.emitted = 0
        if state is not None:
            self.k = int(state["k"])
            self.ref = [np.asarray(r, np.float32) for r in state["ref"]]
            self.pending = [np.asarray(p, np.float32) for p in state["pending"]]
            self.emitted = plan.first_frame(self.k)

    def state(self) -> dict:
        """What resuming at the next window needs (small: the anchors' and the shared frames' predictions)."""
        return {"k": self.k, "ref": list(self.ref), "pending": list(self.pending)}

    def push(self, index: int, x: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Give the network input of clip frame `index`; returns the frames that became final, in order."""
        self.inputs[int(index)] = x
        out: list[tuple[int, np.ndarray]] = []
        while self.k < self.plan.windows(self.n):
            need = self.plan.inputs(self.k, self.n)
            if not all(i in self.inputs for i in need):
                break
            out += self._window(need)
        return out

    def _window(self, need: list[int]) -> list[tuple[int, np.ndarray]]:
        p = self.plan
        batch = np.stack([self.inputs[i] for i in need])[None]
        pred = np.asarray(self.run(batch), np.float32).reshape(p.window, *batch.shape[-2:])
        pred = [pred[j] for j in range(p.window)]
        out: list[tuple[int, np.ndarray]] = []
        start = self.k * p.step
        if self.k == 0:
            aligned = pred
            final_upto = p.window - p.blend_frames
            out = [(i, aligned[i]) for i in range(final_upto)]
            self.ref = [aligned[j] for j in p.keyframes[:p.align_frames]]
        else:
            a = p.align_frames
            s, t = fit_scale_shift(np.stack(pred[:a]), np.stack(self.ref))
            aligned = [np.maximum(d * np.float32(s) + np.float32(t), 0) for d in pred]
            n_b = p.blend_frames
            w = np.linspace(0.0, 1.0, n_b, dtype=np.float32) if n_b > 1 else np.ones(1, np.float32)
            shared = [self.pending[j] * (1 - w[j]) + aligned[a + j] * w[j] for j in range(n_b)]
            first = p.first_frame(self.k)
            out = [(first + j, shared[j]) for j in range(n_b)]
            out += [(start + j, aligned[j]) for j in range(p.overlap, p.window - n_b)]
            self.ref = self.ref[:1] + [aligned[j] for j in p.keyframes[1:a]]
        self.pending = aligned[p.window - p.blend_frames:]
        self.k += 1
        if self.k >= p.windows(self.n):        # the clip ends in this window: the shared frames are final too
            last = start + p.window - p.blend_frames
            out += [(last + j, self.pending[j]) for j in range(p.blend_frames)]
            self.pending = []
        keep = set(self.plan.inputs(self.k, self.n)) if self.k < p.windows(self.n) else set()
        self.inputs = {i: v for i, v in self.inputs.items() if i in keep}
        out = [(i, d) for i, d in out if self.emitted <= i < self.n]
        if out:
            self.emitted = out[-1][0] + 1
        return out
