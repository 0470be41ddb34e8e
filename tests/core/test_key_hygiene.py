"""No error of the core holds the API key: every error path, walked by ``assert_no_secret``.

Each case provokes one failure of a :class:`QuantClient` whose key is recognisable, over real
sockets (the emulator on loopback, or a port nobody listens on), and walks the error: its
text, arguments, attributes (into httpx requests and responses), ``errors()``, the whole
cause/context chain and its pickle (see :mod:`tests.key_hygiene`).
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import httpx
import pytest

from quant_ai import QuantClient, QuantError
from quant_ai.emulator import QuantEmulator
from quant_ai.errors import (
    QuantAPIError,
    QuantConnectionError,
    QuantExecutionFailedError,
    QuantExecutionTimeoutError,
    QuantStreamError,
    QuantTimeoutError,
    QuantValidationError,
)
from tests.key_hygiene import assert_no_secret

KEY = "qc_LEAKCHECK_7f3a9b2c4d5e6f708192a3b4"
MODEL = "amazon.nova-lite-v1:0"
HELLO = {"messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="module")
def emulator() -> Iterator[QuantEmulator]:
    with QuantEmulator(execution_polls_per_state=0) as emu:
        yield emu


def _client(base_url: str, **kwargs: Any) -> QuantClient:
    kwargs.setdefault("max_retries", 0)
    return QuantClient(
        api_key=KEY, organization="acme", base_url=base_url, allow_insecure_http=True, **kwargs
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _raised(call: Callable[[], Any]) -> QuantError:
    with pytest.raises(QuantError) as info:
        call()
    return info.value


async def _araised(call: Callable[[], Awaitable[Any]]) -> QuantError:
    with pytest.raises(QuantError) as info:
        await call()
    return info.value


def test_connection_refused() -> None:
    with _client(f"http://127.0.0.1:{_free_port()}") as client:
        error = _raised(lambda: client.chat(HELLO))
    assert isinstance(error, QuantConnectionError)
    assert isinstance(error.__cause__, httpx.ConnectError)  # the cause is kept, scrubbed
    assert_no_secret(error, KEY)


async def test_connection_refused_async() -> None:
    client = _client(f"http://127.0.0.1:{_free_port()}")
    error = await _araised(lambda: client.achat(HELLO))
    await client.aclose()
    assert isinstance(error, QuantConnectionError)
    assert_no_secret(error, KEY)


def test_read_timeout(emulator: QuantEmulator) -> None:
    slow = {"X-Emulator-Fault": "latency=3000"}  # milliseconds
    with _client(emulator.base_url, timeout=0.3, default_headers=slow) as client:
        error = _raised(lambda: client.chat(HELLO))
    assert isinstance(error, QuantTimeoutError)
    assert_no_secret(error, KEY)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 422, 429, 500])
def test_error_statuses(emulator: QuantEmulator, status: int) -> None:
    fault = {"X-Emulator-Fault": f"status={status};count=100"}
    with _client(emulator.base_url, default_headers=fault) as client:
        error = _raised(lambda: client.chat(HELLO))
        stream_error = _raised(lambda: list(client.stream_chat(HELLO)))
    for err in (error, stream_error):
        assert isinstance(err, QuantAPIError)
        assert err.status_code == status
        assert_no_secret(err, KEY)


def test_refused_request_body(emulator: QuantEmulator) -> None:
    with _client(emulator.base_url) as client:
        error = _raised(lambda: client.chat(**HELLO, model_id="no-such-model"))
    assert isinstance(error, QuantAPIError)
    assert error.status_code == 400
    assert_no_secret(error, KEY)


def test_stream_cut(emulator: QuantEmulator) -> None:
    cut = {"X-Emulator-Fault": "drop_after=2"}
    with _client(emulator.base_url, default_headers=cut) as client:
        error = _raised(lambda: list(client.stream_chat(chat_text("tell me a long story"))))
    assert isinstance(error, QuantStreamError)
    assert_no_secret(error, KEY)


async def test_stream_cut_async(emulator: QuantEmulator) -> None:
    cut = {"X-Emulator-Fault": "drop_after=2"}
    client = _client(emulator.base_url, default_headers=cut)

    async def consume() -> None:
        async for _event in client.astream_chat(chat_text("tell me a long story")):
            pass

    error = await _araised(consume)
    await client.aclose()
    assert isinstance(error, QuantStreamError)
    assert_no_secret(error, KEY)


def chat_text(text: str) -> dict[str, Any]:
    return {"messages": [{"role": "user", "content": text}]}


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda c: c.chat({"messages": []}), id="no-messages"),
        pytest.param(lambda c: c.chat({"messages": [{"role": "x"}]}), id="pydantic"),
        pytest.param(
            lambda c: c.chat(
                {"messages": [{"role": "user", "content": [{"image": {"format": "png"}}]}]}
            ),
            id="pydantic-nested",
        ),
        pytest.param(lambda c: c.chat(**HELLO, temperature=9), id="range"),
        pytest.param(lambda c: c.embed([]), id="embeddings"),
        pytest.param(lambda c: c.generate_image(task_type="NOPE"), id="image"),
        pytest.param(lambda c: c.submit_tool_results("", {}), id="callback"),
        pytest.param(lambda c: c.submit_tool_results("cb", [{"x": 1}]), id="callback-item"),
    ],
)
def test_validation_errors(call: Callable[[QuantClient], Any]) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("sent")

    client = QuantClient(
        api_key=KEY,
        organization="acme",
        base_url="https://quant.test",
        http_client=httpx.Client(transport=httpx.MockTransport(never)),
    )
    error = _raised(lambda: call(client))
    assert isinstance(error, QuantValidationError)
    assert_no_secret(error, KEY)


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"organization": ""}, id="no-organisation"),
        pytest.param({"organization": "a/b"}, id="bad-organisation"),
        pytest.param({"base_url": "http://insecure.example"}, id="insecure-url"),
        pytest.param({"base_url": "ftp://quant.test"}, id="not-http"),
        pytest.param({"max_retries": -1}, id="bad-retries"),
    ],
)
def test_configuration_errors(kwargs: dict[str, Any]) -> None:
    def never(request: httpx.Request) -> httpx.Response:
        raise AssertionError("sent")

    settings: dict[str, Any] = {
        "organization": "acme",
        "base_url": "https://quant.test",
        "http_client": httpx.Client(transport=httpx.MockTransport(never)),
        **kwargs,
    }
    with pytest.raises((QuantError, ValueError)) as info:
        QuantClient(api_key=KEY, **settings).chat(HELLO)
    assert_no_secret(info.value, KEY)


def test_durable_failure(emulator: QuantEmulator) -> None:
    with _client(emulator.base_url) as client:
        accepted = client.start_chat(chat_text("please fail [[fail]]"))
        error = _raised(lambda: client.wait_for_execution(accepted.request_id, initial_delay=0.001))
    assert isinstance(error, QuantExecutionFailedError)
    assert_no_secret(error, KEY)


def test_durable_timeout_and_bad_tool_results(emulator: QuantEmulator) -> None:
    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_forecast",
                    "description": "Get the weather forecast for a city",
                    "inputSchema": {"json": {"type": "object", "properties": {"city": {}}}},
                }
            }
        ]
    }
    with _client(emulator.base_url) as client:
        accepted = client.start_chat(chat_text("forecast for Paris"), tool_config=tools)
        no_results = _raised(
            lambda: client.wait_for_execution(
                accepted.request_id, tool_handler=lambda pending: {}, initial_delay=0.001
            )
        )
    assert isinstance(no_results, QuantValidationError)
    assert_no_secret(no_results, KEY)
    with QuantEmulator(execution_polls_per_state=10_000) as slow, _client(slow.base_url) as client:
        accepted = client.start_chat(chat_text("hello"))
        timeout = _raised(
            lambda: client.wait_for_execution(accepted.request_id, initial_delay=0.01, timeout=0.05)
        )
    assert isinstance(timeout, QuantExecutionTimeoutError)
    assert_no_secret(timeout, KEY)
