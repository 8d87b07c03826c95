"""Layered EXR I/O on the OpenEXR 3.x Python API.

A frame is a dict of named layers.  A layer key is an optional prefix plus the channel letters:
``"RGBA"`` (HxWx4), ``"depth.Z"`` (HxW), ``"mask.A"``, ``"normal.XYZ"`` (HxWx3), and Blender's
``"ViewLayer.Combined.RGBA"`` or ``"ViewLayer.Depth.Z"``.  Colour layers are stored half, everything
else float32 (uint32 arrays stay uint32).  Every part of a multi-part file is read (Blender 5 writes
one part per pass).  Writes are atomic.
"""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator, Mapping, Sequence

import numpy as np
import OpenEXR

from dreamrooms.atomic import atomic_path
from dreamrooms.errors import ExrError

COMPRESSIONS = {
    "none": OpenEXR.NO_COMPRESSION,
    "zip": OpenEXR.ZIP_COMPRESSION,
    "zips": OpenEXR.ZIPS_COMPRESSION,
    "piz": OpenEXR.PIZ_COMPRESSION,
    "rle": OpenEXR.RLE_COMPRESSION,
    "dwaa": OpenEXR.DWAA_COMPRESSION,
    "dwab": OpenEXR.DWAB_COMPRESSION,
}
LOSSY = {"dwaa", "dwab"}
# the codec every stage writes unless told otherwise, chosen by bench/exr_codecs.py (REPORT.md): lossless, and of
# the lossless codecs that halve a 1080p frame the fastest to write on OpenEXR's thread pool (ZIPS compresses
# each scanline alone, so its blocks spread over the cores; ZIP's 16-line blocks wrote about 2x slower on 2 cores
# for a 3 % smaller file)
DEFAULT_COMPRESSION = "zips"
_COMPRESSION_NAMES = {int(v): k for k, v in COMPRESSIONS.items()}
_CHANNEL_ORDERS = ("RGBA", "XYZW", "UV")
COLOUR_LETTERS = set("RGBA")
_DATA_PREFIXES = ("depth", "mask", "normal", "vector", "position", "uv", "index", "mist", "z")


_threads_ready = False


def codec_threads() -> int:
    """OpenEXR codec threads: one per core (the Python binding starts with none, so a write compresses its
    line blocks one after another)."""
    return max(1, os.cpu_count() or 1)


def _ensure_codec_threads() -> None:
    """Give OpenEXR's own thread pool (line-block compression, shared by all writer threads) `codec_threads()`."""
    global _threads_ready
    if not _threads_ready:
        if OpenEXR.global_thread_count() == 0:
            OpenEXR.set_global_thread_count(codec_threads())
        _threads_ready = True


def split_key(key: str) -> tuple[str, str]:
    """`"depth.Z"` -> `("depth", "Z")`; `"RGBA"` -> `("", "RGBA")`."""
    prefix, _, letters = key.rpartition(".")
    return prefix, letters


def channel_names(key: str) -> list[str]:
    """Full EXR channel names of a layer key: `"normal.XYZ"` -> `normal.X, normal.Y, normal.Z`."""
    prefix, letters = split_key(key)
    if not letters:
        raise ExrError(f"layer name {key!r} has no channel letters (write e.g. 'depth.Z' or 'RGBA')")
    if len(letters) > 1 and not letters.isupper():
        return [key]  # a multi-letter channel name such as 'CryptoObject00.r' is one channel
    return [f"{prefix}.{c}" if prefix else c for c in letters]


def is_colour_layer(key: str) -> bool:
    """Colour (half on disk, lossy compression allowed): RGBA letters outside data passes."""
    prefix, letters = split_key(key)
    last = prefix.rpartition(".")[2].lower()
    return set(letters) <= COLOUR_LETTERS and not last.startswith(_DATA_PREFIXES)


def _stored_array(key: str, arr: np.ndarray, path: Path, types: Mapping[str, str] | None) -> np.ndarray:
    arr = np.asarray(arr)
    want = (types or {}).get(key)
    if want is None:
        if arr.dtype == np.uint32:
            want = "uint"
        else:
            want = "half" if is_colour_layer(key) else "float"
    dtype = {"half": np.float16, "float": np.float32, "uint": np.uint32}[want]
    if arr.dtype.kind not in "fui":
        raise ExrError(f"{path}: layer {key!r} has dtype {arr.dtype}; give float or uint32 pixels")
    return to_half(arr) if want == "half" else arr.astype(dtype, copy=False)


def to_half(arr: np.ndarray) -> np.ndarray:
    """`arr` as float16, the same bits as numpy's cast (round to nearest even): float32 images (H x W, or up to
    4 channels) through OpenCV's F16C conversion, several times faster than numpy's cast."""
    arr = np.asarray(arr)
    if arr.dtype == np.float32 and arr.size and (arr.ndim == 2 or (arr.ndim == 3 and arr.shape[2] <= 4)):
        try:
            import cv2
        except ImportError:   # no OpenCV in this interpreter: numpy's cast
            return arr.astype(np.float16)
        return cv2.convertFp16(arr).view(np.float16)
    return arr.astype(np.float16, copy=False)


def _layer_channels(key: str, arr: np.ndarray, path: Path) -> dict[str, np.ndarray]:
    names = channel_names(key)
    if arr.ndim == 2 and len(names) == 1:
        planes = [arr]
    elif arr.ndim == 3 and arr.shape[2] == len(names):
        planes = [arr[..., i] for i in range(len(names))]
    else:
        raise ExrError(
            f"{path}: layer {key!r} has shape {arr.shape} but names {len(names)} channel(s); "
            f"give HxW for one channel or HxWx{len(names)}"
        )
    return {n: np.ascontiguousarray(p) for n, p in zip(names, planes)}


def write_frame(
    path: str | os.PathLike,
    layers: Mapping[str, np.ndarray],
    compression: str = DEFAULT_COMPRESSION,
    types: Mapping[str, str] | None = None,
    attributes: Mapping[str, object] | None = None,
) -> Path:
    """Write one frame atomically.  `types` overrides a layer's pixel type ('half'/'float'/'uint').

    With a lossy compression (DWAA/DWAB) colour layers go into a lossy part and every other layer
    into a ZIP part of the same file, so depth and masks are never compressed lossily.
    """
    path = Path(path)
    if compression not in COMPRESSIONS:
        raise ExrError(f"{path}: unknown compression {compression!r}; use one of {', '.join(COMPRESSIONS)}")
    if not layers:
        raise ExrError(f"{path}: no layers to write")
    shape = None
    colour: dict[str, np.ndarray] = {}
    data: dict[str, np.ndarray] = {}
    for key, arr in layers.items():
        stored = _stored_array(key, arr, path, types)
        if shape is None:
            shape = stored.shape[:2]
        elif stored.shape[:2] != shape:
            raise ExrError(f"{path}: layer {key!r} is {stored.shape[:2]} but the frame is {shape}; all layers share one size")
        target = colour if is_colour_layer(key) else data
        target.update(_layer_channels(key, stored, path))
    extra = dict(attributes or {})
    _ensure_codec_threads()
    with atomic_path(path) as tmp:
        if compression in LOSSY and data:
            parts = [
                OpenEXR.Part(_header(compression, extra), colour, "colour"),
                OpenEXR.Part(_header("zip", extra), data, "data"),
            ] if colour else [OpenEXR.Part(_header("zip", extra), data, "data")]
            OpenEXR.File(parts).write(str(tmp))
        else:
            OpenEXR.File(_header(compression, extra), {**colour, **data}).write(str(tmp))
    return path


def _header(compression: str, extra: Mapping[str, object]) -> dict:
    return {"compression": COMPRESSIONS[compression], "type": OpenEXR.scanlineimage, **extra}


def _order_letters(letters: Iterable[str]) -> str:
    letters = list(letters)
    for order in _CHANNEL_ORDERS:
        if set(letters) <= set(order):
            return "".join(c for c in order if c in letters)
    return "".join(sorted(letters))


def _open(path: Path, header_only: bool = False) -> OpenEXR.File:
    _ensure_codec_threads()
    if not path.is_file():
        raise ExrError(f"{path}: file not found")
    with open(path, "rb") as fh:
        magic = fh.read(4)
    if magic != b"\x76\x2f\x31\x01":
        raise ExrError(f"{path}: not an OpenEXR file (bad magic number); re-export it as .exr")
    try:
        f = OpenEXR.File(str(path), separate_channels=True, header_only=header_only)
        if header_only:
            return f
        # On bad pixel data the binding warns and drops the part instead of raising: compare with the header.
        expected = len(OpenEXR.File(str(path), header_only=True).parts)
        complete = len(f.parts) == expected and all(
            ch.pixels is not None for part in f.parts for ch in part.channels.values())
    except Exception as exc:  # the binding raises plain exceptions for corrupt headers
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ExrError(f"{path}: unreadable EXR (truncated or corrupt: {reason}); re-render or re-write the frame") from None
    if not complete:
        raise ExrError(f"{path}: unreadable EXR (truncated or corrupt pixel data); re-render or re-write the frame")
    return f


def _flat_channels(f: OpenEXR.File) -> dict[str, np.ndarray]:
    """All channels of all parts by full name; short names shared by several parts get the part name."""
    seen: dict[str, int] = {}
    for part in f.parts:
        for name in part.channels:
            seen[name] = seen.get(name, 0) + 1
    out: dict[str, np.ndarray] = {}
    for part in f.parts:
        for name, ch in part.channels.items():
            full = f"{part.name()}.{name}" if seen[name] > 1 and part.name() and "." not in name else name
            out[full] = ch.pixels
    return out


def group_channels(channels: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Group full channel names into layer keys (`depth.Z`, `RGBA`, `ViewLayer.Combined.RGBA`)."""
    groups: dict[str, dict[str, np.ndarray]] = {}
    singles: dict[str, np.ndarray] = {}
    for name, pix in channels.items():
        prefix, letter = split_key(name)
        if len(letter) == 1:
            groups.setdefault(prefix, {})[letter] = pix
        else:
            singles[name] = pix
    out: dict[str, np.ndarray] = {}
    for prefix, chans in groups.items():
        letters = _order_letters(chans)
        key = f"{prefix}.{letters}" if prefix else letters
        planes = [chans[c] for c in letters]
        out[key] = planes[0] if len(planes) == 1 else np.stack(planes, axis=-1)
    out.update(singles)
    return out


def read_frame(path: str | os.PathLike, layers: Sequence[str] | None = None) -> dict[str, np.ndarray]:
    """Read every part of a frame into layer keys; with `layers`, return just those (error if missing)."""
    path = Path(path)
    with _open(path) as f:
        try:
            grouped = group_channels(_flat_channels(f))
        except Exception as exc:
            raise ExrError(f"{path}: unreadable EXR pixels (truncated or corrupt: {exc}); re-write the frame") from None
    if layers is None:
        return _float_colour(grouped, path)
    out = {}
    for key in layers:
        src = _layer_source(grouped, key)
        if src is None:
            raise ExrError(f"{path}: no channel {key!r} (has {', '.join(sorted(grouped))})")
        if src == key:
            out[key] = grouped[key]
            continue
        src_letters, letters = split_key(src)[1], split_key(key)[1]
        arr = grouped[src]
        idx = [src_letters.index(c) for c in letters]
        out[key] = arr[..., idx[0]] if len(idx) == 1 else arr[..., idx]
    return _float_colour(out, path)


def _float_colour(layers: dict[str, np.ndarray], path: Path) -> dict[str, np.ndarray]:
    """`layers`, refused in one line when a colour layer (R, G, B, A) holds integers (a uint32 id pass named like
    colour): read as colour its values would be ids, not light."""
    bad = next((k for k, a in layers.items() if is_colour_layer(k) and a.dtype.kind != "f"), None)
    if bad is not None:
        raise ExrError(f"{path}: layer {bad!r} holds {layers[bad].dtype} integers, not colour; re-export it as "
                       "half or float")
    return layers


def _layer_source(grouped_keys: Iterable[str], key: str) -> str | None:
    """The layer holding `key`: itself, or a group it is a subset of ('RGB' of 'RGBA'); None if none does."""
    keys = list(grouped_keys)
    if key in keys:
        return key
    prefix, letters = split_key(key)
    return next((k for k in keys if split_key(k)[0] == prefix and set(letters) <= set(split_key(k)[1])), None)


@dataclass(frozen=True)
class ChannelInfo:
    name: str
    type: str
    part: str


@dataclass(frozen=True)
class ExrInfo:
    path: Path
    width: int
    height: int
    compression: str
    parts: list[str]
    channels: list[ChannelInfo]
    file_size: int

    @property
    def layers(self) -> list[str]:
        return sorted(group_channels({c.name: np.empty(0) for c in self.channels}))


def _type_name(pix: np.ndarray) -> str:
    return {np.dtype(np.float16): "half", np.dtype(np.float32): "float", np.dtype(np.uint32): "uint"}.get(pix.dtype, str(pix.dtype))


def info(path: str | os.PathLike) -> ExrInfo:
    """Size, compression, parts and channels with their pixel types."""
    path = Path(path)
    with _open(path) as f:  # a full read: `info` also proves the pixels decode
        channels = []
        width = height = 0
        compressions = []
        parts = []
        for part in f.parts:
            h = part.header
            dw = h.get("dataWindow")
            if dw is not None:
                (x0, y0), (x1, y1) = dw
                width, height = int(x1 - x0 + 1), int(y1 - y0 + 1)
            comp = h.get("compression")
            compressions.append(_COMPRESSION_NAMES.get(int(comp), str(comp)) if comp is not None else "?")
            parts.append(part.name())
            for name, ch in part.channels.items():
                channels.append(ChannelInfo(name, _type_name(ch.pixels), part.name()))
    comp = ",".join(dict.fromkeys(compressions))
    return ExrInfo(path, width, height, comp, parts, channels, path.stat().st_size)


def frame_size(path: str | os.PathLike) -> tuple[int, int]:
    """(width, height) of the first part's data window, from the header only."""
    path = Path(path)
    try:
        with _open(path, header_only=True) as f:
            (x0, y0), (x1, y1) = f.parts[0].header["dataWindow"]
    except ExrError:
        raise
    except Exception as exc:  # the binding raises plain exceptions for corrupt headers
        raise ExrError(f"{path}: unreadable EXR header ({str(exc).splitlines()[0] if str(exc) else type(exc).__name__}); "
                       "re-render or re-write the frame") from None
    return int(x1 - x0 + 1), int(y1 - y0 + 1)


def is_complete(path: str | os.PathLike, required: Sequence[str] = ()) -> bool:
    """True when the file is a whole EXR that has every `required` layer (for resume), without decoding pixels.

    The headers are parsed (shot/exr_layout.py) and every chunk the offset tables list must start after them and
    end inside the file, so a truncated frame or one whose offsets point past its end is not whole (the binding
    would drop such a part with only a warning).  Tiled parts without a chunk count and deep parts fall back to a
    full read."""
    from dreamrooms.shot import exr_layout

    try:
        layout = exr_layout.read_layout(Path(path))
    except exr_layout.LayoutUnknown:
        try:
            read_frame(path, list(required) if required else None)
        except ExrError:
            return False
        return True
    except (OSError, ValueError):
        return False
    seen: dict[str, int] = {}
    for part in layout.parts:
        for name in part.channels:
            seen[name] = seen.get(name, 0) + 1
    names = [f"{part.name}.{n}" if seen[n] > 1 and part.name and "." not in n else n
             for part in layout.parts for n in part.channels]   # as _flat_channels names them
    grouped = group_channels({n: np.empty(0) for n in names})
    return all(_layer_source(grouped, key) is not None for key in required)


def default_workers() -> int:
    """Writer threads: OpenEXR releases the GIL while compressing; one more than the cores keeps
    the codec pool busy while a frame is being handed over."""
    return max(1, min(4, (os.cpu_count() or 1) + 1))


class SequenceWriter:
    """Writes frames on background threads with a bounded backlog, so compute overlaps with I/O.

    `submit(path, layers)` blocks when `max_pending` frames wait (memory stays flat); `close()` waits
    for everything and re-raises the first write error.  Use as a context manager.  `layers` may be a
    zero-argument callable returning the layer dict: it then runs on the writer thread, so per-frame
    conversion (colour decode, casts) overlaps the caller's next inference instead of delaying it.
    """

    def __init__(self, workers: int | None = None, max_pending: int | None = None, compression: str = DEFAULT_COMPRESSION,
                 on_written: Callable[[Path], None] | None = None):
        self.workers = workers or default_workers()
        self.compression = compression
        self.on_written = on_written
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="exr-write")
        self._slots = threading.BoundedSemaphore(max_pending or self.workers * 2)
        self._error: BaseException | None = None

    def submit(self, path: str | os.PathLike,
               layers: Mapping[str, np.ndarray] | Callable[[], Mapping[str, np.ndarray]], **kwargs) -> None:
        if self._error is not None:
            raise self._error
        self._slots.acquire()
        self._pool.submit(self._write, Path(path), layers if callable(layers) else dict(layers), kwargs)

    def _write(self, path: Path, layers: dict | Callable[[], Mapping[str, np.ndarray]], kwargs: dict) -> None:
        try:
            kwargs.setdefault("compression", self.compression)
            write_frame(path, layers() if callable(layers) else layers, **kwargs)
            if self.on_written:
                self.on_written(path)
        except BaseException as exc:
            self._error = self._error or exc
            raise
        finally:
            self._slots.release()

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._error is not None:
            raise self._error

    def __enter__(self) -> "SequenceWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            return
        self.close()


def write_sequence(frames: Iterable[tuple[str | os.PathLike, Mapping[str, np.ndarray]]],
                   compression: str = DEFAULT_COMPRESSION, workers: int | None = None) -> list[Path]:
    """Write `(path, layers)` pairs streaming, in parallel; returns the paths written in order."""
    written: list[Path] = []
    with SequenceWriter(workers=workers, compression=compression) as writer:
        for path, layers in frames:
            writer.submit(path, layers)
            written.append(Path(path))
    return written


def read_sequence(paths: Iterable[str | os.PathLike], layers: Sequence[str] | None = None,
                  workers: int | None = None, prefetch: int | None = None) -> Iterator[dict[str, np.ndarray]]:
    """Yield frames in order, decoding ahead on threads with a bounded prefetch (flat memory)."""
    from dreamrooms.shot.prefetch import ordered_map

    workers = workers or default_workers()
    yield from ordered_map(lambda p: read_frame(p, layers), paths, workers, prefetch or workers * 2, name="exr-read")
