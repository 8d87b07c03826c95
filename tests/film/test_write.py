"""`dreamrooms write` on a tiny random-weight GPT-2 of the Optimum export's signature and a tokenizer trained in
the test: the key/value cache gives the model's own logits, the text is the same for the same seed, and it always
parses as a Fountain script with the scenes asked for."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
import pytest

from _gpt2 import SCRIPT_TEXT, gpt2_export
from dreamrooms.film.fountain import parse
from dreamrooms.text.lm import CausalLM, load_tokenizer


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    root = tmp_path_factory.mktemp("gpt2")
    return gpt2_export(root / "cached", cache=True), gpt2_export(root / "plain", cache=False)


def _lm(path):
    return CausalLM(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]), str(path))


def test_the_cache_gives_the_same_logits_as_the_whole_sequence(exports):
    (cached, tok_path), _ = exports
    tok = load_tokenizer(tok_path)
    ids = tok.encode(SCRIPT_TEXT[:80]).ids
    lm = _lm(cached)
    assert lm.io.layers == 2 and lm.io.positions and lm.io.mask
    step = [lm.next_logits(ids[:n]) for n in range(1, len(ids) + 1)]  # one token at a time, through the cache
    fresh = _lm(cached)
    whole = [fresh.next_logits(ids[:n]) if fresh.reset() is None else None for n in (len(ids),)]
    np.testing.assert_allclose(step[-1], whole[0], rtol=1e-4, atol=1e-4)
    assert lm.seen == ids and lm.past["past_key_values.0.key"].shape[2] == len(ids)


def test_an_export_without_cache_is_run_on_the_whole_sequence(exports, tmp_path, run_cli):
    _, (plain, tok) = exports
    out = tmp_path / "s.fountain"
    code, text, err = run_cli("write", "--model", plain, "--out", out, "--scenes", "2", "--seed", "3",
                              "--scene-tokens", "20")
    assert code == 0, err
    assert len(parse(out.read_text()).scenes) == 2


def test_same_seed_same_text_and_always_fountain(exports, tmp_path, run_cli):
    (cached, tok), _ = exports
    texts = []
    for n, seed in enumerate((5, 5, 6)):
        out = tmp_path / f"{n}.fountain"
        code, _, err = run_cli("write", "--model", cached, "--out", out, "--scenes", "3", "--seed", seed,
                               "--scene-tokens", "30", "--prompt", "A house dreams.")
        assert code == 0, err
        texts.append(out.read_text())
    assert texts[0] == texts[1] and texts[0] != texts[2]
    for t in texts:
        script = parse(t)
        assert len(script.scenes) == 3 and all(sc.heading.startswith(("INT. ", "EXT. ")) for sc in script.scenes)
        assert "/*" not in t and "[[" not in t


def test_continue_a_script(exports, tmp_path, run_cli):
    (cached, tok), _ = exports
    before = tmp_path / "before.fountain"
    before.write_text(SCRIPT_TEXT)
    out = tmp_path / "after.fountain"
    code, _, err = run_cli("write", "--model", cached, "--from", before, "--out", out, "--scenes", "2",
                           "--scene-tokens", "15")
    assert code == 0, err
    text = out.read_text()
    assert text.startswith(SCRIPT_TEXT.rstrip()) and len(parse(text).scenes) == 3 + 2


@pytest.mark.parametrize("args,message", [
    (["--scenes", "0"], "--scenes"), (["--top-p", "0"], "--top-p"),
    (["--tokenizer", "/nonexistent/tokenizer.json"], "tokenizer file not found"),
])
def test_bad_write_settings_are_one_line(exports, tmp_path, run_cli, args, message):
    (cached, tok), _ = exports
    out = tmp_path / "x.fountain"
    code, _, err = run_cli("write", "--model", cached, "--out", out, *args)
    assert code == 1 and message in err and not out.exists()


def test_a_model_that_is_not_a_language_model_is_refused(tmp_path, run_cli):
    from _exports import midas_small

    m = midas_small(tmp_path / "midas" / "model.onnx")
    from _gpt2 import train_tokenizer

    train_tokenizer(m.with_name("tokenizer.json"))
    code, _, err = run_cli("write", "--model", m, "--out", tmp_path / "x.fountain")
    assert code == 1 and "input_ids" in err and "logits" in err
