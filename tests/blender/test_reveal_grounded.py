"""The reveal prediction on the grounded room Blender renders itself (tests/scenes/grounded.py, 320x180): against
the true revealed pixels of the moved views (sideways with a slight turn, forward), and against what Blender
leaves empty when it renders the plane built from the source view (cut at depth edges) from those cameras."""
from __future__ import annotations

import bpy
import numpy as np
import pytest

from dreamrooms.camera import reveal as rv
from dreamrooms.shot import Shot, exr


@pytest.fixture(scope="module")
def measured(grounded, tmp_path_factory):
    """Per moved view: prediction, truth, and the alpha of Blender's render of the cut plane."""
    from blender_helpers import load_addon
    from scenes import grounded as G

    import importlib
    pkg = load_addon()
    B = importlib.import_module(f"{pkg.__name__}.scene.build")
    R = importlib.import_module(f"{pkg.__name__}.scene.render")
    rig = importlib.import_module(f"{pkg.__name__}.scene.camera_rig")
    folder = tmp_path_factory.mktemp("grounded_shot") / "shot"
    G.write_shot(folder, grounded)
    shot = Shot.load(folder)
    bpy.ops.wm.read_homefile(use_empty=True)
    scene = bpy.context.scene
    B.build(scene, shot, B.BuildSettings(layout="plane", colour="color", edge_cut=1.1, animate=False))
    R.setup_render(scene, shot, samples=1, passes=("combined",))
    K, src = grounded.K, grounded.source
    out = {}
    for name, views in grounded.moves.items():
        for i, view in enumerate(views):
            scene.camera.matrix_world = rig.to_matrix(view.matrix)
            scene.render.filepath = str(folder / f"{name}_{i}")
            bpy.ops.render.render(write_still=True)
            alpha = exr.read_frame(folder / f"{name}_{i}.exr")["ViewLayer.Combined.RGBA"][..., 3]
            pred = rv.predict(src.depth, K, src.matrix, view.matrix)
            behind, border = G.revealed(view, src, K)
            out[(name, i)] = (pred, behind, border, alpha < 0.5)
    bpy.ops.wm.read_homefile(use_empty=True)
    return out


@pytest.mark.parametrize("move", ["sideways", "forward"])
def test_prediction_matches_the_true_revealed_pixels(measured, move):
    for i in (0, 1):
        pred, behind, border, _ = measured[(move, i)]
        truth = behind | border
        iou, iou_behind = rv.tolerant_iou(pred.mask, truth), rv.tolerant_iou(pred.behind, behind)
        print(f"{move} step {i + 1}: predicted {pred.percent:.2f} %, true {100 * truth.mean():.2f} % "
              f"(border {100 * border.mean():.2f} %); IoU {iou:.3f}, behind edges only {iou_behind:.3f}")
        assert iou >= 0.7 and iou_behind >= 0.7


@pytest.mark.parametrize("move", ["sideways", "forward"])
def test_prediction_matches_what_blender_leaves_empty(measured, move):
    pred, _, _, empty = measured[(move, 1)]
    iou = rv.tolerant_iou(pred.mask, empty)
    print(f"{move}: Blender's cut plane empty on {100 * empty.mean():.2f} %, predicted {pred.percent:.2f} %, "
          f"IoU {iou:.3f}")
    assert iou >= 0.7
