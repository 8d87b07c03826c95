"""A Fountain screenplay parser (the plain-text screenplay format, syntax as published at fountain.io).

Written from the published syntax (no maintained Python parser fits: the PyPI ones are unmaintained or new and
untested): title page, scene headings (INT/EXT/EST/INT./EXT/INT/EXT/I/E or forced with `.`, scene numbers `#1A#`),
action (forced with `!`), characters (all caps before dialogue, forced with `@`, extensions, `^` dual dialogue),
dialogue, parentheticals, transitions (`... TO:` or forced with `>`), centered text (`>text<`), notes `[[...]]`,
boneyard `/* ... */`, sections `#`, synopses `=`, page breaks `===` and lyrics `~`. Pure: text in, a `Script` out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

_HEADING = re.compile(r"^(INT|EXT|EST|INT\.?/EXT|I/E|E/I)[. ]", re.IGNORECASE)
_SCENE_NUMBER = re.compile(r"\s*#([A-Za-z0-9.\-]+)#\s*$")
_NOTE = re.compile(r"\[\[(.*?)\]\]", re.DOTALL)
_BONEYARD = re.compile(r"/\*.*?\*/", re.DOTALL)
_TITLE_KEY = re.compile(r"^([A-Za-z][A-Za-z ]*):(.*)$")
_EMPHASIS = re.compile(r"(\*{1,3}|_)(?=\S)(.+?)(?<=\S)\1")


@dataclass
class Element:
    """One paragraph of the script: kind is one of KINDS; `character` is set on dialogue and parentheticals."""
    kind: str
    text: str
    line: int
    character: str | None = None


KINDS = ("action", "character", "dialogue", "parenthetical", "transition", "centered", "note", "section",
         "synopsis", "page_break", "lyrics")


@dataclass
class Scene:
    """A scene: its heading, its elements, the transition written after it (into the next scene), notes."""
    heading: str
    line: int
    number: str | None = None
    elements: list[Element] = field(default_factory=list)
    transition_out: str | None = None
    sections: list[str] = field(default_factory=list)
    synopses: list[str] = field(default_factory=list)

    @property
    def notes(self) -> list[str]:
        return [e.text for e in self.elements if e.kind == "note"]

    @property
    def dialogue(self) -> list[Element]:
        return [e for e in self.elements if e.kind == "dialogue"]

    @property
    def action(self) -> list[Element]:
        return [e for e in self.elements if e.kind in ("action", "centered", "lyrics")]


@dataclass
class Script:
    title: dict[str, str] = field(default_factory=dict)
    scenes: list[Scene] = field(default_factory=list)
    preamble: list[Element] = field(default_factory=list)  # what comes before the first scene heading


def plain(text: str) -> str:
    """Text without Fountain emphasis markers (`*italic*`, `**bold**`, `_underline_`), for subtitles."""
    prev = None
    while prev != text:
        prev, text = text, _EMPHASIS.sub(r"\2", text)
    return text.replace("\\*", "*").replace("\\_", "_")


def parse(text: str) -> Script:
    """Parse Fountain text; never raises on odd input (anything unrecognised is action, as the syntax says)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n").lstrip("\ufeff")
    text = _BONEYARD.sub(lambda m: "\n" * m.group(0).count("\n"), text)
    notes: dict[int, list[str]] = {}

    def _note(m: re.Match) -> str:
        line = text.count("\n", 0, m.start()) + 1
        notes.setdefault(line, []).append(" ".join(m.group(1).split()))
        return "\n" * m.group(0).count("\n")

    text = _NOTE.sub(_note, text)
    lines = text.split("\n")
    script = Script()
    start = _title_page(lines, script.title)
    _Body(script, notes).run(lines, start)
    return script


def _title_page(lines: list[str], title: dict[str, str]) -> int:
    """Key: value pairs at the very top (values may continue on indented lines); returns the first body line."""
    if not lines or not _TITLE_KEY.match(lines[0]) or _HEADING.match(lines[0]):
        return 0
    key = None
    for i, line in enumerate(lines):
        if not line.strip():
            return i + 1
        m = _TITLE_KEY.match(line)
        if m and not line.startswith((" ", "\t")):
            key = m.group(1).strip().lower()
            title[key] = m.group(2).strip()
        elif key is not None and line.startswith((" ", "\t", "   ")):
            title[key] = (title[key] + "\n" + line.strip()).strip()
        else:
            title.clear()
            return 0
    return len(lines)


def _is_caps(s: str) -> bool:
    name = re.sub(r"\(.*?\)", "", s).replace("^", "")
    return any(c.isalpha() for c in name) and name == name.upper()


class _Body:
    """The element pass: paragraphs separated by blank lines, classified by the published rules."""

    def __init__(self, script: Script, notes: dict[int, list[str]]):
        self.script, self.notes = script, notes
        self.pending_sections: list[str] = []

    def add(self, el: Element) -> None:
        scenes = self.script.scenes
        if el.kind == "section":
            self.pending_sections.append(el.text)
        if el.kind == "synopsis" and scenes:
            scenes[-1].synopses.append(el.text)
        if el.kind == "transition" and scenes:
            scenes[-1].transition_out = el.text
        (scenes[-1].elements if scenes else self.script.preamble).append(el)

    def run(self, lines: list[str], start: int) -> None:
        i, n = start, len(lines)
        while i < n:
            for note in self.notes.get(i + 1, []):
                self.add(Element("note", note, i + 1))
            line = lines[i]
            s = line.strip()
            before_blank = i == start or not lines[i - 1].strip()
            after_blank = i + 1 >= n or not lines[i + 1].strip()
            if not s:
                i += 1
                continue
            if self.heading(s, i, before_blank):
                i += 1
                continue
            if before_blank and self.character(lines, i, s, after_blank):
                i = self.dialogue(lines, i + 1, self.script_character(s))
                continue
            self.single(s, i, before_blank, after_blank)
            i += 1

    def heading(self, s: str, i: int, before_blank: bool) -> bool:
        forced = s.startswith(".") and len(s) > 1 and s[1].isalnum()
        if not forced and not (before_blank and _HEADING.match(s)):
            return False
        text = s[1:] if forced else s
        number = None
        m = _SCENE_NUMBER.search(text)
        if m:
            number, text = m.group(1), text[:m.start()]
        self.script.scenes.append(Scene(text.strip(), i + 1, number, sections=self.pending_sections))
        self.pending_sections = []
        return True

    def character(self, lines: list[str], i: int, s: str, after_blank: bool) -> bool:
        if after_blank:
            return False
        if s.startswith("@"):
            return True
        if s.startswith(("!", ">", "=", "#", "~", ".")) or s.endswith("TO:"):
            return False
        return _is_caps(s)

    @staticmethod
    def script_character(s: str) -> str:
        name = s[1:] if s.startswith("@") else s
        name = name.rstrip().rstrip("^").rstrip()
        return re.sub(r"\s*\(.*?\)\s*$", "", name).strip() or name.strip()

    def dialogue(self, lines: list[str], i: int, who: str) -> int:
        self.add(Element("character", who, i))
        speech: list[str] = []
        first = i

        def flush():
            if speech:
                self.add(Element("dialogue", " ".join(speech), first + 1, who))
                speech.clear()

        while i < len(lines) and (lines[i].strip() or lines[i] == "  "):
            s = lines[i].strip()
            if s.startswith("(") and s.endswith(")"):
                flush()
                self.add(Element("parenthetical", s, i + 1, who))
            else:
                if not speech:
                    first = i
                speech.append(s)
            i += 1
        flush()
        return i

    def single(self, s: str, i: int, before_blank: bool, after_blank: bool) -> None:
        line = i + 1
        if s.startswith(">") and s.endswith("<") and len(s) > 1:
            self.add(Element("centered", s[1:-1].strip(), line))
        elif s.startswith(">"):
            self.add(Element("transition", s[1:].strip(), line))
        elif s.startswith("!"):
            self.add(Element("action", s[1:], line))
        elif re.fullmatch(r"={3,}", s):
            self.add(Element("page_break", "", line))
        elif s.startswith("="):
            self.add(Element("synopsis", s[1:].strip(), line))
        elif s.startswith("#"):
            self.add(Element("section", s.lstrip("#").strip(), line))
        elif s.startswith("~"):
            self.add(Element("lyrics", s[1:].strip(), line))
        elif before_blank and after_blank and s.isupper() and s.endswith("TO:"):
            self.add(Element("transition", s, line))
        else:
            self.add(Element("action", s, line))
