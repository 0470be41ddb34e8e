"""Every client-side rule refuses bad input with a typed error before anything is sent."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from quant_ai import QuantClient, QuantValidationError

BIG = "A" * (34 * 1024 * 1024)  # 25.5 MB once decoded
HALF = "A" * (18 * 1024 * 1024)  # 13.5 MB once decoded
PNG = "iVBORw0KGgo="


@pytest.fixture
def client() -> tuple[QuantClient, list[httpx.Request]]:
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(500)

    return QuantClient(
        "qc_k",
        "acme",
        "https://quant.test",
        http_client=httpx.Client(transport=httpx.MockTransport(handler)),
    ), sent


def user(content: Any) -> list[dict[str, Any]]:
    return [{"role": "user", "content": content}]


CHAT_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("no messages", {"messages": []}, "messages"),
    ("empty string", {"messages": user("  ")}, "messages.0.content"),
    ("empty block list", {"messages": user([])}, "messages.0.content"),
    ("empty text block", {"messages": user([{"text": ""}])}, "messages.0.content.0.text"),
    ("unknown role", {"messages": [{"role": "bot", "content": "x"}]}, "messages.0.role"),
    (
        "image format",
        {"messages": user([{"image": {"format": "bmp", "source": {"bytes": PNG}}}])},
        "messages.0.content.0.image.format",
    ),
    (
        "empty image",
        {"messages": user([{"image": {"format": "png", "source": {"bytes": ""}}}])},
        "messages.0.content.0.image.source.bytes",
    ),
    (
        "video format",
        {"messages": user([{"video": {"format": "avi", "source": {"bytes": PNG}}}])},
        "messages.0.content.0.video.format",
    ),
    (
        "document format",
        {
            "messages": user(
                [{"document": {"format": "txt", "name": "n", "source": {"bytes": PNG}}}]
            )
        },
        "messages.0.content.0.document.format",
    ),
    (
        "document without name",
        {
            "messages": user(
                [{"document": {"format": "pdf", "name": " ", "source": {"bytes": PNG}}}]
            )
        },
        "messages.0.content.0.document.name",
    ),
    (
        "toolUse in user turn",
        {"messages": user([{"toolUse": {"toolUseId": "t", "name": "n", "input": {}}}])},
        "messages.0.content.0",
    ),
    (
        "toolResult in assistant turn",
        {
            "messages": [
                {
                    "role": "assistant",
                    "content": [{"toolResult": {"toolUseId": "t", "content": [{"text": "r"}]}}],
                }
            ]
        },
        "messages.0.content.0",
    ),
    (
        "toolResult without content",
        {"messages": user([{"toolResult": {"toolUseId": "t", "content": []}}])},
        "messages.0.content.0.toolResult.content",
    ),
    (
        "toolResult bad status",
        {
            "messages": user(
                [{"toolResult": {"toolUseId": "t", "content": [{"text": "r"}], "status": "ok"}}]
            )
        },
        "messages.0.content.0.toolResult.status",
    ),
    (
        "five stop sequences",
        {"messages": user("x"), "stop_sequences": ["a", "b", "c", "d", "e"]},
        "stopSequences",
    ),
    ("empty stop sequence", {"messages": user("x"), "stop_sequences": [""]}, "stopSequences"),
    ("temperature high", {"messages": user("x"), "temperature": 2.5}, "temperature"),
    ("temperature low", {"messages": user("x"), "temperature": -0.1}, "temperature"),
    ("topP", {"messages": user("x"), "top_p": 1.5}, "topP"),
    ("maxTokens zero", {"messages": user("x"), "max_tokens": 0}, "maxTokens"),
    ("maxTokens huge", {"messages": user("x"), "max_tokens": 70000}, "maxTokens"),
    (
        "responseFormat type",
        {"messages": user("x"), "response_format": {"type": "xml"}},
        "responseFormat.type",
    ),
    ("sessionId not uuid", {"messages": user("x"), "session_id": "session-1"}, "sessionId"),
    (
        "guardrails trace",
        {"messages": user("x"), "guardrails": {"trace": "on"}},
        "guardrails.trace",
    ),
    (
        "autoExecute without allowedTools",
        {
            "messages": user("x"),
            "tool_config": {"tools": [{"toolSpec": {"name": "get_weather"}}], "autoExecute": True},
        },
        "toolConfig.allowedTools",
    ),
    (
        "bad tool name",
        {"messages": user("x"), "tool_config": {"tools": [{"toolSpec": {"name": "get weather"}}]}},
        "toolConfig.tools.0.toolSpec.name",
    ),
    (
        "duplicate tool",
        {
            "messages": user("x"),
            "tool_config": {"tools": [{"toolSpec": {"name": "a"}}, {"toolSpec": {"name": "a"}}]},
        },
        "toolConfig.tools.1.toolSpec.name",
    ),
    (
        "non-object tool schema",
        {
            "messages": user("x"),
            "tool_config": {
                "tools": [{"toolSpec": {"name": "a", "inputSchema": {"json": {"type": "string"}}}}]
            },
        },
        "toolConfig.tools.0.toolSpec.inputSchema.json",
    ),
    (
        "media over 25 MB",
        {"messages": user([{"image": {"format": "png", "source": {"bytes": BIG}}}])},
        "messages",
    ),
    ("wrong type", {"messages": "hello"}, "messages"),
    (
        "media over 25 MB in two images",
        {
            "messages": user(
                [
                    {"image": {"format": "png", "source": {"bytes": HALF}}},
                    {"image": {"format": "png", "source": {"bytes": HALF}}},
                ]
            )
        },
        "messages",
    ),
    (
        "media over 25 MB inside a tool result",
        {
            "messages": user(
                [
                    {
                        "toolResult": {
                            "toolUseId": "t",
                            "content": [
                                {
                                    "document": {
                                        "format": "pdf",
                                        "name": "d",
                                        "source": {"bytes": BIG},
                                    }
                                }
                            ],
                        }
                    }
                ]
            )
        },
        "messages",
    ),
    ("body over the limit", {"messages": user("x" * (36 * 1024 * 1024))}, "messages"),
]


@pytest.mark.parametrize(("case", "fields", "field"), CHAT_CASES, ids=[c[0] for c in CHAT_CASES])
def test_chat_rules(
    client: tuple[QuantClient, list[httpx.Request]], case: str, fields: dict[str, Any], field: str
) -> None:
    quant, sent = client
    with pytest.raises(QuantValidationError) as info:
        quant.chat(**fields)
    assert info.value.field is not None
    assert info.value.field.startswith(field), (info.value.field, str(info.value))
    assert isinstance(info.value, ValueError)
    with pytest.raises(QuantValidationError):
        list(quant.stream_chat(**fields))
    assert sent == []


async def test_chat_rules_async(client: tuple[QuantClient, list[httpx.Request]]) -> None:
    quant, sent = client
    for _, fields, _field in CHAT_CASES:
        with pytest.raises(QuantValidationError):
            await quant.achat(**fields)
        with pytest.raises(QuantValidationError):
            async for _ in quant.astream_chat(**fields):
                pass
    assert sent == []


def test_async_flag_on_chat_points_to_start_chat(
    client: tuple[QuantClient, list[httpx.Request]],
) -> None:
    quant, sent = client
    with pytest.raises(QuantValidationError, match="start_chat"):
        quant.chat(messages=user("x"), async_=True)
    assert sent == []


EMBED_CASES: list[tuple[str, Any, dict[str, Any], str]] = [
    ("no texts", [], {}, "input"),
    ("101 texts", ["t"] * 101, {}, "input"),
    ("empty text", ["a", ""], {}, "input.1"),
    ("blank single", "   ", {}, "input.0"),
    ("v2 dimension", "x", {"dimensions": 768}, "dimensions"),
    ("v2 8192", "x", {"dimensions": 8192}, "dimensions"),
    (
        "v1 dimension",
        "x",
        {"model_id": "amazon.titan-embed-text-v1:0", "dimensions": 1536},
        "dimensions",
    ),
    ("other model dimension", "x", {"model_id": "custom", "dimensions": 100}, "dimensions"),
]


@pytest.mark.parametrize(
    ("case", "texts", "kwargs", "field"), EMBED_CASES, ids=[c[0] for c in EMBED_CASES]
)
async def test_embedding_rules(
    client: tuple[QuantClient, list[httpx.Request]],
    case: str,
    texts: Any,
    kwargs: dict[str, Any],
    field: str,
) -> None:
    quant, sent = client
    with pytest.raises(QuantValidationError) as info:
        quant.embed(texts, **kwargs)
    assert info.value.field == field
    with pytest.raises(QuantValidationError):
        await quant.aembed(texts, **kwargs)
    assert sent == []


def t2i(**params: Any) -> dict[str, Any]:
    return {"task_type": "TEXT_IMAGE", "text_to_image_params": {"text": "a cat", **params}}


IMAGE_CASES: list[tuple[str, dict[str, Any], str]] = [
    ("unknown task", {"task_type": "SKETCH"}, "taskType"),
    ("missing params", {"task_type": "TEXT_IMAGE"}, "textToImageParams"),
    (
        "params of another task",
        {**t2i(), "background_removal_params": {"image": PNG}},
        "backgroundRemovalParams",
    ),
    (
        "empty prompt",
        {"task_type": "TEXT_IMAGE", "text_to_image_params": {"text": ""}},
        "textToImageParams.text",
    ),
    ("long prompt", t2i(text="x" * 1025), "textToImageParams.text"),
    ("long negative", t2i(negative_text="x" * 1025), "textToImageParams.negativeText"),
    ("style", t2i(style="CUBISM"), "textToImageParams.style"),
    ("control mode", t2i(control_mode="DEPTH"), "textToImageParams.controlMode"),
    ("control strength", t2i(control_strength=1.5), "textToImageParams.controlStrength"),
    (
        "no colours",
        {
            "task_type": "COLOR_GUIDED_GENERATION",
            "color_guided_generation_params": {"colors": [], "text": "x"},
        },
        "colorGuidedGenerationParams.colors",
    ),
    (
        "eleven colours",
        {
            "task_type": "COLOR_GUIDED_GENERATION",
            "color_guided_generation_params": {"colors": ["#000000"] * 11, "text": "x"},
        },
        "colorGuidedGenerationParams.colors",
    ),
    (
        "bad colour",
        {
            "task_type": "COLOR_GUIDED_GENERATION",
            "color_guided_generation_params": {"colors": ["red"], "text": "x"},
        },
        "colorGuidedGenerationParams.colors.0",
    ),
    (
        "colour prompt",
        {
            "task_type": "COLOR_GUIDED_GENERATION",
            "color_guided_generation_params": {"colors": ["#FF0000"]},
        },
        "colorGuidedGenerationParams.text",
    ),
    (
        "no variation images",
        {"task_type": "IMAGE_VARIATION", "image_variation_params": {"images": []}},
        "imageVariationParams.images",
    ),
    (
        "six variation images",
        {"task_type": "IMAGE_VARIATION", "image_variation_params": {"images": [PNG] * 6}},
        "imageVariationParams.images",
    ),
    (
        "similarity",
        {
            "task_type": "IMAGE_VARIATION",
            "image_variation_params": {"images": [PNG], "similarity_strength": 0.1},
        },
        "imageVariationParams.similarityStrength",
    ),
    (
        "inpainting image",
        {"task_type": "INPAINTING", "in_painting_params": {"mask_prompt": "cat"}},
        "inPaintingParams.image",
    ),
    (
        "inpainting mask",
        {"task_type": "INPAINTING", "in_painting_params": {"image": PNG}},
        "inPaintingParams",
    ),
    (
        "outpainting mode",
        {
            "task_type": "OUTPAINTING",
            "out_painting_params": {"image": PNG, "mask_prompt": "x", "out_painting_mode": "WIDE"},
        },
        "outPaintingParams.outPaintingMode",
    ),
    (
        "outpainting mask",
        {"task_type": "OUTPAINTING", "out_painting_params": {"image": PNG}},
        "outPaintingParams",
    ),
    (
        "background image",
        {"task_type": "BACKGROUND_REMOVAL", "background_removal_params": {}},
        "backgroundRemovalParams.image",
    ),
    (
        "try-on empty",
        {"task_type": "VIRTUAL_TRY_ON", "virtual_try_on_params": {}},
        "virtualTryOnParams",
    ),
    ("region", {**t2i(), "region": "ap-southeast-2"}, "region"),
    (
        "quality",
        {**t2i(), "image_generation_config": {"quality": "ultra"}},
        "imageGenerationConfig.quality",
    ),
    (
        "cfg scale",
        {**t2i(), "image_generation_config": {"cfg_scale": 1.0}},
        "imageGenerationConfig.cfgScale",
    ),
    ("seed", {**t2i(), "image_generation_config": {"seed": -1}}, "imageGenerationConfig.seed"),
    (
        "count",
        {**t2i(), "image_generation_config": {"number_of_images": 6}},
        "imageGenerationConfig.numberOfImages",
    ),
    ("width", {**t2i(), "image_generation_config": {"width": 0}}, "imageGenerationConfig.width"),
]


@pytest.mark.parametrize(("case", "fields", "field"), IMAGE_CASES, ids=[c[0] for c in IMAGE_CASES])
async def test_image_rules(
    client: tuple[QuantClient, list[httpx.Request]], case: str, fields: dict[str, Any], field: str
) -> None:
    quant, sent = client
    with pytest.raises(QuantValidationError) as info:
        quant.generate_image(**fields)
    assert info.value.field == field, str(info.value)
    with pytest.raises(QuantValidationError):
        await quant.agenerate_image(**fields)
    assert sent == []


@pytest.mark.parametrize(
    ("callback_id", "results", "field"),
    [
        ("", {"t": {}}, "callbackId"),
        ("cb", {}, "toolResults"),
        ("cb", {"": {"a": 1}}, "toolResults.0.toolUseId"),
    ],
)
def test_callback_rules(
    client: tuple[QuantClient, list[httpx.Request]], callback_id: str, results: Any, field: str
) -> None:
    quant, sent = client
    with pytest.raises(QuantValidationError) as info:
        quant.submit_tool_results(callback_id, results)
    assert info.value.field == field
    assert sent == []


def test_messages_say_what_to_change(client: tuple[QuantClient, list[httpx.Request]]) -> None:
    quant, _ = client
    with pytest.raises(QuantValidationError, match=r"at most 4"):
        quant.chat(messages=user("x"), stop_sequences=list("abcde"))
    with pytest.raises(QuantValidationError, match=r"256, 512, 1024"):
        quant.embed("x", dimensions=300)
    with pytest.raises(QuantValidationError, match=r"split them into batches"):
        quant.embed(["x"] * 101)
    with pytest.raises(QuantValidationError, match=r"allowedTools"):
        quant.chat(messages=user("x"), tool_config={"autoExecute": True})


def test_a_20_mb_image_is_accepted_and_sent(make_client) -> None:  # type: ignore[no-untyped-def]
    import base64

    import httpx as _httpx

    sizes: list[int] = []

    def handler(request: _httpx.Request) -> _httpx.Response:
        sizes.append(len(request.content))
        return _httpx.Response(200, json={"response": {"role": "assistant", "content": "ok"}})

    quant, _ = make_client(handler, check=False)
    image = base64.b64encode(bytes(20 * 1024 * 1024)).decode()
    assert (
        quant.chat(
            messages=user(
                [{"image": {"format": "png", "source": {"bytes": image}}}, {"text": "hi"}]
            )
        ).text
        == "ok"
    )
    assert sizes[0] > 20 * 1024 * 1024 * 4 // 3
