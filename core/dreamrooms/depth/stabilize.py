"""Temporal stabilisation of per-frame relative depth, and the inverse-depth -> depth convention.

Relative depth models (MiDaS, Depth Anything, tinydepth) predict inverse depth up to an unknown scale and
shift that changes from frame to frame, plus per-pixel noise: played as a sequence the depth flickers.
Per-frame min/max normalisation hides the scale but follows the noisiest pixels of every frame.

Everything here works in *canonical inverse depth* ``u = 1 / depth`` (depth in the shot's units):

* the first frame's robust range of model inverse depth (its 2nd..98th percentile) maps linearly onto
  ``[1/far, 1/near]``, so the 98th-percentile-closest pixel lands at ``near`` and the 2nd-percentile-farthest
  at ``far`` (defaults 1 and 10);
* ``keyframe`` (default): each frame's scale and shift are fitted to a reference keyframe by least squares
  on the inliers of a median/MAD fit (robust statistics, never min/max); the keyframe is refreshed from the
  stabilised output every ``interval`` frames (and at cuts) so long clips do not drift; then a per-pixel
  Kalman filter with an innovation gate averages noise where the depth holds still and lets moving edges
  through at once;
* ``ema``: the scale and shift come from matching the median and MAD to the previous output, then a plain
  per-pixel exponential moving average (cheap; lags behind fast motion);
* ``off``: every frame on its own, mapped by its own 2nd..98th percentiles.

``depth = 1 / u``, clamped to ``[near / 4, 4 * far]``.
"""
from __future__ import annotations

import numpy as np

from dreamrooms.memo import last_call

MODES = ("keyframe", "ema", "off")
LOW_Q, HIGH_Q = 2.0, 98.0
CLAMP = 4.0
_MAD = 1.4826


def robust_range(v: np.ndarray) -> tuple[float, float]:
    """(2nd, 98th) percentile of a map (large maps on a strided subsample: fast, and enough for percentiles)."""
    sub = v[::2, ::2] if v.ndim == 2 and v.size > 400_000 else v
    lo, hi = np.percentile(sub, (LOW_Q, HIGH_Q))
    return float(lo), float(hi)


def range_mapping(lo: float, hi: float, near: float, far: float) -> tuple[float, float]:
    """Scale/shift taking model inverse depth `hi` to 1/near and `lo` to 1/far."""
    span = hi - lo
    if not np.isfinite(span) or span <= 1e-12 * max(1.0, abs(hi)):
        return 0.0, 0.5 * (1.0 / near + 1.0 / far)  # a flat prediction: everything mid-range
    s = (1.0 / near - 1.0 / far) / span
    return s, 1.0 / far - s * lo


def to_depth(u: np.ndarray, near: float, far: float) -> np.ndarray:
    """Canonical inverse depth -> depth (larger is farther), clamped to [near/CLAMP, far*CLAMP]."""
    u = np.clip(u, 1.0 / (far * CLAMP), CLAMP / near)
    if u.dtype == np.float32:    # in place on the clipped copy: no third full-size array
        return np.divide(1.0, u, out=u)
    return (1.0 / u).astype(np.float32)


def to_inverse(depth: np.ndarray) -> np.ndarray:
    """Depth as written -> canonical inverse depth (to seed a resumed run)."""
    return (1.0 / np.maximum(np.asarray(depth, np.float64), 1e-12)).astype(np.float32)


def minmax_normalise(v: np.ndarray, near: float = 1.0, far: float = 10.0) -> np.ndarray:
    """The baseline the stabiliser is measured against: per-frame min..max onto [1/far, 1/near]."""
    s, t = range_mapping(float(v.min()), float(v.max()), near, far)
    return (s * v + t).astype(np.float32)


def median_mad(x: np.ndarray) -> tuple[float, float]:
    m = float(np.median(x))
    return m, float(np.median(np.abs(x - m)))


def robust_affine(src: np.ndarray, ref: np.ndarray, iterations: int = 3, k: float = 2.5,
                  noise_ratio: float | None = None) -> tuple[float, float, float]:
    """Scale s and shift t with s*src + t ~ ref: median/MAD start, then a line fit on the inliers.

    Returns (s, t, inlier_fraction).  Pixels whose residual is more than `k` robust sigmas from the median
    residual (occlusions, moving objects, model blunders) do not pull the fit.  Both maps are noisy, so the
    line is fitted by Deming regression with `noise_ratio` = noise variance of ref / noise variance of src
    (ordinary least squares, `None`, shrinks the scale by the noise in `src`: chained over keyframes that
    bias would make long clips drift).
    """
    a = np.asarray(src, np.float64).ravel()
    b = np.asarray(ref, np.float64).ravel()
    ma, sa = median_mad(a)
    mb, sb = median_mad(b)
    s = sb / sa if sa > 1e-12 else 1.0
    t = mb - s * ma
    inl = np.ones(a.shape, bool)
    for _ in range(iterations):
        r = s * a + t - b
        mr, sr = median_mad(r)
        thr = k * _MAD * sr + 1e-12
        inl = np.abs(r - mr) <= thr
        n = int(inl.sum())
        if n < 16:
            break
        x, y = a[inl], b[inl]
        xm, ym = x.mean(), y.mean()
        sxx = float(((x - xm) ** 2).sum())
        sxy = float(((x - xm) * (y - ym)).sum())
        if sxx <= 1e-20 or abs(sxy) <= 1e-30:
            break
        if noise_ratio is None:
            s = sxy / sxx
        else:
            syy = float(((y - ym) ** 2).sum())
            dd = float(noise_ratio)
            s = (syy - dd * sxx + np.sqrt((syy - dd * sxx) ** 2 + 4 * dd * sxy * sxy)) / (2 * sxy)
        t = float(ym - s * xm)
    return s, t, float(inl.mean())


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, np.float64).ravel()
    b = np.asarray(b, np.float64).ravel()
    a, b = a - a.mean(), b - b.mean()
    den = float(np.sqrt((a * a).sum() * (b * b).sum()))
    return float((a * b).sum() / den) if den > 0 else 0.0


class Stabilizer:
    """Turns each frame's raw model inverse depth into canonical inverse depth ``u`` (see module doc).

    Call it once per frame, in order, with the model's inverse depth at model resolution.  For a model
    that outputs metric depth pass ``metric=True``: ``u = 1/depth`` then, and only noise (no scale) is
    stabilised (``off`` leaves metric depth untouched).
    """

    def __init__(self, mode: str = "keyframe", near: float = 1.0, far: float = 10.0, *, interval: int = 12,
                 ema_alpha: float = 0.5, process_noise: float = 0.03, gate: float = 3.0, metric: bool = False,
                 min_inliers: float = 0.4, cut_corr: float = 0.5):
        if mode not in MODES:
            raise ValueError(f"stabilize mode {mode!r}; use one of {', '.join(MODES)}")
        if not (0 < near < far):
            raise ValueError(f"need 0 < near < far (got near={near}, far={far})")
        self.mode, self.near, self.far = mode, float(near), float(far)
        self.interval, self.ema_alpha = int(interval), float(ema_alpha)
        self.q, self.gate, self.metric, self.min_inliers = float(process_noise), float(gate), metric, min_inliers
        self.key: np.ndarray | None = None
        self.key_age = 0
        self.x: np.ndarray | None = None      # filtered estimate (canonical inverse)
        self.p: np.ndarray | None = None      # its variance, in units of the measurement noise
        self.noise: float | None = None       # measurement noise variance (running robust estimate)
        self.prev_z: np.ndarray | None = None
        self.n = 0
        self.last_fit: tuple[float, float, float] | None = None
        self.cuts = 0
        self.prev_guide: np.ndarray | None = None
        self.key_valid: np.ndarray | None = None
        self.key_raw = True
        self.cut_corr = float(cut_corr)
        self.acc: np.ndarray | None = None   # running mean of this keyframe interval's aligned frames
        self.acc_n = 0

    # -- resume ---------------------------------------------------------------------------------------
    _STATE = ("key", "key_age", "x", "p", "noise", "prev_z", "prev_guide", "key_valid", "n", "cuts", "key_raw", "acc", "acc_n")

    def get_state(self) -> dict:
        """Everything the next frame depends on (arrays copied), for an exact resume after a kill."""
        out = {}
        for k in self._STATE:
            v = getattr(self, k)
            if v is not None:
                out[k] = v.copy() if isinstance(v, np.ndarray) else np.asarray(v)
        return out

    def set_state(self, state: dict) -> None:
        for k in self._STATE:
            v = state.get(k)
            if v is None:
                setattr(self, k, None)
            elif k in ("key_age", "n", "cuts", "acc_n"):
                setattr(self, k, int(v))
            elif k == "key_raw":
                setattr(self, k, bool(v))
            elif k == "noise" and np.ndim(v) == 0:
                setattr(self, k, float(v))
            else:
                setattr(self, k, np.array(v))

    def restart(self) -> None:
        """Start afresh at a cut (:mod:`dreamrooms.shot.segments`): the next frame is mapped by its own robust
        range onto near..far and nothing of the frames before it (keyframe, filter, noise, motion) is kept."""
        for k in ("key", "x", "p", "noise", "prev_z", "prev_guide", "key_valid", "acc", "last_fit"):
            setattr(self, k, None)
        self.key_age, self.acc_n, self.key_raw = 0, 0, True

    def seed(self, u: np.ndarray, guide: np.ndarray | None = None) -> None:
        """Continue after a previous output `u` (canonical inverse at model resolution) and its grey guide."""
        self.prev_guide = guide
        self._start(np.asarray(u, np.float32))
        self.p = None

    def _start(self, z: np.ndarray) -> None:
        self.key, self.key_age, self.n, self.key_raw = z.copy(), 0, 1, True
        self.acc, self.acc_n = z.copy(), 1
        if self.mode == "keyframe":   # the filter state lives in log inverse depth
            zl = np.log(np.maximum(z, 1.0 / (self.far * CLAMP))).astype(np.float32)
            self.x, self.prev_z = zl, zl.copy()
        else:
            self.x, self.prev_z = z.copy(), z.copy()

    # -- per frame ------------------------------------------------------------------------------------
    def _first(self, v: np.ndarray) -> np.ndarray:
        if self.metric:
            return v
        s, t = range_mapping(*robust_range(v), self.near, self.far)
        return s * v + t

    def __call__(self, raw: np.ndarray, guide: np.ndarray | None = None, flow: np.ndarray | None = None) -> np.ndarray:
        """`raw`: model output at model resolution; `guide`: the frame as uint8 grey at the same size
        (see :func:`grey_guide`), used for motion compensation in ``keyframe`` mode; `flow`: the backward flow
        from the previous guide to this one when the caller computed it already (e.g. on a reader thread)."""
        v = np.asarray(raw, np.float32)
        if guide is not None and self.mode == "keyframe":
            if flow is None and self.prev_guide is not None and self.prev_guide.shape == guide.shape:
                flow = flow_between(self.prev_guide, guide)
            self.prev_guide = guide
        else:
            flow = None
        if self.metric:
            v = 1.0 / np.maximum(v, 1e-6)
        if self.mode == "off":
            self.n += 1
            return self._first(v).astype(np.float32)
        if self.x is not None and self.x.shape != v.shape:
            raise ValueError(f"frame size changed from {self.x.shape} to {v.shape} mid-sequence")
        if self.x is None:
            z = self._first(v).astype(np.float32)
            self._start(z)
            self.p = np.ones_like(z)
            return z.copy()
        if self.mode == "ema":
            out = self._ema(v)
        else:
            out = self._keyframe(v, flow)
        self.n += 1
        return out

    def _ema(self, v: np.ndarray) -> np.ndarray:
        if self.metric:
            z = v
        else:
            mv, sv = median_mad(v[::2, ::2])
            mx, sx = median_mad(self.x[::2, ::2])
            s = sx / sv if sv > 1e-12 else 1.0
            z = s * v + (mx - s * mv)
        a = self.ema_alpha
        self.x = (a * z + (1 - a) * self.x).astype(np.float32)
        return self.x.copy()

    def _keyframe_warp(self, flow: np.ndarray | None):
        """Carry the history along the image motion before comparing; returns (maps, valid), None without flow."""
        if flow is None:
            return None, None
        maps = flow_maps(flow)
        kvalid = maps[2]
        self.x = warp_with(self.x, maps)
        self.key = warp_with(self.key, maps)
        self.prev_z = warp_with(self.prev_z, maps)
        if self.p is not None:
            self.p = warp_with(self.p, maps)
        self.key_valid = kvalid if self.key_valid is None else (self.key_valid & kvalid)
        return maps, kvalid

    def _keyframe_align(self, v: np.ndarray, valid):
        """Fit ``v`` to the keyframe (a scale and shift; a cut restarts the history); returns (z, valid)."""
        kv = self.key_valid
        st = max(1, int(np.sqrt(v.size / 6000)))   # ~6k samples are plenty for two numbers
        vs, ks = v[::st, ::st], self.key[::st, ::st]
        if kv is not None:
            m = kv[::st, ::st]
            if m.mean() > 0.2:
                vs, ks = vs[m], ks[m]
        # both maps are noisy: a symmetric (orthogonal) line fit, so the scale is not shrunk by the noise
        s, t, inl = robust_affine(vs, ks, noise_ratio=1.0)
        corr = correlation(vs, ks)
        if s <= 0 or inl < self.min_inliers or corr < self.cut_corr:
            # a cut (this frame has nothing to do with the keyframe) or a broken fit: keep the scale by
            # matching distributions, and start the history afresh
            mv, sv = median_mad(v)
            mk, sk = median_mad(self.key)
            s = sk / sv if sv > 1e-12 else 1.0
            t = mk - s * mv
            self.cuts += 1
            self.p, self.noise = None, None
            z = (s * v + t).astype(np.float32)
            self.key, self.key_age, self.key_valid, self.key_raw = z.copy(), 0, None, True
            self.acc, self.acc_n = None, 0
            valid = None
        self.last_fit = (s, t, inl)
        return (s * v + t).astype(np.float32), valid

    def _keyframe_noise(self, zl: np.ndarray, valid, maps) -> np.ndarray:
        """Per-pixel measurement noise of the log map ``zl`` (updates ``noise`` and ``prev_z``)."""
        # measurement noise, per pixel: the local mean square of the frame-to-frame change of the aligned
        # maps (model noise differs across the image), floored by the robust global spread
        import cv2

        d = zl - self.prev_z
        dv = d[valid] if (valid is not None and valid.mean() > 0.2) else d
        if dv.size > 20000:
            dv = dv.ravel()[:: dv.size // 10000]
        glob = (_MAD * float(np.median(np.abs(dv - np.median(dv))))) ** 2 / 2.0
        local = cv2.blur((d * d / 2.0).astype(np.float32), (7, 7))
        if valid is not None:
            local = np.where(valid, local, glob)
        local = np.minimum(local, 16.0 * glob)          # moving edges must not count as noise
        self.noise = local if self.noise is None or np.ndim(self.noise) == 0 or self.noise.shape != local.shape \
            else 0.7 * (warp_with(self.noise, maps) if maps is not None else self.noise) + 0.3 * local
        self.prev_z = zl
        return np.maximum(self.noise, max(glob, 1e-12)).astype(np.float32)

    def _keyframe(self, v: np.ndarray, flow: np.ndarray | None) -> np.ndarray:
        maps, valid = self._keyframe_warp(flow)
        if self.metric:
            z = v
        else:
            z, valid = self._keyframe_align(v, valid)
        if self.acc is None:
            self.acc, self.acc_n = z.copy(), 1
        else:
            if flow is not None:
                self.acc = warp_with(self.acc, maps)
            self.acc_n += 1
            self.acc += (z - self.acc) / np.float32(self.acc_n)
        # The filter runs in log inverse depth, where model noise is close to additive and uniform
        # (relative-depth networks err by a fraction of the depth, not by a constant).
        floor = 1.0 / (self.far * CLAMP)
        zl = np.log(np.maximum(z, floor)).astype(np.float32)
        r = self._keyframe_noise(zl, valid, maps)
        if self.p is None:  # fresh start (a cut): nothing to compare with yet
            self.x, self.p, self.noise = zl.copy(), np.ones_like(zl), None
        else:
            p_pred = self.p + self.q
            innov = zl - self.x
            moved = innov * innov > (self.gate ** 2) * (p_pred + 1.0) * r
            if valid is not None:
                moved |= ~valid
            k = p_pred / (p_pred + 1.0)
            k = np.where(moved, 1.0, k).astype(np.float32)
            self.x = (self.x + k * innov).astype(np.float32)
            self.p = np.where(moved, 1.0, (1.0 - k) * p_pred).astype(np.float32)
        out = np.exp(self.x).astype(np.float32)
        self.key_age += 1
        if self.key_age >= self.interval:
            # the next keyframe is the plain (linear) mean of this interval's aligned measurements: aligning
            # to it again is a fixed point, so refreshes do not shift the clip's scale (the filtered output
            # averages in log space, which sits a little below it and would drift if chained)
            self.key, self.key_age, self.key_valid, self.key_raw = self.acc.copy(), 0, None, False
            self.acc, self.acc_n = None, 0
        return out


def flow_between(prev_guide: np.ndarray, guide: np.ndarray, max_side: int = 160) -> np.ndarray:
    """Backward optical flow (Farneback) HxWx2: pixel (y, x) of `guide` came from (y, x) + flow in `prev_guide`.
    Guides are uint8 grey images at the model resolution; the flow is computed at most `max_side` pixels
    wide (depth filtering needs the motion of regions, not of fine texture) and scaled back up.  Computed once
    per pair of guide objects: every matte filter and layer fill of a frame shares it (do not modify it)."""
    return _flow(prev_guide, guide, max_side)


@last_call
def _flow(prev_guide: np.ndarray, guide: np.ndarray, max_side: int) -> np.ndarray:
    import cv2

    h, w = guide.shape
    f = min(1.0, max_side / max(h, w))
    if f < 1.0:
        sw, sh = max(8, round(w * f)), max(8, round(h * f))
        a = cv2.resize(guide, (sw, sh), interpolation=cv2.INTER_AREA)
        b = cv2.resize(prev_guide, (sw, sh), interpolation=cv2.INTER_AREA)
        flow = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 3, 9, 3, 5, 1.1, 0)
        flow = cv2.resize(flow, (w, h), interpolation=cv2.INTER_LINEAR)
        flow[..., 0] *= w / sw
        flow[..., 1] *= h / sh
        return flow
    return cv2.calcOpticalFlowFarneback(guide, prev_guide, None, 0.5, 3, 13, 3, 5, 1.1, 0)


_GRID: dict = {}


def flow_maps(flow: np.ndarray):
    """Fixed-point remap tables for `flow` (computed once per frame, shared by every map warped) and the
    mask of pixels whose source lies inside the previous frame."""
    import cv2

    h, w = flow.shape[:2]
    grid = _GRID.get((h, w))
    if grid is None:
        grid = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
        _GRID.clear()
        _GRID[(h, w)] = grid
    mx, my = grid[0] + flow[..., 0], grid[1] + flow[..., 1]
    valid = (mx >= 0) & (mx <= w - 1) & (my >= 0) & (my <= h - 1)
    m1, m2 = cv2.convertMaps(mx, my, cv2.CV_16SC2)
    return m1, m2, valid


def warp_with(img: np.ndarray, maps) -> np.ndarray:
    import cv2

    return cv2.remap(np.asarray(img, np.float32), maps[0], maps[1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def grey_guide(srgb: np.ndarray) -> np.ndarray:
    """uint8 grey image for optical flow from sRGB float HxWx3."""
    import cv2

    g = cv2.cvtColor(np.asarray(srgb, np.float32), cv2.COLOR_RGB2GRAY)
    return np.clip(g * 255.0 + 0.5, 0, 255).astype(np.uint8)
