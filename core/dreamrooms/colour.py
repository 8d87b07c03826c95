"""sRGB transfer functions: generators and PNGs speak sRGB-encoded 0..1, EXRs hold scene-linear."""
from __future__ import annotations

import numpy as np


def srgb_to_linear(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 decode (values outside 0..1 are clipped first), float32 out."""
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.04045, x / 12.92, ((x + 0.055) / 1.055) ** 2.4).astype(np.float32)


def linear_to_srgb(x: np.ndarray) -> np.ndarray:
    """IEC 61966-2-1 encode (clipped to 0..1), float32 out."""
    x = np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.where(x <= 0.0031308, x * 12.92, 1.055 * np.power(x, 1 / 2.4) - 0.055).astype(np.float32)


def unpremultiply(rgba: np.ndarray) -> np.ndarray:
    """RGB divided by alpha where alpha > 0 (for display or model input)."""
    rgba = np.asarray(rgba, dtype=np.float32)
    a = rgba[..., 3:4]
    return np.where(a > 1e-6, rgba[..., :3] / np.maximum(a, 1e-6), 0.0).astype(np.float32)
