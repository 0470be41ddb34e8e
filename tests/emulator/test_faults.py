"""Fault injection (per request header and per server) and concurrency."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from quant_ai.emulator import QuantEmulator
from tests.emulator.conftest import AUTH
from tests.emulator.helpers import chat_body, checked, parse_sse


@pytest.mark.parametrize("status", [429, 503, 500])
def test_header_status_for_first_n_then_success(client: httpx.Client, status: int) -> None:
    fault = {"X-Emulator-Fault": f"status={status};count=2;retry_after=1;key=first-n-{status}"}
    seen = [client.post("/ai/chat", json=chat_body("retry me"), headers=fault) for _ in range(3)]
    assert [r.status_code for r in seen] == [status, status, 200]
    assert seen[0].json()["message"] == f"Emulated fault: HTTP {status}"
    if status in (429, 503):
        assert seen[0].headers["retry-after"] == "1"
    else:
        assert "retry-after" not in seen[0].headers
    checked("chatInference", seen[2])


def test_default_fault_key_is_per_request(client: httpx.Client) -> None:
    fault = {"X-Emulator-Fault": "status=429"}
    a1 = client.post("/ai/chat", json=chat_body("key a"), headers=fault)
    b1 = client.post("/ai/chat", json=chat_body("key b"), headers=fault)
    a2 = client.post("/ai/chat", json=chat_body("key a"), headers=fault)
    assert (a1.status_code, b1.status_code, a2.status_code) == (429, 429, 200)
    assert a1.headers["retry-after"] == "0"


def test_random_failures_are_seeded(client: httpx.Client) -> None:
    def run(key: str) -> list[int]:
        fault = {"X-Emulator-Fault": f"rate=0.5;seed=3;status=503;key={key}"}
        return [client.get("/ai/models", headers=fault).status_code for _ in range(12)]

    first, second = run("rate-1"), run("rate-2")
    assert first == second
    assert set(first) == {200, 503}


def test_header_latency(emulator: QuantEmulator, client: httpx.Client) -> None:
    before = emulator.injected_latency_s
    assert client.get("/ai/models", headers={"X-Emulator-Fault": "latency=120"}).status_code == 200
    assert emulator.injected_latency_s - before == pytest.approx(0.12)
    assert client.get("/ai/models").status_code == 200
    assert emulator.injected_latency_s - before == pytest.approx(0.12)  # none without the header


def test_server_latency_and_slow_events() -> None:
    with (
        QuantEmulator(latency_ms=20, event_delay_ms=5) as emu,
        httpx.Client(base_url=emu.api_base, headers=AUTH) as c,
    ):
        assert c.get("/ai/models").status_code == 200
        assert emu.injected_latency_s == pytest.approx(0.02)
        text = c.post("/ai/chat/stream", json=chat_body("slow")).text
        events = text.count("\n\n")
        assert events >= 3
        assert emu.injected_latency_s == pytest.approx(0.04)
        assert emu.injected_event_delay_s == pytest.approx(0.005 * (events - 1))
        oai = c.post(
            f"{emu.openai_base_url}/chat/completions",
            json={
                "model": "amazon.nova-lite-v1:0",
                "messages": [{"role": "user", "content": "slow"}],
                "stream": True,
            },
        ).text
        frames = oai.count("\n\n")
        assert emu.injected_event_delay_s == pytest.approx(0.005 * (events - 1 + frames - 1))


def test_buffered_drop(client: httpx.Client) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        client.post(
            "/ai/chat", json=chat_body("drop"), headers={"X-Emulator-Fault": "drop_after=0"}
        )


@pytest.mark.parametrize(
    "value", ["status=abc", "colour=red", "status", "rate=3", "status=42", "hold=0"]
)
def test_malformed_fault_header_is_400(client: httpx.Client, value: str) -> None:
    r = client.get("/ai/models", headers={"X-Emulator-Fault": value})
    assert r.status_code == 400
    assert "X-Emulator-Fault" in r.json()["errors"]


def test_server_level_faults() -> None:
    with (
        QuantEmulator(fault_status=429, fault_count=2, retry_after=2) as emu,
        httpx.Client(base_url=emu.api_base, headers=AUTH) as c,
    ):
        codes = [c.get("/ai/models") for _ in range(3)]
        assert [r.status_code for r in codes] == [429, 429, 200]
        assert codes[0].headers["retry-after"] == "2"
        emu.reset()
        assert c.get("/ai/models").status_code == 429
    with (
        QuantEmulator(failure_rate=0.5, failure_seed=1, failure_status=500) as emu,
        httpx.Client(base_url=emu.api_base, headers=AUTH) as c,
    ):
        first = [c.get("/ai/models").status_code for _ in range(10)]
        emu.reset()
        assert [c.get("/ai/models").status_code for _ in range(10)] == first
        assert set(first) == {200, 500}


def test_server_level_stream_faults_and_route_latency() -> None:
    with (
        QuantEmulator(
            drop_after_events=1, event_delay_ms=5, route_latency_ms={"embeddings": 50}
        ) as emu,
        httpx.Client(base_url=emu.api_base, headers=AUTH) as c,
    ):
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/ai/chat/stream", json=chat_body("x")).read()
        assert emu.injected_latency_s == 0
        r = c.post("/ai/embeddings", json={"input": "x"})
        assert r.status_code == 200
        assert emu.injected_latency_s == pytest.approx(0.05)  # the embeddings route only
        c.get("/ai/models")
        assert emu.injected_latency_s == pytest.approx(0.05)


def test_wild_server_and_content_events_config() -> None:
    with (
        QuantEmulator(shapes="wild", content_events=3, chunking="char") as emu,
        httpx.Client(base_url=emu.api_base, headers=AUTH) as c,
    ):
        text = c.post("/ai/chat/stream", json=chat_body("abc")).text
        assert "event:" not in text
        assert text.count('"type":"content"') == 3


async def test_two_hundred_requests_in_flight(emulator: QuantEmulator) -> None:
    limits = httpx.Limits(max_connections=250, max_keepalive_connections=250)
    # hold=200 keeps every request in the server until 200 wait at once, then releases them
    # together; the emulator counts how many were in flight (no wall-clock assertion).
    fault = {"X-Emulator-Fault": "hold=200", **AUTH}
    emulator.reset()
    async with httpx.AsyncClient(
        base_url=emulator.api_base, headers=fault, limits=limits, timeout=60
    ) as c:
        responses = await asyncio.gather(
            *[c.get("/ai/models/amazon.nova-lite-v1%3A0") for _ in range(200)]
        )
    assert all(r.status_code == 200 for r in responses)
    assert [checked("getAIModel", r)["id"] for r in responses] == ["amazon.nova-lite-v1:0"] * 200
    assert emulator.peak_in_flight == 200
    assert emulator.connections == 200


async def test_async_faults(aclient: httpx.AsyncClient) -> None:
    fault = {"X-Emulator-Fault": "status=503;count=1;key=async-503"}
    first = await aclient.post("/ai/embeddings", json={"input": "x"}, headers=fault)
    second = await aclient.post("/ai/embeddings", json={"input": "x"}, headers=fault)
    assert (first.status_code, second.status_code) == (503, 200)
    received = b""
    with pytest.raises(httpx.RemoteProtocolError):
        async with aclient.stream(
            "POST",
            "/ai/chat/stream",
            json=chat_body("async drop now please"),
            headers={"X-Emulator-Fault": "drop_after=3;event_delay=5"},
        ) as r:
            async for chunk in r.aiter_bytes():
                received += chunk
    assert [e[1] for e in parse_sse(received.decode())] == ["start", "content", "content"]
