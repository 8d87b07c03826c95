"""The `dreamrooms` command line: one module per command, each with `register(subparsers)`; nothing else parses
arguments.  COMMANDS is the order `dreamrooms --help` lists them (the workflow's order)."""

COMMANDS = ("train", "walk", "depth", "mask", "layers", "room", "reveal", "ae", "preview", "models", "info")
