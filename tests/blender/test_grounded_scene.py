"""The grounded room fixture (tests/scenes/grounded.py) is what it claims: a closed room whose Z pass is the
distance along the camera axis, objects resting on the floor, and moves that reveal a few percent."""
from __future__ import annotations

import numpy as np

from dreamrooms.camera import geometry as cm


def test_grounded_views_are_true_geometry(grounded):
    from scenes import grounded as G

    K, src = grounded.K, grounded.source
    assert src.rgb.shape == (G.H, G.W, 3) and np.isfinite(src.depth).all() and src.depth.max() < 50  # a closed room
    pts = cm.unproject_world(src.depth, K, src.matrix)
    floor = pts[-20:, G.W // 2:, 2]                # the bottom right sees the floor (z = 0): Z is along the axis
    assert np.abs(floor).max() < 0.002
    # every object touches the floor: points just above z = 0 exist in front of the back wall
    low = (pts[..., 2] > 0.02) & (pts[..., 2] < 0.1) & (pts[..., 1] < 11.5) & (np.abs(pts[..., 0]) < 4.4)
    assert low.sum() > 20
    for name, views in grounded.moves.items():
        rev, border = G.revealed(views[-1], src, K)
        frac = rev.mean()
        print(f"{name}: revealed {100 * frac:.2f} %, frame border {100 * border.mean():.2f} %")
        assert 0.005 < frac < 0.1
        same = G.revealed(src, src, K)[0]
        assert not same.any()
