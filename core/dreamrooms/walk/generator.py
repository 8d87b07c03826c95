"""A generator at run time: its contract from the manifest (GeneratorSpec), the session with latent, grid and
noise feeds (Generator), and the decode of its sRGB output to linear half RGBA.

The generator contract (``[models.NAME.generator]``): ``latent_input`` / ``latent_dim``;
``grid_input`` for coordinate generators (float32 [1,2,H,W], x in [-W/H, W/H], y in [-1, 1] top to
bottom); ``native_size`` [H, W] for fixed-size generators; ``output`` float32 [B,3,H,W] in
``output_range``; ``mapping_input`` (+ ``mapping_model``, a z -> w ONNX beside the generator) for
files that take W; ``truncation_mean`` (.npy of the mean latent in the walk's space); every other
float input (``noise_inputs``) gets fixed seeded noise so frames do not flicker.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from dreamrooms import models
from dreamrooms.colour import srgb_to_linear
from dreamrooms.errors import DreamroomsError
from dreamrooms.models.contracts import GeneratorSpec, coordinate_grid, generator_io, session_io
from dreamrooms.models.runtime import open_session

NOISE_SEED = 1234


class GenerateError(DreamroomsError):
    """The generator or the walk settings do not fit together."""


# ---- the generator ---------------------------------------------------------------------------------
class Generator:
    """A generator session plus its contract; `render(latents, size)` -> [B, H, W, 3] encoded 0..1."""

    def __init__(self, session, spec: GeneratorSpec, name: str = "generator", sha256: str = "",
                 provider: str = "", path: str | Path | None = None, mapping_session=None):
        self.session = session
        self.spec = spec
        self.name = name
        self.sha256 = sha256
        self.provider = provider or (session.get_providers()[0] if hasattr(session, "get_providers") else "")
        self.path = Path(path) if path else None
        self.mapping_session = mapping_session
        self._inputs = {i.name: i for i in session.get_inputs()}
        where = f"generator {name}"
        io = generator_io(spec, *session_io(session), where)     # the one generator contract
        if spec.mapping_input and mapping_session is None:
            raise GenerateError(f"{where}: takes W at {spec.mapping_input!r} but no mapping model is given; "
                                "set mapping_model (a z -> w ONNX) in the manifest's generator table")
        if spec.latent_dim <= 0:
            spec.latent_dim = io.static_dim
        if spec.native_size is None and not spec.grid_input:
            spec.native_size = io.native_size
        self.output_name = io.output
        self.max_batch = io.max_batch
        self.noise_inputs = io.noise
        feed = io.feed
        self._grid_cache: dict[tuple[int, int], np.ndarray] = {}
        self._noise_cache: dict[int, dict[str, np.ndarray]] = {}
        self.w_dim = None
        if mapping_session is not None:
            mo = mapping_session.get_outputs()[0]
            self.w_dim = self._inputs[feed].shape[-1] if isinstance(self._inputs[feed].shape[-1], int) else None
            self._map_in = mapping_session.get_inputs()[0].name
            self._map_out = mo.name

    # -- helpers
    @property
    def has_mapping(self) -> bool:
        return self.mapping_session is not None

    def map(self, z: np.ndarray) -> np.ndarray:
        """z [B, latent_dim] -> w through the mapping model."""
        if self.mapping_session is None:
            raise GenerateError(f"generator {self.name}: has no mapping step; walk in z (--space z)")
        out = self.mapping_session.run([self._map_out], {self._map_in: np.ascontiguousarray(z, np.float32)})[0]
        return out.reshape(out.shape[0], -1).astype(np.float32)

    def mean_w(self, n: int = 4096, seed: int = 0) -> np.ndarray:
        """Mean latent in W estimated from `n` seeded z (used for truncation when the manifest has none)."""
        z = np.random.default_rng(seed).standard_normal((n, self.spec.latent_dim)).astype(np.float32)
        return np.concatenate([self.map(z[i:i + 256]) for i in range(0, n, 256)]).mean(0)

    def model_size(self, size: tuple[int, int]) -> tuple[int, int]:
        """(H, W) the model renders at for a requested output size."""
        if self.spec.grid_input:
            return size
        if self.spec.native_size is None:
            raise GenerateError(f"generator {self.name}: no grid input and no native_size in the manifest; add native_size = [H, W]")
        return self.spec.native_size

    def _grid(self, h: int, w: int) -> np.ndarray:
        g = self._grid_cache.get((h, w))
        if g is None:
            g = self._grid_cache[(h, w)] = coordinate_grid(h, w)
        return g

    def _noise(self, batch: int) -> dict[str, np.ndarray]:
        cached = self._noise_cache.get(batch)
        if cached is not None:
            return cached
        feeds = {}
        for k, n in enumerate(self.noise_inputs):
            shape = list(self._inputs[n].shape)
            if shape and not isinstance(shape[0], int):
                shape[0] = batch
            if any(not isinstance(s, int) for s in shape):
                raise GenerateError(f"generator {self.name}: noise input {n!r} has dynamic shape {self._inputs[n].shape}; "
                                    "export it with a fixed size")
            one = np.random.default_rng(NOISE_SEED + k).standard_normal([1] + shape[1:]).astype(np.float32)
            feeds[n] = np.repeat(one, shape[0], axis=0) if shape[0] > 1 else one  # same noise every frame
        self._noise_cache[batch] = feeds
        return feeds

    def feeds(self, latents: np.ndarray, model_hw: tuple[int, int]) -> dict[str, np.ndarray]:
        """The input dict for one batch of walk-space latents (z, or w when mapped)."""
        lat = np.ascontiguousarray(latents, np.float32)
        feed = {(self.spec.mapping_input or self.spec.latent_input): lat}
        if self.spec.grid_input:
            feed[self.spec.grid_input] = self._grid(*model_hw)
        feed.update(self._noise(lat.shape[0]))
        return feed

    def run_raw(self, latents: np.ndarray, model_hw: tuple[int, int]) -> np.ndarray:
        """Bare session.run: output [B, 3, H, W] as the model gives it."""
        return self.session.run([self.output_name], self.feeds(latents, model_hw))[0]

    def to_unit(self, out: np.ndarray) -> np.ndarray:
        """Model output range -> 0..1 (still in output_colorspace), NCHW float32."""
        lo, hi = self.spec.output_range
        if (lo, hi) == (0.0, 1.0):
            return out
        return ((out - lo) * (1.0 / (hi - lo))).astype(np.float32)

    def render(self, latents: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        """Latents [B, D] -> images [B, H, W, 3] float32 0..1 encoded (for previews and measuring)."""
        model_hw = self.model_size(size)
        img = np.clip(self.to_unit(self.run_raw(latents, model_hw)), 0.0, 1.0).transpose(0, 2, 3, 1)
        if tuple(img.shape[1:3]) != tuple(size):
            img = np.stack([resize(im, size) for im in img])
        return img


def resize(img: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    h, w = size
    interp = cv2.INTER_AREA if h < img.shape[0] else cv2.INTER_CUBIC
    return np.clip(cv2.resize(img, (w, h), interpolation=interp), 0.0, 1.0)


def _local_entry(model: str):
    """A model folder from `dreamrooms train export` (MODEL_DIR/models.toml), or an .onnx with a
    models.toml beside it: read that manifest with the registry's own loader."""
    p = Path(model).expanduser()
    if p.is_dir():
        manifest = p / "models.toml"
        if not manifest.is_file():
            raise GenerateError(f"{p}: a model folder needs a models.toml (run `dreamrooms train export {p}`), "
                                "or give an .onnx path or a model name")
        target = None
    elif p.suffix.lower() == ".onnx" and (p.parent / "models.toml").is_file():
        manifest, target = p.parent / "models.toml", p.resolve()
    else:
        return None
    entries = [e for e in models.load_manifest(manifest).values() if e.kind == "generator"]
    if target is not None:
        entries = [e for e in entries if e.path.resolve() == target]
        if not entries:
            return None
    if len(entries) != 1:
        names = ", ".join(e.name for e in entries) or "none"
        raise GenerateError(f"{manifest}: expected one generator entry, found {names}; pass the .onnx path or a name")
    if not entries[0].installed:
        raise GenerateError(f"{manifest}: generator file {entries[0].path} is missing; rerun `dreamrooms train export`")
    return entries[0]


def open_generator(model: str, device: str = "auto", threads: int | None = None) -> Generator:
    """A Generator for a manifest name, an .onnx path or a model folder (via dreamrooms.models)."""
    return generator_for(_local_entry(model) or models.resolve(model, kind="generator"), device, threads)


def generator_for(entry, device: str = "auto", threads: int | None = None) -> Generator:
    """A Generator for a resolved generator entry: its session, mapping model and truncation mean."""
    ms = open_session(entry, device=device, threads=threads)
    gen_dict = dict(getattr(entry, "generator", None) or {})
    spec = GeneratorSpec.from_dict(gen_dict, where=f"model {entry.name}")
    mapping = None
    if spec.mapping_input:
        if not spec.mapping_model:
            raise GenerateError(f"model {entry.name}: mapping_input {spec.mapping_input!r} needs mapping_model (a z -> w ONNX) in its generator table")
        mp = Path(spec.mapping_model)
        mp = mp if mp.is_absolute() else Path(entry.path).parent / mp
        if not mp.is_file():
            raise GenerateError(f"model {entry.name}: mapping model {mp} not found")
        import onnxruntime as ort
        mapping = ort.InferenceSession(str(mp), providers=ms.session.get_providers())
    if spec.truncation_mean:
        tp = Path(spec.truncation_mean)
        spec.truncation_mean = str(tp if tp.is_absolute() else Path(entry.path).parent / tp)
    return Generator(ms.session, spec, name=entry.name, sha256=getattr(entry, "sha256", "") or "",
                     provider=getattr(ms, "provider", ""), path=entry.path, mapping_session=mapping)


# ---- sRGB decode straight to half (a 16-bit LUT: exact to half precision, 10x cheaper than pow) ------
_LUT_N = 65536
_SRGB_LUT: np.ndarray | None = None


def _srgb_lut() -> np.ndarray:
    global _SRGB_LUT
    if _SRGB_LUT is None:
        _SRGB_LUT = srgb_to_linear(np.arange(_LUT_N, dtype=np.float64) / (_LUT_N - 1)).astype(np.float16)
    return _SRGB_LUT


def to_linear_rgba_half(img_chw: np.ndarray, colorspace: str = "srgb") -> np.ndarray:
    """One frame [3, H, W] in 0..1 (encoded per `colorspace`) -> RGBA half HxWx4, linear, alpha 1."""
    h, w = img_chw.shape[1:]
    out = np.empty((h, w, 4), np.float16)
    x = np.clip(img_chw, 0.0, 1.0)
    if colorspace == "srgb":
        idx = (x * (_LUT_N - 1) + 0.5).astype(np.uint16)
        lut = _srgb_lut()
        for c in range(3):
            out[..., c] = lut[idx[c]]
    else:
        for c in range(3):
            out[..., c] = x[c]
    out[..., 3] = 1.0
    return out
