"""Latent path math for walks (numpy only, no model): seeds -> latents, interpolation, loops, speed.

Time runs over a normalised parameter ``u``.  A walk of ``n`` frames samples frame ``i`` (0-based)
at ``u = i / (n - 1)`` for open paths and at ``u = i / n`` for loops, so a loop's frame ``n`` (the
one after the last) would sit at ``u = 1``, which is the same point as ``u = 0``: loops close.

* :func:`seed_latent` — the same seed gives the same latent on every machine (PCG64 standard normal,
  float64 drawn then rounded to float32).
* :func:`slerp` (falls back to :func:`lerp` when the two latents are nearly parallel or opposite),
  :func:`lerp`, and Catmull-Rom :func:`cubic` through keyframes (for W space).
* :class:`KeyframePath` and :class:`NoiseLoop` — ``at(u) -> latents [len(u), dim]``.
* :func:`ease`, :func:`truncate`, :func:`constant_speed_times` (arc-length reparametrisation from
  measured frame-to-frame image change).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from dreamrooms import easing
from dreamrooms.errors import DreamroomsError

EASES = ("linear", "smooth")
INTERPS = ("slerp", "lerp", "cubic")
PARALLEL_EPS = 1e-4  # |sin(angle)| below this: slerp is ill-conditioned, use lerp


class WalkError(DreamroomsError):
    """A walk cannot be built from the given keyframes or settings."""


# ---- latents from seeds ----------------------------------------------------------------------------
def seed_latent(seed: int, dim: int) -> np.ndarray:
    """Standard-normal latent of `dim` from `seed` (numpy PCG64; identical on every platform)."""
    if dim < 1:
        raise WalkError(f"latent_dim must be >= 1, got {dim}")
    if seed < 0:
        raise WalkError(f"seed {seed} is negative; seeds are integers >= 0")
    return np.random.default_rng(int(seed)).standard_normal(int(dim)).astype(np.float32)


def parse_seeds(text: str) -> list[int]:
    """`"3,17,42"` -> [3, 17, 42] with a clear error for anything else."""
    out = []
    for part in str(text).split(","):
        part = part.strip()
        if not part:
            continue
        try:
            value = int(part)
        except ValueError:
            raise WalkError(f"--seeds: {part!r} is not an integer; give comma-separated seeds like 3,17,42") from None
        if value < 0:
            raise WalkError(f"--seeds: {value} is negative; seeds are integers >= 0")
        out.append(value)
    if not out:
        raise WalkError("--seeds is empty; give comma-separated seeds like 3,17,42")
    return out


# ---- interpolation ---------------------------------------------------------------------------------
def _as_t(t, n_dims: int) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    return t.reshape(t.shape + (1,) * n_dims)


def lerp(a: np.ndarray, b: np.ndarray, t) -> np.ndarray:
    """(1-t) a + t b; `t` scalar or array (result gets t's shape + a's shape)."""
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    tt = _as_t(t, a.ndim)
    return ((1.0 - tt) * a + tt * b).astype(np.float32)


def slerp(a: np.ndarray, b: np.ndarray, t, eps: float = PARALLEL_EPS) -> np.ndarray:
    """Spherical interpolation on the angle between `a` and `b` (norms are not forced to 1).

    Moves at constant angular speed; for equal-norm endpoints the norm stays constant along the path,
    so Gaussian latents keep the typical norm instead of sagging toward the origin as lerp does.
    When a and b are (nearly) parallel or opposite, the great circle is undefined and lerp is used.
    """
    a = np.asarray(a, np.float64)
    b = np.asarray(b, np.float64)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0.0 or nb == 0.0:
        return lerp(a, b, t)
    cos = float(np.clip(np.dot(a.ravel(), b.ravel()) / (na * nb), -1.0, 1.0))
    omega = math.acos(cos)
    sin = math.sin(omega)
    if abs(sin) < eps:
        return lerp(a, b, t)
    tt = _as_t(t, a.ndim)
    wa = np.sin((1.0 - tt) * omega) / sin
    wb = np.sin(tt * omega) / sin
    return (wa * a + wb * b).astype(np.float32)


def catmull_rom(p0, p1, p2, p3, t) -> np.ndarray:
    """Uniform Catmull-Rom segment from p1 (t=0) to p2 (t=1); C1 through keyframes."""
    p0, p1, p2, p3 = (np.asarray(p, np.float64) for p in (p0, p1, p2, p3))
    tt = _as_t(t, p1.ndim)
    t2, t3 = tt * tt, tt * tt * tt
    out = 0.5 * ((2 * p1) + (-p0 + p2) * tt + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t2 + (-p0 + 3 * p1 - 3 * p2 + p3) * t3)
    return out.astype(np.float32)


# ---- easing and truncation ------------------------------------------------------------------------
def ease(t, kind: str = "linear") -> np.ndarray:
    """Segment-local time 0..1 -> 0..1: `linear`, or `smooth` (smootherstep: zero velocity and acceleration at
    both keys, so the walk dwells on each keyframe); the curves are dreamrooms.easing's."""
    if kind not in EASES:
        raise WalkError(f"unknown ease {kind!r}; use one of {', '.join(EASES)}")
    return easing.ease(t, kind)


def truncate(latents: np.ndarray, psi: float, mean: np.ndarray | None = None) -> np.ndarray:
    """Truncation trick: pull latents toward `mean` (default the origin, the mean of N(0, I))."""
    latents = np.asarray(latents, np.float32)
    if psi == 1.0:
        return latents
    m = np.zeros(latents.shape[-1], np.float32) if mean is None else np.asarray(mean, np.float32).reshape(-1)
    if m.shape[0] != latents.shape[-1]:
        raise WalkError(f"truncation mean has {m.shape[0]} values but latents have {latents.shape[-1]}")
    return (m + np.float32(psi) * (latents - m)).astype(np.float32)


# ---- paths -----------------------------------------------------------------------------------------
def frame_times(n: int, loop: bool) -> np.ndarray:
    """Parameter u of each of `n` frames (see module doc)."""
    if n < 1:
        raise WalkError(f"frames must be >= 1, got {n}")
    if loop:
        return np.arange(n, dtype=np.float64) / n
    if n == 1:
        return np.zeros(1)
    return np.arange(n, dtype=np.float64) / (n - 1)


@dataclass
class Keyframe:
    latent: np.ndarray
    frame: int | None = None  # 1-based frame of the walk; None = spread evenly
    ease: str | None = None   # ease of the segment that starts here (None = the walk's default)
    seed: int | None = None


@dataclass
class KeyframePath:
    """A path through keyframe latents, open or looping, sampled at u in [0, 1]."""
    keys: list[Keyframe]
    n_frames: int
    interp: str = "slerp"
    loop: bool = False
    ease: str = "linear"
    positions: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        if self.interp not in INTERPS:
            raise WalkError(f"unknown interpolation {self.interp!r}; use one of {', '.join(INTERPS)}")
        if self.ease not in EASES:
            raise WalkError(f"unknown ease {self.ease!r}; use one of {', '.join(EASES)}")
        if not self.keys:
            raise WalkError("a walk needs at least one keyframe (give --seeds or --keyframes)")
        dims = {k.latent.shape for k in self.keys}
        if len(dims) != 1:
            raise WalkError(f"keyframe latents have different shapes {sorted(dims)}; all must match the model's latent_dim")
        for k in self.keys:
            if k.ease is not None and k.ease not in EASES:
                raise WalkError(f"keyframe ease {k.ease!r}; use one of {', '.join(EASES)}")
        self.positions = self._positions()

    def _positions(self) -> np.ndarray:
        n, k = self.n_frames, len(self.keys)
        given = [key.frame for key in self.keys]
        if all(f is None for f in given):
            frames = np.arange(k, dtype=np.float64) * (n / k if self.loop else (n - 1) / max(k - 1, 1))
        elif any(f is None for f in given):
            raise WalkError("give a frame for every keyframe or for none (then they are spread evenly)")
        else:
            frames = np.asarray(given, np.float64) - 1.0
            if np.any(np.diff(frames) <= 0):
                raise WalkError(f"keyframe frames {given} must increase strictly")
            if frames[0] != 0:
                raise WalkError(f"the first keyframe must be at frame 1 (got {given[0]})")
            last = n if self.loop else n - 1
            if frames[-1] > (n - 1):
                raise WalkError(f"keyframe frame {given[-1]} is past the walk's {n} frames; raise --frames or move the key")
            if not self.loop and k > 1 and frames[-1] != last:
                raise WalkError(f"the last keyframe must be at frame {n} (the last frame) for an open walk, got {given[-1]}")
        span = float(n if self.loop else max(n - 1, 1))
        return frames / span

    def _segment(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index of the segment's start key and local time in it, for each u."""
        pos = self.positions
        k = len(self.keys)
        if self.loop:
            u = np.mod(u, 1.0)
            ends = np.append(pos, 1.0)
        else:
            u = np.clip(u, 0.0, 1.0)
            ends = pos
        idx = np.clip(np.searchsorted(ends, u, side="right") - 1, 0, len(ends) - 2 if len(ends) > 1 else 0)
        if len(ends) < 2:
            return np.zeros_like(u, dtype=int), np.zeros_like(u)
        t = (u - ends[idx]) / (ends[idx + 1] - ends[idx])
        return idx % k, np.clip(t, 0.0, 1.0)

    def at(self, u) -> np.ndarray:
        u = np.atleast_1d(np.asarray(u, np.float64))
        lat = [k.latent for k in self.keys]
        k = len(lat)
        if k == 1:
            return np.repeat(lat[0][None].astype(np.float32), len(u), axis=0)
        idx, t = self._segment(u)
        out = np.empty((len(u),) + lat[0].shape, np.float32)
        for i in np.unique(idx):
            sel = idx == i
            kind = self.keys[i].ease or self.ease
            te = ease(t[sel], kind)
            j = (i + 1) % k
            if self.interp == "slerp":
                out[sel] = slerp(lat[i], lat[j], te)
            elif self.interp == "lerp":
                out[sel] = lerp(lat[i], lat[j], te)
            else:
                if self.loop:
                    p0, p3 = lat[(i - 1) % k], lat[(i + 2) % k]
                else:  # reflect the end tangents so the curve starts/ends on the keys without overshoot
                    p0 = lat[i - 1] if i > 0 else 2 * lat[0] - lat[1]
                    p3 = lat[i + 2] if i + 2 < k else 2 * lat[k - 1] - lat[k - 2]
                out[sel] = catmull_rom(p0, lat[i], lat[j], p3, te)
        return out


@dataclass
class NoiseLoop:
    """Smooth periodic noise per latent dimension: a closed loop whose every point is N(0, I).

    z_d(u) = sum_k w_k (a_dk cos(2 pi k u) + b_dk sin(2 pi k u)) with a, b ~ N(0, 1) from `seed` and
    weights w_k ~ exp(-k^2 / (2 radius^2)), sum w_k^2 = 1.  Since cos^2 + sin^2 = 1, each point of the
    loop is itself standard normal (the walk stays where the generator was trained), u = 0 and u = 1
    coincide exactly, and `radius` sets how far and how wiggly the loop travels (1: one gentle
    ellipse; 3: more twists).
    """
    dim: int
    radius: float = 1.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not (self.radius > 0 and math.isfinite(self.radius)):
            raise WalkError(f"--noise-loop radius must be a positive number, got {self.radius}")
        n_harm = max(1, int(math.ceil(3 * self.radius)))
        k = np.arange(1, n_harm + 1, dtype=np.float64)
        w = np.exp(-(k - 1) ** 2 / (2 * self.radius ** 2))
        self.weights = w / np.sqrt(np.sum(w ** 2))
        rng = np.random.default_rng(int(self.seed))
        self.a = rng.standard_normal((n_harm, self.dim))
        self.b = rng.standard_normal((n_harm, self.dim))
        self.k = k

    def at(self, u) -> np.ndarray:
        u = np.atleast_1d(np.asarray(u, np.float64))
        ang = 2 * np.pi * u[:, None] * self.k[None, :]  # [N, H]
        c = np.cos(ang) * self.weights
        s = np.sin(ang) * self.weights
        return (c @ self.a + s @ self.b).astype(np.float32)


# ---- constant perceptual speed ---------------------------------------------------------------------
def constant_speed_times(u_dense: np.ndarray, step_change: np.ndarray, n: int, loop: bool) -> np.ndarray:
    """Frame times at equal measured change.

    `u_dense` are M increasing samples of the path (first 0; last 1), and `step_change[i]` the image
    change between samples i and i+1 (M-1 values).  Arc length is accumulated and inverted by linear
    interpolation, so frames are spaced evenly in image change rather than in u.
    """
    u_dense = np.asarray(u_dense, np.float64)
    d = np.maximum(np.asarray(step_change, np.float64), 0.0)
    if d.shape[0] != u_dense.shape[0] - 1:
        raise WalkError("constant_speed_times: step_change needs one value per interval")
    d = d + 1e-9 * max(float(d.mean()) if d.size else 0.0, 1e-12)  # strictly increasing arc length
    s = np.concatenate([[0.0], np.cumsum(d)])
    total = s[-1]
    targets = frame_times(n, loop) * total
    return np.interp(targets, s, u_dense)


def path_speed(frames: Sequence[np.ndarray] | np.ndarray) -> np.ndarray:
    """Mean absolute change between consecutive frames (any float images), one value per step."""
    arr = np.asarray(frames, np.float32)
    return np.abs(np.diff(arr, axis=0)).reshape(arr.shape[0] - 1, -1).mean(axis=1)


# ---- keyframe files --------------------------------------------------------------------------------
def load_keyframes(path: str | Path, dim: int) -> tuple[list[Keyframe], dict]:
    """Read a keyframe TOML file.

    ```toml
    interp = "slerp"       # optional defaults for the walk
    ease = "smooth"
    [[key]]
    seed = 3
    frame = 1
    [[key]]
    latent = "faces/anna.npy"   # a .npy of latent_dim floats, relative to this file
    frame = 48
    ease = "linear"             # ease of the segment starting at this key
    ```
    Returns the keys and the top-level options (interp, ease, loop, truncation).
    """
    import tomllib

    path = Path(path)
    if not path.is_file():
        raise WalkError(f"{path}: keyframe file not found")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise WalkError(f"{path}: not valid TOML ({exc}); see `dreamrooms walk --help` for the format") from None
    keys_raw = data.get("key")
    if not isinstance(keys_raw, list) or not keys_raw:
        raise WalkError(f"{path}: no [[key]] tables; add one per keyframe with `seed = N` or `latent = \"file.npy\"`")
    keys = []
    for i, raw in enumerate(keys_raw):
        where = f"{path}: key[{i}]"
        if not isinstance(raw, dict):
            raise WalkError(f"{where}: must be a table")
        unknown = set(raw) - {"seed", "latent", "frame", "ease"}
        if unknown:
            raise WalkError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}; use seed, latent, frame, ease")
        if ("seed" in raw) == ("latent" in raw):
            raise WalkError(f"{where}: give exactly one of `seed` or `latent`")
        seed = None
        if "seed" in raw:
            if not isinstance(raw["seed"], int) or raw["seed"] < 0:
                raise WalkError(f"{where}: seed must be an integer >= 0, got {raw['seed']!r}")
            seed = raw["seed"]
            lat = seed_latent(seed, dim)
        else:
            if not isinstance(raw["latent"], str) or not raw["latent"]:
                raise WalkError(f"{where}: latent must be a file name in quotes (latent = \"face.npy\"), got {raw['latent']!r}")
            lp = Path(raw["latent"])
            lp = lp if lp.is_absolute() else path.parent / lp
            try:
                arr = np.load(lp, allow_pickle=False)
                if arr.dtype.kind not in "fiu":   # structured, complex, strings: not a vector of numbers
                    raise ValueError(f"dtype {arr.dtype} is not plain numbers")
                lat = arr.astype(np.float32).reshape(-1)
            except (OSError, ValueError, TypeError) as exc:
                raise WalkError(f"{where}: cannot read latent {lp} ({exc}); give a .npy of {dim} floats") from None
            if lat.shape[0] != dim:
                raise WalkError(f"{where}: latent {lp} has {lat.shape[0]} values; the model's latent_dim is {dim}")
            if not np.all(np.isfinite(lat)):
                raise WalkError(f"{where}: latent {lp} has NaN or inf values")
        frame = raw.get("frame")
        if frame is not None and (not isinstance(frame, int) or frame < 1):
            raise WalkError(f"{where}: frame must be an integer >= 1, got {frame!r}")
        e = raw.get("ease")
        if e is not None and e not in EASES:
            raise WalkError(f"{where}: ease {e!r}; use one of {', '.join(EASES)}")
        keys.append(Keyframe(lat, frame, e, seed))
    opts = {k: data[k] for k in ("interp", "ease", "loop", "truncation", "space") if k in data}
    return keys, opts
