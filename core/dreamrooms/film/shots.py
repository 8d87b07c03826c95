"""Make each scene's shot folder with the existing stages, through their command lines (the stages own their
settings, resume and checks; the film only says which to run).

A shot is made once: `FILM/state/<id>.json` records the fingerprint of what it was made from (recipe, film size,
fps, frame count, render) and whether every step finished.  A rerun skips finished shots whose fingerprint is
unchanged, resumes an unfinished one (the stages resume their own frames), and remakes a changed one.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Callable

from dreamrooms.film.edit import ShotCut
from dreamrooms.film.shotlist import FilmError, FilmSettings, Recipe

STATE = "state"
Runner = Callable[[list[str]], int]


def fingerprint(recipe: Recipe, film: FilmSettings, cut: ShotCut, render: bool) -> str:
    data = {"recipe": asdict(recipe), "size": list(film.size), "fps": film.fps, "frames": cut.frames,
            "render": render}
    data["recipe"].pop("transition_in")  # the join is the edit's business, not the shot's
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:16]


def steps(recipe: Recipe, film: FilmSettings, cut: ShotCut, shot: Path, film_dir: Path,
          render: bool) -> list[list[str]]:
    """The stage command lines that make this shot, in order."""
    w, h = film.size
    n = cut.frames
    fps = ["--fps", f"{film.fps:g}"]
    fit = ["--fit", f"{w}x{h}", "--fit-mode", "crop"]  # footage and photos fill the film's frame
    out: list[list[str]] = []
    if recipe.source == "walk":
        out.append(["walk", "--model", recipe.model, "--out", str(shot), "--frames", str(n), "--size", f"{w}x{h}",
                    "--seeds", ",".join(map(str, recipe.seeds)), *fps])
        out.append(["depth", str(shot), "--model", recipe.depth_model, "--out", str(shot)])
    elif recipe.source == "footage":
        out.append(["depth", str(film_dir / recipe.footage), "--model", recipe.depth_model, "--out", str(shot),
                    "--frames", f"1-{n}", *fps, *fit])
    else:  # stills: one photo, held over the shot by the room's move
        out.append(["depth", str(film_dir / recipe.footage), "--model", recipe.depth_model, "--out", str(shot),
                    *fps, *fit])
    if render or recipe.source == "stills":
        # a photo is held over the shot by the move (room --frames), rendered or not: its camera goes to AE
        room = ["room", str(shot), "--layout", recipe.layout, "--move", recipe.move]
        room += ["--render"] if render else []
        room += ["--frames", f"1-{n}"] if recipe.source == "stills" else []
        out.append(room)
    ae = ["ae", str(shot)]
    ae += [] if recipe.depth_blur else ["--no-depth-blur"]
    ae += [] if recipe.displace else ["--no-displacement"]
    ae += [flag for flag, on in (("--grain", recipe.grain), ("--dust", recipe.dust), ("--fog", recipe.fog)) if on]
    out.append(ae)
    return out


def state_path(film_dir: Path, recipe: Recipe) -> Path:
    return film_dir / STATE / f"{recipe.id}.json"


def read_state(film_dir: Path, recipe: Recipe) -> dict:
    p = state_path(film_dir, recipe)
    try:
        data = json.loads(p.read_text(encoding="utf-8")) if p.is_file() and p.stat().st_size < 4096 else {}
    except (ValueError, UnicodeDecodeError):
        data = {}
    return data if isinstance(data, dict) else {}


def write_state(film_dir: Path, recipe: Recipe, fp: str, done: bool) -> None:
    from dreamrooms.atomic import write_text_atomic

    (film_dir / STATE).mkdir(exist_ok=True)
    write_text_atomic(state_path(film_dir, recipe), json.dumps({"fingerprint": fp, "done": done}) + "\n")


def make_shot(recipe: Recipe, film: FilmSettings, cut: ShotCut, film_dir: Path, render: bool,
              run: Runner) -> str:
    """Make (or resume, or skip) one shot; returns what happened: "made", "remade" or "up to date".

    A changed recipe remakes its shot from scratch: the old folder is set aside while the new one is made and
    comes back if making it fails, so a failed edit never loses the shot that was there."""
    shot = film_dir / "shots" / recipe.folder_name
    fp = fingerprint(recipe, film, cut, render)
    state = read_state(film_dir, recipe)
    if state.get("fingerprint") == fp and state.get("done") and (shot / "shot.json").is_file():
        return "up to date"
    changed = bool(state) and state.get("fingerprint") != fp
    aside = shot.with_name(f".{shot.name}.old")
    if changed and shot.is_dir() and not shot.is_symlink():
        _remove_tree(aside)
        shot.rename(aside)
    write_state(film_dir, recipe, fp, False)
    shot.parent.mkdir(parents=True, exist_ok=True)
    try:
        for argv in steps(recipe, film, cut, shot, film_dir, render):
            rc = run(argv)
            if rc != 0:
                raise FilmError(f"shot {recipe.id} ({recipe.scene}): `dreamrooms {argv[0]}` failed (exit {rc}, its "
                                f"message is above); fix the recipe in shots.toml and rerun `dreamrooms film`")
    except BaseException:
        if aside.is_dir():
            _remove_tree(shot)
            aside.rename(shot)
            write_state(film_dir, recipe, state.get("fingerprint", ""), bool(state.get("done")))
        raise
    _remove_tree(aside)
    write_state(film_dir, recipe, fp, True)
    return "remade" if changed else "made"


def _remove_tree(path: Path) -> None:
    """Delete a folder the film made (never through a symlink)."""
    import shutil

    if path.is_symlink():
        path.unlink()
    elif path.is_dir():
        shutil.rmtree(path)
