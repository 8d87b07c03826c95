"""Room-build options: the one list of what `dreamrooms room`, the headless Blender entry and the panel can set.

Each Option says its type, default, range and help once.  `add_arguments` makes the CLI from it, the Blender
add-on makes its scene properties from it (`blender_addon/properties.py`), and `validate` checks a set of values
before anything is built or written.  Options marked `panel=False` exist on the command line only (say why in
their help); `cli=False` ones only in the panel.
"""
from __future__ import annotations

import argparse
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from dreamrooms import limits
from dreamrooms.camera.moves import EASINGS, REGISTRY as MOVES
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot.frames import FrameRangeError, parse_frames
from dreamrooms.shot.paths import path_arg

LAYOUTS = {  # name -> (panel label, description)
    "plane": ("Depth plane", "the frame unprojected through the camera: a 3D photo"),
    "room": ("Room", "back, left, right walls, floor and ceiling, each a displaced plane"),
    "corridor": ("Corridor", "rooms side by side for a camera that walks past them"),
    "layered": ("Layered planes", "one displaced plane per depth layer of `dreamrooms layers`, back to front, "
                                  "alpha-blended: no stretched edges at depth jumps"),
}
# render engines by the names Blender 4.2-5.x use, and short names; the headless entry maps each to the
# running Blender's identifier (EEVEE is BLENDER_EEVEE_NEXT in 4.2-4.5, BLENDER_EEVEE in 5.x) or fails saying
# which it has (blender_addon/scene/engine.py); the panel shows the scene's own engine list
ENGINES = ("CYCLES", "EEVEE", "WORKBENCH", "BLENDER_EEVEE", "BLENDER_EEVEE_NEXT", "BLENDER_WORKBENCH")
DEVICES = ("auto", "cpu", "gpu")
# Cycles compute backends (CyclesPreferences.compute_device_type), in the order --device auto|gpu tries them
BACKENDS = ("OPTIX", "CUDA", "HIP", "METAL", "ONEAPI")
# render passes beyond Combined and Depth (always on); blender_addon/scene/render_settings.py maps them
EXTRA_PASSES = ("mist", "normal", "vector", "object_index")


@dataclass(frozen=True)
class Option:
    name: str                    # argparse dest and Blender property name
    type: type                   # bool, int, float, str, tuple (a U,V point)
    default: Any
    help: str
    label: str = ""
    group: str = "build"         # build | camera | render | output
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None
    cli: bool = True
    panel: bool = True
    flag: str = ""               # CLI flag when not --name-with-dashes
    parse: Callable[[str], Any] | None = None   # text -> value (argparse type; the panel's text goes through it)
    metavar: str | None = None
    layouts: tuple[str, ...] = ()  # the layouts that use it (the panel shows it for those); () = every layout

    @property
    def cli_flag(self) -> str:
        return self.flag or "--" + self.name.replace("_", "-")


def _opt(name, type_, default, help_, **kw) -> Option:
    return Option(name, type_, default, help_, label=kw.pop("label", name.replace("_", " ").capitalize()), **kw)


OPTIONS: tuple[Option, ...] = (
    # build
    _opt("layout", str, "plane", "displaced depth plane, a room of five walls, a corridor of rooms, or layered "
         "planes (one per depth layer; run `dreamrooms layers` first)",
         choices=tuple(LAYOUTS)),
    _opt("colour", str, None, "colour sequence name (default: the first RGB sequence)", panel=False),
    _opt("depth", str, None, "sequence holding depth.Z (default: `depth` or the first with depth.Z)", panel=False),
    _opt("grid", int, 0, "vertices along the long side (plane: 0 = as the camera needs: one per pixel up to about 640x360, "
         "above that every 2-4 output pixels where depth is smooth and every pixel across depth edges; walls: 0 = 64)", min=0, max=limits.MAX_GRID),
    _opt("depth_scale", float, 1.0, "multiply depth by this", min=0.001, max=1000.0, layouts=("plane", "layered")),
    _opt("near", float, 0.0, "clamp depth below this (0: off)", min=0.0),
    _opt("far", float, 0.0, "clamp depth above this (0: off)", min=0.0),
    _opt("edge_cut", float, 0.0, "delete triangles whose depth ratio exceeds this (e.g. 1.2; 0: off)", min=0.0, max=100.0),
    _opt("fill_behind", bool, False, "plane: a stretched copy behind the cut edges", label="Fill behind edges", layouts=("plane",)),
    _opt("static", bool, False, "build the first frame only (no geometry-nodes animation)", label="First frame only"),
    _opt("rooms", int, 3, "corridor: number of rooms", min=1, max=limits.MAX_ROOMS, layouts=("corridor",)),
    _opt("room_width", float, 4.0, "room width in metres", min=0.1, max=1000.0, layouts=("room", "corridor")),
    _opt("room_length", float, 5.0, "room length in metres", min=0.1, max=1000.0, layouts=("room", "corridor")),
    _opt("room_gap", float, 0.5, "corridor: metres between rooms", min=0.0, max=100.0, layouts=("corridor",)),
    _opt("strength", float, 0.1, "walls: relief in metres per unit of depth", min=0.0, max=100.0, label="Relief", layouts=("room", "corridor")),
    _opt("wall_offset", int, 0, "frames between walls (one sequence, time offsets)", min=0, max=100000, layouts=("room", "corridor")),
    _opt("room_offset", int, 0, "frames between rooms of a corridor", min=0, max=100000, layouts=("corridor",)),
    _opt("with_plane", bool, False, "corridor: also a depth plane (3D photo) in a bay after the last room", layouts=("corridor",)),
    _opt("sequences", str, "", "comma-separated colour sequences cycled over rooms/walls", panel=False),
    _opt("lens", float, 0.0, "lens mm (0: the shot camera's, else 35)", min=0.0, max=5000.0),
    # camera
    _opt("frames", str, None, "frames A-B to move over and render (default: the shot's); a still (a one-frame shot, "
         "a photo) is held over any range: the 3D photo", group="camera", parse=parse_frames, metavar="A-B"),
    _opt("move", str, None, "camera move preset (default: walk_past for a corridor, else dolly_in)", group="camera",
         choices=tuple(MOVES) + ("dolly",)),
    _opt("intensity", float, 1.0, "move amount (metres for dolly/truck/crane; x30 deg pan, x40 deg orbit)",
         group="camera", min=-100.0, max=100.0),
    _opt("duration", int, 0, "frames the move takes, then it holds (0: the whole shot)", group="camera", min=0),
    _opt("easing", str, "ease_in_out", "how the move starts and stops", group="camera", choices=EASINGS),
    _opt("reveal_budget", float, 0.0, "plane/layered: scale the move down (one factor, the largest that fits) until "
         "no frame reveals more than this percent of the picture the source view never saw (0: off)",
         group="camera", min=0.0, max=100.0, label="Reveal budget %"),
    _opt("shake", float, 0.0, "add seeded handheld shake of this strength", group="camera", min=0.0, max=100.0),
    _opt("seed", int, 0, "shake seed", group="camera", min=0),
    _opt("focus_point", tuple, (0.5, 0.5), "image point whose depth sets focus (0.5,0.5 = centre)", group="camera",
         min=0.0, max=1.0),
    _opt("no_focus", bool, False, "do not key the focus distance to the subject", group="camera", label="No focus"),
    _opt("fstop", float, 2.8, "f-stop of the keyed focus (After Effects' lens blur, or Blender's with --dof)",
         group="camera", min=0.1, max=128.0, label="F-stop"),
    _opt("dof", bool, False, "render depth of field in Blender (the lens is sampled: 16 samples, several times the "
         "render time); off, the render is sharp and After Effects' Camera Lens Blur focuses it from the depth pass "
         "with the same focus and f-stop", group="camera", label="Depth of field in render"),
    # render
    _opt("engine", str, "CYCLES", "render engine (EEVEE and WORKBENCH mean this Blender's identifier); the panel shows "
         "the scene's own engine list instead", group="render", choices=ENGINES, panel=False),
    _opt("samples", int, 0, "render samples per pixel (0: 4, or 16 with --dof; adaptive sampling stops "
         "converged pixels early)", group="render", min=0, max=limits.MAX_SAMPLES),
    _opt("passes", str, "", "extra render passes, comma-separated: " + ", ".join(EXTRA_PASSES) + ", or all "
         "(Combined and Depth are always rendered; others cost render time and disk)", group="render"),
    _opt("denoise", bool, False, "denoise the render (OpenImageDenoise on the CPU; off: the frame is the footage)",
         group="render"),
    _opt("device", str, "auto", "Cycles device: auto (a GPU when Cycles finds one, else the CPU), cpu, or gpu (fails "
         "without one); the panel uses your Cycles preferences instead", group="render", choices=DEVICES, panel=False),
    _opt("compute_backend", str, None, "GPU backend for --device auto|gpu (default: the first of "
         + ", ".join(BACKENDS) + " with a device)", group="render", choices=BACKENDS, panel=False),
    _opt("percentage", int, 100, "render resolution percentage (renders into the shot need 100)", group="render",
         min=1, max=100, panel=False),
    _opt("cryptomatte", bool, False, "add the Cryptomatte object pass", group="render"),
)
BY_NAME = {o.name: o for o in OPTIONS}


def parse_point(text: str) -> tuple[float, float]:
    """'U,V' in 0..1 (argparse type)."""
    try:
        u, v = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--focus-point {text!r}: write U,V in 0..1, e.g. 0.5,0.5") from None
    if not (0 <= u <= 1 and 0 <= v <= 1):
        raise argparse.ArgumentTypeError(f"--focus-point {text!r}: U and V must be within 0..1")
    return u, v


def _ranged(o: Option):
    """An argparse type for a number option that refuses NaN, infinities and values outside its range."""
    def parse(text: str):
        try:
            v = o.type(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{o.cli_flag} {text!r}: not a{'n integer' if o.type is int else ' number'}") from None
        check(o, v)
        return v
    return parse


def _parsed(o: Option):
    """An argparse type from the option's own parser (its errors are usage errors)."""
    def parse(text: str):
        try:
            return o.parse(text)
        except DreamroomsError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None
    return parse


def check(o: Option, v: Any) -> None:
    """Raise argparse.ArgumentTypeError when `v` is not a valid value of `o`."""
    if o.type in (int, float):
        if isinstance(v, float) and not math.isfinite(v):
            raise argparse.ArgumentTypeError(f"{o.cli_flag} {v}: give a finite number")
        if (o.min is not None and v < o.min) or (o.max is not None and v > o.max):
            lo = "" if o.min is None else f"{o.min:g}"
            hi = "" if o.max is None else f"{o.max:g}"
            raise argparse.ArgumentTypeError(f"{o.cli_flag} {v}: must be within {lo}..{hi}")
    elif o.choices and v not in o.choices:
        raise argparse.ArgumentTypeError(f"{o.cli_flag} {v!r}: use one of {', '.join(o.choices)}")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The `room` command's arguments, from OPTIONS."""
    p.add_argument("shot", type=Path, help="shot folder with a colour sequence and depth (run `dreamrooms depth` first)")
    p.add_argument("--render", action="store_true",
                   help="render SHOT/render/render.####.exr (multilayer: Combined, Depth, and the --passes asked for)")
    add_options(p, [o.name for o in OPTIONS if o.cli])
    p.add_argument("--save", type=path_arg, default=None, help="save the .blend here (default: SHOT/room.blend)")
    p.add_argument("--no-save", action="store_true", help="do not save a .blend")


def add_options(p: argparse.ArgumentParser, names) -> None:
    """The arguments of the options `names` (other entry points share some, e.g. the render worker's device)."""
    for o in (BY_NAME[n] for n in names):
        flags = [o.cli_flag] + (["--color"] if o.name == "colour" else [])
        if o.type is bool:
            p.add_argument(*flags, dest=o.name, action="store_true", help=o.help)
        elif o.type is tuple:
            p.add_argument(*flags, dest=o.name, type=parse_point, default=o.default, metavar="U,V", help=o.help)
        elif o.parse is not None:
            p.add_argument(*flags, dest=o.name, type=_parsed(o), default=o.default, metavar=o.metavar, help=o.help)
        elif o.choices:
            p.add_argument(*flags, dest=o.name, choices=o.choices, default=o.default, help=o.help)
        elif o.type is str:
            p.add_argument(*flags, dest=o.name, default=o.default, help=o.help)
        else:
            p.add_argument(*flags, dest=o.name, type=_ranged(o), default=o.default, help=o.help)


def validate(values: Mapping[str, Any]) -> dict[str, Any]:
    """Every known option of `values` checked (a panel or a JSON payload skips argparse); unknown keys are kept."""
    out = dict(values)
    for name, v in values.items():
        o = BY_NAME.get(name)
        if o is None or v is None:
            continue
        try:
            if o.parse is not None and isinstance(v, str):   # the panel's text
                out[name] = o.parse(v) if v.strip() else None
            elif o.type is tuple:
                if len(v) != 2:
                    raise argparse.ArgumentTypeError(f"{o.cli_flag}: give U,V")
                for x in v:
                    check(Option(o.name, float, 0.0, "", min=o.min, max=o.max), float(x))
            else:
                check(o, v)
        except (argparse.ArgumentTypeError, FrameRangeError) as exc:
            raise DreamroomsError(str(exc)) from None
    return out


def default_move(layout: str) -> str:
    """The move a layout gets when none is asked for."""
    return "walk_past" if layout == "corridor" else "dolly_in"


def render_settings(values: Mapping[str, Any], shot) -> dict[str, Any]:
    """What a room render's picture depends on: every build, camera and render option of `dreamrooms.room_options`
    (not the device: CPU and GPU render the same picture), the shot's input sequences and cuts, and the models
    and settings that made them (provenance)."""
    opts = {o.name: values.get(o.name, o.default) for o in OPTIONS if o.name not in ("device", "compute_backend")}
    opts = {k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()}
    inputs = {k: s.pattern for k, s in shot.sequences.items() if k != "render"}
    return {"options": opts, "inputs": inputs, "cuts": list(shot.cuts), "frames": [shot.frame_start, shot.frame_end],
            "size": [shot.width, shot.height], "models": shot.provenance.models}
