"""Frame sources for the stages that read footage: a shot, a video file, an image-sequence pattern, a folder.

Every source streams: `frames()` decodes one frame at a time and yields :class:`Frame` objects, so memory
does not depend on the length of the clip.  Each frame carries the pixels in both encodings a stage needs,
and says which is which:

* ``srgb``  HxWx3 float32, sRGB-encoded 0..1, straight (not premultiplied) colour: what image models take.
* ``rgba``  HxWx4 float32, scene-linear, premultiplied alpha: what the shot's layered EXRs store.

PNG/JPEG/TIFF/video pixels are taken to be sRGB-encoded; EXR pixels scene-linear premultiplied (the shot
convention).  Problems are one-line :class:`SourceError` messages naming the file or frame and the fix.
"""
from __future__ import annotations

import glob
import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator, Sequence as Seq

import numpy as np

from dreamrooms.shot import exr
from dreamrooms.colour import linear_to_srgb, srgb_to_linear, unpremultiply
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot.fit import Fit
from dreamrooms.shot.frames import IMAGE_EXTS
from dreamrooms.shot.paths import regular_file
from dreamrooms.shot.prefetch import ordered_map
from dreamrooms.shot.roles import colour_sequence

VIDEO_EXTS = (".mp4", ".mov", ".m4v", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".gif", ".wmv", ".flv")


class SourceError(DreamroomsError):
    """Footage cannot be read: empty folder, unreadable frame, mixed resolutions, unsupported codec."""


@dataclass
class Frame:
    number: int              # frame number in the output shot
    srgb: np.ndarray         # HxWx3 float32 sRGB-encoded 0..1, straight alpha (model input)
    rgba: np.ndarray         # HxWx4 float32 scene-linear premultiplied (EXR storage)
    path: str                # the file (or "video.mp4 frame N") it came from, for messages


# ---- colour transfer through lookup tables of dreamrooms.colour (fast: no per-pixel pow) ---------------
_LUT8_LIN = srgb_to_linear(np.arange(256) / 255.0)
_LUT16_LIN: np.ndarray | None = None
_LUT_HALF_SRGB: np.ndarray | None = None


def _lut16_lin() -> np.ndarray:
    global _LUT16_LIN
    if _LUT16_LIN is None:
        _LUT16_LIN = srgb_to_linear(np.arange(65536) / 65535.0)
    return _LUT16_LIN


def _lut_half_srgb() -> np.ndarray:
    """sRGB encode of every float16 bit pattern (NaN/negative -> 0, >1 -> 1)."""
    global _LUT_HALF_SRGB
    if _LUT_HALF_SRGB is None:
        v = np.arange(65536, dtype=np.uint32).astype(np.uint16).view(np.float16)
        _LUT_HALF_SRGB = linear_to_srgb(np.nan_to_num(v, nan=0.0, posinf=1.0, neginf=0.0))
    return _LUT_HALF_SRGB


def linear_to_srgb_fast(x: np.ndarray) -> np.ndarray:
    """sRGB encode through a float16 lookup table (half precision is plenty for 8/16-bit model input)."""
    return _lut_half_srgb()[exr.to_half(x).view(np.uint16)]


def from_encoded(pixels: np.ndarray, where: str) -> tuple[np.ndarray, np.ndarray]:
    """cv2-decoded pixels (HxW, HxWx3 BGR, HxWx4 BGRA; uint8/uint16/float) -> (srgb HxWx3, rgba linear premult)."""
    p = pixels
    if p.ndim == 2:
        p = p[..., None]
    c = p.shape[2]
    if c == 1:
        idx, alpha_idx = [0, 0, 0], None
    elif c == 2:
        idx, alpha_idx = [0, 0, 0], 1
    elif c == 3:
        idx, alpha_idx = [2, 1, 0], None
    elif c == 4:
        idx, alpha_idx = [2, 1, 0], 3
    else:
        raise SourceError(f"{where}: {c} colour channels; give grey, RGB or RGBA images")
    h, w = p.shape[:2]
    if p.dtype == np.uint8:
        import cv2

        if c in (3, 4):
            rgb8 = cv2.cvtColor(p, cv2.COLOR_BGR2RGB if c == 3 else cv2.COLOR_BGRA2RGB)
        else:
            rgb8 = cv2.cvtColor(np.ascontiguousarray(p[..., 0]), cv2.COLOR_GRAY2RGB)
        srgb = np.multiply(rgb8, np.float32(1 / 255), dtype=np.float32)
        lin = cv2.LUT(rgb8, _LUT8_LIN)                   # table lookup, far faster than fancy indexing
        alpha = p[..., alpha_idx].astype(np.float32) * np.float32(1 / 255) if alpha_idx is not None else None
    elif p.dtype == np.uint16:
        rgb16 = p[..., idx]
        srgb = rgb16.astype(np.float32) * np.float32(1 / 65535)
        lin = _lut16_lin()[rgb16]
        alpha = p[..., alpha_idx].astype(np.float32) * np.float32(1 / 65535) if alpha_idx is not None else None
    elif p.dtype.kind == "f":  # float TIFF etc.: still display-referred sRGB-encoded values
        srgb = np.clip(p[..., idx].astype(np.float32), 0, 1)
        lin = srgb_to_linear(srgb)
        alpha = np.clip(p[..., alpha_idx].astype(np.float32), 0, 1) if alpha_idx is not None else None
    else:
        raise SourceError(f"{where}: pixel type {p.dtype} is not supported; save 8- or 16-bit images")
    if alpha is None and lin.dtype == np.float32:
        import cv2

        return np.ascontiguousarray(srgb), cv2.cvtColor(lin, cv2.COLOR_RGB2RGBA)   # alpha 1, one pass
    rgba = np.empty((h, w, 4), np.float32)
    if alpha is None:
        rgba[..., :3] = lin
        rgba[..., 3] = 1.0
    else:
        rgba[..., :3] = lin * alpha[..., None]
        rgba[..., 3] = alpha
    return np.ascontiguousarray(srgb), rgba


def from_linear_rgba(rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """EXR pixels (scene-linear premultiplied RGBA or RGB) -> (srgb straight HxWx3, rgba float32)."""
    rgba = np.asarray(rgba, dtype=np.float32)
    if rgba.shape[2] == 3:
        rgba = np.concatenate([rgba, np.ones(rgba.shape[:2] + (1,), np.float32)], axis=-1)
    return linear_to_srgb_fast(unpremultiply(rgba)), rgba


# ---- decoding one image file ---------------------------------------------------------------------
def read_image(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Decode one image file into (srgb, rgba); SourceError naming the file if it cannot be read."""
    path = Path(path)
    if path.suffix.lower() == ".exr":
        try:
            layers = exr.read_frame(path)
        except DreamroomsError as exc:
            raise SourceError(str(exc)) from None
        key = next((k for k in ("RGBA", "RGB") if k in layers), None)
        if key is None:
            key = next((k for k in layers if k.endswith((".RGBA", ".RGB"))), None)
        if key is None:
            raise SourceError(f"{path}: EXR has no RGB(A) layer (has {', '.join(sorted(layers))}); give a colour EXR")
        return from_linear_rgba(layers[key])
    import cv2

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as exc:
        raise SourceError(f"{path}: cannot read ({exc.strerror}); check the file exists and is readable") from None
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if pixels is None:
        raise SourceError(f"{path}: unreadable image (corrupt, truncated or not an image); re-export or remove it")
    return from_encoded(pixels, str(path))


def image_size(path: str | os.PathLike) -> tuple[int, int] | None:
    """(width, height) from the file header without decoding (PNG, JPEG, EXR); None if unknown/unreadable."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            head = fh.read(64 * 1024)
    except OSError:
        return None
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24 and head[12:16] == b"IHDR":
        w, h = struct.unpack(">II", head[16:24])
        return int(w), int(h)
    if head[:4] == b"\x76\x2f\x31\x01":
        try:
            i = exr.info(path)
            return i.width, i.height
        except DreamroomsError:
            return None
    if head[:2] == b"\xff\xd8":  # JPEG: walk the markers to the first SOFn
        i = 2
        while i + 9 < len(head):
            if head[i] != 0xFF:
                return None
            marker = head[i + 1]
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            seg = struct.unpack(">H", head[i + 2:i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                h, w = struct.unpack(">HH", head[i + 5:i + 9])
                return int(w), int(h)
            i += 2 + seg
    return None


# ---- sources -------------------------------------------------------------------------------------
class FrameSource:
    """Base: `width`, `height`, `fps`, `numbers` (frame numbers in order), `frames(numbers)` streaming, and
    `cuts`: the frame numbers that begin a new independent segment (every frame after the first of a set of
    stills; see :mod:`dreamrooms.shot.segments`)."""
    kind = "source"
    width: int
    height: int
    fps: float | None
    numbers: list[int]
    label: str
    cuts: list[int] = []
    fit: "Fit | None" = None

    def frames(self, numbers: Iterable[int] | None = None) -> Iterator[Frame]:
        raise NotImplementedError

    def _check_size(self, srgb: np.ndarray, where: str, first: str) -> None:
        h, w = srgb.shape[:2]
        if (w, h) != (self.width, self.height):
            raise SourceError(f"{where}: {w}x{h} but {first} is {self.width}x{self.height}; "
                              f"every frame must share one resolution (resize the odd frames)")


class FileListSource(FrameSource):
    """Numbered image files (an image-sequence pattern or a folder); `stills`: each file is its own segment."""

    def __init__(self, files: Seq[Path], numbers: Seq[int], label: str, fps: float | None = None, *,
                 fit: Fit | None = None, stills: bool = False):
        self.files = [regular_file(f, "input frame") for f in files]   # a FIFO would block the read
        self.numbers = list(numbers)
        self.label = label
        self.fps = fps
        self.fit = fit
        self.cuts = list(self.numbers[1:]) if stills else []
        self._by_number = dict(zip(self.numbers, self.files))
        self._probe()

    def _probe(self) -> None:
        """Resolution from the first frame (decoded, so a bad first frame fails here; kept for the first `frames()`,
        which then does not decode it again) and headers of the rest."""
        self._first = read_image(self.files[0])
        self.height, self.width = self._first[0].shape[:2]
        if self.fit is not None:
            self.width, self.height = self.fit.width, self.fit.height
            return
        for f in self.files[1:]:
            size = image_size(f)
            if size is not None and size != (self.width, self.height):
                raise SourceError(f"{f}: {size[0]}x{size[1]} but {self.files[0]} is {self.width}x{self.height}; "
                                  f"every frame must share one resolution: pass --fit {self.width}x{self.height} "
                                  f"(scales and pads; --fit-mode crop crops instead) or resize the odd frames")

    def frames(self, numbers: Iterable[int] | None = None) -> Iterator[Frame]:
        """Frames in order, decoded ahead on threads (prefetch.ordered_map): decoding overlaps the caller's work."""
        probed = [self._first] if self._first is not None else []
        self._first = None

        def load(n: int) -> Frame:
            path = self._by_number[n]
            srgb, rgba = probed.pop() if probed and path == self.files[0] else read_image(path)
            if self.fit is not None:
                srgb, rgba = self.fit.apply(srgb, rgba)
            self._check_size(srgb, str(path), str(self.files[0]))
            return Frame(n, srgb, rgba, str(path))
        yield from ordered_map(load, self.numbers if numbers is None else numbers, name="frame-read")


class VideoSource(FrameSource):
    kind = "video"

    def __init__(self, path: Path):
        import cv2

        self.path = Path(path)
        self.label = str(path)
        if not self.path.is_file():
            raise SourceError(f"{path}: video file not found")
        cap = cv2.VideoCapture(str(path))
        ok, first = (cap.read() if cap.isOpened() else (False, None))
        if not ok or first is None:
            cap.release()
            raise SourceError(f"{path}: cannot decode this video (unsupported codec/container or not a video); "
                              f"convert it, e.g. `ffmpeg -i {path.name} frames/img.%04d.png`, and pass frames/img.####.png")
        self.height, self.width = first.shape[:2]
        fps = cap.get(cv2.CAP_PROP_FPS)
        self.fps = float(fps) if fps and np.isfinite(fps) and fps > 0 else None
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        cap.release()
        if count <= 0:  # container without a frame count: count by decoding (once, streaming)
            count = sum(1 for _ in self._decode())
        self.numbers = list(range(1, count + 1))

    def _decode(self) -> Iterator[np.ndarray]:
        import cv2

        cap = cv2.VideoCapture(str(self.path))
        try:
            while True:
                ok, img = cap.read()
                if not ok:
                    return
                yield img
        finally:
            cap.release()

    def frames(self, numbers: Iterable[int] | None = None) -> Iterator[Frame]:
        wanted = list(self.numbers if numbers is None else numbers)
        if not wanted:
            return
        want = set(wanted)
        last = max(wanted)
        n = 0
        for img in self._decode():
            n += 1
            if n > last:
                return
            if n in want:
                where = f"{self.path} frame {n}"
                srgb, rgba = from_encoded(img, where)
                self._check_size(srgb, where, "frame 1")
                yield Frame(n, srgb, rgba, where)
        if n < last:
            raise SourceError(f"{self.path}: video ended after {n} frames but frame {last} was asked for "
                              f"(truncated file?); pass --frames 1-{n} or re-encode the video")


class ShotSource(FrameSource):
    kind = "shot"

    def __init__(self, folder: Path, sequence: str | None = None):
        from dreamrooms.shot import Shot

        self.shot = Shot.load(folder)
        self.label = str(folder)
        self.sequence = sequence or colour_sequence(self.shot)
        self.width, self.height = self.shot.width, self.shot.height
        self.fps = self.shot.fps
        self.numbers = list(self.shot.frames)
        self.cuts = list(self.shot.cuts)

    def frames(self, numbers: Iterable[int] | None = None) -> Iterator[Frame]:
        """Frames in order, decoded ahead on threads (prefetch.ordered_map)."""
        def load(n: int) -> Frame:
            path = self.shot.frame_path(self.sequence, n)
            srgb, rgba = read_image(path)
            self._check_size(srgb, f"{path} (frame {n})", "the shot resolution")
            return Frame(n, srgb, rgba, str(path))
        yield from ordered_map(load, self.numbers if numbers is None else numbers, name="frame-read")


def _natural_key(p: Path) -> list:
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", p.name)]


def pattern_files(pattern: str) -> tuple[list[Path], list[int]]:
    """Files matching `frames/img.####.png` (or printf `%04d`) and their frame numbers, sorted."""
    m = re.search(r"%0?(\d*)d", pattern)
    if m:
        width = int(m.group(1) or 1)
        pattern = pattern[:m.start()] + "#" * width + pattern[m.end():]
    start = pattern.find("#")
    end = start
    while end < len(pattern) and pattern[end] == "#":
        end += 1
    head, tail = pattern[:start], pattern[end:]
    rx = re.compile(re.escape(os.path.basename(head)) + r"(-?\d+)" + re.escape(tail) + r"$")
    folder = Path(os.path.dirname(head) or ".")
    found = []
    for p in glob.glob(glob.escape(head) + "*" + glob.escape(tail)):
        mm = rx.match(os.path.basename(p))
        if mm and len(mm.group(1).lstrip("-")) >= end - start:
            found.append((int(mm.group(1)), folder / os.path.basename(p)))
    found.sort()
    return [p for _, p in found], [n for n, _ in found]


def image_files(folder: Path) -> list[Path]:
    """The images of a folder (not hidden), in natural order (img2 before img10)."""
    return sorted((p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in IMAGE_EXTS
                   and not p.name.startswith(".")), key=_natural_key)


def one_sequence(files: Seq[Path]) -> bool:
    """Whether the files are one numbered sequence of one size (`shot_0001.png`, `shot_0002.png`, ...: one
    name apart from a run of digits, consecutive numbers, equal sizes): a clip, not a set of photos."""
    if len(files) < 2:
        return True
    parts = [re.fullmatch(r"(.*?)(\d+)(\D*)", f.name) for f in files]
    if any(p is None for p in parts) or len({(p.group(1), p.group(3)) for p in parts}) != 1:
        return False
    nums = sorted(int(p.group(2)) for p in parts)
    if any(b != a + 1 for a, b in zip(nums, nums[1:])):
        return False
    sizes = {image_size(f) for f in files}
    return len(sizes) == 1 and None not in sizes


def open_source(spec: str | os.PathLike, fps: float | None = None, *, fit: Fit | None = None,
                as_clip: bool = False) -> FrameSource:
    """A shot folder, a folder of images, an image-sequence pattern (`####` or `%04d`) or a video file.

    A folder that is not one numbered sequence of one size is a set of independent stills (a cut at every
    frame) unless `as_clip`; `fit` scales every image to one size (mixed sizes are refused without it)."""
    text = str(spec)
    path = Path(text)
    if "#" in path.name or re.search(r"%0?\d*d", path.name):
        files, numbers = pattern_files(text)
        if not files:
            raise SourceError(f"{text}: no files match this image-sequence pattern; check the folder and the number of #")
        for a, b in zip(numbers, numbers[1:]):
            if b != a + 1:
                raise SourceError(f"{text}: frame {a + 1} is missing (have {a} and {b}); "
                                  f"fill the gap or pass --frames to process a contiguous range")
        return FileListSource(files, numbers, text, fps, fit=fit)
    if path.is_dir():
        if (path / "shot.json").is_file():
            return ShotSource(path)
        files = image_files(path)
        if not files:
            raise SourceError(f"{path}: folder has no images ({', '.join(IMAGE_EXTS)}); point at the frames folder")
        stills = not as_clip and not one_sequence(files)
        return FileListSource(files, range(1, len(files) + 1), text, fps, fit=fit, stills=stills)
    if path.name == "shot.json" and path.is_file():
        return ShotSource(path.parent)
    if not path.exists():
        raise SourceError(f"{path}: not found (give a shot folder, a video, a folder of images or a pattern like frames/img.####.png)")
    if path.suffix.lower() in IMAGE_EXTS:
        return FileListSource([path], [1], text, fps, fit=fit)
    return VideoSource(path)
