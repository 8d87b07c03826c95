"""The one torch -> ONNX path: export (opset 17, TorchScript exporter), check the graph, and compare ONNX Runtime
with torch on given inputs; a file whose outputs differ by more than `tol` is not written."""
from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np

from dreamrooms.atomic import atomic_path
from dreamrooms.errors import DreamroomsError

OPSET = 17


class ExportError(DreamroomsError):
    """The export did not produce a faithful ONNX model."""


def ort_session(path: str | Path, threads: int = 2):
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def export_onnx(model, example_args: tuple, path: Path, input_names, output_names, dynamic_axes, *,
                check_inputs: dict[str, np.ndarray] | None = None, tol: float = 1e-3, producer: str = "dreamrooms") -> float:
    """Export `model` to `path` atomically; with `check_inputs` (name -> array) compare ONNX Runtime against
    torch on them and return the max abs difference (0.0 without a check)."""
    import onnx
    import torch

    err = 0.0
    with atomic_path(path) as tmp:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # the TorchScript exporter: no onnxscript needed
            torch.onnx.export(model, example_args, str(tmp), input_names=list(input_names),
                              output_names=list(output_names), dynamic_axes=dynamic_axes, opset_version=OPSET,
                              dynamo=False, do_constant_folding=True)
        m = onnx.load(str(tmp))
        onnx.checker.check_model(m)
        m.producer_name = producer
        m.doc_string = f"dreamrooms model {path.stem}"
        onnx.save(m, str(tmp))
        if check_inputs is not None:
            with torch.no_grad():
                want = model(*(torch.from_numpy(check_inputs[n]) for n in input_names))
            want = (want if isinstance(want, (tuple, list)) else (want,))[0].numpy()
            got = ort_session(tmp).run([output_names[0]], check_inputs)[0]
            err = float(np.abs(got - want).max())
            if not err <= tol:
                raise ExportError(f"{path}: ONNX output differs from torch by {err:.2e} (> {tol:g}); not written")
    return err
