"""The exporter contract: what an exporter receives from a shot, in neutral terms, and where it writes.

An exporter is one module with `export_job(job: ShotExport, settings) -> Path` and one line in
`registry.EXPORTERS`.  It reads frames through `job.shot.frame_path(sequence, frame)` and the layer keys in
`job.sources`, writes only under `job.out_dir`, and returns the file a user opens (for After Effects: shot.jsx).

Conventions every exporter gets the same way:
  beauty   scene-linear RGB(A) with sRGB/Rec. 709 primaries; `premultiplied` says how its alpha is stored
  depth    distance along the camera's view axis in scene units (metres); `depth_range` (near, far) is one
           range for the whole shot (no flicker), chosen by `depth_range_mode` (auto percentiles, clip, or given)
  mattes   label -> (sequence, key), 0..1, 1 = the object (from `dreamrooms mask` or the layered file)
  reveal   (sequence, key) of the novel-view reveal matte, 1 = revealed, or None
  passes   the render's other passes; Cryptomatte layers grouped by name with every rank
  camera   the shot's CameraTrack: Blender world matrices (world = M @ local, the camera looks down -Z with +Y
           up), lens/sensor in mm, focus in metres; dreamrooms.export.camera has the shared euler/key maths
  fps, pixel_aspect, frames   as in shot.json
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from dreamrooms.export.sources import Sources, depth_range, find_sources
from dreamrooms.shot import CameraTrack, Shot


@dataclass
class ShotExport:
    """One shot, ready for an exporter (see the module docstring for the conventions)."""
    shot: Shot
    sources: Sources
    premultiplied: bool
    depth_range: tuple[float, float] | None
    camera: CameraTrack | None
    fps: float
    pixel_aspect: float
    frames: range
    out_dir: Path


def gather(shot: Shot, out_dir: Path, beauty: str | None = None, depth: str | None = None,
           depth_range_mode: str | tuple[float, float] = "auto", passes: bool = True) -> ShotExport:
    """Find everything an exporter needs from `shot` (nothing is written)."""
    src = find_sources(shot, beauty, depth)
    if not passes:
        src.passes, src.crypto = {}, {}
    rng = depth_range(shot, src, depth_range_mode) if src.depth_seq else None
    return ShotExport(shot, src, shot.sequences[src.beauty_seq].premultiplied, rng, shot.camera, shot.fps,
                      shot.pixel_aspect, shot.frames, Path(out_dir))
