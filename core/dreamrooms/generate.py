"""Run a generator ONNX along a latent path and stream the frames into a shot folder.

Frames go to ``layers/walk.####.exr`` as RGBA half, scene-linear: the generator's output (sRGB-encoded
0..1 per its manifest entry, ``output_colorspace``) is decoded with the IEC 61966-2-1 curve
(:mod:`dreamrooms.colour`), alpha is 1 (so premultiplied == straight).  Writing happens on background
threads (:class:`dreamrooms.exr.SequenceWriter`) while the next batch infers.  A rerun with the same
settings skips frames already complete; ``shot.json`` is written once every frame is on disk.

The generator contract (``[models.NAME.generator]``): ``latent_input`` / ``latent_dim``;
``grid_input`` for coordinate generators (float32 [1,2,H,W], x in [-W/H, W/H], y in [-1, 1] top to
bottom); ``native_size`` [H, W] for fixed-size generators; ``output`` float32 [B,3,H,W] in
``output_range``; ``mapping_input`` (+ ``mapping_model``, a z -> w ONNX beside the generator) for
files that take W; ``truncation_mean`` (.npy of the mean latent in the walk's space); every other
float input (``noise_inputs``) gets fixed seeded noise so frames do not flicker.
"""
from __future__ import annotations

import functools
import hashlib
import json
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from dreamrooms import exr, walk
from dreamrooms.atomic import atomic_path, write_text_atomic
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.shot import MANIFEST, Shot, frame_file

SEQUENCE = "walk"
PATTERN = "layers/walk.####.exr"
SETTINGS_FILE = "layers/walk.settings.json"
NOISE_SEED = 1234


class GenerateError(DreamroomsError):
    """The generator or the walk settings do not fit together."""


# ---- the generator ---------------------------------------------------------------------------------
@dataclass
class GeneratorSpec:
    latent_input: str = "z"
    latent_dim: int = 0
    mapping_input: str = ""
    mapping_model: str = ""
    grid_input: str = ""
    native_size: tuple[int, int] | None = None
    output: str = "image"
    output_range: tuple[float, float] = (0.0, 1.0)
    output_colorspace: str = "srgb"
    truncation_mean: str = ""
    noise_inputs: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "generator") -> "GeneratorSpec":
        d = dict(d or {})
        try:
            dim = int(d.get("latent_dim", 0))
        except (TypeError, ValueError):
            raise GenerateError(f"{where}: latent_dim must be an integer") from None
        native = d.get("native_size") or None
        rng = d.get("output_range", [0.0, 1.0])
        if not (isinstance(rng, (list, tuple)) and len(rng) == 2 and float(rng[1]) > float(rng[0])):
            raise GenerateError(f"{where}: output_range must be [low, high], e.g. [0, 1] or [-1, 1]")
        cs = str(d.get("output_colorspace", "srgb")).lower()
        if cs not in ("srgb", "linear"):
            raise GenerateError(f"{where}: output_colorspace {cs!r}; use \"srgb\" or \"linear\"")
        return cls(
            latent_input=str(d.get("latent_input", "z")), latent_dim=dim,
            mapping_input=str(d.get("mapping_input", "") or ""), mapping_model=str(d.get("mapping_model", "") or ""),
            grid_input=str(d.get("grid_input", "") or ""),
            native_size=(int(native[0]), int(native[1])) if native else None,
            output=str(d.get("output", "image") or ""), output_range=(float(rng[0]), float(rng[1])),
            output_colorspace=cs, truncation_mean=str(d.get("truncation_mean", "") or ""),
            noise_inputs=list(d.get("noise_inputs", []) or []),
        )


def make_grid(height: int, width: int) -> np.ndarray:
    """Coordinates [1, 2, H, W]: x in [-W/H, W/H] left to right, y in [-1, 1] top to bottom, edge pixels
    on the ends (the convention of cppn-walk and `dreamrooms.sessions.coordinate_grid`)."""
    aspect = width / height
    xs = np.linspace(-1.0, 1.0, width, dtype=np.float64) * aspect
    ys = np.linspace(-1.0, 1.0, height, dtype=np.float64)
    grid = np.empty((1, 2, height, width), np.float32)
    grid[0, 0] = xs[None, :]
    grid[0, 1] = ys[:, None]
    return grid


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
        outs = [o.name for o in session.get_outputs()]
        where = f"generator {name}"
        feed = spec.mapping_input or spec.latent_input
        if feed not in self._inputs:
            raise GenerateError(f"{where}: manifest says latent input {feed!r} but the model has inputs {', '.join(self._inputs)}")
        if spec.grid_input and spec.grid_input not in self._inputs:
            raise GenerateError(f"{where}: manifest says grid input {spec.grid_input!r} but the model has inputs {', '.join(self._inputs)}")
        if spec.output and spec.output not in outs:
            raise GenerateError(f"{where}: manifest says output {spec.output!r} but the model has outputs {', '.join(outs)}")
        self.output_name = spec.output or outs[0]
        shape = self._inputs[feed].shape
        static_dim = shape[-1] if shape and isinstance(shape[-1], int) else None
        if spec.mapping_input and mapping_session is None:
            raise GenerateError(f"{where}: takes W at {spec.mapping_input!r} but no mapping model is given; "
                                "set mapping_model (a z -> w ONNX) in the manifest's generator table")
        if spec.latent_dim <= 0:
            if static_dim is None or spec.mapping_input:
                raise GenerateError(f"{where}: manifest has no latent_dim; add latent_dim to its generator table")
            spec.latent_dim = static_dim
        if not spec.mapping_input and static_dim is not None and static_dim != spec.latent_dim:
            raise GenerateError(f"{where}: model expects latent [B, {static_dim}] but the manifest says latent_dim = {spec.latent_dim}")
        bdim = shape[0] if shape else None
        self.max_batch = bdim if isinstance(bdim, int) and bdim > 0 else None
        if not spec.grid_input and spec.native_size is None:
            oshape = next(o.shape for o in session.get_outputs() if o.name == self.output_name)
            if len(oshape) == 4 and isinstance(oshape[2], int) and isinstance(oshape[3], int):
                spec.native_size = (oshape[2], oshape[3])
        known = {feed, spec.grid_input}
        self.noise_inputs = [n for n, i in self._inputs.items() if n not in known]
        for n in self.noise_inputs:
            if "float" not in self._inputs[n].type:
                raise GenerateError(f"{where}: input {n!r} ({self._inputs[n].type}) is neither latent, grid nor float noise; "
                                    "list it in the manifest's generator table")
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
            g = self._grid_cache[(h, w)] = make_grid(h, w)
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
    from dreamrooms import models

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
    from dreamrooms import models  # the inference core: registry + sessions

    entry = _local_entry(model) or models.resolve(model, kind="generator")
    ms = models.open_session(entry, device=device, threads=threads)
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
        from dreamrooms.colour import srgb_to_linear
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


# ---- walk settings ---------------------------------------------------------------------------------
@dataclass
class WalkSettings:
    frames: int
    fps: float
    size: tuple[int, int]  # (H, W)
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    keyframes: str | None = None
    interp: str = "slerp"
    space: str = "z"
    loop: bool = False
    noise_loop: float | None = None
    ease: str = "linear"
    truncation: float = 1.0
    batch: int = 4
    preview: str | None = None  # None | "png" | "mp4"
    constant_speed: bool = False
    compression: str = "zip"


def build_path(gen: Generator, s: WalkSettings) -> tuple[Callable[[np.ndarray], np.ndarray], dict[str, Any]]:
    """The walk as a function u -> latents in the generator's feed space, plus provenance info."""
    if s.space not in ("z", "w"):
        raise GenerateError(f"--space {s.space!r}; use z or w")
    if s.space == "w" and not gen.has_mapping:
        raise GenerateError(f"--space w: model {gen.name} has no mapping step (no mapping_input in its manifest); use --space z")
    if not (s.truncation > 0 and math.isfinite(s.truncation)):
        raise GenerateError(f"--truncation must be a positive number (1 = off, 0.7 typical), got {s.truncation}")
    dim = gen.spec.latent_dim
    info: dict[str, Any] = {"interp": s.interp, "space": s.space, "loop": bool(s.loop or s.noise_loop), "ease": s.ease}
    if s.noise_loop is not None:
        seed = s.seeds[0] if s.seeds else 0
        base = walk.NoiseLoop(dim, s.noise_loop, seed)
        info.update(noise_loop=s.noise_loop, seeds=[seed])
        loop = True
        path_fn = base.at
        to_space = "z"
    else:
        opts: dict[str, Any] = {}
        if s.keyframes:
            keys, opts = walk.load_keyframes(s.keyframes, dim)
            info["keyframes"] = str(s.keyframes)
        else:
            keys = [walk.Keyframe(walk.seed_latent(sd, dim), seed=sd) for sd in s.seeds]
        loop = bool(opts.get("loop", s.loop))
        interp = opts.get("interp", s.interp)
        ease_kind = opts.get("ease", s.ease)
        if s.space == "w":
            for k in keys:
                k.latent = gen.map(k.latent[None])[0]
            if interp == "slerp":
                interp = "lerp"  # W is not Gaussian: slerp has no meaning there
        kp = walk.KeyframePath(keys, s.frames, interp=interp, loop=loop, ease=ease_kind)
        info.update(interp=interp, ease=ease_kind, loop=loop, seeds=[k.seed for k in keys if k.seed is not None])
        path_fn = kp.at
        to_space = s.space
    info["loop"] = loop

    # truncation: toward the manifest's mean latent, else W's measured mean, else the origin of Z
    mean = None
    if s.truncation != 1.0:
        if gen.spec.truncation_mean:
            try:
                mean = np.load(gen.spec.truncation_mean).astype(np.float32).reshape(-1)
            except (OSError, ValueError) as exc:
                raise GenerateError(f"model {gen.name}: truncation_mean {gen.spec.truncation_mean} unreadable ({exc})") from None
        elif gen.has_mapping:
            mean = gen.mean_w()
        info["truncation"] = s.truncation

    def latents_at(u: np.ndarray) -> np.ndarray:
        lat = path_fn(np.asarray(u, np.float64))
        if gen.has_mapping and to_space == "z":
            lat = np.concatenate([gen.map(lat[i:i + 64]) for i in range(0, len(lat), 64)])
        if s.truncation != 1.0:
            lat = walk.truncate(lat, s.truncation, mean)
        return lat

    return latents_at, info


def frame_latents(gen: Generator, s: WalkSettings, measure_size: int = 64) -> tuple[np.ndarray, dict[str, Any]]:
    """Latents for every frame [N, D] (reparametrised for constant speed when asked)."""
    latents_at, info = build_path(gen, s)
    loop = info["loop"]
    u = walk.frame_times(s.frames, loop)
    if s.constant_speed and s.frames > 2:
        m = int(min(max(4 * s.frames, 64), 1024))
        u_dense = np.linspace(0.0, 1.0, m + 1)
        h, w = s.size
        scale = measure_size / max(h, w)
        msize = (max(8, round(h * scale)), max(8, round(w * scale)))
        prev = None
        d = np.empty(m)
        lat = latents_at(u_dense)
        bar = progress(m + 1, "measuring path speed")
        k = 0
        for i in range(0, m + 1, 16):
            imgs = gen.render(lat[i:i + 16], msize)
            for im in imgs:
                if prev is not None:
                    d[k] = float(np.abs(im - prev).mean())
                    k += 1
                prev = im
            bar.update(len(imgs))
        bar.close()
        u = walk.constant_speed_times(u_dense, d, s.frames, loop)
        info["constant_speed"] = True
    return latents_at(u), info


# ---- the walk --------------------------------------------------------------------------------------
def _settings_key(gen: Generator, s: WalkSettings, lat: np.ndarray) -> dict[str, Any]:
    return {"model": gen.name, "sha256": gen.sha256, "size": list(s.size), "frames": s.frames,
            "latents_sha256": hashlib.sha256(np.ascontiguousarray(lat, np.float32).tobytes()).hexdigest(),
            "range": list(gen.spec.output_range), "colorspace": gen.spec.output_colorspace}


def run_walk(gen: Generator, out: str | os.PathLike, s: WalkSettings, overwrite: bool = False,
             argv: list[str] | None = None, writer_workers: int | None = None) -> Shot:
    """Render the walk into shot folder `out` (resuming when settings match) and return the Shot."""
    out = Path(out)
    if s.frames < 1:
        raise GenerateError(f"--frames must be >= 1, got {s.frames}")
    if not (s.fps > 0 and math.isfinite(s.fps)):
        raise GenerateError(f"--fps must be a positive number, got {s.fps}")
    h, w = s.size
    if h < 8 or w < 8 or h > 16384 or w > 16384:
        raise GenerateError(f"--size {w}x{h}: width and height must be 8..16384")
    if s.batch < 1:
        raise GenerateError(f"--batch must be >= 1, got {s.batch}")
    if s.preview not in (None, "png", "mp4"):
        raise GenerateError(f"--preview {s.preview!r}; use png or mp4")
    batch = min(s.batch, gen.max_batch) if gen.max_batch else s.batch

    # existing shot: must agree on size and frames
    shot: Shot
    if (out / MANIFEST).is_file():
        shot = Shot.load(out, check_files=False)
        if (shot.width, shot.height) != (w, h) or shot.frame_count != s.frames:
            if not overwrite:
                raise GenerateError(f"{out / MANIFEST}: shot is {shot.width}x{shot.height}, {shot.frame_count} frames; "
                                    f"the walk is {w}x{h}, {s.frames} frames — use a new --out folder or --overwrite")
            shot = Shot(fps=s.fps, width=w, height=h, frame_start=1, frame_end=s.frames, name=out.name or "walk")
    elif out.exists() and any(p for p in out.iterdir() if p.name != "layers" and p.name != "preview"):
        raise GenerateError(f"{out}: exists and is not a shot folder (no shot.json); pick an empty or new --out folder")
    else:
        shot = Shot(fps=s.fps, width=w, height=h, frame_start=1, frame_end=s.frames, name=out.name or "walk")
    shot.folder = out

    lat, info = frame_latents(gen, s)
    key = _settings_key(gen, s, lat)
    settings_path = out / SETTINGS_FILE
    resume = False
    if settings_path.is_file():
        try:
            old = json.loads(settings_path.read_text())
        except (OSError, json.JSONDecodeError):
            old = None
        if old == key:
            resume = True
        elif not overwrite:
            raise GenerateError(f"{out}: holds frames of a different walk ({settings_path}); "
                                "rerun with the same settings to resume, pass --overwrite, or use a new --out folder")
    if overwrite and not resume:
        for f in (out / "layers").glob("walk.*.exr"):
            f.unlink()
        shutil.rmtree(out / "preview", ignore_errors=True)
    write_text_atomic(settings_path, json.dumps(key, indent=1) + "\n")

    paths = [shot.folder / frame_file(PATTERN, f) for f in shot.frames]
    todo = [i for i, p in enumerate(paths) if not (resume and p.is_file() and exr.is_complete(p, ("RGBA",)))]
    preview_png = out / "preview" / "walk.####.png"
    if s.preview == "png":
        (out / "preview").mkdir(parents=True, exist_ok=True)
    model_hw = gen.model_size((h, w))
    colorspace = gen.spec.output_colorspace
    bar = progress(len(todo), f"walk {gen.name}")
    try:
        # one writer: generator frames arrive slower than one writer (with the codec pool) compresses them,
        # and more writer threads only take cores from inference.  The sRGB decode runs on that writer
        # (a callable layer dict) and a whole batch fits in its backlog, so the next batch starts inferring
        # at once instead of waiting on conversion or writes (measured: 11-14 ms/frame of serial time gone).
        with exr.SequenceWriter(workers=writer_workers or 1, max_pending=2 * batch,
                                compression=s.compression) as writer:
            for start in range(0, len(todo), batch):
                idx = todo[start:start + batch]
                raw = gen.to_unit(gen.run_raw(lat[idx], model_hw))
                for j, i in enumerate(idx):
                    img = raw[j]
                    if tuple(img.shape[1:]) != (h, w):
                        img = resize(np.clip(img, 0, 1).transpose(1, 2, 0), (h, w)).transpose(2, 0, 1)
                    writer.submit(paths[i], functools.partial(_rgba_layers, img, colorspace))
                    if s.preview == "png":
                        p = out / frame_file(str(preview_png.relative_to(out)), i + 1)
                        with atomic_path(p) as tmp:
                            ok, buf = cv2.imencode(".png", _to_bgr8(img, colorspace))
                            tmp.write_bytes(buf.tobytes())
                bar.update(len(idx))
    finally:
        bar.close()

    old_seq = shot.sequences.get(SEQUENCE)
    # a later stage (depth) may have added layers to these files; keep them listed if no frame was rewritten
    channels = list(old_seq.channels) if (old_seq is not None and resume and not todo) else ["R", "G", "B", "A"]
    seq = shot.add_sequence(SEQUENCE, PATTERN, channels, colorspace="linear", premultiplied=True,
                            source_colorspace=colorspace,
                            conversion=("sRGB (IEC 61966-2-1) decoded to scene-linear Rec.709; alpha 1"
                                        if colorspace == "srgb" else "generator output is linear; written as is"),
                            model_size=list(model_hw))
    if s.preview:
        seq.meta["preview"] = "preview/walk.mp4" if s.preview == "mp4" else "preview/walk.####.png"
    shot.fps = s.fps
    prov = shot.provenance
    prov.add_model(gen.name, gen.sha256, kind="generator", provider=gen.provider)
    for sd in info.get("seeds", []):
        if sd not in prov.seeds:
            prov.seeds.append(int(sd))
    prov.add_command(argv)
    prov.extra["walk"] = {k: v for k, v in info.items() if k != "seeds"}
    shot.save()
    if s.preview == "mp4":  # from the finished sequence, so a resumed walk needs no re-render for it
        from dreamrooms.preview import sequence_mp4
        sequence_mp4(shot, SEQUENCE, "RGBA", out / "preview" / "walk.mp4")
    return shot


def _rgba_layers(img_chw: np.ndarray, colorspace: str) -> dict[str, np.ndarray]:
    return {"RGBA": to_linear_rgba_half(img_chw, colorspace)}


def _to_bgr8(img_chw: np.ndarray, colorspace: str) -> np.ndarray:
    x = np.clip(img_chw, 0.0, 1.0)
    if colorspace == "linear":
        from dreamrooms.colour import linear_to_srgb
        x = linear_to_srgb(x)
    return np.ascontiguousarray((x[::-1].transpose(1, 2, 0) * 255 + 0.5).astype(np.uint8))
