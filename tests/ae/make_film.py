"""Make a tiny film for the After Effects checks: `dreamrooms film` on a three-scene script with dialogue, a
dissolve and a note (32x18, 4 fps, no Blender), printing {"folder", "script", "edit"} as one JSON line."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

os.environ.setdefault("DREAMROOMS_PROGRESS", "none")
from dreamrooms.commands.film import cli_runner  # noqa: E402
from dreamrooms.film.fountain import parse  # noqa: E402
from dreamrooms.film.run import FilmOptions, make_film  # noqa: E402
from dreamrooms.film.shotlist import SHOT_LIST, FilmSettings, recipes_from_script, write_shot_list  # noqa: E402

SCRIPT = """INT. ROOM - NIGHT

A lamp flickers.

ANNA
(quietly)
Who left the light on?

[[keep the lamp in frame]]

DISSOLVE TO:

EXT. SEA - DAY

Waves fold into walls.

INT. ROOM - DAY

BEN
Nobody. It was always on.
"""


def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    script = out / "three.fountain"
    script.write_text(SCRIPT, encoding="utf-8")
    film = out / "FILM"
    film.mkdir()
    # a dissolve of 2 frames (the default 12 would span these 8-frame shots whole)
    parsed = parse(SCRIPT)
    write_shot_list(film / SHOT_LIST, FilmSettings(size=(32, 18), fps=4.0, dissolve_frames=2),
                    recipes_from_script(parsed), script.name)
    make_film(FilmOptions(script, film, (32, 18), 4.0, animatic=False, blend=False), run=cli_runner, say=lambda _: None)
    print(json.dumps({"folder": str(film), "script": str(film / "film.jsx"),
                      "edit": json.loads((film / "edit.json").read_text())}))


if __name__ == "__main__":
    main(Path(sys.argv[1]))
