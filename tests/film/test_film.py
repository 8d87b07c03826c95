"""`dreamrooms film` end to end on a five-scene script (small and fast): the cut, its .srt, the animatic, Blender's
sequencer edit, the After Effects data; reruns make only what is missing or changed; the shot list is data."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import pytest

from dreamrooms.commands.film import cli_runner
from dreamrooms.commands.room import headless_script
from dreamrooms.film import run as film_run
from dreamrooms.film.fountain import parse
from dreamrooms.film.shotlist import FilmError, FilmSettings, recipes_from_script, write_shot_list
from dreamrooms.film.edit import srt_time

FIVE = Path(__file__).with_name("five_scenes.fountain")
SIZE, FPS = (64, 36), 12.0


def _opts(out: Path, **kw) -> film_run.FilmOptions:
    return film_run.FilmOptions(FIVE, out, SIZE, FPS, **kw)


@pytest.fixture(scope="module")
def film(tmp_path_factory):
    out = tmp_path_factory.mktemp("film") / "FILM"
    said: list[str] = []
    edit = film_run.make_film(_opts(out), run=cli_runner, say=said.append, headless=headless_script())
    return out, edit, said


def test_the_cut_has_five_shots_in_script_order_with_the_dissolve(film):
    out, edit, _ = film
    data = json.loads((out / "edit.json").read_text())
    headings = [s["heading"] for s in data["shots"]]
    assert headings == ["INT. BEDROOM - NIGHT", "EXT. GARDEN - DAWN", "INT. CORRIDOR - CONTINUOUS",
                        "INT. BEDROOM - NIGHT", "THE LAST ROOM"]
    shots = data["shots"]
    # DISSOLVE TO: after the garden: the corridor overlaps it by 12 frames, half a dissolve of handle each side
    assert [s["overlap_in"] for s in shots] == [0, 0, 12, 0, 0]
    assert shots[1]["handle_out"] == 6 and shots[2]["handle_in"] == 6
    for a, b in zip(shots, shots[1:]):
        assert b["start"] == a["start"] + a["frames"] - b["overlap_in"]
    assert data["frames"] == sum(s["frames"] for s in shots) - 12 == sum(s["scripted"] for s in shots)
    # every shot folder holds exactly the frames its place in the cut needs
    for s in shots:
        assert len(s["files"]) == s["frames"] and all((out / f).is_file() for f in s["files"])


def test_durations_come_from_the_script(film):
    _, edit, _ = film
    # scene 1: 4 words of dialogue at 150 wpm (1.6 s) + 2 action lines at 1 s = 3.6 s
    assert edit.shots[0].scripted == round(3.6 * FPS)
    # the last scene has only a centered line: 1 s, raised to the 2 s minimum
    assert edit.shots[-1].scripted == round(2.0 * FPS)


def test_srt_matches_the_cut(film):
    out, edit, _ = film
    blocks = (out / "film.srt").read_text().strip().split("\n\n")
    assert len(blocks) == len(edit.subtitles) == 4
    n, times, text = blocks[1].split("\n")
    sub = edit.subtitles[1]
    assert n == "2" and times == f"{srt_time(sub.start, FPS)} --> {srt_time(sub.end, FPS)}"
    assert text == "THE GARDENER: Every room remembers a face."
    # a subtitle sits inside its shot's scripted frames
    garden = edit.shots[1]
    assert garden.scripted_start <= sub.start < sub.end <= garden.scripted_start + garden.scripted


def test_animatic_lasts_the_cut(film):
    out, edit, _ = film
    cap = cv2.VideoCapture(str(out / "animatic.mp4"))
    try:
        assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == edit.frames
        assert (int(cap.get(cv2.CAP_PROP_FRAME_WIDTH)), int(cap.get(cv2.CAP_PROP_FRAME_HEIGHT))) == SIZE
        assert cap.get(cv2.CAP_PROP_FPS) == pytest.approx(FPS)
    finally:
        cap.release()


BLEND_DUMP = """
import bpy, json, sys
bpy.ops.wm.open_mainfile(filepath=sys.argv[1])
f = bpy.data.scenes["film"]
print(json.dumps({"frames": [f.frame_start, f.frame_end], "scenes": sorted(s.name for s in bpy.data.scenes),
  "strips": sorted([[s.frame_final_start, s.type, s.name, s.frame_final_duration,
                     getattr(getattr(s, "scene", None), "name", None)] for s in f.sequence_editor.strips])}))
"""


def test_blend_sequencer_cuts_the_shot_scenes_in_order(film):
    out, edit, _ = film
    res = subprocess.run([sys.executable, "-c", BLEND_DUMP, str(out / "film.blend")], capture_output=True, text=True,
                         timeout=300)
    dump = json.loads(res.stdout.strip().splitlines()[-1])
    assert dump["frames"] == [1, edit.frames]
    scenes = [s for s in dump["strips"] if s[1] == "SCENE"]
    assert [s[4].split()[0] for s in scenes] == [s.id for s in edit.shots]
    assert [(s[0], s[3]) for s in scenes] == [(c.start + 1, c.frames) for c in edit.shots]
    cross = [s for s in dump["strips"] if s[1] == "CROSS"]
    assert [(s[0], s[3]) for s in cross] == [(edit.shots[2].start + 1, 12)]
    assert len([s for s in dump["strips"] if s[1] == "TEXT"]) == len(edit.subtitles)


def test_after_effects_film_data(film):
    out, edit, _ = film
    data = json.loads((out / "film.json").read_text())
    assert [s["start"] for s in data["shots"]] == [c.start for c in edit.shots]
    assert data["shots"][2]["overlap_in"] == 12
    assert {"frame": edit.shots[0].scripted_start,
            "text": "INT. BEDROOM - NIGHT\n[[walk: slow, keep the bed in frame]]"} in data["markers"]
    script = (out / "film.jsx").read_text()
    assert script.isascii() and script.count("dreamroomsFilm.run(") == 1
    for name in ("dreamrooms.jsxinc", "dreamrooms_dom.jsxinc", "dreamrooms_film.jsxinc"):
        assert (out / name).is_file()


def test_a_killed_film_resumes_with_only_the_missing_shots(tmp_path):
    out = tmp_path / "FILM"
    calls: list[list[str]] = []

    def dies_in_shot_three(argv):
        calls.append(argv)
        if sum(a[0] == "walk" for a in calls) == 3 and argv[0] == "depth":
            raise KeyboardInterrupt  # killed in the middle of the third shot
        return cli_runner(argv)

    with pytest.raises(KeyboardInterrupt):
        film_run.make_film(_opts(out, animatic=False, blend=False, ae=False), run=dies_in_shot_three)
    calls.clear()
    said: list[str] = []
    film_run.make_film(_opts(out, animatic=False, blend=False, ae=False), run=lambda a: calls.append(a) or cli_runner(a),
                       say=said.append)
    status = [line.split(": ")[-1].split(" (")[0] for line in said if line.startswith("shot ")]
    assert status == ["up to date", "up to date", "made", "made", "made"]
    assert [a[0] for a in calls].count("walk") == 3
    # a recipe edited in the shot list remakes that shot only
    toml = out / "shots.toml"
    text = toml.read_text()
    first_seeds = text.index("seeds = [1, 2, 3]")
    toml.write_text(text[:first_seeds] + "seeds = [9, 8, 7]" + text[first_seeds + len("seeds = [1, 2, 3]"):])
    said.clear()
    film_run.make_film(_opts(out, animatic=False, blend=False, ae=False), run=cli_runner, say=said.append)
    status = [line.split(": ")[-1].split(" (")[0] for line in said if line.startswith("shot ")]
    assert status == ["remade", "up to date", "up to date", "up to date", "up to date"]


def test_inserting_a_scene_renames_no_other_shot():
    text = FIVE.read_text()
    before = [r.id for r in recipes_from_script(parse(text))]
    inserted = text.replace("INT. CORRIDOR - CONTINUOUS", "EXT. ROOF - NIGHT\n\nWind.\n\nINT. CORRIDOR - CONTINUOUS")
    after = [r.id for r in recipes_from_script(parse(inserted))]
    assert len(after) == 6 and set(before) <= set(after)
    # a second scene with the same heading keeps its own id as long as the first is not removed
    assert before[0] != before[3]


@pytest.mark.parametrize("edit,message", [
    (("source = \"walk\"\nmodel = \"cppn-walk\"\nseeds = [1, 2, 3]\nfootage = \"\"",
      "source = \"footage\"\nmodel = \"cppn-walk\"\nseeds = [1, 2, 3]\nfootage = \"../../etc/passwd\""), "footage"),
    (("move = \"dolly_in\"", "move = \"teleport\""), "move 'teleport'"),
    (("grain = false", "grain = false\nshell = \"rm -rf /\""), "unknown key 'shell'"),
    (("fps = 12.0", "fps = 1e9"), "fps"),
    (("seeds = [1, 2, 3]", "seeds = \"1,2\""), "seeds"),
])
def test_a_bad_shot_list_is_one_line_and_writes_nothing(tmp_path, run_cli, edit, message):
    out = tmp_path / "FILM"
    out.mkdir()
    toml = out / "shots.toml"
    write_shot_list(toml, FilmSettings(size=SIZE, fps=FPS), recipes_from_script(parse(FIVE.read_text())), FIVE.name)
    toml.write_text(toml.read_text().replace(*edit, 1))
    before = sorted(p.relative_to(out) for p in out.rglob("*"))
    code, _, err = run_cli("film", FIVE, "--out", out, "--no-animatic", "--no-blend")
    assert code == 1 and message in err and "shots.toml" in err and len(err.strip().splitlines()) == 1
    assert sorted(p.relative_to(out) for p in out.rglob("*")) == before


def test_film_info_on_a_broken_edit_is_one_line(film, run_cli, tmp_path):
    import shutil

    out, _, _ = film
    copy = tmp_path / "FILM"
    shutil.copytree(out / "state", copy / "state")
    shutil.copy(out / "shots.toml", copy / "shots.toml")
    (copy / "edit.json").write_text("{not json")
    code, _, err = run_cli("film", "info", copy)
    assert code == 1 and "edit.json" in err and len(err.strip().splitlines()) == 1


def test_film_info_lists_shots_and_outputs(film, run_cli):
    out, edit, _ = film
    code, text, err = run_cli("film", "info", out)
    assert code == 0, err
    assert text.count(" made frames ") == 5
    for name in ("edit.json", "film.srt", "animatic.mp4", "film.blend", "film.jsx"):
        assert f"{name}" in text and "missing" not in text.split(name)[1].split("\n")[0]


def test_subtitles_are_burnt_in_only_while_spoken(film):
    import numpy as np
    from dreamrooms.film.animatic import frames

    out, edit, _ = film
    sub = edit.subtitles[0]
    silent = edit.shots[2].scripted_start + 2   # the corridor has no dialogue
    wanted = {sub.start + 1, silent}
    burnt = {t: f for t, f in enumerate(frames(edit, out, burn=True)) if t in wanted}
    clean = {t: f for t, f in enumerate(frames(edit, out, burn=False)) if t in wanted}
    band = slice(SIZE[1] * 2 // 3, None)
    assert np.abs(burnt[sub.start + 1][band].astype(int) - clean[sub.start + 1][band]).max() > 100
    assert np.array_equal(burnt[silent], clean[silent])


def test_a_failed_remake_keeps_the_shot_that_was_there(tmp_path):
    script = tmp_path / "two.fountain"
    script.write_text("INT. ROOM - NIGHT\n\nA lamp.\n\nEXT. SEA - DAY\n\nWaves.\n")
    out = tmp_path / "FILM"
    opts = film_run.FilmOptions(script, out, (32, 18), 4.0, animatic=False, blend=False, ae=False)
    film_run.make_film(opts, run=cli_runner, say=lambda _: None)
    shot = next((out / "shots").glob("*_int-room-night"))
    before = sorted(p.name for p in (shot / "layers").iterdir())
    toml = out / "shots.toml"
    good = toml.read_text()
    toml.write_text(good.replace('depth_model = "tinydepth"', 'depth_model = "no-such-model"', 1))
    with pytest.raises(FilmError, match="`dreamrooms depth` failed"):
        film_run.make_film(opts, run=cli_runner, say=lambda _: None)
    assert sorted(p.name for p in (shot / "layers").iterdir()) == before   # the old shot is back, whole
    assert not list((out / "shots").glob(".*.old"))
    toml.write_text(good)
    said: list[str] = []
    film_run.make_film(opts, run=cli_runner, say=said.append)
    assert [line.endswith("up to date (8 frames)") for line in said if line.startswith("shot ")] == [True, True]


def test_a_still_is_held_over_its_shot_and_fits_the_frame(tmp_path):
    """A `stills` recipe: a photo of another size, cropped to the film's frame and held by the move (room without
    a render), so the shot, its camera and its After Effects comp last the scene."""
    from dreamrooms.shot import Shot
    from _photos import photo, write_png

    script = tmp_path / "one.fountain"
    script.write_text("INT. ROOM - NIGHT\n\nA photo on the wall.\n")
    out = tmp_path / "FILM"
    out.mkdir()
    write_png(out / "photo.png", photo(80, 60, 3, 0.5, 0.5))
    recipes = recipes_from_script(parse(script.read_text()))
    recipes[0].source, recipes[0].footage = "stills", "photo.png"
    write_shot_list(out / "shots.toml", FilmSettings(size=(32, 18), fps=4.0), recipes, script.name)
    edit = film_run.make_film(film_run.FilmOptions(script, out, animatic=False, blend=False), run=cli_runner, say=lambda _: None)
    shot = Shot.load(out / "shots" / recipes[0].folder_name)
    assert (shot.width, shot.height) == (32, 18) and shot.frame_count == edit.shots[0].frames == 8
    assert shot.camera is not None and len(shot.camera.matrices) == 8
    comp = json.loads((out / "shots" / recipes[0].folder_name / "ae" / "comp.json").read_text())
    assert comp["comp"]["frame_count"] == 8
