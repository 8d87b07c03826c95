"""GPU readiness on a CUDA machine: the depth network end to end at 1080p, and a Cycles GPU render of the plane.

Its own environment (`onnxruntime-gpu` cannot sit beside the locked `onnxruntime` in .venv):

    python3.11 -m venv .venv-gpu && .venv-gpu/bin/pip install -r bench/gpu-requirements.txt
    PYTHONPATH=core .venv-gpu/bin/python bench/gpu.py

Rows (merged into bench/REPORT.md, replacing earlier `gpu ...` rows):
* depth: the Depth Anything V2 Small-shape network (ViT-S/14 DPT, random weights, bench/_vits_dpt.py) on 1080p
  frames end to end as the stage does it (decode PNG, resize to 518x924, inference, upsample, both EXRs written
  on writer threads), inference through the CUDA provider with I/O binding (input copied into one device buffer,
  output kept on the device until read), against a bare `session.run` loop over pre-made inputs.
* render: `dreamrooms room --render --device gpu` of the 1080p plane (bench/render_plane.py's shot) against the
  minimal bpy plane on the GPU.
Without a CUDA device (no CUDAExecutionProvider, or it cannot start) it says so, measures nothing and exits 0.
Sources: ONNX Runtime I/O binding, https://onnxruntime.ai/docs/performance/tune-performance/iobinding.html and
https://onnxruntime.ai/docs/api/python/api_summary.html (io_binding, bind_ortvalue_input, OrtValue.update_inplace).
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
NET_HW = (518, 924)        # 16:9 at DA-V2's 518 short side, multiples of 14
FRAMES = 24


def cuda_reason() -> str | None:
    """None when ONNX Runtime can run on CUDA here, else why not (one line)."""
    try:
        import onnxruntime as ort
    except ImportError:
        return "onnxruntime is not installed in this environment (see the docstring for .venv-gpu)"
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        return (f"onnxruntime {ort.__version__} has no CUDAExecutionProvider (providers: "
                f"{', '.join(ort.get_available_providers())}); install onnxruntime-gpu in .venv-gpu")
    try:
        if subprocess.run(["nvidia-smi", "-L"], capture_output=True, timeout=20).returncode != 0:
            return "nvidia-smi finds no CUDA device"
    except (OSError, subprocess.TimeoutExpired):
        return "no nvidia-smi: no CUDA driver on this machine"
    return None


def depth_rows(tmp: Path) -> list[dict]:
    import numpy as np
    import onnxruntime as ort
    import cv2

    import _vits_dpt as vits
    from _report import result
    from dreamrooms.shot.exr import SequenceWriter

    model = vits.export(tmp / "vits.onnx", side=NET_HW[0])
    sess = ort.InferenceSession(str(model), providers=["CUDAExecutionProvider", "CPUExecutionProvider"])
    h, w = NET_HW
    rng = np.random.default_rng(0)
    pngs = []
    for i in range(FRAMES):
        p = tmp / f"f.{i:04d}.png"
        cv2.imwrite(str(p), rng.integers(0, 255, (1080, 1920, 3), np.uint8))
        pngs.append(p)
    x0 = np.zeros((1, 3, h, w), np.float32)
    dev_in = ort.OrtValue.ortvalue_from_numpy(x0, "cuda", 0)
    io = sess.io_binding()
    io.bind_ortvalue_input("pixel_values", dev_in)
    io.bind_output("predicted_depth", "cuda", 0)
    mean, std = np.array([0.485, 0.456, 0.406], np.float32), np.array([0.229, 0.224, 0.225], np.float32)

    def ours():
        with SequenceWriter() as wr:
            for i, p in enumerate(pngs):
                rgb = cv2.cvtColor(cv2.imread(str(p)), cv2.COLOR_BGR2RGB)
                x = ((cv2.resize(rgb, (w, h), interpolation=cv2.INTER_AREA).astype(np.float32) / 255 - mean) / std)
                dev_in.update_inplace(np.ascontiguousarray(x.transpose(2, 0, 1)[None]))
                sess.run_with_iobinding(io)
                d = cv2.resize(io.copy_outputs_to_cpu()[0][0], (1920, 1080), interpolation=cv2.INTER_LINEAR)
                lin = (rgb.astype(np.float32) / 255) ** 2.2
                wr.submit(tmp / f"layers.{i:04d}.exr", {"RGBA": np.dstack([lin, np.ones_like(d)]), "depth.Z": d})
                wr.submit(tmp / f"depth.{i:04d}.exr", {"Y": d})

    xs = [rng.standard_normal((1, 3, h, w)).astype(np.float32) for _ in range(4)]

    def bare():
        for i in range(FRAMES):
            sess.run(None, {"pixel_values": xs[i % 4]})

    times = {}
    for name, fn in (("ours", ours), ("bare", bare)):
        fn()
        runs = []
        for _ in range(3):
            t = time.perf_counter()
            fn()
            runs.append(time.perf_counter() - t)
        times[name] = statistics.median(runs)
    return [result("gpu depth ViT-S/14 DPT 1080p end to end (CUDA, I/O binding) vs bare session.run",
                   FRAMES / times["ours"], FRAMES / times["bare"], "bare session.run loop (CUDA)", "frames/s", 0.9,
                   note=f"{FRAMES} frames 1920x1080 -> {w}x{h} net, decode + EXR writes included in ours")]


def render_rows(tmp: Path) -> list[dict]:
    import render_plane as rp
    from _report import result

    for name in ("ours", "peer"):
        rp.write_shot(tmp / name)
    ours, _ = rp.timed([sys.executable, "-m", "dreamrooms", "room", str(tmp / "ours"), "--layout", "plane",
                        "--move", "dolly_in", "--render", "--no-save", "--device", "gpu"])
    peer, _ = rp.timed([sys.executable, str(BENCH / "_minimal_plane.py"), str(tmp / "peer"), str(rp.FRAMES), "gpu"])
    return [result("gpu render_plane 1080p (Cycles GPU) vs minimal bpy render", ours, peer,
                   "minimal bpy plane on the GPU", "s", 1 / 1.3, higher_is_better=False,
                   note=f"{rp.FRAMES} frames 1920x1080, dolly 1 m")]


def merge_into_report(rows: list[dict]) -> None:
    """Replace the `gpu ...` rows of bench/REPORT.json and rewrite bench/REPORT.md from it."""
    import run_all
    store = BENCH / "REPORT.json"
    old = json.loads(store.read_text()) if store.is_file() else []
    kept = [r for r in old if not str(r.get("benchmark", "")).startswith("gpu")]
    run_all.save(kept + rows)


def main() -> int:
    reason = cuda_reason()
    if reason is not None:
        print(f"gpu: no device: {reason}; nothing measured (run it on a CUDA machine, see its docstring)")
        print(f"BENCH_SKIP no CUDA device: {reason}")
        return 0
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        rows += depth_rows(Path(tmp))
    try:
        import bpy  # noqa: F401
        with tempfile.TemporaryDirectory() as tmp:
            rows += render_rows(Path(tmp))
    except ImportError:
        print("gpu: no bpy in this environment: the Cycles GPU row is skipped (pip install bpy==5.0.1 into .venv-gpu)")
    merge_into_report(rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
