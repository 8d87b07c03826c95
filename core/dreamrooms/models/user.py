"""Your own models: `dreamrooms models add` checks a file's I/O against what you describe, then writes the
user manifest (``<models dir>/models.toml``)."""
from __future__ import annotations

import dataclasses
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


@dataclasses.dataclass
class ModelIO:
    """What a user says about a model's I/O (the manifest's ``input``/``output``/``mask``/``generator``
    tables); None means "infer it from the file" where the kind allows that (depth, mask)."""
    input: dict | None = None
    output: dict | None = None
    mask: dict | None = None
    generator: dict | None = None


def add_model(path: str | os.PathLike, *, kind: str, name: str | None = None, copy: bool = False,
              models_dir_override=None, io: ModelIO | None = None, license: str = "",
              force: bool = False) -> ModelEntry:
    """Register a user's ONNX file in the user manifest after checking its I/O against the
    description (depth and mask models: what is not described is inferred from the file, see
    :func:`infer_mask_entry`). Nothing is written when the check fails."""
    io = io or ModelIO()
    input, output, mask, generator = io.input, io.output, io.mask, io.generator
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
    if kind in ("depth", "mask"):
        if input is None or output is None or (kind == "mask" and mask is None):
            inferred = infer_entry(src, kind)
            input = {**inferred.input, **(input or {})}
            output = {**inferred.output, **(output or {})}
            if kind == "mask":
                mask = {**inferred.raw.get("mask", {}), **(mask or {})}
        table["input"] = input
        table["output"] = output
        if kind == "mask":
            table["mask"] = mask
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


def infer_mask_entry(path: Path) -> ModelEntry:
    """A mask entry for a plain .onnx path: a file whose sha256 is a registered mask model's is that model (its
    authors' preprocessing, e.g. ISNet's); otherwise a single-matte network (`matte` family: one float Nx3xHxW
    input, first output Nx1xHxW or NxHxW) fed 0..1 RGB with ImageNet mean/std (what most matte exports take),
    whose output is taken as 0..1 when a probe frame (a black-to-white ramp) gives values inside 0..1, else passed
    through a sigmoid (logits). `dreamrooms models add FILE --kind mask ...` describes anything else."""
    import dataclasses

    import numpy as np

    from dreamrooms.models.contracts import format_shape
    from dreamrooms.models.registry import IMAGENET_MEAN, IMAGENET_STD, _onnx_io

    sha = sha256_file(path)
    for e in registry().values():
        if e.kind == "mask" and e.sha256 == sha:
            return dataclasses.replace(e, path=path)
    inputs, outputs = _onnx_io(path)
    shp = inputs[0][1] if len(inputs) == 1 else []
    if len(inputs) != 1 or len(shp) != 4 or shp[1] not in (3, None) or inputs[0][2] != "tensor(float)":
        raise ModelError(f"{path}: inputs {', '.join(f'{n} {format_shape(s)}' for n, s, _ in inputs)}: not one float "
                         f"Nx3xHxW image, so it cannot be read as a matte model; describe it with `dreamrooms models "
                         f"add {path} --kind mask --input-name NAME --size H W ...`")
    oname, oshape, _ = outputs[0]
    if len(oshape) not in (3, 4) or (len(oshape) == 4 and oshape[1] not in (1, None)):
        raise ModelError(f"{path}: first output {oname!r} is {format_shape(oshape)}, not one matte (Nx1xHxW or NxHxW); "
                         f"a mask model of another kind needs its family (maskrcnn, birefnet) in a manifest entry")
    inp: dict[str, Any] = {"name": inputs[0][0], "layout": "NCHW", "mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                           "range": [0.0, 1.0], "interpolation": "linear"}
    if isinstance(shp[2], int) and isinstance(shp[3], int):
        inp.update(size=[shp[2], shp[3]], resize="fixed")
    else:
        inp.update(multiple_of=32, target=1024, resize="upper_bound")
    probe = _probe_output(path, inp)
    activation = "none" if 0.0 <= float(np.min(probe)) and float(np.max(probe)) <= 1.0 else "sigmoid"
    raw = {"kind": "mask", "file": str(path), "input": inp, "output": {"name": oname, "range": [0.0, 1.0]},
           "mask": {"family": "matte", "activation": activation}, "inferred": True}
    return ModelEntry(name=path.stem, kind="mask", path=path, sha256=sha, size=path.stat().st_size,
                      license="unknown (user file)", url="", builtin=False, input=inp, output=raw["output"],
                      generator=None, raw=raw, manifest=None,
                      description=f"user ONNX file; I/O inferred (ImageNet normalisation, output activation "
                                  f"{activation})")


def _probe_output(path: Path, inp: dict):
    """The model's first output for a black-to-white ramp at its input size (to tell probabilities from logits:
    logits of a dark and a bright half spread on both sides of 0..1)."""
    import numpy as np
    import onnxruntime as ort

    from dreamrooms.depth.image import preprocess
    from dreamrooms.models.contracts import network_size

    h, w = network_size(inp, 256, 256)
    ramp = np.repeat(np.repeat(np.linspace(0, 1, w, dtype=np.float32)[None, :, None], h, 0), 3, 2)
    x, _ = preprocess(ramp, (h, w), inp)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    try:
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
        return np.asarray(sess.run(None, {inp["name"]: x[None]})[0], np.float32)
    except Exception as exc:  # onnxruntime raises its own types
        raise ModelError(f"{path}: a {w}x{h} probe frame does not run ({str(exc).splitlines()[0][:160]}); "
                         f"describe the model with `dreamrooms models add {path} --kind mask --size H W ...`") from None
