"""Client-side checks run before any request is sent.

Each check raises :class:`~quant_ai.QuantValidationError` naming the wire field and saying
what to change. The limits are the spec's (v4.19.0) unless noted.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Sized

from .embeddings import MAX_BATCH_SIZE as MAX_EMBEDDING_TEXTS
from .embeddings import check_dimensions
from .errors import QuantValidationError
from .images import STYLES
from .types import (
    CallbackRequest,
    ChatRequest,
    DocumentBlock,
    EmbeddingsRequest,
    ImageBlock,
    ImageGenerationRequest,
    Message,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    VideoBlock,
)

__all__ = [
    "IMAGE_FORMATS",
    "MAX_EMBEDDING_TEXTS",
    "MAX_MEDIA_BYTES",
    "MAX_PAYLOAD_BYTES",
    "check_payload_size",
    "validate_callback",
    "validate_chat",
    "validate_embeddings",
    "validate_image_generation",
]

ROLES = ("user", "assistant", "system")
IMAGE_FORMATS = ("png", "jpeg", "gif", "webp")
VIDEO_FORMATS = ("mp4", "mov", "mkv", "webm")
DOCUMENT_FORMATS = ("pdf", "csv", "docx", "xlsx")
MAX_STOP_SEQUENCES = 4
MAX_MEDIA_BYTES = 25 * 1024 * 1024
"""The API's limit on the media of one request (decoded bytes)."""
MAX_PAYLOAD_BYTES = MAX_MEDIA_BYTES * 4 // 3 + 2 * 1024 * 1024
"""The largest JSON body sent: 25 MB of media as base64, plus 2 MB for everything else."""
TASK_TYPES = {
    "TEXT_IMAGE": "text_to_image_params",
    "COLOR_GUIDED_GENERATION": "color_guided_generation_params",
    "IMAGE_VARIATION": "image_variation_params",
    "INPAINTING": "in_painting_params",
    "OUTPAINTING": "out_painting_params",
    "BACKGROUND_REMOVAL": "background_removal_params",
    "VIRTUAL_TRY_ON": "virtual_try_on_params",
}
REGIONS = ("us-east-1", "ap-northeast-1", "eu-west-1")
_TOOL_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_COLOR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def _fail(field: str, message: str) -> QuantValidationError:
    return QuantValidationError(f"{field}: {message}", field=field)


def _range(field: str, value: float | None, lo: float, hi: float) -> None:
    if value is not None and not (lo <= value <= hi):
        raise _fail(field, f"{value} is out of range; use a value from {lo} to {hi}")


def _choice(field: str, value: str | None, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value is not None and value not in allowed:
        raise _fail(field, f"{value!r} is not supported; use one of {', '.join(allowed)}")


def _text_len(field: str, value: str | None, lo: int = 1, hi: int = 1024) -> None:
    if value is not None and not (lo <= len(value) <= hi):
        raise _fail(field, f"length {len(value)} is out of range; use {lo} to {hi} characters")


def _media_bytes(block: object) -> int:
    """Decoded size of a block's media (base64 length * 3/4), tool results included."""
    if isinstance(block, ImageBlock):
        return len(block.image.source.data) * 3 // 4
    if isinstance(block, VideoBlock):
        return len(block.video.source.data) * 3 // 4
    if isinstance(block, DocumentBlock):
        return len(block.document.source.data) * 3 // 4
    if isinstance(block, ToolResultBlock):
        return sum(_media_bytes(inner) for inner in block.tool_result.content)
    return 0


def _validate_block(path: str, role: str, block: object, *, in_tool_result: bool = False) -> None:
    if isinstance(block, TextBlock):
        if not block.text.strip() and not in_tool_result:
            raise _fail(f"{path}.text", "empty text; remove the block or give it text")
    elif isinstance(block, ImageBlock):
        _choice(f"{path}.image.format", block.image.format, IMAGE_FORMATS)
        if not block.image.source.data:
            raise _fail(f"{path}.image.source.bytes", "the image is empty")
    elif isinstance(block, VideoBlock):
        _choice(f"{path}.video.format", block.video.format, VIDEO_FORMATS)
        if not block.video.source.data:
            raise _fail(f"{path}.video.source.bytes", "the video is empty")
    elif isinstance(block, DocumentBlock):
        _choice(f"{path}.document.format", block.document.format, DOCUMENT_FORMATS)
        if not block.document.name.strip():
            raise _fail(f"{path}.document.name", "a document needs a name (e.g. 'report')")
        if not block.document.source.data:
            raise _fail(f"{path}.document.source.bytes", "the document is empty")
    elif isinstance(block, ToolUseBlock):
        if role != "assistant":
            raise _fail(path, "toolUse blocks belong in assistant messages")
        if not block.tool_use.tool_use_id:
            raise _fail(f"{path}.toolUse.toolUseId", "a toolUse block needs its toolUseId")
        if not block.tool_use.name:
            raise _fail(f"{path}.toolUse.name", "a toolUse block needs the tool's name")
    elif isinstance(block, ToolResultBlock):
        if role != "user":
            raise _fail(path, "toolResult blocks belong in user messages")
        if not block.tool_result.tool_use_id:
            raise _fail(f"{path}.toolResult.toolUseId", "a tool result needs its toolUseId")
        if not block.tool_result.content:
            raise _fail(f"{path}.toolResult.content", "a tool result needs content")
        _choice(f"{path}.toolResult.status", block.tool_result.status, ("success", "error"))
        for j, inner in enumerate(block.tool_result.content):
            _validate_block(f"{path}.toolResult.content.{j}", role, inner, in_tool_result=True)


def _validate_message(i: int, message: Message) -> None:
    path = f"messages.{i}"
    if message.role not in ROLES:
        raise _fail(f"{path}.role", f"unknown role {message.role!r}; use one of {ROLES}")
    if isinstance(message.content, str):
        if not message.content.strip():
            raise _fail(f"{path}.content", "empty text; give the message some content")
        return
    if not message.content:
        raise _fail(f"{path}.content", "no content blocks; give the message some content")
    for j, block in enumerate(message.content):
        _validate_block(f"{path}.content.{j}", message.role, block)


def validate_chat(request: ChatRequest) -> None:
    """Check a chat request against the spec's rules.

    Raises:
        QuantValidationError: Naming the field and what to change.
    """
    if not request.messages:
        raise _fail("messages", "at least one message is required")
    media = 0
    for i, message in enumerate(request.messages):
        _validate_message(i, message)
        if not isinstance(message.content, str):
            media += sum(_media_bytes(block) for block in message.content)
    if media > MAX_MEDIA_BYTES:
        raise _fail(
            "messages",
            f"the media add up to {media / 1e6:.1f} MB; the API takes at most 25 MB per "
            "request (send smaller or fewer images, videos or documents)",
        )
    if not request.model_id:
        raise _fail("modelId", "a model id is required (e.g. amazon.nova-lite-v1:0)")
    _range("temperature", request.temperature, 0, 2)
    _range("topP", request.top_p, 0, 1)
    _range("maxTokens", request.max_tokens, 1, 65536)
    if request.stop_sequences is not None:
        if len(request.stop_sequences) > MAX_STOP_SEQUENCES:
            raise _fail(
                "stopSequences",
                f"{len(request.stop_sequences)} given; the API takes at most {MAX_STOP_SEQUENCES}",
            )
        if any(not s for s in request.stop_sequences):
            raise _fail("stopSequences", "stop sequences must not be empty")
    if request.response_format is not None:
        _choice("responseFormat.type", request.response_format.type, ("json",))
    if request.session_id is not None:
        try:
            uuid.UUID(request.session_id)
        except ValueError:
            raise _fail(
                "sessionId", f"{request.session_id!r} is not a UUID (the API requires one)"
            ) from None
    if request.guardrails is not None:
        _choice("guardrails.trace", request.guardrails.trace, ("enabled", "disabled"))
    allowed = list(request.allowed_tools or [])
    config = request.tool_config
    if config is not None:
        allowed += config.allowed_tools or []
        seen: set[str] = set()
        for k, tool in enumerate(config.tools or []):
            name = tool.tool_spec.name
            if not _TOOL_NAME.match(name):
                raise _fail(
                    f"toolConfig.tools.{k}.toolSpec.name",
                    f"{name!r} is not a valid tool name; use 1-64 letters, digits, '_' or '-'",
                )
            if name in seen:
                raise _fail(f"toolConfig.tools.{k}.toolSpec.name", f"duplicate tool {name!r}")
            seen.add(name)
            schema = tool.tool_spec.input_schema.json_
            if schema.get("type", "object") != "object":
                raise _fail(
                    f"toolConfig.tools.{k}.toolSpec.inputSchema.json",
                    "a tool's input schema must describe an object",
                )
        if config.auto_execute and not allowed:
            raise _fail(
                "toolConfig.allowedTools",
                "autoExecute needs an allow-list: name the tools the service may run in "
                "allowedTools",
            )
    if any(not name for name in allowed):
        raise _fail("allowedTools", "tool names must not be empty")


def check_payload_size(body: Sized) -> None:
    """Refuse a request body larger than 25 MB of base64 media plus 2 MB."""
    if len(body) > MAX_PAYLOAD_BYTES:
        raise _fail(
            "messages",
            f"the request body is {len(body) / 1e6:.1f} MB; the API takes at most 25 MB of "
            "media per request (send smaller or fewer media)",
        )


def validate_embeddings(request: EmbeddingsRequest) -> None:
    """Check an embeddings request (count, empty texts, dimensions for the model).

    Raises:
        QuantValidationError: Naming the field and what to change.
    """
    texts = [request.input] if isinstance(request.input, str) else request.input
    if not texts:
        raise _fail("input", "no texts given")
    if len(texts) > MAX_EMBEDDING_TEXTS:
        raise _fail(
            "input",
            f"{len(texts)} texts in one request; the API takes at most {MAX_EMBEDDING_TEXTS} "
            "(split them into batches)",
        )
    for i, text in enumerate(texts):
        if not text or not text.strip():
            raise _fail(f"input.{i}", "empty text cannot be embedded")
    check_dimensions(request.model_id, request.dimensions)


def validate_image_generation(request: ImageGenerationRequest) -> None:
    """Check an image generation request against the spec's ranges and the task's needs.

    Raises:
        QuantValidationError: Naming the field and what to change.
    """
    _choice("taskType", request.task_type, TASK_TYPES)
    needed = TASK_TYPES[request.task_type]
    for attr in TASK_TYPES.values():
        given = getattr(request, attr) is not None
        if attr == needed and not given:
            raise _fail(_camel(attr), f"{request.task_type} needs {_camel(attr)}")
        if attr != needed and given:
            raise _fail(
                _camel(attr), f"not used by {request.task_type}; send {_camel(needed)} instead"
            )
    _choice("region", request.region, REGIONS)
    t2i = request.text_to_image_params
    if t2i is not None:
        if not t2i.text:
            raise _fail("textToImageParams.text", "a prompt is required")
        _text_len("textToImageParams.text", t2i.text)
        _text_len("textToImageParams.negativeText", t2i.negative_text)
        _choice("textToImageParams.style", t2i.style, STYLES)
        _choice("textToImageParams.controlMode", t2i.control_mode, ("CANNY_EDGE", "SEGMENTATION"))
        _range("textToImageParams.controlStrength", t2i.control_strength, 0, 1)
    cg = request.color_guided_generation_params
    if cg is not None:
        if not cg.colors or len(cg.colors) > 10:
            raise _fail("colorGuidedGenerationParams.colors", "give 1 to 10 colours")
        for n, c in enumerate(cg.colors):
            if not _COLOR.match(c):
                raise _fail(
                    f"colorGuidedGenerationParams.colors.{n}", f"{c!r} is not a '#RRGGBB' colour"
                )
        if not cg.text:
            raise _fail("colorGuidedGenerationParams.text", "a prompt is required")
        _text_len("colorGuidedGenerationParams.text", cg.text)
        _text_len("colorGuidedGenerationParams.negativeText", cg.negative_text)
    var = request.image_variation_params
    if var is not None:
        if not var.images or len(var.images) > 5:
            raise _fail("imageVariationParams.images", "give 1 to 5 images")
        _range("imageVariationParams.similarityStrength", var.similarity_strength, 0.2, 1)
        _text_len("imageVariationParams.text", var.text)
        _text_len("imageVariationParams.negativeText", var.negative_text)
    inp = request.in_painting_params
    if inp is not None:
        if not inp.image:
            raise _fail("inPaintingParams.image", "the image to edit is required")
        if not inp.mask_image and not inp.mask_prompt:
            raise _fail("inPaintingParams", "give a maskImage or a maskPrompt")
        _text_len("inPaintingParams.text", inp.text)
    out = request.out_painting_params
    if out is not None:
        if not out.image:
            raise _fail("outPaintingParams.image", "the image to extend is required")
        if not out.mask_image and not out.mask_prompt:
            raise _fail("outPaintingParams", "give a maskImage or a maskPrompt")
        _choice("outPaintingParams.outPaintingMode", out.out_painting_mode, ("PRECISE", "DEFAULT"))
    bg = request.background_removal_params
    if bg is not None and not bg.image:
        raise _fail("backgroundRemovalParams.image", "the image is required")
    if request.virtual_try_on_params is not None and not request.virtual_try_on_params:
        raise _fail("virtualTryOnParams", "the try-on parameters are empty")
    cfg = request.image_generation_config
    if cfg is not None:
        _choice("imageGenerationConfig.quality", cfg.quality, ("standard", "premium"))
        _range("imageGenerationConfig.cfgScale", cfg.cfg_scale, 1.1, 10)
        _range("imageGenerationConfig.seed", cfg.seed, 0, 2147483646)
        _range("imageGenerationConfig.numberOfImages", cfg.number_of_images, 1, 5)
        _range("imageGenerationConfig.width", cfg.width, 1, 4096)
        _range("imageGenerationConfig.height", cfg.height, 1, 4096)


def validate_callback(request: CallbackRequest) -> None:
    """Check a tool-result callback.

    Raises:
        QuantValidationError: Naming the field and what to change.
    """
    if not request.callback_id:
        raise _fail("callbackId", "the callbackId from the waiting_callback status is required")
    if not request.tool_results:
        raise _fail("toolResults", "at least one tool result is required")
    for i, item in enumerate(request.tool_results):
        if not item.tool_use_id:
            raise _fail(f"toolResults.{i}.toolUseId", "the toolUseId of the pending tool")


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)
