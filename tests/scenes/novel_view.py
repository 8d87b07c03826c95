"""Measures of a rebuilt view against the true render of the same camera (issue 23's definitions).

Colours are compared display-encoded (sRGB 0..1), over pixel selections: the revealed pixels, the source-
visible pixels, the band around the true view's depth jumps.
"""
from __future__ import annotations

import numpy as np

from dreamrooms.colour import linear_to_srgb


def display(rgb_linear: np.ndarray) -> np.ndarray:
    return np.clip(linear_to_srgb(np.clip(np.asarray(rgb_linear, np.float32), 0, None)), 0, 1)


def psnr(a: np.ndarray, b: np.ndarray, sel: np.ndarray | None = None) -> float:
    d = (np.asarray(a, np.float64) - np.asarray(b, np.float64)) ** 2
    d = d.mean(-1) if d.ndim == 3 else d
    mse = float(d[sel].mean() if sel is not None else d.mean())
    return 10 * np.log10(1.0 / max(mse, 1e-12))


def lowpass(img: np.ndarray, frac: float = 0.015) -> np.ndarray:
    """Gaussian blur with sigma `frac` of the width: what is left are the low frequencies."""
    import cv2

    s = frac * img.shape[1]
    return cv2.GaussianBlur(np.asarray(img, np.float32), (0, 0), s, borderType=cv2.BORDER_REFLECT)


def depth_ok(got: np.ndarray, truth: np.ndarray, sel: np.ndarray, tol: float = 0.05) -> float:
    """Fraction of `sel` whose rendered depth is within `tol` (relative) of the truth."""
    g, t = got[sel], truth[sel]
    return float(np.mean(np.abs(g - t) <= tol * t)) if t.size else 1.0


def grow(mask: np.ndarray, px: int) -> np.ndarray:
    """`mask` dilated by `px` pixels (a square)."""
    import cv2

    return cv2.dilate(mask.astype(np.uint8), np.ones((2 * px + 1, 2 * px + 1), np.uint8)) > 0


def jump_band(depth: np.ndarray, px: int = 4, ratio: float = 1.2) -> np.ndarray:
    """Pixels within `px` of a depth jump (neighbour depth ratio above `ratio`) of a true view."""
    import cv2

    d = np.asarray(depth, np.float64)
    jump = np.zeros(d.shape, bool)
    for ax in (0, 1):
        a, b = d, np.roll(d, 1, ax)
        jump |= np.maximum(a, b) > ratio * np.minimum(a, b)
    jump[0, :] = jump[:, 0] = False
    k = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * px + 1, 2 * px + 1))
    return cv2.dilate(jump.astype(np.uint8), k) > 0


def side_by_side(path, images: list[np.ndarray], labels: list[str], scale: int = 2) -> None:
    """A PNG of display images in one row, each labelled."""
    import cv2

    tiles = []
    for img, text in zip(images, labels):
        t = (np.clip(img, 0, 1) * 255).astype(np.uint8)[..., ::-1].copy()
        t = cv2.resize(t, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        cv2.putText(t, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 3, cv2.LINE_AA)
        cv2.putText(t, text, (6, 18), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (255, 255, 255), 1, cv2.LINE_AA)
        tiles.append(t)
    cv2.imwrite(str(path), np.concatenate(tiles, 1))
