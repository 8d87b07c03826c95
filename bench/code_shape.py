"""The shape of the code against the project's limits: functions in core/ and blender_addon/ over 80 lines or over
10 parameters, and modules over 450 lines.

Lines of a function are its source lines minus those of argparse declarations (`add_argument`, `add_parser`,
`add_argument_group`, `set_defaults` calls: a command's options are data, not logic).  Parameters count every
name a caller can pass (positional, keyword-only, *args, **kwargs), not `self`/`cls`.  Prints one line per
offender and a summary; `--owners FILE` is not needed: the paths say whose code it is.  Exit code 0 always (a
measurement, not a gate); `--strict` exits 1 when anything is over.
"""
from __future__ import annotations

import argparse
import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = ("core", "blender_addon")
MAX_FUNCTION_LINES, MAX_PARAMETERS, MAX_MODULE_LINES = 80, 10, 450
DECLARATIONS = {"add_argument", "add_parser", "add_argument_group", "add_mutually_exclusive_group", "set_defaults"}


def _declaration_lines(fn: ast.AST) -> int:
    """Lines taken by argparse declaration statements directly or nested in `fn` (not in inner functions)."""
    lines = 0
    for node in ast.walk(fn):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Call):
            f = node.value.func
            if isinstance(f, ast.Attribute) and f.attr in DECLARATIONS:
                lines += node.end_lineno - node.lineno + 1
        elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call):
            f = node.value.func
            if isinstance(f, ast.Attribute) and f.attr in DECLARATIONS:
                lines += node.end_lineno - node.lineno + 1
    return lines


def _parameters(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> int:
    a = fn.args
    names = [x.arg for x in a.posonlyargs + a.args + a.kwonlyargs]
    names += [x.arg for x in (a.vararg, a.kwarg) if x is not None]
    return len([n for n in names if n not in ("self", "cls")])


def measure(root: Path = ROOT) -> tuple[list[tuple[str, str, int, int]], list[tuple[str, int]]]:
    """(functions over a limit as (file, qualified name, lines, parameters), modules over 450 lines)."""
    functions, modules = [], []
    for folder in FOLDERS:
        for path in sorted((root / folder).rglob("*.py")):
            if any(part.startswith(".") or part in ("build", "__pycache__") for part in path.relative_to(root).parts):
                continue
            text = path.read_text(encoding="utf-8")
            rel = path.relative_to(root).as_posix()
            n_lines = len(text.splitlines())
            if n_lines > MAX_MODULE_LINES:
                modules.append((rel, n_lines))
            tree = ast.parse(text)
            stack = [(tree, "")]
            while stack:
                node, prefix = stack.pop()
                for child in ast.iter_child_nodes(node):
                    if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                        name = f"{prefix}{child.name}"
                        stack.append((child, name + "."))
                        if isinstance(child, ast.ClassDef):
                            continue
                        lines = child.end_lineno - child.lineno + 1 - _declaration_lines(child)
                        params = _parameters(child)
                        if lines > MAX_FUNCTION_LINES or params > MAX_PARAMETERS:
                            functions.append((rel, name, lines, params))
                    else:
                        stack.append((child, prefix))
    return sorted(functions), sorted(modules)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--strict", action="store_true", help="exit 1 when anything is over a limit")
    args = ap.parse_args(argv)
    functions, modules = measure()
    for rel, name, lines, params in functions:
        over = [f"{lines} lines" if lines > MAX_FUNCTION_LINES else "", f"{params} parameters" if params > MAX_PARAMETERS else ""]
        print(f"function {rel}:{name}: {', '.join(o for o in over if o)}")
    for rel, lines in modules:
        print(f"module {rel}: {lines} lines")
    print(f"code_shape: {len(functions)} function(s) over {MAX_FUNCTION_LINES} lines or {MAX_PARAMETERS} parameters, "
          f"{len(modules)} module(s) over {MAX_MODULE_LINES} lines in {', '.join(FOLDERS)}")
    return 1 if args.strict and (functions or modules) else 0


if __name__ == "__main__":
    sys.exit(main())
