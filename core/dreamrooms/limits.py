"""Sane maxima on every size and count a user or a file can ask for, in one place.

Past these a run would exhaust memory or take hours before saying anything useful (a 100000x100000
frame, a noise loop of radius 1e9, a shot.json nested 100000 deep), so input is refused up front
with one line naming the setting and its range. Each limit says why it is where it is.
"""
from __future__ import annotations

import math
import re

from dreamrooms.errors import DreamroomsError

# 16K: the largest side Blender renders (render.resolution_x/y max 65536, but Cycles tiles and EXR I/O of
# more than 16K x 16K float RGBA (4 GiB a frame) exhaust a workstation); After Effects comps max 30000 px.
MAX_SIDE = 16384
MAX_PIXELS = 16384 * 8640           # a 16K DCI-wide frame: 2.3 GB as float32 RGBA
MAX_FRAMES = 100_000                # 69 minutes at 24 fps; per-frame data (latents, camera) stays < 1 GB
MAX_FRAME_NUMBER = 10**9            # frame numbers and offsets (file names stay within 10 digits)
MAX_FPS = 999.0                     # After Effects comps take 1..999 fps (addComp; tests/ae/lib/aedom.js models it)
MAX_NOISE_LOOP = 64.0               # 3 x radius harmonics; past ~frames/2 they alias, 64 is already noise
MAX_BATCH = 256                     # frames per inference call
MAX_THREADS = 1024
MAX_GRID = MAX_SIDE                 # mesh vertices along the long side (one per pixel at most)
MAX_ROOMS = 256
MAX_SAMPLES = 1 << 20
MAX_JSON_DEPTH = 64                 # shot.json is 5 levels deep; meta may nest a little
MAX_MANIFEST_BYTES = 256 << 20      # shot.json with a camera matrix per frame for MAX_FRAMES is ~40 MB
DOWNLOAD_STALL_S = 60.0             # a download that gets < DOWNLOAD_STALL_BYTES in this long has stalled
DOWNLOAD_STALL_BYTES = 16 << 10


class LimitError(DreamroomsError):
    """A setting or a file asks for more than dreamrooms will do."""


def check_number(value: float, what: str, *, low: float | None = None, high: float | None = None,
                 low_open: bool = False) -> float:
    """`value` if finite and within [low, high] (or (low, high] with `low_open`), else a one-line error
    naming `what` (e.g. ``--fps`` or ``SHOT/shot.json: field fps``) and the range."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    if ok and low is not None:
        ok = value > low if low_open else value >= low
    if ok and high is not None:
        ok = value <= high
    if not ok:
        lo = "" if low is None else (f"> {low:g}" if low_open else f">= {low:g}")
        hi = "" if high is None else f"<= {high:g}"
        rng = " and ".join(x for x in (lo, hi) if x) or "finite"
        raise LimitError(f"{what} {value!r}: must be a finite number {rng}".replace("finite number finite", "finite number"))
    return value


def check_resolution(width: int, height: int, what: str) -> None:
    """Both sides within 1..MAX_SIDE and the frame within MAX_PIXELS."""
    if not (1 <= width <= MAX_SIDE and 1 <= height <= MAX_SIDE) or width * height > MAX_PIXELS:
        raise LimitError(f"{what} {width}x{height}: frames must be at most {MAX_SIDE} px a side and "
                         f"{MAX_PIXELS // 1_000_000} megapixels; use a smaller size")


def check_frames(count: int, what: str) -> None:
    if not (1 <= count <= MAX_FRAMES):
        raise LimitError(f"{what}: {count} frames; a shot has 1..{MAX_FRAMES} frames, split longer ones")


_JSON_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def json_depth(text: str) -> int:
    """The deepest nesting of `[`/`{` in JSON `text` (strings skipped), without recursion."""
    depth = deepest = 0
    for m in _JSON_TOKENS.finditer(text):
        ch = m.group()
        if ch in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
        elif ch in "]}":
            depth -= 1
    return deepest
