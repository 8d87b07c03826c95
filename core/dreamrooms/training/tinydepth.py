"""tinydepth: a small U-Net that predicts relative inverse depth, trained on synthetic rooms (torch).

Output: ``inverse_depth`` [B,1,H,W], positive, larger = closer, defined up to scale (and, for
metrics, shift). Input: ``image`` [B,3,H,W] sRGB 0..1 with normalisation inside the graph; H and W
must be multiples of 32.

Loss: scale-invariant log loss (Eigen et al.) on inverse depth plus a multi-scale gradient term,
so the network learns shapes, not the absolute scale it cannot know.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from dreamrooms.progress import progress

MEAN = (0.45, 0.45, 0.45)
STD = (0.25, 0.25, 0.25)
BATCH = 8


def _block(cin, cout, stride=1):
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, stride, 1), nn.ReLU(inplace=True),
        nn.Conv2d(cout, cout, 3, 1, 1), nn.ReLU(inplace=True),
    )


class TinyDepth(nn.Module):
    def __init__(self, widths=(16, 24, 32, 48, 64)):
        super().__init__()
        self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1))
        w = widths
        self.enc = nn.ModuleList()
        cin = 3
        for c in w:                      # 5 stride-2 levels: /2 ... /32
            self.enc.append(_block(cin, c, stride=2))
            cin = c
        self.dec = nn.ModuleList()
        for k in range(len(w) - 1, 0, -1):  # /32 -> /2
            self.dec.append(_block(cin + w[k - 1], w[k - 1]))
            cin = w[k - 1]
        self.head = nn.Conv2d(cin, 1, 3, 1, 1)

    def forward(self, image):
        x = (image - self.mean) / self.std
        skips = []
        for e in self.enc:
            x = e(x)
            skips.append(x)
        skips.pop()
        for d in self.dec:
            x = F.interpolate(x, scale_factor=2.0, mode="nearest")
            x = d(torch.cat([x, skips.pop()], 1))
        logd = self.head(x)
        logd = F.interpolate(logd, scale_factor=2.0, mode="bilinear", align_corners=False)
        return torch.exp(logd)          # positive inverse relative depth


def _loss(pred_inv, gt_depth):
    lp = torch.log(pred_inv.squeeze(1).clamp_min(1e-6))
    lg = -torch.log(gt_depth)
    diff = lp - lg
    diff = diff - diff.mean(dim=(1, 2), keepdim=True)      # scale invariance
    silog = (diff ** 2).mean()
    grad = 0.0
    d = diff.unsqueeze(1)
    for s in range(3):
        gx = (d[..., :, 1:] - d[..., :, :-1]).abs().mean()
        gy = (d[..., 1:, :] - d[..., :-1, :]).abs().mean()
        grad = grad + gx + gy
        d = F.avg_pool2d(d, 2)
    return silog + 0.5 * grad


def _augment(imgs, depths, rng, crop=(128, 128)):
    n, _, h, w = imgs.shape
    ch, cw = crop
    out_i = np.empty((n, 3, ch, cw), np.float32)
    out_d = np.empty((n, ch, cw), np.float32)
    for k in range(n):
        y = int(rng.integers(0, h - ch + 1))
        x = int(rng.integers(0, w - cw + 1))
        im = imgs[k, :, y:y + ch, x:x + cw]
        dp = depths[k, y:y + ch, x:x + cw]
        if rng.random() < 0.5:
            im, dp = im[:, :, ::-1], dp[:, ::-1]
        gain = rng.uniform(0.7, 1.3)
        gamma = rng.uniform(0.8, 1.25)
        im = np.clip(im * gain, 0, 1) ** gamma
        out_i[k] = im
        out_d[k] = dp
    return out_i, out_d


def train(imgs, depths, *, steps=6000, batch=BATCH, lr=2e-3, seed=0, threads=2, log=print):
    """Train TinyDepth on (N,3,H,W) images and (N,H,W) depths; returns (model, seconds)."""
    torch.manual_seed(seed)
    torch.set_num_threads(threads)
    rng = np.random.default_rng(seed)
    model = TinyDepth()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    t0 = time.time()
    model.train()
    bar = progress(steps, "training tinydepth", unit="step")
    run = None
    for step in range(steps):
        idx = rng.integers(0, len(imgs), batch)
        bi, bd = _augment(imgs[idx], depths[idx], rng)
        pred = model(torch.from_numpy(bi))
        loss = _loss(pred, torch.from_numpy(bd))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run = loss.item() if run is None else 0.98 * run + 0.02 * loss.item()
        bar.update(1)
        if (step + 1) % 100 == 0:
            log(f"step {step + 1}/{steps} loss {run:.4f} ({time.time() - t0:.0f} s)")
    bar.close()
    model.eval()
    return model, time.time() - t0


@torch.no_grad()
def predict(model, imgs, batch=8):
    out = []
    for k in range(0, len(imgs), batch):
        out.append(model(torch.from_numpy(imgs[k:k + batch])).squeeze(1).numpy())
    return np.concatenate(out, 0)


def from_onnx(path) -> TinyDepth:
    """A TinyDepth whose weights are read from an exported tinydepth.onnx (initializers are named
    by the torch state-dict keys), to compare the ONNX graph with the torch network."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(str(path))
    weights = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    model = TinyDepth()
    state = model.state_dict()
    missing = [k for k in state if k not in weights]
    if missing:
        raise ValueError(f"{path}: not a tinydepth export (missing {', '.join(missing[:3])})")
    model.load_state_dict({k: torch.from_numpy(np.array(weights[k])) for k in state})
    return model.eval()
