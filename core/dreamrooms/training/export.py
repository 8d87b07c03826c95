"""`dreamrooms train export MODEL_DIR`: the trained generator (EMA weights) as ONNX + a manifest entry.

Writes ``MODEL_DIR/generator.onnx`` (input ``z`` float32 [B, latent_dim], output ``image`` float32
[B, 3, S, S] in -1..1, sRGB-encoded) and ``MODEL_DIR/models.toml`` with a ``[models.NAME]`` entry in
the registry's layout, so ``dreamrooms walk --model MODEL_DIR`` (or ``MODEL_DIR/generator.onnx``)
works, and ``dreamrooms models add`` can register it.  The ONNX output is checked against torch on
seeded latents; a difference above ``tol`` (1e-3) is an error and nothing is written.
"""
from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np

from dreamrooms.atomic import write_text_atomic
from dreamrooms.models import dumps_manifest
from dreamrooms.training.gan import TrainConfig, build_models, load_checkpoint, torch_module
from dreamrooms.training.onnx_export import export_onnx

TOLERANCE = 1e-3


def manifest_text(name: str, table: dict, generator: dict) -> str:
    return dumps_manifest({name: {**table, "generator": generator}},
                          header="written by `dreamrooms train export`; read by dreamrooms.models "
                                 "(same layout as models_onnx/models.toml)")


def export(model_dir: str | Path, name: str | None = None, tol: float = TOLERANCE, n_check: int = 8) -> Path:
    """Export and verify; returns the path of generator.onnx."""
    torch = torch_module()

    model_dir = Path(model_dir)
    state = load_checkpoint(model_dir)
    cfg = TrainConfig(**{k: v for k, v in state["config"].items() if k in TrainConfig.__dataclass_fields__})
    name = name or re.sub(r"[^A-Za-z0-9_-]+", "-", model_dir.resolve().name).strip("-") or "my-generator"
    g, _ = build_models(cfg)
    g.load_state_dict(state["g_ema"])
    g.eval()
    onnx_path = model_dir / "generator.onnx"
    z = np.random.default_rng(7).standard_normal((n_check, cfg.latent_dim)).astype(np.float32)
    err = export_onnx(g, (torch.zeros(1, cfg.latent_dim),), onnx_path, ["z"], ["image"],
                      {"z": {0: "batch"}, "image": {0: "batch"}}, check_inputs={"z": z}, tol=tol,
                      producer="dreamrooms train export")
    data = onnx_path.read_bytes()
    table = {"kind": "generator", "file": onnx_path.name, "url": "", "sha256": hashlib.sha256(data).hexdigest(),
             "size": len(data), "license": "yours (trained with dreamrooms train on your images)",
             "description": f"{cfg.size}x{cfg.size} generator trained by dreamrooms train for {state['step']} steps",
             "steps": int(state["step"]), "max_abs_error_vs_torch": err}
    gen = {"latent_input": "z", "latent_dim": cfg.latent_dim, "mapping_input": "", "grid_input": "",
           "native_size": [cfg.size, cfg.size], "output": "image", "output_range": [-1.0, 1.0],
           "output_colorspace": "srgb", "truncation_mean": ""}
    write_text_atomic(model_dir / "models.toml", manifest_text(name, table, gen))
    return onnx_path
