"""Render setup and frame-by-frame rendering into the shot.

Multilayer EXR (5.0: `media_type='MULTI_LAYER_IMAGE'`; 4.x: `file_format='OPEN_EXR_MULTILAYER'`),
passes Combined and Depth (Z) plus those asked for (Mist, Normal, Vector, object index, Cryptomatte), half
float, ZIP (lossless), frame range and fps from the shot, output `SHOT/render/render.####.exr`.  The sampling
and light-path defaults are render_settings' (the frame is the material: camera rays only).
Frames are rendered one by one to a temp name and renamed, so a killed render leaves whole
frames only and a rerun resumes at the first missing frame.
"""
from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import bpy

from dreamrooms.shot import exr
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import emit, progress
from dreamrooms.shot import Shot
from dreamrooms.atomic import private_folder
from dreamrooms.shot.paths import output_dir
from dreamrooms.stage import read_attribute, stamp_exr

# EXR header attribute (and scene custom property) holding the room build's settings fingerprint
FINGERPRINT_ATTR = "dreamrooms_render"

from .. import paths
from . import engine as engines
from . import profile
from . import render_settings as rs

RENDER_PATTERN = "render/render.####.exr"
PASSES = rs.PASSES


def set_fps(scene: bpy.types.Scene, fps: float) -> None:
    whole = max(1, round(fps))
    scene.render.fps = whole
    scene.render.fps_base = whole / fps


def multilayer_exr_output(scene: bpy.types.Scene, half: bool | None = None) -> None:
    """Make the scene write the multilayer EXR the shot's `render` sequence is (a .blend set to PNG would
    otherwise write `.tmp.png` files that are never renamed into the shot)."""
    ims = scene.render.image_settings
    if bpy.app.version >= (5, 0, 0):
        ims.media_type = "MULTI_LAYER_IMAGE"
    else:
        ims.file_format = "OPEN_EXR_MULTILAYER"
    if half is not None:
        ims.color_depth = "16" if half else "32"
    ims.exr_codec = "ZIP"
    scene.render.use_file_extension = True


def setup_render(scene: bpy.types.Scene, shot: Shot | None = None, *, engine: str = "CYCLES", samples: int = 0,
                 passes=None, cryptomatte: bool = False, half: bool = True, denoise: bool = False,
                 resolution_percentage: int = 100, output: str | None = None) -> rs.RenderDefaults:
    """Configure `scene` to render the shot's multilayer EXR: Combined, Depth and the `passes` asked for
    (names or a comma list, see render_settings.parse_passes); `samples` 0 picks the default for whether the
    camera has depth of field.  Returns the settings applied."""
    r = scene.render
    if shot is not None:
        r.resolution_x, r.resolution_y = shot.width, shot.height
        r.pixel_aspect_x, r.pixel_aspect_y = shot.pixel_aspect, 1.0
        scene.frame_start, scene.frame_end = shot.frame_start, shot.frame_end
        set_fps(scene, shot.fps)
        if output is None and shot.folder is not None:
            output = str(Path(shot.folder) / RENDER_PATTERN)
    r.resolution_percentage = resolution_percentage
    engine = engines.resolve(engine)
    r.engine = engine
    r.use_motion_blur = False  # the Vector pass needs motion blur off
    try:
        d = rs.defaults(samples=samples, dof=has_dof(scene), motion_blur=r.use_motion_blur,
                        layers=sum(1 for o in scene.objects if "dreamrooms_layer" in o), denoise=denoise, passes=passes)
    except ValueError as exc:
        raise DreamroomsError(str(exc)) from None
    if engine == "CYCLES":  # the device is the user's (panel) or --device (headless): see engine.use_device
        rs.apply_cycles(scene, d)
    elif engines.is_eevee(engine):
        rs.apply_eevee(scene, d)
    # generated footage is display-referred: Standard shows it as it is (AgX desaturates it); the
    # multilayer EXR stays scene-linear either way (view transforms apply to display and 8-bit output)
    scene.view_settings.view_transform = "Standard"
    scene.view_settings.look = "None"
    r.film_transparent = True  # where no surface is (a move past the frame border, a cut edge), alpha 0, not grey
    multilayer_exr_output(scene, half)
    r.use_overwrite = True
    if output:
        r.filepath = paths.relative(output.replace(".####.exr", ".####").replace(".exr", ""))
    vl = scene.view_layers[0]
    vl.use_pass_combined = True
    passes = d.passes
    vl.use_pass_z = True
    vl.use_pass_mist = "mist" in passes
    vl.use_pass_normal = "normal" in passes
    vl.use_pass_vector = "vector" in passes
    vl.use_pass_object_index = "object_index" in passes and engine == "CYCLES"
    vl.use_pass_cryptomatte_object = cryptomatte
    if "mist" in passes and scene.world is None:
        scene.world = bpy.data.worlds.new("dreamrooms world")
    if "mist" in passes and scene.world is not None:
        cam = scene.camera
        scene.world.mist_settings.start = cam.data.clip_start if cam else 0.1
        scene.world.mist_settings.depth = (cam.data.clip_end if cam else 100.0) - scene.world.mist_settings.start
    # index every dreamrooms object so the IndexOB pass separates walls/planes
    for i, ob in enumerate(o for o in scene.objects if "dreamrooms_kind" in o):
        ob.pass_index = i + 1
    return d


def has_dof(scene: bpy.types.Scene) -> bool:
    """True when the scene camera renders depth of field (the lens is sampled: more samples)."""
    cam = scene.camera
    return bool(cam is not None and cam.type == "CAMERA" and cam.data.dof.use_dof)


def frame_file(folder: Path, frame: int) -> Path:
    return folder / f"render/render.{frame:04d}.exr"


def render_frames(scene: bpy.types.Scene, shot: Shot, frames: range | None = None, *, resume: bool = True,
                  record: bool = True) -> list[Path]:
    """Render `frames` (default the shot's) to SHOT/render/render.####.exr, atomically, skipping
    whole frames already there; then record the `render` sequence and the camera track."""
    if shot.folder is None:
        raise DreamroomsError("render: the shot has no folder; load it from disk first")
    if scene.camera is None:
        raise DreamroomsError("render: the scene has no camera; build a camera move first (dreamrooms.camera_move)")
    folder = Path(shot.folder)
    frames = frames or shot.frames
    written = []
    required = ("ViewLayer.Combined.RGBA",)
    output_dir(folder, "render")   # refused when SHOT/render is a symlink out of the shot
    multilayer_exr_output(scene)
    fp = str(scene.get(FINGERPRINT_ATTR, ""))
    stale = [f for f in frames if resume and exr.is_complete(frame_file(folder, f), required)
             and read_attribute(frame_file(folder, f), FINGERPRINT_ATTR) != fp]
    if stale:
        print(f"dreamrooms: render: {len(stale)} frame(s) on disk were rendered with other settings (frames "
              f"{stale[0]}-{stale[-1]}); rendering them again", file=sys.stderr, flush=True)
    old_path = scene.render.filepath
    tmp_dir = private_folder(folder / "render", ".render-")   # Blender writes by name: only into a folder of ours
    prof = profile.current()
    prof.attach()
    try:
        with progress(len(frames), "render") as bar:
            for f in frames:
                final = frame_file(folder, f)
                if resume and f not in stale and exr.is_complete(final, required):
                    bar.update()
                    continue
                tmp = tmp_dir / final.name
                with prof.phase("frame_set (geometry nodes)"):
                    scene.frame_set(f)
                scene.render.filepath = str(tmp)
                bpy.ops.render.render(write_still=True)
                if not tmp.is_file():
                    raise DreamroomsError(f"render: Blender wrote no file for frame {f} ({tmp}); check the output settings")
                stamp_exr(tmp, {FINGERPRINT_ATTR: fp})     # the settings that made it (dreamrooms.stage scheme)
                os.replace(tmp, final)
                written.append(final)
                emit("frame", stage="render", frame=f, path=str(final))
                bar.update()
    finally:
        prof.detach()
        scene.render.filepath = old_path
        shutil.rmtree(tmp_dir, ignore_errors=True)   # with an interrupted or failed frame
    if record:
        missing = [f for f in shot.frames if not frame_file(folder, f).is_file()]
        if missing:
            emit("message", stage="render", text=f"{len(missing)} frame(s) not rendered yet")
            print(f"dreamrooms: render: frames {frames.start}-{frames.stop - 1} done; the `render` sequence is recorded "
                  f"in shot.json once all {shot.frame_count} frames exist ({len(missing)} missing)", file=sys.stderr, flush=True)
        else:
            record_render(scene, shot)
    return written


def record_render(scene: bpy.types.Scene, shot: Shot) -> None:
    """Add the `render` sequence (channels as read back) and the camera track to shot.json.  The manifest is read
    again first: render chunks run for minutes beside other chunks and stages, and saving the copy loaded at the
    start would drop what they recorded meanwhile."""
    from dreamrooms.shot import update_shot

    from . import camera_rig

    first = frame_file(Path(shot.folder), shot.frame_start)
    channels = [c.name for c in exr.info(first).channels]
    track = camera_rig.camera_track(scene, scene.camera, shot.frames)

    def merge(current: Shot | None) -> Shot:   # under the shot-wide manifest lock: re-read, merge, write
        current = current or shot
        current.add_sequence("render", RENDER_PATTERN, channels, colorspace="linear", premultiplied=True,
                             engine=scene.render.engine, passes=sorted({c.rsplit(".", 1)[0] for c in channels}))
        current.camera = track
        current.provenance.extra["blender"] = bpy.app.version_string
        return current

    update_shot(shot.folder, merge)
