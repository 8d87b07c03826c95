#!/usr/bin/env python3
"""dreamrooms' one entry point: setup, test, demo, models, extension, bench.

Standard library only at the top level: this file runs before any dependency is installed.
`setup` makes `.venv` from `requirements.lock` (idempotent: a stamp of the inputs skips the work
when nothing changed) and installs the AE test tools with npm; every other command runs setup
first, then does its job inside the venv.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
STAMP = VENV / ".setup-stamp"
AE_TESTS = ROOT / "tests" / "ae"
REQUIRED_PYTHON = (3, 11)
SETUP_INPUTS = ("requirements.lock", "pyproject.toml", "setup.py", "tests/ae/package.json", "tests/ae/package-lock.json")


def log(msg: str) -> None:
    print(f"[build] {msg}", flush=True)


def venv_python() -> Path:
    return VENV / ("Scripts/python.exe" if os.name == "nt" else "bin/python")


def run(cmd: list[str | os.PathLike], **kw) -> int:
    return subprocess.call([str(c) for c in cmd], **kw)


def check(cmd: list[str | os.PathLike], **kw) -> None:
    rc = run(cmd, **kw)
    if rc != 0:
        sys.exit(f"[build] failed ({rc}): {' '.join(map(str, cmd))}")


def find_python311() -> str:
    """bpy 5.0 exists only for Python 3.11: use this interpreter if it is 3.11, else look for one."""
    if sys.version_info[:2] == REQUIRED_PYTHON:
        return sys.executable
    for name in ("python3.11",):
        found = shutil.which(name)
        if found:
            return found
    sys.exit("[build] dreamrooms needs Python 3.11 (bpy 5.0 is built for it); install python3.11 and rerun")


def setup_fingerprint() -> str:
    h = hashlib.sha256()
    for rel in SETUP_INPUTS:
        p = ROOT / rel
        h.update(rel.encode())
        h.update(p.read_bytes() if p.exists() else b"-")
    return h.hexdigest()


def setup(force: bool = False) -> None:
    """Create/refresh .venv with the locked working set, the package (editable) and the npm tools."""
    fp = setup_fingerprint()
    if not force and STAMP.exists() and STAMP.read_text().strip() == fp and venv_python().exists():
        log("setup: up to date")
        return
    t = time.time()
    if not venv_python().exists():
        log(f"setup: creating {VENV}")
        check([find_python311(), "-m", "venv", VENV])
    py = venv_python()
    check([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-r", ROOT / "requirements.lock"])
    check([py, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps", "--no-build-isolation", "-e", ROOT])
    if (AE_TESTS / "package.json").exists():
        npm = shutil.which("npm")
        if not npm:
            sys.exit("[build] npm not found: install Node.js 18+ (Debian: apt-get install nodejs npm) for the After Effects checks")
        lock = (AE_TESTS / "package-lock.json").exists()
        check([npm, "ci" if lock else "install", "--no-audit", "--no-fund", "--loglevel=error"], cwd=AE_TESTS)
    STAMP.write_text(fp + "\n")
    log(f"setup: done in {time.time() - t:.0f}s")


def venv_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env["PATH"] = f"{venv_python().parent}{os.pathsep}{env.get('PATH', '')}"
    return env


def cmd_test(args: argparse.Namespace) -> int:
    setup()
    pytest_args = ["-m", "pytest", "-p", "no:cacheprovider", "-q", *args.pytest_args]
    rc = run([venv_python(), *pytest_args], cwd=ROOT, env=venv_env())
    if rc == 5:
        log("pytest collected no tests")
    if (AE_TESTS / "package.json").exists() and not args.pytest_args:
        log("After Effects checks (acorn ES3 parse, tsc --checkJs, recording DOM model) under node")
        rc_ae = run([shutil.which("npm") or "npm", "test", "--silent"], cwd=AE_TESTS, env=venv_env())
        rc = rc or rc_ae
    return rc


def in_venv(module: str, *argv: str) -> int:
    setup()
    return run([venv_python(), "-m", module, *argv], cwd=ROOT, env=venv_env())


def cmd_demo(args: argparse.Namespace) -> int:
    setup()
    return run([venv_python(), ROOT / "demo.py", *args.rest], cwd=ROOT, env=venv_env())


def cmd_models(args: argparse.Namespace) -> int:
    return in_venv("dreamrooms.training.builtin", *args.rest)


def cmd_extension(args: argparse.Namespace) -> int:
    setup()
    return run([venv_python(), ROOT / "blender_addon" / "build_extension.py", *args.rest], cwd=ROOT, env=venv_env())


def cmd_bench(args: argparse.Namespace) -> int:
    setup()
    return run([venv_python(), ROOT / "bench" / "run_all.py", *args.rest], cwd=ROOT, env=venv_env())


def main() -> int:
    parser = argparse.ArgumentParser(prog="build.py", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("setup", help="create .venv with everything (fast when already done)")
    p.add_argument("--force", action="store_true", help="reinstall even when the stamp says up to date")
    p.set_defaults(func=lambda a: setup(a.force) or 0)
    p = sub.add_parser("test", help="set up, then run pytest and the After Effects checks",
                       description="extra arguments go to pytest (and then the node checks are skipped)")
    p.set_defaults(passthrough="pytest_args")
    p.set_defaults(func=cmd_test)
    for name, func, text in (
        ("demo", cmd_demo, "the main job: walk -> depth -> Blender rooms -> render -> After Effects"),
        ("models", cmd_models, "train and export the built-in models into models_onnx/ (torch)"),
        ("extension", cmd_extension, "build dist/dreamrooms-<version>.zip, the Blender extension"),
        ("bench", cmd_bench, "run bench/ and write bench/REPORT.md"),
    ):
        p = sub.add_parser(name, help=text, description=f"{text}; other arguments are passed through")
        p.set_defaults(func=func, passthrough="rest")
    # everything after the command that build.py does not know goes to the tool it runs
    args, extra = parser.parse_known_args()
    if extra and not getattr(args, "passthrough", None):
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if getattr(args, "passthrough", None):
        setattr(args, args.passthrough, extra)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
