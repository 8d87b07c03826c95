"""A depth network of real size for benchmarks: ViT/14 encoder + DPT head in the Depth Anything V2 shapes
(ViT-S: DA-V2 Small, Distill-Any-Depth Small; ViT-B: DA-V2 Base; ViT-L: DA-V2 Large).

Random weights (fixed seed): the benchmark measures time, not quality.  Shapes follow DA-V2 Small as its paper
and config describe it (DINOv2 ViT-S/14: 384 wide, 12 blocks, 6 heads; DPT head with 64 features, readout
channels 48/96/192/384 from blocks 3, 6, 9, 12); the code is written here, not taken from the authors.  Exported
with the onnx-community signature: pixel_values [batch_size, 3, height, width] -> predicted_depth
[batch_size, height, width], H and W dynamic multiples of 14.
"""
from __future__ import annotations

import warnings
from pathlib import Path


# encoder width, blocks, heads, readout blocks, DPT features, readout channels (DA-V2 configs vits/vitb/vitl)
SHAPES = {"vits": (384, 12, 6, (2, 5, 8, 11), 64, (48, 96, 192, 384)),
          "vitb": (768, 12, 12, (2, 5, 8, 11), 128, (96, 192, 384, 768)),
          "vitl": (1024, 24, 16, (4, 11, 17, 23), 256, (256, 512, 1024, 1024))}


def build(seed: int = 0, encoder: str = "vits"):
    """The torch module (eval mode, random weights from `seed`)."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    torch.manual_seed(seed)
    dim, depth, heads, taps, feats, outs = SHAPES[encoder]
    patch = 14

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.n1, self.n2 = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
            self.qkv, self.proj = nn.Linear(dim, 3 * dim), nn.Linear(dim, dim)
            self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Linear(4 * dim, dim))

        def forward(self, x):
            b, n, _ = x.shape
            q, k, v = self.qkv(self.n1(x)).reshape(b, n, 3, heads, dim // heads).permute(2, 0, 3, 1, 4)
            a = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(b, n, dim)
            x = x + self.proj(a)
            return x + self.mlp(self.n2(x))

    class Unit(nn.Module):          # residual conv unit of a DPT fusion block
        def __init__(self):
            super().__init__()
            self.c1, self.c2 = nn.Conv2d(feats, feats, 3, padding=1), nn.Conv2d(feats, feats, 3, padding=1)

        def forward(self, x):
            return x + self.c2(F.relu(self.c1(F.relu(x))))

    class Fuse(nn.Module):
        def __init__(self, skip: bool):
            super().__init__()
            self.u1 = Unit() if skip else None
            self.u2, self.out = Unit(), nn.Conv2d(feats, feats, 1)

        def forward(self, x, skip=None, size=None):
            if skip is not None:
                x = x + self.u1(skip)
            x = self.u2(x)
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=True) if size is not None else \
                F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=True)
            return self.out(x)

    class ViTSDPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = nn.Conv2d(3, dim, patch, stride=patch)
            self.cls = nn.Parameter(torch.randn(1, 1, dim) * 0.02)
            self.pos = nn.Parameter(torch.randn(1, 1 + 37 * 37, dim) * 0.02)   # trained at 518 = 37 patches
            self.blocks = nn.ModuleList(Block() for _ in range(depth))
            self.norm = nn.LayerNorm(dim, eps=1e-6)
            self.projects = nn.ModuleList(nn.Conv2d(dim, c, 1) for c in outs)
            self.resize = nn.ModuleList([nn.ConvTranspose2d(outs[0], outs[0], 4, stride=4),
                                         nn.ConvTranspose2d(outs[1], outs[1], 2, stride=2), nn.Identity(),
                                         nn.Conv2d(outs[3], outs[3], 3, stride=2, padding=1)])
            self.rn = nn.ModuleList(nn.Conv2d(c, feats, 3, padding=1, bias=False) for c in outs)
            self.fuse = nn.ModuleList([Fuse(True), Fuse(True), Fuse(True), Fuse(False)])
            self.head1 = nn.Conv2d(feats, feats // 2, 3, padding=1)
            self.head2 = nn.Sequential(nn.Conv2d(feats // 2, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 1, 1), nn.ReLU())

        def forward(self, x):
            b, _, h, w = x.shape
            ph, pw = h // patch, w // patch
            t = self.embed(x).flatten(2).transpose(1, 2)
            grid = self.pos[:, 1:].reshape(1, 37, 37, dim).permute(0, 3, 1, 2)
            grid = F.interpolate(grid, size=(ph, pw), mode="bicubic", align_corners=False)
            t = torch.cat([self.cls.expand(b, -1, -1) + self.pos[:, :1], t + grid.flatten(2).transpose(1, 2)], 1)
            maps = []
            for i, blk in enumerate(self.blocks):
                t = blk(t)
                if i in taps:
                    m = self.norm(t)[:, 1:].transpose(1, 2).reshape(b, dim, ph, pw)
                    j = len(maps)
                    maps.append(self.rn[j](self.resize[j](self.projects[j](m))))
            l1, l2, l3, l4 = maps
            p = self.fuse[3](l4, size=l3.shape[2:])
            p = self.fuse[2](p, l3, size=l2.shape[2:])
            p = self.fuse[1](p, l2, size=l1.shape[2:])
            p = self.fuse[0](p, l1)
            p = F.interpolate(self.head1(p), size=(ph * patch, pw * patch), mode="bilinear", align_corners=True)
            return F.relu(self.head2(p))[:, 0]

    model = ViTSDPT()
    with torch.no_grad():   # random weights leave the last ReLU almost always at 0: give the map a positive,
        model.head2[2].bias.fill_(3.0)          # varying range so every later stage sees a real depth map
        model.head2[2].weight.mul_(200.0)
    return model.eval()


def export(path, seed: int = 0, side: int = 518, encoder: str = "vits") -> Path:
    """Write the network as ONNX with the onnx-community DA-V2 signature; returns the path."""
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(build(seed, encoder), (torch.rand(1, 3, side, side),), str(path),
                          input_names=["pixel_values"], output_names=["predicted_depth"],
                          dynamic_axes={"pixel_values": {0: "batch_size", 2: "height", 3: "width"},
                                        "predicted_depth": {0: "batch_size", 1: "height", 2: "width"}},
                          opset_version=17, dynamo=False)
    return path
