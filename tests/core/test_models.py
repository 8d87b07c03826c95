"""The registry: manifest loading, models dir, resolve by name/path, `dreamrooms models list/add`."""
from __future__ import annotations

import json
import shutil
import sys
import tomllib

import numpy as np
import pytest

from dreamrooms import models
from dreamrooms.models import runtime
from dreamrooms.commands.main import main as cli_main
from dreamrooms.errors import DreamroomsError

from test_sessions import make_depth_onnx, run_depth  # noqa: E402


def test_models_dir_precedence(tmp_path, monkeypatch):
    monkeypatch.delenv("DREAMROOMS_MODELS", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    if sys.platform.startswith("linux"):
        assert models.models_dir() == tmp_path / "xdg" / "dreamrooms" / "models"
    monkeypatch.setenv("DREAMROOMS_MODELS", str(tmp_path / "env"))
    assert models.models_dir() == tmp_path / "env"
    assert models.models_dir(tmp_path / "pref") == tmp_path / "pref"   # the add-on preference wins


def test_builtin_manifest_lists_required_models_with_licenses():
    reg = models.registry()
    for name in ("tinydepth", "cppn-walk", "midas-v21-small", "depth-anything-v2-small"):
        assert name in reg
    assert reg["tinydepth"].builtin and reg["tinydepth"].installed and reg["tinydepth"].kind == "depth"
    assert reg["cppn-walk"].builtin and reg["cppn-walk"].installed and reg["cppn-walk"].kind == "generator"
    assert reg["midas-v21-small"].license == "MIT" and reg["midas-v21-small"].input["size"] == [256, 256]
    assert reg["depth-anything-v2-small"].license == "Apache-2.0"
    for big in ("depth-anything-v2-base", "depth-anything-v2-large"):
        assert "NC" in reg[big].license and reg[big].noncommercial
    # built-in files match the sha256/size recorded in the manifest
    for name in ("tinydepth", "cppn-walk"):
        e = reg[name]
        assert e.sha256 and e.size == e.path.stat().st_size
        assert models.sha256_file(e.path) == e.sha256, f"{name}: rerun `python3 build.py models`"
        assert e.card and e.card.exists() and "License" in e.card.read_text()
    # public models are fetched over https and checked against a published sha256
    assert all(not reg[n].builtin and reg[n].url.startswith("https://") and len(reg[n].sha256) == 64
               for n in ("midas-v21-small", "depth-anything-v2-small"))


def test_resolve_errors(mdir):
    with pytest.raises(DreamroomsError, match=r"model 'cppn-walk' is a generator, not a depth model"):
        models.resolve("cppn-walk", kind="depth")
    with pytest.raises(DreamroomsError, match=r"model 'tinydepth' is a depth model, not a generator"):
        models.resolve("tinydepth", kind="generator")
    with pytest.raises(DreamroomsError,
                       match=r"'depth-anything-v2-small' is not installed; run `dreamrooms models fetch depth-anything-v2-small` or put the file at .*depth_anything_v2_small\.onnx"):
        models.resolve("depth-anything-v2-small", kind="depth")
    with pytest.raises(DreamroomsError, match=r"unknown model 'nosuch'.*tinydepth"):
        models.resolve("nosuch", kind="depth")
    with pytest.raises(DreamroomsError, match=r"does not exist"):
        models.resolve(str(mdir / "missing.onnx"))
    # a manually placed file makes a public model installed
    mdir.mkdir(parents=True)
    shutil.copy(make_depth_onnx(mdir / "tmp.onnx", in_shape=(1, 3, 256, 256)), mdir / "midas_v21_small_256.onnx")
    e = models.resolve("midas-v21-small", kind="depth")
    assert e.installed and e.path == mdir / "midas_v21_small_256.onnx"


def test_resolve_user_path_infers_depth_io(tmp_path, mdir):
    p = make_depth_onnx(tmp_path / "mine.onnx", in_name="input", out_name="out")
    e = models.resolve(str(p), kind="depth")
    assert e.kind == "depth" and e.input["name"] == "input" and e.output["semantics"] == "inverse_relative"
    assert e.input["multiple_of"] and not e.builtin and e.path == p
    ms = runtime.open_session(e, device="cpu", threads=1)
    assert run_depth(ms, np.full((40, 60, 3), 0.25, np.float32)).shape == (40, 60)
    fixed = make_depth_onnx(tmp_path / "fixed.onnx", in_shape=(1, 3, 96, 128))
    assert models.resolve(str(fixed)).input["size"] == [96, 128]
    with pytest.raises(DreamroomsError, match=r"needs a manifest entry.*models add"):
        models.resolve(str(p), kind="generator")
    # not inferable: rank-3 input
    bad = make_depth_onnx(tmp_path / "bad.onnx", in_shape=("N", 3, "H"))
    with pytest.raises(DreamroomsError, match=r"bad\.onnx: input 'image' is Nx3xH float; a depth model needs"):
        models.resolve(str(bad))
    # a path to a built-in resolves to the built-in entry
    assert models.resolve(str(models.resolve("tinydepth").path)).name == "tinydepth"


def test_malformed_manifest_errors(tmp_path, mdir):
    mdir.mkdir(parents=True)
    man = mdir / "models.toml"
    man.write_text('[models.x]\nkind = "depth"\nfile = "x.onnx"\n[models.x.input]\nname = "i"\n'
                   '[models.x.output]\nsemantics = "inverse_relative"\n')
    with pytest.raises(DreamroomsError, match=r"models\.toml: \[models\.x\] input needs either size"):
        models.registry()
    man.write_text('[models.x]\nkind = "video"\nfile = "x.onnx"\n')
    with pytest.raises(DreamroomsError, match=r"\[models\.x\] kind = 'video'; use one of depth, generator"):
        models.registry()
    man.write_text('[models.x\nkind = 1')
    with pytest.raises(DreamroomsError, match=r"not valid TOML"):
        models.registry()


def test_cli_list(mdir, capsys):
    assert cli_main(["models", "list"]) == 0
    out = capsys.readouterr().out
    lines = {l.split()[0]: l for l in out.splitlines() if l.strip()}
    assert "built-in" in lines["tinydepth"] and "built-in" in lines["cppn-walk"]
    assert "fetchable" in lines["depth-anything-v2-small"] and "Apache-2.0" in lines["depth-anything-v2-small"]
    assert "fetchable" in lines["midas-v21-small"] and "MIT" in lines["midas-v21-small"]
    assert str(mdir) in out
    assert cli_main(["models", "list", "--json", "--kind", "generator"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [d["name"] for d in data] == ["cppn-walk"] and data[0]["installed"] and data[0]["size"] > 1000


def test_cli_add_depth_and_generator(tmp_path, mdir, capsys):
    p = make_depth_onnx(tmp_path / "my depth.onnx", in_name="input", out_name="disp")
    assert cli_main(["models", "add", str(p), "--kind", "depth", "--name", "mydepth", "--multiple-of", "16",
                     "--target", "192", "--normalization-in-graph", "--license", "CC0"]) == 0
    assert "added mydepth" in capsys.readouterr().out
    data = tomllib.loads((mdir / "models.toml").read_text())
    t = data["models"]["mydepth"]
    assert t["input"]["multiple_of"] == 16 and t["input"]["target"] == 192 and t["input"]["normalization_in_graph"]
    assert t["output"]["name"] == "disp" and t["license"] == "CC0" and len(t["sha256"]) == 64
    e = models.resolve("mydepth", kind="depth")
    assert e.path == p.resolve() and runtime.open_session(e, device="cpu", threads=1).output_name == "disp"
    # listed as installed
    assert cli_main(["models", "list"]) == 0
    assert any(l.startswith("mydepth") and "installed" in l for l in capsys.readouterr().out.splitlines())
    # same name again needs --force
    assert cli_main(["models", "add", str(p), "--kind", "depth", "--name", "mydepth"]) == 1
    assert "--force" in capsys.readouterr().err
    # generator with --copy into the models dir
    src = models.resolve("cppn-walk").path
    assert cli_main(["models", "add", str(src), "--kind", "generator", "--name", "mycppn", "--copy",
                     "--latent-dim", "64", "--grid-input", "grid"]) == 0
    g = models.resolve("mycppn", kind="generator")
    assert g.path == mdir / "cppn-walk.onnx" and g.path.read_bytes() == src.read_bytes()
    assert models.resolve("mydepth").kind == "depth"   # the first entry is still there


def test_cli_add_rejects_mismatch_without_writing(tmp_path, mdir, capsys):
    p = make_depth_onnx(tmp_path / "fixed.onnx", in_shape=(1, 3, 518, 518))
    assert cli_main(["models", "add", str(p), "--kind", "depth", "--multiple-of", "32", "--target", "256"]) == 1
    err = capsys.readouterr().err
    assert "expects 1x3x518x518 float, manifest says multiple of 32" in err and err.count("\n") == 1
    assert not (mdir / "models.toml").exists()
    src = models.resolve("cppn-walk").path
    assert cli_main(["models", "add", str(src), "--kind", "generator", "--name", "gen32", "--latent-dim", "32",
                     "--grid-input", "grid"]) == 1
    assert "latent_dim 32" in capsys.readouterr().err
    assert not (mdir / "models.toml").exists()
    assert cli_main(["models", "add", str(tmp_path / "nope.onnx"), "--kind", "depth"]) == 1
    assert "no such file" in capsys.readouterr().err
    assert cli_main(["models", "add", str(src), "--kind", "depth", "--name", "tinydepth"]) == 1
    assert "built-in" in capsys.readouterr().err
