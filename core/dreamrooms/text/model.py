"""Open a text model: a manifest entry (kind `text`, its tokenizer named in `[models.NAME.text]`) or an .onnx
export with its tokenizer.json beside it."""
from __future__ import annotations

from pathlib import Path

from dreamrooms.errors import ModelError

DEFAULT_CONTEXT = 1024  # GPT-2's n_positions (its config.json)


def _entry(name_or_path: str):
    from dreamrooms.models.registry import ModelEntry, registry, resolve

    if name_or_path in registry():
        return resolve(name_or_path, kind="text")
    p = Path(name_or_path).expanduser()
    if p.suffix.lower() != ".onnx" or not p.is_file():
        raise ModelError(f"model {name_or_path!r}: not a text model name from `dreamrooms models list` nor an .onnx file")
    return ModelEntry(name=p.stem, kind="text", path=p, size=p.stat().st_size, license="unknown (user file)",
                      raw={"kind": "text", "file": str(p), "inferred": True}, description="user ONNX text model")


def tokenizer_path(entry, given: Path | None) -> Path:
    if given is not None:
        return Path(given)
    named = (entry.raw.get("text") or {}).get("tokenizer")
    if named:
        from dreamrooms.shot.paths import confine

        return confine(entry.path.parent, named, f"{entry.manifest}: [models.{entry.name}.text] tokenizer")
    return entry.path.with_name("tokenizer.json")


def open_text_model(name_or_path: str, tokenizer: Path | None = None, device: str = "auto"):
    """(CausalLM, Tokenizer, model name) ready to write; one line on any mismatch."""
    from dreamrooms.models.runtime import open_session
    from dreamrooms.text.lm import CausalLM, load_tokenizer

    entry = _entry(str(name_or_path))
    tok = load_tokenizer(tokenizer_path(entry, tokenizer))
    ms = open_session(entry, device=device)
    context = int((entry.raw.get("text") or {}).get("context", DEFAULT_CONTEXT))
    lm = CausalLM(ms.session, f"model {entry.name!r} ({entry.path})", context)
    return lm, tok, entry.name
