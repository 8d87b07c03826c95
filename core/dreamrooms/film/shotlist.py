"""The shot list (`FILM/shots.toml`): one recipe per scene, generated from the script on the first run for the
user to edit, read back as untrusted data (known keys and types only, paths confined to the film folder).

A shot's id comes from the scene, not its position: the scene number (`#12#`) when the script gives one, else
a hash of the heading and how many scenes before it share that heading — inserting a scene elsewhere renames
nothing.  Durations come from the script unless set: dialogue by words per minute, action by a per-line rule.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from dreamrooms import limits
from dreamrooms.errors import DreamroomsError
from dreamrooms.film.fountain import Scene, Script, plain

SHOT_LIST = "shots.toml"
SOURCES = ("walk", "footage", "stills")
TRANSITIONS = ("cut", "dissolve")


class FilmError(DreamroomsError):
    """A script or shot list that cannot make a film (one line naming the file and the fix)."""


@dataclass
class FilmSettings:
    """Whole-film settings: `[film]` in shots.toml; the command line's --size/--fps override them."""
    size: tuple[int, int] = (320, 180)
    fps: float = 24.0
    dissolve_frames: int = 12
    words_per_minute: float = 150.0
    seconds_per_action_line: float = 1.0
    min_seconds: float = 2.0
    max_seconds: float = 60.0


@dataclass
class Recipe:
    """How one scene becomes a shot folder (every key may be edited in shots.toml)."""
    id: str
    scene: str
    slug: str
    source: str = "walk"
    model: str = "cppn-walk"
    seeds: list[int] = field(default_factory=lambda: [0, 1, 2])
    footage: str = ""              # footage/stills: a path relative to the film folder
    depth_model: str = "tinydepth"
    layout: str = "plane"
    move: str = "dolly_in"
    depth_blur: bool = True
    displace: bool = False
    grain: bool = False
    dust: bool = False
    fog: bool = False
    duration: float | None = None  # seconds; None takes it from the script
    transition_in: str = "cut"     # how this shot is joined to the one before it

    @property
    def folder_name(self) -> str:
        return f"{self.id}_{self.slug}"


def slugify(text: str, limit: int = 40) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return (s[:limit].rstrip("-") or "scene")


def scene_ids(script: Script) -> list[str]:
    """A stable id per scene: its scene number if given, else heading + occurrence hashed."""
    seen: dict[str, int] = {}
    ids = []
    for sc in script.scenes:
        if sc.number:
            ids.append("s" + slugify(sc.number, 12))
            continue
        key = " ".join(sc.heading.upper().split())
        k = seen.get(key, 0)
        seen[key] = k + 1
        ids.append(hashlib.sha1(f"{key}\n{k}".encode()).hexdigest()[:6])
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise FilmError(f"scene id {dup!r} is used twice; give the scenes different numbers (#N#)")
    return ids


def script_seconds(scene: Scene, film: FilmSettings) -> float:
    """Seconds a scene takes by the script: dialogue words at words_per_minute plus a rule per action line."""
    words = sum(len(plain(e.text).split()) for e in scene.dialogue)
    seconds = words * 60.0 / film.words_per_minute + len(scene.action) * film.seconds_per_action_line
    return float(min(max(seconds, film.min_seconds), film.max_seconds))


def transitions_in(script: Script) -> list[str]:
    """How each scene is joined to the one before: a DISSOLVE written after the previous scene, else a cut."""
    out = ["cut"]
    for prev in script.scenes[:-1]:
        t = (prev.transition_out or "").upper()
        out.append("dissolve" if "DISSOLVE" in t else "cut")
    return out


def recipes_from_script(script: Script) -> list[Recipe]:
    if not script.scenes:
        raise FilmError("the script has no scene headings (INT./EXT. ... or a forced `.HEADING`); add one per scene")
    trans = transitions_in(script)
    return [Recipe(id=i, scene=sc.heading, slug=slugify(sc.heading), seeds=[3 * n + 1, 3 * n + 2, 3 * n + 3],
                   transition_in=t)
            for n, (i, sc, t) in enumerate(zip(scene_ids(script), script.scenes, trans))]


# ---- writing and reading shots.toml --------------------------------------------------------------------
def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = json.dumps(str(v), ensure_ascii=False).replace("\x7f", "\\u007f")
    return s


def write_shot_list(path: Path, film: FilmSettings, recipes: list[Recipe], script_name: str) -> None:
    from dreamrooms.atomic import write_text_atomic

    lines = [f"# dreamrooms shot list for {script_name.replace(chr(10), ' ')}: edit the recipes, rerun `dreamrooms film`.",
             "# ids come from the scenes (scene numbers #N# or headings): keep them to keep a shot's folder.",
             "# source: walk (model, seeds) | footage (a video or numbered frames) | stills (a photo); paths are",
             "# relative to this folder. duration: seconds (leave it out to take it from the script).",
             "", "[film]"]
    for f in fields(FilmSettings):
        v = getattr(film, f.name)
        lines.append(f"{f.name} = {_toml_value('x'.join(map(str, v)) if f.name == 'size' else v)}")
    for r in recipes:
        lines += ["", "[[shot]]"]
        for f in fields(Recipe):
            v = getattr(r, f.name)
            if v is None:
                lines.append(f"# {f.name} = (from the script)")
            else:
                lines.append(f"{f.name} = {_toml_value(v)}")
    write_text_atomic(path, "\n".join(lines) + "\n")


_TYPES = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}


def _check_value(where: str, key: str, value: Any, kind: Any) -> Any:
    if key == "seeds":
        if not isinstance(value, list) or not value or not all(isinstance(s, int) and not isinstance(s, bool)
                                                                 and 0 <= s < 2 ** 32 for s in value):
            raise FilmError(f"{where}: {key} must be a list of whole numbers 0..2^32-1, e.g. [1, 2, 3]")
        return value
    if key == "size":
        m = re.fullmatch(r"(\d{1,5})x(\d{1,5})", str(value))
        if not m:
            raise FilmError(f"{where}: size {value!r}: write \"WIDTHxHEIGHT\", e.g. \"320x180\"")
        w, h = int(m.group(1)), int(m.group(2))
        limits.check_resolution(w, h, f"{where}: size")
        return (w, h)
    base = kind.replace("| None", "").strip() if isinstance(kind, str) else kind
    py = {"bool": bool, "int": int, "float": float, "str": str}.get(base, base)
    ok = _TYPES.get(py, ())
    if not isinstance(value, ok) or (py is not bool and isinstance(value, bool)):
        raise FilmError(f"{where}: {key} = {value!r} is not a {base}; fix it in the shot list")
    if py is float and not math.isfinite(value):
        raise FilmError(f"{where}: {key} must be finite")
    return float(value) if py is float else value


def _load_table(where: str, table: dict, cls: type) -> dict[str, Any]:
    known = {f.name: f.type for f in fields(cls)}
    out = {}
    for key, value in table.items():
        if key not in known:
            raise FilmError(f"{where}: unknown key {key!r}; known: {', '.join(known)}")
        out[key] = _check_value(where, key, value, known[key])
    return out


def read_shot_list(path: Path, film_dir: Path) -> tuple[FilmSettings, list[Recipe]]:
    """Read and validate shots.toml: one line naming the file, the shot and the fix on anything wrong."""
    if path.stat().st_size > limits.MAX_MANIFEST_BYTES:
        raise FilmError(f"{path}: too large for a shot list; regenerate it (delete it and rerun)")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise FilmError(f"{path}: not valid TOML ({exc}); fix it or delete it to regenerate") from None
    unknown = set(data) - {"film", "shot"}
    if unknown:
        raise FilmError(f"{path}: unknown table {sorted(unknown)[0]!r}; use [film] and [[shot]]")
    film = FilmSettings(**_load_table(f"{path} [film]", data.get("film", {}), FilmSettings))
    _check_film(path, film)
    shots = data.get("shot", [])
    if not isinstance(shots, list):
        raise FilmError(f"{path}: write each shot as [[shot]]")
    recipes = []
    for n, table in enumerate(shots, 1):
        where = f"{path} shot {n}"
        if not isinstance(table, dict) or "id" not in table:
            raise FilmError(f"{where}: every [[shot]] needs an id (from the generated list)")
        values = _load_table(where, table, Recipe)
        values.setdefault("scene", "")
        values.setdefault("slug", slugify(values["scene"] or values["id"]))
        r = Recipe(**values)
        _check_recipe(where, r, film_dir)
        recipes.append(r)
    ids = [r.id for r in recipes]
    dup = next((i for i in ids if ids.count(i) > 1), None)
    if dup:
        raise FilmError(f"{path}: shot id {dup!r} appears twice; ids must be unique")
    return film, recipes


def _check_film(path: Path, film: FilmSettings) -> None:
    limits.check_number(film.fps, f"{path}: fps", low=1, high=99)
    limits.check_number(film.dissolve_frames, f"{path}: dissolve_frames", low=0, high=10_000)
    for key in ("words_per_minute", "seconds_per_action_line", "min_seconds", "max_seconds"):
        limits.check_number(getattr(film, key), f"{path}: {key}", low=0, high=100_000, low_open=key != "seconds_per_action_line")


def _check_recipe(where: str, r: Recipe, film_dir: Path) -> None:
    from dreamrooms.room_options import LAYOUTS
    from dreamrooms.camera.moves import REGISTRY as MOVES
    from dreamrooms.shot.paths import check_name, confine

    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,39}", r.id):
        raise FilmError(f"{where}: id {r.id!r}: use lowercase letters, digits and '-' (at most 40)")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,59}", r.slug):
        raise FilmError(f"{where}: slug {r.slug!r}: use lowercase letters, digits and '-'")
    for key, allowed in (("source", SOURCES), ("layout", tuple(LAYOUTS)), ("move", tuple(MOVES)),
                         ("transition_in", TRANSITIONS)):
        if getattr(r, key) not in allowed:
            raise FilmError(f"{where}: {key} {getattr(r, key)!r}: use one of {', '.join(allowed)}")
    check_name(r.model, f"{where}: model")
    check_name(r.depth_model, f"{where}: depth_model")
    if r.source != "walk":
        if not r.footage:
            raise FilmError(f"{where}: source {r.source} needs footage = \"PATH\" (relative to {film_dir})")
        confine(film_dir, r.footage, f"{where}: footage")
    if r.duration is not None:
        limits.check_number(r.duration, f"{where}: duration", low=0, high=3600, low_open=True)
