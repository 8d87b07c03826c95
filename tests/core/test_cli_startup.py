"""The command line starts at once: `--help` and `shot info` import only what they use (checked in a fresh
interpreter's sys.modules, not by timing; bench/cli_startup.py measures the time)."""
from __future__ import annotations

import json
import subprocess
import sys

from dreamrooms.commands import COMMANDS

HEAVY = ("numpy", "jsonschema", "OpenEXR", "tqdm", "ssl", "urllib.request", "cv2", "onnxruntime")


def _modules_after(argv: list[str]) -> tuple[int, set[str], str]:
    """Run `dreamrooms ARGV` in a fresh interpreter; (exit code, modules it imported, stdout)."""
    code = ("import io, json, sys, contextlib\n"
            "from dreamrooms.commands.main import main\n"
            "out = io.StringIO()\n"
            "try:\n"
            "    with contextlib.redirect_stdout(out):\n"
            f"        rc = main({argv!r})\n"
            "except SystemExit as exc:\n"
            "    rc = exc.code\n"
            "print(json.dumps([rc, sorted(sys.modules), out.getvalue()]))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    rc, mods, out = json.loads(proc.stdout.strip().splitlines()[-1])
    return rc, set(mods), out


def test_help_imports_no_stage_and_no_heavy_library():
    rc, mods, out = _modules_after(["--help"])
    assert rc == 0
    assert all(c.word in out for c in COMMANDS)  # every command listed, with its line
    assert "estimate depth for a shot" in out
    assert sorted(m for m in HEAVY if m in mods) == []
    assert sorted(m for m in mods if m.startswith("dreamrooms.")) == [
        "dreamrooms.commands", "dreamrooms.commands.main", "dreamrooms.progress", "dreamrooms.worker"]


def test_shot_info_imports_the_shot_and_exr_only(tmp_path):
    from dreamrooms.shot import Shot, exr
    import numpy as np

    shot = Shot(fps=24, width=8, height=4, frame_start=1, frame_end=2, name="s")
    shot.folder = tmp_path
    shot.add_sequence("layers", "layers/s.####.exr", ["R", "G", "B", "A"])
    for f in shot.frames:
        exr.write_frame(shot.frame_path("layers", f), {"RGBA": np.ones((4, 8, 4), np.float32)})
    shot.save()
    rc, mods, out = _modules_after(["--progress", "none", "shot", "info", str(tmp_path)])
    assert rc == 0 and "ok: 2 frame file(s)" in out
    assert sorted(m for m in ("tqdm", "ssl", "urllib.request", "cv2", "onnxruntime") if m in mods) == []
    assert sorted({m.split(".")[1] for m in mods if m.startswith("dreamrooms.")}) == [
        "atomic", "commands", "errors", "limits", "progress", "shot", "worker"]


def test_each_command_is_listed_with_the_line_its_module_registers():
    """COMMANDS' help lines (what `--help` shows without importing a stage) equal the modules' own."""
    from dreamrooms.commands.main import build_parser

    parser = build_parser()  # every module registered
    sub = next(a for a in parser._actions if a.dest == "command")
    registered = {a.dest: a.help for a in sub._choices_actions}
    assert registered == {c.word: c.help for c in COMMANDS}


def test_a_command_after_global_options_gets_its_own_parser(run_cli):
    code, out, err = run_cli("--progress", "none", "depth", "--help")
    assert code == 0 and "--stabilize" in out
    code, out, err = run_cli("--debug", "nonsense")
    assert code == 2 and "invalid choice: 'nonsense'" in err


def test_models_list_opens_no_network_library(mdir):
    rc, mods, out = _modules_after(["models", "list"])
    assert rc == 0 and "tinydepth" in out
    assert sorted(m for m in ("ssl", "urllib.request", "http.client") if m in mods) == []
