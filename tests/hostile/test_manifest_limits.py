"""Round two, defects 6, 10 and 11 of issue 24 for shot.json: parsing memory is a small multiple of the file's size,
huge meta/provenance arrays are refused, no stage writes what its loader refuses, integral floats load, and
infinite or inverted camera numbers are one line."""
from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

import pytest

from dreamrooms import limits
from dreamrooms.errors import ShotError
from dreamrooms.shot import Shot
from hostile.helpers import edit_manifest
from hostile.helpers import one_line as _one_line




def _peak(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def _with_meta(shot: Path, value) -> int:
    """Put `value` into the walk sequence's meta; returns the manifest's size."""
    data = json.loads((shot / "shot.json").read_text())
    data["sequences"]["walk"]["meta"]["junk"] = value
    text = json.dumps(data)
    (shot / "shot.json").write_text(text)
    return len(text)


def test_escaped_quote_string_parses_in_linear_memory(shot):
    """Repro 6: a shot.json holding one long string of `\\"` (240 MB took 15 GB in `shot info`; the depth check
    alone 2.5 GB on 20 MB). Here 4 MB: loading peaks at a small multiple of the size, not ~60x."""
    size = _with_meta(shot, '"' * 2_000_000)   # json.dumps writes each quote as \\"
    assert '\\"\\"\\"' in (shot / "shot.json").read_text()
    peak = _peak(lambda: Shot.load(shot, check_files=False))
    assert peak < 6 * size + (24 << 20), (peak, size)


@pytest.mark.parametrize("text", ['"' + '\\"' * 1_500_000 + '"', "[" + "0," * 1_500_000 + "0]",
                                  '["' + 'a","' * 600_000 + 'a"]', "[" * 64 + "]" * 64])
def test_json_shape_memory_is_linear(text):
    """The depth/size check on the bytes themselves: memory a small multiple of the input, whatever it holds."""
    data = text.encode()
    peak = _peak(lambda: limits.json_shape(data))
    assert peak < 3 * len(data) + (24 << 20), (peak, len(data))


def test_json_shape_counts_depth_and_values():
    assert limits.json_shape(b'{"a": "[[[\\\\", "b": [1, 2, {"c": []}], "d": "\\"]]"}') == (4, 8)
    assert limits.json_shape("[" * 70 + "]" * 70) == (70, 70)
    assert limits.json_shape('{"é[": "ü{"}') == (1, 1)


def test_huge_meta_array_is_refused(shot, run_cli):
    """Repro 6: a meta array past limits.MAX_META_ITEMS is one line naming the field (the 50M-element one took
    depth 132 s and 5.2 GB, then was written back at 400 MB)."""
    _with_meta(shot, [0] * (limits.MAX_META_ITEMS + 1))
    before = (shot / "shot.json").read_bytes()
    code, _, err = run_cli("depth", shot, "--model", "tinydepth", "--out", shot, "--overwrite")
    _one_line(code, err, "sequences.walk.meta.junk", str(limits.MAX_META_ITEMS))
    assert (shot / "shot.json").read_bytes() == before


def test_too_many_values_are_refused_before_parsing(shot, run_cli, monkeypatch):
    """Values past limits.MAX_JSON_VALUES are refused on the bytes, before json builds any object."""
    monkeypatch.setattr(limits, "MAX_JSON_VALUES", 5000)
    _with_meta(shot, [[0, 1]] * 3000)
    monkeypatch.setattr(json, "loads", lambda *a, **k: pytest.fail("parsed before the size check"))
    code, _, err = run_cli("shot", "info", shot)
    _one_line(code, err, "shot.json", "values")


def test_a_stage_never_writes_a_manifest_its_loader_refuses(shot, monkeypatch):
    """save() checks the text it is about to write against the loader's limits: over them, nothing is written."""
    s = Shot.load(shot, check_files=False)
    before = (shot / "shot.json").read_bytes()
    monkeypatch.setattr(limits, "MAX_MANIFEST_BYTES", len(before) // 2)
    with pytest.raises(ShotError, match="not written"):
        s.save()
    monkeypatch.undo()
    s.provenance.extra["junk"] = list(range(limits.MAX_META_ITEMS + 1))
    with pytest.raises(ShotError, match="provenance.extra.junk"):
        s.save()
    assert (shot / "shot.json").read_bytes() == before


def test_integral_floats_in_frame_fields_are_accepted(shot, run_cli):
    """Repro 10: `frame_start: 1.0`, `frame_offset: 0.0` (written by other tools) load as the integers they are."""
    edit_manifest(shot, frame_start=1.0, frame_end=3.0, sequences__walk__frame_offset=0.0)
    code, out, err = run_cli("shot", "info", shot)
    assert code == 0, err
    s = Shot.load(shot)
    assert (s.frame_start, s.frame_end, s.sequences["walk"].frame_offset) == (1, 3, 0)
    assert all(isinstance(v, int) for v in (s.frame_start, s.frame_end, s.sequences["walk"].frame_offset))


@pytest.mark.parametrize("field", ["lens_mm", "sensor_mm", "fstop", "clip_end"])
def test_infinite_camera_numbers_are_refused(shot, run_cli, field):
    """Repro 11: `1e999` parses as infinity in JSON; lens, sensor, f-stop (sensor = inf gave AE zoom 0) are one line."""
    data = json.loads((shot / "shot.json").read_text())
    data["camera"] = {"matrices": [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]] * 3,
                      "lens_mm": 50.0, "sensor_mm": 36.0, "fstop": 2.8, "clip_end": 100.0}
    text = json.dumps(data).replace(f'"{field}": {data["camera"][field]}', f'"{field}": 1e999')
    assert "1e999" in text
    (shot / "shot.json").write_text(text)
    code, _, err = run_cli("ae", shot, "--workers", "1")
    _one_line(code, err, "shot.json", "1e999")
    assert not (shot / "ae").exists()


def test_clip_start_after_clip_end_is_refused(shot, run_cli):
    data = json.loads((shot / "shot.json").read_text())
    data["camera"] = {"matrices": [[[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]] * 3,
                      "lens_mm": 50.0, "sensor_mm": 36.0, "clip_start": 50.0, "clip_end": 10.0}
    (shot / "shot.json").write_text(json.dumps(data))
    code, _, err = run_cli("shot", "info", shot)
    _one_line(code, err, "clip_start", "clip_end")
