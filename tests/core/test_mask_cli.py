"""`dreamrooms mask` and `dreamrooms layers` as a user runs them: exit codes, one-line errors, output."""
from __future__ import annotations

import _layer_scenes as S
from dreamrooms.shot import Shot


def test_mask_then_layers_from_the_command_line(run_cli, tmp_path):
    S.write_clip_shot(tmp_path / "shot", frames=3, w=48, h=27)
    code, out, err = run_cli("mask", tmp_path / "shot", "--out", tmp_path / "shot", "--from-depth")
    assert code == 0, err
    assert "3 frame(s) written" in out and "foreground" in out
    code, out, err = run_cli("layers", tmp_path / "shot", "--count", "2", "--from-masks")
    assert code == 0, err
    assert "2 layers" in out
    shot = Shot.load(tmp_path / "shot")
    assert {"mask_foreground", "layer0", "layer0_depth", "layer1", "layer1_depth"} <= set(shot.sequences)
    assert any("dreamrooms layers" in c for c in shot.provenance.commands)
    code, out, _ = run_cli("layers", tmp_path / "shot", "--from-masks")     # a rerun has nothing to do
    assert code == 0 and "0 frame(s) written, 3 already complete" in out


def test_usage_and_input_errors(run_cli, tmp_path):
    code, _, err = run_cli("mask", tmp_path, "--out", tmp_path)               # neither --from-depth nor --model
    assert code == 2 and "--from-depth" in err
    code, _, err = run_cli("layers", tmp_path / "nothing")
    assert code == 1 and err.count("\n") == 1 and "shot.json" in err
    S.write_clip_shot(tmp_path / "shot", frames=2, w=32, h=18)
    code, _, err = run_cli("mask", tmp_path / "shot", "--out", tmp_path / "shot", "--model", "maskrcnn-r50-fpn")
    assert code == 1 and err.count("\n") == 1 and "dreamrooms models fetch maskrcnn-r50-fpn" in err
    code, _, err = run_cli("layers", tmp_path / "shot", "--frames", "2-9")
    assert code == 1 and "outside the shot's frames 1-2" in err
