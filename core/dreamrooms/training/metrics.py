"""Depth quality metrics (numpy only): AbsRel and delta1 after affine alignment in inverse depth, and the
temporal ones for clips (flicker, one-transform alignment error).

The protocol follows the usual one for relative (affine-invariant) inverse-depth models: per image,
fit scale and shift of the prediction to the ground-truth inverse depth by least squares, convert the
aligned inverse depth to depth (clamped to the ground-truth range), then

* AbsRel = mean(|d_pred - d_gt| / d_gt)
* delta1 = fraction of pixels with max(d_pred / d_gt, d_gt / d_pred) < 1.25
"""
from __future__ import annotations

import numpy as np


def align_inverse(pred_inv: np.ndarray, gt_depth: np.ndarray) -> np.ndarray:
    """Least-squares scale+shift of ``pred_inv`` onto 1/gt_depth; returns aligned depth."""
    gt_inv = 1.0 / gt_depth.astype(np.float64)
    p = pred_inv.astype(np.float64).ravel()
    a = np.stack([p, np.ones_like(p)], axis=1)
    (s, t), *_ = np.linalg.lstsq(a, gt_inv.ravel(), rcond=None)
    aligned = (s * pred_inv.astype(np.float64) + t)
    lo, hi = gt_inv.min(), gt_inv.max()
    aligned = np.clip(aligned, lo, hi)
    return 1.0 / aligned


def depth_metrics(pred_inv: np.ndarray, gt_depth: np.ndarray) -> dict:
    """Mean AbsRel and delta1 over a batch (N,H,W) of predictions (inverse relative) and GT depths."""
    absrel, d1 = [], []
    for p, g in zip(np.asarray(pred_inv), np.asarray(gt_depth)):
        d = align_inverse(p, g)
        absrel.append(float(np.mean(np.abs(d - g) / g)))
        ratio = np.maximum(d / g, g / d)
        d1.append(float(np.mean(ratio < 1.25)))
    return {"absrel": float(np.mean(absrel)), "delta1": float(np.mean(d1))}


def constant_baseline(gt_depth: np.ndarray) -> dict:
    """The trivial predictor: the same inverse depth everywhere (aligned, it is the mean)."""
    return depth_metrics(np.zeros_like(gt_depth), gt_depth)


def run_onnx_depth(path, images: np.ndarray, batch: int = 8) -> np.ndarray:
    """Run a depth ONNX file (input NCHW sRGB 0..1) over images; returns (N,H,W) float32."""
    import onnxruntime as ort

    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    name = sess.get_inputs()[0].name
    out = []
    for k in range(0, len(images), batch):
        y = sess.run(None, {name: images[k:k + batch]})[0]
        out.append(y.reshape(y.shape[0], y.shape[-2], y.shape[-1]))
    return np.concatenate(out, 0)


# ---- clips: flicker and temporal consistency (the stabiliser's tests and the README numbers) ----------
def flicker(depths, gts=None) -> float:
    """Mean absolute frame-to-frame change of depth, relative to the mean depth (0 = perfectly steady).

    With ground truth `gts`, the clip is first put into the truth's units by ONE scale+shift fitted in
    inverse depth over all frames (see :func:`align_clip`), so methods with different output ranges are
    compared fairly."""
    depths = [np.asarray(d, np.float64) for d in depths]
    if gts is not None:
        depths = align_clip(depths, gts)
    diffs = [float(np.mean(np.abs(b - a))) for a, b in zip(depths, depths[1:])]
    ref = float(np.mean([np.mean(g) for g in gts])) if gts is not None else float(np.mean([d.mean() for d in depths]))
    return float(np.mean(diffs)) / ref


def align_clip(depths, gts) -> list[np.ndarray]:
    """Depth maps of a clip mapped onto the truth by one least-squares scale+shift in inverse depth
    (clipped to the truth's inverse-depth range)."""
    ps = [1.0 / np.asarray(d, np.float64) for d in depths]
    gs = [1.0 / np.asarray(g, np.float64) for g in gts]
    p = np.concatenate([x.ravel() for x in ps])
    gi = np.concatenate([x.ravel() for x in gs])
    A = np.stack([p, np.ones_like(p)], 1)
    (s, t), *_ = np.linalg.lstsq(A, gi, rcond=None)
    lo, hi = gi.min(), gi.max()
    return [1.0 / np.clip(s * x + t, lo, hi) for x in ps]


def absrel_per_frame(depth: np.ndarray, gt: np.ndarray) -> float:
    """AbsRel of one depth map after the usual per-frame scale+shift fit in inverse depth."""
    return depth_metrics((1.0 / np.asarray(depth, np.float64))[None], np.asarray(gt)[None])["absrel"]


def temporal_alignment_error(depths, gts) -> float:
    """AbsRel of a whole clip after ONE scale+shift (in inverse depth) fitted over all frames together:
    consistent depth over time can be mapped onto the truth with a single transform, flicker cannot."""
    gts = [np.asarray(g, np.float64) for g in gts]
    al = align_clip(depths, gts)
    return float(np.mean([np.mean(np.abs(a - g) / g) for a, g in zip(al, gts)]))
