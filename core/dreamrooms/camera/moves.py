"""Camera moves: the one registry of move presets (name -> pose function).  `dreamrooms room --move`, the
Blender panel's Camera move enum and the docs all list REGISTRY; add a move by decorating a function with
`@move(...)` here.  A move is per-frame 4x4 camera-to-world matrices, eased over its duration, then held."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from dreamrooms.camera.geometry import look_at, rotation
from dreamrooms.easing import CURVES, ease
from dreamrooms.errors import DreamroomsError

EASINGS = tuple(CURVES)   # the one easing table (dreamrooms.easing)
MOVE_ALIASES = {"dolly": "dolly_in", "dolly-in": "dolly_in", "dolly-out": "dolly_out",
                "walk-past": "walk_past", "walk": "walk_past", "shake": "handheld", "none": "static"}
WORLD_UP = np.array([0.0, 0.0, 1.0])


@dataclass(frozen=True)
class MoveContext:
    """What every pose function may read: the start pose and the move's settings."""
    start: np.ndarray            # 4x4 camera-to-world at frame 1
    intensity: float
    pivot_distance: float
    axis: np.ndarray | None
    length: float | None
    fps: float

    @property
    def eye(self) -> np.ndarray:
        return self.start[:3, 3]

    @property
    def right(self) -> np.ndarray:
        return self.start[:3, 0]

    @property
    def forward(self) -> np.ndarray:
        return -self.start[:3, 2]

    @property
    def pivot(self) -> np.ndarray:
        return self.eye + self.forward * self.pivot_distance


@dataclass(frozen=True)
class Move:
    name: str
    label: str                 # what the Blender panel shows
    description: str           # --help text and the panel's tooltip
    pose: Callable[[MoveContext, float, int], np.ndarray]   # (context, eased progress 0..1, frame index) -> 4x4


REGISTRY: dict[str, Move] = {}


def move(name: str, label: str, description: str):
    """Register a pose function under `name` (the decorator every move uses)."""
    def deco(fn):
        REGISTRY[name] = Move(name, label, description, fn)
        return fn
    return deco


@move("static", "Static", "no move (a locked-off camera)")
def _static(c: MoveContext, s: float, k: int) -> np.ndarray:
    return c.start.copy()


def _translate(c: MoveContext, offset: np.ndarray) -> np.ndarray:
    m = c.start.copy()
    m[:3, 3] = c.eye + offset
    return m


@move("dolly_in", "Dolly in", "forward along the view by INTENSITY metres")
def _dolly_in(c: MoveContext, s: float, k: int) -> np.ndarray:
    return _translate(c, c.forward * c.intensity * s)


@move("dolly_out", "Dolly out", "backward along the view by INTENSITY metres")
def _dolly_out(c: MoveContext, s: float, k: int) -> np.ndarray:
    return _dolly_in(c, -s, k)


@move("truck", "Truck", "sideways (to the camera's right) by INTENSITY metres")
def _truck(c: MoveContext, s: float, k: int) -> np.ndarray:
    return _translate(c, c.right * c.intensity * s)


@move("pan", "Pan", "turn about world Z by INTENSITY x 30 degrees")
def _pan(c: MoveContext, s: float, k: int) -> np.ndarray:
    m = c.start.copy()
    m[:3, :3] = rotation(WORLD_UP, math.radians(30.0) * c.intensity * s) @ c.start[:3, :3]
    return m


@move("orbit", "Orbit", "circle a point PIVOT metres ahead by INTENSITY x 40 degrees")
def _orbit(c: MoveContext, s: float, k: int) -> np.ndarray:
    r = rotation(WORLD_UP, math.radians(40.0) * c.intensity * s)
    m = c.start.copy()
    m[:3, :3] = r @ c.start[:3, :3]
    m[:3, 3] = c.pivot + r @ (c.eye - c.pivot)
    return m


@move("crane", "Crane", "up by INTENSITY metres, still looking at the point ahead")
def _crane(c: MoveContext, s: float, k: int) -> np.ndarray:
    up = WORLD_UP if abs(c.forward @ WORLD_UP) < 0.999 else c.start[:3, 1]
    return look_at(c.eye + WORLD_UP * c.intensity * s, c.pivot, up=up)


@move("walk_past", "Walk past", "walk along the camera's right (or an axis) for 4 x INTENSITY metres, with a step bob")
def _walk_past(c: MoveContext, s: float, k: int) -> np.ndarray:
    ax = np.asarray(c.axis if c.axis is not None else c.right, dtype=np.float64)
    ax = ax / np.linalg.norm(ax)
    dist = c.length if c.length is not None else 4.0 * c.intensity
    step_hz = 1.8  # steps per second
    bob = 0.015 * c.intensity * abs(math.sin(math.pi * step_hz * k / c.fps)) if s < 1.0 else 0.0
    m = c.start.copy()
    m[:3, 3] = c.eye + ax * dist * s + WORLD_UP * bob
    return m


@move("handheld", "Handheld", "seeded handheld shake of strength INTENSITY, no travel")
def _handheld(c: MoveContext, s: float, k: int) -> np.ndarray:
    return c.start.copy()


MOVES = tuple(REGISTRY)


def _smooth_noise(n: int, rng: np.random.Generator, rate: float) -> np.ndarray:
    """(n,) smooth zero-mean noise in about [-1, 1]: a sum of sines with random phase/frequency."""
    t = np.arange(n, dtype=np.float64)
    out = np.zeros(n)
    norm = 0.0
    for k in range(4):
        f = rate * (1.7 ** k) * rng.uniform(0.7, 1.3)
        amp = 0.55 ** k
        out += amp * np.sin(2 * np.pi * f * t + rng.uniform(0, 2 * np.pi))
        norm += amp
    return out / norm


def normalise_move(name: str) -> str:
    key = MOVE_ALIASES.get(name.lower(), name.lower().replace("-", "_"))
    if key not in REGISTRY:
        raise DreamroomsError(f"camera move {name!r}: use one of {', '.join(REGISTRY)}")
    return key


@dataclass(frozen=True)
class MoveSettings:
    """How a move preset runs (camera_move's keyword arguments)."""
    intensity: float = 1.0
    duration: int | None = None        # frames the move takes, then it holds (None: all)
    easing: str = "ease_in_out"
    pivot_distance: float = 3.0        # orbit / crane: the point looked at, metres ahead
    axis: Sequence[float] | None = None    # walk_past: direction (default the camera's right)
    length: float | None = None        # walk_past: metres (default 4 x intensity)
    shake: float = 0.0                 # handheld shake added to any move
    seed: int = 0
    fps: float = 24.0
    scale: float = 1.0                 # in (0, 1]: every frame's displacement from the start shrunk (--reveal-budget)


def camera_move(kind: str, n_frames: int, start: np.ndarray | None = None, **settings) -> list[np.ndarray]:
    """Per-frame camera-to-world matrices for a move preset; `settings` are MoveSettings' fields.

    kind: static, dolly_in, dolly_out (along the view by `intensity` m), truck (sideways
    `intensity` m), pan (yaw `intensity` x 30 deg about world Z), orbit (around a point
    `pivot_distance` ahead, `intensity` x 40 deg), crane (up `intensity` m, keeps looking at the
    pivot), walk_past (along `axis` — default the camera's right — for `length` m, default
    4 x intensity, with a small walking bob), handheld (seeded shake only).
    The move takes `duration` frames (default all) with `easing`, then holds.  `shake` (>= 0)
    adds handheld shake of that strength to any move (handheld uses `intensity`).  `scale` in (0, 1] shrinks
    every frame's displacement from `start` (what `--reveal-budget` fits).
    """
    s = MoveSettings(**settings)
    kind = normalise_move(kind)
    if n_frames < 1:
        raise DreamroomsError(f"camera move: {n_frames} frames; needs at least 1")
    m0 = np.eye(4) if start is None else np.asarray(start, dtype=np.float64).reshape(4, 4)
    dur = n_frames if s.duration is None else max(1, min(int(s.duration), n_frames))
    t = np.minimum(np.arange(n_frames) / max(dur - 1, 1), 1.0)
    eased = ease(t, s.easing)
    ctx = MoveContext(m0, float(s.intensity), float(s.pivot_distance),
                      None if s.axis is None else np.asarray(s.axis, dtype=np.float64), s.length, float(s.fps))
    pose = REGISTRY[kind].pose
    out = [pose(ctx, float(eased[k]), k) for k in range(n_frames)]
    amount = s.intensity if kind == "handheld" else s.shake
    if amount > 0:
        out = add_shake(out, amount, seed=s.seed, fps=s.fps)
    return out if s.scale == 1.0 else scale_move(out, m0, s.scale)


def scale_move(matrices: Sequence[np.ndarray], start: np.ndarray, factor: float) -> list[np.ndarray]:
    """Each pose moved `factor` of the way from `start` to it: the position along the line, the rotation along
    the shortest arc (the same turn about the same axis, `factor` as far)."""
    s = np.asarray(start, dtype=np.float64).reshape(4, 4)
    out = []
    for m in matrices:
        m = np.asarray(m, dtype=np.float64).reshape(4, 4)
        rel = s[:3, :3].T @ m[:3, :3]
        angle = math.acos(float(np.clip((np.trace(rel) - 1.0) / 2.0, -1.0, 1.0)))
        r = s[:3, :3].copy()
        if angle > 1e-12:
            axis = np.array([rel[2, 1] - rel[1, 2], rel[0, 2] - rel[2, 0], rel[1, 0] - rel[0, 1]])
            if np.linalg.norm(axis) < 1e-9:   # a half turn: the axis is the eigenvector of eigenvalue 1
                w, v = np.linalg.eigh(rel + rel.T)
                axis = v[:, int(np.argmax(w))]
            r = s[:3, :3] @ rotation(axis, angle * factor)
        p = np.eye(4)
        p[:3, :3] = r
        p[:3, 3] = s[:3, 3] + factor * (m[:3, 3] - s[:3, 3])
        out.append(p)
    return out


def add_shake(matrices: Sequence[np.ndarray], amount: float = 1.0, seed: int = 0, fps: float = 24.0) -> list[np.ndarray]:
    """Seeded handheld shake: about 0.6 deg of rotation and 1 cm of translation per unit `amount`,
    smooth at ~1-3 Hz.  Same seed, same shake."""
    n = len(matrices)
    rng = np.random.default_rng(seed)
    rate = 1.2 / fps
    rot = [_smooth_noise(n, rng, rate) for _ in range(3)]
    pos = [_smooth_noise(n, rng, rate) for _ in range(3)]
    out = []
    for k, m in enumerate(matrices):
        m = np.array(m, dtype=np.float64)
        r = m[:3, :3]
        ang = np.radians(0.6 * amount) * np.array([rot[0][k], rot[1][k], rot[2][k] * 0.5])
        local = rotation((1, 0, 0), ang[0]) @ rotation((0, 1, 0), ang[1]) @ rotation((0, 0, 1), ang[2])
        m[:3, :3] = r @ local
        m[:3, 3] = m[:3, 3] + r @ (0.01 * amount * np.array([pos[0][k], pos[1][k], pos[2][k]]))
        out.append(m)
    return out
