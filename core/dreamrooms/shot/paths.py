"""The one path-confinement rule: paths that come from data stay inside their folder, names stay names.

Shot folders and model manifests travel between people and machines, so a path read from them
(a sequence pattern, a manifest `file`) is untrusted. `confine` is the only function that turns
such a path into a file path; `check_name` validates the names users and data give to
sequences and models where they are created (a display name becomes a file stem through
`dreamrooms.shot.frames.sequence_name`).
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path, PurePosixPath, PureWindowsPath

from dreamrooms.errors import DreamroomsError

NAME_MAX = 128
_NAME_OK = re.compile(r"[^\W_][\w .+\-]*", re.UNICODE)  # starts with a letter/digit; then letters, digits, _ . + - space


class UnsafePathError(DreamroomsError):
    """A path from data leads outside its folder, or a name is not a plain name."""


def path_arg(text: str) -> Path:
    """An argparse `type=` for a path the user names: an empty one (which would mean "here") is refused."""
    if not text.strip() or any(unicodedata.category(c) == "Cc" for c in text):
        import argparse
        raise argparse.ArgumentTypeError(f"{text!r}: give a folder or file path (empty or with control characters)")
    return Path(text)


def _escape_reason(relative: str) -> str | None:
    """Why `relative` is not a plain relative path (None when it is)."""
    if not relative:
        return "it is empty"
    if "\x00" in relative or any(unicodedata.category(c) == "Cc" for c in relative):
        return "it contains a control character"
    if (PurePosixPath(relative).is_absolute() or PureWindowsPath(relative).is_absolute()
            or PureWindowsPath(relative).drive or relative.startswith(("~", "\\"))):
        return "it is absolute"
    if any(part == ".." for part in re.split(r"[\\/]", relative)):
        return "it contains '..'"
    return None


def check_relative(relative: str, what: str) -> str:
    """`relative` if it is a plain relative path (no absolute path, drive, `~`, `..` or control character);
    the check that needs no file system, for load time (`confine` adds the symlink check at use)."""
    reason = _escape_reason(relative)
    if reason is not None:
        raise UnsafePathError(f"{what}: {relative!r} is not a relative path inside the folder ({reason}); "
                              f"use a path like layers/NAME.####.exr, without '..'")
    return relative


def confine(base: str | os.PathLike, relative: str | os.PathLike, what: str) -> Path:
    """`base / relative`, refused (one-line UnsafePathError naming `what`) when `relative` is absolute,
    contains `..`, or resolves outside `base` through a symlink.

    `what` names where the path came from, e.g. ``"SHOT/shot.json: sequences.depth.pattern"``.
    """
    rel = os.fspath(relative)
    base = Path(base)
    reason = _escape_reason(rel)
    if reason is None:
        target = base / PurePosixPath(rel.replace("\\", "/"))
        root = base.resolve()
        resolved = target.resolve()
        if resolved != root and not resolved.is_relative_to(root):
            reason = f"a symlink on the way leads to {resolved}"
        else:
            return target
    raise UnsafePathError(f"{what}: {rel!r} is not a path inside {base} ({reason}); "
                          f"use a relative path inside the folder, without '..' or symlinks out")


def check_name(name: object, what: str) -> str:
    """`name` if it is a plain name (letters, digits, space, `. + - _`, at most 128 characters, starting
    with a letter or digit), else a one-line UnsafePathError naming `what` and the fix."""
    if not isinstance(name, str) or not name:
        raise UnsafePathError(f"{what}: a name is required (letters, digits, space, '.', '-', '_')")
    if len(name) > NAME_MAX or not _NAME_OK.fullmatch(name) or name.endswith((" ", ".")):
        shown = name if len(name) <= 40 else name[:37] + "..."
        raise UnsafePathError(f"{what} {shown!r}: not a plain name; use letters, digits, space, '.', '-' and '_' "
                              f"(no quotes, '#', slashes or '..'), at most {NAME_MAX} characters, "
                              "starting with a letter or digit")
    return name

