"""Optional strict auth: one API key (401 otherwise) and one organisation (403 otherwise)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest

from quant_ai import QuantClient
from quant_ai.emulator import EmulatorConfig, QuantEmulator
from quant_ai.errors import QuantAuthenticationError, QuantPermissionDeniedError

HELLO = {"messages": [{"role": "user", "content": "hello"}]}
KEY = "qc_strict_key_123"


@pytest.fixture(scope="module")
def strict() -> Iterator[QuantEmulator]:
    with QuantEmulator(api_key=KEY, organization="acme") as emu:
        yield emu


def _client(emu: QuantEmulator, key: str, org: str) -> QuantClient:
    return QuantClient(api_key=key, organization=org, base_url=emu.base_url, max_retries=0)


def test_permissive_by_default() -> None:
    with QuantEmulator() as emu:
        assert emu.organization == "demo"
        assert emu.api_base.endswith("/organizations/demo")
        for key, org in (("any", "demo"), ("other", "elsewhere")):
            with _client(emu, key, org) as client:
                assert client.chat(HELLO).text


def test_the_right_key_and_organisation_are_served(strict: QuantEmulator) -> None:
    assert strict.api_base.endswith("/organizations/acme")
    with _client(strict, KEY, "acme") as client:
        assert client.chat(HELLO).text
        assert client.list_models().models


def test_another_key_is_401(strict: QuantEmulator) -> None:
    with _client(strict, "qc_wrong", "acme") as client:
        with pytest.raises(QuantAuthenticationError) as info:
            client.chat(HELLO)
        assert info.value.status_code == 401
        with pytest.raises(QuantAuthenticationError):
            list(client.stream_chat(HELLO))
    r = httpx.post(
        f"{strict.openai_base_url}/chat/completions",
        headers={"Authorization": "Bearer qc_wrong"},
        json={"model": "amazon.nova-lite-v1:0", "messages": [{"role": "user", "content": "x"}]},
    )
    assert r.status_code == 401
    ok = httpx.post(
        f"{strict.openai_base_url}/chat/completions",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"model": "amazon.nova-lite-v1:0", "messages": [{"role": "user", "content": "x"}]},
    )
    assert ok.status_code == 200


def test_another_organisation_is_403(strict: QuantEmulator) -> None:
    with _client(strict, KEY, "globex") as client:
        with pytest.raises(QuantPermissionDeniedError) as info:
            client.embed("hello")
        assert info.value.status_code == 403
        assert "Access denied" in info.value.message
    # the British spelling of the path is the same organisation check
    r = httpx.post(
        f"{strict.base_url}/api/v3/organisations/acme/ai/chat",
        headers={"Authorization": f"Bearer {KEY}"},
        json={"modelId": "amazon.nova-lite-v1:0", **HELLO},
    )
    assert r.status_code == 200


def test_the_key_is_not_in_the_config_repr() -> None:
    assert KEY not in repr(EmulatorConfig(api_key=KEY))
    with pytest.raises(ValueError, match="api_key"):
        EmulatorConfig(api_key=" ")


def test_cli_strict_mode() -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "PYTHONUNBUFFERED": "1"}
    args = ["emulator", "--port", "0", "--api-key", KEY, "--organization", "acme"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "quant_ai.cli", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            lines.append(line)
            if line.startswith("Press Ctrl-C") or not line:
                break
        banner = "".join(lines)
        assert "organisation: acme (only this one is served)" in banner
        assert KEY not in banner
        base_url = banner.split("listening on ", 1)[1].split()[0]
        wrong = QuantClient(api_key="nope", organization="acme", base_url=base_url, max_retries=0)
        with wrong, pytest.raises(QuantAuthenticationError):
            wrong.chat(HELLO)
        right = QuantClient(api_key=KEY, organization="acme", base_url=base_url)
        with right:
            assert right.chat(HELLO).text
    finally:
        proc.terminate()
        proc.wait(timeout=10)
