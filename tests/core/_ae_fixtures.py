"""Shared by the `dreamrooms ae` tests: the fixture shots of tests/ae/make_shots.py and the CLI runner."""
import importlib.util
import json
from pathlib import Path

from dreamrooms.commands.main import main

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("make_shots", ROOT / "tests" / "ae" / "make_shots.py")
ms = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ms)


def run_cli(*args) -> int:
    """`dreamrooms --progress none ae ARGS...`; returns the exit status."""
    return main(["--progress", "none", "ae", *map(str, args)])


def comp_json(shot_folder: Path) -> dict:
    """The comp description `dreamrooms ae` wrote beside shot.jsx."""
    return json.loads((Path(shot_folder) / "ae" / "comp.json").read_text(encoding="ascii"))
