"""Model I/O contracts: the network input size rule, the coordinate grid of coordinate generators, and the one
check of a model file's inputs and outputs against its manifest entry (depth and generator kinds, and the
exported signatures of the mask and inpainting families)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from dreamrooms.errors import ModelError


def format_shape(shape) -> str:
    return "x".join("?" if d is None or d == "" else str(d) for d in shape) if shape else "scalar"


def format_type(t: str) -> str:
    return t.replace("tensor(", "").replace(")", "")


def coordinate_grid(height: int, width: int) -> np.ndarray:
    """[1,2,H,W] float32: x (scaled by W/H) and y in [-1,1], for coordinate generators (CPPN)."""
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32) * np.float32(width / height)
    xx, yy = np.meshgrid(xs, ys)
    return np.stack([xx, yy])[None].astype(np.float32)


def _nearest_multiple(v: float, m: int, lo: int | None = None, hi: int | None = None) -> int:
    """`v` rounded to the nearest multiple of `m` (numpy's round), then up to reach `lo` or down to stay under
    `hi` (Depth Anything V2 util/transform.py Resize.constrain_to_multiple_of)."""
    r = int(np.round(v / m) * m)
    if hi is not None and r > hi:
        r = int(np.floor(v / m) * m)
    if lo is not None and r < lo:
        r = int(np.ceil(v / m) * m)
    return max(m, r)


def _nearest_multiple_ties_up(v: int, m: int) -> int:
    """Depth Anything 3's rule for a whole-pixel side: the nearer multiple of `m`, ties going up."""
    down = (v // m) * m
    up = down + m
    return max(m, up if abs(up - v) <= abs(v - down) else down)


def network_size(inp: dict, height: int, width: int) -> tuple[int, int]:
    """Network input (H, W) for a source image, as each model's authors resize (see models_onnx/models.toml):
    a fixed ``size`` squashes; ``lower_bound`` keeps the aspect with the short side at ``target`` (each side the
    nearest multiple, never below target), ``upper_bound`` with the long side at target (never above),
    ``longest_side`` scales the long side to target in whole pixels and then takes the nearest multiple."""
    if "size" in inp:
        return int(inp["size"][0]), int(inp["size"][1])
    m = int(inp["multiple_of"])
    target = int(inp["target"])
    mode = inp.get("resize", "lower_bound")
    if mode == "lower_bound":
        s = target / min(height, width)
        return _nearest_multiple(height * s, m, lo=target), _nearest_multiple(width * s, m, lo=target)
    if mode == "upper_bound":
        s = target / max(height, width)
        return (_nearest_multiple(height * s, m, hi=target), _nearest_multiple(width * s, m, hi=target))
    if mode == "longest_side":
        s = target / max(height, width)
        return (_nearest_multiple_ties_up(max(1, int(round(height * s))), m),
                _nearest_multiple_ties_up(max(1, int(round(width * s))), m))
    side = _nearest_multiple(target, m)
    return side, side


def _pick(kind: str, want: str, have: dict, entry, field_: str) -> str:
    if want:
        if want not in have:
            raise ModelError(f"model {entry.name!r} ({entry.path.name}) has no {kind} {want!r} (it has: "
                             f"{', '.join(have) or 'none'}); fix {field_} in {entry.manifest or 'its manifest entry'}")
        return want
    if len(have) != 1:
        raise ModelError(f"model {entry.name!r} has {len(have)} {kind}s ({', '.join(have)}); name one in {field_} "
                         f"in {entry.manifest or 'its manifest entry'}")
    return next(iter(have))


def _describe(shape, typ) -> str:
    return f"{format_shape(shape)} {format_type(typ)}"


OUTPUT_ROLES = ("normal", "mask", "scale", "focal_px")


def output_roles(entry, outs) -> dict[str, str]:
    """The extra outputs the manifest names (normal, mask, scale, focal_px) -> the file's tensor names.
    MoGe-2's metric scale is ``metric_scale`` in the authors' export script and ``scale`` in one published file:
    either is accepted."""
    have = list(outs)
    roles = {}
    for role in OUTPUT_ROLES:
        want = entry.output.get(role)
        if not want:
            continue
        found = next((c for c in ((want, "scale") if role == "scale" else (want,)) if c in have), None)
        if found is None:
            raise ModelError(f"model {entry.name!r} ({entry.path.name}) has no output {want!r} for its {role} (it has: "
                             f"{', '.join(have)}); fix output.{role} in {entry.manifest or 'its manifest entry'}")
        roles[role] = found
    return roles


def _check_depth(entry, ins: dict, outs: dict, where) -> tuple[str, str]:
    inp = entry.input
    five = inp.get("layout", "NCHW") == "NTCHW"
    consts = dict(inp.get("constants") or {})
    iname = _pick("input", inp.get("name", ""), {k: v for k, v in ins.items() if k not in consts}, entry, "input.name")
    for c in consts:
        if c not in ins:
            raise ModelError(f"model {entry.name!r} ({entry.path.name}) has no input {c!r} (it has: {', '.join(ins)}); "
                             f"fix input.constants in {where}")
        cshape, ctyp = ins[c]
        if ctyp != "tensor(int64)" or cshape:
            raise ModelError(f"model {entry.name!r} input {c!r} is {_describe(cshape, ctyp)}; input.constants are fed "
                             f"as int64 scalars")
    extra = set(ins) - {iname} - set(consts)
    if extra:
        raise ModelError(f"model {entry.name!r} has inputs the manifest does not describe: {', '.join(sorted(extra))}; "
                         f"name the image in input.name and the rest in input.constants in {where}")
    shape, typ = ins[iname]
    layout = "NTCHW" if five else "NCHW"
    if typ != "tensor(float)":
        raise ModelError(f"model {entry.name!r} input {iname!r} is {_describe(shape, typ)}; dreamrooms feeds "
                         f"float32 images (re-export the model with a float input)")
    if len(shape) != len(layout):
        raise ModelError(f"model {entry.name!r} input {iname!r} is {_describe(shape, typ)} (rank {len(shape)}); "
                         f"the manifest's layout {layout} needs rank {len(layout)}; fix input.layout in {where}")
    if (isinstance(shape[-3], int) and shape[-3] != 3) or (not isinstance(shape[-3], int) and shape[-1] == 3):
        raise ModelError(f"model {entry.name!r} input {iname!r} is {_describe(shape, typ)}; {layout} needs 3 "
                         f"channels in dimension {len(layout) - 3} (channels-last layouts are not supported)")
    window = int(inp.get("window", 1))
    if five and isinstance(shape[1], int) and shape[1] != window:
        raise ModelError(f"model {entry.name!r} takes {shape[1]} frames per run ({_describe(shape, typ)}), the "
                         f"manifest says window {window}; fix input.window in {where}")
    if isinstance(shape[-2], int) and isinstance(shape[-1], int):
        if "size" not in inp:
            raise ModelError(f"model {entry.name!r} expects {_describe(shape, typ)}, manifest says multiple of "
                             f"{inp.get('multiple_of')}; set size = [{shape[-2]}, {shape[-1]}] in {where}")
        if list(inp["size"]) != [shape[-2], shape[-1]]:
            raise ModelError(f"model {entry.name!r} expects {_describe(shape, typ)}, manifest says size "
                             f"{inp['size'][0]}x{inp['size'][1]}; fix input.size in {where}")
    oname = _pick("output", entry.output.get("name", ""), outs, entry, "output.name")
    oshape, otyp = outs[oname]
    if otyp not in ("tensor(float)", "tensor(float16)"):
        raise ModelError(f"model {entry.name!r} output {oname!r} is {_describe(oshape, otyp)}; expected float depth")
    if entry.output.get("semantics") == "pointmap_affine":
        if len(oshape) != 4 or (isinstance(oshape[-1], int) and oshape[-1] != 3):
            raise ModelError(f"model {entry.name!r} output {oname!r} is {_describe(oshape, otyp)}; a point map is "
                             f"BxHxWx3")
    elif five:
        if len(oshape) != 4:
            raise ModelError(f"model {entry.name!r} output {oname!r} is {_describe(oshape, otyp)}; an {layout} depth "
                             f"model outputs BxTxHxW")
    elif len(oshape) not in (3, 4) or (len(oshape) == 4 and isinstance(oshape[1], int) and oshape[1] != 1):
        raise ModelError(f"model {entry.name!r} output {oname!r} is {_describe(oshape, otyp)}; a depth model "
                         f"outputs BxHxW or Bx1xHxW")
    output_roles(entry, outs)
    return iname, oname


def check_io(entry, session=None) -> tuple[str, str]:
    """Check a session's inputs/outputs against the manifest entry; returns (input, output) names.
    Raises ModelError naming the mismatch."""
    if session is None:
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        try:
            session = ort.InferenceSession(str(entry.path), so, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ModelError(f"{entry.path}: not a loadable ONNX model ({str(exc).splitlines()[0][:200]})") from None
    ins, outs = session_io(session)
    where = entry.manifest or "its manifest entry"
    if entry.kind == "depth":
        return _check_depth(entry, ins, outs, where)
    if entry.kind == "generator":
        spec = GeneratorSpec.from_dict(entry.generator or {}, where=f"model {entry.name!r}")
        gio = generator_io(spec, ins, outs, f"model {entry.name!r} ({where})")
        return gio.feed, gio.output
    if entry.kind in FAMILIES:
        family = (entry.raw.get(entry.kind) or {}).get("family", "")
        check_family_io(entry.kind, family, session, f"model {entry.name!r} ({entry.path})")
        if family == "matte":   # the names its entry feeds and reads must be the file's
            first = {next(iter(outs)): outs[next(iter(outs))]}
            return (_pick("input", entry.input.get("name", ""), ins, entry, "input.name"),
                    _pick("output", entry.output.get("name", ""), outs if entry.output.get("name") else first,
                          entry, "output.name"))
    # other kinds: just make sure named things exist
    return next(iter(ins)), next(iter(outs))


# ---------------------------------------------------------------------------- mask and inpainting families

# kind -> families; each family is one public export whose exact signature dreamrooms feeds (sources in
# dreamrooms.mask.models and dreamrooms.layers.fill, and in the model cards)
FAMILIES = {"mask": ("maskrcnn", "birefnet", "matte"), "inpaint": ("lama",)}
MATTE_ACTIVATIONS = ("none", "sigmoid")   # what the `matte` family applies to its output before 0..1
MASKRCNN_MASK = 28
BIREFNET_SIZE = 1024
LAMA_SIZE = 512


def check_family_io(kind: str, family: str, session, where: str) -> None:
    """One-line ModelError unless `session` has the inputs and outputs of `family`:
    maskrcnn (ONNX zoo MaskRCNN-10): one float 3xHxW image; boxes Nx4, labels N int64, scores N, masks Nx1x28x28;
    birefnet (BiRefNet lite as rembg ships it): one 1x3x1024x1024 float image; first output 1x1x1024x1024 logits;
    lama (Carve/LaMa-ONNX): image 1x3x512x512 and mask 1x1x512x512 floats; one 1x3x512x512 output;
    matte (any single-matte network described by its entry: ISNet, U2-Net, ...): one float image Nx3xHxW;
    first output Nx1xHxW or NxHxW."""
    if family not in FAMILIES.get(kind, ()):
        raise ModelError(f"{where}: {kind} family {family!r}; use one of {', '.join(FAMILIES.get(kind, ())) or 'none'} "
                         f"(set [models.NAME.{kind}] family in its manifest entry)")
    ins, outs = session.get_inputs(), session.get_outputs()
    shape = lambda a: [d if isinstance(d, int) else None for d in (a.shape or [])]
    desc = lambda xs: ", ".join(f"{x.name} {format_shape(shape(x))} {format_type(x.type)}" for x in xs) or "none"
    bad = None
    if family == "maskrcnn":
        if len(ins) != 1 or len(shape(ins[0])) != 3 or ins[0].type != "tensor(float)":
            bad = f"input {desc(ins)}; Mask R-CNN takes one float 3xHxW image"
        elif len(outs) != 4:
            bad = f"{len(outs)} outputs ({desc(outs)}); Mask R-CNN gives boxes, labels, scores, masks"
        else:
            b, l, sc, m = (shape(o) for o in outs)
            if len(b) != 2 or b[1] not in (4, None) or len(l) != 1 or len(sc) != 1 or len(m) != 4 \
                    or m[2:] not in ([MASKRCNN_MASK, MASKRCNN_MASK], [None, None]) or outs[1].type != "tensor(int64)":
                bad = f"outputs {desc(outs)}; expected boxes Nx4, labels N int64, scores N, masks Nx1x28x28"
    elif family == "birefnet":
        s = shape(ins[0]) if ins else []
        if len(ins) != 1 or len(s) != 4 or s[1] not in (3, None) or s[2:] not in ([BIREFNET_SIZE] * 2, [None, None]):
            bad = f"input {desc(ins)}; BiRefNet takes one 1x3x1024x1024 float image"
        elif len(shape(outs[0])) != 4:
            bad = f"first output {desc(outs[:1])}; BiRefNet gives 1x1x1024x1024 logits"
    elif family == "matte":
        s = shape(ins[0]) if ins else []
        o = shape(outs[0]) if outs else []
        if len(ins) != 1 or len(s) != 4 or s[1] not in (3, None) or ins[0].type != "tensor(float)":
            bad = f"input {desc(ins)}; a matte model takes one float Nx3xHxW image"
        elif len(o) not in (3, 4) or (len(o) == 4 and o[1] not in (1, None)) \
                or outs[0].type not in ("tensor(float)", "tensor(float16)"):
            bad = f"first output {desc(outs[:1])}; a matte model gives one float Nx1xHxW (or NxHxW) matte"
    elif family == "lama":
        s = [shape(i) for i in ins]
        if len(ins) != 2 or s[0][1:] not in ([3, LAMA_SIZE, LAMA_SIZE], [3, None, None]) \
                or s[1][1:] not in ([1, LAMA_SIZE, LAMA_SIZE], [1, None, None]) or len(outs) != 1:
            bad = (f"inputs {desc(ins)}, outputs {desc(outs)}; LaMa (Carve/LaMa-ONNX) takes image 1x3x512x512 and "
                   f"mask 1x1x512x512 and gives one image (other LaMa exports have other signatures)")
    if bad:
        raise ModelError(f"{where}: {bad}")


# ---------------------------------------------------------------------------- generators

@dataclass
class GeneratorSpec:
    latent_input: str = "z"
    latent_dim: int = 0
    mapping_input: str = ""
    mapping_model: str = ""
    grid_input: str = ""
    native_size: tuple[int, int] | None = None
    output: str = "image"
    output_range: tuple[float, float] = (0.0, 1.0)
    output_colorspace: str = "srgb"
    truncation_mean: str = ""
    noise_inputs: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "generator") -> "GeneratorSpec":
        d = dict(d or {})
        try:
            dim = int(d.get("latent_dim", 0))
        except (TypeError, ValueError):
            raise ModelError(f"{where}: latent_dim must be an integer") from None
        native = d.get("native_size") or None
        rng = d.get("output_range", [0.0, 1.0])
        if not (isinstance(rng, (list, tuple)) and len(rng) == 2 and float(rng[1]) > float(rng[0])):
            raise ModelError(f"{where}: output_range must be [low, high], e.g. [0, 1] or [-1, 1]")
        cs = str(d.get("output_colorspace", "srgb")).lower()
        if cs not in ("srgb", "linear"):
            raise ModelError(f"{where}: output_colorspace {cs!r}; use \"srgb\" or \"linear\"")
        return cls(
            latent_input=str(d.get("latent_input", "z")), latent_dim=dim,
            mapping_input=str(d.get("mapping_input", "") or ""), mapping_model=str(d.get("mapping_model", "") or ""),
            grid_input=str(d.get("grid_input", "") or ""),
            native_size=(int(native[0]), int(native[1])) if native else None,
            output=str(d.get("output", "image") or ""), output_range=(float(rng[0]), float(rng[1])),
            output_colorspace=cs, truncation_mean=str(d.get("truncation_mean", "") or ""),
            noise_inputs=list(d.get("noise_inputs", []) or []),
        )


@dataclass
class GeneratorIO:
    """What a generator file offers, resolved against its spec."""
    feed: str                       # the latent input (z, or w for a file split at W)
    grid: str                       # the coordinate-grid input ("" for fixed-size generators)
    output: str
    noise: list[str]                # extra float inputs that get fixed seeded noise
    static_dim: int | None          # the feed's latent size when the file fixes it
    max_batch: int | None           # a fixed batch dimension
    native_size: tuple[int, int] | None   # the output's fixed H, W when the file has one


def generator_io(spec: GeneratorSpec, inputs: dict, outputs: dict, where: str) -> GeneratorIO:
    """The one check of a generator file against its spec.  `inputs`/`outputs`: name -> (shape, type), shapes
    with ints for fixed dims.  Every input must be the latent, the grid, or listed in noise_inputs (float)."""
    mapped = bool(spec.mapping_input)
    feed = spec.mapping_input or spec.latent_input
    field_ = "generator.mapping_input" if mapped else "generator.latent_input"
    if feed not in inputs:
        raise ModelError(f"{where}: has no input {feed!r} (it has: {', '.join(inputs) or 'none'}); fix {field_}")
    zshape, ztyp = inputs[feed]
    if ztyp != "tensor(float)" or len(zshape) != 2:
        raise ModelError(f"{where}: latent input {feed!r} is {_describe(zshape, ztyp)}; expected Bx{spec.latent_dim or 'D'} float")
    static_dim = zshape[1] if isinstance(zshape[1], int) else None
    if not mapped and static_dim is not None and spec.latent_dim > 0 and static_dim != spec.latent_dim:
        raise ModelError(f"{where}: model expects latent {_describe(zshape, ztyp)}, manifest says latent_dim "
                         f"{spec.latent_dim}; fix generator.latent_dim")
    if spec.latent_dim <= 0 and (static_dim is None or mapped):
        raise ModelError(f"{where}: manifest has no latent_dim; add latent_dim to its generator table")
    if spec.grid_input:
        if spec.grid_input not in inputs:
            raise ModelError(f"{where}: has no input {spec.grid_input!r} (it has: {', '.join(inputs)}); "
                             f"fix generator.grid_input")
        gshape, gtyp = inputs[spec.grid_input]
        if gtyp != "tensor(float)" or len(gshape) != 4 or (isinstance(gshape[1], int) and gshape[1] != 2):
            raise ModelError(f"{where}: grid input {spec.grid_input!r} is {_describe(gshape, gtyp)}; expected 1x2xHxW float")
    extra = [n for n in inputs if n not in (feed, spec.grid_input)]
    undescribed = sorted(set(extra) - set(spec.noise_inputs))
    if undescribed:
        raise ModelError(f"{where}: model has inputs the manifest does not describe: {', '.join(undescribed)} "
                         f"(list float noise inputs in generator.noise_inputs)")
    missing = sorted(set(spec.noise_inputs) - set(inputs))
    if missing:
        raise ModelError(f"{where}: noise_inputs names {', '.join(missing)}, which the model does not have")
    for n in extra:
        if "float" not in inputs[n][1]:
            raise ModelError(f"{where}: noise input {n!r} is {_describe(*inputs[n])}; noise inputs must be float")
    if spec.output and spec.output not in outputs:
        raise ModelError(f"{where}: has no output {spec.output!r} (it has: {', '.join(outputs)}); fix generator.output")
    oname = spec.output or next(iter(outputs))
    oshape, otyp = outputs[oname]
    if len(oshape) != 4 or (isinstance(oshape[1], int) and oshape[1] != 3):
        raise ModelError(f"{where}: output {oname!r} is {_describe(oshape, otyp)}; a generator outputs Bx3xHxW")
    native = (oshape[2], oshape[3]) if isinstance(oshape[2], int) and isinstance(oshape[3], int) else None
    bdim = zshape[0]
    return GeneratorIO(feed, spec.grid_input, oname, extra, static_dim,
                       bdim if isinstance(bdim, int) and bdim > 0 else None, native)


def session_io(session) -> tuple[dict, dict]:
    """(inputs, outputs) of an ONNX Runtime session as name -> (shape, type); symbolic dims stay names."""
    fmt = lambda args: {a.name: ([d if isinstance(d, (int, str)) else None for d in (a.shape or [])], a.type)
                        for a in args}
    return fmt(session.get_inputs()), fmt(session.get_outputs())
