"""The adapters import only public names of ``quant_ai`` (checked on the source, with ast).

``langchain_quant`` and ``llama_index_quant`` may import ``quant_ai`` and its public modules
(``quant_ai.types``, ``quant_ai.durable``...) but no private module (``quant_ai._x``) and no
private name (``from quant_ai import _x``, ``quant_ai._x`` as an attribute): a rule the core
needs lives in the core under a public name. The checker is tested on examples first, so the
test cannot pass by finding nothing.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ADAPTERS = ("langchain_quant", "llama_index_quant")


def _private_name(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _private(dotted: str) -> bool:
    return any(_private_name(part) for part in dotted.split("."))


def private_uses(source: str) -> list[str]:
    """The private core modules and names a module's source uses (``line: what``)."""
    found: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "quant_ai" and _private(alias.name):
                    found.append(f"{node.lineno}: import {alias.name}")
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module.split(".")[0] != "quant_ai":
                continue
            if _private(node.module):
                found.append(f"{node.lineno}: from {node.module} import ...")
            for alias in node.names:
                if _private_name(alias.name):
                    found.append(f"{node.lineno}: from {node.module} import {alias.name}")
        elif isinstance(node, ast.Attribute) and _private_name(node.attr):
            base = node.value
            if isinstance(base, ast.Name) and base.id == "quant_ai":
                found.append(f"{node.lineno}: quant_ai.{node.attr}")
    return found


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import quant_ai._transport", ["1: import quant_ai._transport"]),
        ("from quant_ai._history import x", ["1: from quant_ai._history import ..."]),
        ("from quant_ai.types import _private", ["1: from quant_ai.types import _private"]),
        ("from quant_ai import _files", ["1: from quant_ai import _files"]),
        ("import quant_ai\nquant_ai._sse.parse", ["2: quant_ai._sse"]),
        ("from quant_ai import ChatRequest\nfrom quant_ai.durable import ExecutionWaiter", []),
        ("from quant_ai import __version__", []),
        ("from ._convert import x\nfrom langchain_core._api import y", []),
    ],
)
def test_the_checker_finds_private_imports(source: str, expected: list[str]) -> None:
    assert private_uses(source) == expected


def adapter_modules() -> list[Path]:
    return sorted(p for package in ADAPTERS for p in (ROOT / package).rglob("*.py"))


def test_there_are_adapter_modules_to_check() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in adapter_modules()}
    assert {"langchain_quant/chat_models.py", "llama_index_quant/llms.py"} <= names


@pytest.mark.parametrize("path", adapter_modules(), ids=lambda p: p.relative_to(ROOT).as_posix())
def test_adapter_module_uses_only_public_core_names(path: Path) -> None:
    assert private_uses(path.read_text(encoding="utf-8")) == []
