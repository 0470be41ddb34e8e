"""Embeddings, image generation and models."""

from __future__ import annotations

import base64
import math
import time
from typing import Any

import httpx
import pytest

from tests.emulator.helpers import b64, checked, png, png_info

# -- embeddings ------------------------------------------------------------------------------


def embed(client: httpx.Client, **body: Any) -> dict[str, Any]:
    r = client.post("/ai/embeddings", json=body)
    assert r.status_code == 200, r.text
    return checked("embeddings", r)


def cos(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=False)) / (math.hypot(*a) * math.hypot(*b))


@pytest.mark.parametrize("dim", [256, 512, 1024, 8192])
def test_embedding_dimensions(client: httpx.Client, dim: int) -> None:
    body = embed(client, input="hello world", dimensions=dim)
    assert body["dimension"] == dim
    assert len(body["embeddings"]) == dim
    assert body["model"] == "amazon.titan-embed-text-v2:0"
    assert math.isclose(math.hypot(*body["embeddings"]), 1.0, rel_tol=1e-6)


def test_embeddings_list_similarity_and_determinism(client: httpx.Client) -> None:
    texts = ["cats like warm milk", "cats drink warm milk", "the stock market fell"]
    body = embed(client, input=texts)
    a, b, c = body["embeddings"]
    assert cos(a, b) > 0.4 > cos(a, c)
    assert embed(client, input=texts)["embeddings"] == body["embeddings"]
    assert body["usage"]["inputTokens"] == body["usage"]["totalTokens"] == 12
    assert embed(client, input="cats like warm milk")["embeddings"] == a


def test_unnormalized_and_titan_v1(client: httpx.Client) -> None:
    raw = embed(client, input="a a a b", normalize=False)["embeddings"]
    assert math.hypot(*raw) > 1.5
    v1 = embed(client, input="x", modelId="amazon.titan-embed-text-v1:0")
    assert v1["dimension"] == 1536
    assert len(v1["embeddings"]) == 1536


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"input": ["x"] * 101}, "input"),
        ({"input": "x", "modelId": "amazon.nova-lite-v1:0"}, "modelId"),
        ({"input": "x", "dimensions": 100}, "dimensions"),
        ({"input": 5}, "input"),
        ({"text": "x"}, "input"),
    ],
)
def test_embedding_errors(client: httpx.Client, body: dict[str, Any], field: str) -> None:
    r = client.post("/ai/embeddings", json=body)
    assert r.status_code == 400
    assert field in r.json()["errors"]


def test_hundred_texts(client: httpx.Client) -> None:
    """100 texts (the most one request takes) give 100 vectors in input order. Their latency
    is reported by benchmarks/emulator_latency.py, not asserted here."""
    texts = [f"document number {i} about topic {i % 7}" for i in range(100)]
    r = client.post("/ai/embeddings", json={"input": texts})  # spec-checked by the client hook
    assert r.status_code == 200
    vectors = r.json()["embeddings"]
    assert [len(v) for v in vectors] == [1024] * 100
    assert vectors[3] == embed(client, input=texts[3])["embeddings"]
    assert r.json()["usage"]["inputTokens"] == sum(len(t.split()) for t in texts)


async def test_async_embeddings(aclient: httpx.AsyncClient) -> None:
    r = await aclient.post("/ai/embeddings", json={"input": ["a", "b"], "dimensions": 256})
    assert len(checked("embeddings", r)["embeddings"]) == 2


# -- images ----------------------------------------------------------------------------------

IMG = b64(png(64, 64, (200, 30, 30)))
SMALL = {"width": 64, "height": 64}


def generate(client: httpx.Client, body: dict[str, Any], **headers: str) -> dict[str, Any]:
    r = client.post("/ai/image-generation", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return checked("imageGeneration", r)


def test_text_image_default_size_and_determinism(client: httpx.Client) -> None:
    body = {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "a lighthouse", "style": "PHOTOREALISM"},
    }
    started = time.perf_counter()
    out = generate(client, body)
    print(f"1024x1024 generation: {(time.perf_counter() - started) * 1000:.1f} ms")
    width, height, raw = png_info(base64.b64decode(out["images"][0]))
    assert (width, height) == (1024, 1024)
    assert len(raw) == 1024 * (1 + 3 * 1024)
    assert generate(client, body) == out
    other = generate(client, {**body, "imageGenerationConfig": {"seed": 7}})
    assert other["images"] != out["images"]


def test_color_guided_uses_colours_and_count(client: httpx.Client) -> None:
    out = generate(
        client,
        {
            "taskType": "COLOR_GUIDED_GENERATION",
            "colorGuidedGenerationParams": {"colors": ["#FF0000", "#00FF00"], "text": "abstract"},
            "imageGenerationConfig": {**SMALL, "numberOfImages": 3},
        },
    )
    assert len(out["images"]) == 3
    _, _, raw = png_info(base64.b64decode(out["images"][0]))
    assert raw[1:4] in (b"\xff\x00\x00", b"\x00\xff\x00")


@pytest.mark.parametrize(
    "body",
    [
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {
                "text": "edge",
                "conditionImage": IMG,
                "controlMode": "SEGMENTATION",
                "controlStrength": 0.5,
            },
        },
        {
            "taskType": "IMAGE_VARIATION",
            "imageVariationParams": {"images": [IMG], "similarityStrength": 0.5},
        },
        {
            "taskType": "INPAINTING",
            "inPaintingParams": {"image": IMG, "maskPrompt": "the cat", "text": "a dog"},
        },
        {"taskType": "INPAINTING", "inPaintingParams": {"image": IMG, "maskImage": IMG}},
        {
            "taskType": "OUTPAINTING",
            "outPaintingParams": {"image": IMG, "maskPrompt": "sky", "outPaintingMode": "PRECISE"},
        },
        {"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {"image": IMG}},
    ],
)
def test_image_tasks_keep_input_size(client: httpx.Client, body: dict[str, Any]) -> None:
    out = generate(client, body)
    assert len(out["images"]) == 1
    assert png_info(base64.b64decode(out["images"][0]))[:2] == (64, 64)


TASKS: dict[str, dict[str, Any]] = {
    "TEXT_IMAGE": {"textToImageParams": {"text": "a red kite"}},
    "TEXT_IMAGE-conditioned": {
        "textToImageParams": {"text": "a red kite", "conditionImage": IMG, "controlStrength": 0.4}
    },
    "COLOR_GUIDED_GENERATION": {
        "colorGuidedGenerationParams": {"colors": ["#123456"], "text": "waves"}
    },
    "IMAGE_VARIATION": {"imageVariationParams": {"images": [IMG, IMG], "text": "brighter"}},
    "INPAINTING": {"inPaintingParams": {"image": IMG, "maskPrompt": "the sky"}},
    "OUTPAINTING": {"outPaintingParams": {"image": IMG, "maskImage": IMG}},
    "BACKGROUND_REMOVAL": {"backgroundRemovalParams": {"image": IMG}},
    "VIRTUAL_TRY_ON": {"virtualTryOnParams": {"sourceImage": IMG, "referenceImage": IMG}},
}


@pytest.mark.parametrize("task", list(TASKS))
def test_every_task_returns_real_pngs_of_the_requested_size_and_count(
    client: httpx.Client, task: str
) -> None:
    body = {
        "taskType": task.split("-")[0],
        **TASKS[task],
        "imageGenerationConfig": {"width": 128, "height": 64, "numberOfImages": 2, "seed": 5},
    }
    out = generate(client, body)
    expected = 1 if task == "BACKGROUND_REMOVAL" else 2  # one cut-out per input image
    assert len(out["images"]) == expected
    for image in out["images"]:
        width, height, raw = png_info(base64.b64decode(image))  # signature, CRCs, zlib
        assert (width, height) == (128, 64)
        assert len(raw) == 64 * (1 + 3 * 128)
    assert generate(client, body) == out  # deterministic
    if task != "COLOR_GUIDED_GENERATION":  # its pictures are stripes of the given colours only
        assert len(set(out["images"])) == expected  # distinct images
        reseeded = {**body, "imageGenerationConfig": {**body["imageGenerationConfig"], "seed": 6}}
        assert generate(client, reseeded)["images"] != out["images"]


def test_virtual_try_on_returns_mask(client: httpx.Client) -> None:
    out = generate(
        client,
        {
            "taskType": "VIRTUAL_TRY_ON",
            "virtualTryOnParams": {
                "sourceImage": IMG,
                "referenceImage": IMG,
                "maskType": "GARMENT",
            },
        },
    )
    assert png_info(base64.b64decode(out["maskImage"]))[:2] == (64, 64)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"taskType": "TEXT_IMAGE"}, "textToImageParams"),
        (
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "backgroundRemovalParams": {"image": IMG},
            },
            "backgroundRemovalParams",
        ),
        (
            {"taskType": "TEXT_IMAGE", "textToImageParams": {"style": "PHOTOREALISM"}},
            "textToImageParams.text",
        ),
        (
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x", "controlMode": "CANNY_EDGE"},
            },
            "textToImageParams.conditionImage",
        ),
        (
            {"taskType": "COLOR_GUIDED_GENERATION", "colorGuidedGenerationParams": {"text": "x"}},
            "colorGuidedGenerationParams.colors",
        ),
        (
            {
                "taskType": "COLOR_GUIDED_GENERATION",
                "colorGuidedGenerationParams": {"text": "x", "colors": ["red"]},
            },
            "colorGuidedGenerationParams.colors.0",
        ),
        (
            {"taskType": "INPAINTING", "inPaintingParams": {"image": IMG}},
            "inPaintingParams.maskImage",
        ),
        (
            {
                "taskType": "INPAINTING",
                "inPaintingParams": {"image": IMG, "maskImage": IMG, "maskPrompt": "x"},
            },
            "inPaintingParams.maskImage",
        ),
        (
            {
                "taskType": "BACKGROUND_REMOVAL",
                "backgroundRemovalParams": {"image": b64(b"GIF89a....")},
            },
            "backgroundRemovalParams.image",
        ),
        (
            {"taskType": "BACKGROUND_REMOVAL", "backgroundRemovalParams": {}},
            "backgroundRemovalParams.image",
        ),
        (
            {"taskType": "VIRTUAL_TRY_ON", "virtualTryOnParams": {"sourceImage": IMG}},
            "virtualTryOnParams.referenceImage",
        ),
        (
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "imageGenerationConfig": {"width": 100, "height": 64},
            },
            "imageGenerationConfig.width",
        ),
        (
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "imageGenerationConfig": {"width": 2048, "height": 256},
            },
            "imageGenerationConfig.height",
        ),
        (
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "imageGenerationConfig": {"numberOfImages": 6},
            },
            "imageGenerationConfig.numberOfImages",
        ),
        (
            {
                "taskType": "TEXT_IMAGE",
                "textToImageParams": {"text": "x"},
                "modelId": "amazon.nova-lite-v1:0",
            },
            "modelId",
        ),
        ({"taskType": "PAINT"}, "taskType"),
    ],
)
def test_image_validation(client: httpx.Client, body: dict[str, Any], field: str) -> None:
    r = client.post("/ai/image-generation", json=body)
    assert r.status_code == 400, r.text
    assert field in r.json()["errors"], r.json()


def test_moderation_partial_success(client: httpx.Client) -> None:
    out = generate(
        client,
        {
            "taskType": "TEXT_IMAGE",
            "textToImageParams": {"text": "a [[blocked]] thing"},
            "imageGenerationConfig": {**SMALL, "numberOfImages": 3},
        },
    )
    assert len(out["images"]) == 2
    assert "moderation" in out["error"]


def test_wild_data_url_images(client: httpx.Client) -> None:
    body = {
        "taskType": "TEXT_IMAGE",
        "textToImageParams": {"text": "x"},
        "imageGenerationConfig": SMALL,
    }
    r = client.post("/ai/image-generation", json=body, headers={"X-Emulator-Shapes": "wild"})
    url = r.json()["images"][0]
    assert url.startswith("data:image/png;base64,")
    assert png_info(base64.b64decode(url.split(",", 1)[1]))[:2] == (64, 64)


# -- models ----------------------------------------------------------------------------------

EXPECTED = {
    "amazon.nova-lite-v1:0",
    "amazon.nova-pro-v1:0",
    "amazon.nova-micro-v1:0",
    "anthropic.claude-3-5-sonnet-20241022-v2:0",
    "anthropic.claude-sonnet-4-20250514-v1:0",
    "anthropic.claude-sonnet-4-5",
    "anthropic.claude-sonnet-4-6",
    "amazon.titan-embed-text-v2:0",
    "amazon.titan-embed-text-v1:0",
    "amazon.nova-canvas-v1:0",
}


def test_list_models_and_features(client: httpx.Client) -> None:
    body = checked("listAIModels", client.get("/ai/models"))
    assert {m["id"] for m in body["models"]} == EXPECTED
    assert body["count"] == 10
    item = next(m for m in body["models"] if m["id"] == "anthropic.claude-sonnet-4-6")
    assert item["capabilities"]["toolUse"]
    assert item["capabilities"]["supportsTools"]
    assert item["contextWindow"] == 200_000
    assert item["maxOutputTokens"] > 0
    chat = checked("listAIModels", client.get("/ai/models", params={"feature": "chat"}))
    assert all(m["capabilities"]["text"] for m in chat["models"])
    assert chat["count"] == 7
    emb = client.get("/ai/models", params={"feature": "embeddings"}).json()
    assert {m["id"] for m in emb["models"]} == {
        "amazon.titan-embed-text-v2:0",
        "amazon.titan-embed-text-v1:0",
    }
    vision = client.get("/ai/models", params={"feature": "vision"}).json()
    assert "amazon.nova-micro-v1:0" not in {m["id"] for m in vision["models"]}
    assert client.get("/ai/models", params={"feature": "streaming"}).json()["count"] == 7
    images = client.get("/ai/models", params={"feature": "image_generation"}).json()
    assert [m["id"] for m in images["models"]] == ["amazon.nova-canvas-v1:0"]
    assert client.get("/ai/models", params={"feature": "bogus"}).status_code == 400


@pytest.mark.parametrize("path", ["amazon.nova-pro-v1%3A0", "amazon.nova-pro-v1:0"])
def test_get_model(client: httpx.Client, path: str) -> None:
    body = checked("getAIModel", client.get("/ai/models/" + path))
    assert body["id"] == "amazon.nova-pro-v1:0"
    assert body["pricing"] == {"inputPerMToken": 0.8, "outputPerMToken": 3.2, "currency": "USD"}
    assert body["capabilities"]["supportsVision"]
    assert body["available"]
    assert not body["deprecated"]


def test_unknown_model_404(client: httpx.Client) -> None:
    r = client.get("/ai/models/nope%3A1")
    assert r.status_code == 404
    assert checked("getAIModel", r) == {"message": "Model not found", "code": "MODEL_NOT_FOUND"}
