"""The one rule for which of a shot's sequences is the colour footage and which holds depth.

Every stage asks here: the depth stage (what to estimate from), the Blender builder (what the material shows,
where the geometry's depth comes from) and the After Effects export (its fallback beauty and its depth).
Colour: a sequence named by the user; else the first of COLOUR_NAMES that has R, G, B; else the first sequence
under layers/ or color/ with R, G, B; else any sequence with R, G, B.  A Blender render (`render`) is output, not
footage: it is colour only when named.  Depth: the named sequence, else the preferred one (the colour's own
layered file), then `depth`, then any sequence with a depth channel.
"""
from __future__ import annotations

from dreamrooms.errors import ShotError

COLOUR_NAMES = ("color", "colour", "beauty", "layers", "walk")
# single-channel sequences that are not the shot's depth: mattes, the per-layer depth of `dreamrooms layers`, the reveal matte
NOT_DEPTH_KINDS = ("mask", "layer_depth", "reveal")
# depth channels by preference: ours, Blender's multilayer render, AE's plain Z, a depth-only single channel
DEPTH_KEYS = ("depth.Z", "ViewLayer.Depth.Z", "Z", "depth.Y")


def _where(shot) -> str:
    return f"{shot.folder}/shot.json" if shot.folder else "shot.json"


def has_rgb(channels) -> bool:
    return {"R", "G", "B"} <= set(channels)


def colour_sequence(shot, name: str | None = None) -> str:
    """The name of the shot's colour footage sequence (see the module doc for the order)."""
    if name:
        if name not in shot.sequences:
            raise ShotError(f"{_where(shot)}: no sequence {name!r} (has {', '.join(shot.sequences) or 'none'})")
        return name
    rgb = [k for k, s in shot.sequences.items() if has_rgb(s.channels) and k != "render"]
    for cand in COLOUR_NAMES:
        if cand in rgb:
            return cand
    for prefix in ("layers/", "color/"):
        for k in rgb:
            if shot.sequences[k].pattern.startswith(prefix):
                return k
    if rgb:
        return rgb[0]
    raise ShotError(f"{_where(shot)}: no colour sequence (R, G, B channels; has {', '.join(shot.sequences) or 'none'}); "
                    "run `dreamrooms walk` or `dreamrooms depth FOOTAGE --out SHOT` first")


def depth_key(channels) -> str | None:
    """The channel of a sequence that holds depth, or None."""
    chans = list(channels)
    for key in DEPTH_KEYS:
        if key in chans:
            return key
    for c in chans:
        if c.lower().endswith("depth.z"):
            return c
    return "Y" if chans == ["Y"] else None


def depth_sequence(shot, name: str | None = None, prefer: str | None = None) -> tuple[str, str]:
    """(sequence, channel) holding depth: `name`, else `prefer`, then `depth`, then any with a depth channel."""
    if name:
        if name not in shot.sequences:
            raise ShotError(f"{_where(shot)}: no sequence {name!r} (has {', '.join(shot.sequences) or 'none'})")
        order = [name]
    else:
        order = [k for k in (prefer, "depth") if k in shot.sequences]
        order += [k for k in shot.sequences if k not in order
                  and shot.sequences[k].meta.get("kind") not in NOT_DEPTH_KINDS]
    for key in order:
        ch = depth_key(shot.sequences[key].channels)
        if ch is not None:
            return key, ch
    if name:
        raise ShotError(f"{_where(shot)}: sequence {name!r} has no depth channel (depth.Z, Z or a single Y)")
    raise ShotError(f"{_where(shot)}: no depth in any sequence (needs a depth.Z channel); "
                    f"run `dreamrooms depth {shot.folder} --out {shot.folder}` first")
