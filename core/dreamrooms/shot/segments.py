"""Segments: the runs of frames temporal work may cross, and where a new one starts.

A shot's `cuts` (shot.json) split its frames into independent segments (:meth:`Shot.segments`). Every stage
with temporal state (the depth stabiliser and its range, the matte filter, the fill reuse) asks
:func:`starts_segment` before each frame and starts afresh when it says so; nothing carries across a cut.
:func:`image_cut` finds cuts inside a clip from the pictures themselves (colour histograms and a small
thumbnail), so a cut is found even where two shots' depth happens to correlate.
"""
from __future__ import annotations

from typing import Iterable

import numpy as np

# Thresholds of image_cut, set on the project's fixtures (a slow push-in over one photo stays below them, two
# different photos are above): Bhattacharyya distance of 8x8x8 colour histograms, thumbnail correlation.
HIST_CUT = 0.5
HIST_MAYBE = 0.25
THUMB_CORR = 0.3
HOLD_CORR = 0.7     # even a large colour jump is no cut while the picture's layout holds (a light change)


def segment_starts(frame_start: int, cuts: Iterable[int]) -> frozenset[int]:
    """Frames that begin a segment: the first frame and every cut."""
    return frozenset({int(frame_start), *(int(c) for c in cuts)})


def starts_segment(starts: frozenset[int], n: int, prev: int | None) -> bool:
    """True when frame `n` must not inherit temporal state from `prev` (the frame processed before it, None
    at the start of a run): `n` begins a segment, or a segment start lies between them (a gap in the frames)."""
    if prev is None or n in starts or n <= prev:
        return True
    return any(prev < s <= n for s in starts)


def segment_of(starts: frozenset[int], n: int) -> int:
    """The first frame of the segment frame `n` belongs to."""
    return max((s for s in starts if s <= n), default=min(starts))


def _thumb(srgb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    x = np.clip(np.asarray(srgb, np.float32), 0, 1)
    small = cv2.resize(x, (32, 18), interpolation=cv2.INTER_AREA)
    q = (small * 7.999).astype(np.int32)
    idx = q[..., 0] * 64 + q[..., 1] * 8 + q[..., 2]
    hist = np.bincount(idx.ravel(), minlength=512).astype(np.float64)
    return hist / hist.sum(), small.mean(axis=2)


def image_cut(prev_srgb: np.ndarray, srgb: np.ndarray) -> bool:
    """Whether `srgb` starts a new shot after `prev_srgb` (both sRGB 0..1, any sizes): the colour distribution
    jumps (Bhattacharyya distance of their colour histograms above HIST_CUT) and the picture's layout changes
    (grey thumbnail correlation below HOLD_CORR), or the colours change somewhat (above HIST_MAYBE) and the
    layout does not hold at all (below THUMB_CORR)."""
    ha, ta = _thumb(prev_srgb)
    hb, tb = _thumb(srgb)
    dist = float(np.sqrt(max(0.0, 1.0 - float(np.sqrt(ha * hb).sum()))))
    if dist <= HIST_MAYBE:
        return False
    a, b = ta - ta.mean(), tb - tb.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    corr = float((a * b).sum() / den) if den > 1e-9 else 1.0
    return corr < (HOLD_CORR if dist > HIST_CUT else THUMB_CORR)
