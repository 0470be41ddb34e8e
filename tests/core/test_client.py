"""Every operation, sync and async, through a contract-checked MockTransport."""

from __future__ import annotations

import base64
import gc
import json
import warnings
from typing import Any

import httpx
import pytest

from quant_ai import (
    ChatRequest,
    DocumentBlock,
    ImageBlock,
    Message,
    QuantClient,
    QuantError,
    QuantExecutionFailedError,
    QuantExecutionTimeoutError,
    QuantNotFoundError,
    ToolResultBlock,
    ToolUseBlock,
)
from quant_ai.types import ToolResultContent, ToolUseContent

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="
)
CHAT_OK = {
    "response": {"role": "assistant", "content": "The capital of Australia is Canberra."},
    "model": "amazon.nova-lite-v1:0",
    "requestId": "req-abc123",
    "finishReason": "stop",
    "usage": {"inputTokens": 12, "outputTokens": 8, "totalTokens": 20, "costCents": 0.18},
}


def json_handler(body: Any, status: int = 200, record: list[Any] | None = None):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        if record is not None:
            record.append(json.loads(request.content) if request.content else None)
        return httpx.Response(status, json=body)

    return handler


def full_request() -> ChatRequest:
    """A request using every chat field and every block kind."""
    return ChatRequest(
        messages=[
            Message(role="system", content="Be brief."),
            Message(
                role="user",
                content=[
                    ImageBlock.from_bytes(PNG, "png"),
                    DocumentBlock.from_bytes(b"%PDF-1.4", "pdf", "report"),
                    {
                        "video": {
                            "format": "mp4",
                            "source": {"bytes": base64.b64encode(b"vid").decode()},
                        }
                    },
                    {"text": "Describe these."},
                ],
            ),
            Message(
                role="assistant",
                content=[
                    ToolUseBlock(
                        tool_use=ToolUseContent(tool_use_id="t1", name="lookup", input={"q": "x"})
                    )
                ],
            ),
            Message(
                role="user",
                content=[
                    ToolResultBlock(
                        tool_result=ToolResultContent(
                            tool_use_id="t1",
                            content=[{"text": "found"}, ImageBlock.from_bytes(PNG, "png")],
                            status="success",
                        )
                    )
                ],
            ),
        ],
        model_id="anthropic.claude-sonnet-4-5",
        temperature=0.2,
        max_tokens=256,
        top_p=0.9,
        system_prompt="You are helpful.",
        stop_sequences=["END"],
        response_format={"type": "json", "jsonSchema": {"type": "object"}},
        tool_config={
            "tools": [
                {
                    "toolSpec": {
                        "name": "lookup",
                        "description": "Look up",
                        "inputSchema": {"json": {"type": "object"}},
                    }
                }
            ],
            "autoExecute": True,
            "allowedTools": ["get_weather"],
        },
        allowed_tools=["get_weather"],
        session_id="9b2f1f7e-0d9e-4a57-9b43-3a8a1f1e2c11",
        guardrails={"guardrailIdentifier": "g1", "guardrailVersion": "1", "trace": "enabled"},
        long_context=True,
    )


async def test_achat(make_client) -> None:  # type: ignore[no-untyped-def]
    client, transport = make_client(json_handler(CHAT_OK))
    answer = await client.achat(full_request())
    assert answer.text.startswith("The capital")
    assert transport.requests[0][0] == "chatInference"


ACCEPTED = {
    "requestId": "XkdVWiEfSwMEPrw=",
    "sessionId": "session-1769056496430",
    "status": "queued",
    "message": "Execution started. Poll the status endpoint for updates.",
    "pollUrl": "/ai/chat/executions/XkdVWiEfSwMEPrw%3D",
}


@pytest.mark.parametrize("via_stream", [False, True])
async def test_start_chat_sends_async_and_parses_202(make_client, via_stream: bool) -> None:  # type: ignore[no-untyped-def]
    sent: list[Any] = []
    client, transport = make_client(json_handler(ACCEPTED, status=202, record=sent))
    accepted = client.start_chat(
        messages=[{"role": "user", "content": "long job"}], via_stream=via_stream
    )
    again = await client.astart_chat(
        messages=[{"role": "user", "content": "long job"}], via_stream=via_stream
    )
    assert accepted.request_id == again.request_id == "XkdVWiEfSwMEPrw="
    assert accepted.poll_url == ACCEPTED["pollUrl"]
    assert all(body["async"] is True for body in sent)
    expected = "chatInferenceStream" if via_stream else "chatInference"
    assert [op for op, _ in transport.requests] == [expected, expected]


def test_unexpected_202_on_chat_is_explained(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(json_handler(ACCEPTED, status=202))
    with pytest.raises(QuantError, match="XkdVWiEfSwMEPrw="):
        client.chat(messages=[{"role": "user", "content": "x"}])


def test_stream_request_drops_the_stream_flag(make_client) -> None:  # type: ignore[no-untyped-def]
    sent: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        frames = (
            'event: start\ndata: {"requestId":"r1","model":"m"}\n\nevent: content\ndata: {"delta":"Hi"}\n\n'
            'event: done\ndata: {"complete":true,"usage":{"inputTokens":1,"outputTokens":1,"totalTokens":2}}\n\n'
        )
        return httpx.Response(200, headers={"content-type": "text/event-stream"}, text=frames)

    client, transport = make_client(handler)
    events = list(
        client.stream_chat(ChatRequest(messages=[Message(role="user", content="x")], stream=True))
    )
    assert "stream" not in sent[0]
    assert transport.requests[0][0] == "chatInferenceStream"
    assert [type(e).__name__ for e in events] == ["StartEvent", "ContentEvent", "DoneEvent"]


EMBED_ONE = {
    "embeddings": [0.1, 0.2, 0.3],
    "model": "amazon.titan-embed-text-v2:0",
    "dimension": 3,
    "usage": {"inputTokens": 2, "totalTokens": 2},
}
EMBED_MANY = {
    "embeddings": [[0.1, 0.2], [0.3, 0.4]],
    "model": "amazon.titan-embed-text-v2:0",
    "dimension": 2,
    "usage": {"inputTokens": 4, "totalTokens": 4},
}


async def test_embeddings_single_and_batch(make_client) -> None:  # type: ignore[no-untyped-def]
    sent: list[Any] = []
    one, _ = make_client(json_handler(EMBED_ONE, record=sent))
    res = one.embed("hello", dimensions=256, normalize=True)
    assert res.single is True
    assert res.embeddings == [[0.1, 0.2, 0.3]]
    assert sent[0] == {"input": "hello", "dimensions": 256, "normalize": True}
    many, _ = make_client(json_handler(EMBED_MANY, record=sent))
    res2 = await many.aembed(["a", "b"], model_id="amazon.titan-embed-text-v2:0")
    assert res2.single is False
    assert res2.embeddings == [[0.1, 0.2], [0.3, 0.4]]
    assert res2.usage.input_tokens == 4
    assert sent[1] == {"input": ["a", "b"], "modelId": "amazon.titan-embed-text-v2:0"}
    assert many.embed(("a", "b")).embeddings[1] == [0.3, 0.4]


PNG_B64 = base64.b64encode(PNG).decode()
IMAGE_REQUESTS: list[dict[str, Any]] = [
    {
        "task_type": "TEXT_IMAGE",
        "text_to_image_params": {
            "text": "a lighthouse",
            "negative_text": "blurry",
            "style": "PHOTOREALISM",
        },
    },
    {
        "task_type": "TEXT_IMAGE",
        "text_to_image_params": {
            "text": "a lighthouse",
            "condition_image": PNG,
            "control_mode": "SEGMENTATION",
            "control_strength": 0.5,
        },
    },
    {
        "task_type": "COLOR_GUIDED_GENERATION",
        "color_guided_generation_params": {
            "colors": ["#FF0000", "#00ff00"],
            "reference_image": PNG,
            "text": "a bird",
        },
    },
    {
        "task_type": "IMAGE_VARIATION",
        "image_variation_params": {
            "images": [PNG, PNG_B64],
            "similarity_strength": 0.7,
            "text": "x",
        },
    },
    {
        "task_type": "INPAINTING",
        "in_painting_params": {"image": PNG, "mask_prompt": "the sky", "text": "stars"},
    },
    {
        "task_type": "INPAINTING",
        "in_painting_params": {"image": PNG, "mask_image": f"data:image/png;base64,{PNG_B64}"},
    },
    {
        "task_type": "OUTPAINTING",
        "out_painting_params": {
            "image": PNG,
            "mask_image": PNG,
            "out_painting_mode": "PRECISE",
            "text": "wider",
        },
    },
    {"task_type": "BACKGROUND_REMOVAL", "background_removal_params": {"image": PNG}},
    {
        "task_type": "VIRTUAL_TRY_ON",
        "virtual_try_on_params": {"sourceImage": PNG, "referenceImage": PNG},
    },
]


@pytest.mark.parametrize(
    "fields", IMAGE_REQUESTS, ids=[f"{r['task_type']}-{i}" for i, r in enumerate(IMAGE_REQUESTS)]
)
async def test_every_image_task_type(make_client, fields: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    sent: list[Any] = []
    body = {"images": [PNG_B64, f"data:image/jpeg;base64,{PNG_B64}"], "maskImage": PNG_B64}
    client, transport = make_client(json_handler(body, record=sent), check=False)
    config = {
        "width": 512,
        "height": 512,
        "quality": "premium",
        "cfg_scale": 7,
        "seed": 42,
        "number_of_images": 2,
    }
    res = client.generate_image(**fields, image_generation_config=config, region="eu-west-1")
    res2 = await client.agenerate_image(
        **fields, image_generation_config=config, region="eu-west-1"
    )
    assert res == res2
    assert res.images[0].data == PNG
    assert res.images[0].mime_type == "image/png"
    assert res.images[1].mime_type == "image/jpeg"  # declared by the data URL
    assert res.mask_image is not None
    assert res.mask_image.data == PNG
    wire = sent[0]
    assert wire["taskType"] == fields["task_type"]
    assert wire["imageGenerationConfig"] == {
        "width": 512,
        "height": 512,
        "quality": "premium",
        "cfgScale": 7,
        "seed": 42,
        "numberOfImages": 2,
    }
    assert wire["region"] == "eu-west-1"
    params = next(v for k, v in wire.items() if k.endswith("Params"))
    for value in json.dumps(params):
        assert "data:" not in value
    assert transport.requests[0][0] == "imageGeneration"


def test_text_to_image_builder_and_moderation(make_client) -> None:  # type: ignore[no-untyped-def]
    sent: list[Any] = []
    client, _ = make_client(
        json_handler({"images": [], "error": "blocked by content moderation"}, record=sent)
    )
    request = QuantClient.text_to_image_request("a fox", width=320, height=320, seed=1)
    res = client.generate_image(request)
    assert res.images == []
    assert res.error == "blocked by content moderation"
    assert sent[0] == {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "a fox"},
        "imageGenerationConfig": {"width": 320, "height": 320, "seed": 1},
    }


def test_image_inputs_from_paths(make_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "in.png"
    path.write_bytes(PNG)
    sent: list[Any] = []
    client, _ = make_client(json_handler({"images": [PNG_B64]}, record=sent))
    client.generate_image(task_type="BACKGROUND_REMOVAL", background_removal_params={"image": path})
    assert sent[0]["backgroundRemovalParams"]["image"] == PNG_B64


MODELS_LIST = {
    "count": 2,
    "models": [
        {
            "id": "amazon.nova-lite-v1:0",
            "name": "Nova Lite",
            "provider": "Amazon",
            "capabilities": {
                "text": True,
                "multimodal": True,
                "embeddings": False,
                "streaming": True,
                "toolUse": True,
            },
        },
        {
            "id": "anthropic.claude-sonnet-4-5",
            "name": "Claude Sonnet 4.5",
            "provider": "Anthropic",
            "contextWindow": 200000,
            "maxOutputTokens": 64000,
            "capabilities": {
                "supportsTools": True,
                "supportsVision": True,
                "supportsStructuredOutput": True,
            },
        },
    ],
}
MODEL_DETAIL = {
    "id": "amazon.nova-pro-v1:0",
    "name": "Nova Pro",
    "provider": "Amazon",
    "description": "d",
    "contextWindow": 300000,
    "maxOutputTokens": 5000,
    "capabilities": {
        "supportsTools": True,
        "supportsStructuredOutput": True,
        "supportsMultimodal": True,
        "supportsVision": True,
        "supportsStreaming": True,
    },
    "pricing": {"inputPerMToken": 0.8, "outputPerMToken": 3.2, "currency": "USD"},
    "releaseDate": "2024-12-03",
    "deprecated": False,
    "available": True,
}


async def test_models_list_both_shapes_and_detail(make_client) -> None:  # type: ignore[no-untyped-def]
    client, transport = make_client(
        lambda r: httpx.Response(
            200, json=MODELS_LIST if r.url.path.endswith("/models") else MODEL_DETAIL
        )
    )
    listed = client.list_models(feature="chat")
    assert listed.count == 2
    assert [m.capabilities.tools for m in listed.models] == [True, True]
    assert [m.capabilities.vision for m in listed.models] == [True, True]
    assert listed.models[1].context_window == 200000
    detail = await client.aget_model("amazon.nova-pro-v1:0")
    assert detail.pricing is not None
    assert detail.pricing.output_per_m_token == 3.2
    assert detail.context_window == 300000
    alisted = await client.alist_models()
    assert alisted == listed
    assert client.get_model("amazon.nova-pro-v1:0") == detail
    assert [op for op, _ in transport.requests] == [
        "listAIModels",
        "getAIModel",
        "listAIModels",
        "getAIModel",
    ]


def test_model_not_found(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(
        json_handler({"message": "Model not found", "code": "MODEL_NOT_FOUND"}, status=404)
    )
    with pytest.raises(QuantNotFoundError) as info:
        client.get_model("nope")
    assert info.value.code == "MODEL_NOT_FOUND"


# ----------------------------------------------------------------------------- durable executions


class Durable:
    """A scripted execution: each GET returns the next status."""

    def __init__(self, statuses: list[dict[str, Any]], *, callback_status: int = 200) -> None:
        self.statuses = statuses
        self.polls = 0
        self.callbacks: list[Any] = []
        self.callback_status = callback_status

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            body = json.loads(request.content)
            self.callbacks.append(body)
            if self.callback_status != 200:
                return httpx.Response(
                    self.callback_status,
                    json={"message": "Callback not found or already processed"},
                )
            return httpx.Response(
                200,
                json={
                    "success": True,
                    "message": "Callback submitted successfully",
                    "callbackId": body["callbackId"],
                },
            )
        status = self.statuses[min(self.polls, len(self.statuses) - 1)]
        self.polls += 1
        return httpx.Response(200, json=status)


WAIT_1 = {
    "requestId": "r1",
    "status": "waiting_callback",
    "callbackId": "cb-1",
    "pendingTools": [{"name": "lookup", "toolUseId": "t1", "input": {"q": "a"}}],
}
WAIT_2 = {
    "requestId": "r1",
    "status": "waiting_callback",
    "callbackId": "cb-2",
    "pendingTools": [
        {"name": "lookup", "toolUseId": "t2", "input": {"q": "b"}},
        {"name": "clock", "toolUseId": "t3", "input": {}},
    ],
}
DONE = {
    "requestId": "r1",
    "status": "complete",
    "awsStatus": "SUCCEEDED",
    "result": {
        "response": {"role": "assistant", "content": "All done."},
        "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8, "costCents": 0.01},
        "toolExecutions": [{"name": "lookup"}],
    },
}


def run_tools(pending: list[Any]) -> dict[str, Any]:
    return {
        p.tool_use_id: ({"answer": p.input.get("q")} if p.name == "lookup" else "noon")
        for p in pending
    }


def test_wait_runs_tools_once_per_callback_with_backoff(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable(
        [
            {"status": "pending"},
            {"status": "running"},
            {"status": "running"},
            WAIT_1,
            WAIT_1,
            {"status": "running"},
            WAIT_2,
            {"status": "running"},
            DONE,
        ]
    )
    client, transport = make_client(script)
    clock = [0.0]
    client.clock = lambda: clock[0]
    client.transport.sleep = lambda s: (client.sleeps.append(s), clock.__setitem__(0, clock[0] + s))
    seen: list[str] = []
    final = client.wait_for_execution(
        "r1", tool_handler=run_tools, on_status=lambda s: seen.append(s.status)
    )
    assert final.is_complete
    assert final.result is not None
    assert final.result.response.content == "All done."
    assert [c["callbackId"] for c in script.callbacks] == ["cb-1", "cb-2"]
    assert script.callbacks[0]["toolResults"] == [{"toolUseId": "t1", "result": {"answer": "a"}}]
    assert script.callbacks[1]["toolResults"][1] == {
        "toolUseId": "t3",
        "result": {"result": "noon"},
    }
    # 1 s doubling, reset to 1 s after each callback.
    assert client.sleeps == [1.0, 2.0, 4.0, 1.0, 2.0, 1.0]
    assert seen[0] == "pending"
    assert seen[-1] == "complete"
    assert {op for op, _ in transport.requests} == {
        "getDurableExecutionStatus",
        "submitToolCallback",
    }


async def test_await_with_async_handler(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable([WAIT_1, {"status": "running"}, DONE])
    client, _ = make_client(script)

    async def handler(pending: list[Any]) -> dict[str, Any]:
        return run_tools(pending)

    statuses: list[str] = []

    async def on_status(status: Any) -> None:
        statuses.append(status.status)

    final = await client.await_for_execution("r1", tool_handler=handler, on_status=on_status)
    assert final.is_complete
    assert statuses == ["waiting_callback", "running", "complete"]
    assert [c["callbackId"] for c in script.callbacks] == ["cb-1"]


def test_completed_spelling_and_max_delay(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable(
        [{"status": "running"}] * 7
        + [{"status": "completed", "result": {"response": {"content": "ok"}}}]
    )
    client, _ = make_client(script, check=False)
    final = client.wait_for_execution("r1", initial_delay=1, max_delay=30)
    assert final.is_complete
    assert client.sleeps == [1, 2, 4, 8, 16, 30, 30]


def test_waiting_without_handler_returns_status(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable([WAIT_1])
    client, _ = make_client(script)
    status = client.wait_for_execution("r1")
    assert status.is_waiting
    assert status.pending_tools[0].input == {"q": "a"}
    assert script.callbacks == []


@pytest.mark.parametrize("is_async", [False, True])
async def test_failed_execution_raises_typed_error(make_client, is_async: bool) -> None:  # type: ignore[no-untyped-def]
    failed = {
        "requestId": "r1",
        "status": "failed",
        "error": {"ErrorType": "ModelError", "ErrorMessage": "boom"},
    }
    client, _ = make_client(Durable([{"status": "running"}, failed]))
    with pytest.raises(QuantExecutionFailedError) as info:
        if is_async:
            await client.await_for_execution("r1")
        else:
            client.wait_for_execution("r1")
    assert info.value.error_type == "ModelError"
    assert info.value.error_message == "boom"
    assert info.value.request_id == "r1"


def test_timeout_with_fake_clock(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(Durable([{"status": "running"}]))
    clock = [0.0]
    client.clock = lambda: clock[0]
    client.transport.sleep = lambda s: (client.sleeps.append(s), clock.__setitem__(0, clock[0] + s))
    with pytest.raises(QuantExecutionTimeoutError) as info:
        client.wait_for_execution("r1")
    assert info.value.last_status == "running"
    assert sum(client.sleeps) <= 900
    assert client.sleeps[:6] == [1, 2, 4, 8, 16, 30]


def test_reused_callback_404_is_handled(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable([WAIT_1, DONE], callback_status=404)
    client, _ = make_client(script)
    assert client.wait_for_execution("r1", tool_handler=run_tools).is_complete
    assert len(script.callbacks) == 1


async def test_submit_and_get_execution(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable([DONE])
    client, _ = make_client(script)
    assert (await client.aget_execution("r1")).result is not None
    res = await client.asubmit_tool_results("cb-9", [{"toolUseId": "t1", "result": {"v": 1}}])
    assert res.success
    assert res.callback_id == "cb-9"


def test_sync_wait_refuses_async_handler(make_client) -> None:  # type: ignore[no-untyped-def]
    script = Durable([WAIT_1])
    client, _ = make_client(script)

    async def handler(pending: list[Any]) -> dict[str, Any]:
        return {}

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(QuantError, match="await_for_execution"):
            client.wait_for_execution("r1", tool_handler=handler)
        gc.collect()
    assert script.callbacks == []


def test_bad_polling_settings(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(Durable([DONE]))
    with pytest.raises(QuantError):
        client.wait_for_execution("r1", initial_delay=0)


def test_callback_result_makes_an_object_of_any_tool_value() -> None:
    import datetime as dt

    import pydantic

    from quant_ai.client import callback_result

    class Quote(pydantic.BaseModel):
        symbol: str
        price: float

    when = dt.date(2026, 1, 2)
    assert callback_result({"a": 1, "when": when}) == {"a": 1, "when": "2026-01-02"}
    assert callback_result(Quote(symbol="ACME", price=42.0)) == {"symbol": "ACME", "price": 42.0}
    assert callback_result('{"temp": 20}') == {"temp": 20}
    assert callback_result("[1, 2]") == {"result": [1, 2]}
    assert callback_result("sunny") == {"result": "sunny"}
    assert callback_result(None) == {"result": None}
    assert callback_result((1, "x")) == {"result": [1, "x"]}
    assert callback_result(3.5) == {"result": 3.5}
    assert callback_result(when) == {"result": "2026-01-02"}
