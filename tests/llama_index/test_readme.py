"""Every Python snippet of llama_index_quant/README_SECTION.md runs as written on the emulator."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from llama_index.core import Settings

from quant_ai.emulator import QuantEmulator

README = Path(__file__).resolve().parents[2] / "llama_index_quant" / "README_SECTION.md"
SNIPPETS = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
EXPECTED = ["1848", "42", "nova_1.png", "name="]


def test_every_snippet_is_checked() -> None:
    assert len(SNIPPETS) == len(EXPECTED)


@pytest.mark.parametrize(("snippet", "expected"), list(zip(SNIPPETS, EXPECTED, strict=True)))
def test_snippet_runs_on_the_emulator(snippet: str, expected: str, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)
    with QuantEmulator() as emu:
        monkeypatch.setenv("QUANT_BASE_URL", emu.base_url)
        monkeypatch.setenv("QUANT_API_KEY", "qc_readme")
        monkeypatch.setenv("QUANT_ORGANIZATION", "acme")
        out = io.StringIO()
        llm, embed = Settings._llm, Settings._embed_model
        try:
            with contextlib.redirect_stdout(out):
                exec(compile(snippet, str(README), "exec"), {"__name__": "readme"})  # noqa: S102
        finally:
            Settings._llm, Settings._embed_model = llm, embed
    assert expected in out.getvalue()
