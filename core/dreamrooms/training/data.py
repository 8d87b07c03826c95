"""Synthetic depth data from :mod:`dreamrooms.training.synth` (numpy only).

Images are sRGB-encoded 0..1 float32 NCHW (what depth models take), depth is
float32 along the camera axis. Each sample is one random room seen from its
random camera, so a seed fully determines a sample.
"""
from __future__ import annotations

import numpy as np

from dreamrooms.colour import linear_to_srgb
from dreamrooms.training import synth
from dreamrooms.progress import progress

# held-out evaluation set reported in the tinydepth model card (seeds never used for training)
EVAL_SEEDS = range(900_000, 900_048)
EVAL_SIZE = (128, 160)          # H, W
TRAIN_SEED_BASE = 0


def render_set(seeds, height: int, width: int, desc: str = "rendering synthetic rooms"):
    """Return (images N,3,H,W sRGB 0..1 float32, depth N,H,W float32)."""
    seeds = list(seeds)
    imgs = np.zeros((len(seeds), 3, height, width), np.float32)
    depths = np.zeros((len(seeds), height, width), np.float32)
    bar = progress(len(seeds), desc)
    for k, s in enumerate(seeds):
        scene = synth.random_scene(int(s))
        rgb, depth = synth.render_scene(scene, scene.camera, width, height)
        imgs[k] = linear_to_srgb(rgb).transpose(2, 0, 1)
        depths[k] = depth
        bar.update(1)
    bar.close()
    return imgs, depths
