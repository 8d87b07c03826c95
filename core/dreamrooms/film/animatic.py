"""The animatic: the shots cut together as the Edit says (renders where rendered, else the shot's own frames),
dissolves as cross-fades, dialogue burnt in when the built-in font covers it (OpenCV's Hershey fonts: ASCII);
the .srt beside it always carries the subtitles."""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

import cv2
import numpy as np

from dreamrooms.film.edit import Edit, ShotCut


def _shot_reader(folder: Path, size: tuple[int, int]):
    """A function shot-frame-index -> 8-bit BGR frame of the film's size (the render, else the colour footage)."""
    from dreamrooms.preview import display_rgb
    from dreamrooms.shot import Shot, exr
    from dreamrooms.shot.roles import colour_sequence

    shot = Shot.load(folder, check_files=False)
    seq = "render" if "render" in shot.sequences else colour_sequence(shot)
    layer = next((c.rsplit(".", 1)[0] + ".RGBA" for c in shot.sequences[seq].channels
                  if c.endswith("Combined.R")), "RGBA")
    frames = list(shot.frames)
    cache: dict[int, np.ndarray] = {}

    def read(k: int) -> np.ndarray:
        f = frames[min(max(k, 0), len(frames) - 1)]  # a shorter shot holds its last frame
        if f not in cache:
            cache.clear()
            data = exr.read_frame(shot.frame_path(seq, f))
            pix = data.get(layer)
            if pix is None:
                pix = np.dstack([data[c] for c in ("R", "G", "B")]) if "R" in data else next(iter(data.values()))
            img = display_rgb(pix if pix.ndim == 3 else np.repeat(pix[..., None], 3, -1))
            if img.shape[1::-1] != size:
                img = cv2.resize(img, size, interpolation=cv2.INTER_AREA)
            cache[f] = img
        return cache[f]

    return read


def burnable(text: str) -> bool:
    return text.isascii() and text.isprintable()


def _wrap(text: str, scale: float, thick: int, width: int) -> list[str]:
    """Words into lines no wider than `width` pixels at this font scale."""
    lines: list[str] = []
    for word in text.split():
        trial = f"{lines[-1]} {word}" if lines else word
        if lines and cv2.getTextSize(trial, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0] <= width:
            lines[-1] = trial
        else:
            lines.append(word)
    return lines


def _burn(img: np.ndarray, text: str) -> np.ndarray:
    """White text with a dark outline, bottom centre, wrapped to the frame's width."""
    h, w = img.shape[:2]
    scale = max(0.25, min(1.2, w / 1000.0))
    thick = max(1, round(scale * 1.5))
    lines = _wrap(text, scale, thick, int(w * 0.92))
    line_h = cv2.getTextSize("Ag", cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][1] * 1.6
    out = img.copy()
    y0 = h - max(3, h // 20) - line_h * (len(lines) - 1)
    for k, line in enumerate(lines):
        tw = cv2.getTextSize(line, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)[0][0]
        org = (max(1, (w - tw) // 2), int(y0 + k * line_h))
        cv2.putText(out, line, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), thick + 2, cv2.LINE_AA)
        cv2.putText(out, line, org, cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), thick, cv2.LINE_AA)
    return out


def frames(edit: Edit, film_dir: Path, burn: bool = True) -> Iterator[np.ndarray]:
    """The film frame by frame: each film frame blends the shots that cover it (two during a dissolve)."""
    readers = {s.id: _shot_reader(film_dir / "shots" / s.folder_name, (edit.width, edit.height)) for s in edit.shots}
    subs = edit.subtitles
    for t in range(edit.frames):
        live = [s for s in edit.shots if s.start <= t < s.end]
        img = _mix(live, t, readers)
        text = next((f"{s.character}: {s.text}" if s.character else s.text
                     for s in subs if s.start <= t < s.end), None)
        yield _burn(img, text) if (burn and text and burnable(text)) else img


def _mix(live: list[ShotCut], t: int, readers) -> np.ndarray:
    if len(live) == 1:
        s = live[0]
        return readers[s.id](t - s.start)
    a, b = live[0], live[-1]
    w = (t - b.start + 0.5) / max(b.overlap_in, 1)  # the incoming shot's weight rises over the overlap
    fa = readers[a.id](t - a.start).astype(np.float32)
    fb = readers[b.id](t - b.start).astype(np.float32)
    return (fa * (1 - w) + fb * w + 0.5).astype(np.uint8)


def write_animatic(edit: Edit, film_dir: Path, out: Path, burn: bool = True) -> Path:
    from dreamrooms.preview import write_mp4

    return write_mp4(frames(edit, film_dir, burn), out, edit.fps, total=edit.frames)
