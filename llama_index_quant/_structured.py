"""Streamed structured output of ``QuantLLM`` by function calling.

LlamaIndex's own streaming program looks for tool calls in ``additional_kwargs["tool_calls"]``
(the OpenAI habit); ``QuantLLM`` gives them as ``ToolCallBlock``s, so its partial objects would
stay empty. This module streams the forced tool call and yields partial objects from the
blocks, then the validated object (read by the core's ``parse_structured``).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator, Generator, Iterator, Sequence
from typing import Any, Generic

import pydantic
from llama_index.core.base.llms.types import ChatResponse
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.program.function_program import get_function_tool
from llama_index.core.program.utils import create_flexible_model
from llama_index.core.types import Model

from quant_ai import QuantStructuredOutputError, parse_structured

__all__ = ["astream_by_tool", "stream_by_tool"]


class _Reader(Generic[Model]):
    def __init__(self, llm: FunctionCallingLLM, output_cls: type[Model]) -> None:
        self.llm = llm
        self.output_cls = output_cls
        self.tool = get_function_tool(output_cls)
        self.flexible = create_flexible_model(output_cls)
        self.args: dict[str, Any] | None = None

    def partial(self, response: ChatResponse) -> Any:
        calls = self.llm.get_tool_calls_from_response(response, error_on_no_tool_call=False)
        named = [c for c in calls if c.tool_name == self.tool.metadata.name]
        if not named or named[0].tool_kwargs == self.args:
            return None
        self.args = dict(named[0].tool_kwargs)
        try:
            return self.flexible.model_validate(self.args)
        except pydantic.ValidationError:
            return None

    def final(self) -> Model:
        if self.args is None:
            raise QuantStructuredOutputError(
                f"the model did not call the {self.tool.metadata.name} tool; no output to parse"
            )
        return parse_structured(self.args, self.output_cls)


def stream_by_tool(
    llm: FunctionCallingLLM,
    output_cls: type[Model],
    messages: Sequence[Any],
    llm_kwargs: dict[str, Any] | None,
) -> Generator[Any, None, None]:
    """Partial objects while the forced tool call streams, then the validated object."""
    reader = _Reader(llm, output_cls)
    stream: Iterator[ChatResponse] = llm.stream_chat_with_tools(
        [reader.tool], chat_history=list(messages), tool_required=True, **_call_kwargs(llm_kwargs)
    )

    def gen() -> Generator[Any, None, None]:
        for response in stream:
            partial = reader.partial(response)
            if partial is not None:
                yield partial
        yield reader.final()

    return gen()


async def astream_by_tool(
    llm: FunctionCallingLLM,
    output_cls: type[Model],
    messages: Sequence[Any],
    llm_kwargs: dict[str, Any] | None,
) -> AsyncGenerator[Any, None]:
    """Async twin of :func:`stream_by_tool`."""
    reader = _Reader(llm, output_cls)
    stream: AsyncIterator[ChatResponse] = await llm.astream_chat_with_tools(
        [reader.tool], chat_history=list(messages), tool_required=True, **_call_kwargs(llm_kwargs)
    )

    async def gen() -> AsyncGenerator[Any, None]:
        async for response in stream:
            partial = reader.partial(response)
            if partial is not None:
                yield partial
        yield reader.final()

    return gen()


def _call_kwargs(llm_kwargs: dict[str, Any] | None) -> dict[str, Any]:
    kwargs = dict(llm_kwargs or {})
    for key in ("tool_required", "tool_choice", "allow_parallel_tool_calls"):
        kwargs.pop(key, None)
    return kwargs
