"""cppn-walk: a compositional pattern-producing network (coordinates + latent z -> RGB) (torch).

Not trained: its weights are drawn from a fixed numpy seed, so the network is the same on every
machine. Inputs ``z`` float32 [B,64] (standard normal latents) and ``grid`` float32 [1,2,H,W]
(x, y in [-1,1], x scaled by the aspect W/H); output ``image`` float32 [B,3,H,W] sRGB in 0..1.
Everything is 1x1 convolutions, so any resolution works and the cost is linear in pixels.

Structure: random Fourier features of the coordinates whose frequencies and phases are modulated
by z (textures that slide and morph as z moves), plus x, y and radius; three hidden layers
(tanh, sin, tanh) each biased by a projection of z; a sigmoid colour head. Every step is smooth
in z, so a smooth path through z gives a smooth clip.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

LATENT_DIM = 64
HIDDEN = 48
N_FREQ = 32
SEED = 20240611


class CPPN(nn.Module):
    def __init__(self, seed: int = SEED, latent_dim: int = LATENT_DIM, hidden: int = HIDDEN, n_freq: int = N_FREQ):
        super().__init__()
        rng = np.random.default_rng(seed)
        t = lambda a: torch.tensor(np.asarray(a, dtype=np.float32))
        # coordinate frequencies: a spread of scales, from broad shapes to fine texture
        radii = np.exp(rng.uniform(np.log(0.6), np.log(9.0), n_freq))
        ang = rng.uniform(0, 2 * np.pi, n_freq)
        self.freq = nn.Parameter(t(np.stack([radii * np.cos(ang), radii * np.sin(ang)], 1)[:, :, None, None]), requires_grad=False)
        self.phase0 = nn.Parameter(t(rng.uniform(0, 2 * np.pi, (1, n_freq, 1, 1))), requires_grad=False)
        # z -> per-frequency phase shift and scale modulation
        self.z_phase = nn.Linear(latent_dim, n_freq)
        self.z_scale = nn.Linear(latent_dim, n_freq)
        nin = 3 + n_freq
        self.l1 = nn.Conv2d(nin, hidden, 1)
        self.l2 = nn.Conv2d(hidden, hidden, 1)
        self.l3 = nn.Conv2d(hidden, hidden, 1)
        self.out = nn.Conv2d(hidden, 3, 1)
        self.z1 = nn.Linear(latent_dim, hidden)
        self.z2 = nn.Linear(latent_dim, hidden)
        self.z3 = nn.Linear(latent_dim, hidden)
        with torch.no_grad():
            def init(layer, fan_in, gain, bias=0.0):
                layer.weight.copy_(t(rng.normal(0, gain / np.sqrt(fan_in), tuple(layer.weight.shape))))
                layer.bias.copy_(t(rng.normal(0, bias, tuple(layer.bias.shape))) if bias else torch.zeros_like(layer.bias))
            init(self.z_phase, latent_dim, 1.2)
            init(self.z_scale, latent_dim, 0.25)
            init(self.l1, nin, 2.0, 0.3)
            init(self.l2, hidden, 3.0, 0.5)
            init(self.l3, hidden, 1.6, 0.3)
            init(self.out, hidden, 2.0, 0.3)
            init(self.z1, latent_dim, 0.8)
            init(self.z2, latent_dim, 1.0)
            init(self.z3, latent_dim, 0.6)
        for p in self.parameters():
            p.requires_grad_(False)

    def forward(self, z, grid):
        x = grid[:, 0:1]
        y = grid[:, 1:2]
        r = torch.sqrt(x * x + y * y)
        proj = (grid[:, 0:1] * self.freq[:, 0:1].reshape(1, -1, 1, 1)
                + grid[:, 1:2] * self.freq[:, 1:2].reshape(1, -1, 1, 1))          # [1,F,H,W]
        scale = 1.0 + 0.5 * torch.tanh(self.z_scale(z))[:, :, None, None]           # [B,F,1,1]
        phase = self.phase0 + self.z_phase(z)[:, :, None, None]                   # [B,F,1,1]
        ff = torch.sin(proj * scale + phase)                                      # [B,F,H,W]
        b = z.shape[0]
        coords = torch.cat([x, y, r], 1).expand(b, -1, -1, -1)
        h = torch.tanh(self.l1(torch.cat([coords, ff], 1)) + self.z1(z)[:, :, None, None])
        h = torch.sin(self.l2(h) + self.z2(z)[:, :, None, None])
        h = torch.tanh(self.l3(h) + self.z3(z)[:, :, None, None])
        return torch.sigmoid(self.out(h))
