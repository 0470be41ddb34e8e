"""Wire models of the Quant AI API (pydantic v2, camelCase on the wire).

Requests are strict about shape and serialize with the exact camelCase names, omitting unset
fields. Responses are tolerant: unknown fields are kept (``model_extra``) and the variant shapes
seen in QuantCDN's own clients are accepted (``toolUse`` as an object or a list, data-URL images,
the legacy flat chat shape).

Range and enum checks with actionable messages live in :mod:`quant_ai._validation` and run
before any request is sent, so that every refusal is a :class:`~quant_ai.QuantValidationError`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    PlainSerializer,
    Tag,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from ._body import spill_base64

__all__ = [
    "BackgroundRemovalParams",
    "Base64Data",
    "CallbackResponse",
    "ChatAccepted",
    "ChatRequest",
    "ChatResponse",
    "ColorGuidedGenerationParams",
    "ContentBlock",
    "DocumentBlock",
    "DocumentContent",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "EmbeddingsUsage",
    "ExecutionError",
    "ExecutionResult",
    "ExecutionStatus",
    "GeneratedImage",
    "Guardrails",
    "ImageBlock",
    "ImageContent",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "ImageVariationParams",
    "InPaintingParams",
    "MediaSource",
    "Message",
    "ModelCapabilities",
    "ModelInfo",
    "ModelList",
    "ModelPricing",
    "OutPaintingParams",
    "PendingTool",
    "ResponseFormat",
    "ResponseMessage",
    "TextBlock",
    "TextToImageParams",
    "Tool",
    "ToolConfig",
    "ToolInputSchema",
    "ToolResultBlock",
    "ToolResultContent",
    "ToolResultItem",
    "ToolSpec",
    "ToolUse",
    "ToolUseBlock",
    "ToolUseContent",
    "Usage",
    "VideoBlock",
    "VideoContent",
    "decode_image_data",
    "is_base64",
    "sniff_image_mime",
]


class _Wire(BaseModel):
    """Base of request models: camelCase aliases, construction by either name, no extras."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        """Return the JSON-ready dict with camelCase names and unset fields omitted."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class _Tolerant(BaseModel):
    """Base of response models: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", defer_build=True
    )


# --------------------------------------------------------------------------- base64 data


_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/]*={0,2}")


def is_base64(text: str) -> bool:
    """Whether ``text`` is standard, padded base64 (the spec's ``format: byte``).

    Checked in one pass of a compiled pattern over the text itself: nothing is decoded or
    copied, so a 20 MB image costs no extra memory.
    """
    return len(text) % 4 == 0 and _BASE64_TEXT.fullmatch(text) is not None


def _to_base64(value: Any) -> Any:
    """Accept bytes, a path, a ``data:`` URL or base64 text; return base64 text.

    Raises:
        ValueError: For text that is not base64 (bytes and paths are encoded here, so they
            always are).
    """
    if isinstance(value, (bytes, bytearray, memoryview)):
        return base64.b64encode(value).decode("ascii")
    if isinstance(value, os.PathLike):
        with open(value, "rb") as fh:
            return base64.b64encode(fh.read()).decode("ascii")
    if isinstance(value, str) and value.startswith("data:"):
        head, sep, payload = value.partition(",")
        if sep and head.endswith(";base64"):
            value = payload
    if isinstance(value, str) and not is_base64(value):
        raise ValueError(
            "is not valid base64 (standard alphabet A-Z, a-z, 0-9, '+', '/', padded with '=' "
            "to a multiple of 4 characters, no line breaks); pass the raw bytes or a "
            "pathlib.Path instead and they are encoded for you"
        )
    return value


Base64Data = Annotated[
    str, BeforeValidator(_to_base64), PlainSerializer(spill_base64, when_used="json")
]
"""Base64 text on the wire; accepts ``bytes``, a ``pathlib.Path``, a data URL or base64 text.

Large values are not copied into the request body (see :mod:`quant_ai._body`)."""


# --------------------------------------------------------------------------- chat content


class MediaSource(_Wire):
    """``source`` of an image, video or document block: ``{"bytes": <base64>}``."""

    data: Base64Data = Field(alias="bytes")


class ImageContent(_Wire):
    """``image`` of an image block. ``format`` is one of png, jpeg, gif, webp."""

    format: str
    source: MediaSource


class VideoContent(_Wire):
    """``video`` of a video block. ``format`` is one of mp4, mov, mkv, webm."""

    format: str
    source: MediaSource


class DocumentContent(_Wire):
    """``document`` of a document block. ``format`` is one of pdf, csv, docx, xlsx."""

    format: str
    name: str
    source: MediaSource


class TextBlock(_Wire):
    """A text content block."""

    text: str


class ImageBlock(_Wire):
    """An image content block."""

    image: ImageContent

    @classmethod
    def from_bytes(cls, data: bytes, format: str) -> ImageBlock:
        """Build an image block from raw bytes and a format (png, jpeg, gif, webp)."""
        return cls(
            image=ImageContent(format=format, source=MediaSource.model_validate({"bytes": data}))
        )


class VideoBlock(_Wire):
    """A video content block."""

    video: VideoContent

    @classmethod
    def from_bytes(cls, data: bytes, format: str) -> VideoBlock:
        """Build a video block from raw bytes and a format (mp4, mov, mkv, webm)."""
        return cls(
            video=VideoContent(format=format, source=MediaSource.model_validate({"bytes": data}))
        )


class DocumentBlock(_Wire):
    """A document content block (the name is required by the API)."""

    document: DocumentContent

    @classmethod
    def from_bytes(cls, data: bytes, format: str, name: str) -> DocumentBlock:
        """Build a document block from raw bytes, a format (pdf, csv, docx, xlsx) and a name."""
        return cls(
            document=DocumentContent(
                format=format, name=name, source=MediaSource.model_validate({"bytes": data})
            )
        )


class ToolUseContent(_Wire):
    """``toolUse`` of an assistant tool-use block (QuantCDN clients; not in the spec)."""

    tool_use_id: str
    name: str
    input: dict[str, Any] = Field(default_factory=dict)


class ToolUseBlock(_Wire):
    """An assistant block recording a tool call, sent back in multi-turn tool use."""

    tool_use: ToolUseContent


def _block_tag(value: Any) -> str | None:
    keys = value.keys() if isinstance(value, Mapping) else ()
    if isinstance(value, BaseModel):
        keys = type(value).model_fields.keys()
    for key, tag in (
        ("text", "text"),
        ("image", "image"),
        ("video", "video"),
        ("document", "document"),
        ("tool_use", "toolUse"),
        ("toolUse", "toolUse"),
        ("tool_result", "toolResult"),
        ("toolResult", "toolResult"),
    ):
        if key in keys:
            return tag
    return None


ToolResultItemBlock: TypeAlias = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ImageBlock, Tag("image")]
    | Annotated[VideoBlock, Tag("video")]
    | Annotated[DocumentBlock, Tag("document")],
    Discriminator(_block_tag),
]


class ToolResultContent(_Wire):
    """``toolResult`` of a user tool-result block (QuantCDN clients; not in the spec)."""

    tool_use_id: str
    content: list[ToolResultItemBlock]
    status: str | None = None


class ToolResultBlock(_Wire):
    """A user block carrying the result of a client-executed tool."""

    tool_result: ToolResultContent


ContentBlock: TypeAlias = Annotated[
    Annotated[TextBlock, Tag("text")]
    | Annotated[ImageBlock, Tag("image")]
    | Annotated[VideoBlock, Tag("video")]
    | Annotated[DocumentBlock, Tag("document")]
    | Annotated[ToolUseBlock, Tag("toolUse")]
    | Annotated[ToolResultBlock, Tag("toolResult")],
    Discriminator(_block_tag),
]
"""Any chat content block; dicts are routed by their single key."""


class Message(_Wire):
    """A chat message: role ``user``, ``assistant`` or ``system``; text or blocks."""

    role: str
    content: str | list[ContentBlock]


# --------------------------------------------------------------------------- chat request


class ResponseFormat(_Wire):
    """Structured output: ``{"type": "json", "jsonSchema": {...}}``."""

    type: str = "json"
    json_schema: dict[str, Any] | None = None


class ToolInputSchema(_Wire):
    """``inputSchema`` of a tool: ``{"json": <JSON schema>}``."""

    json_: dict[str, Any] = Field(default_factory=lambda: {"type": "object"}, alias="json")


class ToolSpec(_Wire):
    """A tool's name, description and input schema."""

    name: str
    description: str | None = None
    input_schema: ToolInputSchema = Field(default_factory=ToolInputSchema)


class Tool(_Wire):
    """One entry of ``toolConfig.tools``."""

    tool_spec: ToolSpec


class ToolConfig(_Wire):
    """Function calling configuration.

    Attributes:
        tools: The tools the model may call.
        auto_execute: Let the service execute allowed tools itself.
        allowed_tools: Tool names the service may execute (required with ``auto_execute``).
    """

    tools: list[Tool] | None = None
    auto_execute: bool | None = None
    allowed_tools: list[str] | None = None


class Guardrails(_Wire):
    """AWS Bedrock guardrails applied by the service."""

    guardrail_identifier: str | None = None
    guardrail_version: str | None = None
    trace: str | None = None


DEFAULT_CHAT_MODEL = "amazon.nova-lite-v1:0"
DEFAULT_EMBEDDINGS_MODEL = "amazon.titan-embed-text-v2:0"
DEFAULT_IMAGE_MODEL = "amazon.nova-canvas-v1:0"


class ChatRequest(_Wire):
    """Body of ``POST /ai/chat`` and ``POST /ai/chat/stream``.

    Every field of the spec is here under its snake_case name (camelCase on the wire;
    ``async_`` is ``async``). Extra keyword arguments are allowed and sent as they are, for
    wire fields newer than this package.
    """

    model_config = ConfigDict(extra="allow")

    messages: list[Message]
    model_id: str = DEFAULT_CHAT_MODEL
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stream: bool | None = None
    system_prompt: str | None = None
    stop_sequences: list[str] | None = None
    response_format: ResponseFormat | None = None
    tool_config: ToolConfig | None = None
    session_id: str | None = None
    async_: bool | None = Field(default=None, alias="async")
    allowed_tools: list[str] | None = None
    guardrails: Guardrails | None = None
    long_context: bool | None = None


# --------------------------------------------------------------------------- chat responses


class ToolUse(_Tolerant):
    """A tool call in a response: requested of the client, or executed by the service.

    Attributes:
        tool_use_id: The id to answer with in a ``toolResult`` block.
        name: The tool's name.
        input: The arguments.
        execution_id: Present for asynchronous server-executed tools.
        status: Present for server-executed tools (pending, running, complete, failed).
        result: The server-executed tool's result, when complete.
    """

    tool_use_id: str = ""
    name: str = ""
    input: dict[str, Any] = Field(default_factory=dict)
    execution_id: str | None = None
    status: str | None = None
    result: Any = None

    @field_validator("input", mode="before")
    @classmethod
    def _input_object(cls, value: Any) -> Any:
        if value is None:
            return {}
        if isinstance(value, str):
            import json

            try:
                parsed = json.loads(value) if value.strip() else {}
            except ValueError:
                return {"value": value}
            return parsed if isinstance(parsed, dict) else {"value": parsed}
        return value

    @property
    def server_executed(self) -> bool:
        """True when the service ran (or is running) this tool itself."""
        return self.status is not None or self.execution_id is not None or self.result is not None


def _tool_use_list(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, Mapping):
        return [value]
    return value


class ResponseMessage(_Tolerant):
    """``response`` of a chat answer: the assistant's text and tool calls."""

    role: str = "assistant"
    content: str = ""
    tool_use: Annotated[list[ToolUse], BeforeValidator(_tool_use_list)] = Field(
        default_factory=list
    )

    @field_validator("content", mode="before")
    @classmethod
    def _content_text(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, list):  # block-shaped content seen in some clients
            return "".join(str(b.get("text", "")) for b in value if isinstance(b, Mapping))
        return value


class Usage(_Tolerant):
    """Token usage and cost of a call."""

    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost_cents: float | None = None

    @model_validator(mode="after")
    def _fill_total(self) -> Usage:
        if not self.total_tokens and (self.input_tokens or self.output_tokens):
            self.total_tokens = self.input_tokens + self.output_tokens
        return self


class ChatResponse(_Tolerant):
    """A buffered chat answer (200).

    Attributes:
        response: The assistant message.
        model: The model that answered.
        request_id: The service's request id.
        finish_reason: ``stop``, ``length``, ``content_filter``, ``tool_use`` (or newer).
        usage: Tokens and cost.
    """

    response: ResponseMessage = Field(default_factory=ResponseMessage)
    model: str | None = None
    request_id: str | None = None
    finish_reason: str | None = None
    usage: Usage | None = None

    @model_validator(mode="before")
    @classmethod
    def _legacy_flat(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "response" not in data:
            flat = {k: data[k] for k in ("content", "toolUse", "role") if k in data}
            if "text" in data and "content" not in flat:
                flat["content"] = data["text"]
            if flat:
                return {**data, "response": flat}
        return data

    @property
    def text(self) -> str:
        """The assistant's text."""
        return self.response.content

    @property
    def tool_calls(self) -> list[ToolUse]:
        """Tool calls the client must execute (server-executed ones excluded)."""
        return [t for t in self.response.tool_use if not t.server_executed]

    @property
    def server_tool_calls(self) -> list[ToolUse]:
        """Tool calls the service executed itself."""
        return [t for t in self.response.tool_use if t.server_executed]


class ChatAccepted(_Tolerant):
    """The 202 answer to ``async: true``: a durable execution was started."""

    request_id: str
    session_id: str | None = None
    status: str = "queued"
    message: str | None = None
    poll_url: str | None = None


# --------------------------------------------------------------------------- embeddings


class EmbeddingsRequest(_Wire):
    """Body of ``POST /ai/embeddings``."""

    input: str | list[str]
    model_id: str | None = None
    dimensions: int | None = None
    normalize: bool | None = None


class EmbeddingsUsage(_Tolerant):
    """Token usage of an embeddings call."""

    input_tokens: int = 0
    total_tokens: int = 0


if TYPE_CHECKING:
    _Vectors: TypeAlias = list[list[float]]
else:  # a bare vector (string input) is accepted too; EmbeddingsResponse nests it
    _Vectors = Annotated[list[list[float]] | list[float], Field(union_mode="left_to_right")]
"""Vectors validated straight from the JSON bytes (a ``mode="before"`` model validator would
make pydantic build the whole response as Python objects first: 1.3x slower)."""


class EmbeddingsResponse(_Tolerant):
    """Embeddings (200). ``embeddings`` is always a list of vectors, one per input text.

    Attributes:
        embeddings: One vector per input (a single string input gives one vector).
        single: True when the service returned one bare vector (string input).
        model: The model used.
        dimension: The vector size.
        usage: Tokens.
    """

    embeddings: _Vectors
    single: bool = False
    model: str | None = None
    dimension: int | None = None
    usage: EmbeddingsUsage = Field(default_factory=EmbeddingsUsage)

    @model_validator(mode="after")
    def _wrap_single(self) -> EmbeddingsResponse:
        vectors: list[Any] = self.embeddings
        if vectors and not isinstance(vectors[0], list):
            self.embeddings = [vectors]
            self.single = True
        return self


# --------------------------------------------------------------------------- images


class TextToImageParams(_Wire):
    """TEXT_IMAGE parameters (with optional conditioning image)."""

    text: str | None = None
    negative_text: str | None = None
    style: str | None = None
    condition_image: Base64Data | None = None
    control_mode: str | None = None
    control_strength: float | None = None


class ColorGuidedGenerationParams(_Wire):
    """COLOR_GUIDED_GENERATION parameters."""

    colors: list[str] | None = None
    reference_image: Base64Data | None = None
    text: str | None = None
    negative_text: str | None = None


class ImageVariationParams(_Wire):
    """IMAGE_VARIATION parameters."""

    images: list[Base64Data] | None = None
    similarity_strength: float | None = None
    text: str | None = None
    negative_text: str | None = None


class InPaintingParams(_Wire):
    """INPAINTING parameters: an image and a mask (image or prompt)."""

    image: Base64Data | None = None
    mask_image: Base64Data | None = None
    mask_prompt: str | None = None
    text: str | None = None
    negative_text: str | None = None


class OutPaintingParams(_Wire):
    """OUTPAINTING parameters."""

    image: Base64Data | None = None
    mask_image: Base64Data | None = None
    mask_prompt: str | None = None
    out_painting_mode: str | None = None
    text: str | None = None
    negative_text: str | None = None


class BackgroundRemovalParams(_Wire):
    """BACKGROUND_REMOVAL parameters."""

    image: Base64Data | None = None


class ImageGenerationConfig(_Wire):
    """Size, quality, guidance, seed and count of generated images."""

    width: int | None = None
    height: int | None = None
    quality: str | None = None
    cfg_scale: float | None = None
    seed: int | None = None
    number_of_images: int | None = None


class ImageGenerationRequest(_Wire):
    """Body of ``POST /ai/image-generation`` (Amazon Nova Canvas).

    Set ``task_type`` and the matching parameters object, for example ``TEXT_IMAGE`` with
    ``text_to_image_params``. Image inputs accept bytes, paths, data URLs or base64 text.
    ``virtual_try_on_params`` is free-form: the spec does not describe it.
    """

    task_type: str
    model_id: str | None = None
    text_to_image_params: TextToImageParams | None = None
    color_guided_generation_params: ColorGuidedGenerationParams | None = None
    image_variation_params: ImageVariationParams | None = None
    in_painting_params: InPaintingParams | None = None
    out_painting_params: OutPaintingParams | None = None
    background_removal_params: BackgroundRemovalParams | None = None
    virtual_try_on_params: dict[str, Any] | None = None
    image_generation_config: ImageGenerationConfig | None = None
    region: str | None = None

    @field_validator("virtual_try_on_params", mode="before")
    @classmethod
    def _try_on_images(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {
                k: _to_base64(v) if isinstance(v, (bytes, bytearray, os.PathLike)) else v
                for k, v in value.items()
            }
        return value


_MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
)


def sniff_image_mime(data: bytes) -> str:
    """Return the MIME type of image bytes from their signature (``image/png`` if unsure)."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return "image/png"


def decode_image_data(value: str) -> tuple[bytes, str]:
    """Decode base64 text or a ``data:`` URL into ``(bytes, mime type)``.

    Raises:
        ValueError: If the text is not valid base64.
    """
    declared: str | None = None
    if value.startswith("data:"):
        head, _, value = value.partition(",")
        declared = head[5:].split(";", 1)[0] or None
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raw = base64.b64decode(value + "=" * (-len(value) % 4), altchars=b"-_", validate=False)
    return raw, declared or sniff_image_mime(raw)


class GeneratedImage(BaseModel):
    """A decoded image: raw bytes and their MIME type."""

    model_config = ConfigDict(frozen=True, defer_build=True)

    data: bytes
    mime_type: str = "image/png"

    def to_base64(self) -> str:
        """Return the image as base64 text."""
        return base64.b64encode(self.data).decode("ascii")

    def to_data_url(self) -> str:
        """Return the image as a ``data:`` URL."""
        return f"data:{self.mime_type};base64,{self.to_base64()}"

    @property
    def extension(self) -> str:
        """A file extension for the image (``png``, ``jpeg``...)."""
        return self.mime_type.rsplit("/", 1)[-1]


def _decode_image(value: Any) -> Any:
    if isinstance(value, str):
        data, mime = decode_image_data(value)
        return GeneratedImage(data=data, mime_type=mime)
    return value


class ImageGenerationResponse(_Tolerant):
    """Generated images (200), decoded to bytes.

    Attributes:
        images: The images (fewer than asked when moderation blocked some).
        mask_image: The mask (virtual try-on).
        error: The moderation message when some images were blocked.
    """

    images: list[Annotated[GeneratedImage, BeforeValidator(_decode_image)]]
    mask_image: Annotated[GeneratedImage | None, BeforeValidator(_decode_image)] = None
    error: str | None = None


# --------------------------------------------------------------------------- executions


class PendingTool(_Tolerant):
    """A client tool the paused execution waits for."""

    name: str
    tool_use_id: str
    input: dict[str, Any] = Field(default_factory=dict)


class ExecutionResult(_Tolerant):
    """``result`` of a complete execution."""

    response: ResponseMessage = Field(default_factory=ResponseMessage)
    usage: Usage | None = None
    tool_executions: list[dict[str, Any]] = Field(default_factory=list)


class ExecutionError(BaseModel):
    """``error`` of a failed execution (AWS-style capitalised keys on the wire)."""

    model_config = ConfigDict(populate_by_name=True, extra="allow", defer_build=True)

    error_type: str | None = Field(default=None, alias="ErrorType")
    error_message: str | None = Field(default=None, alias="ErrorMessage")


class ExecutionStatus(_Tolerant):
    """Status of a durable execution (``GET /ai/chat/executions/{id}``)."""

    request_id: str | None = None
    execution_arn: str | None = None
    status: str = "pending"
    aws_status: str | None = None
    callback_id: str | None = None
    pending_tools: list[PendingTool] = Field(default_factory=list)
    result: ExecutionResult | None = None
    error: ExecutionError | None = None

    @property
    def is_complete(self) -> bool:
        """True for ``complete`` (and the docs' spelling ``completed``)."""
        return self.status in ("complete", "completed")

    @property
    def is_failed(self) -> bool:
        """True for ``failed``."""
        return self.status == "failed"

    @property
    def is_waiting(self) -> bool:
        """True when the execution waits for client tool results."""
        return self.status == "waiting_callback"


class ToolResultItem(_Wire):
    """One client tool result for ``POST /ai/chat/callback``."""

    tool_use_id: str
    result: dict[str, Any]


class CallbackRequest(_Wire):
    """Body of ``POST /ai/chat/callback``."""

    callback_id: str
    tool_results: list[ToolResultItem]


class CallbackResponse(_Tolerant):
    """Answer to a tool-result callback."""

    success: bool = True
    message: str | None = None
    callback_id: str | None = None


# --------------------------------------------------------------------------- models


class ModelCapabilities(_Tolerant):
    """Capabilities, in both the list shape and the detail shape of the API."""

    text: bool | None = None
    multimodal: bool | None = None
    embeddings: bool | None = None
    streaming: bool | None = None
    tool_use: bool | None = None
    supports_tools: bool | None = None
    supports_structured_output: bool | None = None
    supports_multimodal: bool | None = None
    supports_vision: bool | None = None
    supports_streaming: bool | None = None

    @property
    def tools(self) -> bool:
        """Whether the model can call tools (either shape)."""
        return bool(self.supports_tools or self.tool_use)

    @property
    def vision(self) -> bool:
        """Whether the model takes images (either shape)."""
        return bool(self.supports_vision or self.supports_multimodal or self.multimodal)


class ModelPricing(_Tolerant):
    """Price per million tokens."""

    input_per_m_token: float | None = None
    output_per_m_token: float | None = None
    currency: str | None = None


class ModelInfo(_Tolerant):
    """A model of the catalogue (list item or detail)."""

    id: str
    name: str | None = None
    provider: str | None = None
    description: str | None = None
    context_window: int | None = None
    max_output_tokens: int | None = None
    capabilities: ModelCapabilities = Field(default_factory=ModelCapabilities)
    pricing: ModelPricing | None = None
    release_date: str | None = None
    deprecated: bool | None = None
    available: bool | None = None


class ModelList(_Tolerant):
    """``GET /ai/models``."""

    count: int | None = None
    models: list[ModelInfo] = Field(default_factory=list)

    @model_validator(mode="after")
    def _count(self) -> ModelList:
        if self.count is None:
            self.count = len(self.models)
        return self


Feature = Literal["chat", "embeddings", "vision", "streaming", "all"]
