"""The `dreamrooms` command: builds the parser from the command modules and runs one with the one error path.

Each module named in dreamrooms.commands.COMMANDS defines `register(subparsers)` and sets its handler as `func`
on its parser: `run(args) -> int` (`run_<sub>` for a subcommand's).  Exit codes: 0 ok, 1 failed (a
DreamroomsError, an OS failure or out-of-memory, printed as one line naming the file and the fix; `--debug` adds
the traceback), 2 bad usage.
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

from dreamrooms import __version__, progress
from dreamrooms.commands import COMMANDS

DEBUG_ENV = "DREAMROOMS_DEBUG"  # set by --debug; inherited by the Blender worker


def command_word(argv: list[str]) -> str | None:
    """The command `argv` runs (its first word that is not a global option or its value), or None."""
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--progress":
            skip = True
        elif not arg.startswith("-"):
            return arg
    return None


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser with every command registered, or, given `argv`, with only the command it runs registered by
    its module and the others listed from COMMANDS (so `--help` and a run import no other command's stage)."""
    parser = argparse.ArgumentParser(
        prog="dreamrooms",
        description="Generative-model output to 3D film material: latent walks, depth, Blender rooms, After Effects comps.",
        epilog="Every stage reads and writes a shot folder (shot.json + EXR sequences). `dreamrooms CMD --help` for details.",
    )
    parser.add_argument("--version", action="version", version=f"dreamrooms {__version__}")
    parser.add_argument("--progress", choices=progress.MODES, default=None,
                        help="progress on stderr: a bar (default), JSON lines for machine readers, or none")
    parser.add_argument("--debug", action="store_true", help="print the traceback behind an error message")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    word = None if argv is None else command_word(argv)
    wanted = [c.module for c in COMMANDS if argv is None or c.word == word]
    registered: set[str] = set()
    for cmd in COMMANDS:
        if cmd.module in wanted and cmd.module not in registered:
            importlib.import_module(f"dreamrooms.commands.{cmd.module}").register(subparsers)
            registered.add(cmd.module)
        elif cmd.module not in registered:
            subparsers.add_parser(cmd.word, help=cmd.help, add_help=False)  # listed; its module is not imported
    return parser


def main(argv: list[str] | None = None) -> int:
    from dreamrooms.worker import watch_parent

    watch_parent()  # started as a worker (Blender add-on jobs): exit with the process that started it
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if args.progress:
        progress.set_mode(args.progress)
    if args.debug:
        os.environ[DEBUG_ENV] = "1"
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return 2
    from dreamrooms.shot.manifest import set_command_line
    set_command_line(["dreamrooms", *argv])
    return run_reporting_errors(args.func, args)


def _error_line(text: str) -> None:
    if os.environ.get(DEBUG_ENV) == "1":
        traceback.print_exc()
    print("dreamrooms: error: " + str(text).replace("\r", " ").replace("\n", " "), file=sys.stderr)


def run_reporting_errors(func, *args) -> int:
    """Run a command handler: a DreamroomsError, an OS failure (disk full, read-only, a file in the way, ...) or
    out-of-memory becomes one line on stderr and exit 1; Ctrl-C exit 130; anything else is a bug and keeps its
    traceback. Shared by this CLI and the Blender headless entry."""
    from dreamrooms.errors import DreamroomsError

    try:
        return int(func(*args) or 0)
    except DreamroomsError as exc:
        _error_line(str(exc))
        return 1
    except Exception as exc:
        from dreamrooms.oserrors import describe

        line = describe(exc)  # OS failures, out-of-memory (also ONNX Runtime's and OpenCV's); None for a bug
        if line is None:
            raise
        _error_line(line)
        return 1
    except KeyboardInterrupt:
        print("dreamrooms: interrupted; whole frames written so far are kept, rerun to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
