"""Tiny generator ONNX files built with the onnx helper API (no torch) for walk/generate tests."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper, numpy_helper

from dreamrooms.walk import generator
from dreamrooms.walk import run as walk_stage

OPSET = [helper.make_opsetid("", 17)]


def _init(name, arr):
    return numpy_helper.from_array(np.asarray(arr, np.float32), name)


def _save(graph, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="dreamrooms-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def cppn_onnx(path: Path, dim: int = 8, hidden: int = 16, seed: int = 0) -> Path:
    """z [B, dim] + grid [1, 2, H, W] -> image [B, 3, H, W] in 0..1 (sigmoid), smooth in z."""
    rng = np.random.default_rng(seed)
    inits = [
        _init("wg", rng.normal(0, 2.0, (hidden, 2, 1, 1))),
        _init("wz", rng.normal(0, 0.7, (dim, hidden))),
        _init("w2", rng.normal(0, 1.0 / np.sqrt(hidden), (hidden, hidden, 1, 1))),
        _init("w3", rng.normal(0, 1.5 / np.sqrt(hidden), (3, hidden, 1, 1))),
        numpy_helper.from_array(np.array([2, 3], np.int64), "axes"),
    ]
    nodes = [
        helper.make_node("Conv", ["grid", "wg"], ["g"]),
        helper.make_node("MatMul", ["z", "wz"], ["zf"]),
        helper.make_node("Unsqueeze", ["zf", "axes"], ["zf4"]),
        helper.make_node("Add", ["g", "zf4"], ["h0"]),
        helper.make_node("Tanh", ["h0"], ["h1"]),
        helper.make_node("Conv", ["h1", "w2"], ["h2"]),
        helper.make_node("Sin", ["h2"], ["h3"]),
        helper.make_node("Conv", ["h3", "w3"], ["o"]),
        helper.make_node("Sigmoid", ["o"], ["image"]),
    ]
    graph = helper.make_graph(
        nodes, "tiny_cppn",
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", dim]),
         helper.make_tensor_value_info("grid", TensorProto.FLOAT, [1, 2, "height", "width"])],
        [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, "height", "width"])],
        inits)
    return _save(graph, path)


def fixed_onnx(path: Path, dim: int = 8, size: int = 16, seed: int = 1, w_input: str | None = None,
               noise: bool = False) -> Path:
    """latent [B, dim] -> image [B, 3, size, size] in -1..1 (tanh): a fixed-size generator.

    With `w_input` the latent input is named that (a synthesis network taking W); with `noise` an
    extra float input `noise` [1, 1, size, size] is added to the image (a constant-noise input).
    """
    rng = np.random.default_rng(seed)
    name = w_input or "z"
    inits = [_init("wmat", rng.normal(0, 0.6, (dim, 3 * size * size))),
             numpy_helper.from_array(np.array([-1, 3, size, size], np.int64), "shape")]
    nodes = [helper.make_node("MatMul", [name, "wmat"], ["f"]),
             helper.make_node("Reshape", ["f", "shape"], ["f4"])]
    inputs = [helper.make_tensor_value_info(name, TensorProto.FLOAT, ["batch", dim])]
    last = "f4"
    if noise:
        inits.append(_init("ns", [0.1]))
        nodes += [helper.make_node("Mul", ["noise", "ns"], ["nz"]), helper.make_node("Add", [last, "nz"], ["fn"])]
        inputs.append(helper.make_tensor_value_info("noise", TensorProto.FLOAT, [1, 1, size, size]))
        last = "fn"
    nodes.append(helper.make_node("Tanh", [last], ["image"]))
    graph = helper.make_graph(nodes, "tiny_fixed", inputs,
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, ["batch", 3, size, size])], inits)
    return _save(graph, path)


def mapping_onnx(path: Path, dim: int = 8, wdim: int = 8, seed: int = 2) -> Path:
    """z [B, dim] -> w [B, wdim]: a two-layer MLP with leaky ReLU (a StyleGAN-like mapping)."""
    rng = np.random.default_rng(seed)
    inits = [_init("m1", rng.normal(0, 1 / np.sqrt(dim), (dim, wdim))), _init("b1", rng.normal(0.3, 0.1, (wdim,))),
             _init("m2", rng.normal(0, 1 / np.sqrt(wdim), (wdim, wdim)))]
    nodes = [helper.make_node("MatMul", ["z", "m1"], ["a"]), helper.make_node("Add", ["a", "b1"], ["ab"]),
             helper.make_node("LeakyRelu", ["ab"], ["h"], alpha=0.2), helper.make_node("MatMul", ["h", "m2"], ["w"])]
    graph = helper.make_graph(nodes, "tiny_mapping", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["batch", dim])],
                              [helper.make_tensor_value_info("w", TensorProto.FLOAT, ["batch", wdim])], inits)
    return _save(graph, path)


def make_generator(path: Path, gen_dict: dict, name: str = "tiny", mapping: Path | None = None) -> generator.Generator:
    """A Generator over a bare session (stand-in for dreamrooms.models in unit tests)."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    msess = ort.InferenceSession(str(mapping), opts, providers=["CPUExecutionProvider"]) if mapping else None
    spec = generator.GeneratorSpec.from_dict(gen_dict, where=name)
    return generator.Generator(sess, spec, name=name, sha256="0" * 64, path=path, mapping_session=msess)


CPPN_DICT = {"latent_input": "z", "latent_dim": 8, "grid_input": "grid", "output": "image",
             "output_range": [0.0, 1.0], "output_colorspace": "srgb"}
