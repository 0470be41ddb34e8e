"""QuantEmbedding and NovaCanvasToolSpec against contract-checked mock transports."""

from __future__ import annotations

import base64
import json
import pickle
from typing import Any

import httpx
import pytest
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.embedding import EmbeddingStartEvent
from llama_index.core.tools.tool_spec.base import BaseToolSpec

from llama_index_quant import NovaCanvasToolSpec, QuantEmbedding

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)


def embed_handler(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
    dims = body.get("dimensions", 1024)
    vectors = [[float(len(t)), 1.0] + [0.0] * (dims - 2) for t in texts]
    return httpx.Response(
        200,
        json={
            "embeddings": vectors,
            "model": body.get("modelId"),
            "dimension": dims,
            "usage": {"inputTokens": len(texts), "totalTokens": len(texts)},
        },
    )


@pytest.fixture
def embedder(make_client):  # type: ignore[no-untyped-def]
    client, transport = make_client(embed_handler)
    return QuantEmbedding(client=client, dimensions=256), transport


def test_mro() -> None:
    assert BaseEmbedding in QuantEmbedding.__mro__
    assert BaseToolSpec in NovaCanvasToolSpec.__mro__


async def test_batches_of_100_and_order(embedder) -> None:  # type: ignore[no-untyped-def]
    embed, transport = embedder
    texts = [f"text number {i:03d}" + "x" * (i % 7) for i in range(250)]
    vectors = embed.get_text_embedding_batch(texts)
    assert [v[0] for v in vectors] == [float(len(t)) for t in texts]
    sizes = [len(body["input"]) for _, body in transport.requests]
    assert sizes == [100, 100, 50]
    body = transport.requests[0][1]
    assert (body["modelId"], body["dimensions"], body["normalize"]) == (
        "amazon.titan-embed-text-v2:0",
        256,
        True,
    )
    avectors = await embed.aget_text_embedding_batch(texts)
    assert avectors == vectors
    assert len(transport.requests) == 6


async def test_single_query_and_text(embedder) -> None:  # type: ignore[no-untyped-def]
    embed, transport = embedder
    assert embed.get_query_embedding("abc")[0] == 3.0
    assert embed.get_text_embedding("abcd")[0] == 4.0
    assert (await embed.aget_query_embedding("ab"))[0] == 2.0
    assert (await embed.aget_text_embedding("a"))[0] == 1.0
    assert len(transport.requests) == 4


def test_blank_texts_get_zero_vectors_without_a_failed_request(embedder) -> None:  # type: ignore[no-untyped-def]
    embed, transport = embedder
    vectors = embed.get_text_embedding_batch(["", "hello", "   "])
    assert vectors[0] == [0.0] * 256
    assert vectors[2] == [0.0] * 256
    assert vectors[1][0] == 5.0
    assert transport.requests[0][1]["input"] == ["hello"]
    assert embed.get_query_embedding("") == [0.0] * 256
    assert len(transport.requests) == 1  # nothing was sent for the blank query


def test_default_size_for_blank_only_input() -> None:
    assert QuantEmbedding()._embed([""]) == [[0.0] * 1024]
    assert QuantEmbedding(model_name="amazon.titan-embed-text-v1", normalize=None)._embed(
        [" "]
    ) == [[0.0] * 1536]


def test_field_validation() -> None:
    with pytest.raises(ValueError, match="use one of 256, 512, 1024"):
        QuantEmbedding(dimensions=300)
    with pytest.raises(ValueError, match="fixed size"):
        QuantEmbedding(model_name="amazon.titan-embed-text-v1", dimensions=256)
    with pytest.raises(ValueError):
        QuantEmbedding(embed_batch_size=101)
    assert QuantEmbedding().embed_batch_size == 100


class EmbeddingPayloads(BaseEventHandler):
    """The ``model_dict`` of every ``EmbeddingStartEvent`` (what the core emits about a model)."""

    payloads: list[dict[str, Any]] = []

    @classmethod
    def class_name(cls) -> str:
        return "EmbeddingPayloads"

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        if isinstance(event, EmbeddingStartEvent):
            self.payloads.append(event.model_dict)


def test_embedding_key_hygiene_and_pickle() -> None:
    key = "qc_embed_secret_987"
    embed = QuantEmbedding(api_key=key, organization="acme", timeout=5)
    texts = [embed.to_json(), json.dumps(embed.to_dict()), repr(embed)]
    if hasattr(embed, "to_payload"):  # llama-index-core >= 0.14.23; earlier cores emit to_dict()
        texts.append(str(embed.to_payload()))
    for text in texts:
        assert key not in text
    # What the installed core really emits about the model (to_dict or to_payload) keeps it out.
    emitted = EmbeddingPayloads()
    dispatcher = get_dispatcher()
    dispatcher.add_event_handler(emitted)
    try:
        with httpx.Client(transport=httpx.MockTransport(embed_handler)) as http:
            used = QuantEmbedding(api_key=key, organization="acme", http_client=http)
            assert len(used.get_text_embedding("hello")) == 1024
    finally:
        dispatcher.event_handlers.remove(emitted)
    assert len(emitted.payloads) == 1
    assert emitted.payloads[0]["model_name"] == used.model_name
    assert key not in json.dumps(emitted.payloads[0], default=str)
    _ = embed.client
    copy = pickle.loads(pickle.dumps(embed))
    assert copy.client.config.api_key is not None
    assert copy.client.config.api_key.get_secret_value() == key
    assert copy.client.transport.timeout.read == 5


# ------------------------------------------------------------------ Nova Canvas


def image_handler(requests: list[dict[str, Any]]):  # type: ignore[no-untyped-def]
    def handler(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        requests.append(body)
        count = body.get("imageGenerationConfig", {}).get("numberOfImages", 1)
        return httpx.Response(200, json={"images": [base64.b64encode(PNG).decode()] * count})

    return handler


@pytest.fixture
def canvas(make_client, tmp_path):  # type: ignore[no-untyped-def]
    sent: list[dict[str, Any]] = []
    client, _ = make_client(image_handler(sent))
    return NovaCanvasToolSpec(client=client, output_dir=tmp_path / "out"), sent


def test_tool_schemas_have_literals_and_bounds() -> None:
    tools = {t.metadata.name: t for t in NovaCanvasToolSpec().to_tool_list()}
    assert set(tools) == {
        "generate_image",
        "generate_image_with_colors",
        "create_image_variation",
        "inpaint_image",
        "outpaint_image",
        "remove_background",
    }
    props = tools["generate_image"].metadata.get_parameters_dict()["properties"]
    assert props["width"]["minimum"] == 320
    assert props["width"]["maximum"] == 4096
    assert props["number_of_images"]["maximum"] == 5
    assert props["quality"]["enum"] == ["standard", "premium"]
    assert "PHOTOREALISM" in props["style"]["anyOf"][0]["enum"]
    assert tools["generate_image"].async_fn is not None
    assert "Generate images from a text description" in (
        tools["generate_image"].metadata.description or ""
    )


async def test_generate_returns_text_and_image_blocks_and_saves(canvas) -> None:  # type: ignore[no-untyped-def]
    spec, sent = canvas
    blocks = spec.generate_image("a red dot", number_of_images=2, seed=7, style="PHOTOREALISM")
    assert isinstance(blocks[0], TextBlock)
    assert "Generated 2 images (1024x1024, seed 7): nova_1.png, nova_2.png" in blocks[0].text
    images = blocks[1:]
    assert all(isinstance(b, ImageBlock) and b.image_mimetype == "image/png" for b in images)
    assert images[0].resolve_image().read() == PNG
    assert (spec.output_dir / "nova_1.png").read_bytes() == PNG
    assert sent[0]["taskType"] == "TEXT_IMAGE"
    assert sent[0]["textToImageParams"] == {"text": "a red dot", "style": "PHOTOREALISM"}
    assert sent[0]["imageGenerationConfig"]["quality"] == "standard"
    ablocks = await spec.agenerate_image("a blue dot")
    assert "nova_3.png" in ablocks[0].text


async def test_editing_tools_use_earlier_images(canvas, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec, sent = canvas
    spec.generate_image("a dot")
    spec.inpaint_image("nova_1.png", "a star", "the dot")
    await spec.aoutpaint_image("nova_1.png", "a beach", "the dot", mode="PRECISE")
    spec.create_image_variation(["nova_1.png"], similarity_strength=0.5)
    await spec.aremove_background("nova_2.png")
    spec.generate_image_with_colors("stripes", ["#FF0000", "#00FF00"], reference_image="nova_1.png")
    assert [b["taskType"] for b in sent] == [
        "TEXT_IMAGE",
        "INPAINTING",
        "OUTPAINTING",
        "IMAGE_VARIATION",
        "BACKGROUND_REMOVAL",
        "COLOR_GUIDED_GENERATION",
    ]
    assert base64.b64decode(sent[1]["inPaintingParams"]["image"]) == PNG
    assert sent[2]["outPaintingParams"]["outPaintingMode"] == "PRECISE"
    assert sent[3]["imageVariationParams"]["similarityStrength"] == 0.5
    secret = tmp_path / "secret.txt"
    secret.write_text("do not read")
    with pytest.raises(ValueError, match="unknown image"):
        spec.inpaint_image(str(secret), "x", "y")  # outside output/input dirs
    with pytest.raises(ValueError, match="unknown image"):
        spec.remove_background("../secret.txt")
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    assert isinstance(spec.remove_background(data_url)[1], ImageBlock)


def test_input_dirs(make_client, tmp_path) -> None:  # type: ignore[no-untyped-def]
    sent: list[dict[str, Any]] = []
    client, _ = make_client(image_handler(sent))
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "photo.png").write_bytes(PNG)
    spec = NovaCanvasToolSpec(client=client, input_dirs=[tmp_path / "in"])
    blocks = spec.remove_background("photo.png")
    assert blocks[0].text.startswith("Made 1 image")
    assert base64.b64decode(sent[0]["backgroundRemovalParams"]["image"]) == PNG


def test_moderation_message_is_reported(make_client) -> None:  # type: ignore[no-untyped-def]
    client, _ = make_client(
        lambda r: httpx.Response(200, json={"images": [], "error": "blocked by moderation"})
    )
    blocks = NovaCanvasToolSpec(client=client).generate_image("x")
    assert len(blocks) == 1
    assert blocks[0].text.startswith("Generated 0 images (1024x1024, seed 0).")
    assert "blocked by moderation" in blocks[0].text
