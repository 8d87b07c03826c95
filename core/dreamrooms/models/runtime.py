"""ONNX Runtime sessions: one factory, the provider that really runs, and I/O checks against the manifest.

    from dreamrooms.models import resolve
    from dreamrooms.models.runtime import open_session
    ms = open_session(resolve("tinydepth", kind="depth"), device="auto", threads=2)
    ms.provider            # e.g. "CPUExecutionProvider" (what actually runs)
    ms.session.run(...)    # the raw onnxruntime.InferenceSession

``device``: ``"auto"`` tries CUDA, DirectML, CoreML, then CPU (whatever this onnxruntime build
has); ``"cuda"`` asks for the GPU and warns on stderr when the session fell back to CPU; ``"cpu"``.
ONNX Runtime falls back silently, so the provider is read back from ``session.get_providers()``.

What goes in and comes out of a model is checked by :func:`dreamrooms.models.contracts.check_io`; the
stages prepare inputs themselves (:mod:`dreamrooms.depth.image`, :mod:`dreamrooms.walk.generator`).
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field

from dreamrooms.models.contracts import check_io
from dreamrooms.models.integrity import verify
from dreamrooms.models.registry import ModelEntry, ModelError, models_dir

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


def verify_file(entry: ModelEntry) -> str:
    """Check the model file against its manifest's sha256 before it runs (cached by size and mtime, so this
    costs a hash only when the file changed); an entry without a hash gets the file's, for provenance."""
    got = verify(entry.path, entry.sha256, entry.name, cache_dir=models_dir())
    if not entry.sha256:
        entry.sha256 = got
    return got


def open_session(entry: ModelEntry, device: str = "auto", threads: int | None = None) -> ModelSession:
    """Build the InferenceSession for an installed model, read back the provider that runs it,
    and check its I/O against the manifest."""
    import onnxruntime as ort

    if not entry.installed:
        raise ModelError(f"model {entry.name!r} is not installed at {entry.path}"
                         + (f"; run `dreamrooms models fetch {entry.name}`" if entry.url else ""))
    verify_file(entry)
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
