"""`dreamrooms models list|fetch|add`: the model registry on the command line."""
from __future__ import annotations

import json
import sys
from pathlib import Path

from dreamrooms.models.contracts import MATTE_ACTIVATIONS
from dreamrooms.models.registry import (DEPTH_SEMANTICS, INTERPOLATIONS, KINDS, RESIZE_POLICIES, ModelError,
                                        infer_entry, list_models, models_dir)


def register(subparsers) -> None:
    p = subparsers.add_parser("models", help="list, fetch and add ONNX models (depth, generators)",
                              description="The model registry: built-in models ship with dreamrooms; public "
                                          "ones are fetched (sha256-verified) into the models dir; your own "
                                          "ONNX files are added by path.")
    p.add_argument("--models-dir", default=None,
                   help="models dir for downloads and your manifest (default: $DREAMROOMS_MODELS or the platform cache)")
    sub = p.add_subparsers(dest="models_cmd", metavar="ACTION")

    pl = sub.add_parser("list", help="name, kind, installed?, size, license of every known model")
    pl.add_argument("--kind", choices=KINDS, help="only this kind")
    pl.add_argument("--json", action="store_true", help="print JSON instead of a table")
    pl.set_defaults(func=run_list)

    pf = sub.add_parser("fetch", help="download a public model into the models dir (resumable, sha256-verified)")
    pf.add_argument("name", help="a model name from `dreamrooms models list`")
    pf.add_argument("--allow-unverified", action="store_true",
                    help="accept a download whose sha256 the manifest does not give (prints the hash it got)")
    pf.add_argument("--url", default=None,
                    help="download from this URL instead of the manifest's (a mirror); for a model made of several "
                         "files (graph + external data) a URL ending in / is the folder they are all in")
    pf.set_defaults(func=run_fetch)

    pa = sub.add_parser("add", help="register your own ONNX file (its I/O is checked first)")
    pa.add_argument("path", help="path to the .onnx file")
    pa.add_argument("--kind", required=True, choices=KINDS)
    pa.add_argument("--name", default=None, help="model name (default: the file name without .onnx)")
    pa.add_argument("--copy", action="store_true", help="copy the file into the models dir (default: use it in place)")
    pa.add_argument("--force", action="store_true", help="replace an existing user entry of that name")
    pa.add_argument("--license", default="", help="licence text to record")
    g = pa.add_argument_group("depth and mask models (what is left out is inferred from the file)")
    g.add_argument("--input-name", default=None)
    g.add_argument("--output-name", default=None)
    g.add_argument("--size", type=int, nargs=2, metavar=("H", "W"), help="fixed input size (the frame is squashed to it)")
    g.add_argument("--multiple-of", type=int, default=None, help="input sides must be a multiple of N")
    g.add_argument("--target", type=int, default=None, help="target side in pixels (with --multiple-of)")
    g.add_argument("--resize", choices=RESIZE_POLICIES, default=None)
    g.add_argument("--interpolation", choices=INTERPOLATIONS, default=None, help="how the frame is resized for the network")
    g.add_argument("--input-range", type=float, nargs=2, metavar=("LO", "HI"), default=None,
                   help="what pixel values 0 and 1 become before --mean/--std (default 0 1; 0 255 for 8-bit style input)")
    g.add_argument("--mean", type=float, nargs=3, default=None, help="subtracted per channel, in --input-range units")
    g.add_argument("--std", type=float, nargs=3, default=None, help="divided by per channel, in --input-range units")
    g.add_argument("--normalization-in-graph", action="store_true", help="the graph normalises 0..1 input itself")
    g.add_argument("--semantics", choices=DEPTH_SEMANTICS, default=None, help="depth: what the output means")
    g.add_argument("--output-activation", choices=MATTE_ACTIVATIONS, default=None,
                   help="mask: none (the output is already a 0..1 matte) or sigmoid (logits); default: probed")
    g2 = pa.add_argument_group("generators")
    g2.add_argument("--latent-input", default="z")
    g2.add_argument("--latent-dim", type=int, default=None)
    g2.add_argument("--mapping-input", default="")
    g2.add_argument("--grid-input", default="")
    g2.add_argument("--native-size", type=int, nargs=2, metavar=("H", "W"), default=None)
    g2.add_argument("--gen-output", default="image")
    g2.add_argument("--output-range", type=float, nargs=2, default=None, metavar=("LO", "HI"),
                    help="the output values that mean 0 and 1 (generators: the image; masks: the matte; default 0 1)")
    pa.set_defaults(func=run_add)

    p.set_defaults(func=lambda args: (p.print_help(sys.stderr), 2)[1])


def _human(n: int) -> str:
    if not n:
        return "?"
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


def _total_size(e) -> int:
    """Bytes of every file of the model (graph + external data): on disk when installed, else the manifest's."""
    if e.installed:
        return sum(p.stat().st_size for p in [e.path, *e.data_paths])
    return e.size + sum(int(d.get("size", 0)) for d in e.raw.get("data", []))


def run_list(args) -> int:
    entries = [e for e in list_models(args.models_dir) if not args.kind or e.kind == args.kind]
    if args.json:
        print(json.dumps([{"name": e.name, "kind": e.kind, "installed": e.installed, "builtin": e.builtin,
                           "size": _total_size(e), "license": e.license,
                           "sha256": e.sha256, "path": str(e.path), "url": e.url,
                           "noncommercial": e.noncommercial} for e in entries], indent=2))
        return 0
    rows = [("NAME", "KIND", "STATUS", "SIZE", "LICENSE")]
    for e in entries:
        if e.installed:
            status = "built-in" if e.builtin else "installed"
        else:
            status = "fetchable" if e.url else "missing"
        size = _total_size(e)
        lic = e.license + (" (non-commercial)" if e.noncommercial and "NC" not in e.license else "")
        rows.append((e.name, e.kind, status, _human(size), lic))
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    print(f"\nmodels dir: {models_dir(args.models_dir)}")
    return 0


def run_fetch(args) -> int:
    from dreamrooms.models.download import fetch  # urllib/ssl: only when fetching

    entry = fetch(args.name, models_dir_override=args.models_dir, allow_unverified=args.allow_unverified,
                  url=args.url)
    print(f"{entry.name}: {entry.path}")
    return 0


def run_add(args) -> int:
    from dreamrooms.models.user import ModelIO, add_model

    inp = out = gen = mask = None
    if args.kind in ("depth", "mask"):
        explicit = any(v is not None for v in (args.size, args.multiple_of, args.mean, args.std, args.input_name,
                                                args.output_name, args.semantics, args.resize, args.target,
                                                args.interpolation, args.input_range, args.output_activation,
                                                args.output_range)) \
            or args.normalization_in_graph
        if explicit:
            inferred = infer_entry(Path(args.path).expanduser(), args.kind)
            inp = dict(inferred.input)
            out = dict(inferred.output)
            mask = dict(inferred.raw.get("mask", {})) if args.kind == "mask" else None
            if args.interpolation:
                inp["interpolation"] = args.interpolation
            if args.input_range:
                inp["range"] = list(args.input_range)
            if args.output_activation and mask is not None:
                mask["activation"] = args.output_activation
            if args.output_range and args.kind == "mask":
                out["range"] = list(args.output_range)
            if args.input_name is not None:
                inp["name"] = args.input_name
            if args.size:
                inp.pop("multiple_of", None)
                inp.pop("target", None)
                inp["size"] = list(args.size)
                inp["resize"] = "fixed"
            if args.multiple_of is not None:
                inp.pop("size", None)
                inp["multiple_of"] = args.multiple_of
                inp["target"] = args.target or inp.get("target", 384)
                inp["resize"] = args.resize or "lower_bound"
            elif args.target is not None:
                inp["target"] = args.target
            if args.resize and "size" not in inp:
                inp["resize"] = args.resize
            if args.normalization_in_graph:
                inp.pop("mean", None)
                inp.pop("std", None)
                inp["normalization_in_graph"] = True
            if args.mean:
                inp["mean"] = list(args.mean)
            if args.std:
                inp["std"] = list(args.std)
            if args.output_name is not None:
                out["name"] = args.output_name
            if args.semantics:
                out["semantics"] = args.semantics
    elif args.kind == "generator":
        if args.latent_dim is None:
            raise ModelError("--latent-dim N is required for a generator")
        gen = {"latent_input": args.latent_input, "latent_dim": args.latent_dim,
               "mapping_input": args.mapping_input, "grid_input": args.grid_input,
               "output": args.gen_output, "output_range": list(args.output_range or [0.0, 1.0]),
               "output_colorspace": "srgb",
               "truncation_mean": ""}
        if args.native_size:
            gen["native_size"] = list(args.native_size)
    entry = add_model(args.path, kind=args.kind, name=args.name, copy=args.copy, models_dir_override=args.models_dir,
                      io=ModelIO(input=inp, output=out, mask=mask, generator=gen), license=args.license,
                      force=args.force)
    print(f"added {entry.name} ({entry.kind}): {entry.path}")
    return 0
