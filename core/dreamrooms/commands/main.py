"""The `dreamrooms` command: builds the parser from the command modules and runs one with the one error path.

Each module named in dreamrooms.commands.COMMANDS defines `register(subparsers)` and sets `func(args) -> int`
on its parser.  Exit codes: 0 ok, 1 failed (a DreamroomsError, printed as one line), 2 bad usage.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from dreamrooms import __version__, progress
from dreamrooms.commands import COMMANDS
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import set_command_line



def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dreamrooms",
        description="Generative-model output to 3D film material: latent walks, depth, Blender rooms, After Effects comps.",
        epilog="Every stage reads and writes a shot folder (shot.json + EXR sequences). `dreamrooms CMD --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"dreamrooms {__version__}")
    parser.add_argument("--progress", choices=progress.MODES, default=None,
                        help="progress on stderr: a bar (default), JSON lines for machine readers, or none")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(f"dreamrooms.commands.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    set_command_line(["dreamrooms", *(sys.argv[1:] if argv is None else argv)])
    if args.progress:
        progress.set_mode(args.progress)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    return run_reporting_errors(args.func, args)


def run_reporting_errors(func, *args) -> int:
    """Run a command handler; a DreamroomsError becomes one line on stderr and exit 1, Ctrl-C exit 130.
    Shared by this CLI and the Blender headless entry."""
    try:
        return int(func(*args) or 0)
    except DreamroomsError as exc:
        print(f"dreamrooms: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("dreamrooms: interrupted; whole frames written so far are kept, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
