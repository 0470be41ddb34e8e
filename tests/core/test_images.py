"""The one Nova Canvas request builder and input-image reader (quant_ai.images)."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, get_args

import pytest

from quant_ai import QuantClient, QuantValidationError, _validation
from quant_ai.images import STYLES, TASK_TYPES, Style, image_request, load_image

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)
B64 = base64.b64encode(PNG).decode()


def wire(task: Any = "TEXT_IMAGE", **kwargs: Any) -> dict[str, Any]:
    return image_request(task, **kwargs).to_wire()


def test_one_style_list_for_the_builder_the_checks_and_both_tools() -> None:
    from langchain_quant.tools import NovaCanvasInput
    from llama_index_quant import tools as li_tools

    assert get_args(Style) == STYLES
    assert len(STYLES) == 8
    assert _validation.STYLES is STYLES
    assert li_tools.Style is Style
    schema = NovaCanvasInput.model_json_schema()
    assert tuple(schema["properties"]["style"]["anyOf"][0]["enum"]) == STYLES
    assert set(TASK_TYPES) <= set(_validation.TASK_TYPES)


def test_text_to_image() -> None:
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
        model_id="amazon.nova-canvas-v1:0",
        region="us-east-1",
    ) == {
        "taskType": "TEXT_IMAGE",
        "modelId": "amazon.nova-canvas-v1:0",
        "region": "us-east-1",
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
    assert wire(prompt="x") == {"taskType": "TEXT_IMAGE", "textToImageParams": {"text": "x"}}
    assert wire(prompt="x", images=[PNG])["textToImageParams"]["conditionImage"] == B64


def test_client_text_to_image_request_is_the_builder() -> None:
    kwargs = {"negative_text": "fog", "style": "MAXIMALISM", "width": 640, "height": 320}
    built = QuantClient.text_to_image_request("a boat", seed=4, **kwargs)
    assert built == image_request(
        "TEXT_IMAGE",
        prompt="a boat",
        negative_prompt="fog",
        style="MAXIMALISM",
        width=640,
        height=320,
        seed=4,
    )


def test_editing_tasks() -> None:
    assert wire("BACKGROUND_REMOVAL", images=[PNG], seed=3) == {
        "taskType": "BACKGROUND_REMOVAL",
        "backgroundRemovalParams": {"image": B64},  # no config for this task
    }
    assert wire("INPAINTING", images=[B64], mask_prompt="head", seed=1)["inPaintingParams"] == {
        "image": B64,
        "maskPrompt": "head",
    }  # a prompt is optional when editing
    body = wire(
        "OUTPAINTING", prompt="sea", images=[B64], mask_image=PNG, outpainting_mode="PRECISE"
    )
    assert body["outPaintingParams"] == {
        "image": B64,
        "maskImage": B64,
        "outPaintingMode": "PRECISE",
        "text": "sea",
    }
    assert wire("IMAGE_VARIATION", images=[B64, PNG], similarity_strength=0.5)[
        "imageVariationParams"
    ] == {"images": [B64, B64], "similarityStrength": 0.5}
    assert wire("COLOR_GUIDED_GENERATION", prompt="c", colors=("#FF0000",), images=[PNG])[
        "colorGuidedGenerationParams"
    ] == {"colors": ["#FF0000"], "referenceImage": B64, "text": "c"}


@pytest.mark.parametrize(
    ("task", "kwargs", "field", "message"),
    [
        ("TEXT_IMAGE", {}, "prompt", "TEXT_IMAGE needs a prompt"),
        ("COLOR_GUIDED_GENERATION", {"colors": ["#000000"]}, "prompt", "needs a prompt"),
        ("TEXT_IMAGE", {"prompt": "x", "images": [PNG, PNG]}, "images", "at most one"),
        ("INPAINTING", {"prompt": "x"}, "images", "exactly one input image"),
        ("BACKGROUND_REMOVAL", {"images": [PNG, PNG]}, "images", "exactly one input image"),
        ("IMAGE_VARIATION", {"images": [PNG] * 6}, "images", "1 to 5"),
        ("PAINT_BY_NUMBERS", {"prompt": "x"}, "task_type", "use one of TEXT_IMAGE"),
    ],
)
def test_refusals(task: str, kwargs: dict[str, Any], field: str, message: str) -> None:
    with pytest.raises(QuantValidationError, match=message) as info:
        image_request(task, **kwargs)  # type: ignore[arg-type]
    assert info.value.field == field


def test_load_image_forms(tmp_path: Path) -> None:
    (tmp_path / "in.png").write_bytes(PNG)
    assert load_image(PNG) == B64
    assert load_image(f"data:image/png;base64,{B64}") == B64
    assert load_image(B64) == B64
    assert load_image("in.png", input_dirs=[tmp_path]) == B64
    assert load_image(str(tmp_path / "in.png"), input_dirs=[tmp_path]) == B64
    with pytest.raises(QuantValidationError, match="only with input_dirs"):
        load_image(str(tmp_path / "in.png"))  # no directory allowed: paths are not followed
    with pytest.raises(QuantValidationError, match="base64 data URLs"):
        load_image("data:image/png,rawdata")
    with pytest.raises(QuantValidationError, match="a data URL or bytes") as info:
        load_image(B64, allow_base64=False)  # tools naming images refuse bare base64
    assert "base64 text" not in str(info.value)


def test_load_image_never_leaves_the_allowed_directories(tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    allowed.mkdir()
    (tmp_path / "secret.png").write_bytes(PNG)
    (allowed / "link.png").symlink_to(tmp_path / "secret.png")
    for reference in ("../secret.png", str(tmp_path / "secret.png"), "link.png"):
        with pytest.raises(QuantValidationError, match="input image"):
            load_image(reference, input_dirs=[allowed], allow_base64=False)
