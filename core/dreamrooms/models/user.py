"""Your own models: `dreamrooms models add` checks a file's I/O against what you describe, then writes the
user manifest (``<models dir>/models.toml``)."""
from __future__ import annotations

import shutil
import tomllib
from pathlib import Path
from typing import Any
import os

from dreamrooms.atomic import atomic_path, write_text_atomic
from dreamrooms.models.contracts import check_io
from dreamrooms.shot.paths import check_name
from dreamrooms.models.registry import (KINDS, MANIFEST_NAME, ModelEntry, ModelError, dumps_manifest, entry_from_table,
                                        infer_entry, models_dir, registry, sha256_file)


def add_model(path: str | os.PathLike, *, kind: str, name: str | None = None, copy: bool = False,
              models_dir_override=None, input: dict | None = None, output: dict | None = None,
              generator: dict | None = None, license: str = "", force: bool = False) -> ModelEntry:
    """Register a user's ONNX file in the user manifest after checking its I/O against the
    description. Nothing is written when the check fails."""
    src = Path(path).expanduser().resolve()
    if not src.is_file():
        raise ModelError(f"{src}: no such file; give the path to your .onnx model")
    if kind not in KINDS:
        raise ModelError(f"--kind {kind!r}; use one of {', '.join(KINDS)}")
    name = check_name(name if name is not None else src.stem,
                      "--name" if name is not None else f"model name (from the file name {src.name}; pick one with --name)")
    mdir = models_dir(models_dir_override)
    reg = registry(models_dir_override)
    if name in reg and reg[name].builtin:
        raise ModelError(f"{name!r} is a built-in model name; pick another with --name")
    uman = mdir / MANIFEST_NAME
    existing = {}
    if uman.exists():
        try:
            existing = tomllib.loads(uman.read_text(encoding="utf-8")).get("models", {})
        except tomllib.TOMLDecodeError as exc:
            raise ModelError(f"{uman}: not valid TOML ({exc}); fix the file or delete it") from None
    if name in existing and not force:
        raise ModelError(f"{uman}: model {name!r} already exists; use --force to replace it or --name to pick another")
    table: dict[str, Any] = {"kind": kind, "file": src.name, "path": str(src), "url": "", "sha256": sha256_file(src),
                             "size": src.stat().st_size, "license": license or "unknown (user file)",
                             "builtin": False}
    if kind == "depth":
        if input is None or output is None:
            inferred = infer_entry(src, "depth")
            input = {**inferred.input, **(input or {})}
            output = {**inferred.output, **(output or {})}
        table["input"] = input
        table["output"] = output
    elif kind == "generator":
        table["generator"] = generator or {}
    entry = entry_from_table(name, table, uman, mdir)
    check_io(entry)   # raises a ModelError naming the mismatch; nothing written yet
    if copy:
        dest = mdir / src.name
        if dest.resolve() != src:
            with atomic_path(dest) as tmp:
                shutil.copyfile(src, tmp)
        table.pop("path")   # the copy in the models folder: `file` alone
        entry = entry_from_table(name, table, uman, mdir)
    existing[name] = table
    write_text_atomic(uman, dumps_manifest(existing))
    return entry
