"""The schema of `shot.json` and the checks `Shot.load` runs on it: structure, limits, unknown keys, aliased files."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from dreamrooms import __version__, limits
from dreamrooms.errors import ShotError
from dreamrooms.shot.frames import frame_file
from dreamrooms.shot.paths import check_relative

if TYPE_CHECKING:
    from dreamrooms.shot.manifest import CameraTrack, Sequence, Shot

# Versions this dreamrooms reads: 1 lacks `hold` and `cuts` (both optional, so a v1 shot loads as is).
READABLE_VERSIONS = (1, 2)
# how sensor_mm maps onto the image (Blender's camera sensor fit): the shot's camera track records one of these;
# the camera maths (dreamrooms.camera.geometry) reads them through dreamrooms.shot.manifest, the lower layer
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
                       "dof_in_render": {"type": "boolean"},
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


def _file_key(pattern: str) -> tuple[str, str]:
    """(folder, name with the `#` run as one marker) of a pattern, normalised ('./', '//', '\\', letter case: a
    case-insensitive disk makes `Layers/` and `layers/` one folder) to compare the files two patterns name."""
    import posixpath
    import re

    norm = posixpath.normpath(pattern.replace("\\", "/")).casefold()
    folder, name = posixpath.split(norm)
    return folder, re.sub("#+", "#", name)


def _check_aliases(shot: "Shot", where: str) -> None:
    """Two sequences that name the same files are refused: a stage rewriting one (depth --overwrite) would destroy
    the other. Compared by normalised pattern and by the folder each resolves to (a symlinked folder inside the
    shot), where their file numbers overlap."""
    seen: dict[tuple[str, str], str] = {}
    root = shot._root()
    for name, seq in shot.sequences.items():
        folder, stem = _file_key(seq.pattern)
        lexical = (folder, stem)
        resolved_folder = (root / folder).resolve() if (root / folder).is_dir() else None
        keys = [lexical] + ([(str(resolved_folder).casefold(), stem)] if resolved_folder else [])
        for key in keys:
            other = seen.get(key)
            if other is not None and other != name and _numbers_overlap(shot, shot.sequences[other], seq):
                raise ShotError(f"{where}: sequences.{other} and sequences.{name} name the same files "
                                f"({shot.sequences[other].pattern}, {seq.pattern}); give each sequence its own pattern")
            seen[key] = name


def _numbers_overlap(shot: "Shot", a: Sequence, b: Sequence) -> bool:
    """Whether some frame file of `a` is also one of `b` (same name once the `#` runs are filled in)."""
    def span(s: Sequence) -> tuple[int, int]:
        return (s.hold, s.hold) if s.hold is not None else (shot.frame_start + s.frame_offset,
                                                             shot.frame_end + s.frame_offset)
    (a0, a1), (b0, b1) = span(a), span(b)
    lo, hi = max(a0, b0), min(a1, b1)
    return lo <= hi and any(_file_key(frame_file(a.pattern, n))[1] == _file_key(frame_file(b.pattern, n))[1]
                            for n in {lo, hi})



def _check_meta_sizes(data: dict, where: str) -> None:
    """No list inside a sequence's `meta` or in `provenance` (free-form fields) longer than limits.MAX_META_ITEMS:
    per-frame data at most, so a manifest cannot grow a stage's memory and rewrite time without bound."""
    roots = [(f"sequences.{n}.meta", s.get("meta")) for n, s in data.get("sequences", {}).items()]
    stack = roots + [("provenance", data.get("provenance"))]
    while stack:
        field_name, node = stack.pop()
        if isinstance(node, list):
            if len(node) > limits.MAX_META_ITEMS:
                raise limits.LimitError(f"{where}: field {field_name} holds {len(node)} items; at most "
                                        f"{limits.MAX_META_ITEMS}")
            stack.extend((f"{field_name}[{i}]", v) for i, v in enumerate(node) if isinstance(v, (list, dict)))
        elif isinstance(node, dict):
            stack.extend((f"{field_name}.{k}", v) for k, v in node.items() if isinstance(v, (list, dict)))



def _field_path(err) -> str:
    parts = []
    for p in err.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (f".{p}" if parts else str(p)))
    return "".join(parts) or "(top level)"


def _validate(data: Any, where: str, sequence: type[Sequence], camera: type[CameraTrack]) -> None:
    """Structure (the JSON schema), version, limits and semantics of a parsed shot.json; `sequence` and `camera` are
    the manifest's dataclasses, whose fields are the keys a sequence and the camera may have."""
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
    try:
        _check_meta_sizes(data, where)
    except limits.LimitError as exc:
        raise ShotError(f"{exc}; remove the oversized entry") from None
    for name, seq in data["sequences"].items():
        _check_keys(seq, sequence, f"{where}: field sequences.{name}")
        check_relative(seq["pattern"], f"{where}: field sequences.{name}.pattern")
    cam = data.get("camera")
    if cam:
        _check_keys(cam, camera, f"{where}: field camera")
        n = int(data["frame_end"] - data["frame_start"]) + 1
        if cam.get("clip_start", 0.1) >= cam.get("clip_end", 100.0):
            raise ShotError(f"{where}: field camera.clip_start ({cam.get('clip_start', 0.1)}) is not before "
                            f"camera.clip_end ({cam.get('clip_end', 100.0)}); give clip_start < clip_end")
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
