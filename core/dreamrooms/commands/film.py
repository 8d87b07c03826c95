"""`dreamrooms film`: a screenplay (Fountain) -> a shot folder per scene -> the assembled rough cut."""
from __future__ import annotations

import argparse
from pathlib import Path

from dreamrooms.shot.paths import path_arg


def _size(text: str) -> tuple[int, int]:
    from dreamrooms.commands.walk import _size as walk_size

    return walk_size(text)


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "film", help="a screenplay (Fountain) -> a shot per scene -> AE project, Blender edit, animatic",
        description="Make a film from a Fountain screenplay: FILM/shots.toml (generated on the first run, yours to "
                    "edit) gives each scene a recipe; each scene becomes FILM/shots/<id>_<slug>/ by the stages; then "
                    "the cut is assembled: FILM/edit.json, film.srt, animatic.mp4, film.blend (Blender's "
                    "sequencer) and film.jsx (After Effects). Reruns make only what is missing or changed. "
                    "`dreamrooms film info FILM` lists what a film folder holds.")
    p.add_argument("script", nargs="+", metavar="SCRIPT", help="the .fountain screenplay (or: info FILM)")
    p.add_argument("--out", type=path_arg, help="film folder (created)")
    p.add_argument("--size", type=_size, default=None, help="WIDTHxHEIGHT of every shot (default 320x180 or the list's)")
    p.add_argument("--fps", type=float, default=None, help="frames per second (default 24 or the list's)")
    p.add_argument("--render", action=argparse.BooleanOptionalAction, default=False,
                   help="render every shot in Blender (default: no; the animatic cuts the shots' own frames)")
    p.add_argument("--animatic", action=argparse.BooleanOptionalAction, default=True, help="write animatic.mp4")
    p.add_argument("--blend", action=argparse.BooleanOptionalAction, default=True, help="write film.blend")
    p.add_argument("--ray", nargs="?", const="auto", default=None, metavar="ADDRESS",
                   help="make the shots as tasks on a Ray cluster (the head's HOST:PORT, or no value for $RAY_ADDRESS "
                        "else a Ray on this machine); the film folder must be on storage every node mounts")
    p.set_defaults(func=run)


def cli_runner(argv: list[str]) -> int:
    """A stage run as `dreamrooms ARGV` in this process (exit code; argparse's refusals included)."""
    from dreamrooms.commands.main import main

    try:
        return main(argv)
    except SystemExit as exc:  # argparse: a recipe value the stage refuses
        return int(exc.code or 2)


def run(args: argparse.Namespace) -> int:
    from dreamrooms.film.run import FilmOptions, make_film
    from dreamrooms.film.shotlist import FilmError

    if args.script[0] == "info" and len(args.script) == 2:
        from dreamrooms.film.info import print_info

        return print_info(Path(args.script[1]))
    if len(args.script) != 1:
        raise FilmError("give one screenplay: `dreamrooms film SCRIPT.fountain --out FILM` (or `film info FILM`)")
    if args.out is None:
        raise FilmError("--out FILM is required: the film folder to write")
    if args.fps is not None and not (1 <= args.fps <= 99):
        raise FilmError(f"--fps {args.fps}: use 1..99 (After Effects' range)")
    address = None
    if args.ray is not None:
        from dreamrooms.cluster.plan import resolve_address

        address = resolve_address(args.ray)
    from dreamrooms.commands.room import headless_script

    edit = make_film(FilmOptions(Path(args.script[0]), Path(args.out), args.size, args.fps, args.render,
                                 args.animatic, args.blend, ray=address), run=cli_runner,
                     headless=headless_script() if args.blend else None)
    print(f"film {args.out}: {len(edit.shots)} shots, {edit.frames} frames ({edit.frames / edit.fps:.1f} s)")
    return 0
