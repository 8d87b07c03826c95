"""`dreamrooms room SHOT ...`: build a displaced plane, room or corridor in Blender, move the camera,
optionally render the multilayer EXR into the shot.

The work happens in Blender (`blender_addon/headless.py`); this command runs that entry with the
current interpreter when the `bpy` module is importable, and otherwise says how to run it inside
Blender.  The options are dreamrooms.room_options's one list, shared with the headless entry and the panel.
Everything that can be checked without Blender is checked here first (options, shot.json, frame sizes, depth
that is all NaN), the shot path goes to Blender absolute (a relative one broke its image paths), and the worker
dies with this process (dreamrooms.worker).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from pathlib import Path

import numpy as np

from dreamrooms.cluster import plan as cluster
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot, exr
from dreamrooms.shot.hold import move_frames
from dreamrooms.shot.manifest import command_line
from dreamrooms.shot.roles import depth_sequence
from dreamrooms.worker import GPU_PROBE_NOISE, spawn
from dreamrooms.reveal import LAYOUTS as REVEAL_LAYOUTS
from dreamrooms.room_options import add_arguments, validate

HEADLESS_ENV = "DREAMROOMS_ADDON"


def headless_script() -> Path:
    """blender_addon/headless.py next to the core source (or $DREAMROOMS_ADDON)."""
    env = os.environ.get(HEADLESS_ENV)
    candidates = [Path(env) / "headless.py"] if env else []
    candidates.append(Path(__file__).resolve().parents[3] / "blender_addon" / "headless.py")
    for c in candidates:
        if c.is_file():
            return c
    raise DreamroomsError(f"blender_addon/headless.py not found (looked at {', '.join(map(str, candidates))}); "
                          f"set {HEADLESS_ENV} to the add-on folder")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("room", help="build a displaced plane/room/corridor in Blender, move the camera, render EXR",
                              description=__doc__.split("\n\n")[0])
    add_arguments(p)
    cluster.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("bpy") is None:
        raise DreamroomsError(
            "`dreamrooms room` needs Blender: the bpy module is not importable here "
            "(pip install bpy==5.0.1 on Python 3.11), or run it inside Blender: "
            f"blender -b -P blender_addon/headless.py -- room {args.shot} ...")
    validate(vars(args))
    if args.reveal_budget and args.layout not in REVEAL_LAYOUTS:
        raise DreamroomsError(f"--reveal-budget: the prediction models the {' and '.join(REVEAL_LAYOUTS)} layouts, "
                              f"not {args.layout!r}; leave the budget out or use --layout plane")
    preflight(args.shot, args.frames, args.depth)
    address = cluster.cluster_address(args)
    if address is not None and args.render and args.no_save:
        raise DreamroomsError("--ray renders the saved room on every node; leave out --no-save")
    script = headless_script()
    args.shot = Path(args.shot).absolute()
    if args.save is not None:
        args.save = Path(args.save).absolute()
    payload = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
               if k not in ("func", "command", "progress", "ray", "chunk") and not callable(v)}
    payload["command_line"] = command_line()   # recorded in shot.json by the worker, as every stage records its own
    if address is not None:   # build and save here, then the frames in chunks on the cluster
        payload["render"] = False
    code = spawn([sys.executable, str(script), "room-json", json.dumps(payload)], quiet=GPU_PROBE_NOISE)
    if code or address is None or not args.render:
        return code
    from dreamrooms.cluster.stages import render_on_cluster

    shot = Shot.load(args.shot, check_files=False)
    first, last = args.frames or (shot.frame_start, shot.frame_end)
    render_on_cluster(args.shot, first, last, address=address, chunk=args.chunk,
                      blend=args.save or Path(args.shot) / "room.blend", headless=script,
                      device=getattr(args, "device", None) or "auto", backend=getattr(args, "compute_backend", None))
    return 0


def preflight(folder: Path, frames: tuple[int, int] | None, depth: str | None) -> None:
    """What Blender would trip over later, as one line now: shot.json (limits, paths), frames of another size,
    a range outside a clip (a still takes any: it is held), and a depth sequence with no finite value (Blender
    would report it as 'nothing in front of the camera')."""
    shot = Shot.load(folder)
    shot.check_frame_sizes()
    span = move_frames(shot, frames)
    key, channel = depth_sequence(shot, depth, prefer="depth")
    ends = (span.start, span[len(span) // 2], span.stop - 1)
    for f in sorted({min(max(f, shot.frame_start), shot.frame_end) for f in ends}):   # a held still: its frame
        path = shot.frame_path(key, f)
        d = exr.read_frame(path, [channel])[channel]
        if not np.isfinite(d).any():
            raise DreamroomsError(f"{path}: depth of frame {f} is all NaN/inf (no finite value); rerun "
                                  f"`dreamrooms depth {folder} --out {folder} --overwrite` or fix that frame")
