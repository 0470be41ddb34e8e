#!/usr/bin/env python3
"""Developer entry point: needs only Python 3.10+; sets up ``.venv`` on first use.

Usage::

    python3 dev.py demo [args...]   # the main demo (emulator unless QUANT_API_KEY/ORG are set)
    python3 dev.py test [pytest args...]   # the whole test suite (+ the 90% coverage gate)
    python3 dev.py lint             # ruff and mypy
    python3 dev.py bench [args...]  # the benchmarks

The virtual environment is (re)installed when pyproject.toml changes.

Environment:
    QUANT_DEV_VENV         the virtual environment to use (default ``.venv``)
    QUANT_DEV_CONSTRAINTS  a pip constraints file (``pip install -c``, a path relative to
                           this checkout or absolute) applied to the install, for example
                           ``.ci/lowest-constraints.txt`` (the lowest framework versions that
                           pyproject.toml allows); a change to the file reinstalls. Give it a
                           venv of its own: unsetting it later does not upgrade what the
                           constraints installed (those versions still satisfy pyproject.toml).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = Path(os.environ.get("QUANT_DEV_VENV", ROOT / ".venv"))
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
_CONSTRAINTS = os.environ.get("QUANT_DEV_CONSTRAINTS")
CONSTRAINTS = (ROOT / _CONSTRAINTS).resolve() if _CONSTRAINTS else None
GROUPS = {"demo": [], "test": ["test"], "lint": ["test", "lint"], "bench": ["test", "bench"]}


def _run(*cmd: str | Path) -> None:
    subprocess.run([str(c) for c in cmd], check=True, cwd=ROOT)


def install_digest(constraints: Path | None = CONSTRAINTS) -> str:
    """What the venv is installed from: pyproject.toml and the constraints file, if any."""
    inputs = (ROOT / "pyproject.toml").read_bytes()
    if constraints is not None:
        if not constraints.is_file():
            sys.exit(f"QUANT_DEV_CONSTRAINTS: no such file: {constraints}")
        inputs += b"\0constraints\0" + constraints.read_bytes()
    return hashlib.sha256(inputs).hexdigest()[:16]


# Run by the venv's python after a constrained install: pip ignores a pin of a package that
# nothing requires, so each ``name==version`` pin is checked against what was installed.
_CHECK_PINS = """
import sys
from importlib.metadata import PackageNotFoundError, version
found, wrong = [], []
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.split("#", 1)[0].strip()
    if "==" in line:
        name, pinned = (part.strip() for part in line.split("==", 1))
        try:
            installed = version(name)
        except PackageNotFoundError:
            installed = "not installed"
        if installed == pinned:
            found.append(f"{name} {installed}")
        else:
            wrong.append(f"{name}=={pinned} (installed: {installed})")
if wrong:
    sys.exit("constraints not met: " + ", ".join(wrong))
print("  pinned versions installed:", ", ".join(found), flush=True)
"""


def ensure_venv(groups: list[str]) -> None:
    """Create the venv and install the project with the needed groups when out of date."""
    if sys.version_info < (3, 10):  # noqa: UP036 (dev.py runs on whatever python3 is)
        sys.exit("quant-ai needs Python 3.10 or newer")
    if not PY.exists():
        print(f"creating virtual environment in {VENV.name}/", flush=True)
        venv.EnvBuilder(with_pip=True).create(VENV)
    stamp = VENV / f".installed-{'-'.join(sorted(groups)) or 'base'}-{install_digest()}"
    if stamp.exists():
        return
    print("installing quant-ai and its dependencies (first run only)...", flush=True)
    _run(PY, "-m", "pip", "install", "-q", "--disable-pip-version-check", "pip>=25.1")
    args = ["-m", "pip", "install", "-q", "--disable-pip-version-check", "-e", ".[all]"]
    for group in groups:
        args += ["--group", group]
    if CONSTRAINTS is not None:
        print(f"  with the constraints in {CONSTRAINTS.name}", flush=True)
        args += ["-c", str(CONSTRAINTS)]
    _run(PY, *args)
    if CONSTRAINTS is not None:
        _run(PY, "-c", _CHECK_PINS, CONSTRAINTS)
    stamp.touch()


def main(argv: list[str]) -> int:
    """Run one dev command; returns its exit status."""
    if not argv or argv[0] not in GROUPS:
        print(__doc__)
        return 2
    command, rest = argv[0], argv[1:]
    ensure_venv(GROUPS[command])
    if command == "demo":
        cmd = [str(PY), "-m", "quant_ai.cli", "demo", *rest]
    elif command == "test":
        # The whole suite also enforces the coverage floor of the core; a subset does not.
        gate = [] if rest else ["--cov=quant_ai", "--cov-report=term", "--cov-fail-under=90"]
        cmd = [str(PY), "-m", "pytest", *gate, *rest]
    elif command == "bench":
        cmd = [str(PY), "benchmarks/run.py", *rest]
    else:
        for tool in (["ruff", "check", "."], ["ruff", "format", "--check", "."], ["mypy"]):
            code = subprocess.run([str(BIN / tool[0]), *tool[1:]], cwd=ROOT).returncode
            if code:
                return code
        return 0
    return subprocess.run(cmd, cwd=ROOT).returncode


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
