"""The ``quant-ai`` command line: the emulator sub-command and its flags."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import httpx
import pytest

from tests.emulator.conftest import AUTH
from tests.emulator.helpers import checked


def test_cli_starts_prints_url_and_stops() -> None:
    """The ``quant-ai`` console script of the installed package serves until interrupted."""
    script = shutil.which("quant-ai", path=os.path.dirname(sys.executable))
    assert script is not None, "the quant-ai console script is not installed"
    proc = subprocess.Popen(
        [script, "emulator", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        assert line.startswith("Quant AI emulator listening on http://127.0.0.1:"), line
        url = line.rsplit(" ", 1)[1].strip()
        # The socket is listening before the URL is printed: the request waits in its backlog.
        r = httpx.get(url + "/api/v3/organizations/x/ai/models", headers=AUTH, timeout=30)
        assert r.status_code == 200
        assert checked("listAIModels", r)["count"] == 10
        proc.send_signal(signal.SIGINT if os.name != "nt" else signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_cli_parser_has_emulator_flags() -> None:
    from quant_ai.cli import build_parser

    args = build_parser().parse_args(
        [
            "emulator",
            "--port",
            "0",
            "--route-latency",
            "embeddings=50",
            "--wild",
            "--content-events",
            "5",
        ]
    )
    assert args.port == 0
    assert args.route_latency == [("embeddings", 50.0)]
    assert args.wild
    assert args.content_events == 5
    with pytest.raises(SystemExit):
        build_parser().parse_args(["emulator", "--route-latency", "bad"])
