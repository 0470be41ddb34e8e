"""Media given as text must be base64; checking it never copies the (large) text."""

from __future__ import annotations

import base64
import os
import tracemalloc

import httpx
import pydantic
import pytest

from quant_ai import ChatRequest, QuantValidationError
from quant_ai.types import ImageGenerationRequest, is_base64
from tests.conftest import MakeClient


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("", True),
        ("QUJD", True),
        ("QUI=", True),
        ("QQ==", True),
        ("QUJ", False),  # not a multiple of 4
        ("QU=D", False),  # padding inside
        ("QQ===", False),
        ("QU JD", False),
        ("QUJD\n", False),
        ("QU-_", False),  # URL-safe alphabet is not the spec's
        ("Ã©Ã©", False),
    ],
)
def test_is_base64(text: str, ok: bool) -> None:
    assert is_base64(text) is ok
    if ok:
        base64.b64decode(text, validate=True)


def _never(request: httpx.Request) -> httpx.Response:
    pytest.fail("a request was sent")


@pytest.mark.parametrize(
    ("block", "field"),
    [
        ({"image": {"format": "png", "source": {"bytes": "%%%"}}}, "image.source.bytes"),
        ({"video": {"format": "mp4", "source": {"bytes": "abc"}}}, "video.source.bytes"),
        (
            {"document": {"format": "pdf", "name": "r", "source": {"bytes": "a b="}}},
            "document.source.bytes",
        ),
    ],
)
def test_chat_media_that_is_not_base64_is_refused(
    make_client: MakeClient, block: dict[str, object], field: str
) -> None:
    client, _ = make_client(_never)
    messages = [{"role": "user", "content": [{"text": "look"}, block]}]
    with pytest.raises(QuantValidationError) as info:
        client.chat({"messages": messages})
    assert info.value.field == f"messages.0.content.1.{field}"


def test_image_generation_input_that_is_not_base64_is_refused(make_client: MakeClient) -> None:
    client, _ = make_client(_never)
    with pytest.raises(QuantValidationError) as info:
        client.generate_image(
            task_type="IMAGE_VARIATION",
            image_variation_params={"images": [base64.b64encode(b"x").decode(), "not base64"]},
        )
    assert info.value.field == "imageVariationParams.images.1"
    # The payload of a data URL is checked too.
    with pytest.raises(pydantic.ValidationError, match="not valid base64"):
        ImageGenerationRequest.model_validate(
            {
                "taskType": "BACKGROUND_REMOVAL",
                "backgroundRemovalParams": {"image": "data:x;base64,@@"},
            }
        )


def test_a_20_mb_image_is_checked_without_a_copy() -> None:
    text = base64.b64encode(os.urandom(20 * 1024 * 1024)).decode("ascii")
    tracemalloc.start()
    try:
        request = ChatRequest.model_validate(
            {
                "messages": [
                    {
                        "role": "user",
                        "content": [{"image": {"format": "png", "source": {"bytes": text}}}],
                    }
                ]
            }
        )
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    block = request.messages[0].content[0]
    assert block.image.source.data is text  # type: ignore[union-attr]  # kept, not copied
    assert peak < 1024 * 1024  # the text is ~27 MB; decoding it would allocate ~20 MB
