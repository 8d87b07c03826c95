"""A causal language model in ONNX Runtime with its own tokenizer file: the `text` model kind.

The I/O is the Hugging Face Optimum export of GPT-2 and its family (optimum/exporters/onnx: `input_ids`
[batch, sequence]; `attention_mask` [batch, past + sequence]; `position_ids` [batch, sequence] in newer exports;
`past_key_values.N.key/value` [batch, heads, past, head_dim] and outputs `logits` [batch, sequence, vocab] +
`present.N.key/value` when exported with the cache; `use_cache_branch` [1] bool in merged decoders).  The cache is
used when the export has one; an export without it is re-run on the whole sequence.  The tokenizer is the model's
own `tokenizer.json`, read by the `tokenizers` library (nothing is downloaded).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dreamrooms.errors import ModelError

_PAST = re.compile(r"^past_key_values\.(\d+)\.(key|value)$")


@dataclass
class TextIO:
    """What a text model's graph takes and gives, read from the session."""
    mask: bool
    positions: bool
    branch: bool
    layers: int
    past_shape: tuple  # [batch, heads, past, head_dim] with None for dynamic dims
    past_type: np.dtype


def text_io(session, where: str) -> TextIO:
    """Check a session against the causal-LM export signature; one line naming what is missing."""
    ins = {i.name: i for i in session.get_inputs()}
    outs = [o.name for o in session.get_outputs()]
    if "input_ids" not in ins or "logits" not in outs:
        raise ModelError(f"{where}: a text model needs input `input_ids` and output `logits` (a causal language "
                         f"model export; has inputs {', '.join(ins)} and outputs {', '.join(outs)})")
    past = sorted({int(m.group(1)) for m in map(_PAST.match, ins) if m})
    if past != list(range(len(past))):
        raise ModelError(f"{where}: past_key_values inputs are not numbered 0..N-1 ({past})")
    for n in past:
        for kind in ("key", "value"):
            if f"present.{n}.{kind}" not in outs:
                raise ModelError(f"{where}: input past_key_values.{n}.{kind} has no output present.{n}.{kind}")
    shape, dtype = (None, None, None, None), np.float32
    if past:
        meta = ins["past_key_values.0.key"]
        shape = tuple(d if isinstance(d, int) else None for d in meta.shape)
        dtype = np.float16 if "float16" in meta.type else np.float32
        if len(shape) != 4:
            raise ModelError(f"{where}: past_key_values.0.key is {meta.shape}; expected [batch, heads, past, head_dim]")
    return TextIO("attention_mask" in ins, "position_ids" in ins, "use_cache_branch" in ins, len(past), shape, dtype)


class CausalLM:
    """Next-token logits for a growing sequence, with the key/value cache when the export has one."""

    def __init__(self, session, where: str, context: int = 1024):
        self.session, self.io, self.context = session, text_io(session, where), int(context)
        self.reset()

    def reset(self) -> None:
        self.past: dict[str, np.ndarray] | None = None
        self.seen: list[int] = []

    def _empty_past(self) -> dict[str, np.ndarray]:
        b, h, _, d = self.io.past_shape
        if h is None or d is None:
            raise ModelError("a text export with dynamic head count or head size cannot start its cache; "
                             "export it with fixed shapes (Optimum does)")
        z = np.zeros((1, h, 0, d), self.io.past_type)
        return {f"past_key_values.{n}.{k}": z for n in range(self.io.layers) for k in ("key", "value")}

    def next_logits(self, tokens: list[int]) -> np.ndarray:
        """Logits for the token after `tokens` (which extends what was fed before, or restarts when not)."""
        tokens = tokens[-self.context:]
        if self.io.layers and self.past is not None and tokens[:-1] == self.seen and len(tokens) > len(self.seen):
            new = tokens[len(self.seen):]
        else:
            self.reset()
            new = tokens
        start = len(self.seen)
        feed = {"input_ids": np.asarray([new], np.int64)}
        if self.io.mask:
            feed["attention_mask"] = np.ones((1, start + len(new)), np.int64)
        if self.io.positions:
            feed["position_ids"] = np.arange(start, start + len(new), dtype=np.int64)[None]
        if self.io.layers:
            feed.update(self.past if self.past is not None else self._empty_past())
        if self.io.branch:
            feed["use_cache_branch"] = np.asarray([self.past is not None])
        names = [o.name for o in self.session.get_outputs()]
        out = dict(zip(names, self.session.run(None, feed)))
        if self.io.layers:
            self.past = {f"past_key_values.{n}.{k}": out[f"present.{n}.{k}"]
                         for n in range(self.io.layers) for k in ("key", "value")}
            self.seen = list(tokens)
            if len(self.seen) >= self.context:  # the cache is full: the next call restarts on the window
                self.past = None
        return np.asarray(out["logits"][0, -1], np.float64)


def sample(logits: np.ndarray, rng: np.random.Generator, temperature: float, top_p: float,
           banned: tuple[int, ...] = ()) -> int:
    """Nucleus sampling (Holtzman et al. 2020): the smallest set of tokens whose probability reaches top_p."""
    z = logits.astype(np.float64).copy()
    if banned:
        z[list(banned)] = -np.inf
    if temperature <= 0:
        return int(np.argmax(z))
    z = (z - np.max(z)) / temperature
    p = np.exp(z)
    p /= p.sum()
    order = np.argsort(-p, kind="stable")
    cum = np.cumsum(p[order])
    keep = order[: int(np.searchsorted(cum, top_p) + 1)]
    q = p[keep] / p[keep].sum()
    return int(keep[rng.choice(len(keep), p=q)])


def load_tokenizer(path: Path):
    """The model's own tokenizer.json through the `tokenizers` library."""
    try:
        from tokenizers import Tokenizer
    except ImportError:
        raise ModelError("`dreamrooms write` needs the tokenizers package: pip install tokenizers "
                         "(python3 build.py setup installs it)") from None
    if not path.is_file():
        raise ModelError(f"{path}: tokenizer file not found; give --tokenizer PATH/tokenizer.json (the model's own)")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # the library raises its own exception type for bad files
        raise ModelError(f"{path}: not a tokenizer.json the tokenizers library reads ({str(exc)[:160]})") from None
