"""`dreamrooms film`: a screenplay and its shot list -> one shot folder per scene -> the assembled cut."""
from __future__ import annotations

import sys
from dataclasses import dataclass, replace
from pathlib import Path

from dreamrooms import limits
from dreamrooms.film import assemble, fountain, shotlist
from dreamrooms.film.edit import Edit, build_edit
from dreamrooms.film.shotlist import SHOT_LIST, FilmError, FilmSettings, Recipe


@dataclass
class FilmOptions:
    script: Path
    out: Path
    size: tuple[int, int] | None = None
    fps: float | None = None
    render: bool = False
    animatic: bool = True
    blend: bool = True
    ae: bool = True
    ray: str | None = None   # a Ray address: the shots are made as tasks on the cluster


def read_script(path: Path) -> fountain.Script:
    if not path.is_file():
        raise FilmError(f"{path}: no such screenplay; give a Fountain file (.fountain)")
    if path.stat().st_size > limits.MAX_MANIFEST_BYTES:
        raise FilmError(f"{path}: too large for a screenplay")
    try:
        return fountain.parse(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        raise FilmError(f"{path}: not UTF-8 text ({exc}); save the screenplay as UTF-8") from None


def load_shot_list(script: fountain.Script, opts: FilmOptions, say) -> tuple[FilmSettings, list[Recipe]]:
    """The shot list in script order: generated on the first run, new scenes appended with default recipes."""
    path = opts.out / SHOT_LIST
    from_script = shotlist.recipes_from_script(script)
    if not path.exists():
        film = FilmSettings(size=opts.size or FilmSettings.size, fps=opts.fps or FilmSettings.fps)
        shotlist.write_shot_list(path, film, from_script, opts.script.name)
        say(f"wrote {path} ({len(from_script)} shots): edit the recipes and rerun to change a shot")
        return film, from_script
    film, listed = shotlist.read_shot_list(path, opts.out)
    by_id = {r.id: r for r in listed}
    recipes = []
    for fresh in from_script:
        r = by_id.pop(fresh.id, None)
        if r is None:
            say(f"{path}: scene {fresh.scene!r} is new: made with a default recipe (id {fresh.id}); add it to the list to change it")
            r = fresh
        recipes.append(r)
    for gone in by_id.values():
        say(f"{path}: shot {gone.id} ({gone.scene}) is not in the script any more: left out of the cut")
    if opts.size:
        film = replace(film, size=opts.size)
    if opts.fps:
        film = replace(film, fps=opts.fps)
    return film, recipes


def plan(script: fountain.Script, film: FilmSettings, recipes: list[Recipe]) -> Edit:
    seconds = [r.duration if r.duration is not None else shotlist.script_seconds(sc, film)
               for sc, r in zip(script.scenes, recipes)]
    return build_edit(script.scenes, recipes, seconds, film.fps, film.size, film.dissolve_frames)


def make_film(opts: FilmOptions, run, say=None, headless: Path | None = None) -> Edit:
    """Make every missing or changed shot with `run(argv) -> exit code` (the `dreamrooms` command line), then
    assemble the cut; `headless` is Blender's entry script (for film.blend)."""
    from dreamrooms.film.shots import make_shot

    say = say or (lambda text: print(text, file=sys.stderr, flush=True))
    script = read_script(opts.script)
    opts.out.mkdir(parents=True, exist_ok=True)
    film, recipes = load_shot_list(script, opts, say)
    edit = plan(script, film, recipes)
    if opts.ray is not None:
        from dreamrooms.film.on_ray import make_shots

        make_shots(opts.ray, list(zip(recipes, edit.shots)), opts.out, film, opts.render, run, say)
    else:
        for k, (recipe, cut) in enumerate(zip(recipes, edit.shots), 1):
            what = make_shot(recipe, film, cut, opts.out, opts.render, run)
            say(f"shot {k}/{len(recipes)} {recipe.id} {recipe.scene}: {what} ({cut.frames} frames)")
    assemble.write_edit(edit, opts.out)
    if opts.animatic:
        from dreamrooms.film.animatic import write_animatic

        write_animatic(edit, opts.out, opts.out / assemble.ANIMATIC)
    if opts.blend:
        if headless is None:
            raise FilmError("film.blend needs Blender's headless entry script; pass headless= or use --no-blend")
        assemble.write_blend(opts.out, headless)
    if opts.ae:
        from dreamrooms.film.ae import write_film_script

        write_film_script(edit, opts.out)
    return edit
