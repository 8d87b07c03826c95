"""`dreamrooms write`: a screenplay, or the continuation of one, from an ONNX causal language model."""
from __future__ import annotations

import argparse
from pathlib import Path

from dreamrooms.shot.paths import path_arg


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "write", help="write a screenplay (Fountain) with a causal language model (GPT-2 family, ONNX)",
        description="Write SCENES new scenes with a text model (a name from `dreamrooms models list` or an .onnx "
                    "export with its tokenizer.json), shaped into Fountain: every scene opens with a heading. "
                    "With --from, the script is continued. The same seed gives the same text.")
    p.add_argument("--model", required=True, help="text model: manifest name or path to an .onnx export")
    p.add_argument("--tokenizer", type=Path, default=None,
                   help="the model's tokenizer.json (default: the manifest's, or tokenizer.json beside the .onnx)")
    p.add_argument("--out", required=True, type=path_arg, help="the .fountain file to write")
    p.add_argument("--from", dest="from_script", type=Path, default=None, help="a screenplay to continue")
    p.add_argument("--prompt", default="", help="text the first new scene starts from")
    p.add_argument("--scenes", type=int, default=3, help="new scenes to write (default 3)")
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default 0)")
    p.add_argument("--temperature", type=float, default=0.9, help="sampling temperature (0: greedy; default 0.9)")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    p.add_argument("--scene-tokens", type=int, default=120, help="token budget of a scene's body (default 120)")
    p.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto", help="ONNX Runtime device")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from dreamrooms import limits
    from dreamrooms.atomic import write_text_atomic
    from dreamrooms.film.write import WriteSettings, write_screenplay
    from dreamrooms.text.model import open_text_model

    limits.check_number(args.scenes, "--scenes", low=1, high=500)
    limits.check_number(args.temperature, "--temperature", low=0, high=10)
    limits.check_number(args.top_p, "--top-p", low=0, high=1, low_open=True)
    limits.check_number(args.scene_tokens, "--scene-tokens", low=1, high=4096)
    limits.check_number(args.seed, "--seed", low=0, high=2 ** 32 - 1)
    before = ""
    if args.from_script is not None:
        from dreamrooms.film.run import read_script

        read_script(args.from_script)  # the same checks as `film` (exists, size, UTF-8)
        before = args.from_script.read_text(encoding="utf-8")
    lm, tok, name = open_text_model(args.model, args.tokenizer, args.device)
    text = write_screenplay(lm, tok, WriteSettings(args.scenes, args.seed, args.temperature, args.top_p,
                                                   args.scene_tokens), before, args.prompt)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out, text)
    print(f"wrote {out}: {args.scenes} new scene(s) by {name} (seed {args.seed})")
    return 0
