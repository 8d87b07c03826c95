"""The shot folder, the contract between stages: the manifest (`shot.json`), EXR I/O, footage sources and the
colour/depth sequence rule, frame ranges and patterns, and the confinement of paths that come from data."""
from dreamrooms.shot.frames import frame_file
from dreamrooms.shot.manifest import (MANIFEST, PAD, SCHEMA_VERSION, SENSOR_FITS, CameraTrack, Provenance, Sequence,
                                      Shot, set_command_line, update_shot)

__all__ = ["MANIFEST", "PAD", "SCHEMA_VERSION", "SENSOR_FITS", "CameraTrack", "Provenance", "Sequence", "Shot",
           "frame_file", "set_command_line", "update_shot"]
