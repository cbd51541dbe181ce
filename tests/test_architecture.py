"""The module graph of ``src/jobcast``: no import cycle, and the layers of docs/architecture.md.

Built from the source with :mod:`ast`, so function-local imports count too (a cycle they
hide is still a cycle); imports under ``if TYPE_CHECKING:`` do not (they never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = SRC / "jobcast"

#: docs/architecture.md's table: what each top-level part may import ("*": anything
#: below it). The order is the layering, lowest first.
LAYERS: dict[str, set[str]] = {
    "errors": set(),
    "lean": {"errors"},
    "history": {"errors", "lean"},
    "collect": {"errors", "lean", "history"},
    "workloads": {"errors", "lean", "history", "collect"},
    "models": {"errors", "lean", "history"},
    "privacy": {"errors", "lean", "history", "models"},
    "progress": {"errors", "lean", "history", "models"},
    "evaluation": {"errors", "lean", "history", "collect", "models", "privacy", "progress"},
    "app": {
        "errors",
        "lean",
        "history",
        "collect",
        "workloads",
        "models",
        "privacy",
        "progress",
        "evaluation",
    },
}
LAYERS["service"] = LAYERS["app"] | {"app"}
LAYERS["cli"] = LAYERS["service"]
#: The one edge between cli/ and service/: `jobcast serve` starts the service. Any other
#: module of either importing the other fails the layer test.
MODULE_EDGES: dict[str, set[str]] = {"jobcast.cli.service_cmds": {"service"}}
#: Parts that reach the database only through history/ ("files, databases and networks
#: live at the edges"): none of their modules imports SQLAlchemy. service/ is an edge.
WITHOUT_SQLALCHEMY = ("app", "cli")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST, module: str, is_package: bool, modules: set[str]) -> set[str]:
    """Every module ``module`` imports: ``from X import Y`` is X.Y when that is a module, else X.

    A package's ``__init__`` that runs only because a submodule is imported is no edge
    (no more than for ``import X.Y``): it is not what the importer uses.
    """
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")
                anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                sub = f"{base}.{alias.name}"
                found.add(sub if sub in modules else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def all_imports() -> dict[str, set[str]]:
    """Each jobcast module and every module it imports, ours and third-party ones."""
    files = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    found: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        found[name] = _imports(tree, name, path.name == "__init__.py", set(files))
    return found


def import_graph() -> dict[str, set[str]]:
    """Each jobcast module and the jobcast modules it imports."""
    found = all_imports()
    return {
        name: {m for m in imported if m in found and m != name} for name, imported in found.items()
    }


def _is_sqlalchemy(module: str) -> bool:
    return module == "sqlalchemy" or module.startswith("sqlalchemy.")


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def connect(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                connect(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            connect(v)
    return found


def _part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_the_graph_sees_the_imports() -> None:
    graph = import_graph()
    assert "jobcast.history.records" in graph["jobcast.history"]  # package re-exports
    assert "jobcast.app.jobs" in graph["jobcast.cli"]  # a function-local import
    assert "jobcast.history" not in graph["jobcast.app.jobs"]  # TYPE_CHECKING only


def test_the_scan_sees_third_party_imports() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from sqlalchemy.orm import Session\n"
        "def f():\n    import sqlalchemy.exc\n"
    )
    found = _imports(ast.parse(source), "jobcast.app.x", False, set())
    assert "sqlalchemy.exc" in found  # a function-local import counts
    assert "sqlalchemy.orm" not in found  # a TYPE_CHECKING one does not
    imports = all_imports()
    assert "sqlalchemy" in imports["jobcast.history.base"]
    assert "sqlalchemy.exc" in imports["jobcast.service.collector"]


def test_cycles_are_found() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycle() -> None:
    found = cycles(import_graph())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


def test_layers_of_the_architecture_document() -> None:
    graph = import_graph()
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in graph.items()
        for target in targets
        if _part(module) in LAYERS
        and _part(target) != _part(module)
        and _part(target) not in LAYERS[_part(module)]
        and _part(target) not in ("", "__init__")
        and _part(target) not in MODULE_EDGES.get(module, set())
    )
    assert not wrong, "\n".join(wrong)


def test_cli_and_service_meet_only_where_serve_starts_the_service() -> None:
    graph = import_graph()
    edges = sorted(
        (module, target)
        for module, targets in graph.items()
        for target in targets
        if {_part(module), _part(target)} == {"cli", "service"}
    )
    assert edges and {m for m, _ in edges} == set(MODULE_EDGES), edges


@pytest.mark.parametrize("part", WITHOUT_SQLALCHEMY)
def test_use_cases_and_command_line_reach_the_database_through_history(part: str) -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in all_imports().items()
        if _part(module) == part
        for target in targets
        if _is_sqlalchemy(target)
    )
    assert not wrong, "move the queries into history/:\n" + "\n".join(wrong)


@pytest.mark.parametrize("part", sorted(LAYERS))
def test_every_layer_exists(part: str) -> None:
    assert (PACKAGE / part).is_dir() or (PACKAGE / f"{part}.py").is_file()
