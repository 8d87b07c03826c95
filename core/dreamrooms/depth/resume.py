"""Resume for the depth stage: per-frame fingerprints in the EXR header, the saved stabiliser state, and
cleanup of what a failed run created."""
from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path

import numpy as np

from dreamrooms.atomic import write_bytes_atomic
from dreamrooms.shot import exr
from dreamrooms.shot.sources import FrameSource, ShotSource

DEPTH_ATTR = "dreamrooms_depth"
CUT_ATTR = "dreamrooms_cut"       # "1" on a frame where the pictures showed a cut inside a clip (recorded in shot.cuts)
FOV_ATTR = "dreamrooms_fov_x"     # the model's horizontal field of view for this frame (degrees), when it gives one   # EXR header attribute on depth/ frames: the settings that made them
# the stabiliser state (a few MB) is saved with every STATE_EVERY-th frame once all frames before it are on
# disk: saving it with every frame cost 5-7 % of the run; a killed run redoes at most this many more frames
STATE_EVERY = 4


def frame_complete(layers_path: Path, depth_path: Path, preview_path: Path | None, fingerprint: str,
                   trust_renames: bool = False) -> bool:
    """Both files of the frame are whole and made with these settings.  `trust_renames`: a file that exists is
    whole (every writer renames finished files into place), so only the settings are read (header only): for
    checking frames that tasks of this same run just wrote, without decoding them again."""
    if trust_renames:
        if not layers_path.is_file() or not depth_path.is_file():
            return False
    elif not exr.is_complete(layers_path, ("depth.Z",)) or not exr.is_complete(depth_path, ("Y",)):
        return False
    if preview_path is not None and not preview_path.is_file():
        return False
    return read_fingerprint(depth_path) == fingerprint


def read_fingerprint(path: Path, attr: str = DEPTH_ATTR) -> str | None:
    """The settings string a stage wrote into an EXR header under `attr` (None when missing or unreadable)."""
    return read_attribute(path, attr)


def read_attribute(path: Path, name: str) -> str | None:
    """A string attribute of an EXR's first part (None when the file or the attribute is missing)."""
    import OpenEXR

    try:
        with OpenEXR.File(str(path), header_only=True) as f:
            v = f.parts[0].header.get(name)
    except Exception:
        return None
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def load_state(path: Path, fingerprint: str) -> tuple[int, dict] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["fingerprint"]) != fingerprint:
                return None
            frame = int(z["frame"])
            state = {k[6:]: z[k] for k in z.files if k.startswith("state_")}
    except (OSError, KeyError, ValueError):
        return None
    return frame, state


def save_state(path: Path, frame: int, fingerprint: str, state: dict) -> None:
    buf = io.BytesIO()
    np.savez(buf, frame=np.asarray(frame), fingerprint=np.asarray(fingerprint),
             **{f"state_{k}": v for k, v in state.items()})
    write_bytes_atomic(path, buf.getvalue())


def source_id(src: FrameSource, out: Path, inplace_key: str | None) -> str:
    """What the frames are made from, kept in every depth file's fingerprint so that other footage written
    into the same shot is never taken for a finished frame.  In place it names the shot's own sequence (not
    its path), so a moved shot still resumes."""
    if inplace_key:
        return f"this shot's {inplace_key} sequence"
    if isinstance(src, ShotSource):
        return f"{src.shot.folder.resolve()} ({src.sequence})"
    return str(Path(src.label).resolve())


def settings_of(fingerprint: str) -> dict:
    try:
        got = json.loads(fingerprint)
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}


def settings_diff(was: dict, settings: dict) -> str:
    keys = [k for k in settings if was.get(k) != settings[k]]
    return ", ".join(f"{k} {was.get(k)} vs {settings[k]}" for k in keys) or "different"



def remove_created(created: list[Path], made_dirs: list[Path]) -> None:
    """A failed run leaves nothing behind: files it created, and folders it made if they are empty."""
    for p in created:
        with contextlib.suppress(OSError):
            p.unlink()
        for t in p.parent.glob(f".{p.name}.*.tmp") if p.parent.is_dir() else []:
            with contextlib.suppress(OSError):
                t.unlink()
    for d in sorted(made_dirs, key=lambda x: len(x.parts), reverse=True):
        with contextlib.suppress(OSError):
            d.rmdir()

