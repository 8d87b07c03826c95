"""ONNX Runtime sessions: one factory, the provider that really runs, and I/O checks against the manifest.

    from dreamrooms.models import resolve
    from dreamrooms.sessions import open_session
    ms = open_session(resolve("tinydepth", kind="depth"), device="auto", threads=2)
    ms.provider            # e.g. "CPUExecutionProvider" (what actually runs)
    ms.session.run(...)    # the raw onnxruntime.InferenceSession

``device``: ``"auto"`` tries CUDA, DirectML, CoreML, then CPU (whatever this onnxruntime build
has); ``"cuda"`` asks for the GPU and warns on stderr when the session fell back to CPU; ``"cpu"``.
ONNX Runtime falls back silently, so the provider is read back from ``session.get_providers()``.

Small helpers used by the benchmark and tests (the depth stage proper lives in ``dreamrooms.depth``):
``ModelSession.depth_input(image)`` / ``depth_output(raw, h, w)`` / ``run_depth(image)``, and
``ModelSession.generate(z, height, width)`` for generators.
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

import numpy as np

from dreamrooms.models import ModelEntry, ModelError, _fmt_shape, _fmt_type

DEVICES = ("auto", "cpu", "cuda")
_GPU_ORDER = ("CUDAExecutionProvider", "DmlExecutionProvider", "CoreMLExecutionProvider")


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def choose_providers(device: str = "auto") -> list[str]:
    """The provider list to ask for, best first, always ending in CPU."""
    if device not in DEVICES:
        raise ModelError(f"device {device!r}; use one of {', '.join(DEVICES)}")
    if device == "cpu":
        return ["CPUExecutionProvider"]
    avail = available_providers()
    if device == "cuda":
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    return [p for p in _GPU_ORDER if p in avail] + ["CPUExecutionProvider"]


@dataclass
class ModelSession:
    session: object
    provider: str
    entry: ModelEntry
    input_names: list[str]
    output_names: list[str]
    requested: list[str] = field(default_factory=list)
    input_name: str = ""          # the manifest's main input, resolved
    output_name: str = ""         # the manifest's main output, resolved
    _grids: dict = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ depth helpers
    def depth_size(self, height: int, width: int) -> tuple[int, int]:
        """The network input size (H, W) for a source image, per the manifest's resize policy."""
        return network_size(self.entry.input, height, width)

    def depth_input(self, image: np.ndarray) -> np.ndarray:
        """sRGB-encoded float HxWx3 in 0..1 -> normalised float32 1x3xh x w at the network size."""
        import cv2

        inp = self.entry.input
        h, w = image.shape[:2]
        nh, nw = self.depth_size(h, w)
        x = image.astype(np.float32, copy=False)
        if (nh, nw) != (h, w):
            x = cv2.resize(x, (nw, nh), interpolation=cv2.INTER_AREA if nh < h else cv2.INTER_CUBIC)
        lo, hi = inp.get("range", [0.0, 1.0])
        if (lo, hi) != (0.0, 1.0):
            x = x * (hi - lo) + lo
        if not inp.get("normalization_in_graph", False):
            x = (x - np.asarray(inp["mean"], np.float32)) / np.asarray(inp["std"], np.float32)
        return np.ascontiguousarray(x.transpose(2, 0, 1)[None])

    def depth_output(self, raw: np.ndarray, height: int, width: int) -> np.ndarray:
        """Model output (1xHxW or 1x1xHxW) -> float32 HxW at the source size."""
        import cv2

        y = raw.reshape(raw.shape[-2], raw.shape[-1]).astype(np.float32, copy=False)
        if y.shape != (height, width):
            y = cv2.resize(y, (width, height), interpolation=cv2.INTER_LINEAR)
        return y

    def run_depth(self, image: np.ndarray) -> np.ndarray:
        """The model's raw prediction (per its output semantics) for one image, at the image's size."""
        x = self.depth_input(image)
        raw = self.session.run([self.output_name], {self.input_name: x})[0]
        return self.depth_output(raw, image.shape[0], image.shape[1])

    # ------------------------------------------------------------------ generator helpers
    def generate(self, z: np.ndarray, height: int | None = None, width: int | None = None) -> np.ndarray:
        """Latents [B, latent_dim] -> images B x H x W x 3 float32 sRGB in 0..1."""
        g = self.entry.generator or {}
        feeds = {g.get("latent_input") or g.get("mapping_input"): np.asarray(z, np.float32).reshape(len(z), -1)}
        if g.get("grid_input"):
            if height is None or width is None:
                height, width = g.get("native_size", [512, 512])
            key = (int(height), int(width))
            if key not in self._grids:          # built once per size and reused
                self._grids.clear()
                self._grids[key] = coordinate_grid(*key)
            feeds[g["grid_input"]] = self._grids[key]
        out = np.asarray(self.session.run([g.get("output", "image")], feeds)[0], np.float32)  # no copy if float32
        lo, hi = g.get("output_range", [0.0, 1.0])
        if (lo, hi) != (0.0, 1.0):
            out -= np.float32(lo)
            out *= np.float32(1.0 / (hi - lo))
        np.clip(out, 0, 1, out=out)             # in place on the contiguous NCHW buffer
        return out.transpose(0, 2, 3, 1)        # a view: no copy


def coordinate_grid(height: int, width: int) -> np.ndarray:
    """[1,2,H,W] float32: x (scaled by W/H) and y in [-1,1], for coordinate generators (CPPN)."""
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float32)
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float32) * np.float32(width / height)
    xx, yy = np.meshgrid(xs, ys)
    return np.stack([xx, yy])[None].astype(np.float32)


def _round_to(v: float, m: int, mode: str) -> int:
    if mode == "lower_bound":
        r = int(np.ceil(v / m) * m)
    elif mode == "upper_bound":
        r = int(np.floor(v / m) * m)
    else:
        r = int(round(v / m) * m)
    return max(m, r)


def network_size(inp: dict, height: int, width: int) -> tuple[int, int]:
    """Network input size for a source image. Fixed ``size`` wins; otherwise keep the aspect,
    scale so the short side (lower_bound: both sides >= target) or the long side (upper_bound:
    both sides <= target) meets ``target``, and round each side to ``multiple_of`` (up for
    lower_bound, down for upper_bound, nearest for fixed)."""
    if "size" in inp:
        return int(inp["size"][0]), int(inp["size"][1])
    m = int(inp["multiple_of"])
    target = int(inp["target"])
    mode = inp.get("resize", "lower_bound")
    if mode == "upper_bound":
        s = target / max(height, width)
    elif mode == "lower_bound":
        s = target / min(height, width)
    else:
        return _round_to(target, m, "fixed"), _round_to(target, m, "fixed")
    return _round_to(height * s, m, mode), _round_to(width * s, m, mode)


# ---------------------------------------------------------------------------- I/O checks

def _io(sess):
    # int dims stay ints; symbolic dims keep their name (str); unknown ones are None
    fmt = lambda args: {a.name: ([d if isinstance(d, (int, str)) else None for d in (a.shape or [])], a.type)
                        for a in args}
    return fmt(sess.get_inputs()), fmt(sess.get_outputs())


def _pick(kind: str, want: str, have: dict, entry: ModelEntry, field_: str) -> str:
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
    return f"{_fmt_shape(shape)} {_fmt_type(typ)}"


def check_io(entry: ModelEntry, session=None) -> tuple[str, str]:
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
    ins, outs = _io(session)
    where = entry.manifest or "its manifest entry"
    if entry.kind == "depth":
        inp = entry.input
        iname = _pick("input", inp.get("name", ""), ins, entry, "input.name")
        shape, typ = ins[iname]
        if typ != "tensor(float)":
            raise ModelError(f"model {entry.name!r} input {iname!r} is {_describe(shape, typ)}; dreamrooms feeds "
                             f"float32 images (re-export the model with a float input)")
        if len(shape) != 4:
            raise ModelError(f"model {entry.name!r} input {iname!r} is {_describe(shape, typ)} (rank {len(shape)}); "
                             f"a depth model needs an NCHW image of rank 4")
        if (isinstance(shape[1], int) and shape[1] != 3) or (not isinstance(shape[1], int) and shape[3] == 3):
            raise ModelError(f"model {entry.name!r} input {iname!r} is {_describe(shape, typ)}; NCHW needs 3 channels "
                             f"in dimension 1 (layout NHWC is not supported)")
        fixed = isinstance(shape[2], int) and isinstance(shape[3], int)
        if fixed:
            if "size" not in inp:
                raise ModelError(f"model {entry.name!r} expects {_describe(shape, typ)}, manifest says multiple of "
                                 f"{inp.get('multiple_of')}; set size = [{shape[2]}, {shape[3]}] in {where}")
            if list(inp["size"]) != [shape[2], shape[3]]:
                raise ModelError(f"model {entry.name!r} expects {_describe(shape, typ)}, manifest says size "
                                 f"{inp['size'][0]}x{inp['size'][1]}; fix input.size in {where}")
        oname = _pick("output", entry.output.get("name", ""), outs, entry, "output.name")
        oshape, otyp = outs[oname]
        if otyp not in ("tensor(float)", "tensor(float16)"):
            raise ModelError(f"model {entry.name!r} output {oname!r} is {_describe(oshape, otyp)}; expected float depth")
        if len(oshape) not in (3, 4) or (len(oshape) == 4 and isinstance(oshape[1], int) and oshape[1] != 1):
            raise ModelError(f"model {entry.name!r} output {oname!r} is {_describe(oshape, otyp)}; a depth model "
                             f"outputs BxHxW or Bx1xHxW")
        return iname, oname
    if entry.kind == "generator":
        g = entry.generator or {}
        # a file split at W (mapping in a separate z -> w model) takes W, not z, as its latent input
        mapped = bool(g.get("mapping_input"))
        zname = g.get("mapping_input") if mapped else g.get("latent_input")
        zname = _pick("input", zname, ins, entry, "generator.mapping_input" if mapped else "generator.latent_input")
        zshape, ztyp = ins[zname]
        if ztyp != "tensor(float)" or len(zshape) != 2:
            raise ModelError(f"model {entry.name!r} latent input {zname!r} is {_describe(zshape, ztyp)}; expected "
                             f"Bx{g.get('latent_dim')} float")
        if not mapped and isinstance(zshape[1], int) and zshape[1] != g.get("latent_dim"):
            raise ModelError(f"model {entry.name!r} expects {_describe(zshape, ztyp)}, manifest says latent_dim "
                             f"{g.get('latent_dim')}; fix generator.latent_dim in {where}")
        if g.get("grid_input"):
            gname = _pick("input", g["grid_input"], ins, entry, "generator.grid_input")
            gshape, gtyp = ins[gname]
            if gtyp != "tensor(float)" or len(gshape) != 4 or (isinstance(gshape[1], int) and gshape[1] != 2):
                raise ModelError(f"model {entry.name!r} grid input {gname!r} is {_describe(gshape, gtyp)}; expected "
                                 f"1x2xHxW float")
        extra = set(ins) - {zname, g.get("grid_input", "")} - set(g.get("noise_inputs") or [])
        if extra:
            raise ModelError(f"model {entry.name!r} has inputs the manifest does not describe: {', '.join(sorted(extra))}")
        oname = _pick("output", g.get("output", ""), outs, entry, "generator.output")
        oshape, otyp = outs[oname]
        if len(oshape) != 4 or (isinstance(oshape[1], int) and oshape[1] != 3):
            raise ModelError(f"model {entry.name!r} output {oname!r} is {_describe(oshape, otyp)}; a generator "
                             f"outputs Bx3xHxW")
        return zname, oname
    # other kinds: just make sure named things exist
    return next(iter(ins)), next(iter(outs))


def open_session(entry: ModelEntry, device: str = "auto", threads: int | None = None) -> ModelSession:
    """Build the InferenceSession for an installed model, read back the provider that runs it,
    and check its I/O against the manifest."""
    import onnxruntime as ort

    if not entry.installed:
        raise ModelError(f"model {entry.name!r} is not installed at {entry.path}"
                         + (f"; run `dreamrooms models fetch {entry.name}`" if entry.url else ""))
    providers = choose_providers(device)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = int(threads) if threads else max(1, min(os.cpu_count() or 1, 8))
    opts.inter_op_num_threads = 1
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    opts.log_severity_level = 3   # fallbacks are reported by us, in one line
    # our stages decode and write frames on threads beside inference; ORT's workers spin-waiting between
    # kernels would take those cores (walk 512px on 2 cores: 0.81x -> 0.89-0.94x of a bare loop)
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    avail = set(available_providers())
    asked = [p for p in providers if p in avail] or ["CPUExecutionProvider"]
    try:
        sess = ort.InferenceSession(str(entry.path), opts, providers=asked)
    except Exception as exc:
        raise ModelError(f"{entry.path}: ONNX Runtime cannot load model {entry.name!r} "
                         f"({str(exc).splitlines()[0][:200]})") from None
    running = sess.get_providers()[0]
    if device in ("cuda", "auto") and providers[0] != "CPUExecutionProvider" and running == "CPUExecutionProvider":
        print(f"dreamrooms: warning: {entry.name}: asked for {providers[0]} but ONNX Runtime runs on CPU "
              f"(available: {', '.join(sorted(avail))}); install onnxruntime-gpu and CUDA/cuDNN for GPU inference",
              file=sys.stderr)
    iname, oname = check_io(entry, sess)
    return ModelSession(session=sess, provider=running, entry=entry,
                        input_names=[i.name for i in sess.get_inputs()],
                        output_names=[o.name for o in sess.get_outputs()],
                        requested=providers, input_name=iname, output_name=oname)
