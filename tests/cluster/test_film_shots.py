"""`dreamrooms film --ray`: a film's shots made as tasks on the real two-node loopback cluster, then the cut."""
from __future__ import annotations

from pathlib import Path

from dreamrooms.commands.film import cli_runner
from dreamrooms.film import run as film_run

SCRIPT = """INT. ROOM - NIGHT

A lamp.

EXT. SEA - DAY

Waves.

DISSOLVE TO:

INT. ROOM - DAY

The lamp again.
"""


def test_film_shots_on_the_cluster(ray_cluster, tmp_path):
    script = tmp_path / "s.fountain"
    script.write_text(SCRIPT)
    out = tmp_path / "FILM"
    said: list[str] = []
    opts = film_run.FilmOptions(script, out, (32, 18), 6.0, animatic=False, blend=False, ray=ray_cluster.address)
    edit = film_run.make_film(opts, run=cli_runner, say=said.append)
    made = [line for line in said if line.startswith("shot ") and ": made on " in line]
    assert len(made) == 3
    for s in edit.shots:
        assert len(list((out / "shots" / s.folder_name / "layers").glob("*.exr"))) == s.frames
    assert (out / "edit.json").is_file() and (out / "film.jsx").is_file()
    said.clear()
    film_run.make_film(opts, run=cli_runner, say=said.append)   # a rerun on the cluster makes nothing again
    assert sum(": up to date on " in line for line in said) == 3
