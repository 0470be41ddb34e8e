"""The demo runs all six steps on the emulator, leaves a PNG, and fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

import quant_demo.demo as demo
from quant_ai.cli import main as cli_main


def test_demo_runs_every_step_on_the_emulator(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--backend", "emulator", "--output-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "using the built-in emulator" in out
    for number in range(1, 7):
        assert f"[{number}/6]" in out
    assert out.count("  ok") == 6
    assert "all 6 step(s) succeeded" in out
    pngs = list((tmp_path / "images").glob("*.png"))
    assert pngs
    assert pngs[0].read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert "1848" in out  # the RAG answer comes from the right passage


def test_default_backend_is_the_emulator_without_a_token() -> None:
    assert demo.build_parser().parse_args([]).backend == "emulator"


def test_default_backend_is_quant_with_a_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANT_API_KEY", "k")
    monkeypatch.setenv("QUANT_ORGANIZATION", "o")
    assert demo.build_parser().parse_args([]).backend == "quant"


def test_quant_backend_without_settings_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--backend", "quant", "--output-dir", str(tmp_path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    error = captured.err.strip()
    assert "\n" not in error  # one line, no traceback
    assert "QUANT_API_KEY" in error
    assert "QUANT_ORGANIZATION" in error


def test_output_reads_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert demo.main(["--only", "chain,rag,agent", "--output-dir", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    lines = captured.out.splitlines()
    # the streamed answer is on the line of its label
    answer = next(line for line in lines if line.startswith("  answer: "))  # step 1's
    assert answer.removeprefix("  answer: ").strip()
    # no progress bars interleaved with the steps
    assert "%|" not in captured.err
    assert "%|" not in captured.out
    # the demo says what it asked Nova Canvas to draw
    assert "  Nova Canvas prompt (generate_image): 'a lighthouse at dusk'" in lines


def test_a_failing_step_makes_the_exit_status_non_zero(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(ctx: demo.Context) -> None:
        raise RuntimeError("boom")

    monkeypatch.setitem(demo.RUNNERS, "structured", ("broken step", broken))
    assert cli_main(["demo", "--only", "chain,structured", "--output-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert "FAILED: RuntimeError: boom" in out
    assert "1 step(s) failed: structured" in out


def test_only_accepts_numbers_and_names() -> None:
    assert demo._step_names("1,usage") == ["chain", "usage"]
    with pytest.raises(SystemExit):
        demo._step_names("7")
