"""Where a shot's exportable images are: the beauty, the depth and its range, the object mattes of
`dreamrooms mask`, the reveal matte, the other render passes and Cryptomatte layers.  Exporter-neutral:
the After Effects export is one user (dreamrooms.ae.relayer); names here carry no host's vocabulary.

Mattes: a sequence with meta kind `mask` (pattern `masks/...`, channel `Y`, label in meta), else the
layered file's own `mask.<label>` channel, else a legacy `mask*.A` channel of the beauty's file; the reveal
matte is the sequence of meta kind `reveal` (1 = revealed).  Neither is ever a pass or the depth.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from dreamrooms.errors import DreamroomsError, ShotError
from dreamrooms.shot import Shot, exr
from dreamrooms.shot.roles import depth_sequence

INVALID_DEPTH = 1e9
MAP_KINDS = ("disparity", "linear")
MASK_KIND, REVEAL_KIND = "mask", "reveal"
_UNSAFE = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_CRYPTO = re.compile(r"^(.*?Crypto[A-Za-z]+?)(\d{2})$")


def safe_name(name: str) -> str:
    """A file name that is legal on Windows, macOS and Linux (non-ASCII is kept)."""
    s = _UNSAFE.sub("_", name).strip().rstrip(".")
    return s or "shot"


def file_name(name: str) -> str:
    """`safe_name` without whitespace (runs become `_`): folder and file names a compositor can type."""
    return re.sub(r"\s+", "_", safe_name(name)) or "shot"


def layer_keys(channels: list[str]) -> list[str]:
    """The layer keys (`RGBA`, `depth.Z`, ...) of a sequence's channel list."""
    return list(exr.group_channels({c: np.empty(0) for c in channels}))


@dataclass
class Sources:
    """Which sequence and layer key hold the beauty, the depth, each matte, the reveal matte and each pass."""
    beauty_seq: str
    beauty_key: str
    depth_seq: str | None = None
    depth_key: str | None = None
    masks: dict[str, tuple[str, str]] = field(default_factory=dict)  # matte label -> (seq, key)
    passes: dict[str, tuple[str, str]] = field(default_factory=dict)  # pass name -> (seq, key)
    crypto: dict[str, tuple[str, list[str]]] = field(default_factory=dict)  # Cryptomatte name -> (seq, rank keys)
    reveal: tuple[str, str] | None = None


def _find_beauty(keys: list[str]) -> str | None:
    for k in keys:
        if k.endswith("Combined.RGBA"):
            return k
    for want in ("RGBA", "RGB"):
        if want in keys:
            return want
    return None


def _pick_beauty(shot: Shot, keys: dict[str, list[str]], beauty: str | None) -> Sources:
    where = shot.folder / "shot.json" if shot.folder else "shot.json"
    if beauty is not None:
        if beauty not in keys:
            raise DreamroomsError(f"{where}: no sequence {beauty!r} for --beauty (has {', '.join(keys) or 'none'})")
        order = [beauty]
    else:
        order = sorted(keys, key=lambda n: (not any(k.endswith("Combined.RGBA") for k in keys[n]), n != "layers", n))
    for name in order:
        key = _find_beauty(keys[name])
        if key:
            return Sources(name, key)
    raise DreamroomsError(f"{where}: no sequence with RGBA colour to use as the beauty pass; "
                          "render or add one, or name it with --beauty")


def _matte_sequences(shot: Shot, src: Sources, keys: dict[str, list[str]]) -> None:
    """Mattes and the reveal matte recorded as their own sequences (meta kind `mask` / `reveal`)."""
    for name, seq in shot.sequences.items():
        kind = seq.meta.get("kind")
        if kind not in (MASK_KIND, REVEAL_KIND) or not keys[name]:
            continue
        if kind == REVEAL_KIND:
            src.reveal = (name, keys[name][0])
        else:
            label = str(seq.meta.get("label") or name.removeprefix("mask_"))
            src.masks[label] = (name, keys[name][0])


def _beauty_file_layers(src: Sources, keys: list[str]) -> None:
    """Mattes, Cryptomatte layers and passes inside the beauty's own file."""
    for k in keys:
        if k in (src.beauty_key, src.depth_key):
            continue
        prefix, letters = exr.split_key(k)
        last = prefix.rpartition(".")[2]
        if prefix == "mask" and letters and not letters.isupper():   # `mask.<label>` of the layered file
            src.masks.setdefault(letters, (src.beauty_seq, k))
        elif letters == "A" and "mask" in prefix.lower():            # a legacy alpha-only `mask*.A`
            src.masks.setdefault(last or "mask", (src.beauty_seq, k))
        elif (m := _CRYPTO.match(last)) is not None:
            name = file_name(m.group(1)).lower()
            src.crypto.setdefault(name, (src.beauty_seq, []))[1].append(k)
        elif prefix:
            src.passes[file_name(last).lower()] = (src.beauty_seq, k)


def find_sources(shot: Shot, beauty: str | None = None, depth: str | None = None) -> Sources:
    """Pick the beauty (a Blender `*.Combined.RGBA` render first, then `RGBA`), the depth (same sequence
    first, then a depth-only sequence), the mattes (`dreamrooms mask` sequences first, then the beauty
    file's own), the reveal matte, Cryptomatte layers (grouped by name, every rank) and the other passes."""
    keys = {name: layer_keys(seq.channels) for name, seq in shot.sequences.items()}
    src = _pick_beauty(shot, keys, beauty)
    try:   # the shot's one depth rule, preferring the beauty's own file
        src.depth_seq, src.depth_key = depth_sequence(shot, depth, prefer=src.beauty_seq)
    except ShotError:
        if depth is not None:
            raise
    if depth is None and src.depth_seq and shot.sequences[src.depth_seq].meta.get("kind") == REVEAL_KIND:
        src.depth_seq = src.depth_key = None   # the reveal matte is never depth (its one Y channel looks like one)
    _matte_sequences(shot, src, keys)
    _beauty_file_layers(src, keys[src.beauty_seq])
    for name, (_, ranks) in src.crypto.items():
        ranks.sort()
    return src


def _valid(d: np.ndarray) -> np.ndarray:
    return np.isfinite(d) & (d > 0) & (d < INVALID_DEPTH)


def depth_range(shot: Shot, src: Sources, mode: str | tuple[float, float] = "auto", samples: int = 8) -> tuple[float, float]:
    """(near, far) for the depth map: explicit, the camera clip range ('clip'), or percentiles ('auto')."""
    if isinstance(mode, tuple):
        near, far = mode
    elif mode == "clip":
        if shot.camera is None:
            raise DreamroomsError(f"{shot.folder}: --depth-range clip needs a camera in shot.json; use auto or NEAR,FAR")
        near, far = shot.camera.clip_start, shot.camera.clip_end
    else:
        frames = list(shot.frames)
        idx = np.unique(np.linspace(0, len(frames) - 1, min(samples, len(frames))).round().astype(int))
        vals = []
        for i in idx:
            d = exr.read_frame(shot.frame_path(src.depth_seq, frames[i]), [src.depth_key])[src.depth_key]
            d = np.asarray(d, dtype=np.float32)[::2, ::2]
            vals.append(d[_valid(d)])
        allv = np.concatenate(vals) if vals else np.empty(0)
        if allv.size == 0:
            raise DreamroomsError(f"{shot.folder}: sequence {src.depth_seq!r} has no valid depth (all <= 0, infinite or background)")
        near, far = (float(x) for x in np.percentile(allv, [1.0, 99.0]))
    if not (np.isfinite(near) and np.isfinite(far)) or far < near:
        raise DreamroomsError(f"depth range near={near} far={far} is invalid; give NEAR,FAR with NEAR < FAR")
    if far - near < 1e-6 * max(1.0, abs(far)):
        pad = max(abs(near) * 0.01, 1e-3)
        near, far = near - pad, far + pad
    return float(near), float(far)


def normalise_map(d: np.ndarray, near: float, far: float, kind: str = "disparity") -> np.ndarray:
    """0..1 luminance: 1 (white) at `near` and closer, 0 (black) at `far` and beyond or invalid;
    linear in 1/depth (`disparity`) or in depth (`linear`)."""
    d = np.asarray(d, dtype=np.float64)
    ok = _valid(d)
    if kind == "disparity":
        if near <= 0:
            raise DreamroomsError(f"depth range near={near}: a disparity map needs NEAR > 0 (give --depth-range NEAR,FAR or --blur-map linear)")
        with np.errstate(divide="ignore", invalid="ignore"):
            v = (1.0 / d - 1.0 / far) / (1.0 / near - 1.0 / far)
    elif kind == "linear":
        v = (far - d) / (far - near)
    else:
        raise DreamroomsError(f"map kind {kind!r}: use one of {', '.join(MAP_KINDS)}")
    v = np.where(ok, np.clip(v, 0.0, 1.0), 0.0)
    return v.astype(np.float32)
