"""The one path-confinement rule: paths that come from data stay inside their folder, names stay names.

Shot folders and model manifests travel between people and machines, so a path read from them
(a sequence pattern, a manifest `file`) is untrusted. `confine` is the only function that turns
such a path into a file path; `check_name` validates the names users and data give to
sequences and models where they are created (a display name becomes a file stem through
`dreamrooms.shot.frames.sequence_name`).
"""
from __future__ import annotations

import functools
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
    import argparse

    if not text.strip() or any(unicodedata.category(c) == "Cc" for c in text):
        raise argparse.ArgumentTypeError(f"{text!r}: give a folder or file path (empty or with control characters)")
    try:   # bytes that are not UTF-8 arrive as lone surrogates: shot.json (UTF-8) could not record the name
        text.encode("utf-8")
    except UnicodeEncodeError:
        shown = text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
        raise argparse.ArgumentTypeError(f"{shown!r}: not a UTF-8 path; rename the folder with UTF-8 characters") from None
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


@functools.lru_cache(maxsize=64)
def _resolved_root(absolute: str) -> Path:
    return Path(absolute).resolve()


def resolved_root(base: str | os.PathLike) -> Path:
    """`base` resolved, cached per absolute path (stages confine every frame; the shot root does not move during a
    run). A folder that does not exist yet is resolved afresh each time (it may be created through a symlink)."""
    absolute = os.path.abspath(base)
    if not os.path.isdir(absolute):
        return Path(absolute).resolve()
    return _resolved_root(absolute)


def _inside(resolved: Path, root: Path) -> bool:
    return resolved == root or resolved.is_relative_to(root)


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
        resolved = target.resolve()
        if not _inside(resolved, resolved_root(base)):
            reason = f"a symlink on the way leads to {resolved}"
        else:
            return target
    raise UnsafePathError(f"{what}: {rel!r} is not a path inside {base} ({reason}); "
                          f"use a relative path inside the folder, without '..' or symlinks out")


def output_dir(root: str | os.PathLike, relative: str, *, create: bool = True) -> Path:
    """`root/relative`, the folder a stage writes into inside shot `root` (`layers`, `depth`, `masks`, `ae`,
    `render`, `preview`), made when `create` (else only checked; the writes make it). Refused in one line when
    it, or a folder on the way, is a symlink (a Windows junction resolves the same way) leading out of the shot:
    a shot folder from an archive must not make a stage write or delete elsewhere. The shot root itself is the
    user's choice (it may be a symlink)."""
    target = confine(root, relative, f"{Path(root)}: output folder")   # refuses '..', absolute, symlinks out
    if create:
        target.mkdir(parents=True, exist_ok=True)
        if not _inside(target.resolve(), resolved_root(root)):   # swapped for a symlink while being made
            raise UnsafePathError(f"{target}: output folder leads to {target.resolve()}, outside the shot {root}; "
                                  "remove that symlink")
    return target


def enclosing_shot(path: str | os.PathLike) -> Path | None:
    """The nearest folder above `path` (by name, symlinks not followed) that holds a `shot.json`, else None."""
    folder = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.lexists(os.path.join(folder, "shot.json")):
            return Path(folder)
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def check_write_target(path: str | os.PathLike) -> None:
    """Refuse (one line) a write to `path` when it lies in a shot folder by name but its folder resolves outside that
    shot: a `layers/`, `ae/beauty/` ... from an archive that is a symlink out. The write path (dreamrooms.atomic)
    calls it for every file, so every stage is confined without checks of its own; outside any shot (the models
    folder, a new `--out` before its shot.json exists) nothing is checked. On Windows `Path.resolve` (realpath)
    follows symlinks and junctions alike (reparse points; Python >= 3.8), so a junction out is refused the same
    way; what a reparse point could still do between this check and the write is closed by the exclusive temp
    (CREATE_NEW fails on any existing name) and the rename, which replaces a link instead of following it."""
    root = enclosing_shot(path)
    if root is None:
        return
    parent = Path(os.path.abspath(path)).parent
    resolved = parent.resolve()
    if not _inside(resolved, resolved_root(root)):
        raise UnsafePathError(f"{parent}: leads to {resolved}, outside the shot {root} (a symlink on the way); "
                              "dreamrooms writes only inside the shot: replace that symlink with a real folder")


def remove_inside(root: str | os.PathLike, path: str | os.PathLike) -> bool:
    """Delete file `path` (stale frames, --overwrite) only when its folder resolves inside `root`; a symlink is
    removed itself, never what it points to (unlink does not follow). Returns whether a file was removed."""
    path = Path(path)
    if not _inside(path.parent.resolve(), resolved_root(root)):
        raise UnsafePathError(f"{path}: not inside {root} once symlinks are followed; dreamrooms deletes only "
                              f"inside the folder it writes; remove that symlink")
    try:
        path.unlink()
    except FileNotFoundError:
        return False
    return True


def regular_file(path: str | os.PathLike, what: str) -> Path:
    """`path` if it is a regular file (after symlinks); a FIFO, device or socket is refused in one line, since
    reading one blocks forever or never ends (a missing file is left to the reader's own message)."""
    import stat

    path = Path(path)
    try:
        mode = path.stat().st_mode
    except OSError:
        return path
    if not stat.S_ISREG(mode):
        raise UnsafePathError(f"{path}: {what} is not a regular file (a folder, FIFO, device or socket); "
                              "replace it with the image file")
    return path


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


def _install() -> None:
    from dreamrooms import atomic

    atomic.set_write_check(check_write_target)


_install()   # every atomic write inside a shot folder is checked (dreamrooms.atomic sits below shot)
