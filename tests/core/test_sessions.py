"""Sessions: provider read-back, and I/O checks against the manifest on built-ins and malformed models."""
from __future__ import annotations


import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from dreamrooms import models
from dreamrooms.models import runtime
from dreamrooms.models import contracts
from dreamrooms.errors import DreamroomsError
from dreamrooms.models import ModelEntry
from dreamrooms.depth.image import bilinear_upsample, network_size, preprocess
from dreamrooms.walk.generator import generator_for

import _walk_fixtures as fx  # noqa: E402


def make_depth_onnx(path, in_shape=("N", 3, "H", "W"), in_type=TensorProto.FLOAT, out_rank=4,
                    in_name="image", out_name="depth"):
    """A real, runnable 'depth model': the channel mean of the image."""
    x = helper.make_tensor_value_info(in_name, in_type, list(in_shape))
    axes = helper.make_tensor("axes", TensorProto.INT64, [1], [1])
    nodes = [helper.make_node("Cast", [in_name], ["xf"], to=TensorProto.FLOAT),
             helper.make_node("ReduceMean", ["xf"], ["m4"], axes=[1], keepdims=1)]
    if out_rank == 4:
        nodes.append(helper.make_node("Identity", ["m4"], [out_name]))
        oshape = [in_shape[0], 1] + list(in_shape[2:])
    else:
        nodes.append(helper.make_node("Squeeze", ["m4", "axes"], [out_name]))
        oshape = [in_shape[0]] + list(in_shape[2:])
    y = helper.make_tensor_value_info(out_name, TensorProto.FLOAT, oshape if len(in_shape) == 4 else None)
    g = helper.make_graph(nodes, "d", [x], [y], initializer=[axes] if out_rank == 3 else [])
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)], producer_name="dreamrooms-tests")
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def depth_entry(path, **inp):
    base = {"name": "image", "layout": "NCHW", "multiple_of": 32, "target": 64, "resize": "lower_bound",
            "normalization_in_graph": True, "range": [0.0, 1.0]}
    base.update(inp)
    for k in [k for k, v in base.items() if v is None]:
        base.pop(k)
    return ModelEntry(name="testdepth", kind="depth", path=path, input=base,
                      output={"name": "depth", "semantics": "inverse_relative"})


def run_depth(ms, image: np.ndarray) -> np.ndarray:
    """One frame the way the depth stage prepares it (its own network size and preprocessing), raw output back
    at the image's size."""
    net_hw = network_size(ms.entry.input, *image.shape[:2])
    x, _ = preprocess(image, net_hw, ms.entry.input)
    raw = ms.session.run([ms.output_name], {ms.input_name: x[None]})[0]
    return bilinear_upsample(raw.reshape(raw.shape[-2:]), *image.shape[:2])


def test_builtins_open_on_cpu_and_report_provider():
    for name, kind in (("tinydepth", "depth"), ("cppn-walk", "generator")):
        entry = models.resolve(name, kind=kind)
        ms = runtime.open_session(entry, device="cpu", threads=1)
        assert ms.provider == "CPUExecutionProvider"
        assert ms.provider == ms.session.get_providers()[0]
        assert ms.entry is entry
    ms = runtime.open_session(models.resolve("cppn-walk"), device="auto", threads=1)
    assert ms.input_names == ["z", "grid"] and ms.output_names == ["image"]
    img = generator_for(models.resolve("cppn-walk"), device="auto", threads=1).render(np.zeros((2, 64), np.float32), (40, 56))
    assert img.shape == (2, 40, 56, 3) and 0 <= img.min() and img.max() <= 1


def test_generate_maps_an_8_bit_output_range_to_0_1(tmp_path):
    """A generator that outputs uint8 0..255 (output_range [0, 255]) gives float images in 0..1."""
    nodes = [helper.make_node("MatMul", ["z", "W"], ["m"]), helper.make_node("Reshape", ["m", "shape"], ["r"]),
             helper.make_node("Cast", ["r"], ["image"], to=TensorProto.UINT8)]
    graph = helper.make_graph(
        nodes, "g8", [helper.make_tensor_value_info("z", TensorProto.FLOAT, ["B", 2])],
        [helper.make_tensor_value_info("image", TensorProto.UINT8, ["B", 3, 1, 2])],
        [helper.make_tensor("W", TensorProto.FLOAT, [2, 6], [0, 51, 102, 153, 204, 255, 0, 0, 0, 0, 0, 0]),
         helper.make_tensor("shape", TensorProto.INT64, [4], [-1, 3, 1, 2])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(tmp_path / "g8.onnx"))
    entry = ModelEntry(name="g8", kind="generator", path=tmp_path / "g8.onnx",
                       generator={"latent_input": "z", "latent_dim": 2, "output": "image", "output_range": [0, 255]})
    img = generator_for(entry, device="cpu", threads=1).render(np.array([[1, 0]], np.float32), (1, 2))
    assert img.dtype == np.float32
    assert np.allclose(img[0].transpose(2, 0, 1).ravel(), [0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_cuda_request_on_cpu_build_warns_and_says_cpu(capsys):
    import onnxruntime as ort

    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("this onnxruntime has CUDA; the fallback warning cannot be provoked")
    ms = runtime.open_session(models.resolve("tinydepth"), device="cuda", threads=1)
    assert ms.provider == "CPUExecutionProvider"
    err = capsys.readouterr().err
    assert "CUDAExecutionProvider" in err and "runs on CPU" in err and err.count("\n") == 1


def test_bad_device_is_an_error():
    with pytest.raises(DreamroomsError, match="device 'tpu'"):
        runtime.open_session(models.resolve("tinydepth"), device="tpu")


def test_runnable_depth_model_runs_through_helpers(tmp_path):
    p = make_depth_onnx(tmp_path / "mean.onnx")
    ms = runtime.open_session(depth_entry(p), device="cpu", threads=1)
    img = np.random.default_rng(0).random((50, 70, 3)).astype(np.float32)
    x, _ = preprocess(img, network_size(ms.entry.input, 50, 70), ms.entry.input)
    assert x.shape == (3, 64, 96)   # short side >= 64, multiples of 32, aspect kept
    out = run_depth(ms, img)
    assert out.shape == (50, 70)
    assert abs(float(out.mean()) - float(img.mean())) < 0.02


@pytest.mark.parametrize("case, kwargs, entry_kw, message", [
    ("rank", {"in_shape": ("N", 3, "H")}, {}, r"testdepth.*'image' is Nx3xH float \(rank 3\).*rank 4"),
    ("dtype", {"in_type": TensorProto.UINT8}, {}, r"'image' is Nx3xHxW uint8; dreamrooms feeds float32"),
    ("missing output", {"out_name": "disparity"}, {}, r"has no output 'depth' \(it has: disparity\)"),
    ("missing input", {"in_name": "pixel_values"}, {}, r"has no input 'image' \(it has: pixel_values\)"),
    ("channels", {"in_shape": ("N", "H", "W", 3)}, {}, r"3 channels"),
    ("fixed vs multiple", {"in_shape": (1, 3, 518, 518)}, {},
     r"model 'testdepth' expects 1x3x518x518 float, manifest says multiple of 32"),
    ("fixed vs size", {"in_shape": (1, 3, 256, 256)}, {"size": [384, 384], "multiple_of": None, "target": None},
     r"expects 1x3x256x256 float, manifest says size 384x384"),
])
def test_malformed_depth_models_name_the_mismatch(tmp_path, case, kwargs, entry_kw, message):
    p = make_depth_onnx(tmp_path / "bad.onnx", **kwargs)
    with pytest.raises(DreamroomsError, match=message):
        runtime.open_session(depth_entry(p, **entry_kw), device="cpu", threads=1)


def test_fixed_size_model_with_matching_manifest_opens(tmp_path):
    p = make_depth_onnx(tmp_path / "fixed.onnx", in_shape=(1, 3, 64, 64), out_rank=3)
    ms = runtime.open_session(depth_entry(p, size=[64, 64], multiple_of=None, target=None, resize="fixed"),
                               device="cpu", threads=1)
    assert network_size(ms.entry.input, 480, 640) == (64, 64)
    assert run_depth(ms, np.full((30, 40, 3), 0.5, np.float32)).shape == (30, 40)


def test_generator_latent_dim_mismatch(tmp_path):
    entry = models.resolve("cppn-walk")
    bad = ModelEntry(name="cppn-bad", kind="generator", path=entry.path,
                     generator={**entry.generator, "latent_dim": 32})
    with pytest.raises(DreamroomsError, match="latent_dim 32"):
        runtime.open_session(bad, device="cpu")
    bad2 = ModelEntry(name="cppn-bad", kind="generator", path=entry.path,
                      generator={**entry.generator, "grid_input": "coords"})
    with pytest.raises(DreamroomsError, match=r"no input 'coords' \(it has: z, grid\)"):
        runtime.open_session(bad2, device="cpu")


def test_not_an_onnx_file(tmp_path):
    p = tmp_path / "junk.onnx"
    p.write_bytes(b"this is not protobuf at all" * 10)
    with pytest.raises(DreamroomsError, match="junk.onnx"):
        runtime.open_session(depth_entry(p), device="cpu")


@pytest.mark.parametrize("inp, hw, expect", [
    # each side the nearest multiple, never under the target (DA-V2 util/transform.py Resize); rounding up gave 256
    ({"multiple_of": 32, "target": 128, "resize": "lower_bound"}, (1080, 1920), (128, 224)),
    ({"multiple_of": 14, "target": 518, "resize": "lower_bound"}, (1080, 1920), (518, 924)),
    ({"multiple_of": 14, "target": 518, "resize": "lower_bound"}, (480, 640), (518, 686)),
    ({"multiple_of": 14, "target": 504, "resize": "longest_side"}, (1080, 1920), (280, 504)),
    ({"multiple_of": 32, "target": 256, "resize": "upper_bound"}, (1080, 1920), (128, 256)),
    ({"size": [256, 256]}, (1080, 1920), (256, 256)),
])
def test_network_size_policies(inp, hw, expect):
    h, w = contracts.network_size(inp, *hw)
    assert (h, w) == expect
    if "multiple_of" in inp:
        m = inp["multiple_of"]
        assert h % m == 0 and w % m == 0
        if inp["resize"] == "lower_bound":
            assert min(h, w) >= inp["target"]
        else:
            assert max(h, w) <= inp["target"]


def test_generator_noise_inputs_listed_in_the_manifest_are_accepted(tmp_path):
    path = fx.fixed_onnx(tmp_path / "g.onnx", noise=True)
    gen = {"latent_input": "z", "latent_dim": 8, "output": "image", "output_range": [-1, 1]}
    entry = ModelEntry(name="g", kind="generator", path=path, generator={**gen, "noise_inputs": ["noise"]})
    assert contracts.check_io(entry) == ("z", "image")
    unlisted = ModelEntry(name="g", kind="generator", path=path, generator=gen)
    with pytest.raises(DreamroomsError, match="inputs the manifest does not describe: noise"):
        contracts.check_io(unlisted)


def test_generator_split_at_w_takes_w_not_z(tmp_path):
    path = fx.fixed_onnx(tmp_path / "synthesis.onnx", dim=16, w_input="w")
    entry = ModelEntry(name="s", kind="generator", path=path,
                       generator={"latent_input": "z", "latent_dim": 8, "mapping_input": "w",
                                  "mapping_model": "mapping.onnx", "output": "image"})
    assert contracts.check_io(entry) == ("w", "image")
