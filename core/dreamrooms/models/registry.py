"""The model registry: manifests, the model cache, resolving names and paths, and `dreamrooms models`.

Two manifests are merged (both TOML, read with :mod:`tomllib`):

* the built-in one, ``models_onnx/models.toml`` (``dreamrooms/builtin_models`` in a wheel) (override the folder with
  ``DREAMROOMS_BUILTIN_MODELS``), which lists the built-ins that ship with dreamrooms and the
  public models that can be fetched;
* the user's, ``<models dir>/models.toml``, written by ``dreamrooms models add``; its entries win.

The models dir (downloads and the user manifest) is, first match wins: an explicit ``models_dir``
argument (the Blender add-on's preference), ``$DREAMROOMS_MODELS``, then the platform cache:
``$XDG_CACHE_HOME/dreamrooms/models`` (``~/.cache/dreamrooms/models``) on Linux,
``~/Library/Caches/dreamrooms/models`` on macOS, ``%LOCALAPPDATA%\\dreamrooms\\models`` on Windows.

API::

    entry = resolve("tinydepth", kind="depth")      # or a path to a user .onnx
    sess = runtime.open_session(entry)              # dreamrooms.models.runtime
    download.fetch("depth-anything-v2-small")        # dreamrooms.models.download
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dreamrooms.errors import ModelError
from dreamrooms.models.contracts import format_shape, format_type
# the checks of one manifest entry, and the names they accept, live in models.entries; the names are also this module's
from dreamrooms.models.entries import (DEPTH_SEMANTICS, INTERPOLATIONS, KINDS, LAYOUTS,  # noqa: F401
                                       RESIZE_POLICIES, _check_entry, _err)
from dreamrooms.shot.paths import check_name, confine

MANIFEST_NAME = "models.toml"
IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


# --------------------------------------------------------------------------- locations

def builtin_dir() -> Path:
    """The folder holding the built-in manifest and .onnx files."""
    env = os.environ.get("DREAMROOMS_BUILTIN_MODELS")
    if env:
        return Path(env)
    package = Path(__file__).resolve().parents[1]
    bundled = package / "builtin_models"       # package data in a wheel / the Blender extension (see setup.py)
    if (bundled / MANIFEST_NAME).exists():
        return bundled
    return package.parents[1] / "models_onnx"  # source checkout: core/dreamrooms -> repo root


def models_dir(override: str | os.PathLike | None = None) -> Path:
    """Where downloads and the user manifest live (not created here)."""
    if override:
        return Path(override).expanduser()
    env = os.environ.get("DREAMROOMS_MODELS")
    if env:
        return Path(env).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
        return base / "dreamrooms" / "models"
    if sys.platform == "darwin":
        return Path.home() / "Library" / "Caches" / "dreamrooms" / "models"
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dreamrooms" / "models"


# --------------------------------------------------------------------------- entries

@dataclass
class ModelEntry:
    name: str
    kind: str
    path: Path                      # where the file is (or would be, once fetched)
    sha256: str = ""
    size: int = 0
    license: str = ""
    url: str = ""
    builtin: bool = False
    input: dict = field(default_factory=dict)
    output: dict = field(default_factory=dict)
    generator: dict | None = None
    raw: dict = field(default_factory=dict)
    manifest: Path | None = None    # the manifest that defined it (None: inferred from a path)
    card: Path | None = None
    description: str = ""
    noncommercial: bool = False

    @property
    def installed(self) -> bool:
        """The graph and every external-data file beside it are there."""
        return self.path.is_file() and all(p.is_file() for p in self.data_paths)

    @property
    def data_paths(self) -> list[Path]:
        """External-data files of a multi-file model ([[models.NAME.data]]), beside the graph."""
        return [confine(self.path.parent, d["file"], f"{self.manifest}: [models.{self.name}] data file")
                for d in self.raw.get("data", [])]

    @property
    def file(self) -> str:
        return str(self.raw.get("file", self.path.name))


def entry_from_table(name: str, t: dict, manifest: Path, base: Path) -> ModelEntry:
    _check_entry(manifest, name, t)
    if t.get("path"):                      # your own file, used where it is (`models add` without --copy)
        path = Path(t["path"]).expanduser()
    elif t.get("url") or t.get("builtin"):   # a file dreamrooms downloads or ships: no symlink out either
        path = confine(base, t["file"], f"{manifest}: [models.{name}] file")
    else:                                  # copied in by `models add --copy` (a symlink the user made is theirs)
        path = base / t["file"]
    card = t.get("card")
    gen = t.get("generator")
    return ModelEntry(
        name=name, kind=t["kind"], path=path, sha256=t.get("sha256", "").lower(), size=int(t.get("size", 0)),
        license=t.get("license", ""), url=t.get("url", ""), builtin=bool(t.get("builtin", False)),
        input=dict(t.get("input", {})), output=dict(t.get("output", {})),
        generator=dict(gen) if isinstance(gen, dict) else None, raw=t, manifest=manifest,
        card=(manifest.parent / card) if card else None, description=t.get("description", ""),
        noncommercial=bool(t.get("noncommercial", False)),
    )


def load_manifest(manifest: str | os.PathLike, file_base: Path | None = None) -> dict[str, ModelEntry]:
    """Entries of one manifest. Built-in files resolve against the manifest's folder, the others
    against ``file_base`` (the models dir) when given."""
    manifest = Path(manifest)
    try:
        data = tomllib.loads(manifest.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelError(f"{manifest}: model manifest not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ModelError(f"{manifest}: not valid TOML ({exc}); fix the file or delete it") from None
    models = data.get("models", {})
    if not isinstance(models, dict):
        raise ModelError(f"{manifest}: [models] must be a table of [models.NAME] tables")
    out = {}
    for name, t in models.items():
        if not isinstance(t, dict):
            raise _err(manifest, name, "must be a table")
        check_name(name, f"{manifest}: model name")
        base = manifest.parent if (t.get("builtin") or file_base is None) else file_base
        out[name] = entry_from_table(name, t, manifest, base)
    return out


def registry(models_dir_override: str | os.PathLike | None = None) -> dict[str, ModelEntry]:
    """All known models: built-in manifest, then the user manifest (user entries win)."""
    entries: dict[str, ModelEntry] = {}
    mdir = models_dir(models_dir_override)
    bman = builtin_dir() / MANIFEST_NAME
    if bman.exists():
        entries.update(load_manifest(bman, file_base=mdir))
    uman = mdir / MANIFEST_NAME
    if uman.exists():
        user = load_manifest(uman, file_base=mdir)
        for name, entry in user.items():   # replacing a built-in is said, in the entry itself
            if name in entries and entries[name].builtin and entry.raw.get("replaces_builtin") is not True:
                raise ModelError(f"{uman}: [models.{name}] has the name of a built-in model; rename it, or add "
                                 f"replaces_builtin = true to the entry to use it instead of the built-in")
        entries.update(user)
    return entries


def list_models(models_dir_override=None) -> list[ModelEntry]:
    return sorted(registry(models_dir_override).values(), key=lambda e: (not e.builtin, e.kind, e.name))


def _kind_label(kind: str) -> str:
    return {"depth": "a depth model", "generator": "a generator", "mask": "a mask model",
            "inpaint": "an inpainting model"}.get(kind, kind)


def resolve(name_or_path: str | os.PathLike, kind: str | None = None, *,
            models_dir_override: str | os.PathLike | None = None, require_installed: bool = True) -> ModelEntry:
    """A registered model by name, or a user .onnx file by path.

    Raises a one-line ModelError when the name is unknown, the model is of another kind than
    ``kind``, or its file is not installed (naming ``dreamrooms models fetch NAME`` or where to put it).
    A path with no manifest entry is accepted for depth models when its I/O can be inferred.
    """
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}")
    reg = registry(models_dir_override)
    key = str(name_or_path)
    if key in reg:
        entry = reg[key]
    else:
        p = Path(key).expanduser()
        looks_like_path = p.suffix.lower() == ".onnx" or os.sep in key or "/" in key or p.exists()
        if not looks_like_path:
            known = ", ".join(sorted(n for n, e in reg.items() if kind is None or e.kind == kind)) or "none"
            raise ModelError(f"unknown model {key!r}; known {kind + ' ' if kind else ''}models: {known} "
                             f"(or give a path to an .onnx file; see `dreamrooms models list`)")
        # a registered entry pointing at the same file wins
        if p.is_file():
            rp = p.resolve()
            for e in reg.values():
                if e.path.is_file() and e.path.resolve() == rp:
                    entry = e
                    break
            else:
                entry = infer_entry(p, kind)
        else:
            raise ModelError(f"model file {p} does not exist; give the path to an .onnx file or a model name "
                             f"from `dreamrooms models list`")
    if kind is not None and entry.kind != kind:
        raise ModelError(f"model {entry.name!r} is {_kind_label(entry.kind)}, not {_kind_label(kind)}; "
                         f"pick a {kind} model from `dreamrooms models list`")
    if require_installed and not entry.installed:
        if entry.builtin:
            raise ModelError(f"built-in model {entry.name!r} is missing its file {entry.path}; "
                             f"run `python3 build.py models` in the source tree or reinstall dreamrooms")
        if entry.url:
            raise ModelError(f"model {entry.name!r} is not installed; run `dreamrooms models fetch {entry.name}` "
                             f"or put the file at {entry.path}")
        if entry.raw.get("source"):   # public, but nothing published to verify a download against
            raise ModelError(f"model {entry.name!r} is not installed; download it from {entry.raw['source']} and run "
                             f"`dreamrooms models fetch {entry.name} --url FILE_OR_URL --allow-unverified`, or put the "
                             f"file at {entry.path}")
        raise ModelError(f"model {entry.name!r} is not installed; put the file at {entry.path}")
    return entry


# --------------------------------------------------------------------------- inference from a file

def _onnx_io(path: Path):
    """(inputs, outputs) as lists of (name, shape list with int or None, type string)."""
    import onnxruntime as ort

    try:
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        so.intra_op_num_threads = 1
        sess = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    except Exception as exc:  # onnxruntime raises its own exception types
        raise ModelError(f"{path}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from None
    fmt = lambda args: [(a.name, [d if isinstance(d, (int, str)) else None for d in (a.shape or [])], a.type)
                        for a in args]
    return fmt(sess.get_inputs()), fmt(sess.get_outputs())


def infer_entry(path: Path, kind: str | None = None) -> ModelEntry:
    """An entry for a user .onnx with no manifest entry. Depth models (one float NCHW image input, 3 channels,
    and a [B,H,W] or [B,1,H,W] output) and single-matte mask models (:func:`dreamrooms.models.user.infer_mask_entry`)
    can be inferred."""
    path = Path(path)
    if kind == "mask":
        from dreamrooms.models.user import infer_mask_entry

        return infer_mask_entry(path)
    if kind not in (None, "depth"):
        raise ModelError(f"{path}: a {kind} model needs a manifest entry; add it with "
                         f"`dreamrooms models add {path} --kind {kind} ...`")
    inputs, outputs = _onnx_io(path)
    if len(inputs) != 1:
        names = ", ".join(i[0] for i in inputs)
        raise ModelError(f"{path}: cannot infer a depth model's input from {len(inputs)} inputs ({names}); "
                         f"describe it with `dreamrooms models add {path} --kind depth --input-name NAME ...`")
    iname, ishape, itype = inputs[0]
    if len(ishape) != 4 or (isinstance(ishape[1], int) and ishape[1] != 3) or itype != "tensor(float)":
        raise ModelError(f"{path}: input {iname!r} is {format_shape(ishape)} {format_type(itype)}; a depth model "
                         f"needs a float NCHW image (Nx3xHxW); describe it with `dreamrooms models add`")
    oname, oshape, otype = outputs[0]
    if len(oshape) not in (3, 4) or (len(oshape) == 4 and isinstance(oshape[1], int) and oshape[1] != 1):
        raise ModelError(f"{path}: output {oname!r} is {format_shape(oshape)}; a depth model outputs BxHxW or Bx1xHxW")
    inp: dict[str, Any] = {"name": iname, "layout": "NCHW", "mean": IMAGENET_MEAN, "std": IMAGENET_STD,
                           "range": [0.0, 1.0]}
    if isinstance(ishape[2], int) and isinstance(ishape[3], int):
        inp.update(size=[ishape[2], ishape[3]], resize="fixed")
    else:
        inp.update(multiple_of=32, target=384, resize="lower_bound")
    raw = {"kind": "depth", "file": str(path), "input": inp,
           "output": {"name": oname, "semantics": "inverse_relative"}, "inferred": True}
    return ModelEntry(name=path.stem, kind="depth", path=path, sha256="", size=path.stat().st_size,
                      license="unknown (user file)", url="", builtin=False, input=inp, output=raw["output"],
                      generator=None, raw=raw, manifest=None,
                      description="user ONNX file; I/O inferred (ImageNet normalisation, inverse relative depth)")


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------- user manifest writing

def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)  # TOML basic strings accept JSON escapes
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):   # a table inside an array (e.g. the files of a multi-file model): an inline table
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + "}"
    raise TypeError(f"cannot write {type(v).__name__} to TOML")


def _toml_key(key: str) -> str:
    """A TOML key: bare when it is only A-Z a-z 0-9 _ -, else a quoted basic string (`v1.2`, `my depth`)."""
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)


def dumps_manifest(models: dict[str, dict],
                   header: str = "dreamrooms user model manifest, written by `dreamrooms models add`.") -> str:
    """models.toml text: one [models.NAME] table per model, dict values as its sub-tables."""
    lines = [f"# {header}", ""]
    for name, t in models.items():
        key = _toml_key(name)
        lines.append(f"[models.{key}]")
        subs = {k: v for k, v in t.items() if isinstance(v, dict)}
        for k, v in t.items():
            if not isinstance(v, dict):
                lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        for sk, sv in subs.items():
            lines.append("")
            lines.append(f"[models.{key}.{_toml_key(sk)}]")
            for k, v in sv.items():
                lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
        lines.append("")
    return "\n".join(lines)
