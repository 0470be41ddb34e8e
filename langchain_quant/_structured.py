"""Structured output of ``ChatQuant`` in the shapes LangChain asks for it.

The mapping itself (OpenAI ``json_schema`` / ``json_object``, the native shape, pydantic
classes) is the core's :func:`quant_ai.to_response_format`; this module only finds the
request's ``response_format`` among LangChain's places for it (the field, ``bind`` /
``create_agent``'s provider strategy, ``model_kwargs``) and reads the answer back the way
``langchain-openai`` does (``additional_kwargs["parsed"]`` when a pydantic class was bound).
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.utils.function_calling import convert_to_json_schema
from pydantic import BaseModel

from quant_ai import QuantValidationError, ResponseFormat, parse_structured, to_response_format

__all__ = ["StreamParser", "attach_parsed", "default_method", "pick_response_format"]

_WIRE_KEYS = ("response_format", "responseFormat")


def pick_response_format(given: Any, extra: MutableMapping[str, Any]) -> ResponseFormat | None:
    """The native ``responseFormat`` of a call.

    Args:
        given: The ``response_format`` of the call (bound or per call) or of the field.
        extra: The other wire fields (``model_kwargs`` and call kwargs); a
            ``response_format`` / ``responseFormat`` found there is taken out of it.

    Raises:
        QuantValidationError: For a shape the core refuses, or for a format given both as
            ``response_format`` and in ``model_kwargs``.
    """
    found = [(key, extra.pop(key)) for key in _WIRE_KEYS if key in extra]
    if len(found) > 1 or (found and given is not None):
        raise QuantValidationError(
            f"model_kwargs.{found[0][0]}: response format given twice; give it once "
            "(response_format=... or model_kwargs)",
            field=f"model_kwargs.{found[0][0]}",
        )
    if found:
        return to_response_format(_schema_of(found[0][1]), field=f"model_kwargs.{found[0][0]}")
    return to_response_format(_schema_of(given))


def _schema_of(value: Any) -> Any:
    """A TypedDict (or other non-pydantic class) as its JSON schema, as langchain-openai."""
    if isinstance(value, type) and not issubclass(value, BaseModel):
        return convert_to_json_schema(value)
    return value


def default_method(profile: ModelProfile | None) -> str:
    """``with_structured_output``'s method when none is given: the profile decides.

    Native JSON schema where the profile says the model has structured output, a forced tool
    call elsewhere (unknown models included), as the core's ``structured_output_method``.
    """
    return "json_schema" if profile and profile.get("structured_output") else "function_calling"


def _pydantic_class(response_format: Any) -> type[BaseModel] | None:
    if isinstance(response_format, type) and issubclass(response_format, BaseModel):
        return response_format
    return None


def attach_parsed(message: AIMessage, response_format: Any) -> AIMessage:
    """Put the parsed answer in ``additional_kwargs["parsed"]`` when a pydantic class was bound.

    As ``langchain-openai``: only for ``bind(response_format=SomeModel)``; a dict format leaves
    the JSON text to the caller's parser. A message with tool calls is not an answer yet.

    Raises:
        QuantStructuredOutputError: The answer does not fit the class.
    """
    schema = _pydantic_class(response_format)
    if schema is None or message.tool_calls or not isinstance(message.content, str):
        return message
    message.additional_kwargs["parsed"] = parse_structured(message.content, schema)
    return message


class StreamParser:
    """The streamed twin of :func:`attach_parsed`: the last chunk carries ``parsed``."""

    def __init__(self, response_format: Any) -> None:
        self.schema = _pydantic_class(response_format)
        self.text = ""
        self.tool_calls = False

    def feed(self, chunk: AIMessageChunk) -> AIMessageChunk:
        """Return ``chunk``; the last one gets ``additional_kwargs["parsed"]``.

        Raises:
            QuantStructuredOutputError: The streamed answer does not fit the class.
        """
        if self.schema is None:
            return chunk
        self.text += chunk.text
        self.tool_calls = self.tool_calls or bool(chunk.tool_call_chunks)
        if chunk.chunk_position == "last" and not self.tool_calls:
            chunk.additional_kwargs["parsed"] = parse_structured(self.text, self.schema)
        return chunk
