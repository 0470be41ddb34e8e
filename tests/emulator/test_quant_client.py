"""QuantClient (the core client) end to end against the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from quant_ai import ContentEvent, DoneEvent, PendingTool, QuantClient, StartEvent
from quant_ai.emulator import QuantEmulator
from tests.emulator.helpers import MODEL, VALIDATED, acheck_response, b64, check_response, png


@pytest.fixture
def qc(emulator: QuantEmulator) -> Iterator[QuantClient]:
    """A client whose responses are checked against the spec (sync and async hooks)."""
    with httpx.Client(event_hooks={"response": [check_response]}) as http:
        client = QuantClient(
            api_key="qc_test",
            organization="acme",
            base_url=emulator.base_url,
            http_client=http,
            async_http_client=httpx.AsyncClient(event_hooks={"response": [acheck_response]}),
        )
        yield client


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
    assert qc.transport._ahttp is not None
    async with qc.transport._ahttp:
        answer = await qc.achat(
            model_id=MODEL, messages=[{"role": "user", "content": "async client"}]
        )
    assert "async client" in answer.text


WEATHER_TOOLS: dict[str, Any] = {
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


async def test_every_operation_async(qc: QuantClient) -> None:
    """Each route through the async methods; every JSON answer is checked against the spec."""
    assert qc.transport._ahttp is not None
    before = len(VALIDATED)
    async with qc.transport._ahttp:
        messages = [{"role": "user", "content": "async hello"}]
        answer = await qc.achat(model_id=MODEL, messages=messages)
        events = [e async for e in qc.astream_chat(model_id=MODEL, messages=messages)]
        assert isinstance(events[0], StartEvent)
        assert isinstance(events[-1], DoneEvent)
        assert "".join(e.delta for e in events if isinstance(e, ContentEvent)) == answer.text
        vectors = await qc.aembed(["red apples", "green apples"], dimensions=512)
        assert [len(v) for v in vectors.embeddings] == [512, 512]
        image = await qc.agenerate_image(
            task_type="BACKGROUND_REMOVAL",
            background_removal_params={"image": png(32, 16, (10, 200, 10))},
        )
        assert image.images[0].mime_type == "image/png"
        assert image.images[0].data.startswith(b"\x89PNG")
        listed = await qc.alist_models(feature="embeddings")
        assert {m.id for m in listed.models} == {
            "amazon.titan-embed-text-v2:0",
            "amazon.titan-embed-text-v1:0",
        }
        detail = await qc.aget_model("amazon.titan-embed-text-v1:0")
        assert detail.id == "amazon.titan-embed-text-v1:0"

        accepted = await qc.astart_chat(
            model_id=MODEL,
            messages=[{"role": "user", "content": "weather in Hobart"}],
            tool_config=WEATHER_TOOLS,
        )
        seen: list[str] = []

        async def handler(pending: list[PendingTool]) -> dict[str, Any]:
            return {p.tool_use_id: {"temp": f"{p.input['city']} 17C"} for p in pending}

        done = await qc.await_for_execution(
            accepted.request_id,
            tool_handler=handler,
            on_status=lambda s: seen.append(s.status),
            initial_delay=0.001,
            max_delay=0.001,
        )
        assert seen == ["pending", "running", "waiting_callback", "running", "complete"]
        assert done.result is not None
        assert "Hobart 17C" in done.result.response.content
        status = await qc.aget_execution(accepted.request_id)
        assert status.is_complete
    assert set(VALIDATED[before:]) == {
        "chatInference",
        "embeddings",
        "imageGeneration",
        "listAIModels",
        "getAIModel",
        "getDurableExecutionStatus",
        "submitToolCallback",
    }


def test_multimodal_and_wild_shapes(emulator: QuantEmulator) -> None:
    """Media blocks are described; the alternative shapes parse into the same answers."""
    image = png(4, 4, (250, 0, 0))
    with QuantClient("qc_test", "acme", emulator.base_url) as plain:
        answer = plain.chat(
            model_id=MODEL,
            messages=[
                {
                    "role": "user",
                    "content": [
                        {"image": {"format": "png", "source": {"bytes": b64(image)}}},
                        {"text": "What colour is it?"},
                    ],
                }
            ],
        )
        assert (
            answer.text == f"I received 1 image (png, {len(image)} bytes). The image is mostly red."
        )
        spec_events = list(
            plain.stream_chat(model_id=MODEL, messages=[{"role": "user", "content": "shapes"}])
        )
    with QuantClient(
        "qc_test", "acme", emulator.base_url, default_headers={"X-Emulator-Shapes": "wild"}
    ) as wild:
        wild_events = list(
            wild.stream_chat(model_id=MODEL, messages=[{"role": "user", "content": "shapes"}])
        )
        picture = wild.generate_image(
            task_type="TEXT_IMAGE",
            text_to_image_params={"text": "a fox"},
            image_generation_config={"width": 32, "height": 32},
        )
    assert [type(e) for e in wild_events] == [type(e) for e in spec_events]
    assert [getattr(e, "delta", None) for e in wild_events] == [
        getattr(e, "delta", None) for e in spec_events
    ]
    assert picture.images[0].data.startswith(b"\x89PNG")  # decoded from a data: URL
