"""Easing curves, the one table: map time 0..1 to progress 0..1.  Camera moves (`--easing`) and latent walks
(`--ease`, per keyframe segment) both read it."""
from __future__ import annotations

from typing import Callable

import numpy as np

from dreamrooms.errors import DreamroomsError

CURVES: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "linear": lambda t: t,
    "ease_in": lambda t: t * t,
    "ease_out": lambda t: 1 - (1 - t) ** 2,
    "ease_in_out": lambda t: t * t * (3 - 2 * t),                       # smoothstep: zero velocity at both ends
    "smooth": lambda t: t * t * t * (t * (t * 6 - 15) + 10),           # smootherstep: zero acceleration too
}


def ease(t, name: str = "linear") -> np.ndarray:
    """`t` clipped to 0..1 through the named curve."""
    curve = CURVES.get(name)
    if curve is None:
        raise DreamroomsError(f"easing {name!r}: use one of {', '.join(CURVES)}")
    return curve(np.clip(np.asarray(t, np.float64), 0.0, 1.0))
