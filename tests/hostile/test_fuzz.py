"""Property-based fuzzing (hypothesis) of shot.json loading and of CLI arguments: whatever the input,
the CLI exits 0, 1 (one line) or 2 (usage), never with a traceback, and nothing beside the shot changes."""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

from hostile.helpers import snapshot  # noqa: E402

HOSTILE_TEXT = ["../outside/victim#.txt", "/tmp/x.####.exr", "layers/../../outside/v.####.exr", "#", "", "..",
                "a\x00b#", "C:\\x\\y.####.exr", "layers/walk.####.exr", "depth/walk.####.exr", "con.####.exr",
                "x" * 300 + "#", "take#2", 'q"uote', "\u202e#", "~/x#", "layers//walk.####.exr", "./layers/walk.####.exr"]
NUMBERS = [0, -1, 1, 2**63, -(2**63), 10**400, 1e308, -1e308, 1e-320, float("nan"), float("inf"), 0.5, 3, 100000]
HOME = os.getcwd()
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

scalars = st.one_of(st.none(), st.booleans(), st.sampled_from(NUMBERS), st.integers(-10, 10),
                    st.sampled_from(HOSTILE_TEXT), st.text(max_size=8))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=5),
                                                       st.dictionaries(st.text(max_size=6), inner, max_size=4)),
                      max_leaves=12)
KEYS = ["schema_version", "name", "fps", "resolution", "pixel_aspect", "frame_start", "frame_end", "sequences",
        "camera", "provenance", "sequences.walk", "sequences.walk.pattern", "sequences.walk.channels",
        "sequences.walk.frame_offset", "sequences.walk.meta", "sequences.depth.pattern", "sequences.depth.channels",
        "sequences.depth.frame_offset", "sequences.depth.colorspace", "sequences.walk.premultiplied",
        "provenance.models", "sequences.new", "unknown_top"]
PATH_KEYS = ["sequences.depth.pattern", "sequences.walk.pattern", "name", "sequences.depth_y.pattern"]
mutation = st.one_of(st.tuples(st.sampled_from(PATH_KEYS), st.sampled_from(HOSTILE_TEXT)),  # the dangerous ones, often
                     st.tuples(st.sampled_from(KEYS), st.one_of(values, st.just("<delete>"))))


def _apply(data: dict, key: str, value) -> None:
    *parents, last = key.split(".")
    node = data
    for p in parents:
        if not isinstance(node, dict) or not isinstance(node.get(p), dict):
            return
        node = node[p]
    if value == "<delete>":
        node.pop(last, None)
    else:
        node[last] = value


def _check(code, err: str) -> None:
    assert code in (0, 1, 2), (code, err)
    assert "Traceback" not in err
    if code == 1:
        lines = [ln for ln in err.splitlines() if ln.startswith("dreamrooms: error:")]
        assert len(lines) == 1, err


def _workspace(template: Path):
    """A temp folder holding a copy of the shot and a sentinel folder beside it (also the working directory, so a
    relative output path lands where the checks see it)."""
    root = Path(tempfile.mkdtemp(prefix="fuzz"))
    shutil.copytree(template, root / "shot")
    outside = root / "outside"
    outside.mkdir()
    for i in range(1, 4):
        (outside / f"victim{i}.txt").write_text("victim")
        (outside / f"v.{i:04d}.exr").write_text("victim")
    os.chdir(root)
    return root


@SETTINGS
@given(mutations=st.lists(mutation, min_size=1, max_size=4))
def test_fuzz_shot_json(shot_template, run_cli, mutations):
    root = _workspace(shot_template)
    try:
        shot = root / "shot"
        data = json.loads((shot / "shot.json").read_text())
        for key, value in mutations:
            _apply(data, key, value)
        (shot / "shot.json").write_text(json.dumps(data, allow_nan=True))
        before = snapshot(root / "outside")
        for argv in (("shot", "info", shot), ("depth", shot, "--model", "tinydepth", "--out", shot),
                     ("ae", shot, "--workers", "1")):
            code, _, err = run_cli(*argv)
            _check(code, err)
        assert snapshot(root / "outside") == before
        assert sorted(p.name for p in root.iterdir()) == ["outside", "shot"]
    finally:
        os.chdir(HOME)
        shutil.rmtree(root, ignore_errors=True)


ARG_VALUES = st.sampled_from(["nan", "inf", "-inf", "-1", "0", "1e308", "1e9", "-0", "", "../outside/x", "/",
                              "a b", "#", "1", "3", "16x16", "0x0", "100000x100000", "1-2", "2-1", "x", "1,2",
                              "\x00", "-5", "99999999999999999999"])
COMMAND_FLAGS = {
    "walk": ["--frames", "--fps", "--size", "--seeds", "--noise-loop", "--truncation", "--batch", "--threads",
             "--compression", "--interp", "--ease"],
    "depth": ["--fps", "--near", "--far", "--batch", "--threads", "--frames", "--size", "--name", "--stabilize",
              "--compression"],
    "ae": ["--ppu", "--blur-radius", "--depth-range", "--displace", "--comp-name", "--workers", "--ae-version",
           "--out"],
}


@settings(SETTINGS, max_examples=120)
@given(command=st.sampled_from(sorted(COMMAND_FLAGS)), data=st.data())
def test_fuzz_cli_arguments(shot_template, run_cli, command, data):
    flags = data.draw(st.lists(st.sampled_from(COMMAND_FLAGS[command]), min_size=1, max_size=3, unique=True))
    root = _workspace(shot_template)
    try:
        shot = root / "shot"
        argv = [command]
        if command == "walk":
            argv += ["--model", "cppn-walk", "--out", str(shot / "walk_out")]
            if "--frames" not in flags:
                argv += ["--frames", "2"]
            if "--size" not in flags:
                argv += ["--size", "16x16"]
        elif command == "depth":
            argv += [str(shot), "--model", "tinydepth", "--out", str(shot), "--overwrite"]
        else:
            argv += [str(shot)]
        for flag in flags:
            argv += [flag, data.draw(ARG_VALUES)]
        before = snapshot(root / "outside")
        code, _, err = run_cli(*argv)
        _check(code, err)
        assert snapshot(root / "outside") == before
        extra = {p.name for p in root.iterdir()} - {"outside", "shot"}
        assert extra <= set(argv), extra  # only an output folder the arguments asked for
    finally:
        os.chdir(HOME)
        shutil.rmtree(root, ignore_errors=True)
