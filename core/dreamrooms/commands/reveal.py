"""`dreamrooms reveal SHOT --move ...`: predict, without Blender, what each frame of a plane or layered build's
camera move reveals (picture the source view never saw), per frame; with --reveal-budget, the factor that fits.

It takes the room command's move options from the same registry (dreamrooms.room_options.OPTIONS, the names
dreamrooms.reveal.READS) and runs the same planning `dreamrooms room` runs before it builds; nothing is written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamrooms import reveal as RV
from dreamrooms.errors import DreamroomsError
from dreamrooms.room_options import add_options, validate
from dreamrooms.shot import Shot
from dreamrooms.shot.hold import hold_still, move_frames


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("reveal", help="predict what a room camera move reveals, per frame (no Blender)",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("shot", type=Path, help="shot folder with depth (run `dreamrooms depth` first)")
    add_options(p, RV.READS)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    values = validate(vars(args))
    if values["layout"] not in RV.LAYOUTS:
        raise DreamroomsError(f"--layout {values['layout']}: the prediction models the {' and '.join(RV.LAYOUTS)} "
                              f"layouts")
    shot = Shot.load(args.shot)
    frames = move_frames(shot, values["frames"])
    hold_still(shot, frames)          # in memory only: a still is held over the range, nothing is saved
    plan = RV.plan(shot, values, frames, say=lambda text: print(text))
    if values["layout"] == "layered":
        advice = RV.parallax_advice(shot, values, plan.poses)
        if advice:
            print(advice, file=sys.stderr)
    return 0
