"""The Fountain parser against the published syntax (fountain.io): every element kind, forced forms, notes,
boneyard, title page, scene numbers, and odd input that must not raise."""
from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from dreamrooms.film.fountain import parse, plain

FIVE = Path(__file__).with_name("five_scenes.fountain")


def test_five_scene_script_has_its_scenes_in_order():
    s = parse(FIVE.read_text(encoding="utf-8"))
    assert s.title["title"] == "The Sleeping Rooms" and s.title["author"] == "dreamrooms tests"
    assert [sc.heading for sc in s.scenes] == ["INT. BEDROOM - NIGHT", "EXT. GARDEN - DAWN", "INT. CORRIDOR - CONTINUOUS",
                                              "INT. BEDROOM - NIGHT", "THE LAST ROOM"]
    assert s.scenes[1].number == "7"
    assert s.scenes[0].sections == ["ACT ONE"]
    assert s.preamble[-1].kind == "synopsis" or any(e.kind == "synopsis" for e in s.preamble)


def test_dialogue_parentheticals_and_characters():
    s = parse(FIVE.read_text(encoding="utf-8"))
    first = s.scenes[0]
    kinds = [e.kind for e in first.elements]
    assert kinds[:5] == ["action", "action", "character", "parenthetical", "dialogue"]
    assert first.dialogue[0].character == "MARA" and first.dialogue[0].text == "Is anyone still here?"
    garden = s.scenes[1].dialogue[0]
    assert garden.character == "THE GARDENER"  # the (V.O.) extension is not part of the name
    fourth = s.scenes[3].dialogue
    assert [(d.character, d.text) for d in fourth] == [("MARA", "I was here. I know I was here."),
                                                       ("McCLANE", "You were dreaming.")]


def test_transitions_notes_boneyard_and_forced_elements():
    s = parse(FIVE.read_text(encoding="utf-8"))
    assert s.scenes[0].transition_out == "CUT TO:" and s.scenes[1].transition_out == "DISSOLVE TO:"
    assert s.scenes[2].transition_out is None
    assert s.scenes[0].notes == ["walk: slow, keep the bed in frame"]
    assert all("not in the film" not in e.text for sc in s.scenes for e in sc.elements)  # boneyard
    assert s.scenes[2].elements[0].kind == "action" and s.scenes[2].elements[0].text.startswith("A CORRIDOR")
    assert [e.kind for e in s.scenes[4].elements] == ["centered"]


@pytest.mark.parametrize("text,kind", [
    ("INT. HOUSE - DAY", "heading"), ("ext. lake - night", "heading"), ("I/E CAR - DAY", "heading"),
    ("EST. CITY", "heading"), ("INT./EXT. CAR - DAY", "heading"), (".FLASHBACK", "heading"),
    ("...and then", "action"), ("INTERIOR DESIGN IS HARD", "action"), ("SMASH CUT TO:", "transition"),
    ("> FADE OUT.", "transition"), ("~Lyrics line", "lyrics"), ("===", "page_break"),
])
def test_single_lines(text, kind):
    s = parse(f"\n{text}\n\n")
    if kind == "heading":
        assert len(s.scenes) == 1
    else:
        assert not s.scenes and s.preamble[0].kind == kind


def test_caps_line_without_dialogue_is_action_and_emphasis_is_plain():
    s = parse("INT. A - DAY\n\nTHE LIGHTS FAIL\n\nBOB\n*Really* **now** _sure_?\n")
    assert [e.kind for e in s.scenes[0].elements] == ["action", "character", "dialogue"]
    assert plain(s.scenes[0].dialogue[0].text) == "Really now sure?"


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("INTEX./ \n()[]*#=>!@~_abcTO:\r\t^-")), max_size=200))
def test_any_text_parses(text):
    parse(text)
