"""Downloads against a real HTTP server on 127.0.0.1 serving a project-made ONNX file."""
from __future__ import annotations

import hashlib
import http.server
import socket
import threading
from pathlib import Path

import pytest

from dreamrooms import models
from dreamrooms.models import runtime
from dreamrooms.models import download
from dreamrooms.walk.generator import generator_for
from dreamrooms.commands.main import main as cli_main
from dreamrooms.errors import DreamroomsError

PAYLOAD = (Path(models.builtin_dir()) / "cppn-walk.onnx").read_bytes()
SHA = hashlib.sha256(PAYLOAD).hexdigest()


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        srv = self.server
        srv.requests.append(self.headers.get("Range"))
        data = srv.payload
        start = 0
        rng = self.headers.get("Range")
        if rng and srv.ranges:
            start = int(rng.split("=")[1].split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Type", "application/octet-stream")
        self.end_headers()
        if srv.drops:   # simulate a dropped connection: send part of the body, then close
            srv.drops -= 1
            self.wfile.write(body[:srv.drop_at])
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
            self.close_connection = True
            return
        self.wfile.write(body)


@pytest.fixture
def server():
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.payload = PAYLOAD
    srv.requests = []
    srv.ranges = True
    srv.drops = 0
    srv.drop_at = len(PAYLOAD) // 3
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    srv.url = f"http://127.0.0.1:{srv.server_address[1]}/models/test-model.onnx"
    yield srv
    srv.shutdown()
    srv.server_close()


def write_user_manifest(mdir: Path, url: str, sha: str = SHA, size: int = len(PAYLOAD)):
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "models.toml").write_text(f'''
[models.netgen]
kind = "generator"
file = "netgen.onnx"
url = "{url}"
sha256 = "{sha}"
size = {size}
license = "MIT"

[models.netgen.generator]
latent_input = "z"
latent_dim = 64
grid_input = "grid"
output = "image"
output_range = [0.0, 1.0]
''')


def test_fetch_downloads_verifies_and_opens(server, mdir):
    write_user_manifest(mdir, server.url)
    with pytest.raises(DreamroomsError, match="dreamrooms models fetch netgen"):
        models.resolve("netgen")
    entry = download.fetch("netgen")
    assert entry.path == mdir / "netgen.onnx"
    assert entry.path.read_bytes() == PAYLOAD
    assert not list(mdir.glob("*.part"))
    gen = generator_for(models.resolve("netgen", kind="generator"), device="cpu", threads=1)
    assert gen.render(__import__("numpy").zeros((1, 64), "float32"), (16, 16)).shape == (1, 16, 16, 3)
    # a second fetch is a no-op (no new request)
    n = len(server.requests)
    download.fetch("netgen")
    assert len(server.requests) == n


def test_resume_after_dropped_connection(server, mdir):
    write_user_manifest(mdir, server.url)
    server.drops = 1
    download.fetch("netgen")
    assert (mdir / "netgen.onnx").read_bytes() == PAYLOAD
    # first request from 0, the retry asked for the rest with a Range header
    assert server.requests[0] is None
    assert server.requests[1] == f"bytes={server.drop_at}-"


def test_partial_file_resumes_on_next_run(server, mdir):
    write_user_manifest(mdir, server.url)
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "netgen.onnx.part").write_bytes(PAYLOAD[:1000])
    (mdir / "netgen.onnx.part.url").write_text(server.url)   # the URL that started it
    download.fetch("netgen")
    assert server.requests == ["bytes=1000-"]
    assert (mdir / "netgen.onnx").read_bytes() == PAYLOAD


def test_server_without_range_support_restarts_cleanly(server, mdir):
    write_user_manifest(mdir, server.url)
    server.ranges = False
    mdir.mkdir(parents=True, exist_ok=True)
    (mdir / "netgen.onnx.part").write_bytes(b"garbage" * 50)
    download.fetch("netgen")
    assert (mdir / "netgen.onnx").read_bytes() == PAYLOAD


def test_sha_mismatch_leaves_no_file(server, mdir):
    write_user_manifest(mdir, server.url, sha="0" * 64)
    with pytest.raises(DreamroomsError, match=r"sha256 mismatch for http://127\.0\.0\.1.*deleted"):
        download.fetch("netgen")
    assert list(mdir.glob("netgen*")) == []


def test_server_down_gives_offline_error(mdir):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()   # nothing listens there now
    url = f"http://127.0.0.1:{port}/netgen.onnx"
    write_user_manifest(mdir, url)
    with pytest.raises(DreamroomsError) as exc:
        download.fetch("netgen")
    msg = str(exc.value)
    assert url in msg and "offline" in msg and str(mdir / "netgen.onnx") in msg and SHA in msg
    assert "\n" not in msg
    assert list(mdir.glob("netgen*")) == []


def test_fetch_refuses_unverified_unless_allowed(server, mdir, capsys):
    write_user_manifest(mdir, server.url, sha="", size=0)
    assert cli_main(["models", "fetch", "netgen"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("dreamrooms: error:") and "--allow-unverified" in err
    assert not (mdir / "netgen.onnx").exists() and server.requests == []
    assert cli_main(["models", "fetch", "netgen", "--allow-unverified"]) == 0
    out, err = capsys.readouterr()
    assert "UNVERIFIED" in err and SHA in err
    assert (mdir / "netgen.onnx").read_bytes() == PAYLOAD


def test_public_urls_are_pinned_and_carry_a_hash():
    """Every fetchable public entry names a commit (never a branch) and a sha256 + size to check against."""
    import re

    reg = models.registry()
    public = [e for e in reg.values() if not e.builtin and e.url]
    assert {"midas-v21-small", "depth-anything-v2-small", "moge-2-vits", "depth-anything-3-small"} <= {e.name for e in public}
    for e in public:
        assert len(e.sha256) == 64 and e.size > 0, e.name
        if "huggingface.co" in e.url:
            assert re.search(r"/resolve/[0-9a-f]{40}/", e.url), e.url
    assert reg["depth-anything-v2-small"].sha256 == "afb6a5c28f3b6bf1618c6e43f02073ef9dfdc70e937502d51603e57b0a1df10c"


def test_public_entry_without_url_names_where_to_get_it_before_any_network(mdir):
    with pytest.raises(DreamroomsError, match="onnx-community/depth-anything-v2-large"):
        download.fetch("depth-anything-v2-large")
    assert not mdir.exists() or not any(mdir.iterdir())


def test_download_mirror_url(server, mdir):
    write_user_manifest(mdir, "http://127.0.0.1:9/unreachable.onnx")
    assert cli_main(["models", "fetch", "netgen", "--url", server.url]) == 0
    assert (mdir / "netgen.onnx").read_bytes() == PAYLOAD


def test_low_level_download_size_mismatch(server, tmp_path):
    dest = tmp_path / "x.onnx"
    with pytest.raises(DreamroomsError, match="manifest says 5"):
        download.download(server.url, dest, sha256=SHA, size=5)
    assert not dest.exists() and not list(tmp_path.iterdir())
