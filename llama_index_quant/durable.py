"""Durable executions for ``QuantLLM``: local tools, progress events, the final response.

A durable execution (``async: true``) runs on the service. ``QuantLLM`` polls it with the
core's backoff (:meth:`quant_ai.QuantClient.wait_for_execution`), runs the client tools it
waits for locally (``BaseTool``s such as ``FunctionTool``, the tools of a ``BaseToolSpec``,
plain functions), answers each ``callbackId`` once and turns the ``complete`` status into a
LlamaIndex ``ChatResponse``.

Everything but :class:`DurableRun` (which calls the tools) and :class:`DurableExecution` (a
handle) is a pure function. Progress is reported with the instrumentation events of
:mod:`llama_index_quant.events`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import llama_index.core.instrumentation as instrument
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, MessageRole
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.tools import BaseTool, FunctionTool, ToolOutput
from llama_index.core.tools.calling import acall_tool, call_tool
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from pydantic import BaseModel

from quant_ai import (
    ExecutionHandle,
    ExecutionStatus,
    OrchestrationStatusEvent,
    PendingTool,
    QuantLocalToolMissingError,
    StreamEvent,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolStartEvent,
    ToolUse,
)
from quant_ai.client import callback_result

from ._convert import usage_to_openai
from .events import (
    QuantEvent,
    QuantExecutionStatusEvent,
    QuantLocalToolCallEvent,
    QuantOrchestrationStatusEvent,
    QuantServerToolCompleteEvent,
    QuantServerToolStartEvent,
    QuantToolInputProgressEvent,
)

if TYPE_CHECKING:
    from .llms import QuantLLM

__all__ = [
    "DurableExecution",
    "DurableRun",
    "QuantLocalToolMissingError",
    "ToolLike",
    "as_tools",
    "chat_response_from_execution",
    "queued_event",
    "server_tool_event",
    "status_event",
    "tool_output_to_result",
]

# The core re-exports get_dispatcher without __all__, hence the ignore.
dispatcher = instrument.get_dispatcher(__name__)  # type: ignore[attr-defined]

ToolLike = BaseTool | BaseToolSpec | Callable[..., Any]
"""What can answer a durable execution: a ``BaseTool`` (``FunctionTool``...), a
``BaseToolSpec`` (all of its tools) or a plain function (sync or async)."""


# --------------------------------------------------------------------------- tools


def as_tools(tools: Iterable[ToolLike]) -> list[BaseTool]:
    """Normalise tools: ``BaseTool``s as they are, tool specs expanded, functions wrapped.

    Args:
        tools: ``BaseTool``s, ``BaseToolSpec``s and plain (sync or async) functions.

    Returns:
        The ``BaseTool``s, in order.

    Raises:
        TypeError: For anything else (naming it).
    """
    out: list[BaseTool] = []
    for item in tools:
        if isinstance(item, BaseTool) or hasattr(item, "metadata"):
            out.append(item)  # type: ignore[arg-type]  # duck-typed tools are kept too
        elif isinstance(item, BaseToolSpec):
            out.extend(item.to_tool_list())
        elif callable(item) and not isinstance(item, type):
            out.append(FunctionTool.from_defaults(item))
        else:
            raise TypeError(
                f"{item!r} is not a tool: pass BaseTools (e.g. FunctionTool), tool specs or "
                "functions"
            )
    return out


def _registry(tools: Iterable[BaseTool]) -> dict[str, BaseTool]:
    return {tool.metadata.get_name(): tool for tool in tools}


def tool_output_to_result(output: ToolOutput) -> dict[str, Any]:
    """A tool's output as the callback's result object (see ``quant_ai.client.callback_result``).

    An error (the tool raised) is sent as ``{"error": text}`` so that the model can react, as
    a ``FunctionAgent`` would; a raw value that is no JSON-like data (or none) sends the
    output's text.
    """
    if output.is_error:
        return {"error": output.content}
    raw = output.raw_output
    if isinstance(raw, (BaseModel, Mapping, str, bool, int, float, list, tuple)):
        return callback_result(raw)
    return {"result": output.content or None}


# --------------------------------------------------------------------------- events


def queued_event(
    request_id: str, session_id: str | None, span_id: str | None
) -> QuantExecutionStatusEvent:
    """The event of a newly created execution (status ``queued``)."""
    return QuantExecutionStatusEvent(
        request_id=request_id, session_id=session_id, status="queued", span_id=span_id
    )


def status_event(
    status: ExecutionStatus, request_id: str, span_id: str | None
) -> QuantExecutionStatusEvent:
    """The event of a status read."""
    error = status.error
    return QuantExecutionStatusEvent(
        request_id=status.request_id or request_id,
        status=status.status,
        callback_id=status.callback_id,
        pending_tools=[p.name for p in status.pending_tools],
        pending_tool_calls=[
            {"name": p.name, "id": p.tool_use_id, "args": dict(p.input)}
            for p in status.pending_tools
        ],
        error_type=error.error_type if error else None,
        error_message=error.error_message if error else None,
        span_id=span_id,
    )


def server_tool_event(
    event: StreamEvent, request_id: str | None, span_id: str | None
) -> QuantEvent | None:
    """The instrumentation event of a server-tool stream event (None for the others)."""
    if isinstance(event, ToolStartEvent):
        return QuantServerToolStartEvent(
            request_id=request_id,
            name=event.name,
            tool_use_id=event.tool_use_id,
            input=dict(event.input or {}),
            span_id=span_id,
        )
    if isinstance(event, ToolCompleteEvent):
        return QuantServerToolCompleteEvent(
            request_id=request_id,
            name=event.name,
            tool_use_id=event.tool_use_id,
            result=event.result,
            span_id=span_id,
        )
    if isinstance(event, ToolInputProgressEvent):
        return QuantToolInputProgressEvent(request_id=request_id, name=event.name, span_id=span_id)
    if isinstance(event, OrchestrationStatusEvent):
        return QuantOrchestrationStatusEvent(
            request_id=request_id, message=event.message, span_id=span_id
        )
    return None


# --------------------------------------------------------------------------- response


def chat_response_from_execution(
    status: ExecutionStatus,
    *,
    request_id: str,
    model: str,
    session_id: str | None = None,
    local_calls: Sequence[Mapping[str, Any]] = (),
) -> ChatResponse:
    """Convert a ``complete`` durable execution to the final ``ChatResponse``.

    The message holds the answer text only: the client tools that ran locally were answered
    already (they are never ``ToolCallBlock``s, which an agent would run again) and are listed
    under ``local_tool_calls``; the tools the service ran (``result.toolExecutions``) are under
    ``server_tool_calls``. Both lists, OpenAI-style usage (``prompt_tokens``,
    ``completion_tokens``, ``total_tokens``, ``cost_cents``), ``request_id``, ``model``,
    ``session_id`` and ``execution_status`` are in ``additional_kwargs``; ``raw`` is the
    status body with ``usage`` (OpenAI names), ``quant_usage`` and the same two lists.

    Args:
        status: The ``complete`` status.
        request_id: The execution's id.
        model: The model id requested.
        session_id: The execution's session, when known.
        local_calls: ``{"name", "id", "args", "callback_id", "output", "is_error"}`` of each
            tool run locally.
    """
    result = status.result
    text = result.response.content if result is not None else ""
    usage = result.usage if result is not None else None
    local_ids = {str(call.get("id")) for call in local_calls}
    server: list[dict[str, Any]] = []
    for item in result.tool_executions if result is not None else []:
        use = ToolUse.model_validate(item)
        if use.tool_use_id and use.tool_use_id in local_ids:
            continue
        if use.status is None:
            use = use.model_copy(update={"status": "complete"})
        server.append(use.model_dump(by_alias=True, exclude_none=True, mode="json"))
    local = [dict(call) for call in local_calls]
    rid = status.request_id or request_id
    extra: dict[str, Any] = usage_to_openai(usage)
    extra.update(
        finish_reason="stop",
        request_id=rid,
        model=model,
        execution_status=status.status,
        server_tool_calls=server,
        local_tool_calls=local,
    )
    if session_id:
        extra["session_id"] = session_id
    raw = status.model_dump(by_alias=True, exclude_none=True, mode="json")
    raw["usage"] = usage_to_openai(usage) or None
    if usage is not None:
        raw["quant_usage"] = usage.model_dump(by_alias=True, exclude_none=True)
    raw["server_tool_calls"] = server
    raw["local_tool_calls"] = local
    return ChatResponse(
        message=ChatMessage(role=MessageRole.ASSISTANT, content=text),
        raw=raw,
        additional_kwargs=extra,
    )


# --------------------------------------------------------------------------- one wait


@dataclass
class DurableRun:
    """State and callbacks of one wait for a durable execution.

    ``on_status`` reports status changes (one :class:`QuantExecutionStatusEvent` per change)
    and refuses, before anything is submitted, a waiting status whose tools are not all
    local; ``handler`` / ``ahandler`` run the pending tools and return their results for the
    core to submit (once per ``callbackId``).

    Attributes:
        request_id: The execution's id.
        tools: The local tools by name.
        span_id: The span of the ``QuantLLM`` call (set on every event).
        callback_manager: The LLM's legacy callback manager (``FUNCTION_CALL`` events).
        local_calls: The tool calls made so far.
    """

    request_id: str
    tools: Mapping[str, BaseTool]
    span_id: str | None = None
    callback_manager: CallbackManager | None = None
    last: tuple[str, str | None] | None = None
    callback_id: str | None = None
    local_calls: list[dict[str, Any]] = field(default_factory=list)

    def on_status(self, status: ExecutionStatus) -> None:
        """Dispatch a status event when something changed; check the tools of a wait."""
        key = (status.status, status.callback_id)
        if key != self.last:
            self.last = key
            dispatcher.event(status_event(status, self.request_id, self.span_id))
        if status.is_waiting and status.callback_id:
            self.callback_id = status.callback_id
            self._check(status.pending_tools)

    def _check(self, pending: Sequence[PendingTool]) -> None:
        QuantLocalToolMissingError.check(
            self.request_id,
            self.callback_id,
            (p.name for p in pending),
            self.tools,
            how_to_provide="Pass them to chat_with_tools() or as tools=",
        )

    def _record(self, pending: PendingTool, output: ToolOutput) -> dict[str, Any]:
        self.local_calls.append(
            {
                "name": pending.name,
                "id": pending.tool_use_id,
                "args": dict(pending.input),
                "callback_id": self.callback_id,
                "output": output.content,
                "is_error": output.is_error,
            }
        )
        dispatcher.event(
            QuantLocalToolCallEvent(
                request_id=self.request_id,
                callback_id=self.callback_id,
                tool_name=pending.name,
                tool_use_id=pending.tool_use_id,
                arguments=dict(pending.input),
                output=output.content,
                is_error=output.is_error,
                span_id=self.span_id,
            )
        )
        return tool_output_to_result(output)

    def _start(self, pending: PendingTool) -> str | None:
        if self.callback_manager is None:
            return None
        tool = self.tools[pending.name]
        return self.callback_manager.on_event_start(
            CBEventType.FUNCTION_CALL,
            payload={
                EventPayload.FUNCTION_CALL: json.dumps(pending.input, default=str),
                EventPayload.TOOL: tool.metadata,
            },
        )

    def _end(self, event_id: str | None, output: ToolOutput) -> None:
        if self.callback_manager is not None and event_id is not None:
            self.callback_manager.on_event_end(
                CBEventType.FUNCTION_CALL,
                payload={EventPayload.FUNCTION_OUTPUT: str(output)},
                event_id=event_id,
            )

    def handler(self, pending: list[PendingTool]) -> dict[str, Any]:
        """Run the pending tools one after the other; ``{toolUseId: result}``."""
        self._check(pending)
        results: dict[str, Any] = {}
        for item in pending:
            event_id = self._start(item)
            output = call_tool(self.tools[item.name], dict(item.input))
            self._end(event_id, output)
            results[item.tool_use_id] = self._record(item, output)
        return results

    async def ahandler(self, pending: list[PendingTool]) -> dict[str, Any]:
        """Run the pending tools concurrently; ``{toolUseId: result}``."""
        self._check(pending)
        event_ids = [self._start(item) for item in pending]
        outputs = await asyncio.gather(
            *(acall_tool(self.tools[item.name], dict(item.input)) for item in pending)
        )
        results: dict[str, Any] = {}
        for item, event_id, output in zip(pending, event_ids, outputs, strict=True):
            self._end(event_id, output)
            results[item.tool_use_id] = self._record(item, output)
        return results

    @classmethod
    def for_tools(
        cls,
        request_id: str,
        tools: Iterable[BaseTool],
        *,
        span_id: str | None = None,
        callback_manager: CallbackManager | None = None,
    ) -> DurableRun:
        """A run answering with ``tools`` (by their metadata name)."""
        return cls(request_id, _registry(tools), span_id, callback_manager)


# --------------------------------------------------------------------------- handle


@dataclass(frozen=True)
class DurableExecution(ExecutionHandle):
    """Handle of a started durable execution (from ``QuantLLM.start_execution``).

    Store ``request_id`` (a string) to resume later, from any process, with
    ``QuantLLM(...).resume_execution(request_id, tools=[...])``; ``resume()`` waits with the
    model (and tools) that started it.
    """

    _llm: QuantLLM | None = field(default=None, repr=False, compare=False)
    _tools: tuple[BaseTool, ...] = field(default=(), repr=False, compare=False)

    def resume(self, **kwargs: Any) -> ChatResponse:
        """Wait for the execution (running local tools) with the LLM and tools that started it.

        Args:
            **kwargs: ``durable_poll_initial``, ``durable_poll_max``, ``durable_timeout``.
        """
        return self._model().resume_execution(self.request_id, tools=self._tools, **kwargs)

    async def aresume(self, **kwargs: Any) -> ChatResponse:
        """Async twin of :meth:`resume` (async tools run concurrently)."""
        return await self._model().aresume_execution(self.request_id, tools=self._tools, **kwargs)

    def _model(self) -> QuantLLM:
        if self._llm is None:
            raise ValueError(
                "this handle has no LLM; call QuantLLM(...).resume_execution(request_id)"
            )
        return self._llm
