"""The checks of one [models.NAME] table of a model manifest (kind, files, input, output, family), run on load."""
from __future__ import annotations

from pathlib import Path

from dreamrooms.errors import ModelError
from dreamrooms.models.contracts import FAMILIES, MATTE_ACTIVATIONS, GeneratorSpec

KINDS = ("depth", "generator", "mask", "inpaint", "text")
RESIZE_POLICIES = ("lower_bound", "upper_bound", "fixed", "longest_side")
LAYOUTS = ("NCHW", "NTCHW")   # NTCHW: frames (or views) x channels, one run takes input.window frames
INTERPOLATIONS = ("cubic", "linear", "area", "cubic_up_area_down")
DEPTH_SEMANTICS = ("inverse_relative", "depth_relative", "depth_metric", "pointmap_affine")


def _err(manifest: Path, name: str, msg: str) -> ModelError:
    return ModelError(f"{manifest}: [models.{name}] {msg}")


def _check_entry(manifest: Path, name: str, t: dict) -> None:
    kind = t.get("kind")
    if kind not in KINDS:
        raise _err(manifest, name, f"kind = {kind!r}; use one of {', '.join(KINDS)}")
    if not isinstance(t.get("file"), str) or not t.get("file"):
        raise _err(manifest, name, "needs file = \"NAME.onnx\"")
    _check_file_name(manifest, name, "file", t["file"])
    if not isinstance(t.get("data", []), list):
        raise _err(manifest, name, "data must be [[models.NAME.data]] tables")
    for d in t.get("data", []):
        if isinstance(d, dict) and isinstance(d.get("file"), str):
            _check_file_name(manifest, name, "data file", d["file"], folders=False)
    if "path" in t and (t.get("url") or t.get("builtin") or not isinstance(t["path"], str)
                        or not Path(t["path"]).expanduser().is_absolute()):
        raise _err(manifest, name, "path = is for your own file used where it is: an absolute path, in an entry "
                                   "without url or builtin (what `dreamrooms models add` writes)")
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


def _check_file_name(manifest: Path, name: str, key: str, file: str, folders: bool = True) -> None:
    """`file` must name a file inside the models folder: plain names, '/'-separated (`NAME/model.onnx` for a graph
    with external data, when `folders`), none of them '.', '..' or empty, no drive, backslash or absolute path.
    So a download (`FILE.part` beside it) or a copy can never land beside the models folder or anywhere else."""
    parts = file.split("/")
    bad = (not parts or (len(parts) > 1 and not folders) or "\\" in file or ":" in file
           or any(p in ("", ".", "..") or p != p.strip() or any(ord(c) < 32 for c in p) for p in parts))
    if bad:
        raise _err(manifest, name, f"{key} = {file!r} is not a plain file name in the models folder; give a name "
                                   f"such as \"{name}.onnx\" (your own file elsewhere: path = \"/absolute/file.onnx\")")


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
