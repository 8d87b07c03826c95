"""The photo folder a generator trains on (numpy + cv2 only): found, checked and loaded as -1..1 sRGB NCHW.

Dataset policy (:func:`load_images`): unreadable files, too few images and images much smaller than
the training size are refused with one line naming the files; grayscale, CMYK and images with alpha
are *converted with a warning* (gray -> RGB, CMYK -> RGB by the JPEG decoder, alpha composited over
white), or refused with `strict_modes=True` (`--strict-modes`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import cv2
import numpy as np

from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.shot.frames import IMAGE_EXTS as FOOTAGE_EXTS

# photos to train on: every image type the stages read except EXR (linear HDR is not what a GAN learns from)
IMAGE_EXTS = tuple(e for e in FOOTAGE_EXTS if e != ".exr")
MIN_IMAGES = 10
RECOMMENDED_IMAGES = 100


class DatasetError(DreamroomsError):
    """The image folder cannot be used for training."""


def warn(msg: str) -> None:
    print(f"dreamrooms: warning: {msg}", file=sys.stderr)


def _jpeg_components(path: Path) -> int | None:
    """Number of colour components in a JPEG's frame header (4 = CMYK/YCCK), None if not a JPEG."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    if data[:2] != b"\xff\xd8":
        return None
    i = 2
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            i += 1
            continue
        marker = data[i + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7 or marker == 0xFF:
            i += 1 if marker == 0xFF else 2
            continue
        seg = int.from_bytes(data[i + 2:i + 4], "big")
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            return data[i + 9] if i + 9 < len(data) else None
        if marker == 0xDA:
            return None
        i += 2 + seg
    return None


def _names(paths: list[Path], n: int = 3) -> str:
    s = ", ".join(p.name for p in paths[:n])
    return s + (f" and {len(paths) - n} more" if len(paths) > n else "")


def list_images(folder: str | Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"{folder}: not a folder; give the folder that holds your training images")
    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_EXTS
                   and not p.name.startswith("."))
    return files


def load_images(folder: str | Path, size: int, strict_modes: bool = False) -> np.ndarray:
    """All images as float32 [N, 3, size, size] in -1..1 (sRGB-encoded), centre-cropped square."""
    folder = Path(folder)
    files = list_images(folder)
    if not files:
        raise DatasetError(f"{folder}: no images found ({', '.join(sorted(IMAGE_EXTS))}); put your training photos there")
    if len(files) < MIN_IMAGES:
        raise DatasetError(f"{folder}: only {len(files)} image(s); training needs at least {MIN_IMAGES} "
                           f"(~{RECOMMENDED_IMAGES}+ recommended)")
    unreadable, gray, cmyk, alpha, tiny, small = [], [], [], [], [], []
    out = np.empty((len(files), 3, size, size), np.float32)
    bar = progress(len(files), "reading images", unit="img")
    for i, p in enumerate(files):
        img = cv2.imread(str(p), cv2.IMREAD_UNCHANGED)
        bar.update()
        if img is None or img.size == 0:
            unreadable.append(p)
            continue
        if img.dtype == np.uint16:
            img = (img / 257.0).round().astype(np.uint8)
        elif img.dtype != np.uint8:
            img = np.clip(img.astype(np.float32) * (255.0 if img.dtype.kind == "f" else 1.0), 0, 255).astype(np.uint8)
        comps = _jpeg_components(p)
        if comps == 4:
            cmyk.append(p)
            img = cv2.imread(str(p), cv2.IMREAD_COLOR)  # the decoder converts CMYK/YCCK to BGR
        if img.ndim == 2 or img.shape[2] == 1:
            gray.append(p)
            img = cv2.cvtColor(img.reshape(img.shape[0], img.shape[1]), cv2.COLOR_GRAY2BGR)
        elif img.shape[2] == 4:
            a = img[..., 3:4].astype(np.float32) / 255.0
            if a.min() < 1.0:
                alpha.append(p)
            img = (img[..., :3].astype(np.float32) * a + 255.0 * (1 - a)).round().astype(np.uint8)
        h, w = img.shape[:2]
        if min(h, w) < size // 2:
            tiny.append(p)
            continue
        if min(h, w) < size:
            small.append(p)
        s = min(h, w)
        y0, x0 = (h - s) // 2, (w - s) // 2
        crop = img[y0:y0 + s, x0:x0 + s]
        crop = cv2.resize(crop, (size, size), interpolation=cv2.INTER_AREA if s > size else cv2.INTER_CUBIC)
        out[i] = crop[..., ::-1].transpose(2, 0, 1).astype(np.float32) / 127.5 - 1.0
    bar.close()
    if unreadable:
        raise DatasetError(f"{folder}: {len(unreadable)} unreadable image file(s): {_names(unreadable)}; "
                           "re-save them as PNG/JPEG or remove them")
    if tiny:
        raise DatasetError(f"{folder}: {len(tiny)} image(s) smaller than {size // 2}px on the short side "
                           f"({_names(tiny)}); remove them or train at a smaller --size")
    for kind, lst, how in (("grayscale", gray, "replicated to RGB"), ("CMYK", cmyk, "converted to RGB (colours may shift; re-save as sRGB)"),
                           ("transparent (alpha)", alpha, "composited over white")):
        if lst:
            if strict_modes:
                raise DatasetError(f"{folder}: {len(lst)} {kind} image(s) ({_names(lst)}); convert them to RGB "
                                   "or drop --strict-modes to convert automatically")
            warn(f"{folder}: {len(lst)} {kind} image(s) {how}: {_names(lst)}")
    if small:
        warn(f"{folder}: {len(small)} image(s) smaller than {size}px upscaled: {_names(small)}")
    if len(files) < RECOMMENDED_IMAGES:
        warn(f"{folder}: {len(files)} images; ~{RECOMMENDED_IMAGES}+ give more varied results")
    return out


# ---- config -----------------------------------------------------------------------------------------
