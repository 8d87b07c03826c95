"""`dreamrooms depth`: depth for whole sequences into a shot (the stage itself is dreamrooms.depth.pipeline)."""
from __future__ import annotations

import argparse

from dreamrooms.cluster import plan as cluster
from dreamrooms.depth import stabilize as stab
from dreamrooms.depth.pipeline import estimate_sequence
from dreamrooms.models.runtime import DEVICES
from pathlib import Path

from dreamrooms.errors import DepthError, DreamroomsError
from dreamrooms.shot import Shot, exr
from dreamrooms.shot.fit import FIT_MODES, Fit
from dreamrooms.shot.frames import IMAGE_EXTS
from dreamrooms.shot.paths import path_arg
from dreamrooms.shot.sources import FileListSource, image_files, one_sequence, open_source, pattern_files


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "depth", help="estimate depth for a shot, video, image sequence or folder into a shot folder",
        description="Estimate depth for every frame (streamed, batched, temporally stabilised) and write "
                    "layers/NAME.####.exr (RGBA + depth.Z) and depth/NAME.####.exr (Y) into --out. "
                    "depth is distance along the camera axis, larger is farther: the first frame's near end "
                    "(98th percentile) is at --near and its far end (2nd percentile) at --far. "
                    "A rerun resumes at the first missing frame.")
    p.add_argument("input", help="shot folder, video file, image-sequence pattern (frames/img.####.png) or folder of images")
    p.add_argument("--model", default=None,
                   help="depth model name (see `dreamrooms models list`) or path to an .onnx file; default: the best "
                        "installed (a fetched Depth Anything / MoGe / video model before the built-in tinydepth, "
                        "never a non-commercial one)")
    p.add_argument("--out", required=True, type=path_arg, help="output shot folder (created, or an existing shot to add depth to)")
    p.add_argument("--stabilize", choices=stab.MODES, default="keyframe",
                   help="temporal stabilisation: keyframe (robust alignment + motion-aware filter, default), "
                        "ema (cheap smoothing), off (each frame on its own)")
    p.add_argument("--size", type=int, default=None, help="model input size (short side for lower_bound models); default: the manifest's target")
    p.add_argument("--batch", type=int, default=2, help="frames per inference call (default 2)")
    p.add_argument("--device", choices=DEVICES, default="auto", help="ONNX Runtime device (default auto)")
    p.add_argument("--threads", type=int, default=None, help="inference threads (default: all cores for real networks, half for tiny ones like tinydepth)")
    p.add_argument("--frames", default=None, help="frame range A-B (inclusive) of the input")
    p.add_argument("--preview", action="store_true", help="also write preview/NAME_depth.####.png (16-bit, white = near)")
    p.add_argument("--near", type=float, default=1.0, help="depth of the near end of the first frame (default 1)")
    p.add_argument("--far", type=float, default=10.0, help="depth of the far end of the first frame (default 10)")
    p.add_argument("--fps", type=float, default=None, help="frame rate for image inputs (default: video's, or 24)")
    p.add_argument("--name", default=None, help="name of the sequences (default: the input's name)")
    p.add_argument("--compression", choices=sorted(exr.COMPRESSIONS), default=exr.DEFAULT_COMPRESSION,
                   help=f"EXR compression (default {exr.DEFAULT_COMPRESSION}: lossless, the fastest to write by bench/exr_codecs.py)")
    p.add_argument("--overwrite", action="store_true", help="recompute frames that are already complete")
    p.add_argument("--fit", default=None, metavar="WxH",
                   help="bring images of mixed sizes to WxH (default: refused); see --fit-mode")
    p.add_argument("--fit-mode", choices=FIT_MODES, default="pad",
                   help="pad: scale to fit inside and add black bars (default); crop: scale to cover and centre-crop")
    p.add_argument("--as-clip", action="store_true",
                   help="a folder of differently named images is one clip (default: independent stills, nothing "
                        "temporal crosses from one to the next)")
    p.add_argument("--split", action="store_true",
                   help="one shot per image: --out/NAME for each photo of the folder (the start of a 3D-photo move)")
    cluster.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    fit = Fit.parse(args.fit, args.fit_mode)
    model = args.model or choose_model(args.input)
    if model == FALLBACK and not _is_generated(args.input):
        print(TINYDEPTH_NOTE)
    if args.split:
        return _split(args, model, fit)
    opts = dict(stabilize=args.stabilize, size=args.size, batch=args.batch, device=args.device, preview=args.preview,
                near=args.near, far=args.far, overwrite=args.overwrite, compression=args.compression, fps=args.fps,
                name=args.name)
    address = cluster.cluster_address(args)
    if address is not None:
        from dreamrooms.cluster.depth import depth_on_cluster

        if fit is not None or args.as_clip:
            raise DepthError("--fit and --as-clip work on this machine only; leave out --ray (or --fit) for this input")
        res, written = depth_on_cluster(args.input, model, args.out, address=address, chunk=args.chunk,
                                        frames=args.frames, **opts)
        print(f"depth: {written} frame(s) written on the cluster; model input {res.net_size[1]}x{res.net_size[0]}; "
              f"shot {args.out}")
        return 0
    src = open_source(args.input, fps=args.fps, fit=fit, as_clip=args.as_clip)
    res = estimate_sequence(src, model, args.out, frames=args.frames, threads=args.threads, **opts)
    shot = res.shot
    _report(res, args.out, src)
    if not res.registered:
        print(f"depth: not every frame of the shot ({shot.frame_start}-{shot.frame_end}) has depth yet; "
              f"run again without --frames to finish before stages can use it")
    return 0


def _report(res, out, src) -> None:
    note = f", {res.skipped} already complete" if res.skipped else ""
    print(f"depth: {len(res.processed)} frame(s) written{note}; model input {res.net_size[1]}x{res.net_size[0]} "
          f"on {res.provider or 'CPU'}; shot {out}")
    if src.fit is not None:
        print(f"depth: every image fitted to {src.fit.describe()}")
    cuts = res.stats.get("cuts") or res.shot.cuts
    if res.shot.is_stills and res.shot.frame_count > 1:
        print(f"depth: {res.shot.frame_count} independent stills (nothing temporal crosses from one to the next; "
              f"--as-clip reads them as one clip)")
    elif cuts:
        print(f"depth: {len(cuts)} cut(s) at frame(s) {', '.join(map(str, cuts))}: each segment starts afresh")


def _split(args: argparse.Namespace, model: str, fit) -> int:
    """One shot per image of a folder (or pattern): OUT/<image name>."""
    from dreamrooms.shot.frames import sequence_name

    p = Path(args.input)
    if p.is_dir() and not (p / "shot.json").is_file():
        files = image_files(p)
    elif "#" in p.name or "%" in p.name:
        files = pattern_files(args.input)[0]
    else:
        files = []
    if not files:
        raise DepthError(f"{args.input}: --split needs a folder of images or an image pattern (not a video or a shot)")
    if args.frames or cluster.cluster_address(args) is not None:
        raise DepthError("--split makes one shot per image: leave out --frames and --ray")
    names = [sequence_name(f.stem) for f in files]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise DepthError(f"{args.input}: two images make the shot name {dup!r}; rename one of them")
    for f, name in zip(files, names):
        one = FileListSource([f], [1], str(f), args.fps, fit=fit)
        res = estimate_sequence(one, model, Path(args.out) / name, stabilize=args.stabilize, size=args.size,
                                batch=args.batch, device=args.device, preview=args.preview, near=args.near,
                                far=args.far, overwrite=args.overwrite, compression=args.compression, fps=args.fps,
                                name=name, threads=args.threads)
        print(f"depth: {f.name} -> {Path(args.out) / name} ({res.shot.width}x{res.shot.height}, "
              f"{len(res.processed)} frame written)")
    return 0


# ---- which model runs when none is named ----------------------------------------------------------------
# Public depth models in the order `depth` prefers them when installed (fetched): the video model keeps a clip
# steady; MoGe-2 gives metric depth and the lens; then the relative models. Never a non-commercial one.
PREFERRED = ("video-depth-anything-small", "moge-2-vits", "depth-anything-v2-small", "distill-any-depth-small",
             "depth-anything-3-small", "midas-v21-small")
FALLBACK = "tinydepth"
FETCH_HINT = "depth-anything-v2-small"
TINYDEPTH_NOTE = (f"depth: {FALLBACK} is the offline model for generated material (walks); on real photos and footage "
                  f"its depth is poor: fetch a model for them once with `dreamrooms models fetch {FETCH_HINT}`")


def choose_model(source: str, models_dir=None) -> str:
    """The best installed depth model for `source` (printed with why), else tinydepth with the one command that
    fetches a model for real footage. A video model is skipped for one image or a folder of photos."""
    from dreamrooms.models.registry import registry

    reg = registry(models_dir)
    single = _is_stills(source)
    for name in PREFERRED:
        e = reg.get(name)
        if e is None or e.kind != "depth" or e.noncommercial or not e.installed:
            continue
        if single and e.raw.get("video"):
            continue
        print(f"depth: using {name}, the best depth model installed ({e.license}); --model picks another")
        return name
    print(f"depth: using {FALLBACK} (no public depth model is installed); --model picks another")
    return FALLBACK


def _is_stills(source: str) -> bool:
    p = Path(source)
    if p.is_file() and p.suffix.lower() in IMAGE_EXTS:
        return True
    if p.is_dir() and not (p / "shot.json").is_file():
        return not one_sequence(image_files(p))
    return False


def _is_generated(source: str) -> bool:
    """A shot made by `dreamrooms walk` (a generator in its provenance): what tinydepth was trained for."""
    p = Path(source)
    if not (p / "shot.json").is_file():
        return False
    try:
        shot = Shot.load(p, check_files=False)
    except DreamroomsError:
        return False
    return any(m.get("kind") == "generator" for m in shot.provenance.models)
