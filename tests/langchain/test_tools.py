"""NovaCanvasTool: request building per task, content and artifact, sync and async."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from langchain_core.messages import ToolMessage

from langchain_quant import NovaCanvasInput, NovaCanvasTool, images_to_content_blocks
from langchain_quant.tools import build_image_request, load_image
from quant_ai import GeneratedImage
from tests.langchain._support import b64, tiny_png

PNG = tiny_png()


def image_handler(count: int = 1, error: str | None = None) -> Any:
    def handler(request: httpx.Request) -> httpx.Response:
        payload: dict[str, Any] = {"images": [b64(tiny_png(rgb=(i, 0, 0))) for i in range(count)]}
        if error:
            payload["error"] = error
        return httpx.Response(200, json=payload)

    return handler


def test__load_image_forms(tmp_path: Path) -> None:
    path = tmp_path / "in.png"
    path.write_bytes(PNG)
    expected = b64(PNG)
    assert load_image(PNG) == expected
    assert load_image(str(path), input_dirs=[tmp_path]) == expected
    assert load_image("in.png", input_dirs=[tmp_path]) == expected
    assert load_image(f"data:image/png;base64,{expected}") == expected
    assert load_image(expected) == expected
    with pytest.raises(ValueError, match="file path"):
        load_image("not an image!")
    with pytest.raises(ValueError, match="only with input_dirs"):
        load_image(str(path))  # no directory allowed: paths are not followed


def test__load_image_never_leaves_the_allowed_directories(tmp_path: Path) -> None:
    allowed, outside = tmp_path / "inputs", tmp_path / "secret"
    allowed.mkdir()
    outside.mkdir()
    (outside / "key.png").write_bytes(PNG)
    (allowed / "link.png").symlink_to(outside / "key.png")
    for reference in (str(outside / "key.png"), "../secret/key.png", "link.png"):
        with pytest.raises(ValueError, match=str(allowed)):
            load_image(reference, input_dirs=[allowed])


async def test_tool_reads_input_images_only_from_its_directories(
    tmp_path: Path, make_client
) -> None:  # type: ignore[no-untyped-def]
    client, transport = make_client(image_handler())
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "cat.png").write_bytes(PNG)
    (tmp_path / "elsewhere.png").write_bytes(PNG)
    tool = NovaCanvasTool(client=client, output_dir=str(tmp_path / "out"))
    args = {"task_type": "BACKGROUND_REMOVAL", "images": ["cat.png"]}
    tool.invoke(args)
    assert transport.requests[-1][1]["backgroundRemovalParams"]["image"] == b64(PNG)
    outside = {"task_type": "BACKGROUND_REMOVAL", "images": [str(tmp_path / "elsewhere.png")]}
    with pytest.raises(ValueError, match="input image"):
        tool.invoke(outside)
    with pytest.raises(ValueError, match="input image"):
        await tool.ainvoke(outside)
    assert len(transport.requests) == 1  # nothing was sent for the refused calls


def wire(**args: Any) -> dict[str, Any]:
    return build_image_request(
        NovaCanvasInput(**args), model="amazon.nova-canvas-v1:0", region=None
    ).to_wire()


def test__build_image_request_text_to_image() -> None:
    assert wire(
        prompt="cat",
        negative_prompt="dog",
        style="PHOTOREALISM",
        width=512,
        height=512,
        quality="premium",
        cfg_scale=7,
        seed=3,
        number_of_images=2,
    ) == {
        "taskType": "TEXT_IMAGE",
        "modelId": "amazon.nova-canvas-v1:0",
        "textToImageParams": {"text": "cat", "negativeText": "dog", "style": "PHOTOREALISM"},
        "imageGenerationConfig": {
            "width": 512,
            "height": 512,
            "quality": "premium",
            "cfgScale": 7.0,
            "seed": 3,
            "numberOfImages": 2,
        },
    }


def test__build_image_request_other_tasks() -> None:
    img = b64(PNG)
    assert wire(task_type="BACKGROUND_REMOVAL", images=[PNG])["backgroundRemovalParams"] == {
        "image": img
    }
    assert wire(task_type="INPAINTING", prompt="hat", images=[img], mask_prompt="head")[
        "inPaintingParams"
    ] == {"image": img, "maskPrompt": "head", "text": "hat"}
    assert wire(
        task_type="OUTPAINTING",
        prompt="sea",
        images=[img],
        mask_image=PNG,
        outpainting_mode="PRECISE",
    )["outPaintingParams"] == {
        "image": img,
        "maskImage": img,
        "outPaintingMode": "PRECISE",
        "text": "sea",
    }
    assert wire(
        task_type="IMAGE_VARIATION", prompt="v", images=[img, img], similarity_strength=0.5
    )["imageVariationParams"] == {"images": [img, img], "similarityStrength": 0.5, "text": "v"}
    assert wire(task_type="COLOR_GUIDED_GENERATION", prompt="c", colors=["#FF0000"])[
        "colorGuidedGenerationParams"
    ] == {"colors": ["#FF0000"], "text": "c"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"task_type": "TEXT_IMAGE"}, "needs a prompt"),
        ({"task_type": "INPAINTING", "prompt": "x"}, "exactly one input image"),
        ({"task_type": "IMAGE_VARIATION", "prompt": "x"}, "1 to 5"),
    ],
)
def test__build_image_request_refusals(args: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        wire(**args)


def test_tool_call_gives_summary_and_artifact(make_client: Any, tmp_path: Path) -> None:
    client, transport = make_client(image_handler(count=2, error="1 image blocked"))
    tool = NovaCanvasTool(client=client, output_dir=str(tmp_path / "out"))
    message = tool.invoke(
        {
            "name": "nova_canvas",
            "args": {"prompt": "a fox", "number_of_images": 2},
            "id": "c1",
            "type": "tool_call",
        }
    )
    assert isinstance(message, ToolMessage)
    assert message.content.startswith(
        "Generated 2 images (image/png) with Nova Canvas (TEXT_IMAGE). Saved to: "
    )
    assert "1 image blocked" in message.content
    assert all(isinstance(i, GeneratedImage) for i in message.artifact)
    saved = sorted((tmp_path / "out").iterdir())
    assert len(saved) == 2
    assert saved[0].read_bytes().startswith(b"\x89PNG")
    assert transport.requests[0][1]["textToImageParams"] == {"text": "a fox"}
    blocks = images_to_content_blocks(message.artifact)
    assert blocks[0]["type"] == "image"
    assert base64.b64decode(blocks[0]["base64"]).startswith(b"\x89PNG")


async def test_async_tool_with_images_in_content(make_client: Any) -> None:
    client, transport = make_client(image_handler())
    tool = NovaCanvasTool(client=client, include_images_in_content=True)
    message = await tool.ainvoke(
        {"name": "nova_canvas", "args": {"prompt": "x"}, "id": "c2", "type": "tool_call"}
    )
    assert message.content[0]["type"] == "text"
    assert message.content[1]["mime_type"] == "image/png"
    assert transport.requests[0][0] == "imageGeneration"


def test_args_schema_is_json_serialisable() -> None:
    schema = NovaCanvasTool().tool_call_schema.model_json_schema()
    assert "prompt" in schema["properties"]
    json.dumps(schema)


def test_key_never_shown_by_the_tool_or_the_embeddings() -> None:
    from langchain_quant import QuantEmbeddings

    secret = "qc_tool_secret_value_42"
    tool = NovaCanvasTool(api_key=secret, organization="acme")
    emb = QuantEmbeddings(api_key=secret, organization="acme")
    for obj in (tool, emb):
        dumped = json.dumps(obj.model_dump(), default=str)
        for text in (repr(obj), str(obj), dumped, repr(obj.quant_client)):
            assert secret not in text
    assert tool.quant_client.config.api_key is not None
    assert tool.quant_client.config.api_key.get_secret_value() == secret


async def test_tool_errors_are_dual_classes(make_client: Any) -> None:
    from langchain_core.exceptions import ModelRateLimitError

    from quant_ai import QuantRateLimitError

    client, transport = make_client(
        lambda r: httpx.Response(429, json={"message": "slow down"}), max_retries=0
    )
    tool = NovaCanvasTool(client=client)
    with pytest.raises(ModelRateLimitError) as info:
        tool.invoke({"prompt": "x"})
    assert isinstance(info.value, QuantRateLimitError)
    with pytest.raises(ModelRateLimitError):
        await tool.ainvoke({"prompt": "x"})
    assert len(transport.requests) == 2


def test_unknown_tool_call_argument_is_refused_before_sending(make_client: Any) -> None:
    import pydantic

    client, transport = make_client(image_handler())
    tool = NovaCanvasTool(client=client)
    with pytest.raises(pydantic.ValidationError, match="negative_promt"):
        tool.invoke({"prompt": "a fox", "negative_promt": "dogs"})
    assert transport.requests == []
    assert NovaCanvasInput.model_json_schema()["additionalProperties"] is False
