"""Imports point inward (DESIGN "Shape of the code"): an inner layer never imports an outer one."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import chatproof

PACKAGE = Path(chatproof.__file__).parent
ORDER = ["domain", "archive", "store", "channels", "emulator", "services", "web"]
OUTERMOST = {"cli", "commands", "bootstrap", "config", "datadir", "__main__"}


def layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def imports_of(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("chatproof.")}


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_outward_imports(path: Path) -> None:
    layer = path.relative_to(PACKAGE).parts[0].removesuffix(".py")
    if layer in OUTERMOST or layer == "__init__":
        return
    allowed = set(ORDER[: ORDER.index(layer) + 1])
    if layer == "web":
        allowed |= {"config", "bootstrap"}
    for name in imports_of(path):
        target = layer_of(name)
        if target in ORDER or target in OUTERMOST:
            assert target in allowed, f"{path.name} ({layer}) imports outward: {name}"


def test_domain_does_no_io() -> None:
    banned = {"os", "socket", "sqlite3", "httpx", "sqlalchemy", "logging", "random", "time"}
    for path in (PACKAGE / "domain").rglob("*.py"):
        tree = ast.parse(path.read_text())
        names = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        names |= {
            n.module.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.ImportFrom) and n.module
        }
        assert not names & banned, f"{path.name} imports {names & banned}"
