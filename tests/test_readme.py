"""Every code block of README.md is executed or checked.

* ``python`` blocks run, in order and in one namespace, against a fresh emulator reached
  through ``QUANT_API_KEY`` / ``QUANT_ORGANIZATION`` / ``QUANT_BASE_URL``. A comment line
  ``# -> text`` in a block is a promise: ``text`` appears in what that block prints.
* ``bash`` blocks are commands a reader types. Each line is checked against what it names:
  ``dev.py`` subcommands, the ``quant-ai`` CLI's own argument parsers, the extras of
  ``pyproject.toml``, the environment variables the client reads, and the paths it mentions.
  A line of a form the test does not know fails, so no block goes unchecked.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import shlex
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from quant_ai.emulator import QuantEmulator

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.DOTALL | re.MULTILINE)
PROMISE = re.compile(r"^# -> (.+)$", re.MULTILINE)


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text("utf-8")) if lang == language]


def test_every_block_has_a_known_language() -> None:
    languages = {lang for lang, _ in FENCE.findall(README.read_text("utf-8"))}
    assert languages <= {"python", "bash"}, languages
    assert len(blocks("python")) >= 15


@pytest.fixture
def emulator_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[QuantEmulator]:
    """A fresh emulator in the environment; global LlamaIndex state restored afterwards."""
    from llama_index.core import Settings
    from llama_index.core.instrumentation import get_dispatcher

    llm, embed = Settings._llm, Settings._embed_model
    root = get_dispatcher()
    handlers = list(root.event_handlers)  # the README adds an event handler
    with QuantEmulator() as emu:
        monkeypatch.setenv("QUANT_API_KEY", "readme-key")
        monkeypatch.setenv("QUANT_ORGANIZATION", "readme-org")
        monkeypatch.setenv("QUANT_BASE_URL", emu.base_url)
        monkeypatch.chdir(tmp_path)
        try:
            yield emu
        finally:
            Settings._llm, Settings._embed_model = llm, embed
            root.event_handlers = handlers


def test_readme_python_blocks_run_and_print_what_they_promise(
    emulator_env: QuantEmulator, tmp_path: Path
) -> None:
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    promised = 0
    for number, source in enumerate(blocks("python"), 1):
        code = compile(source, f"README.md python block {number}", "exec")
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                exec(code, namespace)  # noqa: S102 (the README is ours)
        except Exception as exc:
            raise AssertionError(f"README python block {number} failed:\n{source}") from exc
        for text in PROMISE.findall(source):
            promised += 1
            assert text in out.getvalue(), (
                f"README python block {number} promised {text!r} but printed:\n{out.getvalue()}"
            )
    assert promised >= 15
    assert emulator_env.requests > 30
    assert (tmp_path / "lighthouse.png").read_bytes().startswith(b"\x89PNG")
    assert sorted(p.name for p in (tmp_path / "images").iterdir())


# ------------------------------------------------------------------------------ bash blocks


def _load_dev() -> Any:
    spec = importlib.util.spec_from_file_location("readme_dev", ROOT / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _extras() -> set[str]:
    from importlib.metadata import metadata

    return set(metadata("quant-ai").get_all("Provides-Extra") or [])


def _check_paths(args: list[str]) -> None:
    for arg in args:
        if not arg.startswith("-") and ("/" in arg or arg.endswith(".py")):
            path = arg.split("::", 1)[0]
            assert (ROOT / path).exists(), f"README names a missing path: {arg}"


def _check_pytest_args(args: list[str]) -> None:
    _check_paths(args)
    known = {"-m", "-k", "-q", "-x", "--record-mode=rewrite", "--force-enable-socket"}
    for arg in args:
        if arg.startswith("-"):
            assert arg in known, f"README pytest option not checked: {arg}"


def check_command(line: str, dev: Any, extras: set[str]) -> None:
    """Raise AssertionError unless ``line`` is a command this project really has."""
    words = shlex.split(line, comments=True)
    if not words:
        return
    head, rest = words[0], words[1:]
    if head in ("python3", "python") and rest[:1] == ["dev.py"]:
        assert rest[1] in dev.GROUPS, f"dev.py has no {rest[1]!r} command"
        if rest[1] == "test":
            _check_pytest_args(rest[2:])
        if rest[1] == "bench":
            _check_paths(rest[2:])
        return
    if head in ("python3", "python") and rest[:1] and rest[0].startswith("benchmarks/"):
        assert (ROOT / rest[0]).is_file()
        return
    if head == "bash":
        assert (ROOT / rest[0]).is_file(), rest[0]
        return
    if head == "pip":
        assert rest[0] == "install", line
        for requirement in rest[1:]:
            match = re.fullmatch(r"quant-ai(?:\[([\w,-]+)\])?", requirement)
            assert match, f"README installs something else: {requirement}"
            for extra in filter(None, (match.group(1) or "").split(",")):
                assert extra in extras, f"no extra {extra!r} in pyproject.toml"
        return
    if head == "export":
        config = (ROOT / "quant_ai" / "_config.py").read_text("utf-8")
        for assignment in rest:
            name = assignment.split("=", 1)[0]
            assert f'"{name}"' in config, f"the client does not read {name}"
        return
    if head == "quant-ai":
        if rest[0] == "demo":
            from quant_demo.demo import build_parser as demo_parser

            demo_parser().parse_args(rest[1:])
        else:
            from quant_ai.cli import build_parser

            build_parser().parse_args(rest)
        return
    raise AssertionError(f"README command of an unchecked form: {line}")


def test_readme_bash_blocks_name_real_commands() -> None:
    dev, extras = _load_dev(), _extras()
    lines = [line for body in blocks("bash") for line in body.splitlines()]
    assert len(lines) >= 10
    for line in lines:
        check_command(line, dev, extras)


@pytest.mark.parametrize(
    "line",
    [
        "python3 dev.py deploy",
        'pip install "quant-ai[nothing]"',
        "export QUANT_NOT_A_SETTING=1",
        "quant-ai emulator --no-such-flag",
        "python3 dev.py test tests/not_there.py",
        "curl https://example.invalid",
    ],
)
def test_the_bash_check_rejects_wrong_commands(line: str) -> None:
    with pytest.raises((AssertionError, SystemExit)):
        check_command(line, _load_dev(), _extras())
