"""Every library the code imports is declared in pyproject.toml: the package's own in its
dependencies, the tests' and benchmarks' in the `test` extra."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
LOCAL = {"talkroom", "tests", "bench"}


def imported(folder: str) -> set[str]:
    """Top-level modules imported anywhere under `folder` that are neither ours nor stdlib."""
    found: set[str] = set()
    for path in (PROJECT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    return {m for m in found - LOCAL if m not in sys.stdlib_module_names and not m.startswith("_")}


def declared(requirements: list[str]) -> set[str]:
    """The distributions named by requirement strings, normalised."""
    return {
        re.split(r"[<>=!~;\[ ]", r, maxsplit=1)[0].lower().replace("_", "-") for r in requirements
    }


def test_every_imported_library_is_declared() -> None:
    project = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
    runtime = declared(project["dependencies"])
    extra = runtime | declared(project["optional-dependencies"]["test"])
    owners = packages_distributions()

    def dists(module: str) -> set[str]:
        return {d.lower().replace("_", "-") for d in owners.get(module, [module])}

    missing = {m: dists(m) for m in imported("talkroom") if not dists(m) & runtime}
    assert missing == {}, "imported by talkroom/ but not in [project] dependencies"
    missing = {m: dists(m) for m in imported("tests") | imported("bench") if not dists(m) & extra}
    assert missing == {}, "imported by tests/ or bench/ but not in the test extra"
