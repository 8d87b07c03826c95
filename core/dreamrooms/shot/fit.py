"""`--fit WxH`: photos of mixed sizes brought to one frame size, by padding or by cropping (the user picks)."""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from dreamrooms.errors import DreamroomsError


class FitError(DreamroomsError):
    """A --fit value that is not WIDTHxHEIGHT in range, or an unknown mode."""


FIT_MODES = ("pad", "crop")


@dataclass(frozen=True)
class Fit:
    """`--fit WxH`: every frame scaled to fit inside WxH and padded with black bars (`pad`), or scaled to cover
    it and cropped at the centre (`crop`), so photos of mixed sizes make one shot."""
    width: int
    height: int
    mode: str = "pad"

    @classmethod
    def parse(cls, text: str | None, mode: str = "pad") -> "Fit | None":
        if not text:
            return None
        m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", str(text))
        if not m or mode not in FIT_MODES:
            raise FitError(f"--fit {text} --fit-mode {mode}: give WIDTHxHEIGHT in pixels (e.g. --fit 640x360) "
                              f"and a mode of {', '.join(FIT_MODES)}")
        from dreamrooms import limits

        w, h = int(m.group(1)), int(m.group(2))
        try:
            limits.check_number(w, "--fit width", low=8, high=limits.MAX_SIDE)
            limits.check_number(h, "--fit height", low=8, high=limits.MAX_SIDE)
        except limits.LimitError as exc:
            raise FitError(str(exc)) from None
        return cls(w, h, mode)

    def describe(self) -> str:
        how = "scaled to fit and padded with black bars" if self.mode == "pad" else "scaled to cover and centre-cropped"
        return f"{self.width}x{self.height} ({how})"

    def apply(self, srgb: np.ndarray, rgba: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Both encodings of one frame at WxH."""
        import cv2

        h, w = srgb.shape[:2]
        if (w, h) == (self.width, self.height):
            return srgb, rgba
        scale = (min if self.mode == "pad" else max)(self.width / w, self.height / h)
        nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
        flag = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        out = []
        for img, fill in ((srgb, 0.0), (rgba, 0.0)):
            r = cv2.resize(np.asarray(img, np.float32), (nw, nh), interpolation=flag)
            canvas = np.full((self.height, self.width, img.shape[2]), fill, np.float32)
            if img.shape[2] == 4:
                canvas[..., 3] = 1.0      # black bars are opaque black
            x0, y0 = (self.width - nw) // 2, (self.height - nh) // 2
            sx, sy = max(0, -x0), max(0, -y0)
            dx, dy = max(0, x0), max(0, y0)
            cw, ch = min(nw - sx, self.width - dx), min(nh - sy, self.height - dy)
            canvas[dy:dy + ch, dx:dx + cw] = r[sy:sy + ch, sx:sx + cw]
            out.append(np.ascontiguousarray(canvas))
        return out[0], out[1]
