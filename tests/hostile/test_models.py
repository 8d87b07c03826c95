"""Repros 5, 9, 10 (downloads), 14 (.part splicing) and 7 (--url): the model registry under hostile input."""
from __future__ import annotations

import hashlib
import shutil
import time
from pathlib import Path

import pytest

from hostile.helpers import FileServer, dr, dr_env

import dreamrooms

BUILTIN = Path(dreamrooms.__file__).resolve().parents[2] / "models_onnx"
TINYDEPTH = BUILTIN / "tinydepth.onnx"


@pytest.fixture
def menv(tmp_path):
    mdir = tmp_path / "models"
    mdir.mkdir()
    return mdir, dr_env(DREAMROOMS_MODELS=str(mdir))


@pytest.mark.parametrize("name", ["my depth", "v1.2", "deep.v2 final"])
def test_models_add_odd_names_keep_the_manifest_valid(menv, name):
    """Repro 5: an odd but harmless name is accepted and written as valid TOML; every later command works."""
    mdir, env = menv
    r = dr("models", "add", TINYDEPTH, "--kind", "depth", "--name", name, env=env)
    assert r.code == 0, r.err
    r = dr("models", "list", "--json", env=env)
    assert r.code == 0, r.err
    assert name in r.out
    r = dr("models", "add", TINYDEPTH, "--kind", "depth", "--name", "second", env=env)
    assert r.code == 0, r.err


@pytest.mark.parametrize("name", ['quo"te', "a/b", "..", "take#2", "", "back\\slash", "new\nline"])
def test_models_add_refuses_unsafe_names(menv, name):
    """Names with quotes, separators or `#` are refused in one line, and the manifest stays usable."""
    mdir, env = menv
    dr("models", "add", TINYDEPTH, "--kind", "depth", "--name", name, env=env).refused("--name")
    assert dr("models", "list", env=env).code == 0


def _tampered_copy(dest: Path) -> Path:
    """A valid ONNX file that differs from the shipped one (its doc string changed)."""
    import onnx
    m = onnx.load(str(TINYDEPTH))
    m.doc_string = "tampered"
    onnx.save(m, str(dest))
    return dest


def test_tampered_builtin_model_is_refused(shot, tmp_path):
    """Repro 9: a built-in whose file no longer matches the manifest's sha256 does not run."""
    builtin = tmp_path / "builtin"
    shutil.copytree(BUILTIN, builtin)
    _tampered_copy(builtin / "tinydepth.onnx")
    env = dr_env(DREAMROOMS_BUILTIN_MODELS=str(builtin), DREAMROOMS_MODELS=str(tmp_path / "m"))
    before = (shot / "shot.json").read_bytes()
    dr("depth", shot, "--model", "tinydepth", "--out", shot, "--overwrite", "--near", 2, env=env) \
        .one_line_error("tinydepth.onnx", "sha256")
    assert (shot / "shot.json").read_bytes() == before


def test_tampered_added_model_is_refused(shot, menv):
    """Repro 9: a file swapped after `models add --copy` is caught when it is used."""
    mdir, env = menv
    src = mdir.parent / "mine.onnx"
    shutil.copyfile(TINYDEPTH, src)
    assert dr("models", "add", src, "--kind", "depth", "--name", "mine", "--copy", env=env).code == 0
    _tampered_copy(mdir / "mine.onnx")
    dr("depth", shot, "--model", "mine", "--out", shot, "--overwrite", env=env).one_line_error("mine.onnx", "sha256")


def _fetchable(mdir: Path, payload: bytes, url: str) -> None:
    sha = hashlib.sha256(payload).hexdigest()
    (mdir / "models.toml").write_text(
        f'[models.gen]\nkind = "generator"\nfile = "gen.onnx"\nurl = "{url}"\nsha256 = "{sha}"\nsize = {len(payload)}\n'
        '[models.gen.generator]\nlatent_input = "z"\nlatent_dim = 4\nnative_size = [8, 8]\n')


def test_download_stall_times_out(menv):
    """Repro 10: a server trickling a byte at a time fails after the stall timeout instead of hanging."""
    mdir, env = menv
    srv = FileServer(b"x" * 4096, trickle=0.2)
    try:
        _fetchable(mdir, b"x" * 4096, srv.url)
        env["DREAMROOMS_DOWNLOAD_STALL_S"] = "2"
        t0 = time.monotonic()
        r = dr("models", "fetch", "gen", env=env, timeout=30)
        r.one_line_error("stall")
        assert time.monotonic() - t0 < 20
        assert not (mdir / "gen.onnx").exists()
    finally:
        srv.close()


def test_part_from_another_url_is_not_spliced(menv):
    """Repro 14: a `.part` left by a download from another URL is discarded, not resumed."""
    mdir, env = menv
    payload = bytes(range(256)) * 64
    srv = FileServer(payload)
    try:
        _fetchable(mdir, payload, srv.url)
        (mdir / "gen.onnx.part").write_bytes(b"from a different mirror" * 10)
        r = dr("models", "fetch", "gen", env=env)
        assert r.code == 0, r.err
        assert (mdir / "gen.onnx").read_bytes() == payload
    finally:
        srv.close()


@pytest.mark.parametrize("url", ["not a url", "ftp//x", "http://", "javascript:alert(1)"])
def test_fetch_bad_url_is_one_line(menv, url):
    """Repro 7: --url that is not an http(s) URL gives one line naming --url."""
    mdir, env = menv
    _fetchable(mdir, b"abc", "http://127.0.0.1:9/x.onnx")
    dr("models", "fetch", "gen", "--url", url, env=env).refused("--url")
