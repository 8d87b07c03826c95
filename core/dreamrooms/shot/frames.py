"""Frames: the one frame-range rule (`--frames A-B`), frame-file patterns (`####`), image extensions, file names."""
from __future__ import annotations

import argparse
import re

from dreamrooms.errors import DreamroomsError

# what every stage that reads footage (depth, mask, training) accepts as an image file
IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp", ".webp", ".exr")
_RANGE = re.compile(r"\s*(-?\d+)\s*(?:(?:-|:|\.\.)\s*(-?\d+)\s*)?")
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


class FrameRangeError(DreamroomsError):
    """A --frames value that is not a range, or a range the input or shot does not have."""


def parse_frames(text: str | None) -> tuple[int, int] | None:
    """'1-48' (or '1:48', '1..48', '7') -> (first, last), inclusive; None stays None."""
    if text is None:
        return None
    m = _RANGE.fullmatch(text)
    if not m:
        raise FrameRangeError(f"--frames {text!r}: give a range like 1-48 (first and last frame, inclusive)")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) is not None else first
    if last < first:
        raise FrameRangeError(f"--frames {text}: the last frame is before the first ({last} < {first})")
    return first, last


def frame_range_arg(text: str) -> tuple[int, int]:
    """parse_frames as an argparse `type=` (a bad range is a usage error, exit 2)."""
    try:
        return parse_frames(text)
    except FrameRangeError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def select_frames(numbers: list[int], frames: tuple[int, int] | None, label: str) -> list[int]:
    """The frames of `numbers` (an input's frame numbers) inside `frames`; every asked frame must exist."""
    if frames is None:
        return list(numbers)
    a, b = frames
    have = set(numbers)
    missing = [n for n in range(a, b + 1) if n not in have]
    if missing:
        raise FrameRangeError(f"{label}: --frames {a}-{b} asks for frame {missing[0]} but the input has frames "
                              f"{numbers[0]}-{numbers[-1]}; pick a range inside it")
    return list(range(a, b + 1))


def shot_frames(shot, frames: tuple[int, int] | None) -> range:
    """The shot's frames, or `frames` when it lies inside the shot's range."""
    if frames is None:
        return shot.frames
    a, b = frames
    if a < shot.frame_start or b > shot.frame_end:
        raise FrameRangeError(f"--frames {a}-{b} is outside the shot's frames {shot.frame_start}-{shot.frame_end} "
                              f"({shot.folder}/shot.json)")
    return range(a, b + 1)


def frame_file(pattern: str, number: int) -> str:
    """Replace the run of `#` in `pattern` with the zero-padded frame number."""
    start = pattern.find("#")
    end = start
    while end < len(pattern) and pattern[end] == "#":
        end += 1
    width = end - start
    sign = "-" if number < 0 else ""
    return f"{pattern[:start]}{sign}{abs(number):0{width}d}{pattern[end:]}"


def sequence_name(text: str, default: str = "shot") -> str:
    """A sequence or file name made of letters, digits, `_` and `-` (legal on every OS, no `#` or separators)."""
    return _UNSAFE.sub("_", text).strip("_") or default
