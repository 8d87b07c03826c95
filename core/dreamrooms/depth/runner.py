"""How each kind of export is fed and read: one place that turns network inputs into the stage's predictions.

The stage works in one domain per run: relative inverse depth (stabilised and mapped to --near/--far) or metric
depth in metres.  `FrameRunner` feeds per-frame exports (4-D NCHW, or 5-D NTCHW with one view: Depth
Anything 3), adds constant inputs (MoGe-2's num_tokens), reads the extra outputs the manifest names and
converts each output semantics:

* ``inverse_relative``: as is;  ``depth_relative``: 1 / depth (depth up to scale -> inverse depth up to scale);
* ``depth_metric``: metres as is (with ``focal_px``: the horizontal FOV at the network width);
* ``pointmap_affine``: metric depth and FOV recovered from the point map (:mod:`dreamrooms.depth.pointmap`),
  normals passed on.

`ClipRunner` feeds clip models (the ``video`` kind) through :class:`dreamrooms.depth.video.VideoWindows`.
Both return ``(item, prediction, extras)`` in frame order, extras holding ``fov_x`` (degrees) and ``normal``
(h x w x 3) when the model gives them.
"""
from __future__ import annotations

import numpy as np

from dreamrooms.depth import pointmap
from dreamrooms.depth.video import VideoPlan, VideoWindows
from dreamrooms.errors import DepthError

METRIC_SEMANTICS = ("depth_metric", "pointmap_affine")


def is_metric(entry) -> bool:
    return entry.output.get("semantics") in METRIC_SEMANTICS


def is_clip(entry) -> bool:
    return bool(entry.raw.get("video")) and int(entry.input.get("window", 1)) > 1


def _roles(ms) -> dict[str, str]:
    """The extra outputs this session has, by role (normal, mask, scale, focal_px) -> tensor name."""
    from dreamrooms.models.contracts import output_roles

    return output_roles(ms.entry, [o.name for o in ms.session.get_outputs()])


class FrameRunner:
    """Per-frame exports: one session.run per batch."""

    clip = False

    def __init__(self, ms, iname: str, oname: str):
        self.ms, self.iname, self.oname = ms, iname, oname
        entry = ms.entry
        self.semantics = entry.output.get("semantics", "inverse_relative")
        self.five_d = entry.input.get("layout", "NCHW") == "NTCHW"
        self.constants = {k: np.asarray(v, np.int64) for k, v in (entry.input.get("constants") or {}).items()}
        self.extra = _roles(ms)
        self.fetch = [oname] + [self.extra[r] for r in ("normal", "mask", "scale", "focal_px") if r in self.extra]

    def feeds(self, x: np.ndarray) -> dict[str, np.ndarray]:
        return {self.iname: x[:, None] if self.five_d else x, **self.constants}

    def __call__(self, items: list) -> list[tuple[object, np.ndarray, dict]]:
        x = np.stack([it.tensor for it in items])
        got = self.predict(x, f"{items[0].frame.number}-{items[-1].frame.number}")
        return [(it, pred, extras) for it, (pred, extras) in zip(items, got)]

    def predict(self, x: np.ndarray, frames: str) -> list[tuple[np.ndarray, dict]]:
        """(prediction, extras) per network input of the batch `x` (N x C x H x W); `frames` names them in errors."""
        try:
            got = self.ms.session.run(self.fetch, self.feeds(x))
        except Exception as exc:
            raise DepthError(f"model {self.ms.entry.name!r} failed on frames {frames} "
                             f"({str(exc).splitlines()[0][:200]})") from None
        outs = dict(zip(self.fetch, got))
        main = np.asarray(outs[self.oname], np.float32)
        net_w = x.shape[-1]
        res = []
        for k in range(x.shape[0]):
            extras: dict = {}
            if self.semantics == "pointmap_affine":
                pts = main[k].reshape(main.shape[-3], main.shape[-2], 3)
                mask = np.asarray(outs[self.extra["mask"]][k], np.float32) if "mask" in self.extra else None
                scale = float(np.ravel(outs[self.extra["scale"]])[k]) if "scale" in self.extra else 1.0
                pred, extras["fov_x"] = pointmap.metric_depth(pts, mask, scale)
            else:
                pred = main[k].reshape(main.shape[-2], main.shape[-1])
                if self.semantics == "depth_relative":
                    pred = 1.0 / np.maximum(pred, 1e-6)
            if "normal" in self.extra:
                n = np.asarray(outs[self.extra["normal"]][k], np.float32)
                extras["normal"] = n if n.shape[-1] == 3 else n.transpose(1, 2, 0)
            if "focal_px" in self.extra:
                extras["fov_x"] = pointmap.focal_px_to_fov_x(float(np.ravel(outs[self.extra["focal_px"]])[k]), net_w)
            res.append((np.asarray(pred, np.float32), extras))
        return res

    def flush(self) -> list:
        return []


class FixedMapping:
    """The stabiliser for a clip model, whose windows are already aligned: the first frame's robust range maps
    inverse depth onto [1/far, 1/near] and the same mapping is kept for the whole clip (no per-frame refit)."""

    mode = "window"

    def __init__(self, near: float, far: float):
        self.near, self.far, self.st = near, far, None

    def get_state(self) -> dict:
        return {"fixed_st": np.asarray(self.st, np.float64)} if self.st is not None else {}

    def set_state(self, state: dict) -> None:
        st = state.get("fixed_st")
        self.st = None if st is None else (float(st[0]), float(st[1]))

    def restart(self) -> None:
        """A cut: the next frame sets the mapping afresh."""
        self.st = None

    def __call__(self, raw, guide=None, flow=None):
        from dreamrooms.depth import stabilize as stab

        if self.st is None:
            self.st = stab.range_mapping(*stab.robust_range(raw), self.near, self.far)
        return (raw * np.float32(self.st[0]) + np.float32(self.st[1])).astype(np.float32)


def _full(item):
    """An item held by the clip scheduler, with its frame back in float32 for the writer."""
    fr = item.frame
    item.frame = type(fr)(fr.number, fr.srgb.astype(np.float32), fr.rgba.astype(np.float32), fr.path)
    return item


class ClipRunner:
    """Clip models: items are pushed in frame order; predictions come out when their window settles.  The last
    frame a window settles carries the scheduler's state (``extras["state"]``) for an exact resume."""

    clip = True

    def __init__(self, ms, iname: str, oname: str, n_frames: int, index_of, state: dict | None = None):
        self.ms, self.iname, self.oname = ms, iname, oname
        self.plan = VideoPlan.from_entry(ms.entry.raw.get("video") or {})
        window = int(ms.entry.input.get("window", self.plan.window))
        if window != self.plan.window:
            raise DepthError(f"model {ms.entry.name!r}: input.window {window} but video.window {self.plan.window}; "
                             f"make them equal in its manifest entry")
        self.index_of = index_of                    # frame number -> clip index
        self.windows = VideoWindows(self.plan, self._run, n_frames, state=self._unpack(state))
        self.items: dict[int, object] = {}

    def _run(self, batch: np.ndarray) -> np.ndarray:
        try:
            y = self.ms.session.run([self.oname], {self.iname: batch.astype(np.float32, copy=False)})[0]
        except Exception as exc:
            raise DepthError(f"model {self.ms.entry.name!r} failed on a {batch.shape[1]}-frame window "
                             f"({str(exc).splitlines()[0][:200]})") from None
        return np.asarray(y, np.float32).reshape(batch.shape[1], y.shape[-2], y.shape[-1])

    def __call__(self, items: list) -> list[tuple[object, np.ndarray, dict]]:
        res = []
        for it in items:
            i = self.index_of(it.frame.number)
            if not it.anchor:      # held until its window settles: half floats (the EXR stores RGBA as half anyway)
                fr = it.frame
                it.frame = type(fr)(fr.number, fr.srgb.astype(np.float16), fr.rgba.astype(np.float16), fr.path)
                self.items[i] = it
            done = self.windows.push(i, it.tensor)
            it.tensor = None                        # the scheduler keeps what later windows need
            settled = [(_full(self.items.pop(j)), d, {}) for j, d in done if j in self.items]
            if settled:
                settled[-1][2]["state"] = self.state()
            res += settled
        return res

    def flush(self) -> list:
        if self.items:
            raise DepthError(f"model {self.ms.entry.name!r}: {len(self.items)} frame(s) never left the clip windows")
        return []

    # ---- resume: the scheduler's state as flat arrays (saved in the spine's StateFile) ----------------------
    def state(self) -> dict:
        st = self.windows.state()
        out = {"video_k": np.asarray(st["k"])}
        if st["ref"]:
            out["video_ref"] = np.stack(st["ref"])
        if st["pending"]:
            out["video_pending"] = np.stack(st["pending"])
        return out

    @staticmethod
    def _unpack(state: dict | None) -> dict | None:
        if not state or "video_k" not in state:
            return None
        return {"k": int(state["video_k"]), "ref": list(state.get("video_ref", [])),
                "pending": list(state.get("video_pending", []))}
