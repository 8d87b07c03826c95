"""`dreamrooms depth`: depth for whole sequences, streamed, batched, temporally stable, written into a shot.

    dreamrooms depth INPUT --model tinydepth --out SHOT [--stabilize keyframe|ema|off] [--size N]
                     [--batch B] [--device auto|cpu|cuda] [--frames A-B] [--preview] [--near 1 --far 10]

INPUT is a shot folder, a video file, an image-sequence pattern (`frames/img.####.png`) or a folder of images
(see :mod:`dreamrooms.sources`).  Per frame the stage writes

* ``layers/NAME.####.exr``: ``R G B A`` (half, scene-linear, premultiplied) + ``depth.Z`` (float32).  When the
  output shot already has a colour sequence under ``layers/`` (a walk shot), ``depth.Z`` is added to those
  files and every other layer in them is kept;
* ``depth/NAME.####.exr``: the same depth as the single float32 channel ``Y`` (Blender's image nodes read a
  single-channel ``Y`` EXR as float in every channel but ignore ``depth.Z`` beside RGBA);
* with ``--preview``, ``preview/NAME_depth.####.png``: 16-bit grey, white = near, one mapping for the clip.

Depth convention: ``depth.Z``/``Y`` is depth along the camera axis, larger is farther, in shot units where the
first frame's 98th-percentile-nearest pixel is at ``near`` and its 2nd-percentile-farthest at ``far`` (model
inverse depth mapped linearly onto ``[1/far, 1/near]``, then inverted; see :mod:`dreamrooms.stabilize`).
Metric models (``semantics = "depth_metric"``) are written in their own metres.

Pipeline: a reader thread decodes and preprocesses frames ahead of the model (bounded queue), the main thread
runs ONNX Runtime on batches back to back, a stabiliser thread aligns the outputs in frame order, and writer
threads upsample (joint bilateral upsampling with the full-resolution frame as guide), convert and write each
frame atomically (bounded backlog): memory does not grow with the clip and I/O overlaps inference.  A rerun skips complete frames and resumes at the first
missing one; frames are registered in ``shot.json`` only after all of them are on disk.  A failed run removes
what it created (no partial output); an interrupted run keeps whole frames for the next run.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import queue
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from dreamrooms import exr
from dreamrooms import stabilize as stab
from dreamrooms.atomic import write_bytes_atomic
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.shot import CameraTrack, Shot, frame_file
from dreamrooms.sources import Frame, FrameSource, ShotSource, SourceError, colour_sequence, open_source

DEPTH_ATTR = "dreamrooms_depth"   # EXR header attribute on depth/ frames: the settings that made them


class DepthError(DreamroomsError):
    """The depth stage cannot run as asked (bad frame range, shot mismatch, settings clash)."""


# ---- preprocessing -----------------------------------------------------------------------------------
def network_size(inp: dict, height: int, width: int, size: int | None = None) -> tuple[int, int]:
    """Model input (H, W) for a source frame per the manifest entry (`size` overrides its `target`)."""
    from dreamrooms.sessions import network_size as _ns

    spec = dict(inp)
    if size is not None:
        if "size" in spec:
            raise DepthError(f"--size {size}: this model takes a fixed {spec['size'][1]}x{spec['size'][0]} input; "
                             f"leave --size out")
        spec["target"] = int(size)
    return _ns(spec, height, width)


def preprocess(srgb: np.ndarray, net_hw: tuple[int, int], inp: dict) -> tuple[np.ndarray, np.ndarray]:
    """sRGB 0..1 HxWx3 -> (normalised CHW float32 at the network size, the resized sRGB HxWx3)."""
    import cv2

    nh, nw = net_hw
    h, w = srgb.shape[:2]
    x = srgb
    if (nh, nw) != (h, w):
        interp = cv2.INTER_AREA if (nh < h and nw < w) else cv2.INTER_LINEAR
        x = cv2.resize(srgb, (nw, nh), interpolation=interp)
    small = x
    lo, hi = inp.get("range", [0.0, 1.0])
    if (lo, hi) != (0.0, 1.0):
        x = x * np.float32(hi - lo) + np.float32(lo)
    if not inp.get("normalization_in_graph", False):
        x = (x - np.asarray(inp["mean"], np.float32)) * (1.0 / np.asarray(inp["std"], np.float32))
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32), small


# ---- edge-aware upsampling ---------------------------------------------------------------------------
def joint_bilateral_upsample(low: np.ndarray, guide: np.ndarray, sigma_spatial: float = 0.8,
                             sigma_range: float = 0.05, support: int = 3, flat: float = 0.005) -> np.ndarray:
    """Upsample `low` (h x w) to the guide's size (H x W x C sRGB 0..1, or H x W) by joint bilateral upsampling
    (Kopf et al. 2007): every output pixel averages the `support` x `support` nearest low-resolution values,
    weighted by their distance and by how similar the guide's colour there is to the guide's colour at the
    output pixel.

    Values only mix with neighbours of the same colour, so depth edges snap to the image's edges (silhouettes
    stay sharp) and, unlike a guided filter, image texture is never copied into the depth.  Where the low-res
    map is locally linear (within `flat`, relative) there is no edge to place and bilinear interpolation gives
    the same answer, so only the pixels near depth edges pay for the bilateral weights.
    """
    import cv2

    low = np.asarray(low, np.float32)
    g = np.asarray(guide, np.float32)
    if g.ndim == 2:
        g = g[..., None]
    H, W, C = g.shape
    h, w = low.shape
    if (h, w) == (H, W):
        return low
    out = cv2.resize(low, (W, H), interpolation=cv2.INTER_LINEAR)
    # a depth edge bends the map; planes are linear in inverse depth and bilinear interpolation is exact there
    bend = np.abs(low - cv2.blur(low, (3, 3), borderType=cv2.BORDER_REPLICATE))
    k = np.ones((support + 1, support + 1), np.uint8)
    edge_lo = cv2.dilate((bend > flat * np.abs(low) + 1e-12).astype(np.uint8), k) > 0
    if not edge_lo.any():
        return out
    # output pixel centres in low-res pixel coordinates
    ys = (np.arange(H, dtype=np.float32) + 0.5) * np.float32(h / H) - 0.5
    xs = (np.arange(W, dtype=np.float32) + 0.5) * np.float32(w / W) - 0.5
    y0, x0 = np.floor(ys).astype(np.int32), np.floor(xs).astype(np.int32)
    yn, xn = np.clip(np.rint(ys).astype(np.int32), 0, h - 1), np.clip(np.rint(xs).astype(np.int32), 0, w - 1)
    sel = np.flatnonzero(edge_lo.take(yn, axis=0).take(xn, axis=1))   # flat indices of the output pixels to weigh
    if sel.size == 0:
        return out
    sel_y, sel_x = np.divmod(sel, W)
    # 1-D gathers (ndarray.take) on channel planes: about half the time of 2-D fancy indexing on HxWxC arrays
    gl = cv2.resize(g, (w, h), interpolation=cv2.INTER_AREA).reshape(h * w, C)
    gl_planes = [np.ascontiguousarray(gl[:, c]) for c in range(C)]
    gs = [g.reshape(H * W, C)[:, c].take(sel) for c in range(C)]    # guide colour at each selected pixel
    low_flat = low.ravel()
    offsets = range(-(support // 2) + (1 if support % 2 == 0 else 0), support // 2 + 1)
    inv_s = np.float32(-0.5 / sigma_spatial ** 2)
    inv_r = np.float32(-0.5 / sigma_range ** 2)
    # the spatial Gaussian is separable: per tap row (column), the flat row offset (column) and its weight
    rows = [((np.clip(y0 + d, 0, h - 1) * w).take(sel_y), np.exp((ys - (y0 + d)) ** 2 * inv_s).take(sel_y))
            for d in offsets]
    cols = [(np.clip(x0 + d, 0, w - 1).take(sel_x), np.exp((xs - (x0 + d)) ** 2 * inv_s).take(sel_x))
            for d in offsets]
    num = np.zeros(sel.size, np.float32)
    den = np.zeros(sel.size, np.float32)
    for row, wy in rows:
        for col, wx in cols:
            tap = row + col
            dist = np.square(gs[0] - gl_planes[0].take(tap))
            for c in range(1, C):
                dist += np.square(gs[c] - gl_planes[c].take(tap))
            wgt = np.exp(dist * inv_r)
            wgt *= wy * wx
            wgt += np.float32(1e-20)
            num += wgt * low_flat.take(tap)
            den += wgt
    out.ravel()[sel] = num / den
    return out


def bilinear_upsample(low: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    return cv2.resize(np.asarray(low, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


# ---- frame selection and naming ------------------------------------------------------------------------
def parse_frames(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(-?\d+)\s*(?:-|:|\.\.)\s*(-?\d+)\s*", text) or re.fullmatch(r"\s*(-?\d+)\s*", text)
    if not m:
        raise DepthError(f"--frames {text!r}: give a range like 1-48 (first and last frame, inclusive)")
    a = int(m.group(1))
    b = int(m.group(2)) if m.lastindex and m.lastindex >= 2 else a
    if b < a:
        raise DepthError(f"--frames {text}: the last frame {b} is before the first {a}")
    return a, b


def select_frames(numbers: list[int], frames: tuple[int, int] | None, label: str) -> list[int]:
    if frames is None:
        return list(numbers)
    a, b = frames
    have = set(numbers)
    missing = [n for n in range(a, b + 1) if n not in have]
    if missing:
        raise DepthError(f"{label}: --frames {a}-{b} asks for frame {missing[0]} but the input has frames "
                         f"{numbers[0]}-{numbers[-1]}; pick a range inside it")
    return list(range(a, b + 1))


def _safe_name(text: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", text).strip("_")
    return name or "shot"


def _default_name(src: FrameSource) -> str:
    if isinstance(src, ShotSource):  # the colour sequence's name: layers/walk.####.exr -> walk
        return _safe_name(Path(src.shot.sequences[src.sequence].pattern).name.split(".")[0] or src.shot.name)
    p = Path(src.label)
    if "#" in p.name or "%" in p.name:
        return _safe_name(re.split(r"[#%]", p.name)[0].rstrip("._-")) or _safe_name(p.parent.name)
    return _safe_name(p.stem if p.is_file() else p.name)


def _slice_camera(cam: CameraTrack | None, shot: Shot, numbers: list[int]) -> CameraTrack | None:
    if cam is None:
        return None
    idx = [n - shot.frame_start for n in numbers]
    def pick(v):
        return [v[i] for i in idx] if isinstance(v, list) else v
    return CameraTrack(matrices=pick(cam.matrices), lens_mm=pick(cam.lens_mm), sensor_mm=cam.sensor_mm,
                       sensor_fit=cam.sensor_fit, clip_start=cam.clip_start, clip_end=cam.clip_end,
                       focus_distance=pick(cam.focus_distance) if cam.focus_distance else None, fstop=cam.fstop)


# ---- model ---------------------------------------------------------------------------------------------
SMALL_MODEL_BYTES = 4_000_000


def default_threads(path) -> int:
    """Inference threads when the user gives none.  A small network (tinydepth, ~1 MB) is I/O-bound: leave
    half the cores to decoding, upsampling and EXR writing (measured on 2 cores: ~25 % faster).  A real
    depth network (MiDaS, Depth Anything: tens of MB, tens of ms per frame) is compute-bound: all cores
    (measured on 2 cores with a 6 MB, ~40 ms network: 16.9 vs 12.7 frames/s)."""
    cores = os.cpu_count() or 2
    try:
        small = os.path.getsize(path) < SMALL_MODEL_BYTES
    except OSError:
        small = False
    return max(1, cores // 2) if small else cores


def load_model(model: Any, device: str = "auto", threads: int | None = None):
    """A ModelSession for `model`: a name or path (resolved as a depth model) or an already open session."""
    if hasattr(model, "session") and hasattr(model, "entry"):
        return model
    from dreamrooms.models import resolve
    from dreamrooms.sessions import open_session

    entry = resolve(str(model), kind="depth")
    if threads is None:
        threads = default_threads(entry.path)
    return open_session(entry, device=device, threads=threads)


def model_sha256(entry) -> str:
    sha = getattr(entry, "sha256", "") or ""
    if not sha and getattr(entry, "path", None) and Path(entry.path).is_file():
        from dreamrooms.models import sha256_file

        sha = sha256_file(entry.path)
    return sha


def _io_names(ms) -> tuple[str, str]:
    iname = getattr(ms, "input_name", "") or ms.entry.input.get("name") or ms.session.get_inputs()[0].name
    oname = getattr(ms, "output_name", "") or ms.entry.output.get("name") or ms.session.get_outputs()[0].name
    return iname, oname


def _fixed_batch(ms, iname: str) -> int | None:
    for i in ms.session.get_inputs():
        if i.name == iname and i.shape and isinstance(i.shape[0], int):
            return int(i.shape[0])
    return None


# ---- the stage -------------------------------------------------------------------------------------------
@dataclass
class DepthResult:
    shot: Shot
    processed: list[int]
    skipped: int
    net_size: tuple[int, int]
    registered: bool
    provider: str = ""
    stats: dict = field(default_factory=dict)


@dataclass
class _Item:
    frame: Frame
    tensor: np.ndarray
    guide_small: np.ndarray | None
    extra: dict | None = None     # other layers of an existing layered file (kept on rewrite)
    flow: np.ndarray | None = None  # motion from the previous frame (computed on the reader thread)


_STOP = object()
# the stabiliser state (a few MB) is saved with every STATE_EVERY-th frame once all frames before it are on
# disk: saving it with every frame cost 5-7 % of the run; a killed run redoes at most this many more frames
STATE_EVERY = 4


def _frame_complete(layers_path: Path, depth_path: Path, preview_path: Path | None, fingerprint: str) -> bool:
    if not exr.is_complete(layers_path, ("depth.Z",)) or not exr.is_complete(depth_path, ("Y",)):
        return False
    if preview_path is not None and not preview_path.is_file():
        return False
    return _read_fingerprint(depth_path) == fingerprint


def _read_fingerprint(path: Path) -> str | None:
    import OpenEXR

    try:
        with OpenEXR.File(str(path), header_only=True) as f:
            v = f.parts[0].header.get(DEPTH_ATTR)
    except Exception:
        return None
    if isinstance(v, bytes):
        v = v.decode("utf-8", "replace")
    return v if isinstance(v, str) else None


def _clean_stale_temps(paths: Iterable[Path]) -> None:
    """Remove temp files a killed run left next to our frames (`.NAME.####.exr.PID.tmp`)."""
    seen = set()
    for p in paths:
        key = (p.parent, p.name.split(".")[0])
        if key in seen or not p.parent.is_dir():
            continue
        seen.add(key)
        for t in p.parent.glob(f".{key[1]}.*.tmp"):
            with contextlib.suppress(OSError):
                t.unlink()


def estimate_sequence(source: str | os.PathLike | FrameSource, model: Any, out: str | os.PathLike, *,
                      stabilize: str = "keyframe", size: int | None = None, batch: int = 2,
                      device: str = "auto", frames: tuple[int, int] | str | None = None, preview: bool = False,
                      near: float = 1.0, far: float = 10.0, threads: int | None = None, overwrite: bool = False,
                      compression: str = "zip", fps: float | None = None, name: str | None = None,
                      workers: int | None = None, argv: list[str] | None = None,
                      on_frame: Callable[[int], None] | None = None) -> DepthResult:
    """Estimate depth for every frame of `source` into the shot folder `out` (see module doc)."""
    if stabilize not in stab.MODES:
        raise DepthError(f"--stabilize {stabilize!r}; use one of {', '.join(stab.MODES)}")
    if not (0 < near < far):
        raise DepthError(f"--near {near} --far {far}: need 0 < near < far")
    if batch < 1:
        raise DepthError(f"--batch {batch}: must be at least 1")
    if size is not None and size < 8:
        raise DepthError(f"--size {size}: too small; give the model's short-side target in pixels (e.g. 256)")
    if isinstance(frames, str):
        frames = parse_frames(frames)
    out = Path(out)
    src = source if isinstance(source, FrameSource) else open_source(source, fps=fps)
    numbers = select_frames(src.numbers, frames, src.label)
    ms = load_model(model, device=device, threads=threads)
    entry = ms.entry
    iname, oname = _io_names(ms)
    fixed_batch = _fixed_batch(ms, iname)
    if fixed_batch is not None:
        batch = fixed_batch
    metric = entry.output.get("semantics") == "depth_metric"
    net_hw = network_size(entry.input, src.height, src.width, size)
    sha = model_sha256(entry)

    # ---- the output shot ---------------------------------------------------------------------------------
    existed_root = out.exists()
    manifest = out / "shot.json"
    inplace_key: str | None = None
    if manifest.is_file():
        shot = Shot.load(out, check_files=False)
        if (shot.width, shot.height) != (src.width, src.height):
            raise DepthError(f"{manifest}: shot is {shot.width}x{shot.height} but {src.label} is "
                             f"{src.width}x{src.height}; pick another --out")
        outside = [n for n in numbers if n not in shot.frames]
        if outside:
            raise DepthError(f"{manifest}: frame {outside[0]} is outside the shot's frames "
                             f"{shot.frame_start}-{shot.frame_end}; pass --frames inside that range or another --out")
        try:
            ckey = colour_sequence(shot)
        except SourceError:
            ckey = None
        own_name = None
        if ckey and shot.sequences[ckey].pattern.startswith("layers/"):
            same = isinstance(src, ShotSource) and src.shot.folder.resolve() == out.resolve()
            this_name = _safe_name(name or _default_name(src))
            if (not same and ckey == "layers" and "depth" in shot.sequences
                    and shot.sequences[ckey].pattern == f"layers/{this_name}.####.exr"):
                # the shot an earlier run of this command made: rerunning resumes it (the settings are checked
                # per frame below), so a finished run is a no-op instead of an error
                own_name = this_name
            elif not same:
                raise DepthError(f"{out}: this shot already has colour frames ({shot.sequences[ckey].pattern}); "
                                 f"to add depth to them run `dreamrooms depth {out} --out {out}`, or pick a new --out")
            else:
                inplace_key = ckey
        shot_name = own_name or _safe_name(name or (Path(shot.sequences[inplace_key].pattern).name.split(".")[0]
                                                    if inplace_key else shot.name))
    else:
        shot_name = _safe_name(name or _default_name(src))
        shot = Shot(fps=float(src.fps or fps or 24.0), width=src.width, height=src.height,
                    frame_start=numbers[0], frame_end=numbers[-1], name=shot_name)
        if isinstance(src, ShotSource):
            shot.fps, shot.pixel_aspect, shot.name = src.shot.fps, src.shot.pixel_aspect, src.shot.name
            shot.camera = _slice_camera(src.shot.camera, src.shot, numbers)
            shot.provenance.models = [dict(m) for m in src.shot.provenance.models]
            shot.provenance.seeds = list(src.shot.provenance.seeds)
            shot.provenance.commands = list(src.shot.provenance.commands)
    shot.folder = out
    layers_key = inplace_key or "layers"
    layers_pattern = shot.sequences[inplace_key].pattern if inplace_key else f"layers/{shot_name}.####.exr"
    depth_pattern = shot.sequences["depth"].pattern if "depth" in shot.sequences else f"depth/{shot_name}.####.exr"
    preview_pattern = f"preview/{shot_name}_depth.####.png"
    layers_offset = shot.sequences[inplace_key].frame_offset if inplace_key else 0

    def layers_path(n: int) -> Path:
        return out / frame_file(layers_pattern, n + layers_offset)

    def depth_path(n: int) -> Path:
        return out / frame_file(depth_pattern, n)

    def preview_path(n: int) -> Path:
        return out / frame_file(preview_pattern, n)

    settings = {"model": entry.name, "sha256": sha, "stabilize": stabilize, "near": near, "far": far,
                "network_size": list(net_hw), "semantics": entry.output.get("semantics", "inverse_relative"),
                "source": _source_id(src, out, inplace_key)}
    fingerprint = json.dumps(settings, sort_keys=True)

    # ---- resume: the first frame that is not whole (frames after it are redone: they were in flight) --------
    start = 0
    if not overwrite:
        while start < len(numbers):
            n = numbers[start]
            if not _frame_complete(layers_path(n), depth_path(n), preview_path(n) if preview else None, fingerprint):
                other = _read_fingerprint(depth_path(n)) if depth_path(n).is_file() else None
                if other is not None and other != fingerprint and exr.is_complete(depth_path(n), ("Y",)):
                    was = _settings_of(other)
                    if was.get("source") != settings["source"]:
                        raise DepthError(f"{depth_path(n)}: made from other footage ({was.get('source', 'unknown')}, "
                                         f"not {settings['source']}); pass --overwrite to replace it, or pick "
                                         f"another --out")
                    raise DepthError(f"{depth_path(n)}: written with other depth settings ({_diff(was, settings)}); "
                                     f"pass --overwrite to recompute, or use the same settings to resume")
                break
            start += 1
    todo = numbers[start:]
    skipped = start

    stabilizer = stab.Stabilizer(stabilize, near, far, metric=metric)
    state_path = depth_path(numbers[0]).parent / f".{shot_name}.depth-state.npz"
    _clean_stale_temps([layers_path(numbers[0]), depth_path(numbers[0]), preview_path(numbers[0])])
    for t in state_path.parent.glob(f".{state_path.name}.*.tmp") if state_path.parent.is_dir() else []:
        with contextlib.suppress(OSError):
            t.unlink()
    if todo and start > 0 and stabilize != "off":
        state = _load_state(state_path, fingerprint)
        if state is not None and state[0] in numbers[:start]:
            # exact resume: continue from the stabiliser state saved with the last contiguous frame
            # (frames after it are redone even if whole, so the result equals an uninterrupted run)
            start = numbers.index(state[0]) + 1
            todo, skipped = numbers[start:], start
            stabilizer.set_state(state[1])
        else:  # no saved state: continue from the last frame on disk (close to, not bit-identical with, a clean run)
            import cv2

            prev = numbers[start - 1]
            d = exr.read_frame(depth_path(prev), ["Y"])["Y"]
            d_small = cv2.resize(d, (net_hw[1], net_hw[0]), interpolation=cv2.INTER_AREA)
            seed_frame = next(iter(src.frames([prev])))
            _, small = preprocess(seed_frame.srgb, net_hw, entry.input)
            stabilizer.seed(stab.to_inverse(d_small), stab.grey_guide(small))

    created: list[Path] = []
    created_lock = threading.Lock()
    made_dirs = [p for p in (out, out / "layers", out / "depth", out / "preview", layers_path(numbers[0]).parent,
                             depth_path(numbers[0]).parent) if not p.exists()]
    stats = {"frames": 0}
    if todo:
        _run(src, ms, iname, oname, todo, net_hw, batch, stabilizer, entry.input, compression, workers,
             inplace=inplace_key is not None, layers_path=layers_path, depth_path=depth_path,
             preview_path=preview_path if preview else None, near=near, far=far, fingerprint=fingerprint,
             created=created, created_lock=created_lock, made_dirs=made_dirs, on_frame=on_frame,
             metric=metric, stats=stats, shot=shot, inplace_source=(src.shot if inplace_key else None),
             inplace_key=inplace_key, state_path=state_path if stabilize != "off" else None)
    with contextlib.suppress(OSError):
        state_path.unlink()   # only needed while a run is unfinished

    # ---- register the sequences once every frame of the shot is on disk ---------------------------------
    all_there = all(layers_path(n).is_file() and depth_path(n).is_file() for n in shot.frames)
    if all_there and (todo or "depth" not in shot.sequences):   # a rerun with nothing to do changes nothing
        if inplace_key:
            chans = list(shot.sequences[inplace_key].channels)
            if "depth.Z" not in chans:
                chans.append("depth.Z")
            shot.sequences[inplace_key].channels = chans
        else:
            shot.add_sequence("layers", layers_pattern, ["R", "G", "B", "A", "depth.Z"], "linear", True)
        meta = dict(semantics=("depth_metric" if metric else "depth"), near=near, far=far,
                    convention="distance along the camera axis, larger is farther")
        if preview and all(preview_path(n).is_file() for n in shot.frames):
            # PNGs are not EXR sequences (stages read every sequence as EXR): named in the depth pass's meta
            meta["preview"] = preview_pattern
            meta["preview_mapping"] = "16-bit grey, white = near, linear in inverse depth from 1/far to 1/near"
        shot.add_sequence("depth", depth_pattern, ["Y"], colorspace="data", premultiplied=False, **meta)
        shot.provenance.add_model(entry.name, sha, stage="depth", stabilize=stabilize, near=near, far=far,
                                  network_size=list(net_hw), batch=batch, semantics=settings["semantics"],
                                  provider=getattr(ms, "provider", ""))
        shot.provenance.add_command(argv)
        shot.save(out)
    return DepthResult(shot, todo, skipped, net_hw, all_there, getattr(ms, "provider", ""), stats)


def _load_state(path: Path, fingerprint: str) -> tuple[int, dict] | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["fingerprint"]) != fingerprint:
                return None
            frame = int(z["frame"])
            state = {k[6:]: z[k] for k in z.files if k.startswith("state_")}
    except (OSError, KeyError, ValueError):
        return None
    return frame, state


def _save_state(path: Path, frame: int, fingerprint: str, state: dict) -> None:
    import io

    buf = io.BytesIO()
    np.savez(buf, frame=np.asarray(frame), fingerprint=np.asarray(fingerprint),
             **{f"state_{k}": v for k, v in state.items()})
    write_bytes_atomic(path, buf.getvalue())


def _source_id(src: FrameSource, out: Path, inplace_key: str | None) -> str:
    """What the frames are made from, kept in every depth file's fingerprint so that other footage written
    into the same shot is never taken for a finished frame.  In place it names the shot's own sequence (not
    its path), so a moved shot still resumes."""
    if inplace_key:
        return f"this shot's {inplace_key} sequence"
    if isinstance(src, ShotSource):
        return f"{src.shot.folder.resolve()} ({src.sequence})"
    return str(Path(src.label).resolve())


def _settings_of(fingerprint: str) -> dict:
    try:
        got = json.loads(fingerprint)
    except ValueError:
        return {}
    return got if isinstance(got, dict) else {}


def _diff(was: dict, settings: dict) -> str:
    keys = [k for k in settings if was.get(k) != settings[k]]
    return ", ".join(f"{k} {was.get(k)} vs {settings[k]}" for k in keys) or "different"


def _run(src, ms, iname, oname, todo, net_hw, batch, stabilizer, inp, compression, workers, *, inplace,
         layers_path, depth_path, preview_path, near, far, fingerprint, created, created_lock, made_dirs,
         on_frame, metric, stats, shot, inplace_source, inplace_key, state_path=None) -> None:
    """Reader thread -> batched inference (this thread) -> stabiliser thread (frame order) -> writer threads."""
    q: "queue.Queue" = queue.Queue(maxsize=2)
    stop = threading.Event()
    want_guide = stabilizer.mode == "keyframe"

    def reader() -> None:
        try:
            items: list[_Item] = []
            if inplace:
                frames_iter = _inplace_frames(inplace_source, inplace_key, todo)
            else:
                frames_iter = ((f, None) for f in src.frames(todo))
            prev_guide = None
            for fr, extra in frames_iter:
                if stop.is_set():
                    return
                tensor, small = preprocess(fr.srgb, net_hw, inp)
                guide = stab.grey_guide(small) if want_guide else None
                flow = stab.flow_between(prev_guide, guide) if (want_guide and prev_guide is not None) else None
                prev_guide = guide
                items.append(_Item(fr, tensor, guide, extra, flow))
                if len(items) == batch:
                    q.put(items)
                    items = []
            if items:
                q.put(items)
            q.put(_STOP)
        except BaseException as exc:  # handed to the main thread
            q.put(exc)

    n_workers = workers or max(1, min(4, os.cpu_count() or 1))
    pool = ThreadPoolExecutor(n_workers, thread_name_prefix="depth-write")
    slots = threading.BoundedSemaphore(n_workers * 2)
    errors: list[BaseException] = []
    bar = progress(len(todo), "depth")
    bar_lock = threading.Lock()
    thread = threading.Thread(target=reader, name="depth-read", daemon=True)
    # stabiliser state per frame in flight; saved when every frame up to it is on disk (exact resume)
    states: dict[int, dict] = {}
    done: set[int] = set()
    order = {n: k for k, n in enumerate(todo)}
    mark = [-1]
    state_lock = threading.Lock()

    def frame_done(n: int) -> None:
        if state_path is None:
            return
        with state_lock:
            done.add(n)
            k = mark[0]
            while k + 1 < len(todo) and todo[k + 1] in done:
                k += 1
                done.discard(todo[k])
            if k == mark[0]:
                return
            mark[0] = k
            ready = [f for f in states if order[f] <= k]
            if not ready:
                return
            frame = max(ready, key=order.__getitem__)
            state = states[frame]
            for f in ready:
                del states[f]
            _save_state(state_path, frame, fingerprint, state)

    def finish(item: _Item, u_small: np.ndarray) -> None:
        try:
            fr = item.frame
            H, W = fr.srgb.shape[:2]
            u = joint_bilateral_upsample(u_small, fr.srgb) if u_small.shape != (H, W) else u_small
            depth = stab.to_depth(u, near, far) if not metric else stab.to_depth(u, 1e-6, 1e12)
            n = fr.number
            layers = dict(item.extra) if item.extra else {}
            if "RGBA" not in layers:
                layers["RGBA"] = fr.rgba
            layers["depth.Z"] = depth
            targets = [layers_path(n), depth_path(n)] + ([preview_path(n)] if preview_path else [])
            with created_lock:
                created.extend(t for t in targets if not t.exists())
            exr.write_frame(layers_path(n), layers, compression=compression)
            exr.write_frame(depth_path(n), {"Y": depth}, compression=compression,
                            attributes={DEPTH_ATTR: fingerprint})
            if preview_path:
                import cv2

                lo, hi = (1.0 / far, 1.0 / near)
                v = np.clip((1.0 / depth - lo) / (hi - lo), 0, 1) if not metric else \
                    np.clip((1.0 / depth - (1.0 / depth).min()) / max(float(np.ptp(1.0 / depth)), 1e-12), 0, 1)
                ok, buf = cv2.imencode(".png", (v * 65535 + 0.5).astype(np.uint16))
                write_bytes_atomic(preview_path(n), buf.tobytes())
            frame_done(n)
            with bar_lock:
                bar.update(1)
                stats["frames"] += 1
            if on_frame:
                on_frame(n)
        except BaseException as exc:
            errors.append(exc)
        finally:
            slots.release()

    # stabilisation is sequential (each frame aligns to the history) but need not hold up inference: it runs
    # on its own thread, in frame order, while the next batch infers (tinydepth 512x288 on 2 cores: ~34 -> ~37 fps)
    post_q: "queue.Queue" = queue.Queue(maxsize=2)

    def put_checked(target: "queue.Queue", item) -> None:
        """Put on a bounded queue without deadlocking when the consumer has died."""
        while True:
            if errors:
                raise errors[0]
            try:
                target.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def post() -> None:
        try:
            while True:
                got = post_q.get()
                if got is _STOP or stop.is_set():
                    return
                items, y = got
                for k, it in enumerate(items):
                    raw = y[k]
                    if raw.shape != tuple(net_hw):
                        import cv2

                        raw = cv2.resize(raw, (net_hw[1], net_hw[0]), interpolation=cv2.INTER_LINEAR)
                    if not np.all(np.isfinite(raw)):
                        raise DepthError(f"{it.frame.path}: the model output has NaN/inf for this frame; "
                                         f"check the model or the frame")
                    u_small = stabilizer(raw, it.guide_small, it.flow)
                    if state_path is not None and ((order[it.frame.number] + 1) % STATE_EVERY == 0
                                                   or it.frame.number == todo[-1]):
                        with state_lock:
                            states[it.frame.number] = stabilizer.get_state()
                    while not slots.acquire(timeout=0.05):
                        if errors or stop.is_set():
                            return
                    if errors:
                        slots.release()
                        return
                    pool.submit(finish, it, u_small)
        except BaseException as exc:
            errors.append(exc)

    post_thread = threading.Thread(target=post, name="depth-stabilize", daemon=True)
    ok = False
    try:
        thread.start()
        post_thread.start()
        while True:
            got = q.get()
            if got is _STOP:
                break
            if isinstance(got, BaseException):
                raise got
            if errors:
                raise errors[0]
            x = np.stack([it.tensor for it in got]) if len(got) > 1 else got[0].tensor[None]
            try:
                y = ms.session.run([oname], {iname: x})[0]
            except Exception as exc:
                raise DepthError(f"model {ms.entry.name!r} failed on frames {got[0].frame.number}-"
                                 f"{got[-1].frame.number} ({str(exc).splitlines()[0][:200]})") from None
            y = np.asarray(y, np.float32).reshape(len(got), y.shape[-2], y.shape[-1])
            put_checked(post_q, (got, y))
        put_checked(post_q, _STOP)
        post_thread.join()
        pool.shutdown(wait=True)
        if errors:
            raise errors[0]
        ok = True
    finally:
        stop.set()
        # unblock the reader and the stabiliser if they wait on a full queue or for a writer slot
        while thread.is_alive() or post_thread.is_alive():
            with contextlib.suppress(queue.Empty):
                q.get(timeout=0.05)
            with contextlib.suppress(queue.Empty):
                post_q.get_nowait()
            with contextlib.suppress(queue.Full):
                post_q.put_nowait(_STOP)
        pool.shutdown(wait=True, cancel_futures=True)
        bar.close()
        if not ok:
            exc = sys.exc_info()[1]
            if not isinstance(exc, KeyboardInterrupt):
                if state_path is not None:
                    created.append(state_path)
                _remove_created(created, made_dirs)


def _inplace_frames(shot: Shot, key: str, numbers: list[int]):
    """Frames of an existing layered sequence, with every other layer of the file kept for the rewrite."""
    from dreamrooms.sources import from_linear_rgba

    for n in numbers:
        path = shot.frame_path(key, n)
        try:
            layers = exr.read_frame(path)
        except DreamroomsError as exc:
            raise SourceError(f"frame {n}: {exc}") from None
        if "RGBA" not in layers:
            raise SourceError(f"{path}: no RGBA layer (has {', '.join(sorted(layers))}); the layers sequence needs colour")
        srgb, rgba = from_linear_rgba(layers["RGBA"])
        if srgb.shape[:2] != (shot.height, shot.width):
            raise SourceError(f"{path}: {srgb.shape[1]}x{srgb.shape[0]} but the shot is {shot.width}x{shot.height}")
        extra = {k: v for k, v in layers.items() if k != "depth.Z"}
        yield Frame(n, srgb, rgba, str(path)), extra


def _remove_created(created: list[Path], made_dirs: list[Path]) -> None:
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


# ---- CLI -------------------------------------------------------------------------------------------------
def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "depth", help="estimate depth for a shot, video, image sequence or folder into a shot folder",
        description="Estimate depth for every frame (streamed, batched, temporally stabilised) and write "
                    "layers/NAME.####.exr (RGBA + depth.Z) and depth/NAME.####.exr (Y) into --out. "
                    "depth is distance along the camera axis, larger is farther: the first frame's near end "
                    "(98th percentile) is at --near and its far end (2nd percentile) at --far. "
                    "A rerun resumes at the first missing frame.")
    p.add_argument("input", help="shot folder, video file, image-sequence pattern (frames/img.####.png) or folder of images")
    p.add_argument("--model", required=True, help="depth model name (see `dreamrooms models list`) or path to an .onnx file")
    p.add_argument("--out", required=True, type=Path, help="output shot folder (created, or an existing shot to add depth to)")
    p.add_argument("--stabilize", choices=stab.MODES, default="keyframe",
                   help="temporal stabilisation: keyframe (robust alignment + motion-aware filter, default), "
                        "ema (cheap smoothing), off (each frame on its own)")
    p.add_argument("--size", type=int, default=None, help="model input size (short side for lower_bound models); default: the manifest's target")
    p.add_argument("--batch", type=int, default=2, help="frames per inference call (default 2)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="ONNX Runtime device (default auto)")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores for real networks, half for tiny ones like tinydepth)")
    p.add_argument("--frames", default=None, help="frame range A-B (inclusive) of the input")
    p.add_argument("--preview", action="store_true", help="also write preview/NAME_depth.####.png (16-bit, white = near)")
    p.add_argument("--near", type=float, default=1.0, help="depth of the near end of the first frame (default 1)")
    p.add_argument("--far", type=float, default=10.0, help="depth of the far end of the first frame (default 10)")
    p.add_argument("--fps", type=float, default=None, help="frame rate for image inputs (default: video's, or 24)")
    p.add_argument("--name", default=None, help="name of the sequences (default: the input's name)")
    p.add_argument("--compression", choices=sorted(exr.COMPRESSIONS), default="zip", help="EXR compression (default zip)")
    p.add_argument("--overwrite", action="store_true", help="recompute frames that are already complete")
    p.set_defaults(func=_cmd)


def _cmd(args: argparse.Namespace) -> int:
    res = estimate_sequence(args.input, args.model, args.out, stabilize=args.stabilize, size=args.size,
                            batch=args.batch, device=args.device, frames=args.frames, preview=args.preview,
                            near=args.near, far=args.far, threads=args.threads, overwrite=args.overwrite,
                            compression=args.compression, fps=args.fps, name=args.name)
    shot = res.shot
    note = f", {res.skipped} already complete" if res.skipped else ""
    print(f"depth: {len(res.processed)} frame(s) written{note}; model input {res.net_size[1]}x{res.net_size[0]} "
          f"on {res.provider or 'CPU'}; shot {args.out}")
    if not res.registered:
        print(f"depth: not every frame of the shot ({shot.frame_start}-{shot.frame_end}) has depth yet; "
              f"run again without --frames to finish before stages can use it")
    return 0
