"""Photo-like test pictures (generated: no photo files ship with the tests) and installing a model fixture."""
from __future__ import annotations

import copy
from pathlib import Path

import cv2
import numpy as np

from dreamrooms.models import MANIFEST_NAME, dumps_manifest, registry, sha256_file


def photo(w: int, h: int, seed: int, cx: float, cy: float) -> np.ndarray:
    """A photo-like sRGB 0..1 picture: a dark textured, tinted background and one bright subject at (cx, cy)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    tint = rng.uniform(0.05, 0.35, 3).astype(np.float32)
    img = tint[None, None] * (0.6 + 0.4 * yy[..., None] / h) + rng.normal(0, 0.03, (h, w, 3)).astype(np.float32)
    r = ((xx - cx * w) / (0.18 * w)) ** 2 + ((yy - cy * h) / (0.3 * h)) ** 2
    subject = (r < 1.0)[..., None]
    colour = rng.uniform(0.75, 0.95, 3).astype(np.float32)
    return np.clip(np.where(subject, colour, img), 0, 1)


def write_png(path: Path, rgb: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), (rgb * 255 + 0.5).astype(np.uint8)[..., ::-1])
    return path


PHOTOS = (("astronaut.png", 80, 60, 1, 0.3, 0.5), ("cameraman.png", 64, 64, 2, 0.7, 0.5),
          ("coffee.png", 96, 54, 3, 0.5, 0.6))


def photos(folder: Path) -> Path:
    """Three differently named photos of different sizes (the subjects sit in different places)."""
    for name, w, h, seed, cx, cy in PHOTOS:
        write_png(folder / name, photo(w, h, seed, cx, cy))
    return folder


def vouch(mdir: Path, name: str, build) -> Path:
    """Install a fixture at the entry's path with a user-manifest entry of its own sha256 (user entries win)."""
    entry = registry()[name]
    dest = build(mdir / entry.file)
    table = copy.deepcopy(entry.raw)
    table.update(sha256=sha256_file(dest), size=dest.stat().st_size)
    (mdir / MANIFEST_NAME).write_text(dumps_manifest({name: table}), encoding="utf-8")
    return dest
