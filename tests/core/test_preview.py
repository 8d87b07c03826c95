"""Contact sheets and MP4 previews are real images a person can open."""
from __future__ import annotations

import cv2
import numpy as np

from dreamrooms import preview
from shot_helpers import make_shot


def test_contact_sheet_has_a_row_per_pass_and_a_tile_per_frame(tmp_path):
    shot = make_shot(tmp_path / "s", frames=3)
    out = preview.contact_sheet([("colour", shot, "layers", "RGBA"), ("depth", shot, "layers", "depth.Z")],
                                [1, 2, 3], tmp_path / "sheet.png", thumb_width=32)
    img = cv2.imread(str(out))
    # 2 rows of (22 px label band + 16 px tiles), 3 tiles of 32 px + 4 px gutters
    assert img.shape == (2 * (22 + 16), 3 * 36, 3)
    colour_tile = img[22:38, 0:32]
    assert abs(int(colour_tile.mean()) - 255) <= 1  # RGBA of ones -> white


def test_depth_display_is_near_white_far_black():
    d = np.array([[1.0, 2.0, 3.0]], np.float32)
    g = preview.display_depth(d, near=1.0, far=3.0)[..., 0]
    assert g.tolist() == [[255, 128, 0]]


def test_mp4_has_every_frame(tmp_path):
    shot = make_shot(tmp_path / "s", frames=3)
    out = preview.sequence_mp4(shot, "layers", "depth.Z", tmp_path / "p.mp4")
    cap = cv2.VideoCapture(str(out))
    n = 0
    while cap.read()[0]:
        n += 1
    assert n == 3
    assert not [p for p in tmp_path.iterdir() if "tmp" in p.name]
