"""Round two, defects 7, 8 and 9 of issue 24: the hash cache cannot be fooled by `touch -r`, downloads stop at the
manifest's size, malformed headers are one line, models.toml `file` stays in the models folder, and a user entry
cannot silently replace a built-in."""
from __future__ import annotations

import hashlib
import http.server
import json
import os
import threading
from pathlib import Path

import pytest

from dreamrooms.models import download as dl
from dreamrooms.models.download import DownloadError
from hostile.helpers import snapshot_full
from hostile.helpers import one_line as _one_line

import dreamrooms

TINYDEPTH = Path(dreamrooms.__file__).resolve().parents[2] / "models_onnx" / "tinydepth.onnx"




def test_touch_r_cannot_restore_a_cached_hash(tmp_path, run_cli, mdir, shot):
    """Repro 7: overwrite an added model's bytes in place and restore its mtime with `touch -r`: the next run
    hashes it again (ctime moved) and refuses it, instead of trusting the cache and recording the old hash."""
    mine = tmp_path / "mine.onnx"
    mine.write_bytes(TINYDEPTH.read_bytes())
    code, _, err = run_cli("models", "add", mine, "--kind", "depth", "--name", "mine")
    assert code == 0, err
    code, _, err = run_cli("depth", shot, "--model", "mine", "--out", shot, "--overwrite")
    assert code == 0, err     # hashed once, now cached
    st = mine.stat()
    import onnx
    data = bytearray(mine.read_bytes())
    weights = max(onnx.load(str(mine)).graph.initializer, key=lambda t: len(t.raw_data)).raw_data
    at = data.find(weights[:64])
    assert at > 0
    data[at + 40] ^= 0x01            # one weight changed: same size, still a valid model
    with open(mine, "r+b") as fh:    # in place: same inode, same size; only ctime moves
        fh.write(data)
    os.utime(mine, ns=(st.st_atime_ns, st.st_mtime_ns))   # what `touch -r` does
    assert (mine.stat().st_mtime_ns, mine.stat().st_ino, mine.stat().st_size) == (st.st_mtime_ns, st.st_ino, st.st_size)
    code, _, err = run_cli("depth", shot, "--model", "mine", "--out", shot, "--overwrite")
    _one_line(code, err, "sha256", "mine")


class _Server:
    """127.0.0.1 only: GET sends `length` bytes with the given Content-Length header (None: no header, the body
    ends when the connection closes); counts what it managed to send."""

    def __init__(self, length: int, header: str | None):
        outer = self
        self.sent = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, *a):
                pass

            def do_GET(self):
                self.send_response(200)
                if header is not None:
                    self.send_header("Content-Length", header)
                self.end_headers()
                block = b"x" * 65536
                try:
                    while outer.sent < length:
                        self.wfile.write(block)
                        outer.sent += len(block)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/m.onnx"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize("header", [None, "3000000"])
def test_download_stops_at_the_manifest_size(tmp_path, header):
    """Repro 8: size 1000 in the manifest, a server streaming 3 MB (the repro's 30 MB, smaller): at most 1000 bytes
    reach the disk, then one line; nothing is left (no file, no .part)."""
    srv = _Server(3_000_000, header)
    written = []
    real_write = open

    class Spy:   # every write the download makes to its .part file
        def __init__(self, fh):
            self.fh = fh

        def write(self, b):
            written.append(len(b))
            return self.fh.write(b)

        def __getattr__(self, name):
            return getattr(self.fh, name)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

    def spy_open(path, mode="r", *a, **k):
        fh = real_write(path, mode, *a, **k)
        return Spy(fh) if ("a" in mode or "w" in mode) else fh
    try:
        dl.open = spy_open
        with pytest.raises(DownloadError, match="1000") as exc:
            dl.download(srv.url, tmp_path / "m.onnx", sha256="0" * 64, size=1000, retries=0, timeout=5)
    finally:
        del dl.open
        srv.close()
    assert "\n" not in str(exc.value)
    assert sum(written) <= 1000
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_malformed_content_length_is_one_line(tmp_path):
    srv = _Server(100, "abc")
    try:
        with pytest.raises(DownloadError, match="Content-Length 'abc'"):
            dl.download(srv.url, tmp_path / "m.onnx", sha256="0" * 64, size=100, retries=0, timeout=5)
    finally:
        srv.close()


@pytest.mark.parametrize("file", [".", "..", "../elsewhere.onnx", "/abs/x.onnx", "a/../../x.onnx", "C:x.onnx",
                                  "dir\\x.onnx", ""])
@pytest.mark.parametrize("where", ["graph", "data", "no-url"])
def test_models_toml_file_is_a_name_in_the_models_folder(tmp_path, run_cli, mdir, file, where):
    """Repro 9: `file = "."` (graph or [[data]]), `../elsewhere.onnx`, absolute: one line for every entry, nothing
    written, and no `<models dir>.part` beside the folder."""
    mdir.mkdir()
    graph = file if where != "data" else "evil.onnx"
    url = 'url = "http://127.0.0.1:9/x.onnx"\n' if where != "no-url" else ""
    data = f'[[models.evil.data]]\nfile = {json.dumps(file)}\n' if where == "data" else ""
    (mdir / "models.toml").write_text(
        f'[models.evil]\nkind = "generator"\nfile = {json.dumps(graph)}\n{url}sha256 = "{"0" * 64}"\nsize = 10\n'
        + '[models.evil.generator]\nlatent_input = "z"\nlatent_dim = 4\nnative_size = [8, 8]\n' + data)
    before = snapshot_full(tmp_path)
    code, _, err = run_cli("models", "fetch", "evil")
    _one_line(code, err, "models.toml", "evil")
    assert snapshot_full(tmp_path) == before


def test_user_entry_named_like_a_builtin_must_say_so(tmp_path, run_cli, mdir):
    """Repro 9: a user entry `tinydepth` no longer silently replaces the built-in: one line, unless the entry says
    `replaces_builtin = true` (then it is used)."""
    mdir.mkdir()
    other = tmp_path / "other.onnx"
    other.write_bytes(TINYDEPTH.read_bytes())
    sha = hashlib.sha256(other.read_bytes()).hexdigest()
    entry = (f'[models.tinydepth]\nkind = "depth"\nfile = "other.onnx"\npath = "{other}"\nsha256 = "{sha}"\n'
             '[models.tinydepth.input]\nsize = [64, 64]\nnormalization_in_graph = true\n'
             '[models.tinydepth.output]\nsemantics = "inverse_relative"\n')
    (mdir / "models.toml").write_text(entry)
    code, _, err = run_cli("models", "list")
    _one_line(code, err, "tinydepth", "built-in", "replaces_builtin")
    (mdir / "models.toml").write_text(entry.replace('kind = "depth"\n', 'kind = "depth"\nreplaces_builtin = true\n'))
    from dreamrooms.models.registry import registry
    assert registry()["tinydepth"].path == other


def test_models_add_in_place_writes_path_and_a_plain_file(tmp_path, run_cli, mdir):
    """`models add` without --copy records the user's own file as `path`; `file` stays a plain name."""
    import tomllib
    mine = tmp_path / "mine.onnx"
    mine.write_bytes(TINYDEPTH.read_bytes())
    code, _, err = run_cli("models", "add", mine, "--kind", "depth", "--name", "mine")
    assert code == 0, err
    table = tomllib.loads((mdir / "models.toml").read_text())["models"]["mine"]
    assert table["file"] == "mine.onnx" and table["path"] == str(mine)
