"""The cut as data (pure): where each shot sits in the film, its handles, the dissolves, the subtitles.

A shot is made `frames` long: its scripted length plus a handle of half a dissolve on each dissolving side, so a
dissolve is centred on the scripted cut point.  Shot k starts where shot k-1 ends minus their overlap, so the
cut lasts the sum of the shots minus the overlaps, which is the sum of the scripted lengths.  Every exporter
(After Effects, Blender's sequencer, the animatic, the .srt) reads this one Edit.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from dreamrooms.film.fountain import Scene, plain


@dataclass
class Subtitle:
    start: int   # film frame (0-based), inclusive
    end: int     # exclusive
    character: str
    text: str


@dataclass
class ShotCut:
    id: str
    heading: str
    folder_name: str
    scripted: int          # frames the script gives this scene
    handle_in: int         # extra frames before the scripted start (half the incoming dissolve)
    handle_out: int
    start: int             # film frame (0-based) of the shot's first frame
    overlap_in: int        # frames of dissolve with the shot before (0: a cut)
    notes: list[str] = field(default_factory=list)

    @property
    def frames(self) -> int:
        return self.handle_in + self.scripted + self.handle_out

    @property
    def end(self) -> int:
        return self.start + self.frames

    @property
    def scripted_start(self) -> int:
        return self.start + self.handle_in


@dataclass
class Edit:
    fps: float
    width: int
    height: int
    shots: list[ShotCut]
    subtitles: list[Subtitle]

    @property
    def frames(self) -> int:
        return self.shots[-1].end if self.shots else 0


def build_edit(scenes: list[Scene], recipes, seconds: list[float], fps: float, size: tuple[int, int],
               dissolve_frames: int) -> Edit:
    """Place every shot; `seconds[k]` is shot k's scripted length (the recipe's duration or the script's)."""
    scripted = [max(1, round(s * fps)) for s in seconds]
    overlaps = [0] + [min(dissolve_frames, scripted[k - 1], scripted[k]) if r.transition_in == "dissolve" else 0
                      for k, r in enumerate(recipes) if k > 0]
    shots: list[ShotCut] = []
    for k, (sc, r) in enumerate(zip(scenes, recipes)):
        d_in = overlaps[k]
        d_out = overlaps[k + 1] if k + 1 < len(recipes) else 0
        h_in, h_out = d_in - d_in // 2, d_out // 2
        start = 0 if k == 0 else shots[-1].end - d_in
        shots.append(ShotCut(r.id, sc.heading, r.folder_name, scripted[k], h_in, h_out, start, d_in,
                             notes=list(sc.notes)))
    subs = [s for sc, cut in zip(scenes, shots) for s in _subtitles(sc, cut)]
    return Edit(fps, size[0], size[1], shots, subs)


def _subtitles(scene: Scene, cut: ShotCut) -> list[Subtitle]:
    """Dialogue spread over the shot's scripted frames in proportion to its words."""
    lines = [(e.character or "", plain(e.text)) for e in scene.dialogue if e.text.strip()]
    words = [max(1, len(t.split())) for _, t in lines]
    total = sum(words)
    out, at = [], cut.scripted_start
    for (who, text), w in zip(lines, words):
        n = max(1, round(cut.scripted * w / total))
        end = min(at + n, cut.scripted_start + cut.scripted)
        if end > at:
            out.append(Subtitle(at, end, who, text))
        at = end
    return out


def srt_time(frame: int, fps: float) -> str:
    ms = round(frame * 1000.0 / fps)
    h, ms = divmod(ms, 3_600_000)
    m, ms = divmod(ms, 60_000)
    s, ms = divmod(ms, 1000)
    return f"{h:02d}:{m:02d}:{s:02d},{ms:03d}"


def srt_text(edit: Edit) -> str:
    """SubRip: numbered cues, `HH:MM:SS,mmm --> HH:MM:SS,mmm`, the speaker's name then the line."""
    blocks = []
    for n, sub in enumerate(edit.subtitles, 1):
        who = f"{sub.character}: " if sub.character else ""
        blocks.append(f"{n}\n{srt_time(sub.start, edit.fps)} --> {srt_time(sub.end, edit.fps)}\n{who}{sub.text}\n")
    return "\n".join(blocks)
