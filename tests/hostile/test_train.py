"""Repro 2: nothing unpickles a checkpoint; a hostile `latest.pt` runs no code."""
from __future__ import annotations

import os
import pickle

import pytest

from hostile.helpers import dr


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.mkdir, (self.marker,))


@pytest.fixture
def evil_model(tmp_path):
    model = tmp_path / "mine"
    (model / "checkpoints").mkdir(parents=True)
    marker = tmp_path / "PWNED"
    (model / "checkpoints" / "latest.pt").write_bytes(pickle.dumps(_Evil(str(marker))))
    return model, marker


def test_export_runs_no_code_from_a_checkpoint(evil_model):
    model, marker = evil_model
    r = dr("train", "export", model)
    assert not marker.exists(), "the checkpoint's pickle ran code"
    r.one_line_error("latest.pt")


def test_train_from_runs_no_code_from_a_checkpoint(evil_model, tmp_path):
    import numpy as np
    import cv2
    model, marker = evil_model
    photos = tmp_path / "photos"
    photos.mkdir()
    rng = np.random.default_rng(0)
    for i in range(12):
        cv2.imwrite(str(photos / f"{i}.png"), rng.integers(0, 255, (40, 40, 3), dtype=np.uint8))
    r = dr("train", photos, "--out", tmp_path / "new", "--size", 32, "--steps", 1, "--batch", 2,
           "--channels", 8, "--latent-dim", 4, "--from", model, "--device", "cpu")
    assert not marker.exists(), "the checkpoint's pickle ran code"
    r.one_line_error("latest.pt")
