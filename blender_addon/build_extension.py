"""Build the Blender extension: one `dist/dreamrooms-<version>-<platform>.zip` per platform.

Steps: stage `blender_addon/` as the extension root; build the `dreamrooms` wheel with the built-in
models inside it; `pip download --no-deps --only-binary` the pinned run-time wheels (the versions
`requirements.lock` tests) for every platform and Python Blender uses (3.11 for 4.2-5.0, 3.13 for
5.1+), at build time, never at the user's run time; check that every wheel's declared run-time
dependencies are bundled or deliberately left out (EXCLUDED); declare `platforms` and `wheels` in
the manifest; validate, then let Blender's own tool split one zip per platform
(`blender --command extension build --split-platforms`, found in a `blender` binary or the `bpy`
module). Zips over MAX_ZIP_MB and macOS wheels above MACOS_MIN fail the build.

Run through `python3 build.py extension [--platforms linux-x64,...] [--no-deps]`.
"""
from __future__ import annotations

import argparse
import email.parser
import hashlib
import importlib.util
import re
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ADDON = ROOT / "blender_addon"
BUILD = ROOT / "build" / "extension"
WHEELHOUSE = ROOT / "build" / "wheelhouse"  # downloaded wheels, kept between builds
DIST = ROOT / "dist"
LOCK = ROOT / "requirements.lock"

# Blender platform -> (pip --platform tags, Pythons of the Blender builds that exist for it).
# Blender 5.0+ ships no Intel-Mac build (4.5 LTS is the last), so macos-x64 needs Python 3.11 only.
PLATFORMS = {
    "linux-x64": (["manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"], ("3.11", "3.13")),
    "windows-x64": (["win_amd64"], ("3.11", "3.13")),
    "macos-arm64": ([f"macosx_{v}_0_arm64" for v in range(11, 16)], ("3.11", "3.13")),
    "macos-x64": ([f"macosx_{v}_x86_64" for v in ("10_15", "11_0", "12_0", "13_0")], ("3.11",)),
}
# Blender's installer ignores the macOS version in wheel tags, so a newer wheel would fail to load
# on an older macOS at run time; the build refuses wheels above these (the README states them).
# onnxruntime 1.31.1's arm64 wheels are tagged macosx_14_0; its last x86_64 wheel (1.23.2) 13_0.
MACOS_MIN = {"macos-arm64": (14, 0), "macos-x64": (13, 0)}

# What the core imports at run time, and what those packages import.  Versions come from
# requirements.lock (the set the tests run on Python 3.11 with Blender's numpy 1.26).  The same
# versions go to Python 3.13 (Blender 5.1+, numpy 2): Blender de-duplicates bundled wheels by
# name across Pythons (newest wins), so a pure-Python or abi3 wheel (OpenCV is cp37-abi3) cannot
# differ per Python.  These builds load with numpy 1.x and 2.x: OpenCV wheels are built with
# numpy 2 since 4.10 (github.com/opencv/opencv/issues/26779) and 4.12.0.88 declares numpy>=2,<2.3
# (its METADATA; 4.13: github.com/opencv/opencv-python/issues/1135), so 4.11 is the newest both load;
# onnxruntime supports numpy 2 since 1.19 (github.com/microsoft/onnxruntime/issues/21063).  With
# numpy 2.3.5 the locked set passed tests/core's walk, depth, EXR, sources, stabilise and session tests once, by
# hand, on Python 3.11; no CI job runs them under numpy 2 or on Python 3.13.
RUNTIME = ("onnxruntime", "openexr", "opencv-python-headless", "tqdm", "jsonschema", "jsonschema-specifications",
           "referencing", "rpds-py", "attrs", "typing-extensions")
# Per platform, where the tested version has no wheel.
OVERRIDES = {"macos-x64": {"onnxruntime": "1.23.2"}}  # the last onnxruntime with macOS x86_64 wheels
# Declared dependencies left out on purpose (checked against each wheel's METADATA).
EXCLUDED = {
    "numpy": "Blender ships its own (1.26 in 4.2-5.0, 2.x in 5.1+); a second copy would shadow it",
    "flatbuffers": "onnxruntime declares it; only onnxruntime.tools (model conversion) imports it",
    "packaging": "onnxruntime declares it; only onnxruntime.tools/transformers import it",
    "protobuf": "onnxruntime declares it; only onnxruntime.tools/quantization/transformers import it",
    "coloredlogs": "onnxruntime <= 1.23 declares it; only onnxruntime.tools/transformers import it",
    "sympy": "onnxruntime <= 1.23 declares it (an extra since); only symbolic shape inference imports it",
    "colorama": "tqdm declares it on Windows and imports it optionally (try/except)",
}
MAX_ZIP_MB = 150
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "build_extension.py", "tests")


class BuildError(SystemExit):
    """One line naming what is wrong and the fix; exits 1."""

    def __init__(self, msg: str):
        super().__init__(f"[extension] error: {msg}")


def log(msg: str) -> None:
    print(f"[extension] {msg}", flush=True)


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def blender_ext_tool() -> list[str]:
    """Blender's extension CLI: `blender --command extension` if a binary exists, else bl_pkg's script."""
    blender = shutil.which("blender")
    if blender:
        return [blender, "--factory-startup", "--command", "extension"]
    spec = importlib.util.find_spec("bpy")
    if spec is None or spec.origin is None:
        raise BuildError("neither a `blender` binary nor the `bpy` module is available to validate the manifest; "
                         "run through `python3 build.py extension` (its venv has bpy)")
    scripts = next(Path(spec.origin).parent.glob("*/scripts/addons_core/bl_pkg/cli/blender_ext.py"), None)
    if scripts is None:
        raise BuildError("bpy has no bl_pkg/cli/blender_ext.py; cannot validate")
    return [sys.executable, str(scripts)]


def version() -> str:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]


def pins(platform: str) -> dict[str, str]:
    """Exact run-time versions for a platform: requirements.lock, then OVERRIDES."""
    locked = {}
    for line in LOCK.read_text().splitlines():
        name, sep, ver = line.split("#", 1)[0].strip().partition("==")
        if sep:
            locked[norm(name)] = ver.strip()
    missing = [n for n in RUNTIME if n not in locked]
    if missing:
        raise BuildError(f"{LOCK.name} pins no version of {', '.join(missing)}; add `NAME==VERSION` lines")
    return {n: OVERRIDES.get(platform, {}).get(n, locked[n]) for n in RUNTIME}


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


def download(platform: str, py: str) -> list[Path]:
    """The pinned wheels for one platform and Python, from WHEELHOUSE when it already has them."""
    tags, _ = PLATFORMS[platform]
    reqs = [f"{n}=={v}" for n, v in pins(platform).items()]
    key = hashlib.sha256(" ".join([platform, py, *tags, *reqs]).encode()).hexdigest()[:16]
    dest = WHEELHOUSE / f"{platform}-py{py}"
    listing = dest / f"wheels-{key}.txt"
    if listing.is_file():
        wheels = [dest / n for n in listing.read_text().split()]
        if all(w.is_file() for w in wheels):
            return wheels
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    cmd = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", str(dest),
           "--python-version", py, "--implementation", "cp"]
    for tag in tags:
        cmd += ["--platform", tag]
    log(f"downloading wheels for Python {py} on {platform}")
    if subprocess.call(cmd + reqs) != 0:
        raise BuildError(f"pip could not download {' '.join(reqs)} for Python {py} on {platform}; "
                         "check the network or the pins in requirements.lock / OVERRIDES")
    wheels = sorted(dest.glob("*.whl"))
    listing.write_text("\n".join(w.name for w in wheels))
    return wheels


def wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.count("/") == 1 and n.endswith(".dist-info/METADATA"))
        return email.parser.BytesParser().parsebytes(z.read(name))


def check_closure(platform: str, py: str, wheels: list[Path]) -> None:
    """Every run-time dependency a bundled wheel declares (for this platform and Python) is bundled
    too, or listed in EXCLUDED with the reason; a new dependency fails the build here."""
    from packaging.requirements import Requirement

    system = {"linux": "Linux", "windows": "Windows", "macos": "Darwin"}[platform.split("-")[0]]
    env = {"python_version": py, "python_full_version": f"{py}.0", "platform_system": system,
           "sys_platform": {"Linux": "linux", "Windows": "win32", "Darwin": "darwin"}[system],
           "os_name": "nt" if system == "Windows" else "posix", "implementation_name": "cpython",
           "platform_python_implementation": "CPython",
           "platform_machine": {"x64": "x86_64", "arm64": "arm64"}[platform.split("-")[1]], "extra": ""}
    if system == "Windows":
        env["platform_machine"] = "AMD64"
    bundled = {norm(w.name.split("-")[0]) for w in wheels}
    for wheel in wheels:
        for line in wheel_metadata(wheel).get_all("Requires-Dist") or []:
            req = Requirement(line)
            if req.marker is not None and not req.marker.evaluate(env):
                continue
            name = norm(req.name)
            if name not in bundled and name not in EXCLUDED:
                raise BuildError(f"{wheel.name} needs {req} on {platform} (Python {py}), which is neither bundled "
                                 f"nor excluded; add it to RUNTIME (and requirements.lock) or to EXCLUDED with the reason")


def macos_floor(platform: str, wheels: list[Path]) -> tuple[int, int] | None:
    """The oldest macOS every bundled wheel loads on (each wheel: its lowest matching tag)."""
    if not platform.startswith("macos"):
        return None
    floor = (0, 0)
    for w in wheels:
        tags = w.name[:-4].split("-")[-1].split(".")
        versions = [(int(m[1]), int(m[2])) for t in tags if (m := re.match(r"macosx_(\d+)_(\d+)_", t))]
        if versions:
            floor = max(floor, min(versions))
    if floor > MACOS_MIN[platform]:
        raise BuildError(f"the {platform} wheels need macOS {floor[0]}.{floor[1]}, above the declared "
                         f"{'.'.join(map(str, MACOS_MIN[platform]))}; pin older wheels or raise MACOS_MIN and the README")
    return floor


def write_manifest(stage: Path, wheels: list[Path], platforms: list[str]) -> None:
    """Fill `wheels` and `platforms` in the staged blender_manifest.toml (the source stays clean)."""
    path = stage / "blender_manifest.toml"
    text = path.read_text()
    text = re.sub(r"(?ms)^wheels\s*=\s*\[.*?\]\s*\n", "", text)
    text = re.sub(r"(?ms)^platforms\s*=\s*\[.*?\]\s*\n", "", text)
    text = re.sub(r'(?m)^version\s*=\s*".*"$', f'version = "{version()}"', text)
    listing = ",\n".join(f'  "./wheels/{w.name}"' for w in sorted(wheels))
    block = f"wheels = [\n{listing},\n]\n"
    if platforms:
        block += "platforms = [" + ", ".join(f'"{p}"' for p in platforms) + "]\n"
    # top-level keys must come before the first [table]
    m = re.search(r"(?m)^\[", text)
    text = text[: m.start()] + block + "\n" + text[m.start():] if m else text + "\n" + block
    path.write_text(text)
    tomllib.loads(text)  # fail here, not in Blender, if the manifest is not TOML


def build(platforms: list[str], with_deps: bool, out_dir: Path | None = None) -> list[Path]:
    """Stage, validate and zip; returns the zips (one per platform, or one without dependencies)."""
    shutil.rmtree(BUILD, ignore_errors=True)
    stage = BUILD / "dreamrooms"
    shutil.copytree(ADDON, stage, ignore=IGNORE)
    wheels_dir = stage / "wheels"
    wheels_dir.mkdir()
    build_core_wheel(wheels_dir)
    floors = {}
    if with_deps:
        for plat in platforms:
            plat_wheels = []
            for py in PLATFORMS[plat][1]:
                wheels = download(plat, py)
                check_closure(plat, py, wheels)
                plat_wheels += wheels
            floors[plat] = macos_floor(plat, plat_wheels)
            for w in plat_wheels:
                if not (wheels_dir / w.name).exists():
                    shutil.copy2(w, wheels_dir / w.name)
    write_manifest(stage, sorted(wheels_dir.glob("*.whl")), platforms if with_deps else [])
    tool = blender_ext_tool()
    subprocess.check_call(tool + ["validate", str(stage)])
    out_dir = out_dir or DIST
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"dreamrooms-{version()}"
    names = [f"{stem}-{p.replace('-', '_')}.zip" for p in platforms] if with_deps else [f"{stem}.zip"]
    for name in names:
        (out_dir / name).unlink(missing_ok=True)
    subprocess.check_call(tool + ["build", "--source-dir", str(stage), "--output-dir", str(out_dir)]
                          + (["--split-platforms"] if with_deps else []))
    zips = [out_dir / n for n in names]
    for z, plat in zip(zips, platforms if with_deps else [""]):
        subprocess.check_call(tool + ["validate", str(z)])
        with zipfile.ZipFile(z) as zf:
            inside = [i for i in zf.infolist() if i.filename.startswith("wheels/")]
        mb = z.stat().st_size / 1e6
        floor = floors.get(plat)
        log(f"built {z.name}: {mb:.1f} MB, {len(inside)} wheels ({sum(i.file_size for i in inside) / 1e6:.1f} MB)"
            + (f", needs macOS {floor[0]}.{floor[1]}+" if floor else ""))
        if mb > MAX_ZIP_MB:
            raise BuildError(f"{z.name} is {mb:.0f} MB, over the {MAX_ZIP_MB} MB budget; drop unused wheels")
    return zips


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--platforms", default=",".join(PLATFORMS),
                   help=f"comma-separated Blender platforms (default all: {','.join(PLATFORMS)})")
    p.add_argument("--no-deps", action="store_true",
                   help="bundle only the dreamrooms wheel (for a Blender whose Python already has the dependencies)")
    p.add_argument("--out-dir", type=Path, help="output folder (default dist/)")
    args = p.parse_args(argv)
    platforms = [s for s in args.platforms.split(",") if s]
    bad = [s for s in platforms if s not in PLATFORMS]
    if bad:
        p.error(f"unknown platform(s) {', '.join(bad)}; choose from {', '.join(PLATFORMS)}")
    build(platforms, not args.no_deps, args.out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
