"""`dreamrooms depth`: depth for whole sequences, streamed, batched, temporally stable, written into a shot.

    dreamrooms depth INPUT --model tinydepth --out SHOT [--stabilize keyframe|ema|off] [--size N]
                     [--batch B] [--device auto|cpu|cuda] [--frames A-B] [--preview] [--near 1 --far 10]

INPUT is a shot folder, a video file, an image-sequence pattern (`frames/img.####.png`) or a folder of images
(see :mod:`dreamrooms.shot.sources`).  Per frame the stage writes

* ``layers/NAME.####.exr``: ``R G B A`` (half, scene-linear, premultiplied) + ``depth.Z`` (float32).  When the
  output shot already has a colour sequence under ``layers/`` (a walk shot), ``depth.Z`` is added to those
  files and every other layer in them is kept;
* ``depth/NAME.####.exr``: the same depth as the single float32 channel ``Y`` (Blender's image nodes read a
  single-channel ``Y`` EXR as float in every channel but ignore ``depth.Z`` beside RGBA);
* with ``--preview``, ``preview/NAME_depth.####.png``: 16-bit grey, white = near, one mapping for the clip.

Depth convention: ``depth.Z``/``Y`` is depth along the camera axis, larger is farther, in shot units where the
first frame's 98th-percentile-nearest pixel is at ``near`` and its 2nd-percentile-farthest at ``far`` (model
inverse depth mapped linearly onto ``[1/far, 1/near]``, then inverted; see :mod:`dreamrooms.depth.stabilize`).
Metric models (``semantics = "depth_metric"``) are written in their own metres.

The streamed run itself (reader, inference, stabiliser and writer threads) is :mod:`dreamrooms.depth.stream`;
this module decides the output shot, the names, what is already done, and registers the sequences.  A rerun skips complete frames and resumes at the first
missing one; frames are registered in ``shot.json`` only after all of them are on disk.  A failed run removes
what it created (no partial output); an interrupted run keeps whole frames for the next run.
"""
from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from dreamrooms import limits
from dreamrooms.atomic import clean_stale_temps
from dreamrooms.depth import resume, runner, stabilize as stab
from dreamrooms.depth.pointmap import fov_x_to_lens_mm
from dreamrooms.depth.image import network_size, preprocess
from dreamrooms.depth.stream import StreamRun, StreamSettings, Targets, inplace_frames
from dreamrooms.depth.model import fixed_batch, io_names, load_model, model_sha256
from dreamrooms.errors import DepthError, ShotError
from dreamrooms.limits import check_number
from dreamrooms.shot import CameraTrack, Shot, exr
from dreamrooms.shot.frames import frame_file, parse_frames, select_frames, sequence_name
from dreamrooms.shot.lock import writer_lock
from dreamrooms.shot.paths import confine
from dreamrooms.shot.roles import colour_sequence
from dreamrooms.shot.segments import segment_starts
from dreamrooms.shot.sources import FrameSource, ShotSource, open_source


# ---- naming --------------------------------------------------------------------------------------------
def _default_name(src: FrameSource) -> str:
    if isinstance(src, ShotSource):  # the colour sequence's name: layers/walk.####.exr -> walk
        return sequence_name(Path(src.shot.sequences[src.sequence].pattern).name.split(".")[0] or src.shot.name)
    p = Path(src.label)
    if "#" in p.name or "%" in p.name:
        return sequence_name(re.split(r"[#%]", p.name)[0].rstrip("._-")) or sequence_name(p.parent.name)
    return sequence_name(p.stem if p.is_file() else p.name)


def _slice_camera(cam: CameraTrack | None, shot: Shot, numbers: list[int]) -> CameraTrack | None:
    if cam is None:
        return None
    idx = [n - shot.frame_start for n in numbers]
    def pick(v):
        return [v[i] for i in idx] if isinstance(v, list) else v
    return CameraTrack(matrices=pick(cam.matrices), lens_mm=pick(cam.lens_mm), sensor_mm=cam.sensor_mm,
                       sensor_fit=cam.sensor_fit, clip_start=cam.clip_start, clip_end=cam.clip_end,
                       focus_distance=pick(cam.focus_distance) if cam.focus_distance else None, fstop=cam.fstop)


def camera_from_fov(fov_x: float, frames: int, sensor_mm: float = 36.0) -> CameraTrack:
    """A still camera at the origin (Blender: looking down -Z) whose lens gives the model's horizontal field of
    view on a `sensor_mm`-wide sensor fitted horizontally: Blender and After Effects then match the footage."""
    eye = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]
    return CameraTrack(matrices=[eye] * frames, lens_mm=round(fov_x_to_lens_mm(fov_x, sensor_mm), 4),
                       sensor_mm=sensor_mm, sensor_fit="HORIZONTAL")


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


def estimate_sequence(source: str | os.PathLike | FrameSource, model: Any, out: str | os.PathLike, *,
                      stabilize: str = "keyframe", size: int | None = None, batch: int = 2,
                      device: str = "auto", frames: tuple[int, int] | str | None = None, preview: bool = False,
                      near: float = 1.0, far: float = 10.0, threads: int | None = None, overwrite: bool = False,
                      compression: str = exr.DEFAULT_COMPRESSION, fps: float | None = None, name: str | None = None,
                      workers: int | None = None, argv: list[str] | None = None,
                      on_frame: Callable[[int], None] | None = None, make_stabilizer: Callable | None = None,
                      warmup_from: int | None = None, register: bool = True,
                      trust_renames: bool = False, lock: bool = True) -> DepthResult:
    """Estimate depth for every frame of `source` into the shot folder `out` (see module doc).

    For one chunk of a clip (:mod:`dreamrooms.cluster.depth`): `make_stabilizer(mode, near, far, metric=...)`
    builds the chunk's stabiliser, frames from `warmup_from` up to the first of `frames` are stabilised but not
    written, and the chunk is redone whole unless all its frames are complete; with `register` false the
    sequences are left for the driver to register, and `trust_renames` checks finished frames by their settings
    only (see :func:`dreamrooms.depth.resume.frame_complete`).

    Every number is checked before anything is written, and one depth run at a time writes a shot (the second
    fails naming the first: `dreamrooms.shot.lock`); `lock=False` is for a cluster run's chunks, whose driver
    holds it."""
    check_number(near, "--near", low=0, low_open=True)
    check_number(far, "--far", low=0, low_open=True)
    if fps is not None:
        check_number(fps, "--fps", low=0, high=limits.MAX_FPS, low_open=True)
    check_number(batch, "--batch", low=1, high=limits.MAX_BATCH)
    if threads is not None:
        check_number(threads, "--threads", low=1, high=limits.MAX_THREADS)
    if size is not None:
        check_number(size, "--size", high=limits.MAX_SIDE)
    kw = dict(stabilize=stabilize, size=size, batch=batch, device=device, frames=frames, preview=preview, near=near,
              far=far, threads=threads, overwrite=overwrite, compression=compression, fps=fps, name=name,
              workers=workers, argv=argv, on_frame=on_frame, make_stabilizer=make_stabilizer,
              warmup_from=warmup_from, register=register, trust_renames=trust_renames)
    with writer_lock(out, "depth") if lock else contextlib.nullcontext():
        return _estimate_sequence(source, model, Path(out), **kw)


def _estimate_sequence(source, model, out: Path, *, stabilize, size, batch, device, frames, preview, near, far,
                       threads, overwrite, compression, fps, name, workers, argv, on_frame, make_stabilizer,
                       warmup_from, register, trust_renames) -> DepthResult:
    if stabilize not in stab.MODES:
        raise DepthError(f"--stabilize {stabilize!r}; use one of {', '.join(stab.MODES)}")
    if not near < far:   # each is a positive number (checked in estimate_sequence); this is their order
        raise DepthError(f"--near {near} --far {far}: need 0 < near < far")
    if size is not None and size < 8:
        raise DepthError(f"--size {size}: too small; give the model's short-side target in pixels (e.g. 256)")
    if isinstance(frames, str):
        frames = parse_frames(frames)
    out = Path(out)
    src = source if isinstance(source, FrameSource) else open_source(source, fps=fps)
    numbers = select_frames(src.numbers, frames, src.label)
    ms = load_model(model, device=device, threads=threads)
    entry = ms.entry
    iname, oname = io_names(ms)
    batch_fixed = fixed_batch(ms, iname)
    if batch_fixed is not None:
        batch = batch_fixed
    metric = runner.is_metric(entry)
    clip = runner.is_clip(entry)
    if clip:            # a clip model aligns its own windows; the --stabilize modes are for per-frame models
        stabilize = "window"
    net_hw = network_size(entry.input, src.height, src.width, size)
    sha = model_sha256(entry)

    shot, shot_name, inplace_key = _output_shot(src, out, numbers, name, fps)
    shot.folder = out
    layers_pattern = shot.sequences[inplace_key].pattern if inplace_key else f"layers/{shot_name}.####.exr"
    depth_pattern = shot.sequences["depth"].pattern if "depth" in shot.sequences else f"depth/{shot_name}.####.exr"
    preview_pattern = f"preview/{shot_name}_depth.####.png"
    layers_offset = shot.sequences[inplace_key].frame_offset if inplace_key else 0

    manifest = out / "shot.json"

    def layers_path(n: int) -> Path:
        return confine(out, frame_file(layers_pattern, n + layers_offset),
                       f"{manifest}: sequences.{inplace_key or 'layers'}.pattern")

    def depth_path(n: int) -> Path:
        return confine(out, frame_file(depth_pattern, n), f"{manifest}: sequences.depth.pattern")

    def preview_path(n: int) -> Path:
        return confine(out, frame_file(preview_pattern, n), f"{manifest}: preview")

    settings = {"model": entry.name, "sha256": sha, "stabilize": stabilize, "near": near, "far": far,
                "network_size": list(net_hw), "semantics": entry.output.get("semantics", "inverse_relative"),
                "source": resume.source_id(src, out, inplace_key)}
    src_cuts = [c for c in getattr(src, "cuts", []) if shot.frame_start < c <= shot.frame_end]
    starts = segment_starts(shot.frame_start, [*shot.cuts, *src_cuts])
    stills = bool(src_cuts) and set(src_cuts) >= set(numbers[1:])
    if stills or src.fit is not None:   # the same files read as a clip, or fitted otherwise, give other depth
        settings["segments"] = "stills" if stills else "clip"
        settings["fit"] = src.fit.describe() if src.fit is not None else None
    fingerprint = json.dumps(settings, sort_keys=True)

    # ---- resume: the first frame that is not whole (frames after it are redone: they were in flight) --------
    start = 0
    if not overwrite:
        while start < len(numbers):
            n = numbers[start]
            if not resume.frame_complete(layers_path(n), depth_path(n), preview_path(n) if preview else None,
                                         fingerprint, trust_renames):
                other = resume.read_fingerprint(depth_path(n)) if depth_path(n).is_file() else None
                if other is not None and other != fingerprint and exr.is_complete(depth_path(n), ("Y",)):
                    was = resume.settings_of(other)
                    if was.get("source") != settings["source"]:
                        raise DepthError(f"{depth_path(n)}: made from other footage ({was.get('source', 'unknown')}, "
                                         f"not {settings['source']}); pass --overwrite to replace it, or pick "
                                         f"another --out")
                    raise DepthError(f"{depth_path(n)}: written with other depth settings ({resume.settings_diff(was, settings)}); "
                                     f"pass --overwrite to recompute, or use the same settings to resume")
                break
            start += 1
    todo = numbers[start:]
    skipped = start
    chunked = make_stabilizer is not None
    if chunked and todo:   # a chunk's frames follow from its start: all of them again, never from the middle
        todo, skipped = list(numbers), 0
    warmup = select_frames(src.numbers, (warmup_from, numbers[0] - 1), src.label) \
        if chunked and todo and warmup_from is not None and warmup_from < numbers[0] else []

    if clip and chunked:
        raise DepthError(f"model {entry.name!r} is a video model (clip windows): --ray cannot split it into chunks")
    stabilizer = runner.FixedMapping(near, far) if clip else (make_stabilizer or stab.Stabilizer)(
        stabilize, near, far, metric=metric)
    clip_state = None
    state_path = depth_path(numbers[0]).parent / f".{shot_name}.depth-state.npz"
    if not chunked:   # other chunks write beside this one now; the driver's final call cleans up
        clean_stale_temps([layers_path(numbers[0]), depth_path(numbers[0]), preview_path(numbers[0])])
    for t in state_path.parent.glob(f".{state_path.name}.*.tmp") if state_path.parent.is_dir() else []:
        with contextlib.suppress(OSError):
            t.unlink()
    if todo and start > 0 and stabilize != "off" and not chunked:
        state = resume.load_state(state_path, fingerprint)
        if state is not None and state[0] in numbers[:start]:
            # exact resume: continue from the stabiliser state saved with the last contiguous frame
            # (frames after it are redone even if whole, so the result equals an uninterrupted run)
            start = numbers.index(state[0]) + 1
            todo, skipped = numbers[start:], start
            stabilizer.set_state(state[1])
            clip_state = state[1]
        elif clip:     # a clip model cannot continue without its window state: the clip is redone from the start
            start, todo, skipped = 0, numbers, 0
        else:  # no saved state: continue from the last frame on disk (close to, not bit-identical with, a clean run)
            import cv2

            prev = numbers[start - 1]
            d = exr.read_frame(depth_path(prev), ["Y"])["Y"]
            d_small = cv2.resize(d, (net_hw[1], net_hw[0]), interpolation=cv2.INTER_AREA)
            seed_frame = next(iter(src.frames([prev])))
            _, small = preprocess(seed_frame.srgb, net_hw, entry.input)
            stabilizer.seed(stab.to_inverse(d_small), stab.grey_guide(small))

    made_dirs = [p for p in (out, out / "layers", out / "depth", out / "preview", layers_path(numbers[0]).parent,
                             depth_path(numbers[0]).parent) if not p.exists()]
    stats = {"frames": 0}
    if todo:
        if inplace_key:
            def frames(todo):
                return inplace_frames(src.shot, inplace_key, todo)
        else:
            def frames(todo):
                return ((f, None) for f in src.frames(todo))
        anchors = []
        if clip:
            index = {n: k for k, n in enumerate(numbers)}
            feed = runner.ClipRunner(ms, iname, oname, len(numbers), index.__getitem__, state=clip_state)
            anchors = [numbers[i] for i in feed.plan.anchors(feed.windows.k, len(numbers))]
        else:
            feed = runner.FrameRunner(ms, iname, oname)
        StreamRun(frames, ms, feed, warmup + todo, stabilizer,
                  Targets(layers_path, depth_path, preview_path if preview else None),
                  StreamSettings(net_hw, batch, near, far, metric, fingerprint, compression, workers,
                                 state_path if stabilize != "off" and not chunked else None, on_frame,
                                 write_from=todo[0], starts=starts,
                                 detect_cuts=not (stills or clip or _generated(src))),
                  made_dirs=made_dirs, stats=stats, anchors=anchors).run()
    with contextlib.suppress(OSError):
        state_path.unlink()   # only needed while a run is unfinished

    # ---- register the sequences once every frame of the shot is on disk ---------------------------------
    all_there = all(layers_path(n).is_file() and depth_path(n).is_file() for n in shot.frames)
    if register and all_there and (todo or "depth" not in shot.sequences):   # a rerun with nothing to do changes nothing
        added = ["depth.Z"] + (["normal.X", "normal.Y", "normal.Z"] if entry.output.get("normal") else [])
        if inplace_key:
            chans = list(shot.sequences[inplace_key].channels)
            chans += [c for c in added if c not in chans]
            shot.sequences[inplace_key].channels = chans
        else:
            shot.add_sequence("layers", layers_pattern, ["R", "G", "B", "A"] + added, "linear", True)
        meta = dict(semantics=("depth_metric" if metric else "depth"), near=near, far=far,
                    convention="distance along the camera axis, larger is farther")
        if preview and all(preview_path(n).is_file() for n in shot.frames):
            # PNGs are not EXR sequences (stages read every sequence as EXR): named in the depth pass's meta
            meta["preview"] = preview_pattern
            meta["preview_mapping"] = "16-bit grey, white = near, linear in inverse depth from 1/far to 1/near"
        fovs = [resume.read_attribute(depth_path(n), resume.FOV_ATTR) for n in shot.frames]
        if all(f is not None for f in fovs):     # the model estimated the lens (MoGe-2, Depth Pro)
            stats["fov_x"] = float(np.median([float(f) for f in fovs]))
            meta["fov_x"] = round(stats["fov_x"], 4)
            if shot.camera is None:
                shot.camera = camera_from_fov(stats["fov_x"], len(shot.frames))
        shot.add_sequence("depth", depth_pattern, ["Y"], colorspace="data", premultiplied=False, **meta)
        found = [n for n in shot.frames if resume.read_attribute(depth_path(n), resume.CUT_ATTR) == "1"]
        shot.cuts = sorted({*shot.cuts, *src_cuts, *found} - {shot.frame_start})
        stats["cuts"] = shot.cuts
        shot.provenance.add_model(entry.name, sha, stage="depth", stabilize=stabilize, near=near, far=far,
                                  network_size=list(net_hw), batch=batch, semantics=settings["semantics"],
                                  provider=getattr(ms, "provider", ""),
                                  **({"fit": settings["fit"]} if settings.get("fit") else {}))
        shot.provenance.add_command(argv)
        shot.save(out)
    return DepthResult(shot, todo, skipped, net_hw, all_there, getattr(ms, "provider", ""), stats)


def _generated(src: FrameSource) -> bool:
    """A walk (a generator in its provenance): continuous by construction, so no cut is looked for in it (a short
    walk's frames differ a lot and would read as cuts)."""
    return isinstance(src, ShotSource) and any(m.get("kind") == "generator" for m in src.shot.provenance.models)


def _output_shot(src: FrameSource, out: Path, numbers: list[int], name: str | None, fps: float | None):
    """The shot depth is written into: (Shot, sequence name, key of the colour sequence that gets depth in place,
    or None).  An existing shot.json is checked against the source; else a new shot is made from the source."""
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
        except ShotError:
            ckey = None
        own_name = None
        if ckey and shot.sequences[ckey].pattern.startswith("layers/"):
            same = isinstance(src, ShotSource) and src.shot.folder.resolve() == out.resolve()
            this_name = sequence_name(name or _default_name(src))
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
        shot_name = own_name or sequence_name(name or (Path(shot.sequences[inplace_key].pattern).name.split(".")[0]
                                                    if inplace_key else shot.name))
    else:
        shot_name = sequence_name(name or _default_name(src))
        shot = Shot(fps=float(src.fps or fps or 24.0), width=src.width, height=src.height,
                    frame_start=numbers[0], frame_end=numbers[-1], name=shot_name)
        if isinstance(src, ShotSource):
            shot.fps, shot.pixel_aspect, shot.name = src.shot.fps, src.shot.pixel_aspect, src.shot.name
            shot.camera = _slice_camera(src.shot.camera, src.shot, numbers)
            shot.provenance.models = [dict(m) for m in src.shot.provenance.models]
            shot.provenance.seeds = list(src.shot.provenance.seeds)
            shot.provenance.commands = list(src.shot.provenance.commands)
    return shot, shot_name, inplace_key


def prepare_output(source: str, out: str | os.PathLike, *, frames: tuple[int, int] | str | None = None,
                   fps: float | None = None, name: str | None = None, **_ignored) -> tuple[list[int], str]:
    """Before depth runs elsewhere (a cluster): check the source and the output shot, save a new shot's
    shot.json (no sequences yet; every task checks it sees this file) and return (frame numbers, sequence name)."""
    if isinstance(frames, str):
        frames = parse_frames(frames)
    out = Path(out)
    src = open_source(source, fps=fps)
    numbers = select_frames(src.numbers, frames, src.label)
    shot, shot_name, _ = _output_shot(src, out, numbers, name, fps)
    if not (out / "shot.json").is_file():
        shot.save(out)
    return numbers, shot_name
