"""Imports run one way (README, "Layout"): at run time a module imports only its own layer or
those below it, and the parts of the package form no cycle. Imports under TYPE_CHECKING do not
count: naming a type from above is how a lower layer receives an object it does not build."""

from __future__ import annotations

import ast
from pathlib import Path

import faceplate

PACKAGE = Path(faceplate.__file__).parent

# Higher imports lower, never the reverse; one number, one layer.
LAYERS: dict[str, int] = {
    "cli": 8,
    "app": 7,
    "routes": 6,
    "web": 5,
    "state": 5,
    "services": 4,
    "relay": 4,
    "turns": 3,
    "mcp_client": 2,
    "agents": 2,
    "queries": 2,
    "cluster": 2,
    **dict.fromkeys(
        ("api", "auth", "db", "sql", "structs", "errors", "settings", "secrets", "migrate"), 1
    ),
    **dict.fromkeys(("embedded", "paths", "logs", "limits", "metrics"), 1),
}


def _part(path: Path) -> str:
    return path.relative_to(PACKAGE).parts[0].removesuffix(".py")


def _runtime_imports(path: Path) -> set[str]:
    """The parts of the package `path` imports, outside `if TYPE_CHECKING:` blocks."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and ast.unparse(child.test).endswith("TYPE_CHECKING"):
                for other in child.orelse:
                    visit(other)
                continue
            names: list[str] = []
            if isinstance(child, ast.Import):
                names = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module is not None:
                names = [child.module] + [f"{child.module}.{a.name}" for a in child.names]
            for name in names:
                bits = name.split(".")
                if bits[0] == "faceplate" and len(bits) > 1 and bits[1] in LAYERS:
                    found.add(bits[1])
            visit(child)

    visit(ast.parse(path.read_text()))
    return found


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        if path.name == "__init__.py" and path.parent == PACKAGE:
            continue
        here = _part(path)
        edges.setdefault(here, set()).update(_runtime_imports(path) - {here})
    return edges


def test_every_part_of_the_package_has_a_layer() -> None:
    assert set(_edges()) == set(LAYERS)


def test_no_import_runs_upward() -> None:
    upward = sorted(
        f"{here} imports {there}"
        for here, theirs in _edges().items()
        for there in theirs
        if LAYERS[there] > LAYERS[here]
    )
    assert upward == []


def test_the_parts_form_no_cycle() -> None:
    edges = _edges()
    done: set[str] = set()

    def walk(part: str, path: tuple[str, ...]) -> None:
        assert part not in path, " -> ".join((*path, part))
        if part in done:
            return
        for there in edges.get(part, ()):
            walk(there, (*path, part))
        done.add(part)

    for part in edges:
        walk(part, ())
