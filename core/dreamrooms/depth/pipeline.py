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

The run's life (lock, resume by the header fingerprint, registration, cleanup, cluster chunks) is the stage
spine's (:mod:`dreamrooms.stage`); :mod:`dreamrooms.depth.stage` is what depth supplies to it (the prepared run,
the stabiliser state, the record) and :mod:`dreamrooms.depth.stream` its streamed run (reader, inference,
stabiliser and writer threads); this module holds the settings, the output shot and the names.  A rerun skips
complete frames and resumes exactly (from the saved stabiliser state, else from the first frame); frames are
registered in ``shot.json`` only after all of them are on disk.  A failed run removes
what it created (no partial output); an interrupted run keeps whole frames for the next run.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from dreamrooms import limits
from dreamrooms.depth import stabilize as stab
from dreamrooms.depth.pointmap import fov_x_to_lens_mm
from dreamrooms.errors import DepthError, ShotError
from dreamrooms.limits import check_number
from dreamrooms.shot import CameraTrack, Shot, exr
from dreamrooms.shot.frames import parse_frames, select_frames, sequence_name
from dreamrooms.shot.roles import colour_sequence
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


@dataclass
class DepthSettings:
    """Everything a depth run is asked (the CLI, the headless entry, the panel and the cluster build this)."""
    source: Any                     # path, pattern, video or a FrameSource
    model: Any                      # registry name, path or an opened model
    out: str | os.PathLike
    stabilize: str = "keyframe"
    size: int | None = None
    batch: int = 2
    device: str = "auto"
    frames: tuple[int, int] | str | None = None
    preview: bool = False
    near: float = 1.0
    far: float = 10.0
    threads: int | None = None
    overwrite: bool = False
    compression: str = exr.DEFAULT_COMPRESSION
    fps: float | None = None
    name: str | None = None
    workers: int | None = None
    argv: list[str] | None = None
    on_frame: Callable[[int], None] | None = None


def check_settings(s: DepthSettings) -> None:
    """Every number and mode, before anything is opened or written (one line naming the option)."""
    check_number(s.near, "--near", low=0, low_open=True)
    check_number(s.far, "--far", low=0, low_open=True)
    if s.fps is not None:
        check_number(s.fps, "--fps", low=0, high=limits.MAX_FPS, low_open=True)
    check_number(s.batch, "--batch", low=1, high=limits.MAX_BATCH)
    if s.threads is not None:
        check_number(s.threads, "--threads", low=1, high=limits.MAX_THREADS)
    if s.size is not None:
        check_number(s.size, "--size", high=limits.MAX_SIDE)
    if s.stabilize not in stab.MODES:
        raise DepthError(f"--stabilize {s.stabilize!r}; use one of {', '.join(stab.MODES)}")
    if not s.near < s.far:   # each is a positive number (checked above); this is their order
        raise DepthError(f"--near {s.near} --far {s.far}: need 0 < near < far")
    if s.size is not None and s.size < 8:
        raise DepthError(f"--size {s.size}: too small; give the model's short-side target in pixels (e.g. 256)")


def estimate_sequence(source: str | os.PathLike | FrameSource, model: Any, out: str | os.PathLike,
                      **options) -> DepthResult:
    """Estimate depth for every frame of `source` into the shot folder `out` (see module doc); `options` are the
    fields of :class:`DepthSettings`.  Every number is checked before anything is written, and one depth run at
    a time writes a shot (the stage spine's writer lock: the second fails naming the first)."""
    from dreamrooms import stage as spine
    from dreamrooms.depth.stage import DEPTH

    s = DepthSettings(source, model, out, **options)
    check_settings(s)
    return result(spine.run(DEPTH, s))


def result(res) -> DepthResult:
    """The stage spine's result as the depth stage's."""
    d = res.job.data
    return DepthResult(res.shot or d.shot, res.plan.todo, res.plan.skipped, d.net_hw, res.shot is not None,
                       d.provider, d.stats)


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
        from dreamrooms.shot import update_shot

        update_shot(out, lambda current: current or shot)
    return numbers, shot_name
