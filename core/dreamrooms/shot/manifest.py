"""The shot folder: `shot.json` (the only thing stages share) plus one EXR sequence per pass.

Load validates structure with a JSON schema and semantics by hand (NaN, limits, unknown keys, frame
range vs files on disk), and every failure is one line naming the field.  Patterns come from data, so every
frame path goes through `confine` (no absolute paths, `..` or symlinks out of the shot).  Save is atomic.
"""
from __future__ import annotations

import json
import math
import os
import shlex
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from dreamrooms import __version__, limits
from dreamrooms.atomic import write_text_atomic
from dreamrooms.errors import ShotError
from dreamrooms.shot.frames import frame_file
from dreamrooms.shot.paths import check_name, check_relative, confine

SCHEMA_VERSION = 2
# Versions this dreamrooms reads: 1 lacks `hold` and `cuts` (both optional, so a v1 shot loads as is).
READABLE_VERSIONS = (1, 2)
MANIFEST = "shot.json"
PAD = 4
# how sensor_mm maps onto the image (Blender's camera sensor fit): the shot's camera track records one of these;
# the camera maths (dreamrooms.camera.geometry) reads them from here, the lower layer
SENSOR_FITS = ("AUTO", "HORIZONTAL", "VERTICAL")
# a sequence's colour space: scene-linear colour, or data that is not colour (depth, mattes, normals)
COLORSPACES = ("linear", "data")
# names older shots recorded, read as the one above (the Blender builder wrote depth as "non-color")
COLORSPACE_ALIASES = {"non-color": "data"}

_NUM = {"type": "number"}
_MATRIX = {"type": "array", "minItems": 4, "maxItems": 4,
           "items": {"type": "array", "minItems": 4, "maxItems": 4, "items": _NUM}}
_PER_FRAME_OR_ONE = {"oneOf": [{"type": "number", "exclusiveMinimum": 0}, {"type": "array", "items": _NUM}]}
SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["schema_version", "fps", "resolution", "frame_start", "frame_end", "sequences"],
    "properties": {
        "schema_version": {"type": "integer"},
        "name": {"type": "string"},
        "fps": {"type": "number", "exclusiveMinimum": 0},
        "resolution": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 2, "maxItems": 2},
        "pixel_aspect": {"type": "number", "exclusiveMinimum": 0},
        "frame_start": {"type": "integer"},
        "frame_end": {"type": "integer"},
        "cuts": {"type": "array", "items": {"type": "integer"}},
        "sequences": {"type": "object", "additionalProperties": {
            "type": "object",
            "required": ["pattern", "channels"],
            "properties": {
                "pattern": {"type": "string", "pattern": "#"},
                "channels": {"type": "array", "items": {"type": "string"}, "minItems": 1},
                "colorspace": {"enum": [*COLORSPACES, *COLORSPACE_ALIASES]},
                "premultiplied": {"type": "boolean"},
                "frame_offset": {"type": "integer"},
                "hold": {"type": ["integer", "null"]},
                "meta": {"type": "object"},
            },
        }},
        "camera": {"type": ["object", "null"],
                   "required": ["matrices", "lens_mm", "sensor_mm"],
                   "properties": {
                       "matrices": {"type": "array", "items": _MATRIX},
                       "lens_mm": _PER_FRAME_OR_ONE,
                       "sensor_mm": {"type": "number", "exclusiveMinimum": 0},
                       "sensor_fit": {"enum": list(SENSOR_FITS)},
                       "clip_start": {"type": "number", "exclusiveMinimum": 0},
                       "clip_end": {"type": "number", "exclusiveMinimum": 0},
                       "focus_distance": {"type": "array", "items": _NUM},
                       "fstop": {"type": "number", "exclusiveMinimum": 0},
                   }},
        "provenance": {"type": "object", "properties": {
            "models": {"type": "array", "items": {"type": "object", "required": ["name"],
                                                  "properties": {"name": {"type": "string"},
                                                                 "sha256": {"type": "string"}}}},
            "seeds": {"type": "array", "items": {"type": "integer"}},
            "commands": {"type": "array", "items": {"type": "string"}},
            "version": {"type": "string"},
        }},
    },
}


_command_line: str | None = None


def set_command_line(argv: list[str]) -> None:
    """The command this process runs for (set by the CLI), recorded by `Provenance.add_command`."""
    global _command_line
    _command_line = shlex.join(argv)


def command_line() -> list[str]:
    """The command this process runs for, as argv (what `Provenance.add_command` records by default)."""
    return shlex.split(_command_line) if _command_line else list(sys.argv)


@dataclass
class Sequence:
    """One pass on disk: `pattern` relative to the shot folder with `####` for the frame number."""
    pattern: str
    channels: list[str]
    colorspace: str = "linear"
    premultiplied: bool = True
    frame_offset: int = 0  # file number = shot frame + frame_offset
    meta: dict[str, Any] = field(default_factory=dict)
    hold: int | None = None  # a still held over every shot frame: each frame reads file number `hold`

    def __post_init__(self) -> None:
        self.colorspace = COLORSPACE_ALIASES.get(self.colorspace, self.colorspace)
        if self.colorspace not in COLORSPACES:
            raise ShotError(f"sequence {self.pattern!r}: colorspace {self.colorspace!r}; use one of {', '.join(COLORSPACES)}")

    def file_number(self, frame: int) -> int:
        """The number in the file name that shot frame `frame` reads."""
        return self.hold if self.hold is not None else frame + self.frame_offset


@dataclass
class CameraTrack:
    """Per-frame camera: 4x4 world matrices (Blender convention, row-major), lens and sensor in mm."""
    matrices: list[list[list[float]]]
    lens_mm: float | list[float] = 50.0
    sensor_mm: float = 36.0
    sensor_fit: str = "AUTO"
    clip_start: float = 0.1
    clip_end: float = 100.0
    focus_distance: list[float] | None = None
    fstop: float | None = None

    def lens_at(self, index: int) -> float:
        return float(self.lens_mm[index] if isinstance(self.lens_mm, list) else self.lens_mm)


@dataclass
class Provenance:
    models: list[dict[str, str]] = field(default_factory=list)
    seeds: list[int] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    version: str = __version__
    extra: dict[str, Any] = field(default_factory=dict)

    def add_model(self, name: str, sha256: str = "", **settings: Any) -> None:
        """Record a model used on this shot (once per name; settings update the entry)."""
        for m in self.models:
            if m.get("name") == name:
                m.update({"sha256": sha256, **settings})
                return
        self.models.append({"name": name, "sha256": sha256, **settings})

    def add_command(self, argv: list[str] | None = None) -> None:
        """Record a command line: `argv`, else what the CLI was asked, else this process's argv."""
        self.commands.append(shlex.join(argv) if argv is not None else (_command_line or shlex.join(sys.argv)))



@dataclass
class Shot:
    fps: float
    width: int
    height: int
    frame_start: int = 1
    frame_end: int = 1
    pixel_aspect: float = 1.0
    name: str = "shot"
    sequences: dict[str, Sequence] = field(default_factory=dict)
    camera: CameraTrack | None = None
    provenance: Provenance = field(default_factory=Provenance)
    schema_version: int = SCHEMA_VERSION
    # Shot frames (besides frame_start) that begin a new independent segment: nothing temporal (stabiliser,
    # matte filter, fill reuse, depth range) crosses a cut. A set of stills has a cut at every frame.
    cuts: list[int] = field(default_factory=list)
    folder: Path | None = field(default=None, compare=False)

    # ---- frames and paths -------------------------------------------------
    @property
    def frames(self) -> range:
        return range(self.frame_start, self.frame_end + 1)

    @property
    def frame_count(self) -> int:
        return self.frame_end - self.frame_start + 1

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps

    @property
    def is_stills(self) -> bool:
        """Every frame is its own segment (a folder of photos, or one photo)."""
        return self.frame_count == 1 or set(self.cuts) >= set(range(self.frame_start + 1, self.frame_end + 1))

    def segments(self) -> list[range]:
        """The frame range split at `cuts`: the runs of frames temporal work may cross."""
        bounds = sorted({c for c in self.cuts if self.frame_start < c <= self.frame_end})
        starts = [self.frame_start, *bounds]
        ends = [*bounds, self.frame_end + 1]
        return [range(a, b) for a, b in zip(starts, ends)]

    def _root(self) -> Path:
        if self.folder is None:
            raise ShotError("shot has no folder yet; save it first or pass a folder")
        return self.folder

    def frame_path(self, seq_name: str, frame: int) -> Path:
        """Absolute path of `frame` (shot numbering) of sequence `seq_name`."""
        seq = self.sequences.get(seq_name)
        if seq is None:
            raise ShotError(f"{self._root() / MANIFEST}: no sequence {seq_name!r} (has {', '.join(self.sequences) or 'none'})")
        root = self._root()
        return confine(root, frame_file(seq.pattern, seq.file_number(frame)),
                       f"{root / MANIFEST}: sequences.{seq_name}.pattern")

    def sequence_paths(self, seq_name: str) -> list[Path]:
        return [self.frame_path(seq_name, f) for f in self.frames]

    def add_sequence(self, name: str, pattern: str, channels: list[str], colorspace: str = "linear",
                     premultiplied: bool = True, **meta: Any) -> Sequence:
        """Register a finished pass (stages add it after every frame is on disk)."""
        check_name(name, "sequence name")
        if "#" not in pattern:
            raise ShotError(f"sequence {name!r}: pattern {pattern!r} has no '#' frame placeholder")
        check_relative(pattern, f"sequence {name!r}: pattern")
        seq = Sequence(pattern, list(channels), colorspace, premultiplied, meta=dict(meta))
        self.sequences[name] = seq
        return seq

    # ---- (de)serialisation ------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {
            "schema_version": self.schema_version,
            "name": self.name,
            "fps": self.fps,
            "resolution": [self.width, self.height],
            "pixel_aspect": self.pixel_aspect,
            "frame_start": self.frame_start,
            "frame_end": self.frame_end,
            **({"cuts": sorted(set(self.cuts))} if self.cuts else {}),
            "sequences": {k: _strip_empty(asdict(v)) for k, v in self.sequences.items()},
            "camera": _strip_none(asdict(self.camera)) if self.camera else None,
            "provenance": asdict(self.provenance),
        }
        return d

    def save(self, folder: str | os.PathLike | None = None) -> Path:
        """Write `shot.json` atomically (the folder is created); returns its path."""
        if folder is not None:
            self.folder = Path(folder)
        root = self._root()
        root.mkdir(parents=True, exist_ok=True)
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        path = root / MANIFEST
        write_text_atomic(path, text + "\n")
        return path

    @classmethod
    def from_dict(cls, data: Any, where: str = MANIFEST) -> "Shot":
        _validate(data, where)
        cam = data.get("camera")
        prov = data.get("provenance") or {}
        shot = cls(
            fps=float(data["fps"]),
            width=int(data["resolution"][0]),
            height=int(data["resolution"][1]),
            frame_start=data["frame_start"],
            frame_end=data["frame_end"],
            pixel_aspect=float(data.get("pixel_aspect", 1.0)),
            name=data.get("name", "shot"),
            sequences={k: Sequence(**v) for k, v in data["sequences"].items()},
            camera=CameraTrack(**cam) if cam else None,
            provenance=Provenance(**{k: v for k, v in prov.items() if k in Provenance.__dataclass_fields__}),
            schema_version=SCHEMA_VERSION,
            cuts=list(data.get("cuts", [])),
        )
        return shot

    @classmethod
    def load(cls, folder: str | os.PathLike, check_files: bool = True) -> "Shot":
        """Read and validate `folder/shot.json` (or a path to shot.json itself)."""
        folder = Path(folder)
        if folder.name == MANIFEST:
            folder = folder.parent
        path = folder / MANIFEST
        if not path.is_file():
            raise ShotError(f"{path}: not found; is {folder} a shot folder? (create one with a stage such as `dreamrooms walk --out`)")
        if path.stat().st_size > limits.MAX_MANIFEST_BYTES:
            raise ShotError(f"{path}: {path.stat().st_size} bytes is not a shot manifest (at most "
                            f"{limits.MAX_MANIFEST_BYTES >> 20} MB); regenerate it")
        try:
            text = path.read_text(encoding="utf-8")
            if limits.json_depth(text) > limits.MAX_JSON_DEPTH:
                raise ShotError(f"{path}: JSON nested deeper than {limits.MAX_JSON_DEPTH} levels is not a shot "
                                "manifest; fix or regenerate it")
            data = json.loads(text, parse_constant=_reject_constant)
        except _NanError as exc:
            raise ShotError(f"{path}: {exc} is not allowed in shot.json; write finite numbers") from None
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise ShotError(f"{path}: not valid JSON ({exc}); fix or regenerate the manifest") from None
        shot = cls.from_dict(data, str(path))
        shot.folder = folder
        if check_files:
            shot.check_files()
        return shot

    def check_files(self) -> None:
        """Every frame of every sequence in the frame range exists on disk (one-line error otherwise)."""
        root = self._root()
        for name, seq in self.sequences.items():
            for f in self.frames:
                p = self.frame_path(name, f)
                if not p.is_file():
                    raise ShotError(
                        f"{root / MANIFEST}: sequences.{name}: frame {f} missing ({p}); frame range "
                        f"{self.frame_start}-{self.frame_end} does not match files on disk — rerun the stage or fix frame_start/frame_end"
                    )


    def check_frame_sizes(self, names: list[str] | None = None) -> None:
        """Every EXR frame of the sequences `names` (default all) has the shot's resolution (headers only)."""
        from dreamrooms.shot.exr import frame_size

        root = self._root()
        for name in names if names is not None else list(self.sequences):
            if not self.sequences[name].pattern.lower().endswith(".exr"):
                continue
            for f in self.frames:
                p = self.frame_path(name, f)
                w, h = frame_size(p)
                if (w, h) != (self.width, self.height):
                    raise ShotError(f"{p}: frame is {w}x{h} but {root / MANIFEST} says {self.width}x{self.height} "
                                    f"(sequence {name}); re-render the frame at the shot's resolution")


class _NanError(ValueError):
    pass


def update_shot(folder: str | os.PathLike, merge: "Callable[[Shot | None], Shot]") -> Shot:
    """The one way to change a saved shot.json: under the shot-wide manifest lock (held only for this), re-read it
    (None when there is none yet), let `merge` apply this stage's record to it, and write the result atomically.
    Stages running at once therefore never lose each other's records."""
    from dreamrooms.shot.lock import manifest_lock

    folder = Path(folder)
    with manifest_lock(folder):
        current = Shot.load(folder, check_files=False) if (folder / MANIFEST).is_file() else None
        shot = merge(current)
        shot.save(folder)
    return shot


def _reject_constant(name: str) -> float:
    raise _NanError(name)


def _strip_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _strip_empty(d: dict) -> dict:
    return {k: v for k, v in d.items()
            if not (k == "meta" and not v) and not (k == "frame_offset" and v == 0) and not (k == "hold" and v is None)}


def _field_path(err) -> str:
    parts = []
    for p in err.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "(top level)"


def _validate(data: Any, where: str) -> None:
    if not isinstance(data, dict):
        raise ShotError(f"{where}: top level must be an object")
    version = data.get("schema_version")
    if isinstance(version, int) and version not in READABLE_VERSIONS:
        raise ShotError(f"{where}: schema_version {version} is not supported (this dreamrooms {__version__} reads "
                        f"{', '.join(map(str, READABLE_VERSIONS))}); upgrade dreamrooms or regenerate the shot")
    import jsonschema  # here, not at the top: `import dreamrooms.shot` (the CLI, the add-on) stays light

    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(data), key=lambda e: list(e.absolute_path))
    if errors:
        err = jsonschema.exceptions.best_match(errors)
        msg = err.message if len(err.message) < 120 else err.message[:117] + "..."
        if err.validator == "required":
            raise ShotError(f"{where}: {_field_path(err)}: {msg}")
        raise ShotError(f"{where}: field {_field_path(err)}: {msg}")
    if data["frame_end"] < data["frame_start"]:
        raise ShotError(f"{where}: field frame_end ({data['frame_end']}) is before frame_start ({data['frame_start']})")
    _check_limits(data, where)
    for name, seq in data["sequences"].items():
        _check_keys(seq, Sequence, f"{where}: field sequences.{name}")
        check_relative(seq["pattern"], f"{where}: field sequences.{name}.pattern")
    cam = data.get("camera")
    if cam:
        _check_keys(cam, CameraTrack, f"{where}: field camera")
        n = data["frame_end"] - data["frame_start"] + 1
        if len(cam["matrices"]) != n:
            raise ShotError(f"{where}: field camera.matrices has {len(cam['matrices'])} matrices for {n} frames; give one per frame")
        for i, m in enumerate(cam["matrices"]):
            for r, row in enumerate(m):
                for c, v in enumerate(row):
                    if not math.isfinite(v):
                        raise ShotError(f"{where}: field camera.matrices[{i}][{r}][{c}] is {v}; matrices must be finite")
        for key in ("lens_mm", "focus_distance"):
            val = cam.get(key)
            if isinstance(val, list):
                if len(val) != n:
                    raise ShotError(f"{where}: field camera.{key} has {len(val)} values for {n} frames")
                bad = next((i for i, v in enumerate(val) if not math.isfinite(v) or v <= 0), None)
                if bad is not None:
                    raise ShotError(f"{where}: field camera.{key}[{bad}] is {val[bad]}; must be a positive finite number")


def _check_keys(obj: dict, cls: type, what: str) -> None:
    """Keys the dataclass does not know are an error (a typo or a newer writer), not a TypeError."""
    unknown = sorted(set(obj) - set(cls.__dataclass_fields__))
    if unknown:
        raise ShotError(f"{what}: unknown key {unknown[0]!r}; remove it (known: {', '.join(cls.__dataclass_fields__)})")


def _check_limits(data: dict, where: str) -> None:
    """Sizes and counts within dreamrooms.limits, so no stage starts on a frame it cannot hold."""
    try:
        limits.check_number(data["fps"], "field fps", low=0, high=limits.MAX_FPS, low_open=True)
        limits.check_number(data.get("pixel_aspect", 1.0), "field pixel_aspect", low=0.01, high=100.0)
        limits.check_resolution(*data["resolution"], "field resolution")
        limits.check_frames(data["frame_end"] - data["frame_start"] + 1, "fields frame_start..frame_end")
        for key in ("frame_start", "frame_end"):
            limits.check_number(data[key], f"field {key}", low=-limits.MAX_FRAME_NUMBER, high=limits.MAX_FRAME_NUMBER)
        for name, seq in data["sequences"].items():
            limits.check_number(seq.get("frame_offset", 0), f"field sequences.{name}.frame_offset",
                                low=-limits.MAX_FRAME_NUMBER, high=limits.MAX_FRAME_NUMBER)
            if seq.get("hold") is not None:
                limits.check_number(seq["hold"], f"field sequences.{name}.hold",
                                    low=-limits.MAX_FRAME_NUMBER, high=limits.MAX_FRAME_NUMBER)
        cuts = data.get("cuts", [])
        if cuts:
            limits.check_frames(len(cuts), "field cuts")
        bad = next((c for c in cuts if not data["frame_start"] < c <= data["frame_end"]), None)
        if bad is not None:
            raise limits.LimitError(f"field cuts: frame {bad} is outside {data['frame_start'] + 1}..{data['frame_end']}")
    except limits.LimitError as exc:
        raise ShotError(f"{where}: {exc}") from None
