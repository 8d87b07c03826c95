"""A tiny random-weight GPT-2 with the signature of Hugging Face Optimum's ONNX export, and a tiny byte-level BPE
tokenizer trained here (the `tokenizers` library, GPT-2's pre-tokenizer and decoder).

Signature (optimum/exporters/onnx config.py, TextDecoderOnnxConfig + position ids for gpt2): inputs `input_ids`
[batch_size, sequence_length] int64, `attention_mask` [batch_size, past_sequence_length + sequence_length] int64,
`position_ids` [batch_size, sequence_length] int64, `past_key_values.N.key|value` [batch_size, heads,
past_sequence_length, head_dim] float32; outputs `logits` [batch_size, sequence_length, vocab] and
`present.N.key|value` [batch_size, heads, past_sequence_length + sequence_length, head_dim].  The export without
the cache (`use_cache=False`) takes `input_ids` and `attention_mask` only.
"""
from __future__ import annotations

from pathlib import Path

from _exports import _export

SCRIPT_TEXT = """INT. BEDROOM - NIGHT

Moonlight on the bed. The wallpaper breathes.

MARA
Is anyone still here?

EXT. GARDEN - DAWN

Roses turn into doors.

THE GARDENER
Every room remembers a face.

INT. CORRIDOR - DAY

A corridor of rooms side by side. The camera walks past them.
"""

LAYERS, HEADS, HEAD_DIM = 2, 2, 8


def train_tokenizer(path: Path) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=320, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([SCRIPT_TEXT] * 8, trainer)
    tok.save(str(path))
    return path


def _model(vocab: int, cache: bool):
    import torch

    torch.manual_seed(7)
    d = HEADS * HEAD_DIM

    class Block(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1, self.ln2 = torch.nn.LayerNorm(d), torch.nn.LayerNorm(d)
            self.qkv, self.proj = torch.nn.Linear(d, 3 * d), torch.nn.Linear(d, d)
            self.mlp = torch.nn.Sequential(torch.nn.Linear(d, 4 * d), torch.nn.GELU(), torch.nn.Linear(4 * d, d))

        def forward(self, x, mask, past_k, past_v):
            b, t, _ = x.shape
            q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
            q, k, v = (z.view(b, t, HEADS, HEAD_DIM).transpose(1, 2) for z in (q, k, v))
            k = torch.cat([past_k, k], dim=2)
            v = torch.cat([past_v, v], dim=2)
            att = q @ k.transpose(-1, -2) / HEAD_DIM ** 0.5
            total = k.shape[2]
            causal = torch.ones(t, total).tril(total - t).bool()
            keep = causal[None, None] & mask[:, None, None, :].bool()
            att = att.masked_fill(~keep, -1e9).softmax(-1)
            y = (att @ v).transpose(1, 2).reshape(b, t, d)
            x = x + self.proj(y)
            return x + self.mlp(self.ln2(x)), k, v

    class TinyGPT2(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = torch.nn.Embedding(vocab, d), torch.nn.Embedding(1024, d)  # n_positions as GPT-2
            self.blocks = torch.nn.ModuleList(Block() for _ in range(LAYERS))
            self.ln = torch.nn.LayerNorm(d)

        def forward(self, input_ids, attention_mask, position_ids=None, *past):
            b, t = input_ids.shape
            if position_ids is None:
                position_ids = torch.arange(t)[None].expand(b, t)
            x = self.wte(input_ids) + self.wpe(position_ids)
            presents = []
            for n, block in enumerate(self.blocks):
                pk = past[2 * n] if past else torch.zeros(b, HEADS, 0, HEAD_DIM)
                pv = past[2 * n + 1] if past else torch.zeros(b, HEADS, 0, HEAD_DIM)
                x, k, v = block(x, attention_mask, pk, pv)
                presents += [k, v]
            logits = self.ln(x) @ self.wte.weight.T * 4.0  # tied head; sharper than random
            return (logits, *presents) if cache else logits

    return TinyGPT2()


def gpt2_export(folder: Path, cache: bool = True) -> tuple[Path, Path]:
    """(model.onnx, tokenizer.json) in `folder`, as an Optimum export lays them out."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    tok_path = train_tokenizer(folder / "tokenizer.json")
    from tokenizers import Tokenizer

    vocab = Tokenizer.from_file(str(tok_path)).get_vocab_size()
    model = _model(vocab, cache)
    ids = torch.randint(0, vocab, (1, 3))
    if not cache:
        return _export(model, (ids, torch.ones(1, 3, dtype=torch.int64)), folder / "model.onnx",
                       ["input_ids", "attention_mask"], ["logits"],
                       {"input_ids": {0: "batch_size", 1: "sequence_length"},
                        "attention_mask": {0: "batch_size", 1: "sequence_length"},
                        "logits": {0: "batch_size", 1: "sequence_length"}}), tok_path
    past = [torch.randn(1, HEADS, 2, HEAD_DIM) for _ in range(2 * LAYERS)]
    names = [f"past_key_values.{n}.{k}" for n in range(LAYERS) for k in ("key", "value")]
    outs = ["logits"] + [f"present.{n}.{k}" for n in range(LAYERS) for k in ("key", "value")]
    dyn = {"input_ids": {0: "batch_size", 1: "sequence_length"},
           "attention_mask": {0: "batch_size", 1: "past_sequence_length + sequence_length"},
           "position_ids": {0: "batch_size", 1: "sequence_length"},
           "logits": {0: "batch_size", 1: "sequence_length"}}
    dyn.update({n: {0: "batch_size", 2: "past_sequence_length"} for n in names})
    dyn.update({n: {0: "batch_size", 2: "past_sequence_length + 1"} for n in outs[1:]})
    args = (ids, torch.ones(1, 5, dtype=torch.int64), torch.arange(2, 5)[None], *past)
    return _export(model, args, folder / "model.onnx", ["input_ids", "attention_mask", "position_ids", *names],
                   outs, dyn), tok_path
