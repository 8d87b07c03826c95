"""`python3 build.py demo`: the whole pipeline on the built-in models, offline, as a small film.

walk (cppn-walk, looped) -> depth (tinydepth, stabilised) -> Blender: a corridor of three rooms whose
walls are the walk plus a depth plane, a walk-past camera with focus keyed to the subject, a multilayer
EXR render with Cycles -> After Effects export (shot.jsx) -> contact sheet PNG and MP4 preview.
Each stage runs as its own process (as a user would run it), its log goes to SHOT-logs/ beside the shot
(a walk refuses a non-empty folder without shot.json, so not inside it), and the
terminal shows one progress bar and one summary line per stage.
"""
from __future__ import annotations

import argparse

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from dreamrooms import preview
from dreamrooms.progress import parse_event
from dreamrooms.shot import exr
from dreamrooms.commands.main import run_reporting_errors
from dreamrooms.errors import DreamroomsError
from dreamrooms.shot import Shot

ROOT = Path(__file__).resolve().parent


@dataclass
class Settings:
    out: Path
    frames: int = 48
    fps: int = 24
    size: str = "384x216"
    seeds: str = "3,17,42"
    samples: int = 0   # 0: the render defaults (room --samples 0)


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "dreamrooms", "--progress", "json", *args]


def run_stage(name: str, cmd: list[str], log_dir: Path) -> float:
    """Run one stage, showing its JSON progress as a bar and keeping everything else in its log."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log_path = log_dir / f"{name}.log"
    t = time.monotonic()
    bar = None
    with open(log_path, "w", encoding="utf-8") as log:
        log.write("$ " + " ".join(cmd) + "\n")
        log.flush()
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.PIPE, text=True, cwd=ROOT,
                                env=dict(os.environ, PYTHONUNBUFFERED="1"))
        assert proc.stderr is not None
        for line in proc.stderr:
            event = parse_event(line)
            if event is not None and event["event"] in ("start", "progress", "end"):
                total = event.get("total")
                if bar is None or event.get("event") == "start":
                    if bar is not None:
                        bar.close()
                    bar = tqdm(total=total, desc=f"{name:>8} {event.get('stage', '')}"[:40], unit="frame",
                               file=sys.stderr, leave=False, dynamic_ncols=True)
                if "done" in event:
                    bar.n = event["done"]
                    bar.refresh()
                continue
            log.write(line)
        rc = proc.wait()
    if bar is not None:
        bar.close()
    if rc != 0:
        tail = log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-6:]
        raise DreamroomsError(f"demo stage {name} failed (exit {rc}); log {log_path}:\n  " + "\n  ".join(tail))
    return time.monotonic() - t


def summary(name: str, seconds: float, what: str) -> None:
    print(f"  {name:<8} {seconds:6.1f} s  {what}", flush=True)


def make_previews(shot_dir: Path) -> tuple[Path, Path]:
    shot = Shot.load(shot_dir)
    render_seq = "render"
    depth_key = "depth.Z"
    n = shot.frame_count
    picks = sorted({shot.frame_start + round(i * (n - 1) / 5) for i in range(6)})
    layered = next(name for name, seq in shot.sequences.items() if {"R", depth_key} <= set(seq.channels))
    rows = [("walk colour (cppn-walk)", shot, layered, "RGBA"),
            ("depth (tinydepth, stabilised)", shot, layered, depth_key)]
    render_layers = exr.info(shot.frame_path(render_seq, shot.frame_start)).layers   # the header only
    combined = next(k for k in render_layers if k.endswith("Combined.RGBA"))
    render_depth = next(k for k in render_layers if k.endswith("Depth.Z"))
    rows += [("Blender render (Cycles)", shot, render_seq, combined),
             ("render depth", shot, render_seq, render_depth)]
    sheet = preview.contact_sheet(rows, picks, shot_dir / "preview" / "contact_sheet.png", thumb_width=200)
    mid = shot.frame_start + n // 5  # inside the first room, looking at its back wall
    _side_by_side(shot, render_seq, combined, render_depth, mid, shot_dir / "preview" / "frame.png")
    mp4 = preview.sequence_mp4(shot, render_seq, combined, shot_dir / "preview" / "render.mp4")
    return sheet, mp4


def _side_by_side(shot: Shot, seq: str, colour: str, depth: str, frame: int, out: Path) -> Path:
    """One frame of the render next to its depth: the picture at the top of the README."""
    import cv2
    import numpy as np

    layers = exr.read_frame(shot.frame_path(seq, frame), [colour, depth])
    img = np.concatenate([preview.display_rgb(layers[colour]), preview.display_depth(layers[depth])], axis=1)
    ok, buf = cv2.imencode(".png", img)
    out.write_bytes(buf.tobytes())
    return out


def run(s: Settings) -> int:
    shot_dir = s.out.resolve()
    if shot_dir.exists():
        shutil.rmtree(shot_dir)
    logs = shot_dir.parent / f"{shot_dir.name}-logs"
    shutil.rmtree(logs, ignore_errors=True)
    print(f"dreamrooms demo: a {s.frames}-frame film at {s.size} from the built-in models -> {shot_dir}", flush=True)
    total = time.monotonic()
    w, h = s.size.split("x")

    t = run_stage("walk", _cli("walk", "--model", "cppn-walk", "--out", str(shot_dir), "--frames", str(s.frames),
                               "--fps", str(s.fps), "--size", s.size, "--seeds", s.seeds, "--loop"), logs)
    summary("walk", t, f"cppn-walk looped through seeds {s.seeds}: {s.frames} frames {w}x{h} -> layers/walk.####.exr")

    t = run_stage("depth", _cli("depth", str(shot_dir), "--model", "tinydepth", "--out", str(shot_dir),
                                "--stabilize", "keyframe"), logs)
    summary("depth", t, "tinydepth, keyframe-stabilised -> depth.Z in layers/, depth/walk.####.exr")

    t = run_stage("blender", _cli("room", str(shot_dir), "--layout", "corridor", "--rooms", "3", "--with-plane",
                                  "--room-offset", str(max(1, s.frames // 3)), "--move", "walk_past",
                                  # relief stops at depth 4 (near is 1): holes in the walk dent the walls, not spike them
                                  "--far", "4",
                                  "--render", "--samples", str(s.samples)), logs)
    spp = f"{s.samples} spp" if s.samples else "default samples"
    summary("blender", t, f"corridor of 3 rooms + depth plane, walk-past camera with focus keyed to the subject "
                          f"(After Effects' lens blur), Cycles {spp} -> render/render.####.exr")

    t = run_stage("ae", _cli("ae", str(shot_dir)), logs)
    summary("ae", t, "AE-ready sequences + ae/shot.jsx (File > Scripts > Run Script File in After Effects)")

    t0 = time.monotonic()
    sheet, mp4 = make_previews(shot_dir)
    summary("preview", time.monotonic() - t0, f"{sheet.relative_to(shot_dir)} and {mp4.relative_to(shot_dir)}")

    print(f"done in {time.monotonic() - total:.0f} s. Look at:", flush=True)
    print(f"  film        {mp4}")
    print(f"  contact     {sheet}")
    print(f"  AE script   {shot_dir / 'ae' / 'shot.jsx'}")
    print(f"  Blender     {shot_dir / 'room.blend'}")
    print(f"  shot        {shot_dir / 'shot.json'}   (dreamrooms shot info {shot_dir})")
    print(f"  logs        {logs}")
    return 0


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="build.py demo", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=ROOT / "demo_out" / "shot", help="shot folder to make (replaced)")
    p.add_argument("--frames", type=int, default=48)
    p.add_argument("--size", default="384x216", help="WIDTHxHEIGHT of the walk and the render")
    p.add_argument("--samples", type=int, default=0, help="Cycles samples (0: the render defaults)")
    args = p.parse_args(argv)
    return run_reporting_errors(run, Settings(out=args.out, frames=args.frames, size=args.size, samples=args.samples))


if __name__ == "__main__":
    sys.exit(main())
