"""What the package knows about each Quant AI chat model, without asking the service.

One table, read by both adapters: LangChain's model profiles (``langchain_quant``) and
LlamaIndex's structured-output choice (``llama_index_quant``) come from here, so that the two
frameworks never disagree about a model. The facts are those of the Quant AI model catalogue
(``GET /ai/models``: ``contextWindow``, ``maxOutputTokens``, ``capabilities``) for the models
QuantCDN documents; the emulator's catalogue serves the same numbers (a test keeps them equal).

Model ids may carry a Bedrock cross-region prefix (``us.``, ``eu.``, ``apac.``...); it is
ignored. Unknown ids have no facts (``None``): callers fall back to what works on every model.

Example:
    >>> from quant_ai.catalog import model_facts, structured_output_method
    >>> model_facts("amazon.nova-micro-v1:0").structured_output
    False
    >>> structured_output_method("amazon.nova-lite-v1:0")
    'json_schema'
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = [
    "CHAT_MODELS",
    "ModelFacts",
    "StructuredOutputMethod",
    "model_facts",
    "structured_output_method",
    "supports_native_structured_output",
]

StructuredOutputMethod = Literal["json_schema", "function_calling"]
"""How structured output is asked for: the native ``responseFormat`` JSON schema, or a forced
call of a tool whose input schema is the output schema."""

_REGION_PREFIXES = ("us.", "eu.", "apac.", "au.", "jp.", "global.", "us-gov.")


@dataclass(frozen=True)
class ModelFacts:
    """The capabilities of one chat model.

    Attributes:
        id: The model id (without a region prefix).
        context_window: Input tokens the model takes (without ``longContext``).
        max_output_tokens: Most tokens one answer can have.
        tools: The model calls tools (``toolConfig``).
        structured_output: The model honours the native ``responseFormat`` JSON schema.
        vision: The model takes images.
        documents: The model takes documents (PDF, CSV, DOCX, XLSX).
        video: The model takes video.
    """

    id: str
    context_window: int
    max_output_tokens: int
    tools: bool = True
    structured_output: bool = False
    vision: bool = False
    documents: bool = False
    video: bool = False


def _nova(model_id: str, context: int, *, multimodal: bool) -> ModelFacts:
    # Nova Micro is text-only and has no native structured output; Lite and Pro have both.
    return ModelFacts(
        model_id,
        context,
        10_000,
        structured_output=multimodal,
        vision=multimodal,
        documents=multimodal,
        video=multimodal,
    )


def _claude(model_id: str, max_output: int) -> ModelFacts:
    return ModelFacts(
        model_id, 200_000, max_output, structured_output=True, vision=True, documents=True
    )


CHAT_MODELS: dict[str, ModelFacts] = {
    f.id: f
    for f in (
        _nova("amazon.nova-micro-v1:0", 128_000, multimodal=False),
        _nova("amazon.nova-lite-v1:0", 300_000, multimodal=True),
        _nova("amazon.nova-pro-v1:0", 300_000, multimodal=True),
        _claude("anthropic.claude-3-5-sonnet-20241022-v2:0", 8_192),
        _claude("anthropic.claude-sonnet-4-20250514-v1:0", 64_000),
        _claude("anthropic.claude-sonnet-4-5", 64_000),
        _claude("anthropic.claude-sonnet-4-6", 64_000),
    )
}
"""The chat models this package knows, by id."""


def model_facts(model_id: str) -> ModelFacts | None:
    """Return the facts of a chat model, or None for an id this package does not know."""
    facts = CHAT_MODELS.get(model_id)
    if facts is None:
        for prefix in _REGION_PREFIXES:
            if model_id.startswith(prefix):
                return CHAT_MODELS.get(model_id[len(prefix) :])
    return facts


def supports_native_structured_output(model_id: str) -> bool:
    """Whether the model is known to honour the native ``responseFormat`` JSON schema."""
    facts = model_facts(model_id)
    return facts is not None and facts.structured_output


def structured_output_method(model_id: str) -> StructuredOutputMethod:
    """The way to ask ``model_id`` for structured output when the caller does not choose.

    The rule: the native JSON schema (``"json_schema"``) for models known to honour it, a
    forced tool call (``"function_calling"``) for every other model, unknown ones included
    (every Quant AI chat model calls tools; a schema a model cannot honour gives free text).
    """
    return "json_schema" if supports_native_structured_output(model_id) else "function_calling"
