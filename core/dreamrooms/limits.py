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
# Values (array items and object members) in one manifest: a camera per frame for MAX_FRAMES is ~2.2 M (16 matrix
# numbers, 5 lists, lens, focus); parsed, 4 M values take ~150 MB of Python objects, so a manifest of junk
# cannot make `json.loads` take gigabytes before the schema is checked.
MAX_JSON_VALUES = 4_000_000
# Items in one list inside sequence `meta` or `provenance` (free-form fields): per-frame data at most.
MAX_META_ITEMS = MAX_FRAMES + 16
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


_CHUNK = 1 << 20


def json_shape(data: bytes | str) -> tuple[int, int]:
    """(deepest nesting of `[`/`{`, number of values in arrays and objects) of JSON `data`, strings skipped, in
    memory linear in its size, without recursion or per-character Python work.

    Escaped backslashes and quotes are dropped first (two C-speed `bytes.replace` passes: outside strings JSON
    has no backslash), after which quotes alternate open/close, so "inside a string" is the running parity of
    quotes; that and the bracket depth are running sums numpy takes 1 MB at a time, carrying both across chunks.
    Bytes are scanned as they are: no byte of a multi-byte UTF-8 character is ASCII. The value count (every `,`
    plus one per container) is an upper bound; for malformed JSON both are only bounds (json rejects it after)."""
    import numpy as np

    raw = data.encode("utf-8", "surrogatepass") if isinstance(data, str) else bytes(data)
    plain = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    del raw
    step = np.zeros(256, np.int8)
    step[list(b"[{")] = 1
    step[list(b"]}")] = -1
    quotes = depth = deepest = values = 0
    for at in range(0, len(plain), _CHUNK):
        a = np.frombuffer(plain, np.uint8, count=min(_CHUNK, len(plain) - at), offset=at)
        q = a == ord('"')
        outside = ((np.cumsum(q.view(np.int8), dtype=np.int32) + (quotes & 1)) & 1 == 0) & ~q
        quotes += int(q.sum())
        s = a[outside]
        values += int(np.count_nonzero(s == ord(","))) + int(np.count_nonzero(step[s] == 1))
        run = np.cumsum(step[s], dtype=np.int32) + depth
        if run.size:
            deepest = max(deepest, int(run.max()))
            depth = int(run[-1])
    return deepest, values


def json_depth(text: bytes | str) -> int:
    """The deepest nesting of `[`/`{` in JSON `text` (strings skipped), without recursion, in linear memory."""
    return json_shape(text)[0]


def check_json(data: bytes | str, what: str) -> None:
    """One-line LimitError when JSON `data` (a manifest about to be parsed, or written) is larger, deeper or holds
    more values than dreamrooms reads: the same check guards the loader and the writer, so no stage writes a
    manifest it would then refuse."""
    size = len(data.encode("utf-8") if isinstance(data, str) else data)
    if size > MAX_MANIFEST_BYTES:
        raise LimitError(f"{what}: {size} bytes; a manifest is at most {MAX_MANIFEST_BYTES >> 20} MB")
    deepest, values = json_shape(data)
    if deepest > MAX_JSON_DEPTH:
        raise LimitError(f"{what}: JSON nested deeper than {MAX_JSON_DEPTH} levels")
    if values > MAX_JSON_VALUES:
        raise LimitError(f"{what}: holds {values} values; a manifest holds at most {MAX_JSON_VALUES}")
