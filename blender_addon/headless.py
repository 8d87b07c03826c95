"""Headless entry: build a plane/room/corridor from a shot, move the camera, render.

    blender -b [file.blend] -P blender_addon/headless.py -- room SHOT --layout plane|room|corridor \\
        --move dolly --frames 1-48 --render
    python blender_addon/headless.py room SHOT ...          (with the bpy module installed)
    blender -b scene.blend -P blender_addon/headless.py -- render SHOT [--frames A-B] [--device auto|cpu|gpu] [--threads N]
    blender -b scene.blend -P blender_addon/headless.py -- focus SHOT --point 0.5,0.5

Exit code 0 on success; on failure 1 with `dreamrooms: error: ...` on stderr.
`--progress json` (before the command) streams JSON progress lines for the add-on's job runner.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import os
import sys
import time
from pathlib import Path

ADDON_ALIAS = "_dreamrooms_addon"


def _argv() -> list[str]:
    return sys.argv[sys.argv.index("--") + 1:] if "--" in sys.argv else sys.argv[1:]


def _bootstrap():
    """Run as a script: load this folder as a package (under an alias: the installed extension's
    folder is itself called `dreamrooms`, like the core) and make the core importable."""
    here = Path(__file__).resolve().parent
    if importlib.util.find_spec("dreamrooms") is None or _is_addon_dir(importlib.util.find_spec("dreamrooms")):
        core = here.parent / "core"
        if (core / "dreamrooms" / "__init__.py").is_file():
            sys.path.insert(0, str(core))
    if ADDON_ALIAS not in sys.modules:
        spec = importlib.util.spec_from_file_location(ADDON_ALIAS, here / "__init__.py",
                                                      submodule_search_locations=[str(here)])
        pkg = importlib.util.module_from_spec(spec)
        sys.modules[ADDON_ALIAS] = pkg
        spec.loader.exec_module(pkg)
    return importlib.import_module(f"{ADDON_ALIAS}.headless")


def _is_addon_dir(spec) -> bool:
    return bool(spec and spec.origin and (Path(spec.origin).parent / "blender_manifest.toml").is_file())


def build_parser() -> argparse.ArgumentParser:
    from dreamrooms import progress
    from dreamrooms.room_options import add_arguments, add_options, parse_point
    from dreamrooms.shot.frames import frame_range_arg
    parser = argparse.ArgumentParser(prog="blender -b -P headless.py --",
                                     description="dreamrooms in Blender without the UI")
    parser.add_argument("--progress", choices=progress.MODES, default=None)
    parser.add_argument("--debug", action="store_true", help="print where the time went (start-up, build, per frame)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    add_arguments(sub.add_parser("room", help="build, move the camera, optionally render"))
    j = sub.add_parser("room-json", help="`room` with its arguments as one JSON object (used by `dreamrooms room`)")
    j.add_argument("payload")
    r = sub.add_parser("render", help="render the open .blend into the shot (whole frames, resumable)")
    r.add_argument("shot", type=Path)
    r.add_argument("--frames", type=frame_range_arg, default=None, metavar="A-B")
    r.add_argument("--blend", type=Path, default=None, help="open this .blend first (when running with the bpy module)")
    add_options(r, ["device", "compute_backend"])
    r.set_defaults(device=None)  # no --device: render on what the file and preferences (or a farm's setup) say
    r.add_argument("--threads", type=int, default=0,
                   help="render threads (0: all cores); a cluster task uses the CPUs Ray gave it")
    f = sub.add_parser("focus", help="the depth at an image point on every frame of the open .blend (a `result` event)")
    f.add_argument("shot", type=Path)
    f.add_argument("--point", type=parse_point, default=(0.5, 0.5), metavar="U,V", help="image point, 0..1 from the top left")
    f.add_argument("--frames", type=frame_range_arg, default=None, metavar="A-B")
    f.add_argument("--blend", type=Path, default=None, help="open this .blend first (when running with the bpy module)")
    e = sub.add_parser("film-edit", help="a film's sequencer edit from its edit.json (used by `dreamrooms film`)")
    e.add_argument("edit", type=Path)
    e.add_argument("--out", type=Path, required=True)
    return parser


def use_device(scene, args) -> str:
    """Apply --device to Cycles and say what renders (a `device` event the add-on shows)."""
    from dreamrooms.progress import emit

    from .scene import engine
    if scene.render.engine == "CYCLES":
        what = engine.use_device(scene, getattr(args, "device", None), getattr(args, "compute_backend", None))
    else:  # EEVEE and Workbench draw on the GPU Blender's window system gives them; no device choice
        what = scene.render.engine
    emit("message", stage="render", device=what, text=f"rendering on {what}")
    print(f"dreamrooms: rendering on {what}", file=sys.stderr, flush=True)
    return what


def _hold_in_manifest(shot, frames) -> None:
    """Hold the still photo over ``frames`` in shot.json too (re-read under the manifest lock)."""
    from dreamrooms.shot import hold, update_shot

    def held_too(current):   # shot.json as it is now (re-read under the manifest lock), held over the same range
        if current is None:
            return shot
        hold.hold_still(current, frames)
        return current

    update_shot(shot.folder, held_too)


def _save_blend(args: argparse.Namespace, shot, prof) -> None:
    """Save the built scene as ``--save`` or ``<shot>/room.blend``."""
    import bpy

    blend = Path(args.save) if args.save else Path(shot.folder) / "room.blend"
    blend.parent.mkdir(parents=True, exist_ok=True)
    with prof.phase("save .blend"):
        bpy.ops.wm.save_as_mainfile(filepath=str(blend), check_existing=False, compress=True)
    print(f"dreamrooms: saved {blend}", file=sys.stderr)


def _record_run(shot, args: argparse.Namespace):
    """Write this run's camera, scene/room record, matte and command into shot.json; returns the merged shot."""
    from dreamrooms import reveal as RV
    from dreamrooms.shot import update_shot

    command = getattr(args, "command_line", None) or list(sys.argv)   # the `dreamrooms room` line, else Blender's

    def merge(current):   # shot.json as it is now (the render's record, other stages'): this run's record on top
        current = current or shot
        current.camera = shot.camera
        for key in ("scene", "room"):
            current.provenance.extra[key] = shot.provenance.extra[key]
        if RV.MATTE in shot.sequences:
            current.sequences[RV.MATTE] = shot.sequences[RV.MATTE]
        current.provenance.add_command(command)
        return current

    return update_shot(shot.folder, merge)


def run_room(args: argparse.Namespace) -> int:
    import bpy

    from dreamrooms import reveal as RV
    from dreamrooms.errors import DreamroomsError
    from dreamrooms.progress import emit
    from dreamrooms.room_options import validate
    from dreamrooms.shot import hold

    from .scene import build as B
    from .scene import camera_rig
    from .scene import profile
    from .scene import render as R
    from .scene import shotio

    prof = profile.current()
    t0 = time.perf_counter()
    values = validate(vars(args))
    shot = shotio.load_shot(args.shot)
    frames = hold.move_frames(shot, values["frames"])
    held = hold.hold_still(shot, frames)        # a photo moved over A-B: every frame reads its one file
    factor = RV.plan(shot, values, frames).factor if values.get("reveal_budget") else 1.0   # before building
    if not bpy.data.filepath:
        # no .blend given: start from an empty scene, not the startup file's cube, light and camera
        bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    settings = B.settings_from(values)
    emit("stage", stage="build", layout=args.layout)
    with prof.phase("build"):
        built = B.build(scene, shot, settings)
        move, mats = B.move_from(scene, shot, values, start=built["start"], frames=frames, scale=factor)
    R.setup_render(scene, shot, engine=args.engine, samples=args.samples, cryptomatte=args.cryptomatte,
                   passes=getattr(args, "passes", ""), denoise=getattr(args, "denoise", False),
                   resolution_percentage=args.percentage)
    if args.percentage != 100 and args.render:
        raise DreamroomsError(f"--percentage {args.percentage}: renders into the shot must be at the shot resolution (100)")
    if held:   # the longer range is in shot.json before the render records its sequence there
        _hold_in_manifest(shot, frames)
    from dreamrooms.room_options import render_settings
    from dreamrooms.stage import fingerprint_of

    # the render frames carry this (saved in room.blend too); a rerun with other settings renders them again
    room_settings = render_settings(values, shot)
    scene[R.FINGERPRINT_ATTR] = fingerprint_of(room_settings)
    if args.render:  # before saving: a render that fails leaves no room.blend behind
        use_device(scene, args)
        R.render_frames(scene, shot, frames)
    if not args.no_save:
        _save_blend(args, shot, prof)
    shot.camera = camera_rig.camera_track(scene, scene.camera, shot.frames)  # always this run's camera
    shot.provenance.extra["scene"] = B.scene_description(scene)
    if args.layout in RV.LAYOUTS:
        with prof.phase("reveal matte"):
            _reveal_matte(shot, values, move, mats, quiet=factor != 1.0 or bool(values.get("reveal_budget")))
    shot.provenance.extra["room"] = {**room_settings["options"], "rendered": bool(args.render)}
    shot = _record_run(shot, args)
    print(f"dreamrooms: {args.layout} built from {shot.folder} with {len(built['objects'])} object(s), "
          f"move {move} over frames {frames.start}-{frames.stop - 1}" + (", rendered" if args.render else ""), file=sys.stderr)
    prof.report(f"room {args.layout} profile", wall=prof.seconds.get("blender start-up", 0.0) + time.perf_counter() - t0)
    return 0


def _reveal_matte(shot, values, move: str, mats, quiet: bool) -> None:
    """Write the reveal matte for the keyed camera (every shot frame) and say what the move reveals, and when it
    shifts points past what the depth layers cover, the `dreamrooms layers` rerun."""
    import numpy as np

    from dreamrooms import reveal as RV
    poses = {f: np.asarray(m) for f, m in zip(shot.frames, shot.camera.matrices)}
    percents = RV.write_matte(shot, values, poses, move)
    if not quiet:
        for f, p in zip(shot.frames, percents):
            print(f"dreamrooms: reveal: frame {f}: {p:.2f} %", file=sys.stderr)
    print(f"dreamrooms: reveal matte {shot.sequences[RV.MATTE].pattern}: worst frame {max(percents):.2f} %",
          file=sys.stderr)
    if values.get("layout") == "layered":
        advice = RV.parallax_advice(shot, values, mats)
        if advice:
            print(f"dreamrooms: {advice}", file=sys.stderr)


def run_render(args: argparse.Namespace) -> int:
    import bpy

    from dreamrooms.errors import DreamroomsError

    from .scene import render as R
    from .scene import shotio
    if args.blend:
        if not Path(args.blend).is_file():
            raise DreamroomsError(f"{args.blend}: .blend file not found")
        bpy.ops.wm.open_mainfile(filepath=str(args.blend))
    shot = shotio.load_shot(args.shot)
    from dreamrooms.shot.frames import shot_frames

    scene = bpy.context.scene
    if args.threads:
        scene.render.threads_mode, scene.render.threads = "FIXED", args.threads
    use_device(scene, args)
    R.render_frames(scene, shot, shot_frames(shot, args.frames))
    return 0


def run_focus(args: argparse.Namespace) -> int:
    import bpy

    from dreamrooms.errors import DreamroomsError
    from dreamrooms.progress import emit, progress
    from dreamrooms.shot.frames import shot_frames

    from .scene import camera_rig, shotio
    if args.blend:
        if not Path(args.blend).is_file():
            raise DreamroomsError(f"{args.blend}: .blend file not found")
        bpy.ops.wm.open_mainfile(filepath=str(args.blend))
    scene = bpy.context.scene
    if scene.camera is None:
        raise DreamroomsError("focus: the scene has no camera; build a plane, room or corridor first")
    frames = shot_frames(shotio.load_shot(args.shot, check_files=False), args.frames)
    with progress(len(frames), "focus") as bar:
        values = camera_rig.focus_values(scene, scene.camera, frames, args.point, on_frame=lambda f: bar.update())
    emit("result", stage="focus", focus=values, frame_start=frames.start)
    return 0



def run_film_edit(args: argparse.Namespace) -> int:
    """Build the film's .blend: a scene per shot and the `film` scene's sequencer cut."""
    from dreamrooms.errors import DreamroomsError

    from .scene.sequencer import save_film_blend
    try:
        edit = json.loads(args.edit.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DreamroomsError(f"{args.edit}: cannot read the film edit ({exc}); rerun `dreamrooms film`") from None
    save_film_blend(edit, args.edit.parent, args.out)
    return 0


def main(argv: list[str] | None = None) -> int:
    from dreamrooms import progress
    from dreamrooms.commands.main import run_reporting_errors
    from dreamrooms.worker import watch_parent
    watch_parent()  # started by `dreamrooms room`: exit when it does
    parser = build_parser()
    args = parser.parse_args(_argv() if argv is None else argv)
    if args.progress:
        progress.set_mode(args.progress)
    if args.debug:
        from dreamrooms.commands.main import DEBUG_ENV
        os.environ[DEBUG_ENV] = "1"
    from .scene import profile
    profile.start()   # this run's (a worker runs many)
    if args.command == "room-json":
        payload = json.loads(args.payload)
        ns = build_parser().parse_args(["room", payload.get("shot", ".")])
        for k, v in payload.items():
            setattr(ns, k, v)
        ns.shot = Path(ns.shot)
        return run_reporting_errors(_one_writer, run_room, ns)
    if args.command == "room":
        return run_reporting_errors(_one_writer, run_room, args)
    # render chunks of one shot run side by side on a farm or a Ray cluster: each writes its own whole frames
    # atomically, so they take no shot-wide lock
    return run_reporting_errors({"render": run_render, "focus": run_focus, "film-edit": run_film_edit}[args.command], args)


def _one_writer(func, args: argparse.Namespace) -> int:
    """Run `func` holding the shot's `room` writer lock: one Blender build writes a shot at a time."""
    from dreamrooms.shot.lock import writer_lock

    with writer_lock(Path(str(args.shot)).absolute(), "room"):
        return func(args)


if __name__ == "__main__":
    if __package__:
        sys.exit(main())
    sys.exit(_bootstrap().main())
