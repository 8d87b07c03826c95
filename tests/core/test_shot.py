"""shot.json: round trip, atomic save, and a one-line error naming the field for each malformed case."""
from __future__ import annotations

import json

import numpy as np
import pytest

from dreamrooms.shot import exr
from dreamrooms.errors import ShotError
from dreamrooms.shot import SCHEMA_VERSION, Shot, frame_file
from shot_helpers import make_shot


def test_round_trip(tmp_path):
    shot = make_shot(tmp_path)
    back = Shot.load(tmp_path)
    assert back == shot
    assert back.frame_path("layers", 2) == tmp_path / "layers" / "t.0002.exr"
    assert back.camera.lens_at(1) == 35.0
    assert back.provenance.models[0] == {"name": "tinydepth", "sha256": "ab" * 32, "stabilize": "keyframe"}
    data = json.loads((tmp_path / "shot.json").read_text())
    assert data["schema_version"] == SCHEMA_VERSION and data["resolution"] == [16, 8]


def test_colorspace_is_one_enum_and_old_names_still_load(tmp_path):
    """Depth is "data" whoever wrote it; a shot the Blender builder saved with "non-color" loads as "data"."""
    make_shot(tmp_path)
    data = json.loads((tmp_path / "shot.json").read_text())
    data["sequences"]["layers"]["colorspace"] = "non-color"
    (tmp_path / "shot.json").write_text(json.dumps(data))
    shot = Shot.load(tmp_path)
    assert shot.sequences["layers"].colorspace == "data"
    shot.save()
    assert json.loads((tmp_path / "shot.json").read_text())["sequences"]["layers"]["colorspace"] == "data"
    with pytest.raises(ShotError, match="colorspace 'srgb'"):
        shot.add_sequence("odd", "odd/x.####.exr", ["Y"], colorspace="srgb")


def test_frame_file_padding():
    assert frame_file("a/b.####.exr", 7) == "a/b.0007.exr"
    assert frame_file("a/b.##.exr", 123) == "a/b.123.exr"


def _corrupt(tmp_path, mutate):
    make_shot(tmp_path)
    data = json.loads((tmp_path / "shot.json").read_text())
    mutate(data)
    (tmp_path / "shot.json").write_text(json.dumps(data))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d.update(fps="24"), r"field fps: '24' is not of type 'number'"),
    (lambda d: d.pop("fps"), r"'fps' is a required property"),
    (lambda d: d.update(schema_version=99), r"schema_version 99 is not supported"),
    (lambda d: d.update(resolution=[16]), r"field resolution"),
    (lambda d: d["sequences"]["layers"].update(pattern="no-hashes.exr"), r"field sequences.layers.pattern"),
    (lambda d: d["sequences"]["layers"].update(channels="RGBA"), r"field sequences.layers.channels"),
    (lambda d: d["camera"].update(sensor_fit="DIAGONAL"), r"field camera.sensor_fit"),
    (lambda d: d["sequences"]["layers"].update(colorspace="sRGB"), r"field sequences.layers.colorspace"),
    (lambda d: d["camera"]["matrices"][1].pop(), r"field camera.matrices\[1\]"),
    (lambda d: d["camera"].update(matrices=d["camera"]["matrices"][:2]), r"camera.matrices has 2 matrices for 3 frames"),
    (lambda d: d.update(frame_end=0), r"frame_end \(0\) is before frame_start"),
    (lambda d: d.update(frame_end=4, camera=None), r"sequences.layers: frame 4 missing .*t.0004.exr"),
])
def test_malformed_manifest_names_the_field(tmp_path, mutate, message):
    _corrupt(tmp_path, mutate)
    with pytest.raises(ShotError, match=message) as info:
        Shot.load(tmp_path)
    assert "\n" not in str(info.value) and "shot.json" in str(info.value)


def test_nan_in_matrix(tmp_path):
    make_shot(tmp_path)
    text = (tmp_path / "shot.json").read_text()
    data = json.loads(text)
    data["camera"]["matrices"][2][0][3] = float("nan")
    (tmp_path / "shot.json").write_text(json.dumps(data))  # Python writes the NaN token
    with pytest.raises(ShotError, match=r"NaN is not allowed"):
        Shot.load(tmp_path)
    # a NaN smuggled in through the API is caught by from_dict with its exact place
    data["camera"]["matrices"][2][0][3] = float("nan")
    with pytest.raises(ShotError, match=r"camera.matrices\[2\]\[0\]\[3\] is nan"):
        Shot.from_dict(data)


def test_missing_and_broken_files(tmp_path):
    with pytest.raises(ShotError, match=r"shot.json: not found"):
        Shot.load(tmp_path)
    (tmp_path / "shot.json").write_text("{ not json")
    with pytest.raises(ShotError, match=r"not valid JSON"):
        Shot.load(tmp_path)


def test_wrong_type_at_top(tmp_path):
    (tmp_path / "shot.json").write_text("[1, 2]")
    with pytest.raises(ShotError, match="top level must be an object"):
        Shot.load(tmp_path)


def test_check_files_can_be_skipped_for_stages_in_progress(tmp_path):
    make_shot(tmp_path, with_files=False)
    with pytest.raises(ShotError, match="frame 1 missing"):
        Shot.load(tmp_path)
    assert Shot.load(tmp_path, check_files=False).frame_count == 3


def test_save_is_atomic(tmp_path, monkeypatch):
    shot = make_shot(tmp_path)
    before = (tmp_path / "shot.json").read_text()
    shot.fps = float("nan")  # cannot be serialised: save must fail and leave the old manifest
    with pytest.raises(ValueError):
        shot.save()
    assert (tmp_path / "shot.json").read_text() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
