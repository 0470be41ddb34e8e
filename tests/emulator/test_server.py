"""Start-up, auth, routing, validation errors, keep-alive (the CLI: tests/core/test_cli.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import httpx
import pytest

from quant_ai._contract import ContractViolation
from quant_ai.emulator import EmulatorConfig, QuantEmulator
from tests.emulator.conftest import AUTH
from tests.emulator.helpers import MODEL, VALIDATED, chat_body, check_response, checked


def test_start_returns_once_serving_and_stop_closes() -> None:
    """``start()`` returns when the server accepts requests (its start-up time is reported by
    benchmarks/emulator_latency.py, not asserted here); ``stop()`` closes the socket."""
    emu = QuantEmulator()
    assert emu.port == 0
    with emu:
        assert emu.port > 0
        # No retry: the first request after start() is served.
        with httpx.Client(transport=httpx.HTTPTransport(retries=0)) as c:
            assert c.get(emu.base_url + "/_emulator/stats").json() == {
                "requests": 0,
                "connections": 0,
                "pid": os.getpid(),
                "rate_limited": 0,
            }
    with pytest.raises(httpx.ConnectError):
        httpx.get(emu.base_url + "/_emulator/stats")


def test_base_urls(emulator: QuantEmulator) -> None:
    assert emulator.base_url.startswith("http://127.0.0.1:")
    assert emulator.port > 0
    assert emulator.api_base == f"{emulator.base_url}/api/v3/organizations/demo"
    assert emulator.openai_base_url == f"{emulator.base_url}/oai/v1"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer"},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer two words"},
        {"Authorization": "qc_token"},
    ],
)
def test_bad_or_missing_token_is_401(emulator: QuantEmulator, headers: dict[str, str]) -> None:
    r = httpx.post(emulator.api_base + "/ai/chat", json=chat_body("hi"), headers=headers)
    assert r.status_code == 401
    assert r.json() == {"message": "Unauthenticated."}
    r = httpx.get(emulator.openai_base_url + "/models", headers=headers)
    assert r.status_code == 401
    assert r.json()["error"]["type"] == "authentication_error"


def test_token_never_echoed(client: httpx.Client) -> None:
    r = client.post(
        "/ai/chat", json={"modelId": "nope", "messages": [{"role": "user", "content": "x"}]}
    )
    assert r.status_code == 400
    assert "qc_test_token" not in r.text


def test_uk_spelling_and_any_org(emulator: QuantEmulator) -> None:
    for spelling in ("organisations", "organizations"):
        r = httpx.post(
            f"{emulator.base_url}/api/v3/{spelling}/acme-org/ai/chat",
            json=chat_body("hello"),
            headers=AUTH,
        )
        assert r.status_code == 200
        checked("chatInference", r)
    r = httpx.get(f"{emulator.base_url}/api/v3/orgs/acme/ai/models", headers=AUTH)
    assert r.status_code == 404


def test_unknown_route_and_method(client: httpx.Client) -> None:
    assert client.get("/ai/nothing").status_code == 404
    assert client.get("/ai/chat").status_code == 405
    assert client.post("/ai/models").status_code == 405


def test_malformed_json_is_400(client: httpx.Client) -> None:
    r = client.post("/ai/chat", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400
    assert "body" in r.json()["errors"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "modelId"),
        ({"modelId": MODEL, "messages": []}, "messages"),
        ({"modelId": MODEL, "messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({**chat_body("x"), "temperature": 3}, "temperature"),
        ({**chat_body("x"), "maxTokens": 0}, "maxTokens"),
        ({**chat_body("x"), "unknownField": 1}, "unknownField"),
        ({**chat_body("x"), "stopSequences": ["a", "b", "c", "d", "e"]}, "stopSequences"),
        (
            {
                "modelId": MODEL,
                "messages": [
                    {
                        "role": "user",
                        "content": [{"image": {"format": "bmp", "source": {"bytes": "AAAA"}}}],
                    }
                ],
            },
            "messages.0.content.0.image.format",
        ),
    ],
)
def test_schema_violations_name_the_field(client: httpx.Client, body: dict, field: str) -> None:
    r = client.post("/ai/chat", json=body)
    assert r.status_code == 400, r.text
    payload = r.json()
    assert field in payload["errors"], payload
    assert isinstance(payload["errors"][field], list)
    assert payload["errors"][field]
    assert field in payload["message"]


def test_keep_alive_reuses_one_connection(emulator: QuantEmulator) -> None:
    with QuantEmulator() as emu, httpx.Client(base_url=emu.api_base, headers=AUTH) as c:
        for _ in range(20):
            assert c.get("/ai/models").status_code == 200
        assert emu.requests == 20
        assert emu.connections == 1
        stats = httpx.get(emu.base_url + "/_emulator/stats").json()
        assert (stats["requests"], stats["connections"]) == (20, 1)
    with QuantEmulator() as emu:
        for _ in range(3):
            with httpx.Client(base_url=emu.api_base, headers=AUTH) as c:
                c.get("/ai/models")
        assert emu.connections == 3
        httpx.post(emu.base_url + "/_emulator/reset")
        assert emu.connections == 0
        assert emu.requests == 0


def test_config_validation() -> None:
    with pytest.raises(ValueError, match="failure_rate"):
        EmulatorConfig(failure_rate=2)
    with pytest.raises(ValueError, match="shapes"):
        EmulatorConfig(shapes="odd")  # type: ignore[arg-type]
    assert QuantEmulator(latency_ms=5).config.latency_ms == 5
    assert EmulatorConfig().with_changes(chunking="char").chunking == "char"


def test_client_fixtures_check_every_documented_response(client: httpx.Client) -> None:
    before = len(VALIDATED)
    assert client.get("/ai/models").status_code == 200
    assert client.get("/ai/models/nope").status_code == 404  # documented: {message, code}
    assert client.post("/ai/chat", json={"messages": []}).status_code == 400  # not documented
    assert VALIDATED[before:] == ["listAIModels", "getAIModel"]
    off_spec = httpx.Response(
        200,
        json={"models": "not a list"},
        request=httpx.Request("GET", "http://127.0.0.1/api/v3/organizations/x/ai/models"),
    )
    with pytest.raises(ContractViolation):
        check_response(off_spec)


def test_runs_with_only_the_emulator_extra() -> None:
    """The emulator needs the core plus starlette, uvicorn and jsonschema, nothing else."""
    code = textwrap.dedent(
        """
        import importlib.abc, sys

        class Block(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in {"langchain_core", "llama_index", "yaml", "numpy"}:
                    raise ImportError("blocked: " + name)
                return None

        sys.meta_path.insert(0, Block())
        import httpx
        from quant_ai.emulator import QuantEmulator

        with QuantEmulator() as emu:
            r = httpx.post(
                emu.api_base + "/ai/chat",
                json={"modelId": "amazon.nova-lite-v1:0", "messages": [{"role": "user", "content": "hi"}]},
                headers={"Authorization": "Bearer x"},
            )
            print(r.json()["response"]["content"])
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == 'Emulated answer to "hi".'
