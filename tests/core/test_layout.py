"""Structure rules: no import cycle in any package, and a test file mirroring each core module.

The import graph is read from the source (``ast``), not by importing: every ``import`` and
``from ... import`` of ``quant_ai``, ``langchain_quant`` and ``llama_index_quant``, at module
level and inside functions and classes (a lazy import still closes a cycle when it runs), but
not under ``if TYPE_CHECKING:`` (never executed). ``from package import name`` points at
``package.name`` when that is a module, else at the package. A package's ``__init__`` is not
an implicit edge of its submodules.
"""

from __future__ import annotations

import ast
import importlib
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PACKAGES = ("quant_ai", "langchain_quant", "llama_index_quant")
CORE_EXEMPT = {"__init__", "_version"}

Graph = dict[str, set[str]]


def modules() -> dict[str, tuple[pathlib.Path, bool]]:
    """Dotted module name -> (file, is a package) for every module of the three packages."""
    found: dict[str, tuple[pathlib.Path, bool]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts.pop()
            found[".".join(parts)] = (path, is_package)
    return found


def _type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(body: list[ast.stmt]) -> list[ast.Import | ast.ImportFrom]:
    out: list[ast.Import | ast.ImportFrom] = []
    for node in body:
        if isinstance(node, ast.If) and _type_checking(node):
            out += _imports(node.orelse)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            out.append(node)
        else:
            for field in ("body", "orelse", "finalbody", "handlers"):
                inner = getattr(node, field, None)
                if isinstance(inner, list):
                    out += _imports([n for n in inner if isinstance(n, ast.stmt)])
            for handler in getattr(node, "handlers", []) or []:
                out += _imports(handler.body)
    return out


def import_graph(mods: dict[str, tuple[pathlib.Path, bool]]) -> Graph:
    """Edges from each module to the modules (of the three packages) it imports."""
    graph: Graph = {}
    for name, (path, is_package) in mods.items():
        package = name if is_package else name.rpartition(".")[0]
        edges: set[str] = set()
        for node in _imports(ast.parse(path.read_text("utf-8")).body):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                    base = ".".join([*anchor, base] if base else anchor)
                targets = [
                    f"{base}.{alias.name}" if f"{base}.{alias.name}" in mods else base
                    for alias in node.names
                ]
            for target in targets:
                while target and target not in mods:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    edges.add(target)
        graph[name] = edges
    return graph


def cycles(graph: Graph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component: list[str] = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_cycle_finder_finds_cycles() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_the_graph_reads_lazy_and_relative_imports_but_not_type_checking(
    tmp_path: pathlib.Path,
) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from pkg import c\n"
        "def f():\n    from . import b\n"
    )
    (pkg / "b.py").write_text("from .a import f\n")
    (pkg / "c.py").write_text("import pkg.a\n")
    mods = {
        name: (pkg / f"{file}.py", file == "__init__")
        for name, file in [("pkg", "__init__"), ("pkg.a", "a"), ("pkg.b", "b"), ("pkg.c", "c")]
    }
    graph = import_graph(mods)
    assert graph["pkg.a"] == {"pkg.b"}
    assert graph["pkg.c"] == {"pkg.a"}
    assert cycles(graph) == [["pkg.a", "pkg.b"]]


def test_no_import_cycle_in_any_package() -> None:
    mods = modules()
    assert "quant_ai.emulator.server" in mods
    assert "langchain_quant.chat_models" in mods
    graph = import_graph(mods)
    assert "quant_ai._transport" in graph["quant_ai.client"]
    assert cycles(graph) == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_every_module_imports(name: str) -> None:
    assert importlib.import_module(name).__name__ == name


def test_every_core_module_has_its_mirror_test_file() -> None:
    """``quant_ai/<name>.py`` is tested in ``tests/core/test_<name>.py`` (a leading underscore
    stripped), or, for a module needing an optional dependency with fixtures of its own (Ray),
    in a ``tests/<name>/`` folder of tests."""
    core = sorted(p.stem for p in (ROOT / "quant_ai").glob("*.py") if p.stem not in CORE_EXEMPT)
    assert "_transport" in core
    assert "client" in core
    here = pathlib.Path(__file__).parent

    def mirrored(stem: str) -> bool:
        name = stem.lstrip("_")
        folder = here.parent / name
        return (here / f"test_{name}.py").is_file() or any(folder.glob("test_*.py"))

    missing = [f"tests/core/test_{stem.lstrip('_')}.py" for stem in core if not mirrored(stem)]
    assert missing == [], f"core modules without their mirror test file: {missing}"
