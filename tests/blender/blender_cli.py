"""Stand-in for the `blender` binary on top of the bpy module, for the arguments farm jobs use.

    python blender_cli.py -b -y FILE.blend --factory-startup --python-exit-code 1 --python-expr CODE -P SCRIPT -- ARGS...

Arguments are handled in order, as Blender does (docs.blender.org/manual/en/latest/advanced/command_line/
arguments.html): a .blend path opens the file; `--python-expr` runs code and `-P`/`--python` runs a script
(with `__name__ == "__main__"` and the whole command line in sys.argv); after a Python exception the
process exits with the `--python-exit-code` value when it is not 0; everything after `--` is left to
the scripts. Any other argument is refused, so a job that starts passing a new one fails here first.
"""
from __future__ import annotations

import runpy
import sys
import traceback


def main(argv: list[str]) -> int:
    import bpy

    args = argv[:argv.index("--")] if "--" in argv else argv
    exit_code = 0
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-b", "--background"):
            i += 1
        elif a == "--factory-startup":
            bpy.ops.wm.read_factory_settings()
            i += 1
        elif a in ("-y", "--enable-autoexec"):
            bpy.context.preferences.filepaths.use_scripts_auto_execute = True
            i += 1
        elif a == "--python-exit-code":
            exit_code = int(args[i + 1])
            i += 2
        elif a in ("--python-expr", "-P", "--python"):
            try:
                if a == "--python-expr":
                    exec(compile(args[i + 1], "<string>", "exec"), {"__name__": "__main__"})
                else:
                    sys.argv = ["blender", *argv]
                    runpy.run_path(args[i + 1], run_name="__main__")
            except SystemExit:
                raise
            except Exception:
                traceback.print_exc()
                if exit_code:
                    return exit_code
            i += 2
        elif a.endswith(".blend") and not a.startswith("-"):
            bpy.ops.wm.open_mainfile(filepath=a)
            i += 1
        else:
            print(f"blender_cli.py: argument {a!r} is not handled by this stand-in", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
