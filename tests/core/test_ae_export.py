"""`dreamrooms ae`: re-layered sequences, depth mapping, resume, the generated script's data."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from dreamrooms.shot import exr
from dreamrooms.ae import relayer as rl
from dreamrooms.ae import script as sc
from dreamrooms.errors import DreamroomsError

from _ae_fixtures import ROOT, ms, run_cli  # noqa: E402


def script_data(path: Path) -> dict:
    text = path.read_text(encoding="ascii")
    return json.loads(text[text.index("dreamrooms.run(") + 15:text.rindex(", $.fileName);")])


def test_blender_multipart_render_is_relayered(tmp_path, capsys):
    shot = ms.make_blender_shot(tmp_path / "s", "room")
    assert run_cli(shot.folder, "--depth-range", "2,8", "--blur-map", "linear") == 0
    ae = shot.folder / "ae"
    for f in shot.frames:
        i = f - shot.frame_start
        rgba, depth, _ = ms.frame_pixels(shot.width, shot.height, i)
        beauty = ae / "beauty" / f"room.{f:04d}.exr"
        got = exr.read_frame(beauty)
        assert set(got) == {"RGBA", "depth.Z"}
        types = {c.name: c.type for c in exr.info(beauty).channels}
        assert types == {"R": "half", "G": "half", "B": "half", "A": "half", "depth.Z": "float"}
        np.testing.assert_allclose(got["RGBA"], rgba.astype(np.float16), atol=1e-3)
        np.testing.assert_array_equal(got["depth.Z"], depth.astype(np.float32))
        dmap = exr.read_frame(ae / "map" / f"room_map.{f:04d}.exr")["RGB"]
        expect = np.clip((8 - depth) / 6, 0, 1)
        expect[0, 0] = 0  # Blender's 1e10 background is black (far)
        np.testing.assert_allclose(dmap[..., 0], expect, atol=1e-3)
        np.testing.assert_array_equal(dmap[..., 0], dmap[..., 2])
        if i == 0:
            assert dmap[5, 0, 0] == pytest.approx(1.0)  # depth 2 = near = white
    assert not list(ae.rglob("*.tmp"))
    data = script_data(ae / "shot.jsx")
    assert data["maps"] == {"kind": "linear", "near": 2.0, "far": 8.0, "white": "near",
                            "formula": "clip((far - depth) / (far - near), 0, 1)"}
    assert [f["path"] for f in data["footage"]] == [["beauty", "room.0001.exr"], ["map", "room_map.0001.exr"]]
    assert data["footage"][0]["last_path"] == ["beauty", "room.0004.exr"]
    # focus distance 4.0 + 0.1 i m -> map value (8 - d) / 6 (0..1), keyed per frame
    focus = data["depth_blur"]["focus"]
    assert focus["values"] == pytest.approx([(8 - (4 + 0.1 * i)) / 6 for i in range(4)], abs=1e-6)
    # camera: 50 mm / 36 mm, 40 px wide -> zoom 55.56, static -> one value
    assert data["camera"]["zoom"] == {"times": [0.0], "values": [pytest.approx(50 * 40 / 36, abs=1e-5)]}
    pos = data["camera"]["position"]
    assert pos["times"] == pytest.approx([0, 1 / 25, 2 / 25, 3 / 25])
    assert pos["values"][0] == pytest.approx([20, 12 - 150, -500])
    assert (ae / "dreamrooms.jsxinc").read_bytes() == (ROOT / "ae_scripts" / "dreamrooms.jsxinc").read_bytes()


def test_auto_depth_range_uses_robust_percentiles_and_straight_alpha_is_premultiplied(tmp_path):
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2, camera=False)
    shot.sequences["layers"].premultiplied = False
    shot.save()
    src = rl.find_sources(shot)
    assert (src.beauty_seq, src.beauty_key, src.depth_key) == ("layers", "RGBA", "depth.Z")
    assert src.masks == {"mask": ("layers", "mask.A")}
    near, far = rl.depth_range(shot, src)
    valid = []
    for i in range(2):
        d = ms.frame_pixels(shot.width, shot.height, i)[1][::2, ::2]
        valid.append(d[d < 1e9])
    np.testing.assert_allclose([near, far], np.percentile(np.concatenate(valid), [1, 99]), rtol=1e-6)
    assert run_cli(shot.folder) == 0
    rgba, _, mask = ms.frame_pixels(shot.width, shot.height, 0)
    got = exr.read_frame(shot.folder / "ae" / "beauty" / "walk.0001.exr")["RGBA"]
    np.testing.assert_allclose(got[..., 0], (rgba[..., 0] * rgba[..., 3]).astype(np.float16), atol=1e-3)
    m = exr.read_frame(shot.folder / "ae" / "mask_mask" / "walk_mask.0001.exr")
    assert list(m) == ["A"]
    np.testing.assert_array_equal(m["A"], mask)
    data = script_data(shot.folder / "ae" / "shot.jsx")
    assert data["camera"] is None
    assert [f["role"] for f in data["footage"]] == ["beauty", "map", "mask"]


def test_rerun_resumes_and_a_changed_mapping_redoes_everything(tmp_path):
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=4)
    assert run_cli(shot.folder, "--depth-range", "1,10", "--blur-map", "linear") == 0
    ae = shot.folder / "ae"
    files = sorted(p for p in ae.rglob("*.exr"))
    assert len(files) == 12
    stamp = {p: p.stat().st_mtime_ns for p in files}
    victim = ae / "map" / "walk_map.0003.exr"
    victim.write_bytes(victim.read_bytes()[:100])  # a torn frame from a killed run
    assert run_cli(shot.folder, "--depth-range", "1,10", "--blur-map", "linear") == 0
    changed = [p for p in files if p.stat().st_mtime_ns != stamp[p]]
    assert changed == [victim] or set(changed) <= {victim, ae / "beauty" / "walk.0003.exr", ae / "mask_mask" / "walk_mask.0003.exr"}
    assert victim in changed and exr.is_complete(victim)
    stamp = {p: p.stat().st_mtime_ns for p in files}
    assert run_cli(shot.folder, "--depth-range", "1,20", "--blur-map", "linear") == 0
    assert all(p.stat().st_mtime_ns != stamp[p] for p in files)
    d = exr.read_frame(ae / "map" / "walk_map.0001.exr")["RGB"][5, 0, 0]
    assert d == pytest.approx((20 - 2.0) / 19, abs=1e-3)


def test_generated_script_is_ascii_with_hostile_names():
    name = 'q"\\\n*/ </script> \u2028\u2029 é 漢 😀'
    data = sc.base_data(name, {"name": name}, 24.0)
    text = sc.script_text(data)
    assert text.isascii()
    assert "\\u2028" in text and "\\u2029" in text and "\\ud83d\\ude00" in text
    assert text.startswith('//@target aftereffects\n//@include "dreamrooms.jsxinc"\n')
    body = text[text.index("dreamrooms.run(") + 15:text.rindex(", $.fileName);")]
    assert json.loads(body)["comp"]["name"] == name
    # the name appears only inside the JSON string literal, escaped
    assert text.count("*/") == 2 and '"q\\"\\\\\\n*/ </script>' in text
    data["comp"]["fps"] = float("nan")
    with pytest.raises(DreamroomsError, match="non-finite"):
        sc.data_literal(data)


def test_bad_input_is_one_line_error_and_no_output(tmp_path, capsys):
    assert run_cli(tmp_path / "nope") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("dreamrooms: error:") and "shot.json" in err[0]
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    assert run_cli(shot.folder, "--beauty", "nosuch") == 1
    assert "nosuch" in capsys.readouterr().err
    assert not (shot.folder / "ae").exists()
    with pytest.raises(SystemExit) as exc:
        run_cli(shot.folder, "--depth-range", "5,1")
    assert exc.value.code == 2
    # a shot without colour cannot be exported
    shot.sequences = {"depth": shot.sequences["layers"]}
    shot.sequences["depth"].channels = ["depth.Z"]
    with pytest.raises(DreamroomsError, match="no sequence with RGBA"):
        rl.find_sources(shot)


def test_command_line_entry_point(tmp_path):
    shot = ms.make_layers_shot(tmp_path / "s", "walk", frames=2)
    out = tmp_path / "elsewhere"
    r = subprocess.run([sys.executable, "-m", "dreamrooms", "--progress", "json", "ae", str(shot.folder), "--out", str(out),
                        "--comp-name", "My comp", "--no-camera", "--grain"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert Path(r.stdout.strip()) == out / "shot.jsx"
    assert any(json.loads(l).get("event") for l in r.stderr.splitlines() if l.startswith("{"))
    data = script_data(out / "shot.jsx")
    assert data["comp"]["name"] == "My comp"
    assert data["options"]["camera"] is False and data["options"]["grain"] is True
    assert (out / "beauty" / "My_comp.0002.exr").is_file()   # no spaces in file names (issue 26 defect 11)
