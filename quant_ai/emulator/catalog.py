"""The emulator's model catalogue (ids from the Quant AI docs, public Bedrock numbers)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_CHAT_MODEL", "DEFAULT_EMBED_MODEL", "DEFAULT_IMAGE_MODEL", "MODELS", "Model"]

DEFAULT_CHAT_MODEL = "amazon.nova-lite-v1:0"
DEFAULT_EMBED_MODEL = "amazon.titan-embed-text-v2:0"
DEFAULT_IMAGE_MODEL = "amazon.nova-canvas-v1:0"


@dataclass(frozen=True)
class Model:
    """One catalogue entry."""

    id: str
    name: str
    provider: str
    description: str
    kind: str  # chat | embeddings | image
    context_window: int
    max_output_tokens: int
    input_per_m: float
    output_per_m: float
    release_date: str
    tools: bool = False
    structured: bool = False
    vision: bool = False
    multimodal: bool = False
    streaming: bool = False
    embed_dimensions: tuple[int, ...] = ()

    def cost_cents(self, input_tokens: int, output_tokens: int) -> float:
        """Price of a call in US cents."""
        dollars = (input_tokens * self.input_per_m + output_tokens * self.output_per_m) / 1e6
        return round(dollars * 100.0, 6)

    def refusal(self, *, json_schema: bool = False, media: str | None = None) -> str | None:
        """Why this model cannot serve a request, as the service would say it (else ``None``).

        Args:
            json_schema: The request asks for native structured output (a ``jsonSchema``).
            media: The kind of a media block in the request (``image``, ``video``,
                ``document``), if any.
        """
        if json_schema and not self.structured:
            return (
                f"The model {self.id} does not support structured output (jsonSchema); use a "
                "model whose capabilities.supportsStructuredOutput is true, or ask for JSON "
                "in the prompt."
            )
        if media == "image" and not self.vision:
            return f"The model {self.id} does not support image input (supportsVision is false)."
        if media in ("video", "document") and not self.multimodal:
            return (
                f"The model {self.id} does not support {media} input (supportsMultimodal is false)."
            )
        return None

    def features(self) -> set[str]:
        """Feature names this model matches in ``GET /ai/models?feature=``."""
        feats = {"all"}
        if self.kind == "chat":
            feats.add("chat")
        if self.kind == "embeddings":
            feats.add("embeddings")
        if self.kind == "image":
            feats.add("image_generation")
        if self.vision:
            feats.add("vision")
        if self.streaming:
            feats.add("streaming")
        return feats

    def detail(self) -> dict[str, Any]:
        """The ``GET /ai/models/{modelId}`` shape."""
        return {
            "id": self.id,
            "name": self.name,
            "provider": self.provider,
            "description": self.description,
            "contextWindow": self.context_window,
            "maxOutputTokens": self.max_output_tokens,
            "capabilities": {
                "supportsTools": self.tools,
                "supportsStructuredOutput": self.structured,
                "supportsMultimodal": self.multimodal,
                "supportsVision": self.vision,
                "supportsStreaming": self.streaming,
            },
            "pricing": {
                "inputPerMToken": self.input_per_m,
                "outputPerMToken": self.output_per_m,
                "currency": "USD",
            },
            "releaseDate": self.release_date,
            "deprecated": False,
            "available": True,
        }

    def list_item(self) -> dict[str, Any]:
        """A ``GET /ai/models`` item: the spec's list shape plus the detail fields."""
        item = self.detail()
        item["capabilities"] = {
            "text": self.kind == "chat",
            "multimodal": self.multimodal,
            "embeddings": self.kind == "embeddings",
            "streaming": self.streaming,
            "toolUse": self.tools,
            **item["capabilities"],
        }
        return item


def _claude(model_id: str, name: str, released: str, max_out: int, desc: str) -> Model:
    return Model(
        id=model_id,
        name=name,
        provider="Anthropic",
        description=desc,
        kind="chat",
        context_window=200_000,
        max_output_tokens=max_out,
        input_per_m=3.0,
        output_per_m=15.0,
        release_date=released,
        tools=True,
        structured=True,
        vision=True,
        multimodal=True,
        streaming=True,
    )


_ALL = (
    Model(
        id="amazon.nova-micro-v1:0",
        name="Amazon Nova Micro",
        provider="Amazon",
        description="Text-only, lowest latency and cost.",
        kind="chat",
        context_window=128_000,
        max_output_tokens=10_000,
        input_per_m=0.035,
        output_per_m=0.14,
        release_date="2024-12-03",
        tools=True,
        streaming=True,
    ),
    Model(
        id="amazon.nova-lite-v1:0",
        name="Amazon Nova Lite",
        provider="Amazon",
        description="Fast, low-cost multimodal model (images, video, documents).",
        kind="chat",
        context_window=300_000,
        max_output_tokens=10_000,
        input_per_m=0.06,
        output_per_m=0.24,
        release_date="2024-12-03",
        tools=True,
        structured=True,
        vision=True,
        multimodal=True,
        streaming=True,
    ),
    Model(
        id="amazon.nova-pro-v1:0",
        name="Amazon Nova Pro",
        provider="Amazon",
        description="Capable multimodal model balancing accuracy, speed and cost.",
        kind="chat",
        context_window=300_000,
        max_output_tokens=10_000,
        input_per_m=0.8,
        output_per_m=3.2,
        release_date="2024-12-03",
        tools=True,
        structured=True,
        vision=True,
        multimodal=True,
        streaming=True,
    ),
    _claude(
        "anthropic.claude-3-5-sonnet-20241022-v2:0",
        "Claude 3.5 Sonnet v2",
        "2024-10-22",
        8_192,
        "Anthropic Claude 3.5 Sonnet (October 2024).",
    ),
    _claude(
        "anthropic.claude-sonnet-4-20250514-v1:0",
        "Claude Sonnet 4",
        "2025-05-14",
        64_000,
        "Anthropic Claude Sonnet 4.",
    ),
    _claude(
        "anthropic.claude-sonnet-4-5",
        "Claude Sonnet 4.5",
        "2025-09-29",
        64_000,
        "Anthropic Claude Sonnet 4.5 (1M context with longContext).",
    ),
    _claude(
        "anthropic.claude-sonnet-4-6",
        "Claude Sonnet 4.6",
        "2026-02-17",
        64_000,
        "Anthropic Claude Sonnet 4.6 (1M context with longContext).",
    ),
    Model(
        id="amazon.titan-embed-text-v2:0",
        name="Titan Text Embeddings V2",
        provider="Amazon",
        description="Text embeddings, 256/512/1024 dimensions, optional normalisation.",
        kind="embeddings",
        context_window=8_192,
        max_output_tokens=0,
        input_per_m=0.02,
        output_per_m=0.0,
        release_date="2024-04-30",
        embed_dimensions=(256, 512, 1024, 8192),
    ),
    Model(
        id="amazon.titan-embed-text-v1:0",
        name="Titan Embeddings G1 - Text",
        provider="Amazon",
        description="Text embeddings, 1536 dimensions (fixed).",
        kind="embeddings",
        context_window=8_192,
        max_output_tokens=0,
        input_per_m=0.1,
        output_per_m=0.0,
        release_date="2023-09-28",
        embed_dimensions=(1536,),
    ),
    Model(
        id="amazon.nova-canvas-v1:0",
        name="Amazon Nova Canvas",
        provider="Amazon",
        description="Image generation and editing (about USD 0.04 per 1024x1024 image).",
        kind="image",
        context_window=1_024,
        max_output_tokens=0,
        input_per_m=0.0,
        output_per_m=0.0,
        release_date="2024-12-03",
        vision=False,
        multimodal=True,
    ),
)

MODELS: dict[str, Model] = {m.id: m for m in _ALL}
"""The catalogue, by model id."""
