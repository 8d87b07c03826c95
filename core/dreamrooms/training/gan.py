"""Train a small generator on your own images (torch; imported only by `dreamrooms train`).

The design is a compact DCGAN with StyleGAN-lite touches, suited to datasets of ~100-5000 images:

* Generator: z (N(0, I), `latent_dim`) -> linear -> 4x4 -> [nearest 2x upsample, 3x3 conv, pixel norm,
  leaky ReLU] x2 per resolution -> 3x3 conv to RGB -> tanh (output in -1..1, sRGB-encoded).  Pixel
  norm instead of batch norm, so the exported ONNX behaves exactly like training (no batch statistics).
* Discriminator: 3x3/4x4 stride-2 convs with spectral norm and leaky ReLU, hinge loss.
* Differentiable augmentation (DiffAugment-style: colour, translation, cutout) on every image the
  discriminator sees, real or fake, so ~150 images do not make it memorise and collapse.
* An exponential moving average of the generator's weights (what is sampled and exported).

Every `checkpoint_every` steps: `checkpoints/latest.pt` (+ a numbered copy), `samples/step-NNNNNN.png`
(a 4x4 grid from fixed seeds) and `loss.csv`.  `--resume` continues from latest.pt; `--from MODEL_DIR`
starts from another run's weights (fine-tuning, same size and latent_dim).

The photos it trains on are loaded and checked by :mod:`dreamrooms.training.photos`.
"""
from __future__ import annotations

import csv
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from dreamrooms.atomic import atomic_path, write_text_atomic
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.training.photos import load_images

SIZES = (32, 64, 128, 256)
SAMPLE_SEED = 20240611


class TrainError(DreamroomsError):
    """Training cannot start or resume with these settings."""


@dataclass
class TrainConfig:
    size: int = 64
    latent_dim: int = 128
    channels: int = 256       # feature maps at 4x4; halved per doubling, at least 16
    steps: int = 5000
    batch: int = 32
    lr: float = 2e-4
    ema: float = 0.999
    augment: str = "color,translation,cutout"
    checkpoint_every: int = 500
    seed: int = 0

    def model_key(self) -> dict:
        return {"size": self.size, "latent_dim": self.latent_dim, "channels": self.channels}


# ---- torch part -------------------------------------------------------------------------------------
def torch_module():
    try:
        import torch
    except ImportError:
        raise TrainError("training needs torch: pip install 'dreamrooms[train]' (or torch for your CUDA)") from None
    return torch


def build_models(cfg: TrainConfig):
    torch = torch_module()
    nn = torch.nn
    F = torch.nn.functional
    sn = torch.nn.utils.spectral_norm

    class PixelNorm(nn.Module):
        def forward(self, x):
            return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + 1e-8)

    def ch(res):
        return max(16, min(cfg.channels, cfg.channels * 8 // res)) if res > 4 else cfg.channels

    class Generator(nn.Module):
        def __init__(self):
            super().__init__()
            self.latent_dim = cfg.latent_dim
            self.fc = nn.Linear(cfg.latent_dim, ch(4) * 16)
            self.norm = PixelNorm()
            blocks = []
            res = 4
            while res < cfg.size:
                cin, cout = ch(res), ch(res * 2)
                blocks.append(nn.Sequential(
                    nn.Upsample(scale_factor=2, mode="nearest"),
                    nn.Conv2d(cin, cout, 3, 1, 1), PixelNorm(), nn.LeakyReLU(0.2),
                    nn.Conv2d(cout, cout, 3, 1, 1), PixelNorm(), nn.LeakyReLU(0.2)))
                res *= 2
            self.blocks = nn.Sequential(*blocks)
            self.to_rgb = nn.Conv2d(ch(cfg.size), 3, 3, 1, 1)

        def forward(self, z):
            z = z * torch.rsqrt(torch.mean(z * z, dim=1, keepdim=True) + 1e-8)
            x = self.fc(z).view(z.shape[0], ch(4), 4, 4)
            x = F.leaky_relu(self.norm(x), 0.2)
            return torch.tanh(self.to_rgb(self.blocks(x)))

    class Discriminator(nn.Module):
        def __init__(self):
            super().__init__()
            layers = [sn(nn.Conv2d(3, ch(cfg.size), 3, 1, 1)), nn.LeakyReLU(0.2)]
            res = cfg.size
            while res > 4:
                layers += [sn(nn.Conv2d(ch(res), ch(res // 2), 4, 2, 1)), nn.LeakyReLU(0.2)]
                res //= 2
            self.features = nn.Sequential(*layers)
            self.out = sn(nn.Linear(ch(4) * 16, 1))

        def forward(self, x):
            return self.out(self.features(x).flatten(1))

    return Generator(), Discriminator()


def diff_augment(x, policy: str, gen):
    """Differentiable augmentation on a batch in -1..1: colour, translation (1/8), cutout (1/2)."""
    torch = torch_module()
    if not policy:
        return x
    b = x.shape[0]
    dev = x.device
    r = lambda *shape: torch.rand(*shape, generator=gen, device="cpu").to(dev)
    for p in policy.split(","):
        if p == "color":
            x = x + (r(b, 1, 1, 1) - 0.5)                                    # brightness
            m = x.mean(dim=1, keepdim=True)
            x = (x - m) * (r(b, 1, 1, 1) * 2) + m                            # saturation
            m = x.mean(dim=[1, 2, 3], keepdim=True)
            x = (x - m) * (r(b, 1, 1, 1) + 0.5) + m                          # contrast
        elif p == "translation":
            h, w = x.shape[2], x.shape[3]
            sh, sw = max(1, h // 8), max(1, w // 8)
            ty = (r(b) * (2 * sh + 1)).long() - sh
            tx = (r(b) * (2 * sw + 1)).long() - sw
            yy = torch.arange(h, device=dev)[None, :, None] - ty.to(dev)[:, None, None]
            xx = torch.arange(w, device=dev)[None, None, :] - tx.to(dev)[:, None, None]
            valid = ((yy >= 0) & (yy < h) & (xx >= 0) & (xx < w)).to(x.dtype)[:, None]
            idx = (yy.clamp(0, h - 1) * w + xx.clamp(0, w - 1)).view(b, 1, -1).expand(-1, x.shape[1], -1)
            x = torch.gather(x.reshape(b, x.shape[1], -1), 2, idx).view_as(x) * valid
        elif p == "cutout":
            h, w = x.shape[2], x.shape[3]
            ch_, cw = h // 2, w // 2
            cy = (r(b) * (h + 1 - ch_ % 2)).long().to(dev)
            cx = (r(b) * (w + 1 - cw % 2)).long().to(dev)
            yy = torch.arange(h, device=dev)[None, :, None]
            xx = torch.arange(w, device=dev)[None, None, :]
            inside = ((yy - cy[:, None, None]).abs() < ch_ // 2 + 1) & ((xx - cx[:, None, None]).abs() < cw // 2 + 1)
            x = x * (~inside).to(x.dtype)[:, None]
        elif p:
            raise TrainError(f"unknown augmentation {p!r}; use color, translation, cutout")
    return x


def sample_grid(g, latent_dim: int, path: Path, n: int = 16, device: str = "cpu") -> None:
    """A 4x4 grid of samples from fixed seeds (the same for every checkpoint), written atomically."""
    torch = torch_module()
    z = torch.from_numpy(np.random.default_rng(SAMPLE_SEED).standard_normal((n, latent_dim)).astype(np.float32)).to(device)
    with torch.no_grad():
        img = g(z).cpu().numpy()
    img = ((np.clip(img, -1, 1) + 1) * 127.5).round().astype(np.uint8).transpose(0, 2, 3, 1)
    side = int(math.ceil(math.sqrt(n)))
    s = img.shape[1]
    grid = np.full((side * s, side * s, 3), 0, np.uint8)
    for i, im in enumerate(img):
        grid[(i // side) * s:(i // side + 1) * s, (i % side) * s:(i % side + 1) * s] = im
    ok, buf = cv2.imencode(".png", grid[..., ::-1])
    with atomic_path(path) as tmp:
        tmp.write_bytes(buf.tobytes())


def _save_checkpoint(path: Path, state: dict) -> None:
    torch = torch_module()
    with atomic_path(path) as tmp:
        torch.save(state, str(tmp))


def load_checkpoint(model_dir: Path):
    torch = torch_module()
    ck = Path(model_dir) / "checkpoints" / "latest.pt"
    if not ck.is_file():
        raise TrainError(f"{model_dir}: no checkpoint (checkpoints/latest.pt); train first with `dreamrooms train IMAGES --out {model_dir}`")
    try:
        # weights_only: the restricted unpickler builds tensors, dicts, lists and numbers only, so a checkpoint from
        # someone else cannot run code (pytorch/pytorch#86812); ours hold nothing else
        return torch.load(str(ck), map_location="cpu", weights_only=True)
    except Exception as exc:
        reason = str(exc).strip().splitlines()[0][:160] if str(exc).strip() else type(exc).__name__
        raise TrainError(f"{ck}: not a dreamrooms checkpoint of plain tensors ({reason}); delete it and retrain, "
                         "or train from a checkpoint you made") from None


def pick_device(device: str) -> str:
    torch = torch_module()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise TrainError("--device cuda: torch sees no CUDA GPU; install a CUDA build of torch or use --device cpu")
    return device


def _starting_point(model_dir: Path, cfg: TrainConfig, resume: bool, from_model) -> tuple[dict | None, dict | None]:
    """(checkpoint to resume, checkpoint to fine-tune from), each checked against `cfg` before any work."""
    state = None
    if resume:
        state = load_checkpoint(model_dir)
        saved = state["config"]
        if {k: saved[k] for k in ("size", "latent_dim", "channels")} != cfg.model_key():
            raise TrainError(f"{model_dir}: checkpoint was trained with {dict((k, saved[k]) for k in ('size', 'latent_dim', 'channels'))}; "
                             "resume with the same --size/--latent-dim/--channels")
        if state["step"] >= cfg.steps:
            raise TrainError(f"{model_dir}: already trained {state['step']} steps; raise --steps to continue")
    elif (model_dir / "checkpoints" / "latest.pt").is_file():
        raise TrainError(f"{model_dir}: already holds a training run; pass --resume to continue it or pick a new --out")
    init = None
    if from_model is not None:
        if resume:
            raise TrainError("--from and --resume exclude each other: --resume continues this run, --from starts a new one from another")
        init = load_checkpoint(Path(from_model))
        saved = init["config"]
        if {k: saved[k] for k in ("size", "latent_dim", "channels")} != cfg.model_key():
            raise TrainError(f"--from {from_model}: that model is size {saved['size']}, latent_dim {saved['latent_dim']}, "
                             f"channels {saved['channels']}; train with the same settings to fine-tune it")
    return state, init


def _step(nets, opts, data_t, cfg: TrainConfig, gen, dev, step: int) -> tuple[float, float, float, float]:
    """One GAN step (hinge loss, DiffAugment, EMA of the generator); (d loss, g loss, mean D(real), mean D(fake))."""
    torch = torch_module()
    g, d, g_ema = nets
    opt_g, opt_d = opts
    idx = torch.randint(0, len(data_t), (cfg.batch,), generator=gen)
    real = data_t[idx]
    flip = torch.rand(cfg.batch, generator=gen) < 0.5
    real = torch.where(flip[:, None, None, None], real.flip(3), real).to(dev)
    z = torch.randn(cfg.batch, cfg.latent_dim, generator=gen).to(dev)
    # discriminator: hinge loss on augmented real and fake
    with torch.no_grad():
        fake = g(z)
    d_real = d(diff_augment(real, cfg.augment, gen))
    d_fake = d(diff_augment(fake, cfg.augment, gen))
    loss_d = torch.relu(1 - d_real).mean() + torch.relu(1 + d_fake).mean()
    opt_d.zero_grad(set_to_none=True)
    loss_d.backward()
    opt_d.step()
    # generator
    z = torch.randn(cfg.batch, cfg.latent_dim, generator=gen).to(dev)
    loss_g = -d(diff_augment(g(z), cfg.augment, gen)).mean()
    opt_g.zero_grad(set_to_none=True)
    loss_g.backward()
    opt_g.step()
    # EMA of the generator (ramped so short runs are not dominated by the init)
    decay = min(cfg.ema, (1 + step) / (10 + step))
    with torch.no_grad():
        for pe, p in zip(g_ema.parameters(), g.parameters()):
            pe.lerp_(p, 1 - decay)
    return (loss_d.detach().item(), loss_g.detach().item(), d_real.detach().mean().item(),
            d_fake.detach().mean().item())


def train(images_dir: str | Path, model_dir: str | Path, cfg: TrainConfig, resume: bool = False,
          from_model: str | Path | None = None, device: str = "auto", strict_modes: bool = False) -> Path:
    """Train (or resume) and return the path of the latest checkpoint."""
    torch = torch_module()
    model_dir = Path(model_dir)
    if cfg.size not in SIZES:
        raise TrainError(f"--size {cfg.size}: use one of {', '.join(map(str, SIZES))}")
    if cfg.steps < 1 or cfg.batch < 1:
        raise TrainError("--steps and --batch must be >= 1")
    state, init = _starting_point(model_dir, cfg, resume, from_model)

    data = load_images(images_dir, cfg.size, strict_modes=strict_modes)
    dev = pick_device(device)
    torch.manual_seed(cfg.seed)
    g, d = build_models(cfg)
    g_ema, _ = build_models(cfg)
    g.to(dev), d.to(dev), g_ema.to(dev)
    opt_g = torch.optim.Adam(g.parameters(), lr=cfg.lr, betas=(0.0, 0.99))
    opt_d = torch.optim.Adam(d.parameters(), lr=cfg.lr, betas=(0.0, 0.99))
    step = 0
    gen = torch.Generator().manual_seed(cfg.seed)
    src = state or init
    if src is not None:
        g.load_state_dict(src["g"]), d.load_state_dict(src["d"]), g_ema.load_state_dict(src["g_ema"])
    else:
        g_ema.load_state_dict(g.state_dict())
    if state is not None:
        opt_g.load_state_dict(state["opt_g"]), opt_d.load_state_dict(state["opt_d"])
        step = int(state["step"])
        gen.set_state(state["rng"])
    g_ema.eval().requires_grad_(False)

    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "samples").mkdir(exist_ok=True)
    write_text_atomic(model_dir / "config.json", json.dumps(
        {**asdict(cfg), "images": str(Path(images_dir).resolve()), "n_images": int(len(data)),
         "from": str(from_model) if from_model else None}, indent=1) + "\n")
    log_path = model_dir / "loss.csv"
    new_log = not log_path.is_file() or not resume
    log = open(log_path, "w" if new_log else "a", newline="")
    writer = csv.writer(log)
    if new_log:
        writer.writerow(["step", "d_loss", "g_loss", "d_real", "d_fake", "seconds"])
    data_t = torch.from_numpy(data)
    t0 = time.monotonic()
    bar = progress(cfg.steps, f"train {model_dir.name}", unit="step")
    bar.update(step)
    latest = model_dir / "checkpoints" / "latest.pt"
    try:
        while step < cfg.steps:
            ld, lg, dr, df = _step((g, d, g_ema), (opt_g, opt_d), data_t, cfg, gen, dev, step)
            step += 1
            if not (math.isfinite(lg) and math.isfinite(ld)):
                raise TrainError(f"training diverged at step {step} (loss is NaN/inf); lower --lr or resume from the last checkpoint")
            writer.writerow([step, f"{ld:.5f}", f"{lg:.5f}", f"{dr:.4f}", f"{df:.4f}", f"{time.monotonic() - t0:.2f}"])
            bar.update(1)
            if hasattr(bar, "set_postfix_str"):
                bar.set_postfix_str(f"d {ld:.3f} g {lg:.3f}")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                log.flush()
                ck = {"g": g.state_dict(), "d": d.state_dict(), "g_ema": g_ema.state_dict(),
                      "opt_g": opt_g.state_dict(), "opt_d": opt_d.state_dict(), "step": step,
                      "rng": gen.get_state(), "config": asdict(cfg)}
                _save_checkpoint(model_dir / "checkpoints" / f"step-{step:06d}.pt", ck)
                _save_checkpoint(latest, ck)
                sample_grid(g_ema, cfg.latent_dim, model_dir / "samples" / f"step-{step:06d}.png", device=dev)
    finally:
        bar.close()
        log.close()
    return latest
