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
# the schema, its constants and the load-time checks live in shot.validate; the constants are also this module's
from dreamrooms.shot.validate import (COLORSPACE_ALIASES, COLORSPACES, READABLE_VERSIONS, SCHEMA,  # noqa: F401
                                      SENSOR_FITS, _check_aliases, _check_meta_sizes, _validate)

SCHEMA_VERSION = 2
MANIFEST = "shot.json"
PAD = 4


_command_line: str | None = None


def set_command_line(argv: list[str] | None) -> None:
    """The command this process runs for (set by the CLI), recorded by `Provenance.add_command`; None: sys.argv
    again (the add-on's worker between jobs)."""
    global _command_line
    _command_line = None if argv is None else shlex.join(argv)


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
    dof_in_render: bool | None = None   # the render has Blender's depth of field (None: written before this field,
                                        # when an f-stop meant it had)

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
        try:   # the loader's own limits: never write a manifest that the next stage would refuse
            limits.check_json(text, str(path))
            _check_meta_sizes(self.to_dict(), str(path))
        except limits.LimitError as exc:
            raise ShotError(f"{exc}; not written (remove the oversized meta or provenance entries)") from None
        write_text_atomic(path, text + "\n")
        return path

    @classmethod
    def from_dict(cls, data: Any, where: str = MANIFEST) -> "Shot":
        _validate(data, where, Sequence, CameraTrack)
        cam = data.get("camera")
        prov = data.get("provenance") or {}
        shot = cls(
            fps=float(data["fps"]),
            width=int(data["resolution"][0]),
            height=int(data["resolution"][1]),
            frame_start=int(data["frame_start"]),   # JSON Schema's "integer" admits 1.0: stored as an int
            frame_end=int(data["frame_end"]),
            pixel_aspect=float(data.get("pixel_aspect", 1.0)),
            name=data.get("name", "shot"),
            sequences={k: Sequence(**_integral(v, ("frame_offset", "hold"))) for k, v in data["sequences"].items()},
            camera=CameraTrack(**cam) if cam else None,
            provenance=Provenance(**{k: ([int(x) for x in v] if k == "seeds" else v)
                                     for k, v in prov.items() if k in Provenance.__dataclass_fields__}),
            schema_version=SCHEMA_VERSION,
            cuts=[int(c) for c in data.get("cuts", [])],
        )
        return shot

    @classmethod
    def load(cls, folder: str | os.PathLike, check_files: bool = True) -> "Shot":
        """Read and validate `folder/shot.json` (or a path to shot.json itself)."""
        folder = Path(folder)
        if folder.name == MANIFEST:
            folder = folder.parent
        path = folder / MANIFEST
        data = _read_manifest(folder, path)
        shot = cls.from_dict(data, str(path))
        shot.folder = folder
        _check_aliases(shot, str(path))
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


def _finite_float(text: str) -> float:
    """json's parse_float: `1e999` parses as infinity, which no field (lens, sensor, f-stop, matrices) may be."""
    value = float(text)
    if not math.isfinite(value):
        raise _NanError(text)
    return value


def _read_manifest(folder: Path, path: Path) -> Any:
    """The parsed JSON of `path`, refused in one line when it is no file, leads out of the folder through a symlink,
    or is larger, deeper or holds more values than dreamrooms.limits allows; those are checked on the bytes
    before parsing, so memory stays a small multiple of the file's size (limits.json_shape)."""
    if not path.is_file():
        raise ShotError(f"{path}: not found; is {folder} a shot folder? (create one with a stage such as `dreamrooms walk --out`)")
    confine(folder, MANIFEST, f"{path}")   # a shot.json symlinked out of its folder is not read
    try:
        with open(path, "rb") as fh:
            size = os.fstat(fh.fileno()).st_size   # read(n) would allocate n bytes up front: check, then read it all
            if size > limits.MAX_MANIFEST_BYTES:
                raise limits.LimitError(f"{path}: {size} bytes; a manifest is at most {limits.MAX_MANIFEST_BYTES >> 20} MB")
            raw = fh.read()
        limits.check_json(raw, str(path))
        return json.loads(raw.decode("utf-8"), parse_constant=_reject_constant, parse_float=_finite_float)
    except limits.LimitError as exc:
        raise ShotError(f"{exc}; this is not a shot manifest dreamrooms reads: fix or regenerate it") from None
    except _NanError as exc:
        raise ShotError(f"{path}: {exc} is not allowed in shot.json; write finite numbers") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ShotError(f"{path}: not valid JSON ({exc}); fix or regenerate the manifest") from None




def _integral(d: dict, keys: tuple[str, ...]) -> dict:
    """`d` with the integer fields `keys` as ints (the schema accepted 2.0 for 2)."""
    return {k: (int(v) if k in keys and isinstance(v, float) else v) for k, v in d.items()}


def _strip_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _strip_empty(d: dict) -> dict:
    return {k: v for k, v in d.items()
            if not (k == "meta" and not v) and not (k == "frame_offset" and v == 0) and not (k == "hold" and v is None)}


