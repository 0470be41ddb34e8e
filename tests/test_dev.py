"""dev.py: when the venv is reinstalled, and the constraints that CI's second stage installs with."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]


def load_dev(monkeypatch: pytest.MonkeyPatch, constraints: str | None) -> Any:
    """dev.py as a module, read with QUANT_DEV_CONSTRAINTS set to ``constraints`` (or unset)."""
    if constraints is None:
        monkeypatch.delenv("QUANT_DEV_CONSTRAINTS", raising=False)
    else:
        monkeypatch.setenv("QUANT_DEV_CONSTRAINTS", constraints)
    spec = importlib.util.spec_from_file_location("dev_under_test", ROOT / "dev.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_constraints_file_is_part_of_what_the_venv_is_installed_from(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    plain = load_dev(monkeypatch, None)
    assert plain.CONSTRAINTS is None
    lowest = load_dev(monkeypatch, ".ci/lowest-constraints.txt")  # relative to the checkout
    assert lowest.CONSTRAINTS == ROOT / ".ci" / "lowest-constraints.txt"
    assert lowest.install_digest() != plain.install_digest()
    # a changed file means another stamp, so the next dev.py command reinstalls
    pins = tmp_path / "pins.txt"
    pins.write_text("llama-index-core==0.14.7\n")
    first = plain.install_digest(pins)
    pins.write_text("llama-index-core==0.14.8\n")
    assert len({plain.install_digest(), first, plain.install_digest(pins)}) == 3


def test_a_missing_constraints_file_stops_dev_py(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    dev = load_dev(monkeypatch, str(tmp_path / "absent.txt"))
    with pytest.raises(SystemExit, match="no such file"):
        dev.install_digest()


def check_pins(dev: Any, pins: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", dev._CHECK_PINS, str(pins)],
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_pins_are_checked_against_what_was_installed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """pip ignores a pin of a package nothing requires; dev.py does not let that pass."""
    dev = load_dev(monkeypatch, None)
    pins = tmp_path / "pins.txt"
    pins.write_text(f"# comment\npytest=={version('pytest')}  # the runner\n")
    ok = check_pins(dev, pins)
    assert ok.returncode == 0, ok.stderr
    assert f"pytest {version('pytest')}" in ok.stdout
    pins.write_text("pytest==0.0.1\nno-such-package-here==1.0\n")
    bad = check_pins(dev, pins)
    assert bad.returncode == 1
    assert f"pytest==0.0.1 (installed: {version('pytest')})" in bad.stderr
    assert "no-such-package-here==1.0 (installed: not installed)" in bad.stderr
