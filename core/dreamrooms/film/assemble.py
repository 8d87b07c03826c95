"""Assemble a made film: `edit.json` (the cut as data), `film.srt`, `animatic.mp4`, `film.blend` (Blender's
sequencer edit) and the After Effects master comp, all from the one Edit."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict
from pathlib import Path

from dreamrooms.film.edit import Edit, srt_text
from dreamrooms.film.shotlist import FilmError

EDIT = "edit.json"
SRT = "film.srt"
ANIMATIC = "animatic.mp4"
BLEND = "film.blend"


def shot_files(film_dir: Path, folder_name: str) -> tuple[str, list[str]]:
    """The sequence a shot shows in the cut (its render, else its colour footage) and its frame files,
    relative to the film folder."""
    from dreamrooms.shot import Shot
    from dreamrooms.shot.roles import colour_sequence

    shot = Shot.load(film_dir / "shots" / folder_name)
    seq = "render" if "render" in shot.sequences else colour_sequence(shot)
    root = film_dir.resolve()
    return seq, [p.resolve().relative_to(root).as_posix() for p in shot.sequence_paths(seq)]


def edit_data(edit: Edit, film_dir: Path) -> dict:
    shots = []
    for s in edit.shots:
        seq, files = shot_files(film_dir, s.folder_name)
        shots.append({**asdict(s), "frames": s.frames, "sequence": seq, "files": files})
    return {"format": "dreamrooms-film-edit", "version": 1, "fps": edit.fps, "width": edit.width,
            "height": edit.height, "frames": edit.frames, "shots": shots,
            "subtitles": [asdict(t) for t in edit.subtitles]}


def write_edit(edit: Edit, film_dir: Path) -> dict:
    from dreamrooms.atomic import write_text_atomic

    data = edit_data(edit, film_dir)
    write_text_atomic(film_dir / EDIT, json.dumps(data, indent=1, ensure_ascii=True) + "\n")
    write_text_atomic(film_dir / SRT, srt_text(edit))
    return data


def write_blend(film_dir: Path, headless: Path) -> Path:
    """film.blend through Blender's headless entry script (the bpy module or Blender itself, tied to this process)."""
    from dreamrooms.worker import spawn

    out = film_dir / BLEND
    code = spawn([sys.executable, str(headless), "film-edit", str(film_dir / EDIT), "--out", str(out)])
    if code != 0:
        raise FilmError(f"{out}: Blender could not build the film's sequencer edit (exit {code}, its message is above)")
    return out
