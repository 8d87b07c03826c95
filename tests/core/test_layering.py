"""Lower parts of the package never import higher ones (dreamrooms.layering.RANKS), at module or function level."""
from __future__ import annotations

import ast
import functools
from pathlib import Path

import pytest

from dreamrooms import layering

PACKAGE = Path(layering.__file__).resolve().parent
# imports that go up today, each with who moves it down; nothing else may join this list
KNOWN = {
    "dreamrooms/stage/stream.py: stage -> depth": "remove_created from depth/resume.py (h/spine, the spine in progress)",
    "dreamrooms/models/user.py: models -> depth": "preprocess from depth/image.py to probe a matte model's output "
                                                  "(landed with the matte models, 470a073)",
}


def _unknown(bad: list[str]) -> list[str]:
    """The upward imports not in KNOWN (matched by file and parts, not line)."""
    return [b for b in bad if f"{b.split(':', 1)[0]}: {b.split(': ', 1)[1]}" not in KNOWN]


def _part(module: str) -> str | None:
    """`dreamrooms.shot.exr` -> `shot`; a module outside the package -> None."""
    bits = module.split(".")
    return bits[1] if bits[0] == "dreamrooms" and len(bits) > 1 else None


@functools.lru_cache(maxsize=None)
def imported_parts(source: str, module: str) -> list[tuple[int, str]]:
    """(line, part) for every `dreamrooms` part a module imports anywhere in its body (inside functions too)."""
    package = module.rsplit(".", 1)[0]
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                base = ".".join(package.split(".")[:len(package.split(".")) - node.level + 1] + ([base] if base else []))
            # `from dreamrooms import limits` imports the part `limits`
            names = [f"{base}.{a.name}" for a in node.names] if base == "dreamrooms" else [base]
        else:
            continue
        found += [(node.lineno, p) for p in map(_part, names) if p is not None and p != "__version__"]
    return found


def upward_imports(package: Path = PACKAGE, planted: dict[str, str] | None = None) -> list[str]:
    """Every import of a part at the same or a higher rank than the importer's own part, as `file:line: a -> b`
    (`planted`: extra source appended to files by their path inside the package, for the test of this test)."""
    bad = []
    for path in sorted(package.rglob("*.py")):
        source = path.read_text(encoding="utf-8") + (planted or {}).get(path.relative_to(package).as_posix(), "")
        rel = path.relative_to(package.parent).with_suffix("")
        module = ".".join(rel.parts)
        own = _part(module if path.name != "__init__.py" else module.rsplit(".", 1)[0] + ".x")
        if own is None:  # dreamrooms/__init__.py: imports nothing of its own
            continue
        for line, part in imported_parts(source, module):
            if part != own and layering.rank_of(part) >= layering.rank_of(own):
                bad.append(f"{path.relative_to(package.parent)}:{line}: {own} -> {part}")
    return bad


def test_every_part_has_a_rank():
    parts = {p.stem for p in PACKAGE.glob("*.py") if p.name != "__init__.py"}
    parts |= {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    for part in sorted(parts):
        layering.rank_of(part)  # KeyError names the part to rank


def test_no_part_imports_a_part_at_its_rank_or_above():
    assert _unknown(upward_imports()) == []


@pytest.mark.parametrize("where, line", [
    ("shot/roles.py", "from dreamrooms.camera.geometry import SENSOR_FITS\n"),
    ("shot/exr.py", "def f():\n    from dreamrooms.depth import video\n"),    # function-level
    ("models/registry.py", "import dreamrooms.depth.video\n"),
    ("depth/video.py", "from dreamrooms import walk\n"),                      # sideways: same rank
])
def test_a_planted_upward_import_is_caught(where, line):
    """Plant one import that goes up at the end of a real module: the check names that file."""
    bad = _unknown(upward_imports(planted={where: "\n" + line}))
    assert len(bad) == 1 and bad[0].startswith(f"dreamrooms/{where}:"), bad


def test_errors_doc_names_every_user_facing_exception():
    """errors.py says where each DreamroomsError subclass lives: every subclass the package defines elsewhere is
    named there, and every public `...Error` class is one, so `except DreamroomsError` catches them all."""
    from dreamrooms import errors
    classes = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "errors.py":
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ClassDef) and not node.name.startswith("_"):
                    classes[node.name] = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
    family = {n for n, v in vars(errors).items() if isinstance(v, type) and issubclass(v, errors.DreamroomsError)}
    grew = True
    while grew:
        more = {n for n, bases in classes.items() if bases & family}
        grew = not more <= family
        family |= more
    outside = family - set(vars(errors))
    assert len(outside) >= 10
    assert sorted(n for n in classes if n.endswith("Error") and n not in family) == []
    doc = " ".join(errors.__doc__.split())
    missing = sorted(n for n in outside if n not in doc)
    assert missing == [], f"name these in dreamrooms/errors.py's docstring with where they live: {missing}"


def test_tests_find_their_helpers_through_pytest_not_sys_path():
    """Shared helpers live on pyproject.toml's pytest pythonpath (tests, tests/core, tests/blender, tests/cluster)
    and fixtures in conftest.py files: no test file edits sys.path."""
    import re

    tests = PACKAGE.parents[1] / "tests"
    files = sorted(tests.rglob("*.py"))
    assert len(files) > 50
    edit = re.compile(r"^\s*sys\.path\.(insert|append)\(")
    edits = [f"{p.relative_to(tests)}:{n}" for p in files
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if edit.match(line)]
    assert edits == []
