"""`dreamrooms preview SHOT [SEQUENCE...]`: look at a shot from the command line: a contact sheet PNG of its
sequences (colour, depth as an image, mattes over the picture, layers, renders) and an MP4 of each named one
(:mod:`dreamrooms.preview`).  The stages' own `--preview` flags are unchanged."""
from __future__ import annotations

import argparse
from pathlib import Path

from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot
from dreamrooms.shot.paths import path_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "preview", help="contact sheet PNG and MP4s of a shot's sequences",
        description="Write SHOT/preview/contact_sheet.png (one row per sequence, --columns frames across the shot) "
                    "and SHOT/preview/<sequence>.mp4 for each SEQUENCE named (with none named: every sequence on "
                    "the sheet, and an MP4 of the render, else of the colour).")
    p.add_argument("shot", type=Path, help="shot folder")
    p.add_argument("sequences", nargs="*", metavar="SEQUENCE", help="sequence names from shot.json (default: all)")
    p.add_argument("--columns", type=int, default=6, help="frames on the sheet, evenly over the shot (default 6)")
    p.add_argument("--width", type=int, default=200, help="thumbnail width in pixels (default 200)")
    p.add_argument("--out", type=path_arg, default=None, help="folder for the files (default SHOT/preview)")
    p.add_argument("--no-mp4", action="store_true", help="only the contact sheet")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dreamrooms import preview
    from dreamrooms.shot.roles import colour_sequence

    if not 1 <= args.columns <= 64 or not 16 <= args.width <= 2048:
        raise DreamroomsError(f"--columns {args.columns} --width {args.width}: need 1..64 columns, 16..2048 px")
    shot = Shot.load(args.shot)
    unknown = [k for k in args.sequences if k not in shot.sequences]
    if unknown:
        raise DreamroomsError(f"{args.shot}/shot.json: no sequence {unknown[0]!r} (has {', '.join(shot.sequences)})")
    keys = list(args.sequences) or list(shot.sequences)
    if not keys:
        raise DreamroomsError(f"{args.shot}/shot.json: the shot has no sequences yet; run `dreamrooms depth` first")
    out = Path(args.out) if args.out else Path(args.shot) / "preview"
    n = shot.frame_count
    frames = sorted({shot.frame_start + round(i * (n - 1) / max(1, args.columns - 1)) for i in range(args.columns)})
    sheet = preview.shot_sheet(shot, keys, frames, out / "contact_sheet.png", thumb_width=args.width)
    print(f"preview: {sheet} ({len(keys)} sequence(s) x {len(frames)} frame(s))")
    if args.no_mp4:
        return 0
    movies = list(args.sequences) or (["render"] if "render" in shot.sequences else [colour_sequence(shot)])
    for key in movies:
        print(f"preview: {preview.shot_mp4(shot, key, out / f'{key}.mp4')}")
    return 0
