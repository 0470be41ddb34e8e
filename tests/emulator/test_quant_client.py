"""QuantClient (the core client) end to end against the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from quant_ai import QuantClient
from quant_ai.emulator import QuantEmulator
from tests.emulator.helpers import MODEL


@pytest.fixture
def qc(emulator: QuantEmulator) -> Iterator[QuantClient]:
    client = QuantClient(
        api_key="qc_test", organization="acme", base_url=emulator.base_url, allow_insecure_http=True
    )
    yield client
    client.close()


def test_chat_and_stream(qc: QuantClient) -> None:
    messages = [{"role": "user", "content": "client hello"}]
    answer = qc.chat(model_id=MODEL, messages=messages)
    assert answer.text == 'Emulated answer to "client hello".'
    events = list(qc.stream_chat(model_id=MODEL, messages=messages))
    text = "".join(getattr(e, "delta", "") for e in events)
    assert text == answer.text


def test_embed_image_models(qc: QuantClient) -> None:
    result = qc.embed(["a b", "c d"], dimensions=256)
    assert result.dimension == 256
    image = qc.generate_image(
        task_type="TEXT_IMAGE",
        text_to_image_params={"text": "a fox"},
        image_generation_config={"width": 64, "height": 64},
    )
    assert len(image.images) == 1
    assert len(qc.list_models().models) == 10
    assert qc.get_model("amazon.nova-lite-v1:0").id == "amazon.nova-lite-v1:0"


def test_durable_with_tool_handler(qc: QuantClient) -> None:
    tools = {
        "tools": [
            {
                "toolSpec": {
                    "name": "get_weather",
                    "description": "weather for a city",
                    "inputSchema": {
                        "json": {
                            "type": "object",
                            "properties": {"city": {"type": "string"}},
                            "required": ["city"],
                        }
                    },
                }
            }
        ]
    }
    accepted = qc.start_chat(
        model_id=MODEL,
        messages=[{"role": "user", "content": "weather in Perth"}],
        tool_config=tools,
    )
    done = qc.wait_for_execution(
        accepted.request_id,
        tool_handler=lambda pending: {p.tool_use_id: {"temp": "30C"} for p in pending},
        initial_delay=0.001,
        max_delay=0.001,
        timeout=5,
    )
    assert done.result is not None
    assert "30C" in (done.result.response.content or "")


def test_retries_on_429(qc: QuantClient) -> None:
    client = QuantClient(
        api_key="qc_test",
        organization="acme",
        base_url=qc.config.base_url,
        allow_insecure_http=True,
        default_headers={"X-Emulator-Fault": "status=429;count=1;retry_after=0;key=client-retry"},
    )
    try:
        assert client.chat(model_id=MODEL, messages=[{"role": "user", "content": "retry"}]).text
    finally:
        client.close()


async def test_async_client(qc: QuantClient) -> None:
    answer = await qc.achat(model_id=MODEL, messages=[{"role": "user", "content": "async client"}])
    assert "async client" in answer.text
