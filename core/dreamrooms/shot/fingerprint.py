"""Fingerprints of the settings that made a frame, so a rerun with other settings never keeps stale frames.

A stage writes `fingerprint(settings)` beside each frame it makes (an EXR header attribute); a rerun computes
it again and redoes (or refuses, naming --overwrite) every frame whose fingerprint differs.  The stage spine
takes this over for every stage; until then the Blender render uses it (`room --render`)."""
from __future__ import annotations

import hashlib
import json
from typing import Any, Mapping

RENDER_NOTE = "dreamrooms_render="   # Blender writes its stamp note into the render EXR's header as `Note`


def fingerprint(settings: Mapping[str, Any]) -> str:
    """16 hex digits of the sha256 of the settings as canonical JSON (key order and spacing do not matter)."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def render_settings(values: Mapping[str, Any], shot) -> dict[str, Any]:
    """What a room render's picture depends on: every build, camera and render option of `dreamrooms.room`
    (not the device: CPU and GPU render the same picture), the shot's input sequences and cuts, and the models
    and settings that made them (provenance)."""
    from dreamrooms.room import OPTIONS

    opts = {o.name: values.get(o.name, o.default) for o in OPTIONS if o.name not in ("device", "compute_backend")}
    opts = {k: list(v) if isinstance(v, tuple) else v for k, v in opts.items()}
    inputs = {k: s.pattern for k, s in shot.sequences.items() if k != "render"}
    return {"options": opts, "inputs": inputs, "cuts": list(shot.cuts), "frames": [shot.frame_start, shot.frame_end],
            "size": [shot.width, shot.height], "models": shot.provenance.models}
