"""`dreamrooms shot info` and `dreamrooms exr info`: look inside shots and EXR files."""
from __future__ import annotations

import argparse
from pathlib import Path

from dreamrooms.shot import exr
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import MANIFEST, Shot


def register(subparsers: argparse._SubParsersAction) -> None:
    shot = subparsers.add_parser("shot", help="inspect a shot folder")
    shot_sub = shot.add_subparsers(dest="shot_command", metavar="ACTION", required=True)
    p = shot_sub.add_parser("info", help="print the manifest summary and check every frame exists and opens")
    p.add_argument("shot", type=Path, help="shot folder (or its shot.json)")
    p.add_argument("--quick", action="store_true", help="check files exist without opening them")
    p.set_defaults(func=run_shot_info)

    ex = subparsers.add_parser("exr", help="inspect EXR files")
    ex_sub = ex.add_subparsers(dest="exr_command", metavar="ACTION", required=True)
    p = ex_sub.add_parser("info", help="channels, pixel types, compression and size of an EXR file")
    p.add_argument("files", type=Path, nargs="+", help="EXR file(s)")
    p.set_defaults(func=run_exr_info)


def run_shot_info(args: argparse.Namespace) -> int:
    shot = Shot.load(args.shot)
    print(f"shot {shot.name}  ({shot.folder / MANIFEST})")
    print(f"  {shot.width}x{shot.height} px, pixel aspect {shot.pixel_aspect:g}, {shot.fps:g} fps, "
          f"frames {shot.frame_start}-{shot.frame_end} ({shot.frame_count} frames, {shot.duration:.2f} s)")
    for name, seq in shot.sequences.items():
        print(f"  sequence {name}: {seq.pattern}  [{', '.join(seq.channels)}]  {seq.colorspace}"
              f"{', premultiplied' if seq.premultiplied else ''}")
    if shot.camera:
        c = shot.camera
        print(f"  camera: {len(c.matrices)} keys, lens {c.lens_at(0):g} mm, sensor {c.sensor_mm:g} mm ({c.sensor_fit}), "
              f"clip {c.clip_start:g}-{c.clip_end:g}")
    for m in shot.provenance.models:
        print(f"  model {m['name']} sha256 {m.get('sha256', '')[:12] or '?'}")
    checked = 0
    for name, seq in shot.sequences.items():
        needed = [c for c in seq.channels]
        for f in shot.frames:
            path = shot.frame_path(name, f)
            if not args.quick:
                try:
                    frame = exr.read_frame(path)
                except DreamroomsError as exc:
                    raise DreamroomsError(f"sequence {name} frame {f}: {exc}") from None
                have = {cn for key in frame for cn in exr.channel_names(key)}
                missing = [c for c in needed if c not in have]
                if missing:
                    raise DreamroomsError(f"{path}: sequence {name} lists channel(s) {', '.join(missing)} that the file lacks")
            checked += 1
    if not args.quick:
        shot.check_frame_sizes()
    print(f"  ok: {checked} frame file(s) {'exist' if args.quick else 'open and have their channels'}")
    return 0


def run_exr_info(args: argparse.Namespace) -> int:
    for path in args.files:
        i = exr.info(path)
        print(f"{i.path}: {i.width}x{i.height}, {i.compression}, {len(i.parts)} part(s), {i.file_size} bytes")
        for c in i.channels:
            part = f"  (part {c.part})" if c.part else ""
            print(f"  {c.name:<32} {c.type}{part}")
    return 0
