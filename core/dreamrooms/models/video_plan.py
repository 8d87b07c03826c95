"""A clip model's window geometry, as its manifest's [models.NAME.video] table declares it.

It lives with the models because the registry checks it when it loads a manifest; `dreamrooms.depth.video`
streams clips with it (see there for what the windows, anchors and blends mean).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoPlan:
    """Window geometry of a clip model, from the manifest's [models.NAME.video] table."""
    window: int = 32
    overlap: int = 10
    keyframes: tuple[int, ...] = (0, 12, 24, 25, 26, 27, 28, 29, 30, 31)
    align_frames: int = 2
    blend_frames: int = 8

    @classmethod
    def from_entry(cls, table: dict) -> "VideoPlan":
        plan = cls(window=int(table.get("window", 32)), overlap=int(table.get("overlap", 10)),
                   keyframes=tuple(int(k) for k in table.get("keyframes", cls.keyframes)),
                   align_frames=int(table.get("align_frames", 2)), blend_frames=int(table.get("blend_frames", 8)))
        plan.check()
        return plan

    def check(self) -> None:
        ok = (0 < self.overlap < self.window and len(self.keyframes) == self.overlap
              and self.align_frames + self.blend_frames == self.overlap
              and all(0 <= k < self.window for k in self.keyframes)
              # the shared (blended) frames are the previous window's last inputs, in order
              and list(self.keyframes[self.align_frames:]) == list(range(self.window - self.blend_frames, self.window))
              # the alignment anchors are fresh frames of the previous window (or its first slot)
              and all(k == 0 or k >= self.overlap for k in self.keyframes[:self.align_frames]))
        if not ok:
            raise ValueError(f"video plan {self} is not a valid window layout: keyframes must be {self.overlap} "
                             f"slots, the first align_frames anchors, the rest the window's last blend_frames")

    @property
    def step(self) -> int:
        return self.window - self.overlap

    def inputs(self, k: int, n: int) -> list[int]:
        """Clip frame indices fed to window k of an n-frame clip (past the end: the last frame, as the authors pad)."""
        if k == 0:
            idx = list(range(self.window))
        else:
            prev = self.inputs(k - 1, n)
            idx = [prev[j] for j in self.keyframes] + list(range(k * self.step + self.overlap,
                                                                 k * self.step + self.window))
        return [min(i, n - 1) for i in idx]

    def windows(self, n: int) -> int:
        """Windows for an n-frame clip: the last one is the first that reaches frame n-1 (the authors run
        ceil(n / step) windows, which can add one that only re-predicts the last frames)."""
        return 1 if n <= self.window else 1 + -(-(n - self.window) // self.step)

    def first_frame(self, k: int) -> int:
        """The first clip frame window k emits (the earlier ones were final after window k-1)."""
        return 0 if k == 0 else (k - 1) * self.step + self.window - self.blend_frames

    def anchors(self, k: int, n: int) -> list[int]:
        """Frames window k needs that come before `first_frame(k)` (re-pushed when resuming at window k)."""
        return sorted({i for i in self.inputs(k, n) if i < self.first_frame(k)})
