"""The built-in models: cppn-walk (generator) and tinydepth (depth), run through the core.

torch is only used to check the ONNX graphs against the torch code that made them."""
from __future__ import annotations

import re

import numpy as np
import pytest

from dreamrooms.colour import linear_to_srgb
from dreamrooms import models
from dreamrooms.models import runtime
from dreamrooms.training import synth
from dreamrooms.models.contracts import coordinate_grid
from dreamrooms.training import data
from dreamrooms.training import metrics as evaluate
from dreamrooms.walk.generator import generator_for
from test_sessions import run_depth  # noqa: E402

torch = pytest.importorskip("torch", reason="torch is needed only for the ONNX-vs-torch comparisons")


@pytest.fixture(scope="module")
def cppn():
    return runtime.open_session(models.resolve("cppn-walk", kind="generator"), device="cpu", threads=2)


@pytest.fixture(scope="module")
def tiny():
    return runtime.open_session(models.resolve("tinydepth", kind="depth"), device="cpu", threads=2)


def test_cppn_io_dynamic_and_range(cppn):
    z = np.random.default_rng(0).standard_normal((3, 64)).astype(np.float32)
    for h, w in ((17, 33), (64, 48)):
        out = cppn.session.run(["image"], {"z": z, "grid": coordinate_grid(h, w)})[0]
        assert out.shape == (3, 3, h, w) and out.dtype == np.float32
        assert out.min() >= 0 and out.max() <= 1
    # deterministic: same z, same pixels; batch items independent of each other
    gen = generator_for(models.resolve("cppn-walk", kind="generator"), device="cpu", threads=2)
    a = gen.render(z[:1], (32, 32))
    b = gen.render(z, (32, 32))[:1]
    np.testing.assert_allclose(a, b, atol=1e-6)


def test_cppn_onnx_matches_torch_construction(cppn):
    from dreamrooms.training.cppn import CPPN

    z = np.random.default_rng(5).standard_normal((2, 64)).astype(np.float32)
    g = coordinate_grid(40, 72)
    with torch.no_grad():
        ref = CPPN()(torch.from_numpy(z), torch.from_numpy(g)).numpy()
    got = cppn.session.run(["image"], {"z": z, "grid": g})[0]
    assert np.abs(ref - got).max() < 1e-4


def _grad_energy(img):
    return float(np.abs(np.diff(img, axis=0)).mean() + np.abs(np.diff(img, axis=1)).mean())


def test_cppn_walk_is_smooth_and_textured(cppn):
    rng = np.random.default_rng(11)
    z0, z1 = rng.standard_normal((2, 64)).astype(np.float32)
    ts = np.linspace(0, 1, 33)    # a 33-frame slerp between two random latents
    zs = np.stack([np.cos(t * np.pi / 2) * z0 + np.sin(t * np.pi / 2) * z1 for t in ts]).astype(np.float32)
    frames = generator_for(models.resolve("cppn-walk", kind="generator"), device="cpu", threads=2).render(zs, (96, 128))
    steps = [float(np.abs(frames[k + 1] - frames[k]).mean()) for k in range(len(frames) - 1)]
    ends = float(np.abs(frames[-1] - frames[0]).mean())
    # neighbouring frames differ little, the ends of the walk a lot: a smooth walk, not a static image
    assert ends > 0.08
    assert max(steps) < 0.25 * ends
    for f in frames[::8]:
        assert f.std() > 0.08                        # not flat
        assert 0.005 < _grad_energy(f) < 0.2         # textured, but not per-pixel noise
        assert len(np.unique((f * 15).astype(int).reshape(-1, 3), axis=0)) > 30   # colourful


def test_cppn_renders_512_from_its_grid(cppn):
    """Any resolution from the coordinate grid (its speed is bench/walk_throughput.py's, not a unit test's)."""
    z = np.random.default_rng(1).standard_normal((1, 64)).astype(np.float32)
    img = cppn.session.run(["image"], {"z": z, "grid": coordinate_grid(512, 512)})[0]
    assert img.shape == (1, 3, 512, 512) and np.isfinite(img).all()
    assert img.std() > 0.01  # a picture, not a constant


def test_tinydepth_io_and_positive_output(tiny):
    assert tiny.input_name == "image" and tiny.output_name == "inverse_depth"
    for h, w in ((64, 96), (128, 160)):
        x = np.random.default_rng(0).random((2, 3, h, w)).astype(np.float32)
        y = tiny.session.run(None, {"image": x})[0]
        assert y.shape == (2, 1, h, w) and (y > 0).all() and np.isfinite(y).all()


def test_tinydepth_onnx_matches_torch(tiny):
    from dreamrooms.training.tinydepth import from_onnx

    model = from_onnx(tiny.entry.path)
    imgs, _ = data.render_set(range(500_000, 500_004), 96, 128)
    with torch.no_grad():
        ref = model(torch.from_numpy(imgs)).numpy()
    got = tiny.session.run(None, {"image": imgs})[0]
    assert np.abs(ref - got).max() < 1e-4 * max(1.0, float(np.abs(ref).max()))


def _card_metrics(card_text):
    absrel = re.search(r"\|\s*AbsRel\s*\|\s*([0-9.]+)\s*\|\s*([0-9.]+)\s*\|", card_text)
    delta1 = re.search(r"\|\s*delta1\s*\|\s*([0-9.]+)\s*\|\s*([0-9.]+)\s*\|", card_text)
    assert absrel and delta1, "tinydepth.md lacks the AbsRel/delta1 table"
    return float(absrel[1]), float(delta1[1]), float(absrel[2]), float(delta1[2])


def test_tinydepth_quality_matches_card_and_beats_baseline(tiny):
    card = tiny.entry.card.read_text()
    absrel_card, delta1_card, b_absrel_card, b_delta1_card = _card_metrics(card)
    h, w = data.EVAL_SIZE
    assert f"seeds {data.EVAL_SEEDS.start}..{data.EVAL_SEEDS.stop - 1}" in card
    imgs, depth = data.render_set(data.EVAL_SEEDS, h, w)
    pred = evaluate.run_onnx_depth(tiny.entry.path, imgs)
    m = evaluate.depth_metrics(pred, depth)
    base = evaluate.constant_baseline(depth)
    assert m["absrel"] == pytest.approx(absrel_card, abs=2e-3)
    assert m["delta1"] == pytest.approx(delta1_card, abs=2e-3)
    assert base["absrel"] == pytest.approx(b_absrel_card, abs=2e-3)
    # clearly better than a constant depth
    assert m["absrel"] < 0.75 * base["absrel"]
    assert m["delta1"] > base["delta1"] + 0.1


def test_tinydepth_through_the_core_on_a_new_room(tiny):
    scene = synth.random_scene(424242)
    rgb, depth = synth.render_scene(scene, scene.camera, 200, 150)
    inv = run_depth(tiny, linear_to_srgb(rgb))     # resized to 128x192 inside, back to 150x200
    assert inv.shape == (150, 200)
    r = np.corrcoef(inv.ravel(), (1.0 / depth).ravel())[0, 1]
    assert r > 0.6, f"correlation with true inverse depth {r:.2f}"
