"""Reveal prediction against the true revealed pixels of a grounded scene (boxes standing on a floor before a
wall, ray-cast exactly: tests/core/_reveal_scene.py), the reveal budget, the layers' parallax check, and stills
held over a range."""
from __future__ import annotations

import json

import numpy as np
import pytest

import _reveal_scene as S
from dreamrooms import reveal as RV
from dreamrooms.camera import geometry as cm
from dreamrooms.camera import reveal as rv
from dreamrooms.camera.moves import camera_move, scale_move
from dreamrooms.errors import DreamroomsError
from dreamrooms.mask.io import mask_sequences
from dreamrooms.room_options import OPTIONS
from dreamrooms.shot import Shot
from dreamrooms.shot.hold import hold_still, move_frames
from dreamrooms.shot.roles import depth_sequence

W, H = 320, 180
K = cm.intrinsics(30.0, 36.0, W, H)


@pytest.fixture(scope="module")
def source():
    pose = S.start_pose()
    return pose, S.depth(K, pose)


def _sideways_turn(pose):
    """Sideways with a slight turn: an orbit of 6 degrees about a point 3 m ahead (about 0.3 m sideways)."""
    return camera_move("orbit", 2, pose, intensity=0.15, easing="linear")[-1]


@pytest.mark.parametrize("move", ["sideways", "forward"])
def test_prediction_matches_the_true_revealed_pixels(source, move):
    pose, depth = source
    target = _sideways_turn(pose) if move == "sideways" else camera_move("dolly_in", 2, pose, intensity=1.2)[-1]
    pred = rv.predict(depth, K, pose, target)
    truth = rv.seen_truth(S.depth(K, target), K, target, depth, K, pose)
    assert truth.behind.mean() > 0.01                     # the move does uncover something behind the boxes
    assert rv.tolerant_iou(pred.behind, truth.behind) >= 0.7
    assert rv.tolerant_iou(pred.mask, truth.mask) >= 0.7
    if move == "sideways":                                # the frame border, reported apart
        assert truth.outside.mean() > 0.01 and rv.tolerant_iou(pred.outside, truth.outside) >= 0.9
    else:
        assert not pred.outside.any() and not truth.outside.any()


def test_depth_noise_does_not_make_edges(source):
    """A depth model's noise (here 2 % per pixel, and 2 % smooth) must not read as depth edges everywhere."""
    pose, depth = source
    target = _sideways_turn(pose)
    truth = rv.seen_truth(S.depth(K, target), K, target, depth, K, pose)
    rng = np.random.default_rng(0)
    import cv2
    smooth = cv2.GaussianBlur(rng.standard_normal(depth.shape).astype(np.float32), (0, 0), 2) * 4
    for noise in (rng.standard_normal(depth.shape).astype(np.float32), smooth):
        noisy = (depth * (1 + 0.02 * noise)).astype(np.float32)
        assert rv.tolerant_iou(rv.predict(noisy, K, pose, target).mask, truth.mask) >= 0.8


def test_a_camera_that_only_turns_reveals_nothing_behind_edges(source):
    pose, depth = source
    assert rv.predict(depth, K, pose, pose).percent == 0.0
    pan = camera_move("pan", 2, pose, intensity=0.2)[-1]
    r = rv.predict(depth, K, pose, pan)
    assert not r.behind.any() and r.outside.mean() > 0.05  # only the border: nothing moved against anything
    assert rv.largest_shift(depth, K, pose, [pan]) < 1e-6


def test_depth_edges_are_outlines_not_a_grazing_floor(source):
    pose, depth = source
    edges = rv.depth_edges(depth)
    floor_rows = depth[100:, :].max(axis=1)
    assert floor_rows.max() / floor_rows.min() > 1.5      # the floor recedes a lot over these rows ...
    assert not edges[100:150, 250:].any()                 # ... but is one surface (no box there)
    box_top = 0
    col = 60                                              # through the near box: its top edge is an edge
    for i in range(1, H - 1):
        if depth[i, col] < depth[i - 1, col] / 1.5:
            box_top = i
            break
    assert box_top and edges[box_top - 1, col]


def test_scale_move_shrinks_displacement_and_turn():
    start = S.start_pose()
    end = camera_move("orbit", 2, start, intensity=0.5)[-1]
    half, = scale_move([end], start, 0.5)
    np.testing.assert_allclose(half[:3, 3] - start[:3, 3], 0.5 * (end[:3, 3] - start[:3, 3]))
    angle = lambda m: np.degrees(np.arccos(np.clip((np.trace(start[:3, :3].T @ m[:3, :3]) - 1) / 2, -1, 1)))
    assert angle(half) == pytest.approx(angle(end) / 2, rel=1e-6)
    np.testing.assert_allclose(scale_move([end], start, 1.0)[0], end, atol=1e-9)
    np.testing.assert_allclose(camera_move("orbit", 2, start, intensity=0.5, scale=0.5)[-1], half, atol=1e-12)


def test_largest_shift_is_the_nearest_points_parallax(source):
    pose, depth = source
    truck = camera_move("truck", 2, pose, intensity=0.3)[-1]
    want = K.fx * 0.3 / float(depth.min())
    assert rv.largest_shift(depth, K, pose, [truck], stride=1) == pytest.approx(want, rel=0.02)


@pytest.fixture
def still(tmp_path):
    return S.write_still(tmp_path / "photo", w=96, h=54)


def test_a_still_is_held_over_any_range_and_a_clip_is_not(still, tmp_path):
    with pytest.raises(DreamroomsError, match="outside the shot's frames 1-3"):
        move_frames(Shot(fps=24, width=8, height=8, frame_end=3), (1, 8))
    frames = move_frames(still, (1, 8))
    assert frames == range(1, 9)
    assert hold_still(still, frames) and not hold_still(still, frames)
    still.save()
    shot = Shot.load(still.folder)                          # every frame's file exists: the one photo
    assert (shot.frame_start, shot.frame_end) == (1, 8) and shot.schema_version == 2
    assert {p.name for p in shot.sequence_paths("color")} == {"photo.0001.exr"}
    assert len(shot.camera.matrices) == 8 and shot.camera.matrices[7] == shot.camera.matrices[0]
    assert json.loads((still.folder / "shot.json").read_text())["sequences"]["depth"]["hold"] == 1
    assert move_frames(shot, (1, 24)) == range(1, 25)      # held again, longer
    shot.add_sequence("render", "render/render.####.exr", ["R", "G", "B", "A"])   # per frame, frames 1-8 only
    assert hold_still(shot, range(1, 25)) and "render" not in shot.sequences


def test_reveal_budget_keeps_every_frame_under_it(still, run_cli):
    code, out, err = run_cli("--progress", "none", "reveal", still.folder, "--frames", "1-6", "--move", "truck",
                             "--intensity", "0.5", "--reveal-budget", "1")
    assert code == 0, err
    per_frame = [float(line.split(":")[2].split("%")[0]) for line in out.splitlines() if line.startswith("reveal: frame")]
    unscaled = [float(line.split("unscaled")[1].split("%")[0]) for line in out.splitlines() if "unscaled" in line]
    assert len(per_frame) == 6 and max(per_frame) <= 1.0 < max(unscaled)
    factor = float(out.split("scaled by ")[1].split()[0])
    assert 0 < factor < 1
    assert json.loads((still.folder / "shot.json").read_text())["frame_end"] == 1   # reveal writes nothing
    # the factor is the largest that fits: a little more of the move breaks the budget
    shot = Shot.load(still.folder)
    frames = move_frames(shot, (1, 6))
    hold_still(shot, frames)
    values = {"layout": "plane", "move": "truck", "intensity": 0.5, "duration": 0, "easing": "ease_in_out",
              "shake": 0.0, "seed": 0, "reveal_budget": 1.0}
    view = RV.source_view(shot, values)
    _, poses = RV.move_poses(shot, values, frames, view.start, min(1.0, factor * 1.3))
    assert max(RV.predict_frames(shot, view, dict(zip(frames, poses))).values()) > 1.0


def test_reveal_takes_the_room_options_from_the_registry(run_cli, still):
    from dreamrooms.commands.main import build_parser

    sub = next(a for a in build_parser()._actions if a.dest == "command").choices
    dests = {a.dest for a in sub["reveal"]._actions} - {"help", "shot"}
    assert dests == set(RV.READS) and dests <= {o.name for o in OPTIONS}
    code, _, err = run_cli("reveal", still.folder, "--layout", "corridor")
    assert code == 1 and "plane and layered" in err
    code, _, err = run_cli("room", still.folder, "--layout", "room", "--reveal-budget", "2")
    assert code == 1 and "--reveal-budget" in err


def test_layers_rerun_is_advised_when_the_move_outruns_their_parallax(still):
    shot = Shot.load(still.folder)
    values = {"layout": "layered", "intensity": 0.5}
    shot.add_sequence("layer0", "layers/l0.####.exr", ["R", "G", "B", "A"], kind="layer", max_parallax=4)
    poses = camera_move("truck", 3, RV.source_view(shot, values).start, intensity=0.5)
    advice = RV.parallax_advice(shot, values, poses)
    assert advice and f"dreamrooms layers {shot.folder} --max-parallax " in advice
    shot.sequences["layer0"].meta["max_parallax"] = 500
    assert RV.parallax_advice(shot, values, poses) is None


def test_the_reveal_matte_is_neither_an_object_matte_nor_depth(still):
    values = {"layout": "plane", "move": "truck", "intensity": 0.5, "duration": 0, "easing": "linear", "shake": 0.0,
              "seed": 0}
    shot = Shot.load(still.folder)
    hold_still(shot, range(1, 4))
    view = RV.source_view(shot, values)
    name, poses = RV.move_poses(shot, values, shot.frames, view.start)
    percents = RV.write_matte(shot, values, dict(zip(shot.frames, poses)), name)
    shot.save()
    shot = Shot.load(still.folder)
    seq = shot.sequences["reveal"]
    assert seq.pattern == "masks/photo_reveal.####.exr" and seq.channels == ["Y"] and seq.colorspace == "data"
    assert seq.meta == {"kind": "reveal", "label": "reveal", "move": "truck"} and not seq.premultiplied
    from dreamrooms.shot import exr
    y = exr.read_frame(shot.frame_path("reveal", 3), ["Y"])["Y"]
    assert y.shape == (54, 96) and set(np.unique(y)) <= {0.0, 1.0}
    assert 100 * y.mean() == pytest.approx(percents[2]) and percents[0] == 0.0 < percents[2]
    assert mask_sequences(shot) == []                       # `layers --from-masks` takes no object from it
    del shot.sequences["depth"]
    shot.sequences["color"].channels = ["R", "G", "B", "A"]
    with pytest.raises(Exception, match="no depth"):
        depth_sequence(shot)                                # and it is never the shot's depth


def test_a_large_picture_is_refined_at_full_size_near_what_the_small_pass_found():
    K2 = cm.intrinsics(30.0, 36.0, 736, 414)            # past 1.5 x COARSE_SIDE: the two-pass prediction
    assert max(K2.width, K2.height) > 1.5 * rv.COARSE_SIDE
    pose = S.start_pose()
    depth = S.depth(K2, pose)
    target = _sideways_turn(pose)
    pred = rv.predict(depth, K2, pose, target)
    truth = rv.seen_truth(S.depth(K2, target), K2, target, depth, K2, pose)
    small = rv.predict(*rv.shrink_depth(depth, K2, rv.COARSE_SIDE), pose, target)
    assert pred.mask.shape == (414, 736)
    assert rv.tolerant_iou(pred.mask, truth.mask) >= 0.9
    import cv2                                           # the full-size band beats the small pass scaled up
    up = cv2.resize(small.mask.astype(np.uint8), (736, 414), interpolation=cv2.INTER_NEAREST) > 0
    assert (pred.mask != truth.mask).sum() < (up != truth.mask).sum()
