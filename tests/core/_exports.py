"""Small ONNX files with exactly the I/O signature of each public depth export, built with torch's exporter.

Each fixture computes something a test can predict from its input (so preprocessing mistakes show), with the
export's tensor names, layout, dynamic axes and output shape/semantics (sources in models_onnx/*.md):

* MiDaS v2.1 small (isl-org release): one input 1x3x256x256, one output 1x256x256, normalisation in the graph.
* Depth Anything V2, onnx-community: pixel_values [batch_size, 3, height, width] -> predicted_depth
  [batch_size, height, width]; expects ImageNet-normalised input; disparity.
* Depth Anything V2, fabio-sim static export: image 1x3x518x518 -> depth 1x518x518.
* An export that returns 518x518 whatever its (dynamic) input is.
* MoGe-2: image (0..1, dynamic) + num_tokens (int64 scalar) -> points NHWC, normal NHWC, mask NHW, metric_scale N.
* Depth Anything 3, onnx-community: pixel_values [batch, views, 3, H, W] -> predicted_depth [batch, views, H, W],
  depth (not disparity), saved as model.onnx + model.onnx_data.
* Video Depth Anything: frames [1, T, 3, H, W] -> [1, T, H, W] disparity, each window at its own scale.
* Depth Pro, onnx-community: pixel_values 1x3xSxS -> predicted_depth (metres) + focallength_px, external data.
"""
from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import onnx

MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def _torch():
    import torch

    return torch


def _export(module, args, path, inputs, outputs, dynamic, external_data: bool = False) -> Path:
    torch = _torch()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), args, str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)
    if external_data:                          # the onnx-community layout: weights beside the graph
        m = onnx.load(str(path))
        onnx.save_model(m, str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                        location=path.name + "_data", size_threshold=0)
    return path


def normalised(x):
    """What the net sees from sRGB 0..1 after ImageNet mean/std (numpy or torch, channel axis -3)."""
    shape = (3, 1, 1)
    mean = np.asarray(MEAN, np.float32).reshape(shape)
    std = np.asarray(STD, np.float32).reshape(shape)
    return (x - mean) / std


def _normaliser(torch):
    return torch.tensor(MEAN).view(3, 1, 1), torch.tensor(STD).view(3, 1, 1)


def midas_small(path) -> Path:
    """Inverse depth = 3 + channel mean of the in-graph normalised image (MidasNet_preprocessing)."""
    torch = _torch()
    mean, std = _normaliser(torch)

    class Midas(torch.nn.Module):
        def forward(self, x):
            return 3.0 + ((x - mean) / std).mean(1)

    return _export(Midas(), (torch.rand(1, 3, 256, 256),), path, ["input"], ["output"], None)


def depth_anything_v2(path, names=("pixel_values", "predicted_depth"), static: int | None = None,
                      out_size: int | None = None) -> Path:
    """Disparity = relu(3 + channel mean) of an already normalised image; `static` fixes the input at SxS,
    `out_size` resizes the output to SxS whatever the input (exports that bake a resize)."""
    torch = _torch()

    class DAV2(torch.nn.Module):
        def forward(self, x):
            d = torch.relu(3.0 + x.mean(1, keepdim=True))
            if out_size:
                d = torch.nn.functional.interpolate(d, size=(out_size, out_size), mode="bilinear",
                                                    align_corners=False)
            return d[:, 0]

    side = static or 70
    dyn = None if static else {names[0]: {0: "batch_size", 2: "height", 3: "width"},
                               names[1]: {0: "batch_size", 1: "height", 2: "width"}}
    return _export(DAV2(), (torch.rand(1, 3, side, side),), path, [names[0]], [names[1]], dyn)


def moge2(path, fov_x_deg: float = 60.0, shift: float = 0.4, scale: float = 2.0) -> Path:
    """A camera with horizontal FOV `fov_x_deg` looking at depth Z = 1 + channel mean (image 0..1): points
    (X, Y, Z - shift) / scale, normals facing the camera, mask 1 where Z > 1.05 (else 0), metric_scale."""
    torch = _torch()
    tan_half = math.tan(math.radians(fov_x_deg) / 2)

    class MoGe(torch.nn.Module):
        def forward(self, image, num_tokens):
            b, _, h, w = image.shape
            z = 1.0 + image.mean(1)
            fx = (w / 2) / tan_half
            ys = (torch.arange(h, dtype=torch.float32) + 0.5 - h / 2) / fx
            xs = (torch.arange(w, dtype=torch.float32) + 0.5 - w / 2) / fx
            yy, xx = torch.meshgrid(ys, xs, indexing="ij")
            points = torch.stack([xx * z, yy * z, z - shift], -1) / scale
            normal = torch.nn.functional.normalize(torch.stack([xx * z * 0, yy * z * 0, -torch.ones_like(z)], -1), dim=-1)
            mask = (z > 1.05).float()
            metric = torch.ones(b) * scale + num_tokens.float() * 0
            return points, normal, mask, metric

    return _export(MoGe(), (torch.rand(1, 3, 42, 56), torch.tensor(1200)), path,
                   ["image", "num_tokens"], ["points", "normal", "mask", "metric_scale"],
                   {"image": {0: "batch_size", 2: "height", 3: "width"}})


def depth_anything_3(path) -> Path:
    """Depth (not disparity) = exp(-channel mean) of the normalised 5-D input; model.onnx + model.onnx_data."""
    torch = _torch()

    class DA3(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.ones(1))      # a weight, so there is external data to store

        def forward(self, x):
            return torch.exp(-x.mean(2)) * self.w

    return _export(DA3(), (torch.rand(1, 1, 3, 28, 42),), path, ["pixel_values"], ["predicted_depth"],
                   {"pixel_values": {0: "batch", 1: "views", 3: "height", 4: "width"},
                    "predicted_depth": {0: "batch", 1: "views", 2: "height", 3: "width"}}, external_data=True)


def video_depth_anything(path, window: int = 32, static_hw: tuple[int, int] | None = None) -> Path:
    """Disparity = (3 + channel mean of the normalised frame) x a per-window gain that depends on how the
    window's last frame differs from its first, the way a clip model's scale differs from window to window."""
    torch = _torch()

    class VDA(torch.nn.Module):
        def forward(self, x):
            d = 3.0 + x.mean(2)                             # [1, T, H, W]
            gain = 1.0 + 20.0 * (d[:, -1:] - d[:, :1]).mean(dim=(2, 3), keepdim=True).abs()
            return d * gain

    h, w = static_hw or (28, 42)
    dyn = None if static_hw else {"frames": {3: "height", 4: "width"}, "depth": {2: "height", 3: "width"}}
    return _export(VDA(), (torch.rand(1, window, 3, h, w),), path, ["frames"], ["depth"], dyn)


def depth_pro(path, side: int = 1536, fov_x_deg: float = 55.0) -> Path:
    """Metric depth = 1 + channel mean (input normalised with mean/std 0.5) and focallength_px for a horizontal
    FOV of `fov_x_deg` at the network width; model.onnx + model.onnx_data."""
    torch = _torch()
    f_px = (side / 2) / math.tan(math.radians(fov_x_deg) / 2)

    class Pro(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.f = torch.nn.Parameter(torch.tensor([f_px]))

        def forward(self, x):
            return 1.0 + (x * 0.5 + 0.5).mean(1), self.f * (1.0 + 0.0 * x[:, 0, 0, 0])

    return _export(Pro(), (torch.rand(1, 3, side, side),), path, ["pixel_values"],
                   ["predicted_depth", "focallength_px"], None, external_data=True)
