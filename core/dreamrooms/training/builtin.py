"""Build the built-in models into models_onnx/: ``python -m dreamrooms.training.builtin``.

    python -m dreamrooms.training.builtin [--out models_onnx] [--only tinydepth|cppn-walk]
        [--steps 6000] [--images 2400] [--threads 2]

* ``cppn-walk``: constructed from a fixed seed (no training), exported to ONNX, checked against torch.
* ``tinydepth``: renders synthetic rooms with :mod:`dreamrooms.training.synth` (seeds 0..images-1), trains
  with fixed seeds, exports, checks ONNX against torch (max abs diff), measures AbsRel/delta1 on the
  held-out set (:data:`dreamrooms.training.data.EVAL_SEEDS`) with ONNX Runtime, and writes the card.

Each model's sha256 and size are written back into ``models.toml``. Files are written atomically.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import numpy as np

from dreamrooms.atomic import write_text_atomic
from dreamrooms.models import sha256_file
from dreamrooms.training.onnx_export import export_onnx, ort_session

REPO_MODELS = Path(__file__).resolve().parents[3] / "models_onnx"


def log(msg: str) -> None:
    print(f"[builtin] {msg}", file=sys.stderr, flush=True)


def update_manifest(out: Path, name: str, path: Path) -> None:
    """Rewrite sha256 and size of [models.NAME] in out/models.toml (line-level, keeps comments)."""
    manifest = out / "models.toml"
    if not manifest.exists():
        log(f"{manifest} missing; not recording sha256 for {name}")
        return
    lines = manifest.read_text(encoding="utf-8").splitlines(keepends=True)
    header = f"[models.{name}]"
    inside = False
    for k, line in enumerate(lines):
        s = line.strip()
        if s.startswith("["):
            inside = s == header
            continue
        if inside and re.match(r"sha256\s*=", s):
            lines[k] = f'sha256 = "{sha256_file(path)}"\n'
        elif inside and re.match(r"size\s*=", s):
            lines[k] = f"size = {path.stat().st_size}\n"
    write_text_atomic(manifest, "".join(lines))




# ---------------------------------------------------------------------------- cppn-walk

def build_cppn(out: Path) -> dict:
    import torch

    from dreamrooms.training.cppn import CPPN, LATENT_DIM, SEED
    from dreamrooms.models.contracts import coordinate_grid as make_grid

    t0 = time.time()
    model = CPPN().eval()
    path = out / "cppn-walk.onnx"
    z = torch.randn(2, LATENT_DIM, generator=torch.Generator().manual_seed(0))
    grid = torch.from_numpy(make_grid(48, 64))
    # checked against torch at another size and batch
    rng = np.random.default_rng(1)
    zt = rng.standard_normal((3, LATENT_DIM)).astype(np.float32)
    gt = make_grid(96, 160)
    diff = export_onnx(model, (z, grid), path, ["z", "grid"], ["image"],
                       {"z": {0: "batch"}, "grid": {2: "height", 3: "width"},
                        "image": {0: "batch", 2: "height", 3: "width"}},
                       check_inputs={"z": zt, "grid": gt}, tol=1e-4, producer="dreamrooms.training.builtin")
    log(f"cppn-walk: ONNX vs torch max abs diff {diff:.2e}")
    # speed at 512x512 on this machine
    sess = ort_session(path)
    g512 = make_grid(512, 512)
    sess.run(None, {"z": zt[:1], "grid": g512})
    t1 = time.time()
    for _ in range(3):
        sess.run(None, {"z": zt[:1], "grid": g512})
    fps = 3 / (time.time() - t1)
    update_manifest(out, "cppn-walk", path)
    info = {"seed": SEED, "diff": diff, "fps": fps, "seconds": time.time() - t0,
            "params": sum(p.numel() for p in model.parameters()), "size": path.stat().st_size}
    write_text_atomic(out / "cppn-walk.md", CPPN_CARD.format(**info))
    log(f"cppn-walk: wrote {path} ({info['size']} bytes), {fps:.1f} frames/s at 512x512")
    return info


CPPN_CARD = """# cppn-walk (built-in generator)

**What it is.** A compositional pattern-producing network: for every pixel it maps the pixel's
coordinates (x, y, radius and 32 Fourier features whose frequencies and phases are modulated by the
latent) plus a 64-d latent `z` through three hidden layers (tanh, sin, tanh; 48 units, each biased by
a projection of `z`) to RGB through a sigmoid. Every operation is a 1x1 convolution, so it renders at
any resolution, and every operation is smooth in `z`, so a smooth path through `z` (a latent walk)
gives a smooth clip of abstract, textured imagery.

**How it was made.** Not trained: all {params} weights are drawn from numpy's PCG64 with seed
{seed} by `dreamrooms/training/cppn.py` and exported to ONNX (opset 17) by
`python -m dreamrooms.training.builtin --only cppn-walk` (`python3 build.py models`).

**I/O.**
- `z` float32 [B, 64], standard-normal latents (B dynamic).
- `grid` float32 [1, 2, H, W]: channel 0 is x, channel 1 is y, y in [-1, 1] top to bottom, x in
  [-W/H, W/H] (scaled by the aspect ratio so pixels are square); H and W dynamic.
- `image` float32 [B, 3, H, W], sRGB-encoded, in 0..1.

**Measured.** ONNX Runtime output matches torch to {diff:.1e} (max abs); {fps:.1f} frames/s at
512x512 on the build machine's CPU (2 threads). File size {size} bytes.

**License.** MIT (part of dreamrooms; the weights are ours).
"""


# ---------------------------------------------------------------------------- tinydepth

def build_tinydepth(out: Path, steps: int, images: int, threads: int) -> dict:
    import torch

    from dreamrooms.training import data, tinydepth
    from dreamrooms.training import metrics as evaluate

    torch.set_num_threads(threads)
    t_all = time.time()
    h, w = data.EVAL_SIZE
    t0 = time.time()
    imgs, depths = data.render_set(range(data.TRAIN_SEED_BASE, data.TRAIN_SEED_BASE + images), h, w,
                                   desc="rendering training rooms")
    t_render = time.time() - t0
    log(f"tinydepth: rendered {images} training rooms at {w}x{h} in {t_render:.0f} s")
    model, t_train = tinydepth.train(imgs, depths, steps=steps, batch=tinydepth.BATCH, threads=threads, log=log)
    del imgs, depths
    path = out / "tinydepth.onnx"
    x = torch.rand(1, 3, 64, 96, generator=torch.Generator().manual_seed(0))
    ev_imgs, ev_depth = data.render_set(data.EVAL_SEEDS, h, w, desc="rendering held-out rooms")
    diff = export_onnx(model, (x,), path, ["image"], ["inverse_depth"],
                       {"image": {0: "batch", 2: "height", 3: "width"},
                        "inverse_depth": {0: "batch", 2: "height", 3: "width"}},
                       check_inputs={"image": np.ascontiguousarray(ev_imgs[:8], np.float32)}, tol=1e-3,
                       producer="dreamrooms.training.builtin")
    got = evaluate.run_onnx_depth(path, ev_imgs)
    log(f"tinydepth: ONNX vs torch max abs diff {diff:.2e} (output range {got.min():.3f}..{got.max():.3f})")
    m = evaluate.depth_metrics(got, ev_depth)
    base = evaluate.constant_baseline(ev_depth)
    update_manifest(out, "tinydepth", path)
    info = {"steps": steps, "batch": tinydepth.BATCH, "images": images, "threads": threads, "t_render": t_render, "t_train": t_train,
            "t_total": time.time() - t_all, "absrel": m["absrel"], "delta1": m["delta1"],
            "b_absrel": base["absrel"], "b_delta1": base["delta1"], "diff": diff,
            "params": sum(p.numel() for p in model.parameters()), "size": path.stat().st_size,
            "eval_first": data.EVAL_SEEDS.start, "eval_last": data.EVAL_SEEDS.stop - 1,
            "n_eval": len(data.EVAL_SEEDS), "h": h, "w": w}
    write_text_atomic(out / "tinydepth.md", TINYDEPTH_CARD.format(**info))
    log(f"tinydepth: AbsRel {m['absrel']:.4f} delta1 {m['delta1']:.4f} "
        f"(constant baseline AbsRel {base['absrel']:.4f} delta1 {base['delta1']:.4f}); "
        f"training {t_train:.0f} s, total {info['t_total']:.0f} s")
    return info


TINYDEPTH_CARD = """# tinydepth (built-in depth model)

**What it is.** A small U-Net ({params} parameters: five stride-2 encoder levels, 16-64 channels,
nearest-upsampling decoder with skip connections) that predicts **relative inverse depth**
(larger = closer, defined up to scale and shift) from one image. It exists so that dreamrooms runs
offline on any machine; for real footage use `depth-anything-v2-small` or `midas-v21-small`.

**How it was trained.** `python3 build.py models` (`python -m dreamrooms.training.builtin`):
{images} procedurally generated rooms (random size, textured walls, boxes, spheres, wall panels,
1-3 point lights with shadows) rendered at {w}x{h} with exact depth by the project's numpy ray
caster `dreamrooms.training.synth` (seeds 0..{images}-1), random 128x128 crops, flips and gain/gamma jitter;
{steps} AdamW steps of batch {batch} (one-cycle LR, max 2e-3) on a scale-invariant log loss plus a
multi-scale gradient-matching term; torch seed 0, {threads} CPU threads.
Rendering took {t_render:.0f} s, training {t_train:.0f} s, the whole build {t_total:.0f} s.

**I/O.** Input `image` float32 [B, 3, H, W], sRGB-encoded in 0..1 (normalisation is inside the
graph), H and W multiples of 32 (any size; best near 128-256 px on the short side). Output
`inverse_depth` float32 [B, 1, H, W], positive.

**Measured quality** on the held-out synthetic set ({n_eval} rooms, seeds {eval_first}..{eval_last},
{w}x{h}, never seen in training), ONNX Runtime, prediction aligned to ground-truth inverse depth by
per-image least-squares scale and shift, AbsRel and delta1 (ratio < 1.25) in depth:

| metric | tinydepth | constant-depth baseline |
| --- | --- | --- |
| AbsRel | {absrel:.4f} | {b_absrel:.4f} |
| delta1 | {delta1:.4f} | {b_delta1:.4f} |

(`tests/core/test_builtin_models.py` recomputes these numbers.) ONNX Runtime output matches torch
to {diff:.1e} (max abs). These are synthetic rooms only: on real photographs expect much worse.

**License.** MIT (part of dreamrooms; trained from scratch on data the project generates).
"""


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m dreamrooms.training.builtin", description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=REPO_MODELS, help="output folder (default: the repo's models_onnx/)")
    ap.add_argument("--only", choices=("tinydepth", "cppn-walk"), help="build just this model")
    ap.add_argument("--steps", type=int, default=6000, help="tinydepth training steps")
    ap.add_argument("--images", type=int, default=2400, help="tinydepth training rooms")
    ap.add_argument("--threads", type=int, default=2, help="torch CPU threads")
    args = ap.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        import torch  # noqa: F401
    except ImportError:
        print("building the built-in models needs torch: pip install -e .[train]", file=sys.stderr)
        return 1
    if args.only in (None, "cppn-walk"):
        build_cppn(args.out)
    if args.only in (None, "tinydepth"):
        build_tinydepth(args.out, args.steps, args.images, args.threads)
    return 0


if __name__ == "__main__":
    sys.exit(main())
