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
from dreamrooms.models.contracts import FAMILIES, MATTE_ACTIVATIONS, GeneratorSpec, format_shape, format_type
from dreamrooms.shot.paths import check_name, confine

KINDS = ("depth", "generator", "mask", "inpaint", "text")
RESIZE_POLICIES = ("lower_bound", "upper_bound", "fixed", "longest_side")
LAYOUTS = ("NCHW", "NTCHW")   # NTCHW: frames (or views) x channels, one run takes input.window frames
INTERPOLATIONS = ("cubic", "linear", "area", "cubic_up_area_down")
DEPTH_SEMANTICS = ("inverse_relative", "depth_relative", "depth_metric", "pointmap_affine")
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


def _err(manifest: Path, name: str, msg: str) -> ModelError:
    return ModelError(f"{manifest}: [models.{name}] {msg}")


def _check_entry(manifest: Path, name: str, t: dict) -> None:
    kind = t.get("kind")
    if kind not in KINDS:
        raise _err(manifest, name, f"kind = {kind!r}; use one of {', '.join(KINDS)}")
    if not isinstance(t.get("file"), str) or not t.get("file"):
        raise _err(manifest, name, "needs file = \"NAME.onnx\"")
    sha = t.get("sha256", "")
    if sha and (len(sha) != 64 or any(c not in "0123456789abcdef" for c in sha.lower())):
        raise _err(manifest, name, f"sha256 = {sha!r} is not 64 hex digits")
    if not isinstance(t.get("size", 0), int) or t.get("size", 0) < 0:
        raise _err(manifest, name, "size must be a non-negative integer (bytes)")
    for d in t.get("data", []):
        f = d.get("file") if isinstance(d, dict) else None
        if not isinstance(f, str) or not f or "/" in f or "\\" in f:
            raise _err(manifest, name, "each [[data]] table needs file = \"NAME\" (the name the graph refers to, "
                                       "beside the graph)")
        dsha = d.get("sha256", "")
        if dsha and (len(dsha) != 64 or any(c not in "0123456789abcdef" for c in dsha.lower())):
            raise _err(manifest, name, f"data {f}: sha256 = {dsha!r} is not 64 hex digits")
    if kind == "depth":
        inp = t.get("input")
        if not isinstance(inp, dict):
            raise _err(manifest, name, "depth models need an [models.NAME.input] table")
        _check_input(manifest, name, inp)
        video = t.get("video")
        if video is not None:
            from dreamrooms.models.video_plan import VideoPlan

            try:
                VideoPlan.from_entry(video)
            except (TypeError, ValueError) as exc:
                raise _err(manifest, name, f"[video] {exc}") from None
        out = t.get("output")
        if not isinstance(out, dict):
            raise _err(manifest, name, "depth models need an [models.NAME.output] table")
        if out.get("semantics") not in DEPTH_SEMANTICS:
            raise _err(manifest, name, f"output.semantics = {out.get('semantics')!r}; use one of {', '.join(DEPTH_SEMANTICS)}")
    elif kind in FAMILIES:
        fam = (t.get(kind) or {}).get("family") if isinstance(t.get(kind, {}), dict) else None
        if fam not in FAMILIES[kind]:
            raise _err(manifest, name, f"{kind} models need [models.{name}.{kind}] family = one of "
                                       f"{', '.join(FAMILIES[kind])} (got {fam!r}); for your own single-matte "
                                       f"network use family = \"matte\" (`dreamrooms models add FILE --kind mask`)")
        if fam == "matte":
            _check_matte(manifest, name, t)
    elif kind == "text":
        txt = t.get("text")
        if not isinstance(txt, dict) or not isinstance(txt.get("tokenizer"), str) or not txt["tokenizer"]:
            raise _err(manifest, name, "text models need [models.NAME.text] tokenizer = \"FILE.json\" (beside the graph)")
        ctx = txt.get("context", 1024)
        if not isinstance(ctx, int) or not 1 <= ctx <= 1_000_000:
            raise _err(manifest, name, "text.context must be a whole number of tokens (GPT-2: 1024)")
    elif kind == "generator":
        g = t.get("generator")
        if not isinstance(g, dict):
            raise _err(manifest, name, "generators need a [models.NAME.generator] table")
        spec = GeneratorSpec.from_dict(g, where=f"{manifest}: [models.{name}.generator]")
        if not isinstance(g.get("latent_dim"), int) or spec.latent_dim < 1:
            raise _err(manifest, name, "generator.latent_dim must be a positive integer")
        if not spec.grid_input and not spec.native_size:
            raise _err(manifest, name, "generator needs grid_input (coordinate generators) or native_size = [H, W]")


def _check_matte(manifest: Path, name: str, t: dict) -> None:
    """A `matte` mask model: an input table as depth models have, the output's range and activation."""
    inp = t.get("input")
    if not isinstance(inp, dict):
        raise _err(manifest, name, "matte models need an [models.NAME.input] table (size or multiple_of, mean/std)")
    _check_input(manifest, name, inp)
    act = t["mask"].get("activation", "none")
    if act not in MATTE_ACTIVATIONS:
        raise _err(manifest, name, f"mask.activation = {act!r}; use one of {', '.join(MATTE_ACTIVATIONS)}")
    rng = (t.get("output") or {}).get("range", [0.0, 1.0])
    if not (isinstance(rng, list) and len(rng) == 2 and all(isinstance(v, (int, float)) for v in rng)
            and rng[0] < rng[1]):
        raise _err(manifest, name, f"output.range = {rng!r}; use [low, high] with low < high (what 0 and 1 are)")


def _check_input(manifest: Path, name: str, inp: dict) -> None:
    """The [models.NAME.input] table of an image model: size or multiple_of/target, resize, normalisation."""
    if inp.get("layout", "NCHW") not in LAYOUTS:
        raise _err(manifest, name, f"input.layout = {inp.get('layout')!r}; use one of {', '.join(LAYOUTS)}")
    has_size = "size" in inp
    has_mult = "multiple_of" in inp
    if has_size == has_mult:
        raise _err(manifest, name, "input needs either size = [H, W] or multiple_of = N (with target = N)")
    if has_size:
        s = inp["size"]
        if not (isinstance(s, list) and len(s) == 2 and all(isinstance(v, int) and v > 0 for v in s)):
            raise _err(manifest, name, f"input.size = {s!r}; use [H, W] in pixels")
    else:
        if not isinstance(inp["multiple_of"], int) or inp["multiple_of"] < 1:
            raise _err(manifest, name, "input.multiple_of must be a positive integer")
        if not isinstance(inp.get("target"), int) or inp["target"] < 1:
            raise _err(manifest, name, "input.target (pixels) is required with multiple_of")
    resize = inp.get("resize", "fixed" if has_size else "lower_bound")
    if resize not in RESIZE_POLICIES:
        raise _err(manifest, name, f"input.resize = {resize!r}; use one of {', '.join(RESIZE_POLICIES)}")
    if inp.get("interpolation", "cubic") not in INTERPOLATIONS:
        raise _err(manifest, name, f"input.interpolation = {inp.get('interpolation')!r}; use one of "
                                   f"{', '.join(INTERPOLATIONS)}")
    consts = inp.get("constants", {})
    if not isinstance(consts, dict) or not all(isinstance(v, int) for v in consts.values()):
        raise _err(manifest, name, "input.constants must be a table of integer inputs, e.g. num_tokens = 1200")
    if not inp.get("normalization_in_graph", False):
        for key in ("mean", "std"):
            v = inp.get(key)
            if not (isinstance(v, list) and len(v) == 3):
                raise _err(manifest, name, f"input.{key} = [r, g, b] is required unless normalization_in_graph = true")
        if any(s == 0 for s in inp["std"]):
            raise _err(manifest, name, "input.std must not contain 0")


def entry_from_table(name: str, t: dict, manifest: Path, base: Path) -> ModelEntry:
    _check_entry(manifest, name, t)
    if t.get("url") or t.get("builtin"):  # a file dreamrooms downloads or ships stays in its folder
        path = confine(base, t["file"], f"{manifest}: [models.{name}] file")
    else:                                  # your own file, used where it is (`models add` without --copy)
        file = Path(t["file"]).expanduser()
        path = file if file.is_absolute() else base / file
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
        entries.update(load_manifest(uman, file_base=mdir))
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
