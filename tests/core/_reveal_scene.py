"""An analytic grounded scene for the reveal tests: a floor (z = 0), a back wall (y = WALL) and boxes standing on
the floor, ray-cast in numpy, so every view's true depth is exact (no renderer needed)."""
from __future__ import annotations

import numpy as np

from dreamrooms.camera import geometry as cm

WALL = 9.0
EYE = (0.0, 0.0, 1.4)
BOXES = (  # (min corner, max corner): standing on the floor, at different depths
    ((-1.6, 3.0, 0.0), (-0.6, 3.8, 1.3)),
    ((0.4, 4.5, 0.0), (1.4, 5.5, 0.8)),
    ((-0.3, 6.5, 0.0), (0.5, 7.2, 2.2)),
)


def start_pose() -> np.ndarray:
    return cm.look_at(EYE, (EYE[0], WALL, EYE[2] - 0.5))


def depth(K: cm.Intrinsics, pose: np.ndarray) -> np.ndarray:
    """True depth (along the camera axis) of every pixel centre seen from `pose` (camera-to-world)."""
    m = np.asarray(pose, np.float64)
    d = cm.pixel_rays(K).reshape(-1, 3) @ m[:3, :3].T      # world direction per unit of camera depth
    o = m[:3, 3]
    t = np.full(len(d), np.inf)
    with np.errstate(divide="ignore", invalid="ignore"):
        tf = -o[2] / d[:, 2]
        t = np.where((tf > 0), np.minimum(t, tf), t)
        tw = (WALL - o[1]) / d[:, 1]
        t = np.where((tw > 0), np.minimum(t, tw), t)
        for lo, hi in BOXES:
            lo, hi = np.array(lo), np.array(hi)
            t1 = (lo - o) / d
            t2 = (hi - o) / d
            tn = np.nanmax(np.minimum(t1, t2), axis=1)
            tx = np.nanmin(np.maximum(t1, t2), axis=1)
            hit = (tx >= tn) & (tn > 0)
            t = np.where(hit, np.minimum(t, tn), t)
    return t.reshape(K.height, K.width).astype(np.float32)


def colour(K: cm.Intrinsics, pose: np.ndarray) -> np.ndarray:
    """A colour picture of the scene: a checker on the floor, stripes on the wall, flat-coloured boxes (HxWx3)."""
    m = np.asarray(pose, np.float64)
    d = cm.pixel_rays(K).reshape(-1, 3) @ m[:3, :3].T
    p = m[:3, 3] + d * depth(K, pose).reshape(-1, 1).astype(np.float64)
    rgb = np.empty((len(d), 3), np.float32)
    floor = p[:, 2] < 1e-3
    wall = ~floor & (p[:, 1] > WALL - 1e-3)
    box = ~floor & ~wall
    chk = (np.floor(p[:, 0] * 2) + np.floor(p[:, 1] * 2)) % 2
    rgb[floor] = np.where(chk[floor, None] > 0, [0.8, 0.75, 0.6], [0.25, 0.2, 0.15])
    stripe = (np.floor(p[:, 0] * 3) % 2)[:, None]
    rgb[wall] = np.where(stripe[wall] > 0, [0.3, 0.45, 0.7], [0.6, 0.7, 0.85])
    rgb[box] = [0.8, 0.2, 0.1]
    return rgb.reshape(K.height, K.width, 3)


def write_still(folder, w: int = 160, h: int = 90, lens: float = 30.0, name: str = "photo"):
    """A one-frame shot (a photo) of the scene: colour, its true depth and the camera that saw it."""
    from dreamrooms.shot import CameraTrack, Shot, exr

    K = cm.intrinsics(lens, 36.0, w, h)
    pose = start_pose()
    shot = Shot(fps=24, width=w, height=h, frame_start=1, frame_end=1, name=name)
    shot.folder = folder
    shot.add_sequence("color", f"color/{name}.####.exr", ["R", "G", "B", "A"])
    rgba = np.concatenate([colour(K, pose), np.ones((h, w, 1), np.float32)], -1)
    exr.write_frame(shot.frame_path("color", 1), {"RGBA": rgba})
    shot.add_sequence("depth", f"depth/{name}.####.exr", ["Y"], colorspace="data", premultiplied=False)
    exr.write_frame(shot.frame_path("depth", 1), {"Y": depth(K, pose)})
    shot.camera = CameraTrack(matrices=[pose.tolist()], lens_mm=lens, sensor_mm=36.0, sensor_fit="AUTO",
                              clip_start=0.05, clip_end=100.0)
    shot.save()
    return shot
