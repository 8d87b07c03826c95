"""`dreamrooms train IMAGES_DIR --out MODEL_DIR` and `dreamrooms train export MODEL_DIR`.

torch is imported only inside the handlers, so `dreamrooms --help` works without it.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from dreamrooms.shot.paths import path_arg

EPILOG = """examples:
  dreamrooms train photos/ --out models/mine --size 128 --steps 20000          # train (CUDA if present)
  dreamrooms train photos/ --out models/mine --size 128 --steps 40000 --resume # continue the run
  dreamrooms train export models/mine                                          # generator.onnx + models.toml
  dreamrooms walk --model models/mine --out shots/mine --frames 240 --seeds 1,2,3 --loop

dataset policy: unreadable files, fewer than 10 images and images under half the --size are refused;
grayscale, CMYK and transparent images are converted with a warning (--strict-modes refuses them).
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "train", help="train a generator on your own images (needs torch); `train export` writes its ONNX",
        description="Train a compact GAN (DCGAN/StyleGAN-lite with differentiable augmentation) on a folder of "
                    "images. Writes checkpoints/, samples/step-N.png, loss.csv and config.json into MODEL_DIR.",
        epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", metavar="IMAGES_DIR", help="folder of training images (png/jpg/webp/tif/bmp), or `export`")
    p.add_argument("model_dir", nargs="?", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--out", type=path_arg, help="MODEL_DIR to write")
    p.add_argument("--size", type=int, default=64, choices=(32, 64, 128, 256), help="square training size (default 64)")
    p.add_argument("--steps", type=int, default=5000, help="total training steps (default 5000)")
    p.add_argument("--batch", type=int, default=32, help="batch size (default 32)")
    p.add_argument("--latent-dim", type=int, default=128, help="latent size (default 128)")
    p.add_argument("--channels", type=int, default=256, help="feature maps at 4x4, halved per doubling (default 256)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    p.add_argument("--augment", default="color,translation,cutout", help="differentiable augmentations ('' for none)")
    p.add_argument("--checkpoint-every", type=int, default=500, help="steps between checkpoints + sample grids")
    p.add_argument("--seed", type=int, default=0, help="training seed")
    p.add_argument("--resume", action="store_true", help="continue MODEL_DIR's run from checkpoints/latest.pt")
    p.add_argument("--from", dest="from_model", type=Path, help="start from another MODEL_DIR's weights (fine-tune)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="torch device (default auto)")
    p.add_argument("--strict-modes", action="store_true", help="refuse grayscale/CMYK/alpha images instead of converting")
    p.add_argument("--name", help="export: model name in models.toml (default: MODEL_DIR's name)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dreamrooms.errors import DreamroomsError

    if args.images == "export":
        if args.model_dir is None:
            raise DreamroomsError("train export: give the MODEL_DIR to export, e.g. `dreamrooms train export models/mine`")
        from dreamrooms.training import export as export_gan

        path = export_gan.export(args.model_dir, name=args.name)
        print(f"exported {path} and {path.parent / 'models.toml'}; walk it with "
              f"`dreamrooms walk --model {path.parent} --out SHOT --frames 120`")
        return 0
    if args.model_dir is not None:
        raise DreamroomsError(f"train: unexpected argument {args.model_dir}; use `dreamrooms train IMAGES_DIR --out MODEL_DIR`")
    if args.out is None:
        raise DreamroomsError("train: --out MODEL_DIR is required")
    from dreamrooms.training import gan as train_gan  # imports torch lazily

    cfg = train_gan.TrainConfig(size=args.size, latent_dim=args.latent_dim, channels=args.channels, steps=args.steps,
                                batch=args.batch, lr=args.lr, augment=args.augment,
                                checkpoint_every=args.checkpoint_every, seed=args.seed)
    ck = train_gan.train(args.images, args.out, cfg, resume=args.resume, from_model=args.from_model,
                         device=args.device, strict_modes=args.strict_modes)
    print(f"trained {args.out} ({cfg.steps} steps): checkpoint {ck}, samples in {args.out / 'samples'}; "
          f"next: `dreamrooms train export {args.out}`", file=sys.stderr)
    return 0
