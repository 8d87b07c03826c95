"""`dreamrooms write`: a screenplay (or its continuation) from a causal language model, shaped into Fountain.

The model writes; the shape is ours: every scene starts with a heading we open (INT. or EXT., the model names the
place), a body ends where the model starts another heading or its budget runs out, and what would break the
format (boneyard or note markers left open, forced headings inside a body) is taken out, so the result always
parses as the number of scenes asked for.  Deterministic under a seed (numpy's PCG64 and CPU inference).
"""
from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from dreamrooms.film.fountain import _HEADING, parse

_PLACE_OK = re.compile(r"[^A-Z0-9 '\-/&,.()]")


@dataclass
class WriteSettings:
    scenes: int = 3
    seed: int = 0
    temperature: float = 0.9
    top_p: float = 0.95
    scene_tokens: int = 120    # body budget per scene
    place_tokens: int = 12     # heading budget


class _Writer:
    def __init__(self, lm, tokenizer, settings: WriteSettings):
        self.lm, self.tok, self.s = lm, tokenizer, settings
        self.rng = np.random.default_rng(settings.seed)

    def continue_text(self, text: str, budget: int, stop) -> str:
        """Sample up to `budget` tokens after `text`; stop when `stop(generated)` says so."""
        ids = self.tok.encode(text).ids
        out: list[int] = []
        for _ in range(budget):
            logits = self.lm.next_logits(ids + out)
            out.append(self._sample(logits))
            piece = self.tok.decode(out)
            if stop(piece):
                break
        return self.tok.decode(out)

    def _sample(self, logits: np.ndarray) -> int:
        from dreamrooms.text.lm import sample

        return sample(logits, self.rng, self.s.temperature, self.s.top_p)


def _place(raw: str) -> str:
    line = raw.split("\n", 1)[0].upper()
    line = _PLACE_OK.sub("", line).strip(" -.,")
    return line[:48].strip() or "A ROOM"


def _clean_body(raw: str) -> str:
    """The body up to the first line that would open a scene; format-breaking markers removed."""
    kept = []
    for line in raw.replace("\r", "").split("\n"):
        s = line.strip()
        if _HEADING.match(s) or (s.startswith(".") and len(s) > 1 and s[1].isalnum()):
            break
        line = line.replace("/*", "").replace("*/", "").replace("[[", "").replace("]]", "").replace("\ufffd", "")
        kept.append("".join(c for c in line if c.isprintable() or c == "\t").rstrip())
    body = "\n".join(kept).strip("\n")
    body = re.sub(r"\n{3,}", "\n\n", body)
    return body or "The room waits."


def write_screenplay(lm, tokenizer, settings: WriteSettings, before: str = "", prompt: str = "") -> str:
    """`before` (an existing script) continued by `settings.scenes` new scenes; `prompt` leads the first."""
    w = _Writer(lm, tokenizer, settings)
    text = before.rstrip()
    if prompt.strip():
        text = (text + "\n\n" if text else "") + prompt.strip()
    baseline = len(parse(text).scenes)
    for _ in range(settings.scenes):
        opener = "INT. " if w.rng.random() < 0.6 else "EXT. "
        head_ctx = (text + "\n\n" if text else "") + opener
        place = _place(w.continue_text(head_ctx, settings.place_tokens, lambda g: "\n" in g))
        heading = f"{opener}{place}"
        body_ctx = (text + "\n\n" if text else "") + heading + "\n\n"
        body = _clean_body(w.continue_text(body_ctx, settings.scene_tokens,
                                           lambda g: bool(re.search(r"\n\s*(INT|EXT|EST|I/E)[. ]", g))))
        text = (text + "\n\n" if text else "") + heading + "\n\n" + body
    got = len(parse(text).scenes) - baseline
    assert got == settings.scenes, f"shaped text has {got} new scenes, expected {settings.scenes}"  # by construction
    return text + "\n"
