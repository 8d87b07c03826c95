"""The reveal of a room move on a shot: what each frame of a plane or layered build's camera move sees that the
source view never saw, before anything is built.

Here the shot meets the pure math of `dreamrooms.camera.reveal`: the source view the builds unproject (depth
sequence, camera intrinsics, start pose: the same rules as `blender_addon/scene/build.py`), the move's poses (the
same `camera_move` call the Blender camera is keyed from), the per-frame percentages, the reveal budget's factor,
the reveal matte sequence (`masks/NAME_reveal.####.exr`, kind `reveal`) and the check against the parallax the
depth layers were cut for.  `dreamrooms room` and `dreamrooms reveal` both run through here.
"""
from __future__ import annotations

import math
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import numpy as np

from dreamrooms.camera import geometry as cm
from dreamrooms.camera import reveal as rv
from dreamrooms.camera.moves import camera_move, normalise_move
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.room_options import default_move
from dreamrooms.shot import exr
from dreamrooms.shot.frames import sequence_name
from dreamrooms.shot.roles import depth_sequence

LAYOUTS = ("plane", "layered")   # builds whose picture is the source view unprojected: what the prediction models
MATTE = "reveal"                 # the matte sequence's name and meta kind (never an object matte, never depth)
# the room options the prediction reads (source_view and move_poses): `dreamrooms reveal` takes these
READS = ("frames", "layout", "depth", "depth_scale", "near", "far", "lens", "move", "intensity", "duration", "easing",
         "shake", "seed", "reveal_budget")
PLAN_SIDE = 480                  # the budget's bisection predicts at most this wide; the final check at full size


@dataclass(frozen=True)
class SourceView:
    """What the plane and layered builds unproject: a depth sequence seen by a camera at `start`."""
    K: cm.Intrinsics
    start: np.ndarray
    depth: str          # sequence
    channel: str
    scale: float = 1.0
    near: float = 0.0
    far: float = 0.0


@dataclass
class Plan:
    """A move fitted to a reveal budget: its poses (per frame of `frames`), the factor applied and the percents."""
    move: str
    frames: range
    factor: float
    poses: list[np.ndarray]
    percents: list[float] = field(default_factory=list)
    before: list[float] = field(default_factory=list)


def source_view(shot, values: Mapping[str, Any]) -> SourceView:
    """The source view of `shot` for room option `values` (lens, depth, depth_scale, near, far)."""
    cam = shot.camera
    lens = values.get("lens") or (cam.lens_at(0) if cam else 35.0)
    K = cm.intrinsics(lens, cam.sensor_mm if cam else 36.0, shot.width, shot.height,
                      cam.sensor_fit if cam else "AUTO", shot.pixel_aspect)
    start = np.asarray(cam.matrices[0], np.float64) if cam else cm.look_at((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    key, channel = depth_sequence(shot, values.get("depth"), prefer="depth")
    return SourceView(K, start, key, channel, float(values.get("depth_scale") or 1.0),
                      float(values.get("near") or 0.0), float(values.get("far") or 0.0))


def source_depth(shot, view: SourceView, frame: int) -> np.ndarray:
    """The depth the build puts at shot frame `frame` (scaled and clamped like the plane's)."""
    d = exr.read_frame(shot.frame_path(view.depth, frame), [view.channel])[view.channel]
    return cm.clamp_depth(d, view.scale, view.near, view.far)


def move_poses(shot, values: Mapping[str, Any], frames: range, start: np.ndarray, factor: float = 1.0):
    """(move name, per-frame camera matrices) the room build keys for `values` over `frames` (walk_past goes along
    +x for 4 x intensity metres, as on a plane)."""
    name = normalise_move(values.get("move") or default_move(values.get("layout") or "plane"))
    kw = {"axis": (1.0, 0.0, 0.0), "length": 4.0 * values["intensity"]} if name == "walk_past" else {}
    poses = camera_move(name, len(frames), start, intensity=values["intensity"], duration=values.get("duration") or None,
                        easing=values["easing"], shake=values["shake"], seed=values["seed"], fps=shot.fps,
                        scale=factor, **kw)
    return name, poses


def predict_frames(shot, view: SourceView, poses: Mapping[int, np.ndarray], *, side: int | None = None,
                   stop_above: float | None = None, on_frame: Callable | None = None) -> dict[int, float]:
    """Percent revealed per shot frame for the camera `poses` (frame -> matrix); with `stop_above`, stops at the
    first frame over it (frames are taken largest move first)."""
    order = sorted(poses, key=lambda f: -float(np.abs(np.asarray(poses[f]) - view.start).sum()))
    out: dict[int, float] = {}
    for f in order:
        d, K = source_depth(shot, view, f), view.K
        if side and max(K.width, K.height) > side:   # the bisection's quick look: a smaller picture
            d, K = rv.shrink_depth(d, K, side)
        r = rv.predict(d, K, view.start, poses[f])
        out[f] = r.percent
        if on_frame:
            on_frame(f, r)
        if stop_above is not None and out[f] > stop_above:
            break
    return dict(sorted(out.items()))


def plan(shot, values: Mapping[str, Any], frames: range, *, say: Callable[[str], None] | None = None) -> Plan:
    """The move for `values` over `frames`, scaled by the largest factor in (0, 1] whose worst frame reveals at
    most `values['reveal_budget']` % (no budget: factor 1); says the per-frame percentages and the factor."""
    say = say or _say
    layout = values.get("layout") or "plane"
    if layout not in LAYOUTS:
        raise DreamroomsError(f"--reveal-budget: the prediction models the {' and '.join(LAYOUTS)} layouts, not "
                              f"{layout!r}; leave the budget out or use --layout plane")
    view = source_view(shot, values)
    budget = float(values.get("reveal_budget") or 0.0)
    name, poses = move_poses(shot, values, frames, view.start)
    with progress(len(frames), "reveal") as bar:
        before = predict_frames(shot, view, dict(zip(frames, poses)), on_frame=lambda f, r: bar.update())
    result = Plan(name, frames, 1.0, poses, list(before.values()), list(before.values()))
    if not budget or max(before.values()) <= budget:
        report(result, say, budget)
        return result

    def worst(factor: float, side: int | None = PLAN_SIDE) -> float:
        _, p = move_poses(shot, values, frames, view.start, factor)
        got = predict_frames(shot, view, dict(zip(frames, p)), side=side, stop_above=budget)
        return max(got.values())

    factor = rv.fit_factor(worst, budget, iterations=10)
    for _ in range(20):       # the bisection ran smaller than the picture: confirm at full size
        if factor <= 0:
            raise DreamroomsError(f"--reveal-budget {budget:g}: even a tiny part of the {name} move reveals more; "
                                  f"raise the budget or pick a smaller move")
        _, p = move_poses(shot, values, frames, view.start, factor)
        full = predict_frames(shot, view, dict(zip(frames, p)))
        if max(full.values()) <= budget:
            break
        factor = math.floor(factor * 0.95 * 1e4) / 1e4
    result = Plan(name, frames, factor, p, list(full.values()), list(before.values()))
    report(result, say, budget)
    return result


def report(p: Plan, say: Callable[[str], None], budget: float = 0.0) -> None:
    """The per-frame percentages (and the budget's factor) as lines for the user."""
    scaled = p.factor < 1.0
    for k, f in enumerate(p.frames):
        extra = f" (unscaled {p.before[k]:.2f} %)" if scaled else ""
        say(f"reveal: frame {f}: {p.percents[k]:.2f} %{extra}")
    worst = max(p.percents)
    if scaled:
        say(f"reveal: the {p.move} move scaled by {p.factor:.4f} to fit the reveal budget of {budget:g} % "
            f"(worst frame {max(p.before):.2f} % -> {worst:.2f} %)")
    else:
        say(f"reveal: worst frame {worst:.2f} %" + (f", within the budget of {budget:g} %" if budget else ""))


def _say(text: str) -> None:
    print(f"dreamrooms: {text}", file=sys.stderr, flush=True)


def write_matte(shot, values: Mapping[str, Any], poses: Mapping[int, np.ndarray], move: str) -> list[float]:
    """Write the prediction for every shot frame's camera (`poses`: frame -> matrix) as the reveal matte
    (`masks/NAME_reveal.####.exr`, one float channel Y, 1 = revealed) and register it; returns the percents.
    Frames run on every core (the march is OpenCV and numpy), and a frame with the same depth file and pose as
    one already predicted (the holds before and after a move, a held still) reuses its matte."""
    from concurrent.futures import ThreadPoolExecutor

    from dreamrooms.shot.exr import default_workers

    view = source_view(shot, values)
    pattern = f"masks/{sequence_name(shot.name)}_{MATTE}.####.exr"
    shot.add_sequence(MATTE, pattern, ["Y"], colorspace="data", premultiplied=False, kind=MATTE, label=MATTE,
                      move=move)          # in memory: the caller saves shot.json once every frame is on disk
    seq = shot.sequences[view.depth]
    key = {f: (seq.file_number(f), np.asarray(poses[f], np.float64).round(9).tobytes()) for f in shot.frames}
    first = {}
    for f in shot.frames:
        first.setdefault(key[f], f)

    def one(f: int) -> float:
        r = rv.predict(source_depth(shot, view, f), view.K, view.start, poses[f])
        mask = r.mask.astype(np.float32)
        for g in shot.frames:
            if key[g] == key[f]:
                exr.write_frame(shot.frame_path(MATTE, g), {"Y": mask})
        return r.percent

    with progress(len(first), "reveal matte") as bar, ThreadPoolExecutor(default_workers()) as pool:
        done = {}
        for f, pct in zip(first.values(), pool.map(one, first.values())):
            done[f] = pct
            bar.update()
    return [done[first[key[f]]] for f in shot.frames]


def layer_parallax(shot) -> float | None:
    """The max parallax (px) the shot's depth layers were cut for (`dreamrooms layers --max-parallax`), if any."""
    px = [s.meta.get("max_parallax") for s in shot.sequences.values() if s.meta.get("kind") == "layer"]
    px = [float(p) for p in px if isinstance(p, (int, float))]
    return min(px) if px else None


def parallax_advice(shot, values: Mapping[str, Any], poses) -> str | None:
    """A line with the `dreamrooms layers` rerun when the move shifts seen points farther than the layers cover."""
    limit = layer_parallax(shot)
    if limit is None:
        return None
    view = source_view(shot, values)
    shift = rv.largest_shift(source_depth(shot, view, shot.frame_start), view.K, view.start, poses)
    if shift <= limit:
        return None
    return (f"the move shifts seen points by up to {shift:.0f} px, more than the {limit:g} px the depth layers were "
            f"cut for (their fills end there): rerun `dreamrooms layers {shot.folder} --max-parallax "
            f"{math.ceil(shift)}`, or scale the move down (--intensity, --reveal-budget)")
