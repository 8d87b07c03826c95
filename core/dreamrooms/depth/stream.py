"""The depth stage's streamed run: a reader thread decodes and preprocesses frames, the caller's thread runs ONNX
Runtime on batches back to back, a stabiliser thread aligns outputs in frame order, and writer threads upsample,
convert and write each frame atomically.  Queues are bounded, so memory does not grow with the clip."""
from __future__ import annotations

import contextlib
import itertools
import os
import queue
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from dreamrooms.atomic import write_bytes_atomic
from dreamrooms.depth import resume, stabilize as stab
from dreamrooms.depth.image import joint_bilateral_upsample, preprocess, resize_mode
from dreamrooms.errors import DepthError, DreamroomsError
from dreamrooms.progress import progress
from dreamrooms.shot import exr
from dreamrooms.shot.segments import image_cut, starts_segment
from dreamrooms.shot.sources import Frame, SourceError, from_linear_rgba
from dreamrooms.stage.record import stamps
from dreamrooms.stage.state import StateFile
from dreamrooms.stage.stream import remove_created

_STOP = object()


@dataclass
class Targets:
    """Where frame n goes: the layered file, the single-channel depth file and (optionally) the preview PNG."""
    layers: Callable[[int], Path]
    depth: Callable[[int], Path]
    preview: Callable[[int], Path] | None = None

    def of(self, n: int) -> list[Path]:
        return [self.layers(n), self.depth(n)] + ([self.preview(n)] if self.preview else [])


@dataclass
class StreamSettings:
    """What the run needs besides the frames and the model."""
    net_hw: tuple[int, int]
    batch: int
    near: float
    far: float
    metric: bool
    fingerprint: str
    compression: str = exr.DEFAULT_COMPRESSION
    workers: int | None = None
    state_path: Path | None = None          # where the stabiliser state is saved for an exact resume
    on_frame: Callable[[int], None] | None = None
    write_from: int | None = None           # frames before it are stabilised, not written (a chunk's warm-up)
    starts: frozenset = frozenset()         # frames that begin a segment (dreamrooms.shot.segments)
    detect_cuts: bool = False               # also look for cuts in the pictures (a clip, not a set of stills)


@dataclass
class _Item:
    frame: Frame
    tensor: np.ndarray
    guide_small: np.ndarray | None
    extra: dict | None = None       # other layers of an existing layered file (kept on rewrite)
    flow: np.ndarray | None = None  # motion from the previous frame (computed on the reader thread)
    anchor: bool = False            # a clip model's earlier frame, re-fed on resume, not written
    cut: bool = False               # begins a segment: the stabiliser starts afresh
    detected: bool = False          # ... found in the pictures (recorded in the depth file's header)
    guide_low: np.ndarray | None = None   # the frame area-resized to the network size (the upsampler's guide)


@dataclass
class StreamRun:
    """One run over `todo`; `run()` writes every frame or, on failure, removes what it created."""
    frames: object                      # an iterable factory: frames(todo) -> (Frame, extra layers | None)
    session: object                     # a ModelSession
    runner: object                      # FrameRunner / ClipRunner (dreamrooms.depth.runner): items -> predictions
    todo: list[int]
    stabilizer: stab.Stabilizer
    targets: Targets
    s: StreamSettings
    made_dirs: list[Path] = field(default_factory=list)
    created: list[Path] = field(default_factory=list)
    stats: dict = field(default_factory=lambda: {"frames": 0})
    anchors: list[int] = field(default_factory=list)   # frames fed before `todo` and not written (clip resume)

    def __post_init__(self) -> None:
        self.errors: list[BaseException] = []
        self.stop = threading.Event()
        self.read_q: "queue.Queue" = queue.Queue(maxsize=2)
        self.post_q: "queue.Queue" = queue.Queue(maxsize=2)
        self.n_workers = self.s.workers or max(1, min(4, os.cpu_count() or 1))
        self.slots = threading.BoundedSemaphore(self.n_workers * 2)
        self.lock = threading.Lock()
        # stabiliser state per frame in flight; saved once every frame up to it is on disk (exact resume)
        self.states: dict[int, dict] = {}
        self.done: set[int] = set()
        self.order = {n: k for k, n in enumerate(self.todo)}
        self.mark = -1

    # ---- reader thread ----------------------------------------------------------------------------------
    def read(self) -> None:
        try:
            want_guide = self.stabilizer.mode == "keyframe"
            items: list[_Item] = []
            prev_guide = prev_small = prev_n = None
            anchors = ((fr, extra, True) for fr, extra in (self.frames(self.anchors) if self.anchors else ()))
            todo = ((fr, extra, False) for fr, extra in self.frames(self.todo))
            for fr, extra, anchor in itertools.chain(anchors, todo):
                if self.stop.is_set():
                    return
                tensor, small = preprocess(fr.srgb, self.s.net_hw, self.session.entry.input)
                area = resize_mode(fr.srgb.shape[:2], self.s.net_hw, self.session.entry.input.get("interpolation", ""))
                cut = fr.number in self.s.starts if prev_n is None else starts_segment(self.s.starts, fr.number, prev_n)
                detected = (not cut and self.s.detect_cuts and prev_small is not None
                            and image_cut(prev_small, small))
                if cut or detected:
                    prev_guide = None
                prev_small, prev_n = small, fr.number
                guide = stab.grey_guide(small) if want_guide else None
                flow = stab.flow_between(prev_guide, guide) if (want_guide and prev_guide is not None) else None
                prev_guide = guide
                if anchor:       # only the network input is needed: keep no full-size frame
                    fr = Frame(fr.number, fr.srgb[:1, :1], fr.rgba[:1, :1], fr.path)
                items.append(_Item(fr, tensor, guide, extra, flow, anchor, cut or detected, detected,
                                   small if area == "area" and not anchor else None))
                if len(items) == self.s.batch:
                    self.read_q.put(items)
                    items = []
            if items:
                self.read_q.put(items)
            self.read_q.put(_STOP)
        except BaseException as exc:  # handed to the inference thread
            self.read_q.put(exc)

    # ---- stabiliser thread (frame order) -----------------------------------------------------------------
    def post(self) -> None:
        net_hw = tuple(self.s.net_hw)
        try:
            while True:
                got = self.post_q.get()
                if got is _STOP or self.stop.is_set():
                    return
                for it, raw, extras in got:
                    if raw.shape != net_hw:      # an export with its own output size (e.g. always 518x518)
                        import cv2

                        raw = cv2.resize(raw, (net_hw[1], net_hw[0]), interpolation=cv2.INTER_LINEAR)
                    if not np.all(np.isfinite(raw)):
                        raise DepthError(f"{it.frame.path}: the model output has NaN/inf for this frame; "
                                         f"check the model or the frame")
                    if it.cut:
                        self.stabilizer.restart()
                    u_small = self.stabilizer(raw, it.guide_small, it.flow)
                    n = it.frame.number
                    if self.s.write_from is not None and n < self.s.write_from:
                        continue
                    if self.s.state_path is not None and "state" in extras:     # a clip window settled here
                        with self.lock:
                            self.states[n] = {**self.stabilizer.get_state(), **extras.pop("state")}
                    elif self.s.state_path is not None and not getattr(self.runner, "clip", False) and (
                            (self.order[n] + 1) % resume.STATE_EVERY == 0 or n == self.todo[-1]):
                        with self.lock:
                            self.states[n] = self.stabilizer.get_state()
                    while not self.slots.acquire(timeout=0.05):
                        if self.errors or self.stop.is_set():
                            return
                    if self.errors:
                        self.slots.release()
                        return
                    self.pool.submit(self.finish, it, u_small, extras)
        except BaseException as exc:
            self.errors.append(exc)

    # ---- writer threads ----------------------------------------------------------------------------------
    def finish(self, item: _Item, u_small: np.ndarray, extras: dict | None = None) -> None:
        try:
            s, fr, n = self.s, item.frame, item.frame.number
            extras = extras or {}
            H, W = fr.srgb.shape[:2]
            u = joint_bilateral_upsample(u_small, fr.srgb, guide_low=item.guide_low) if u_small.shape != (H, W) \
                else u_small
            depth = stab.to_depth(u, s.near, s.far) if not s.metric else stab.to_depth(u, 1e-6, 1e12)
            layers = dict(item.extra) if item.extra else {}
            if "RGBA" not in layers:
                layers["RGBA"] = fr.rgba
            layers["depth.Z"] = depth
            if "normal" in extras:
                layers["normal.XYZ"] = upsample_normals(extras["normal"], H, W)
            attrs = {resume.DEPTH_ATTR: s.fingerprint}
            if "fov_x" in extras:
                attrs[resume.FOV_ATTR] = f"{extras['fov_x']:.6f}"
            if item.detected:
                attrs[resume.CUT_ATTR] = "1"
            kept = stamps(self.targets.layers(n)) if item.extra else {}   # in place: what made the colour (walk)
            kept[resume.DEPTH_ATTR] = s.fingerprint
            with self.lock:
                self.created.extend(t for t in self.targets.of(n) if not t.exists())
            exr.write_frame(self.targets.layers(n), layers, compression=s.compression, attributes=kept)
            exr.write_frame(self.targets.depth(n), {"Y": depth}, compression=s.compression, attributes=attrs)
            if self.targets.preview:
                write_bytes_atomic(self.targets.preview(n), preview_png(depth, s.near, s.far, s.metric))
            self.frame_done(n)
            with self.lock:
                self.bar.update(1)
                self.stats["frames"] += 1
            if s.on_frame:
                s.on_frame(n)
        except BaseException as exc:
            self.errors.append(exc)
        finally:
            self.slots.release()

    def frame_done(self, n: int) -> None:
        """Save the stabiliser state of the newest frame whose predecessors are all on disk."""
        if self.s.state_path is None:
            return
        with self.lock:
            self.done.add(n)
            k = self.mark
            while k + 1 < len(self.todo) and self.todo[k + 1] in self.done:
                k += 1
                self.done.discard(self.todo[k])
            if k == self.mark:
                return
            self.mark = k
            ready = [f for f in self.states if self.order[f] <= k]
            if not ready:
                return
            frame = max(ready, key=self.order.__getitem__)
            state = self.states[frame]
            for f in ready:
                del self.states[f]
            StateFile(self.s.state_path, self.s.fingerprint).save(frame, state)

    # ---- the run (inference on this thread) -----------------------------------------------------------------
    def put_checked(self, target: "queue.Queue", item) -> None:
        """Put on a bounded queue without deadlocking when the consumer has died."""
        while True:
            if self.errors:
                raise self.errors[0]
            try:
                target.put(item, timeout=0.05)
                return
            except queue.Full:
                continue

    def run(self) -> None:
        self.pool = ThreadPoolExecutor(self.n_workers, thread_name_prefix="depth-write")
        self.bar = progress(sum(1 for n in self.todo if self.s.write_from is None or n >= self.s.write_from), "depth")
        reader = threading.Thread(target=self.read, name="depth-read", daemon=True)
        poster = threading.Thread(target=self.post, name="depth-stabilize", daemon=True)
        ok = False
        try:
            reader.start()
            poster.start()
            while True:
                got = self.read_q.get()
                if got is _STOP:
                    break
                if isinstance(got, BaseException):
                    raise got
                if self.errors:
                    raise self.errors[0]
                ready = self.runner(got)
                if ready:
                    self.put_checked(self.post_q, ready)
            ready = self.runner.flush()
            if ready:
                self.put_checked(self.post_q, ready)
            self.put_checked(self.post_q, _STOP)
            poster.join()
            self.pool.shutdown(wait=True)
            if self.errors:
                raise self.errors[0]
            ok = True
        finally:
            self.stop.set()
            # unblock the reader and the stabiliser if they wait on a full queue or for a writer slot
            while reader.is_alive() or poster.is_alive():
                with contextlib.suppress(queue.Empty):
                    self.read_q.get(timeout=0.05)
                with contextlib.suppress(queue.Empty):
                    self.post_q.get_nowait()
                with contextlib.suppress(queue.Full):
                    self.post_q.put_nowait(_STOP)
            self.pool.shutdown(wait=True, cancel_futures=True)
            self.bar.close()
            if not ok and not isinstance(sys.exc_info()[1], KeyboardInterrupt):
                if self.s.state_path is not None:
                    self.created.append(self.s.state_path)
                remove_created(self.created, self.made_dirs)


def upsample_normals(normal: np.ndarray, height: int, width: int) -> np.ndarray:
    """Unit normals (h x w x 3) at the frame size: bilinear, then renormalised."""
    import cv2

    n = np.asarray(normal, np.float32)
    if n.shape[:2] != (height, width):
        n = cv2.resize(n, (width, height), interpolation=cv2.INTER_LINEAR)
    return (n / np.maximum(np.linalg.norm(n, axis=2, keepdims=True), 1e-12)).astype(np.float32)


def preview_png(depth: np.ndarray, near: float, far: float, metric: bool) -> bytes:
    """16-bit grey PNG, white = near, linear in inverse depth (1/far..1/near; a metric map uses its own range)."""
    import cv2

    inv = 1.0 / depth
    if metric:
        v = np.clip((inv - inv.min()) / max(float(np.ptp(inv)), 1e-12), 0, 1)
    else:
        lo, hi = 1.0 / far, 1.0 / near
        v = np.clip((inv - lo) / (hi - lo), 0, 1)
    ok, buf = cv2.imencode(".png", (v * 65535 + 0.5).astype(np.uint16))
    return buf.tobytes()


def inplace_frames(shot, key: str, numbers: list[int]):
    """Frames of an existing layered sequence, with every other layer of the file kept for the rewrite."""
    for n in numbers:
        path = shot.frame_path(key, n)
        try:
            layers = exr.read_frame(path)
        except DreamroomsError as exc:
            raise SourceError(f"frame {n}: {exc}") from None
        if "RGBA" not in layers:
            raise SourceError(f"{path}: no RGBA layer (has {', '.join(sorted(layers))}); the layers sequence needs colour")
        srgb, rgba = from_linear_rgba(layers["RGBA"])
        if srgb.shape[:2] != (shot.height, shot.width):
            raise SourceError(f"{path}: {srgb.shape[1]}x{srgb.shape[0]} but the shot is {shot.width}x{shot.height}")
        extra = {k: v for k, v in layers.items() if k != "depth.Z"}
        yield Frame(n, srgb, rgba, str(path)), extra
