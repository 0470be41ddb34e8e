"""The installed distribution: name, Python floor, dependencies, extras, console script, typing.

Read from the installed metadata (what ``pip install quant-ai[...]`` sees), so the test works on
every supported Python without a TOML parser.
"""

from __future__ import annotations

import socket
from importlib import metadata, resources
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version
from pytest_socket import SocketConnectBlockedError

import quant_ai

DIST = "quant-ai"
LOWEST = Path(__file__).resolve().parents[2] / ".ci" / "lowest-constraints.txt"


def requirements() -> list[Requirement]:
    return [Requirement(r) for r in metadata.requires(DIST) or []]


def by_extra(extra: str | None) -> dict[str, str]:
    """Requirement name -> version specifier, for the core (None) or one extra."""
    out: dict[str, str] = {}
    for req in requirements():
        in_extra = req.marker is not None and req.marker.evaluate({"extra": extra or ""})
        if (req.marker is None and extra is None) or (extra is not None and in_extra):
            out[req.name] = str(req.specifier)
    return out


def test_name_version_and_python_floor() -> None:
    meta = metadata.metadata(DIST)
    assert meta["Name"] == DIST
    assert meta["Version"] == quant_ai.__version__
    assert meta["Requires-Python"] == ">=3.10"


def test_core_dependencies_are_only_httpx_and_pydantic() -> None:
    core = by_extra(None)
    assert set(core) == {"httpx", "httpx-sse", "pydantic"}
    pydantic = Requirement("pydantic" + core["pydantic"]).specifier
    assert pydantic.contains("2.11.0")
    assert not pydantic.contains("1.10.0")  # pydantic v2 only


def test_extras() -> None:
    assert set(metadata.metadata(DIST).get_all("Provides-Extra") or []) == {
        "langchain",
        "llama-index",
        "emulator",
        "ray",
        "all",
    }
    assert set(by_extra("ray")) == {"ray"}  # with its "data" extra (Ray Data)
    assert "ray" not in by_extra("all")  # hundreds of MB: asked for on its own
    langchain = by_extra("langchain")
    assert set(langchain) == {"langchain-core"}
    assert set(Requirement("x" + langchain["langchain-core"]).specifier) == set(
        Requirement("x>=1.7,<2").specifier
    )
    llama = by_extra("llama-index")
    assert set(llama) == {"llama-index-core"}
    assert set(Requirement("x" + llama["llama-index-core"]).specifier) == set(
        Requirement("x>=0.14.7,<0.15").specifier
    )
    assert {"starlette", "uvicorn", "jsonschema"} <= set(by_extra("emulator"))
    assert set(by_extra("all")) >= set(langchain) | set(llama) | set(by_extra("emulator"))


def test_console_script_and_py_typed() -> None:
    scripts = {
        ep.name: ep.value
        for ep in metadata.distribution(DIST).entry_points
        if ep.group == "console_scripts"
    }
    assert scripts == {"quant-ai": "quant_ai.cli:main"}
    assert resources.files("quant_ai").joinpath("py.typed").is_file()


def test_the_suite_cannot_reach_the_network() -> None:
    """pytest-socket (pyproject addopts) blocks every host but loopback."""
    with (
        pytest.warns(UserWarning, match="192.0.2.1"),
        pytest.raises(SocketConnectBlockedError),
    ):
        socket.create_connection(("192.0.2.1", 443), timeout=1)  # TEST-NET-1, never routed
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        with socket.create_connection(server.getsockname(), timeout=1):
            pass


def lower_bound(specifier: str) -> Version:
    [floor] = [
        Version(s.version) for s in Requirement("x" + specifier).specifier if s.operator == ">="
    ]
    return floor


def group_requirements(group: str) -> dict[str, str]:
    """Requirement name -> specifier of a dependency group (groups are not in the metadata)."""
    try:
        import tomllib
    except ImportError:  # Python 3.10: pytest depends on tomli there
        import tomli as tomllib  # type: ignore[no-redef]
    pyproject = tomllib.loads((LOWEST.parents[1] / "pyproject.toml").read_text("utf-8"))
    out: dict[str, str] = {}
    for line in pyproject["dependency-groups"][group]:
        req = Requirement(line)
        out[req.name] = str(req.specifier)
    return out


def test_agent_frameworks_are_bounded_below_the_next_major() -> None:
    group = group_requirements("test")
    for name in ("langchain", "langgraph"):
        spec = Requirement(name + group[name]).specifier
        assert lower_bound(group[name]) >= Version("1.0"), name
        assert not spec.contains("2.0.0"), name


def test_ci_lowest_constraints_pin_the_declared_lower_bounds() -> None:
    """CI's second stage tests exactly the lowest framework versions the extras allow."""
    pins: dict[str, Version] = {}
    for line in LOWEST.read_text("utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            [spec] = req.specifier
            assert spec.operator == "==", line
            pins[req.name] = Version(spec.version)
    declared = {
        **by_extra(None),
        **by_extra("langchain"),
        **by_extra("llama-index"),
        **by_extra("ray"),
        **group_requirements("test"),
    }
    assert set(pins) == {
        "langchain-core",
        "llama-index-core",
        "httpx-sse",
        "langchain",
        "langgraph",
        "ray",
    }
    for name, pinned in pins.items():
        assert pinned == lower_bound(declared[name]), name


def test_classifiers_name_every_python_the_readme_supports() -> None:
    """The README's "Python 3.10 to 3.13" and the pyproject classifiers agree.

    Read from ``pyproject.toml`` itself (installed metadata may come from another checkout).
    """
    import re

    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text(encoding="utf-8")
    low, high = re.search(r"Supported: Python 3\.(\d+) to 3\.(\d+)", readme).groups()  # type: ignore[union-attr]
    pyproject = (root / "pyproject.toml").read_text(encoding="utf-8")
    listed = {
        int(m) for m in re.findall(r'"Programming Language :: Python :: 3\.(\d+)"', pyproject)
    }
    assert listed == set(range(int(low), int(high) + 1))
