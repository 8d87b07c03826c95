"""The `dreamrooms` command line: one module per command, each with `register(subparsers)`; nothing else parses
arguments.

COMMANDS is the one registry, in the order `dreamrooms --help` lists them (the workflow's order): a new command is
one module here plus one line below.  Each line names the word the user types, the module that registers its
parser, and the line `--help` shows.  `dreamrooms --help` reads only this list, and a run imports only the module
of the command it runs, so the command line starts at once (tests/core/test_cli_startup.py checks the help line
agrees with the one the module registers, and what `--help` imports).
"""
from __future__ import annotations

from typing import NamedTuple


class Command(NamedTuple):
    word: str    # what the user types: `dreamrooms WORD ...`
    module: str  # dreamrooms.commands.MODULE registers the parser (one module may register several words)
    help: str    # the line `dreamrooms --help` shows (the same as the module's add_parser help)


COMMANDS: list[Command] = [
    Command("train", "train", "train a generator on your own images (needs torch); `train export` writes its ONNX"),
    Command("walk", "walk", "render a latent walk through a generator into a shot (layers/walk.####.exr)"),
    Command("depth", "depth", "estimate depth for a shot, video, image sequence or folder into a shot folder"),
    Command("mask", "mask", "foreground mattes from depth (built in) or a segmentation model, into a shot"),
    Command("layers", "layers", "split a shot into depth layers (colour + alpha + depth), hidden parts filled"),
    Command("room", "room", "build a displaced plane/room/corridor in Blender, move the camera, render EXR"),
    Command("reveal", "reveal", "predict what a room camera move reveals, per frame (no Blender)"),
    Command("ae", "ae", "After Effects export: AE-ready sequences, comp.json and shot.jsx"),
    Command("preview", "preview", "contact sheet PNG and MP4s of a shot's sequences"),
    Command("write", "write", "write a screenplay (Fountain) with a causal language model (GPT-2 family, ONNX)"),
    Command("film", "film", "a screenplay (Fountain) -> a shot per scene -> AE project, Blender edit, animatic"),
    Command("models", "models", "list, fetch and add ONNX models (depth, generators)"),
    Command("shot", "info", "inspect a shot folder"),
    Command("exr", "info", "inspect EXR files"),
]
