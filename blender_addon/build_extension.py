"""Build `dist/dreamrooms-<version>.zip`, the Blender extension, with Blender's own packaging tool.

Steps: stage `blender_addon/` as the extension root; build the `dreamrooms` wheel with the built-in
models inside it; `pip download --only-binary` the dependency wheels for every platform and Python
Blender uses (3.11 for 4.2-5.0, 3.13 for 5.1+) — at build time, never at the user's runtime; list
them in the manifest; validate and zip with `blender_ext.py` (the tool behind
`blender --command extension build/validate`), found in the `bpy` module or a `blender` binary.

Run through `python3 build.py extension [--platforms linux-x64,...] [--no-deps]`.
"""
from __future__ import annotations

import argparse
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "blender_addon"
BUILD = ROOT / "build" / "extension"
DIST = ROOT / "dist"

# Blender platform tag -> pip --platform tags (newest first that pip should accept)
PLATFORMS = {
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"],
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_11_0_arm64", "macosx_12_0_arm64", "macosx_13_0_arm64", "macosx_14_0_arm64"],
    "macos-x64": ["macosx_10_15_x86_64", "macosx_11_0_x86_64", "macosx_12_0_x86_64", "macosx_13_0_x86_64"],
}
# Per Python: what the core needs at run time.  numpy is left out: Blender ships its own
# (1.x up to 5.0, 2.x from 5.1), and opencv/onnx builds must match that major version.
RUNTIME_REQUIREMENTS = {
    "3.11": ["onnxruntime>=1.18", "OpenEXR>=3.3,<4", "opencv-python-headless>=4.8,<4.12", "tqdm>=4.66",
             "jsonschema>=4.20", "numpy<2"],
    "3.13": ["onnxruntime>=1.20", "OpenEXR>=3.3,<4", "opencv-python-headless>=4.12", "tqdm>=4.66",
             "jsonschema>=4.20", "numpy>=2"],
}
# Ranges, not pins: the newest release that has a wheel for each platform wins (onnxruntime stopped
# publishing macOS x86_64 wheels after 1.23.2, so Intel Macs get that one).
SKIP_WHEELS = ("numpy-",)
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "build_extension.py", "tests")


def log(msg: str) -> None:
    print(f"[extension] {msg}", flush=True)


def blender_ext_tool() -> list[str]:
    """Blender's extension CLI: `blender --command extension` if a binary exists, else bl_pkg's script."""
    blender = shutil.which("blender")
    if blender:
        return [blender, "--factory-startup", "--command", "extension"]
    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        sys.exit("[extension] neither a `blender` binary nor the `bpy` module is available to validate the manifest")
    scripts = next(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"), None)
    if scripts is None:
        sys.exit("[extension] bpy has no bl_pkg/cli/blender_ext.py; cannot validate")
    return [sys.executable, str(scripts)]


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def build_core_wheel(out: Path) -> Path:
    """The dreamrooms wheel as `pip wheel .` builds it: the built-in models and the AE library are package data
    (setup.py maps models_onnx/ and ae_scripts/ into the package)."""
    stage = BUILD / "core-src"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    for folder in ("core", "models_onnx", "ae_scripts"):   # a clean copy: no build/ or egg-info of the checkout
        shutil.copytree(ROOT / folder, stage / folder, ignore=IGNORE)
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy2(ROOT / name, stage / name)
    subprocess.check_call([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                           "-w", str(out), str(stage)])
    wheel = next(out.glob(f"dreamrooms-{version()}-*.whl"))
    log(f"core wheel {wheel.name} ({wheel.stat().st_size / 1e6:.1f} MB)")
    return wheel


def download_dependency_wheels(out: Path, platforms: list[str]) -> None:
    for py, reqs in RUNTIME_REQUIREMENTS.items():
        for plat in platforms:
            cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--dest", str(out),
                   "--python-version", py, "--implementation", "cp"]
            for tag in PLATFORMS[plat]:
                cmd += ["--platform", tag]
            log(f"wheels for Python {py} on {plat}")
            subprocess.check_call(cmd + reqs)
    for whl in out.glob("*.whl"):
        if whl.name.startswith(SKIP_WHEELS):
            whl.unlink()


def write_manifest(stage: Path, wheels: list[Path], platforms: list[str]) -> None:
    """Fill `wheels` and `platforms` in the staged blender_manifest.toml (the source stays clean)."""
    path = stage / "blender_manifest.toml"
    text = path.read_text()
    text = re.sub(r"(?ms)^wheels\s*=\s*\[.*?\]\s*\n", "", text)
    text = re.sub(r"(?ms)^platforms\s*=\s*\[.*?\]\s*\n", "", text)
    text = re.sub(r'(?m)^version\s*=\s*".*"$', f'version = "{version()}"', text)
    listing = ",\n".join(f'  "./wheels/{w.name}"' for w in sorted(wheels))
    block = f"wheels = [\n{listing},\n]\n"
    if platforms and len(platforms) < len(PLATFORMS):
        block += "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]\n"
    # top-level keys must come before the first [table]
    m = re.search(r"(?m)^\[", text)
    text = text[: m.start()] + block + "\n" + text[m.start():] if m else text + "\n" + block
    path.write_text(text)
    tomllib.loads(text)  # fail here, not in Blender, if the manifest is not TOML


def build(platforms: list[str], with_deps: bool, out: Path | None = None) -> Path:
    shutil.rmtree(BUILD, ignore_errors=True)
    stage = BUILD / "dreamrooms"
    shutil.copytree(ADDON, stage, ignore=IGNORE)
    wheels_dir = stage / "wheels"
    wheels_dir.mkdir()
    build_core_wheel(wheels_dir)
    if with_deps:
        download_dependency_wheels(wheels_dir, platforms)
    wheels = sorted(wheels_dir.glob("*.whl"))
    write_manifest(stage, wheels, platforms if with_deps else [])
    tool = blender_ext_tool()
    subprocess.check_call(tool + ["validate", str(stage)])
    out = out or DIST / f"dreamrooms-{version()}.zip"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.unlink(missing_ok=True)
    subprocess.check_call(tool + ["build", "--source-dir", str(stage), "--output-filepath", str(out)])
    subprocess.check_call(tool + ["validate", str(out)])
    log(f"built {out} ({out.stat().st_size / 1e6:.1f} MB, {len(wheels)} wheels)")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--platforms", default=",".join(PLATFORMS),
                   help=f"comma-separated Blender platforms (default all: {','.join(PLATFORMS)})")
    p.add_argument("--no-deps", action="store_true",
                   help="bundle only the dreamrooms wheel (for a Blender whose Python already has the dependencies)")
    p.add_argument("--out", type=Path, help="output zip (default dist/dreamrooms-<version>.zip)")
    args = p.parse_args(argv)
    platforms = [s for s in args.platforms.split(",") if s]
    bad = [s for s in platforms if s not in PLATFORMS]
    if bad:
        p.error(f"unknown platform(s) {', '.join(bad)}; choose from {', '.join(PLATFORMS)}")
    build(platforms, not args.no_deps, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
