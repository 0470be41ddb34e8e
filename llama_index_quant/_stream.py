"""Streaming for ``QuantLLM``: the core's events as LlamaIndex chunks, server tools as events.

The request starts when the stream is created, not on first iteration: bad input, connection
errors and error statuses (after retries) raise there, before any token is yielded.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator

import llama_index.core.instrumentation as instrument
from llama_index.core.base.llms.types import ChatResponseAsyncGen, ChatResponseGen
from llama_index.core.instrumentation.span import active_span_id

from quant_ai import StreamEvent

from ._convert import StreamState
from .durable import server_tool_event

__all__ = ["astream_chunks", "stream_chunks"]

# The core re-exports get_dispatcher without __all__, hence the ignore.
dispatcher = instrument.get_dispatcher(__name__)  # type: ignore[attr-defined]


def _emit_server_event(event: StreamEvent, request_id: str | None, span_id: str | None) -> None:
    """Dispatch the instrumentation event of a server-tool stream event, if it is one."""
    found = server_tool_event(event, request_id, span_id)
    if found is not None:
        dispatcher.event(found)


def stream_chunks(events: Iterator[StreamEvent]) -> ChatResponseGen:
    """The chunks of a stream (its first event read now, so errors raise here)."""
    first = next(events)
    span_id = active_span_id.get()

    def gen() -> ChatResponseGen:
        state = StreamState()
        for event in itertools.chain((first,), events):
            chunk = state.add(event)
            _emit_server_event(event, state.request_id, span_id)
            if chunk is not None:
                yield chunk

    return gen()


async def astream_chunks(events: AsyncIterator[StreamEvent]) -> ChatResponseAsyncGen:
    """Async twin of :func:`stream_chunks` (``await`` it, then ``async for``)."""
    first = await events.__anext__()
    span_id = active_span_id.get()

    async def gen() -> ChatResponseAsyncGen:
        state = StreamState()
        for event in (first,):
            chunk = state.add(event)
            _emit_server_event(event, state.request_id, span_id)
            if chunk is not None:
                yield chunk
        async for event in events:
            chunk = state.add(event)
            _emit_server_event(event, state.request_id, span_id)
            if chunk is not None:
                yield chunk

    return gen()
