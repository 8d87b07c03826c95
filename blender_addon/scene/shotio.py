"""Shot folder <-> Blender data: load shots, find colour and depth sequences, load image sequences.

Blender's image nodes see only the RGBA of a multi-channel EXR, so depth must come from a
single-channel float EXR (`Y`).  `ensure_blender_depth` finds one in the shot, or writes one from the
layered files (`depth.Z`) with `dreamrooms.shot.exr` and records it in shot.json (the pure lookup is
`dreamrooms.shot.roles.depth_sequence`).
"""
from __future__ import annotations

from pathlib import Path

import bpy
import numpy as np

from dreamrooms.shot import exr
from dreamrooms.errors import DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.shot import Shot
from dreamrooms.shot.frames import sequence_name
from dreamrooms.shot.roles import depth_key
from dreamrooms.shot.roles import depth_sequence



def load_shot(folder: str | Path, check_files: bool = True) -> Shot:
    """The shot at `folder` (`//` is the .blend's folder), made absolute: image paths taken from a relative
    shot path break once the .blend is saved somewhere else (renders came out flat grey)."""
    return Shot.load(Path(bpy.path.abspath(str(folder))).absolute(), check_files=check_files)




def is_blender_depth(seq) -> bool:
    return list(seq.channels) == ["Y"]


def ensure_blender_depth(shot: Shot, source: str | None = None, frames: range | None = None) -> str:
    """Name of a single-channel `Y` float depth sequence Blender can read, writing its EXRs and saving
    shot.json when the shot has none.

    Uses `depth` when it already is one; otherwise converts `source` (or the first sequence with a
    `depth.Z`) into `depth/<shot name>.####.exr` (channel Y, float32), records it in shot.json and
    returns "depth".  Frames already converted (whole files) are kept, so a rerun resumes.
    """
    existing = shot.sequences.get("depth")
    if existing is not None and is_blender_depth(existing) and not source:
        return "depth"
    src, layer = depth_sequence(shot, source)
    if is_blender_depth(shot.sequences[src]):
        return src
    target = "depth" if "depth" not in shot.sequences else "depth_y"
    stem = sequence_name(shot.name)  # the shot's name is data: never a path, never a `#`
    pattern = f"depth/{stem}.####.exr" if target == "depth" else f"depth/{stem}_y.####.exr"
    frames = frames or shot.frames
    new = shot.add_sequence(target, pattern, ["Y"], colorspace="data", premultiplied=False,
                            kind="depth", source=src, source_layer=layer)
    if shot.sequences[src].hold is not None:   # a held still: one file, held like its source
        new.hold = shot.sequences[src].hold
        frames = range(shot.frame_start, shot.frame_start + 1)
    with progress(len(frames), "depth for Blender") as bar:
        for f in frames:
            out = shot.frame_path(target, f)
            if not exr.is_complete(out, ("Y",)):
                d = exr.read_frame(shot.frame_path(src, f), [layer])[layer]
                exr.write_frame(out, {"Y": np.asarray(d, np.float32)})
            bar.update()
    from dreamrooms.shot import update_shot

    seq = shot.sequences[target]

    def merge(current):   # shot.json as it is now (other stages may have registered meanwhile) plus this sequence
        current = current or shot
        current.sequences[target] = seq
        return current

    update_shot(shot.folder, merge)
    return target


def read_depth(shot: Shot, seq_name: str, frame: int) -> np.ndarray:
    """Depth map (H, W) float32 of one frame of a `Y` or `depth.Z` sequence."""
    seq = shot.sequences[seq_name]
    key = depth_key(seq.channels)
    if key is None:
        raise DreamroomsError(f"{shot.folder}/shot.json: sequence {seq_name!r} has no depth channel")
    return np.asarray(exr.read_frame(shot.frame_path(seq_name, frame), [key])[key], np.float32)


def load_sequence_image(shot: Shot, seq_name: str, non_color: bool = False) -> bpy.types.Image:
    """A Blender image datablock for the whole sequence (source SEQUENCE), reused if loaded; a held still
    (`Sequence.hold`) is its one file (source FILE: every frame, every image user and the geometry nodes' Frame
    input read the same picture)."""
    source = "FILE" if shot.sequences[seq_name].hold is not None else "SEQUENCE"
    first = shot.frame_path(seq_name, shot.frame_start)
    if not first.is_file():
        raise DreamroomsError(f"{first}: frame {shot.frame_start} of sequence {seq_name!r} is missing; rerun the stage that writes it")
    path = str(first)
    for img in bpy.data.images:
        if img.source == source and bpy.path.abspath(img.filepath) == path:
            return img
    img = bpy.data.images.load(path, check_existing=False)
    img.name = f"dr {shot.name} {seq_name}"
    img.source = source
    if non_color:
        img.colorspace_settings.name = "Non-Color"
    return img

