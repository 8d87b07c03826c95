"""Fixture shots for the AE checks (used by tests/core/test_ae_*.py and by the node tests).

`python tests/ae/make_shots.py OUT_ROOT` writes a few shots (a Blender-style multi-part render with
Mist, Normal, Vector, IndexOB and Cryptomatte passes and non-square pixels, our layered file with a mask and a scene
description, in a folder and with names hostile to code generation), runs `dreamrooms ae` on each,
and prints one JSON line per shot: {"name", "folder", "script", "expect": {...}} for the node tests
to check what the AE model builds against.
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import numpy as np
import OpenEXR

from dreamrooms.shot import exr
from dreamrooms.shot import CameraTrack, Shot, frame_file

NASTY = 'q"u\'o\\te\nnl */ </script> é漢 \u2028 %41 $x'


def rot_x(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]])


def rot_z(a):
    c, s = math.cos(a), math.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]])


def camera_track(n: int, still_frames: int = 0, fstop: float | None = None) -> CameraTrack:
    """A camera at (0,-5,1.5) looking along +Y, panning and dollying; the first frames hold still."""
    mats = []
    for i in range(n):
        k = max(0, i - still_frames)
        m = np.eye(4)
        m[:3, :3] = rot_z(math.radians(2.0 * k)) @ rot_x(math.radians(90))
        m[:3, 3] = [0.1 * k, -5.0 + 0.25 * k, 1.5]
        mats.append(m.tolist())
    return CameraTrack(matrices=mats, lens_mm=50.0, sensor_mm=36.0, sensor_fit="AUTO", clip_start=0.1, clip_end=100.0,
                       focus_distance=[4.0 + 0.1 * i for i in range(n)], fstop=fstop)


def frame_pixels(w: int, h: int, i: int):
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    depth = 2.0 + 6.0 * (x / (w - 1)) + 0.05 * i  # left near, right far
    depth[0, 0] = 1e10  # Blender's background depth
    rgba = np.zeros((h, w, 4), np.float32)
    rgba[..., 0] = x / w
    rgba[..., 1] = y / h
    rgba[..., 2] = 0.25
    rgba[..., 3] = 1.0
    rgba[:2, :] *= 0.5  # some partial alpha (premultiplied)
    mask = (x < w / 2).astype(np.float32)
    return rgba, depth, mask


def make_layers_shot(folder: Path, name: str, frames: int = 3, w: int = 32, h: int = 18, camera: bool = True,
                     frame_start: int = 1) -> Shot:
    shot = Shot(fps=24.0, width=w, height=h, frame_start=frame_start, frame_end=frame_start + frames - 1, name=name)
    pattern = "layers/" + "walk.####.exr"
    for i, f in enumerate(shot.frames):
        rgba, depth, mask = frame_pixels(w, h, i)
        exr.write_frame(folder / frame_file(pattern, f), {"RGBA": rgba, "depth.Z": depth, "mask.A": mask})
    shot.add_sequence("layers", pattern, ["R", "G", "B", "A", "depth.Z", "mask.A"])
    shot.camera = camera_track(frames, still_frames=1) if camera else None
    shot.save(folder)
    return shot


def add_scene(shot: Shot) -> Shot:
    """A scene description as the Blender side records it: one entry per room/plane with its world matrix."""
    room = np.eye(4)
    room[:3, 3] = [0.5, 2.0, 1.0]
    shot.provenance.extra["scene"] = [{"name": "room 1", "kind": "room", "matrix": room.tolist()},
                                      {"name": "plane \u2028 \"2\"", "kind": "plane", "matrix": np.eye(4).tolist()}]
    shot.save()
    return shot


def pass_pixels(w: int, h: int, i: int) -> dict[str, np.ndarray]:
    """Blender-like extra passes: Mist (0..1 with distance), Normal (unit XYZ), Vector (XYZW motion in pixels),
    IndexOB (object index), CryptoObject00 (id/coverage pairs, as Cryptomatte stores them)."""
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    mist = np.clip(x / (w - 1) + 0.01 * i, 0, 1)
    n = np.stack([x / w - 0.5, y / h - 0.5, np.ones_like(x)], axis=-1)
    normal = n / np.linalg.norm(n, axis=-1, keepdims=True)
    vector = np.stack([np.full_like(x, 1.5 + i), np.full_like(x, -0.5), np.full_like(x, -1.5 - i), np.full_like(x, 0.5)], axis=-1)
    index = (x >= w / 2).astype(np.float32) + 1.0
    crypto = np.stack([index * 0.25, np.full_like(x, 1.0), np.full_like(x, 0.0), np.full_like(x, 0.0)], axis=-1)
    return {"Mist": mist.astype(np.float32), "Normal": normal.astype(np.float32), "Vector": vector.astype(np.float32),
            "IndexOB": index, "CryptoObject00": crypto.astype(np.float32)}


def write_blender_frame(path: Path, rgba: np.ndarray, depth: np.ndarray, passes: dict[str, np.ndarray] | None = None) -> None:
    """A Blender 5 style multi-part frame: ViewLayer.Combined (RGBA half), ViewLayer.Depth (Z float), and one
    part per extra pass (ViewLayer.Mist.Z, ViewLayer.Normal.XYZ, ViewLayer.Vector.XYZW, float)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    hdr = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage}
    comb = {f"ViewLayer.Combined.{c}": np.ascontiguousarray(rgba[..., i].astype(np.float16)) for i, c in enumerate("RGBA")}
    dep = {"ViewLayer.Depth.Z": np.ascontiguousarray(depth.astype(np.float32))}
    parts = [OpenEXR.Part(dict(hdr), comb, "ViewLayer.Combined"), OpenEXR.Part(dict(hdr), dep, "ViewLayer.Depth")]
    for name, pix in (passes or {}).items():
        letters = {"Mist": "Z", "Normal": "XYZ", "Vector": "XYZW", "IndexOB": "X", "CryptoObject00": "RGBA"}[name]
        chans = {f"ViewLayer.{name}.{c}": np.ascontiguousarray(pix if pix.ndim == 2 else pix[..., k]) for k, c in enumerate(letters)}
        meta = CRYPTO_HEADER if name.startswith("Crypto") else {}
        parts.append(OpenEXR.Part({**hdr, **meta}, chans, f"ViewLayer.{name}"))
    OpenEXR.File(parts).write(str(path))


# The Cryptomatte header metadata Blender writes beside the CryptoObject layers (Cryptomatte specification:
# cryptomatte/<7 hex id>/name, hash, conversion, manifest), which the Cryptomatte effect reads.
CRYPTO_HEADER = {"cryptomatte/3ae39a5/name": "ViewLayer.CryptoObject", "cryptomatte/3ae39a5/hash": "MurmurHash3_32",
                 "cryptomatte/3ae39a5/conversion": "uint32_to_float32",
                 "cryptomatte/3ae39a5/manifest": '{"Cube":"3e800000","Plane":"3f000000"}'}

PASS_CHANNELS = ["ViewLayer.Mist.Z", "ViewLayer.Normal.X", "ViewLayer.Normal.Y", "ViewLayer.Normal.Z",
                 "ViewLayer.Vector.X", "ViewLayer.Vector.Y", "ViewLayer.Vector.Z", "ViewLayer.Vector.W", "ViewLayer.IndexOB.X",
                 "ViewLayer.CryptoObject00.R", "ViewLayer.CryptoObject00.G", "ViewLayer.CryptoObject00.B",
                 "ViewLayer.CryptoObject00.A"]


def make_blender_shot(folder: Path, name: str, frames: int = 4, w: int = 40, h: int = 24, fstop: float | None = None,
                      passes: bool = False, pixel_aspect: float = 1.0) -> Shot:
    shot = Shot(fps=25.0, width=w, height=h, frame_start=1, frame_end=frames, name=name, pixel_aspect=pixel_aspect)
    pattern = "render/render.####.exr"
    for i, f in enumerate(shot.frames):
        rgba, depth, _ = frame_pixels(w, h, i)
        write_blender_frame(folder / frame_file(pattern, f), rgba, depth, pass_pixels(w, h, i) if passes else None)
    shot.add_sequence("render", pattern, ["ViewLayer.Combined.R", "ViewLayer.Combined.G", "ViewLayer.Combined.B",
                                          "ViewLayer.Combined.A", "ViewLayer.Depth.Z"] + (PASS_CHANNELS if passes else []))
    shot.camera = camera_track(frames, fstop=fstop)
    shot.save(folder)
    return shot


def run_mask(folder: Path) -> None:
    """`dreamrooms mask SHOT --out SHOT --from-depth`: a `mask_<label>` sequence and the layered `mask.<label>` channel."""
    import contextlib

    from dreamrooms.commands.main import main
    with contextlib.redirect_stdout(sys.stderr):
        rc = main(["--progress", "none", "mask", str(folder), "--out", str(folder), "--from-depth"])
    if rc != 0:
        raise SystemExit(f"dreamrooms mask {folder} failed with {rc}")


def add_render(shot: Shot) -> Shot:
    """A Blender render of the shot's frames recorded beside the layered colour (as `dreamrooms render` does)."""
    pattern = "render/render.####.exr"
    for i, f in enumerate(shot.frames):
        rgba, depth, _ = frame_pixels(shot.width, shot.height, i)
        write_blender_frame(shot.folder / frame_file(pattern, f), rgba * 0.5, depth)
    shot.add_sequence("render", pattern, ["ViewLayer.Combined.R", "ViewLayer.Combined.G", "ViewLayer.Combined.B",
                                          "ViewLayer.Combined.A", "ViewLayer.Depth.Z"])
    shot.save()
    return shot


def add_reveal(shot: Shot, move: str = "orbit") -> Shot:
    """The reveal matte of the novel-views contract: masks/<shot>_reveal.####.exr, Y, data, meta kind reveal."""
    pattern = f"masks/{shot.name}_reveal.####.exr"
    for i, f in enumerate(shot.frames):
        y, x = np.mgrid[0:shot.height, 0:shot.width].astype(np.float32)
        exr.write_frame(shot.folder / frame_file(pattern, f), {"Y": (x >= shot.width - 4 - i).astype(np.float32)})
    shot.add_sequence("reveal", pattern, ["Y"], colorspace="data", premultiplied=False,
                      kind="reveal", label="reveal", move=move)
    shot.save()
    return shot


def run_ae(folder: Path, *extra: str) -> Path:
    import contextlib

    from dreamrooms.commands.main import main
    with contextlib.redirect_stdout(sys.stderr):
        rc = main(["--progress", "none", "ae", str(folder), *extra])
    if rc != 0:
        raise SystemExit(f"dreamrooms ae {folder} failed with {rc}")
    return folder / "ae" / "shot.jsx"


def expectations(shot: Shot, script: Path, comp_name: str) -> dict:
    data_text = script.read_text(encoding="ascii")
    payload = data_text[data_text.index("dreamrooms.run(") + len("dreamrooms.run("):data_text.rindex(", $.fileName);")]
    data = json.loads(payload)
    ae = script.parent
    if json.loads((ae / "comp.json").read_text(encoding="ascii")) != data:
        raise SystemExit(f"{ae / 'comp.json'} differs from the data in {script}")
    dense = None
    if shot.camera is not None:
        from dreamrooms.ae.camera import convert_track
        cam = shot.camera
        t = convert_track(cam.matrices, cam.lens_mm, cam.sensor_mm, cam.sensor_fit, shot.width, shot.height,
                          shot.pixel_aspect, 100.0, cam.focus_distance)
        dense = {"position": t.positions.tolist(), "orientation": t.orientations.tolist(), "zoom": t.zooms.tolist()}
    return {
        "camera_per_frame": dense,
        "comp": {"name": comp_name, "width": shot.width, "height": shot.height, "fps": shot.fps, "frames": shot.frame_count,
                 "pixel_aspect": shot.pixel_aspect},
        "imports": [str(ae.joinpath(*f["path"])) for f in data["footage"]],
        "data": data,
    }


def main(root: str) -> None:
    root_p = Path(root)
    specs = []
    blender = root_p / "blender shot"
    s = make_blender_shot(blender, "room walk", fstop=2.8, passes=True, pixel_aspect=2.0)
    specs.append(("blender", s, run_ae(blender), "room walk"))
    nasty_dir = root_p / ("shot " + NASTY)
    s = add_scene(make_layers_shot(nasty_dir, NASTY))
    specs.append(("nasty", s, run_ae(nasty_dir, "--grain", "--dust", "--fog"), NASTY))
    masked_dir = root_p / "masked shot"
    make_layers_shot(masked_dir, "masked walk", w=40, h=24)
    run_mask(masked_dir)
    s = Shot.load(masked_dir)
    specs.append(("masked", s, run_ae(masked_dir), "masked walk"))
    rendered_dir = root_p / "rendered shot"
    make_layers_shot(rendered_dir, "rendered walk", w=40, h=24)
    run_mask(rendered_dir)
    s = add_reveal(add_render(Shot.load(rendered_dir)))
    specs.append(("rendered", s, run_ae(rendered_dir), "rendered walk"))
    for kind, shot, script, comp in specs:
        print(json.dumps({"name": kind, "folder": str(shot.folder), "script": str(script), "expect": expectations(shot, script, comp)}))


if __name__ == "__main__":
    main(sys.argv[1])
