"""Depth images at the network's size and back: network input size, preprocessing, edge-aware upsampling."""
from __future__ import annotations

import numpy as np

from dreamrooms.errors import DepthError
from dreamrooms.models.contracts import network_size as contract_network_size


def network_size(inp: dict, height: int, width: int, size: int | None = None) -> tuple[int, int]:
    """Model input (H, W) for a source frame per the manifest entry (`size` overrides its `target`)."""
    spec = dict(inp)
    if size is not None:
        if "size" in spec:
            raise DepthError(f"--size {size}: this model takes a fixed {spec['size'][1]}x{spec['size'][0]} input; "
                             f"leave --size out")
        spec["target"] = int(size)
    return contract_network_size(spec, height, width)


INTERPOLATIONS = ("cubic", "linear", "area", "cubic_up_area_down")


def resize_for_network(srgb: np.ndarray, net_hw: tuple[int, int], interpolation: str = "") -> np.ndarray:
    """The frame at the network size with the entry's `interpolation` (what its authors resize with:
    Depth Anything V2 and MiDaS INTER_CUBIC, Depth Anything 3 cubic when enlarging and area when shrinking);
    without one, area when shrinking and linear when enlarging."""
    import cv2

    nh, nw = net_hw
    if (nh, nw) == srgb.shape[:2]:
        return srgb
    flag = {"cubic": cv2.INTER_CUBIC, "linear": cv2.INTER_LINEAR, "area": cv2.INTER_AREA}
    return cv2.resize(srgb, (nw, nh), interpolation=flag[resize_mode(srgb.shape[:2], net_hw, interpolation)])


def resize_mode(src_hw: tuple[int, int], net_hw: tuple[int, int], interpolation: str = "") -> str:
    """How :func:`resize_for_network` resizes a frame of `src_hw` to `net_hw`: cubic, linear or area."""
    shrink = net_hw[0] <= src_hw[0] and net_hw[1] <= src_hw[1]
    mode = interpolation or ("area" if shrink else "linear")
    if mode == "cubic_up_area_down":
        mode = "area" if shrink else "cubic"
    if mode not in ("cubic", "linear", "area"):
        raise DepthError(f"input.interpolation {interpolation!r}; use one of {', '.join(INTERPOLATIONS)}")
    return mode


def preprocess(srgb: np.ndarray, net_hw: tuple[int, int], inp: dict) -> tuple[np.ndarray, np.ndarray]:
    """sRGB 0..1 HxWx3 -> (the network input, CHW float32 at the network size, and the resized sRGB HxWx3).

    The one preprocessing of every depth model (the stage, the benchmarks and the tests use it): resize as the
    entry says (:func:`resize_for_network`), map to the entry's input range, then ImageNet-style mean/std unless
    the graph normalises itself (``normalization_in_graph``: MiDaS's release, MoGe-2, tinydepth)."""
    x = resize_for_network(srgb, net_hw, inp.get("interpolation", ""))
    small = x
    lo, hi = inp.get("range", [0.0, 1.0])
    if (lo, hi) != (0.0, 1.0):
        x = x * np.float32(hi - lo) + np.float32(lo)
    if not inp.get("normalization_in_graph", False):
        x = (x - np.asarray(inp["mean"], np.float32)) * (1.0 / np.asarray(inp["std"], np.float32))
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32), small


# ---- edge-aware upsampling ---------------------------------------------------------------------------
_CHUNK = 16384   # selected pixels weighed at a time: every temporary of a chunk stays in the core's cache


def joint_bilateral_upsample(low: np.ndarray, guide: np.ndarray, sigma_spatial: float = 0.8,
                             sigma_range: float = 0.05, support: int = 3, flat: float = 0.005,
                             guide_low: np.ndarray | None = None) -> np.ndarray:
    """Upsample `low` (h x w) to the guide's size (H x W x C sRGB 0..1, or H x W) by joint bilateral upsampling
    (Kopf et al. 2007): every output pixel averages the `support` x `support` nearest low-resolution values,
    weighted by their distance and by how similar the guide's colour there is to the guide's colour at the
    output pixel.  `guide_low`: the guide already area-resized to h x w, when the caller has it (the stage's
    network input often is exactly that), so it is not resized again.

    Values only mix with neighbours of the same colour, so depth edges snap to the image's edges (silhouettes
    stay sharp) and, unlike a guided filter, image texture is never copied into the depth.  Where the low-res
    map is locally linear (within `flat`, relative) there is no edge to place and bilinear interpolation gives
    the same answer, so only the pixels near depth edges pay for the bilateral weights.
    """
    import cv2

    low = np.asarray(low, np.float32)
    g = np.asarray(guide, np.float32)
    if g.ndim == 2:
        g = g[..., None]
    H, W, C = g.shape
    h, w = low.shape
    if (h, w) == (H, W):
        return low
    out = cv2.resize(low, (W, H), interpolation=cv2.INTER_LINEAR)
    # a depth edge bends the map; planes are linear in inverse depth and bilinear interpolation is exact there
    bend = np.abs(low - cv2.blur(low, (3, 3), borderType=cv2.BORDER_REPLICATE))
    k = np.ones((support + 1, support + 1), np.uint8)
    edge_lo = cv2.dilate((bend > flat * np.abs(low) + 1e-12).astype(np.uint8), k) > 0
    if not edge_lo.any():
        return out
    # output pixel centres in low-res pixel coordinates
    ys = (np.arange(H, dtype=np.float32) + 0.5) * np.float32(h / H) - 0.5
    xs = (np.arange(W, dtype=np.float32) + 0.5) * np.float32(w / W) - 0.5
    y0, x0 = np.floor(ys).astype(np.int32), np.floor(xs).astype(np.int32)
    yn, xn = np.clip(np.rint(ys).astype(np.int32), 0, h - 1), np.clip(np.rint(xs).astype(np.int32), 0, w - 1)
    # columns first on the small mask, then whole rows (a row copy): the output pixels near a low-res edge
    sel = np.flatnonzero(edge_lo.take(xn, axis=1).take(yn, axis=0))
    if sel.size == 0:
        return out
    sel_y, sel_x = np.divmod(sel, W)
    if guide_low is None or np.shape(guide_low)[:2] != (h, w):
        guide_low = cv2.resize(g, (w, h), interpolation=cv2.INTER_AREA)
    gl = np.asarray(guide_low, np.float32).reshape(h * w, C)
    gl_planes = [np.ascontiguousarray(gl[:, c]) for c in range(C)]
    gs = g.reshape(H * W, C).take(sel, axis=0)      # guide colour at each selected pixel (whole rows: fast)
    gs_planes = [np.ascontiguousarray(gs[:, c]) for c in range(C)]
    offsets = range(-(support // 2) + (1 if support % 2 == 0 else 0), support // 2 + 1)
    inv_s = np.float32(-0.5 / sigma_spatial ** 2)
    # the spatial Gaussian is separable: per tap row (column), the flat row offset (column) and its weight
    rows = [((np.clip(y0 + d, 0, h - 1).astype(np.intp) * w).take(sel_y),
             np.exp((ys - (y0 + d)) ** 2 * inv_s).take(sel_y)) for d in offsets]
    cols = [(np.clip(x0 + d, 0, w - 1).astype(np.intp).take(sel_x), np.exp((xs - (x0 + d)) ** 2 * inv_s).take(sel_x))
            for d in offsets]
    res = np.empty(sel.size, np.float32)
    for a in range(0, sel.size, _CHUNK):
        part = slice(a, min(sel.size, a + _CHUNK))
        res[part] = _weigh(low.ravel(), gl_planes, [p[part] for p in gs_planes],
                           [(r[part], wy[part]) for r, wy in rows], [(c[part], wx[part]) for c, wx in cols],
                           np.float32(-0.5 / sigma_range ** 2))
    out.ravel()[sel] = res
    return out


def _weigh(low_flat: np.ndarray, gl_planes: list, gs: list, rows: list, cols: list, inv_r: np.float32) -> np.ndarray:
    """The bilateral mean of one chunk of selected pixels: per tap, the range weight of the colour difference
    times the spatial weight, summed over the taps (in place, on buffers the size of the chunk; every tap index
    is inside the low-res map, so `take(mode="clip")` only spares numpy's bounds pass)."""
    n = gs[0].size
    num, den = np.zeros(n, np.float32), np.zeros(n, np.float32)
    dist, tmp, wgt = np.empty(n, np.float32), np.empty(n, np.float32), np.empty(n, np.float32)
    tap = np.empty(n, np.intp)
    for row, wy in rows:
        for col, wx in cols:
            np.add(row, col, out=tap)
            dist.fill(0.0)
            for c in range(len(gs)):
                np.take(gl_planes[c], tap, out=tmp, mode="clip")
                np.subtract(gs[c], tmp, out=tmp)
                np.square(tmp, out=tmp)
                dist += tmp
            np.multiply(dist, inv_r, out=wgt)
            np.exp(wgt, out=wgt)
            np.multiply(wy, wx, out=tmp)
            wgt *= tmp
            wgt += np.float32(1e-20)
            den += wgt
            np.take(low_flat, tap, out=tmp, mode="clip")
            wgt *= tmp
            num += wgt
    return num / den


def bilinear_upsample(low: np.ndarray, height: int, width: int) -> np.ndarray:
    import cv2

    return cv2.resize(np.asarray(low, np.float32), (width, height), interpolation=cv2.INTER_LINEAR)

