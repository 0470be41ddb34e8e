"""Every ``python`` block of ``llama_index_quant/README_DURABLE.md`` runs, in order, against a
fresh emulator reached through ``QUANT_API_KEY`` / ``QUANT_ORGANIZATION`` / ``QUANT_BASE_URL``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core.instrumentation import get_dispatcher

from quant_ai.emulator import QuantEmulator

pytestmark = pytest.mark.emulator

README = Path(__file__).resolve().parents[2] / "llama_index_quant" / "README_DURABLE.md"
BLOCK = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)


@pytest.fixture
def emulator_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[QuantEmulator]:
    with QuantEmulator() as emu:
        monkeypatch.setenv("QUANT_API_KEY", "readme-key")
        monkeypatch.setenv("QUANT_ORGANIZATION", "readme-org")
        monkeypatch.setenv("QUANT_BASE_URL", emu.base_url)
        yield emu


@pytest.fixture
def root_handlers() -> Iterator[None]:
    """The README adds an event handler to the root dispatcher: take it away afterwards."""
    root = get_dispatcher()
    before = list(root.event_handlers)
    yield
    root.event_handlers = before


def test_readme_durable_blocks_run(
    emulator_env: QuantEmulator, root_handlers: None, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = BLOCK.findall(README.read_text("utf-8"))
    assert len(blocks) == 4
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    for number, source in enumerate(blocks, 1):
        code = compile(source, f"README_DURABLE.md python block {number}", "exec")
        try:
            exec(code, namespace)  # noqa: S102 (the README is ours)
        except Exception as exc:
            raise AssertionError(f"README_DURABLE.md block {number} failed:\n{source}") from exc
    out = capsys.readouterr().out
    assert "['get_weather']" in out
    assert "['lookup_stock']\n" in out
    assert "QuantServerToolStartEvent get_weather" in out
    assert "QuantServerToolCompleteEvent get_weather" in out
    assert "QuantOrchestrationStatusEvent Executed 1 tool(s)" in out
    assert "waiting_callback ['lookup_stock']" in out
    assert "ran lookup_stock {'symbol': 'ACME'}" in out
    assert "waiting_callback ['find_museum']" in out
    assert "['lookup_stock', 'find_museum']" in out
    assert "complete []" in out
    # the durable chat, the agent and the resumed execution all answer with the results
    assert out.count("Museum of Paris") >= 3
    assert out.count("ACME trades at 42 dollars") >= 4
    assert emulator_env.requests > 0
