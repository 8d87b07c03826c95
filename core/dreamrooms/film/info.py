"""`dreamrooms film info FILM`: the shots and the assembled outputs of a film folder, and what is missing."""
from __future__ import annotations

import json
from pathlib import Path

from dreamrooms.film import assemble
from dreamrooms.film.ae import SCRIPT as AE_SCRIPT
from dreamrooms.film.shotlist import SHOT_LIST, FilmError


def print_info(film_dir: Path) -> int:
    from dreamrooms.film.shots import read_state
    from dreamrooms.film.shotlist import read_shot_list

    if not (film_dir / SHOT_LIST).is_file():
        raise FilmError(f"{film_dir}: no {SHOT_LIST}; is it a film folder? (make one with `dreamrooms film SCRIPT --out FILM`)")
    film, recipes = read_shot_list(film_dir / SHOT_LIST, film_dir)
    edit = {}
    if (film_dir / assemble.EDIT).is_file():
        try:
            edit = json.loads((film_dir / assemble.EDIT).read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            edit = None
        if not isinstance(edit, dict) or not {"shots", "frames", "fps"} <= set(edit):
            raise FilmError(f"{film_dir / assemble.EDIT}: not a film edit; rerun `dreamrooms film` to rewrite it")
    placed = {s["id"]: s for s in edit.get("shots", [])}
    print(f"film {film_dir}  {film.size[0]}x{film.size[1]} px, {film.fps:g} fps, {len(recipes)} shots")
    for r in recipes:
        st = read_state(film_dir, r)
        status = "made" if st.get("done") else ("started" if st else "not made")
        cut = placed.get(r.id)
        where = f" frames {cut['start'] + 1}-{cut['start'] + cut['frames']}" if cut else ""
        print(f"  {r.id}  {r.scene[:48]:48s} {r.source:7s} {status}{where}")
    if edit:
        print(f"  cut: {edit['frames']} frames ({edit['frames'] / edit['fps']:.1f} s)")
    for name in (assemble.EDIT, assemble.SRT, assemble.ANIMATIC, assemble.BLEND, AE_SCRIPT):
        p = film_dir / name
        print(f"  {name:14s} {'ok' if p.is_file() else 'missing'}")
    return 0
