"""The one resume scheme: the settings that made a frame, as a JSON string in its EXR header.

Every stage writes its frames atomically with ``dreamrooms_<stage>`` = the run's fingerprint in the header.  A rerun
keeps a frame whose files are whole and carry the same fingerprint; a whole frame made with other settings stops
the run with the fix (``--overwrite``, or the same settings).  :func:`inspect` reads each file once for both.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Mapping, Sequence


def fingerprint_of(settings: Mapping) -> str:
    """The fingerprint of a run's settings (JSON, keys sorted: equal settings give equal strings)."""
    return json.dumps(settings, sort_keys=True)


def settings_of(fingerprint: str | None) -> dict:
    try:
        got = json.loads(fingerprint or "")
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}


def settings_diff(was: Mapping, settings: Mapping) -> str:
    """What differs between the settings a file was made with and this run's, for the error line."""
    keys = [k for k in settings if was.get(k) != settings[k]]
    return ", ".join(f"{k} {was.get(k)} vs {settings[k]}" for k in keys) or "different"


def _text(v) -> str | None:
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def read_attribute(path: str | os.PathLike, name: str) -> str | None:
    """A string attribute of an EXR's first part, from the header only (None when missing or unreadable)."""
    import OpenEXR

    try:
        with OpenEXR.File(str(path), header_only=True) as f:
            return _text(f.parts[0].header.get(name))
    except Exception:
        return None


def inspect(path: Path, required: Sequence[str], attr: str | None) -> tuple[bool, str | None]:
    """(whole, fingerprint) of a frame file from ONE read: whole when it decodes and has every `required` layer;
    the fingerprint is the header's `attr` (None when absent, when the file is missing or `attr` is None)."""
    from dreamrooms.shot import exr

    if not path.is_file():
        return False, None
    try:
        with exr._open(path) as f:     # the full read that proves the pixels decode, header included
            fp = _text(f.parts[0].header.get(attr)) if attr else None
            layers = exr.group_channels(exr._flat_channels(f))
    except Exception:
        return False, None
    names = set(layers)
    for key in required:
        prefix, letters = exr.split_key(key)
        if key not in names and not any(exr.split_key(k)[0] == prefix and set(letters) <= set(exr.split_key(k)[1])
                                        for k in names):
            return False, fp
    return True, fp


def stamp_exr(path: str | os.PathLike, attributes: Mapping[str, str]) -> Path:
    """Add string `attributes` to every part header of a finished EXR, rewriting it atomically (pixels, parts and
    types kept).  For files another program wrote, e.g. Blender's renders: call it on the temporary before renaming
    it into place (or on the file in place), so renders join the fingerprint scheme."""
    import OpenEXR

    from dreamrooms.atomic import atomic_path

    path = Path(path)
    with OpenEXR.File(str(path), separate_channels=True) as f:
        parts = []
        for part in f.parts:
            header = dict(part.header)
            header.update({k: str(v) for k, v in attributes.items()})
            chans = {name: ch.pixels for name, ch in part.channels.items()}
            parts.append(OpenEXR.Part(header, chans, part.name() or None) if len(f.parts) > 1 else (header, chans))
    with atomic_path(path) as tmp:
        if len(parts) == 1:
            OpenEXR.File(*parts[0]).write(str(tmp))
        else:
            OpenEXR.File(parts).write(str(tmp))
    return path
