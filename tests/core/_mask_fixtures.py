"""Runnable ONNX stand-ins with the exact I/O signatures of the fetchable mask and inpainting models.

* Mask R-CNN (onnx/models MaskRCNN-10): input `image` float 3xHxW; outputs boxes Nx4, labels N int64,
  scores N, masks Nx1x28x28 (output names as the zoo's MaskRCNN-12 export, 6568/6570/6572/6887).  The
  stand-in returns the instances it is built with, whatever the image: the test knows where the objects
  are, so it checks our preprocessing scale and the pasting of 28x28 masks into boxes.
* BiRefNet lite: input 1x3x1024x1024 ImageNet-normalised RGB, first output 1x1x1024x1024 logits; the
  stand-in (a torch 1x1 convolution, exported) scores "red minus green", so a red object is the subject.
* LaMa (Carve/LaMa-ONNX): inputs image 1x3x512x512 (0..1) and mask 1x1x512x512; output 1x3x512x512 in
  0..255; the stand-in returns a constant colour.
"""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def _save(graph, path, opset: int = 17):
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="dreamrooms-tests")
    m.ir_version = 8
    onnx.save(m, str(path))
    return path


def maskrcnn_onnx(path, boxes, labels, scores, masks):
    """Mask R-CNN signature returning fixed detections (network pixel boxes)."""
    x = helper.make_tensor_value_info("image", TensorProto.FLOAT, [3, "height", "width"])
    consts = {"6568": np.asarray(boxes, np.float32).reshape(-1, 4), "6570": np.asarray(labels, np.int64),
              "6572": np.asarray(scores, np.float32), "6887": np.asarray(masks, np.float32).reshape(-1, 1, 28, 28)}
    nodes, inits, outs = [], [], []
    # touch the input so the graph is a function of it (ORT prunes nothing; shapes stay dynamic)
    inits.append(numpy_helper.from_array(np.zeros((), np.float32), "zero"))
    nodes.append(helper.make_node("ReduceMax", ["image"], ["mx"], keepdims=0))
    nodes.append(helper.make_node("Mul", ["mx", "zero"], ["z"]))
    for name, arr in consts.items():
        inits.append(numpy_helper.from_array(arr, f"c{name}"))
        if arr.dtype == np.float32:
            nodes.append(helper.make_node("Add", [f"c{name}", "z"], [name]))
            typ = TensorProto.FLOAT
        else:
            nodes.append(helper.make_node("Identity", [f"c{name}"], [name]))
            typ = TensorProto.INT64
        dims = ["nbox"] + list(arr.shape[1:])
        outs.append(helper.make_tensor_value_info(name, typ, dims))
    return _save(helper.make_graph(nodes, "maskrcnn-standin", [x], outs, initializer=inits), path)


def birefnet_onnx(path):
    """BiRefNet-lite signature: logits = 40 * (red - green - 0.07) of the de-normalised image."""
    import torch

    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)

    class Stand(torch.nn.Module):
        def forward(self, x):
            rgb = x * std + mean
            return 40.0 * (rgb[:, 0:1] - rgb[:, 1:2] - 0.07)

    import warnings

    with warnings.catch_warnings():   # the TorchScript exporter's deprecation notice
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(Stand(), torch.zeros(1, 3, 1024, 1024), str(path), input_names=["input_image"],
                          output_names=["output_image"], opset_version=17, dynamo=False)
    return path


def lama_onnx(path, colour=(0.25, 0.5, 0.75)):
    """Carve/LaMa-ONNX signature returning a constant colour (in 0..255) everywhere."""
    img = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 3, 512, 512])
    mask = helper.make_tensor_value_info("mask", TensorProto.FLOAT, [1, 1, 512, 512])
    out = helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 512, 512])
    c = numpy_helper.from_array((np.asarray(colour, np.float32) * 255.0).reshape(1, 3, 1, 1), "c")
    zero = numpy_helper.from_array(np.zeros((), np.float32), "zero")
    nodes = [helper.make_node("Mul", ["image", "zero"], ["z"]), helper.make_node("Mul", ["mask", "zero"], ["zm"]),
             helper.make_node("Add", ["z", "zm"], ["zz"]), helper.make_node("Add", ["zz", "c"], ["output"])]
    return _save(helper.make_graph(nodes, "lama-standin", [img, mask], [out], initializer=[c, zero]), path)


def box_and_mask(truth: np.ndarray, ratio: float):
    """The box (network pixels) and 28x28 mask a perfect Mask R-CNN would give for a true object mask."""
    import cv2

    ys, xs = np.nonzero(truth)
    x0, y0, x1, y1 = xs.min(), ys.min(), xs.max(), ys.max()
    crop = truth[y0:y1 + 1, x0:x1 + 1].astype(np.float32)
    m28 = cv2.resize(crop, (28, 28), interpolation=cv2.INTER_AREA)
    return [x0 * ratio, y0 * ratio, (x1 + 1) * ratio - 1, (y1 + 1) * ratio - 1], m28
