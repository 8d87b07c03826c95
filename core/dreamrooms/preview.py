"""Previews people look at: a contact sheet PNG of a shot's passes and an MP4 of a sequence."""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, Sequence

import cv2
import numpy as np

from dreamrooms.shot import exr
from dreamrooms.atomic import atomic_path
from dreamrooms.colour import linear_to_srgb
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.shot import Shot


def display_rgb(rgba: np.ndarray) -> np.ndarray:
    """Linear premultiplied RGBA (or RGB) -> 8-bit sRGB BGR for PNG/MP4 (over black)."""
    rgba = np.asarray(rgba, np.float32)
    rgb = rgba[..., :3]
    return (linear_to_srgb(rgb)[..., ::-1] * 255.0 + 0.5).astype(np.uint8)


def display_depth(depth: np.ndarray, near: float | None = None, far: float | None = None) -> np.ndarray:
    """Depth -> 8-bit grey BGR, near white and far black, range from robust percentiles by default."""
    d = np.asarray(depth, np.float32)
    finite = d[np.isfinite(d) & (d > 0) & (d < 1e9)]
    if near is None or far is None:
        lo, hi = (np.percentile(finite, [2, 98]) if finite.size else (0.0, 1.0))
        near = lo if near is None else near
        far = hi if far is None else far
    g = 1.0 - np.clip((d - near) / max(far - near, 1e-6), 0.0, 1.0)
    g = np.where(np.isfinite(d) & (d < 1e9), g, 0.0)
    return np.repeat((g[..., None] * 255 + 0.5).astype(np.uint8), 3, axis=-1)


def _pick(frame: dict[str, np.ndarray], layer: str, path: Path) -> np.ndarray:
    if layer in frame:
        return frame[layer]
    try:
        return exr.read_frame(path, [layer])[layer]
    except DreamroomsError:
        raise DreamroomsError(f"{path}: no layer {layer!r} for the preview (has {', '.join(sorted(frame))})") from None


def _thumb(img: np.ndarray, width: int) -> np.ndarray:
    h, w = img.shape[:2]
    return cv2.resize(img, (width, max(1, round(h * width / w))), interpolation=cv2.INTER_AREA)


def contact_sheet(rows: Sequence[tuple[str, Shot, str, str]], frames: Sequence[int], out: str | os.PathLike,
                  thumb_width: int = 240) -> Path:
    """One row per (label, shot, sequence, layer), one column per frame; depth layers shown as grey."""
    out = Path(out)
    lines = []
    for label, shot, seq, layer in rows:
        tiles = []
        for f in frames:
            path = shot.frame_path(seq, f)
            frame = exr.read_frame(path)
            pix = _pick(frame, layer, path)
            is_depth = layer.endswith(".Z") or layer in ("Y", "depth") or pix.ndim == 2
            img = display_depth(pix) if is_depth else display_rgb(pix)
            tiles.append(_thumb(img, thumb_width))
        h = max(t.shape[0] for t in tiles)
        tiles = [cv2.copyMakeBorder(t, 0, h - t.shape[0], 0, 4, cv2.BORDER_CONSTANT, value=(20, 20, 20)) for t in tiles]
        strip = np.concatenate(tiles, axis=1)
        band = np.full((22, strip.shape[1], 3), 20, np.uint8)
        cv2.putText(band, label, (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (235, 235, 235), 1, cv2.LINE_AA)
        lines += [band, strip]
    width = max(line.shape[1] for line in lines)
    lines = [cv2.copyMakeBorder(line, 0, 0, 0, width - line.shape[1], cv2.BORDER_CONSTANT, value=(20, 20, 20)) for line in lines]
    sheet = np.concatenate(lines, axis=0)
    with atomic_path(out) as tmp:
        ok, buf = cv2.imencode(".png", sheet)
        if not ok:
            raise DreamroomsError(f"{out}: could not encode the contact sheet PNG")
        tmp.write_bytes(buf.tobytes())
    return out


def write_mp4(images: Iterable[np.ndarray], out: str | os.PathLike, fps: float, total: int | None = None) -> Path:
    """Stream 8-bit BGR images into an MP4 (mp4v) atomically; sizes must match the first image."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.stem}.{os.getpid()}.tmp.mp4")  # OpenCV picks the container by extension
    writer = None
    try:
        with progress(total, f"mp4 {out.name}") as bar:
            for img in images:
                if writer is None:
                    h, w = img.shape[:2]
                    writer = cv2.VideoWriter(str(tmp), cv2.VideoWriter_fourcc(*"mp4v"), float(fps), (w, h))
                    if not writer.isOpened():
                        raise DreamroomsError(f"{out}: OpenCV cannot open an MP4 writer (mp4v); write PNGs instead")
                writer.write(img)
                bar.update()
        if writer is None:
            raise DreamroomsError(f"{out}: no frames to write")
        writer.release()
        writer = None
        os.replace(tmp, out)
    finally:
        if writer is not None:
            writer.release()
        tmp.unlink(missing_ok=True)
    return out


def sequence_mp4(shot: Shot, seq: str, layer: str, out: str | os.PathLike) -> Path:
    """An MP4 of one layer of a shot sequence (colour as sRGB, depth as grey)."""
    paths = shot.sequence_paths(seq)

    def images():
        for path, frame in zip(paths, exr.read_sequence(paths)):
            pix = _pick(frame, layer, path)
            yield display_depth(pix) if pix.ndim == 2 else display_rgb(pix)

    return write_mp4(images(), out, shot.fps, total=len(paths))


# ---- any sequence of a shot, shown by what it holds (`dreamrooms preview`) -----------------------------------
MATTE_KINDS = ("mask", "reveal")


def sequence_image(shot: Shot, key: str, frame: int, colour: str | None = None) -> np.ndarray:
    """Frame `frame` of sequence `key` as 8-bit BGR: colour as sRGB over black, depth as grey (near white), a
    matte over the picture (the colour dimmed and tinted where the matte is 0), a layer's RGBA over grey, a
    Blender render's Combined pass; `colour` is the shot's colour sequence for the mattes."""
    from dreamrooms.shot.roles import depth_key, has_rgb

    seq = shot.sequences[key]
    path = shot.frame_path(key, frame)
    kind = seq.meta.get("kind")
    if kind in MATTE_KINDS and colour is not None:
        m = np.clip(exr.read_frame(path, ["Y"])["Y"], 0, 1)[..., None]
        pic = display_rgb(exr.read_frame(shot.frame_path(colour, frame), ["RGBA"])["RGBA"]).astype(np.float32)
        tint = np.asarray((90, 30, 30), np.float32)         # blue-grey where the matte is off
        return (pic * m + (0.35 * pic + tint) * (1 - m) + 0.5).astype(np.uint8)
    names = exr.info(path).layers
    rgba = next((n for n in names if n == "RGBA" or n.endswith("Combined.RGBA")), None)
    if rgba is not None and (has_rgb(seq.channels) or key == "render"):
        pix = exr.read_frame(path, [rgba])[rgba]
        if kind == "layer":     # premultiplied over mid grey: the holes show
            grey = np.float32(0.18)
            pix = np.concatenate([pix[..., :3] + grey * (1 - pix[..., 3:4]), pix[..., 3:4]], axis=-1)
        return display_rgb(pix)
    ch = depth_key(seq.channels) or seq.channels[0]
    layer = ch if ch in names else next((n for n in names if n.endswith(ch)), ch)
    return display_depth(exr.read_frame(path, [layer])[layer])


def shot_sheet(shot: Shot, keys: Sequence[str], frames: Sequence[int], out: str | os.PathLike,
               thumb_width: int = 200) -> Path:
    """A contact sheet of `keys` (one row each, labelled) at `frames` (one column each)."""
    from dreamrooms.shot.roles import colour_sequence

    colour = _colour_or_none(shot, colour_sequence)
    lines = []
    for key in keys:
        tiles = [_thumb(sequence_image(shot, key, f, colour), thumb_width) for f in frames]
        h = max(t.shape[0] for t in tiles)
        tiles = [cv2.copyMakeBorder(t, 0, h - t.shape[0], 0, 4, cv2.BORDER_CONSTANT, value=(20, 20, 20)) for t in tiles]
        strip = np.concatenate(tiles, axis=1)
        band = np.full((22, strip.shape[1], 3), 20, np.uint8)
        kind = shot.sequences[key].meta.get("kind")
        cv2.putText(band, key + (f" ({kind})" if kind else ""), (6, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (235, 235, 235), 1, cv2.LINE_AA)
        lines += [band, strip]
    width = max(line.shape[1] for line in lines)
    lines = [cv2.copyMakeBorder(x, 0, 0, 0, width - x.shape[1], cv2.BORDER_CONSTANT, value=(20, 20, 20)) for x in lines]
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    ok, buf = cv2.imencode(".png", np.concatenate(lines, axis=0))
    if not ok:
        raise DreamroomsError(f"{out}: could not encode the contact sheet PNG")
    with atomic_path(out) as tmp:
        tmp.write_bytes(buf.tobytes())
    return out


def shot_mp4(shot: Shot, key: str, out: str | os.PathLike) -> Path:
    """An MP4 of sequence `key` over the shot's frames, each frame shown as :func:`sequence_image` shows it."""
    from dreamrooms.shot.roles import colour_sequence

    colour = _colour_or_none(shot, colour_sequence)
    return write_mp4((sequence_image(shot, key, f, colour) for f in shot.frames), out, shot.fps,
                     total=shot.frame_count)


def _colour_or_none(shot: Shot, rule) -> str | None:
    try:
        return rule(shot)
    except DreamroomsError:
        return None
