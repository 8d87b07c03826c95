"""`dreamrooms room SHOT ...`: build a displaced plane, room or corridor in Blender, move the camera,
optionally render the multilayer EXR into the shot.

The work happens in Blender (`blender_addon/headless.py`); this command runs that entry with the
current interpreter when the `bpy` module is importable, and otherwise says how to run it inside
Blender.  The options are dreamrooms.room's one list, shared with the headless entry and the panel.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

from dreamrooms.errors import DreamroomsError
from dreamrooms.room import add_arguments, validate

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
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if importlib.util.find_spec("bpy") is None:
        raise DreamroomsError(
            "`dreamrooms room` needs Blender: the bpy module is not importable here "
            "(pip install bpy==5.0.1 on Python 3.11), or run it inside Blender: "
            f"blender -b -P blender_addon/headless.py -- room {args.shot} ...")
    validate(vars(args))
    script = headless_script()
    payload = {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items()
               if k not in ("func", "command", "progress") and not callable(v)}
    cmd = [sys.executable, str(script), "room-json", json.dumps(payload)]
    return subprocess.call(cmd, env=dict(os.environ))
