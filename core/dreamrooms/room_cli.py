"""`dreamrooms room SHOT ...`: build a displaced plane, room or corridor in Blender, move the camera,
optionally render the multilayer EXR into the shot.

The work happens in Blender (`blender_addon/headless.py`); this command runs that entry with the
current interpreter when the `bpy` module is importable, and otherwise says how to run it inside
Blender.  The argument list is defined here once and shared with the headless entry (no bpy here).
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

from dreamrooms.errors import DreamroomsError

LAYOUTS = ("plane", "room", "corridor")
MOVES = ("static", "dolly", "dolly_in", "dolly_out", "truck", "pan", "orbit", "crane", "walk_past", "handheld")
HEADLESS_ENV = "DREAMROOMS_ADDON"


def parse_frames(text: str) -> tuple[int, int]:
    m = re.fullmatch(r"\s*(-?\d+)\s*(?:-\s*(-?\d+)\s*)?", text)
    if not m:
        raise argparse.ArgumentTypeError(f"--frames {text!r}: write A-B, e.g. 1-48")
    first = int(m.group(1))
    last = int(m.group(2)) if m.group(2) is not None else first
    if last < first:
        raise argparse.ArgumentTypeError(f"--frames {text!r}: the last frame is before the first")
    return first, last


def parse_point(text: str) -> tuple[float, float]:
    try:
        u, v = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--focus-point {text!r}: write U,V in 0..1, e.g. 0.5,0.5") from None
    if not (0 <= u <= 1 and 0 <= v <= 1):
        raise argparse.ArgumentTypeError(f"--focus-point {text!r}: U and V must be within 0..1")
    return u, v


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("shot", type=Path, help="shot folder with a colour sequence and depth (run `dreamrooms depth` first)")
    p.add_argument("--layout", choices=LAYOUTS, default="plane", help="displaced depth plane, a room of five walls, or a corridor of rooms")
    p.add_argument("--move", choices=MOVES, default=None,
                   help="camera move preset (dolly = dolly_in; default: walk_past for a corridor, else dolly)")
    p.add_argument("--frames", type=parse_frames, default=None, metavar="A-B", help="frames to move over and render (default: the shot's range)")
    p.add_argument("--render", action="store_true", help="render SHOT/render/render.####.exr (multilayer: Combined, Depth, Mist, Normal, Vector, IndexOB)")
    p.add_argument("--intensity", type=float, default=1.0, help="move amount (metres for dolly/truck/crane; x30 deg pan, x40 deg orbit)")
    p.add_argument("--duration", type=int, default=None, help="frames the move takes (then it holds)")
    p.add_argument("--easing", choices=("linear", "ease_in", "ease_out", "ease_in_out"), default="ease_in_out")
    p.add_argument("--shake", type=float, default=0.0, help="add seeded handheld shake of this strength")
    p.add_argument("--seed", type=int, default=0, help="shake seed")
    p.add_argument("--focus-point", type=parse_point, default=(0.5, 0.5), metavar="U,V", help="image point whose depth sets focus (0.5,0.5 = centre)")
    p.add_argument("--no-focus", action="store_true", help="do not key depth of field")
    p.add_argument("--fstop", type=float, default=2.8)
    p.add_argument("--lens", type=float, default=0.0, help="lens mm (default: the shot camera's or 35)")
    p.add_argument("--colour", "--color", dest="colour", default=None, help="colour sequence name (default: the first RGB sequence)")
    p.add_argument("--depth", default=None, help="sequence holding depth.Z (default: `depth` or the first with depth.Z)")
    p.add_argument("--grid", type=int, default=0, help="vertices along the long side (plane default: one per pixel; walls: 64)")
    p.add_argument("--depth-scale", type=float, default=1.0)
    p.add_argument("--near", type=float, default=0.0, help="clamp depth below this (0: off)")
    p.add_argument("--far", type=float, default=0.0, help="clamp depth above this (0: off)")
    p.add_argument("--edge-cut", type=float, default=0.0, help="delete triangles whose depth ratio exceeds this (e.g. 1.2; 0: off)")
    p.add_argument("--fill-behind", action="store_true", help="plane: a stretched copy behind the cut edges")
    p.add_argument("--static", action="store_true", help="build the first frame only (no geometry-nodes animation)")
    p.add_argument("--rooms", type=int, default=3, help="corridor: number of rooms")
    p.add_argument("--room-width", type=float, default=4.0)
    p.add_argument("--room-length", type=float, default=5.0)
    p.add_argument("--strength", type=float, default=0.1, help="walls: relief in metres per unit of depth")
    p.add_argument("--wall-offset", type=int, default=0, help="frames between walls (one sequence, time offsets)")
    p.add_argument("--room-offset", type=int, default=0, help="frames between rooms of a corridor")
    p.add_argument("--with-plane", action="store_true", help="corridor: also a depth plane (3D photo) in a bay after the last room")
    p.add_argument("--sequences", default="", help="comma-separated colour sequences cycled over rooms/walls")
    p.add_argument("--engine", choices=("CYCLES", "BLENDER_EEVEE_NEXT", "BLENDER_EEVEE", "BLENDER_WORKBENCH"), default="CYCLES")
    p.add_argument("--samples", type=int, default=32)
    p.add_argument("--percentage", type=int, default=100, help="render resolution percentage")
    p.add_argument("--cryptomatte", action="store_true", help="add the Cryptomatte object pass")
    p.add_argument("--save", type=Path, default=None, help="save the .blend here (default: SHOT/room.blend)")
    p.add_argument("--no-save", action="store_true", help="do not save a .blend")


def headless_script() -> Path:
    """blender_addon/headless.py next to the core source (or $DREAMROOMS_ADDON)."""
    env = os.environ.get(HEADLESS_ENV)
    candidates = [Path(env) / "headless.py"] if env else []
    candidates.append(Path(__file__).resolve().parents[2] / "blender_addon" / "headless.py")
    for c in candidates:
        if c.is_file():
            return c
    raise DreamroomsError(f"blender_addon/headless.py not found (looked at {', '.join(map(str, candidates))}); "
                          f"set {HEADLESS_ENV} to the add-on folder")


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("room", help="build a displaced plane/room/corridor in Blender, move the camera, render EXR",
                              description=__doc__.split("\n\n")[0])
    add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("bpy") is None:
        raise DreamroomsError(
            "`dreamrooms room` needs Blender: the bpy module is not importable here "
            "(pip install bpy==5.0.1 on Python 3.11), or run it inside Blender: "
            f"blender -b -P blender_addon/headless.py -- room {args.shot} ...")
    script = headless_script()
    payload = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
               if k not in ("func", "command", "progress") and not callable(v)}
    cmd = [sys.executable, str(script), "room-json", json.dumps(payload)]
    return subprocess.call(cmd, env=dict(os.environ))
