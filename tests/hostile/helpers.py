"""Helpers of the hostile-input suite: run `python -m dreamrooms` as users do, check the one-line error
contract, snapshot folders, tamper with shot.json."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dreamrooms

CORE = Path(dreamrooms.__file__).resolve().parents[1]
TIMEOUT = 120


@dataclass
class Result:
    code: int
    out: str
    err: str

    def one_line_error(self, *mentions: str) -> str:
        """Assert the contract for bad input: exit 1, exactly one `dreamrooms: error:` line, no traceback,
        naming every `mentions`; returns the line."""
        assert "Traceback" not in self.err, self.err
        assert self.code == 1, (self.code, self.err)
        lines = [ln for ln in self.err.splitlines() if ln.startswith("dreamrooms: error:")]
        assert len(lines) == 1, self.err
        for m in mentions:
            assert m in lines[0], (m, lines[0])
        return lines[0]

    def refused(self, *mentions: str) -> str:
        """Like one_line_error, but a bad command-line value may also be a usage error (exit 2, argparse's
        `dreamrooms CMD: error: argument FLAG: ...` line after the usage)."""
        if self.code == 2:
            assert "Traceback" not in self.err, self.err
            lines = [ln for ln in self.err.splitlines() if ": error: " in ln]
            assert len(lines) == 1, self.err
            for m in mentions:
                assert m in lines[0], (m, lines[0])
            return lines[0]
        return self.one_line_error(*mentions)


def dr_env(**extra: str) -> dict:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(CORE), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env["DREAMROOMS_PROGRESS"] = "none"
    env.update(extra)
    return env


def one_line(code: int, err: str, *mentions: str) -> str:
    """The bad-input contract for an in-process run's (exit code, stderr): see Result.one_line_error."""
    return Result(code, "", err).one_line_error(*mentions)


def dr(*args, cwd=None, env=None, timeout=TIMEOUT) -> Result:
    """Run `python -m dreamrooms ARGS` in a fresh process."""
    p = subprocess.run([sys.executable, "-m", "dreamrooms", *map(str, args)], cwd=cwd, env=env or dr_env(),
                       capture_output=True, text=True, timeout=timeout)
    return Result(p.returncode, p.stdout, p.stderr)


def snapshot(folder: Path) -> dict:
    """Every path under `folder` with its content (what a run must not change)."""
    out = {}
    for p in sorted(folder.rglob("*")):
        out[str(p.relative_to(folder))] = p.read_bytes() if p.is_file() else "dir"
    return out


def edit_manifest(shot: Path, **changes) -> dict:
    """Apply `changes` to shot.json (dotted keys reach into nested objects: `sequences.depth.pattern`)."""
    path = shot / "shot.json"
    data = json.loads(path.read_text())
    for key, value in changes.items():
        *parents, last = key.split("__")
        node = data
        for p in parents:
            node = node[p]
        node[last] = value
    path.write_text(json.dumps(data))
    return data


def drop_sequence(shot: Path, name: str) -> None:
    path = shot / "shot.json"
    data = json.loads(path.read_text())
    data["sequences"].pop(name)
    path.write_text(json.dumps(data))


class FileServer:
    """A local HTTP server for one payload that honours `Range: bytes=N-` (206), optionally trickling
    one byte every `trickle` seconds (a server that never quite stops)."""

    def __init__(self, payload: bytes, trickle: float = 0.0):
        import http.server
        import threading

        outer = self
        self.payload, self.trickle = payload, trickle

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                import time
                start = 0
                rng = self.headers.get("Range", "")
                if rng.startswith("bytes="):
                    start = int(rng[6:].split("-")[0])
                body = outer.payload[start:]
                self.send_response(206 if start else 200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if outer.trickle:
                        for i in range(len(body)):
                            self.wfile.write(body[i:i + 1])
                            self.wfile.flush()
                            time.sleep(outer.trickle)
                    else:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/model.onnx"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()



def snapshot_full(folder: Path) -> dict:
    """Every path under `folder` (symlinks not followed) with its content, mode and mtime: what a run must leave
    exactly as it was."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = p.lstat()
        body = os.readlink(p) if p.is_symlink() else (p.read_bytes() if p.is_file() else "dir")
        out[str(p.relative_to(folder))] = (body, st.st_mode, st.st_mtime_ns)
    return out
