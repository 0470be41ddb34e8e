"""Durable executions and server-tool progress for ``ChatQuant``: events, local tools, handle.

A durable execution (``async: true``) runs on the service; ``ChatQuant`` waits for it with
the core's :class:`quant_ai.ExecutionWaiter` (backoff, one report per change, the
missing-tool check, one answer per ``callbackId``, the record of local calls). This module
only runs the client tools as LangChain tool calls (the ``BaseTool``s and functions given to
``bind_tools`` or ``resume_execution``) and reports the waiter's updates as custom events.

Progress is reported as LangChain custom events on the chat model's run (so
``astream_events``, ``BaseCallbackHandler.on_custom_event`` and LangSmith see them):

* ``quant_execution_status``: ``{"request_id", "status", "callback_id", "pending_tools",
  "pending_tool_calls"}`` each time the status (or the callback) changes, starting with
  ``queued`` when the execution is created.
* ``quant_tool_start``, ``quant_tool_input_progress``, ``quant_tool_complete``,
  ``quant_orchestration_status``: the stream events of tools the service runs, while
  streaming (``{"request_id", "name", "tool_use_id", "input" | "result"}`` and
  ``{"request_id", "message"}``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from langchain_core.callbacks import (
    AsyncCallbackManager,
    CallbackManager,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as as_tool

from quant_ai import (
    ExecutionHandle,
    ExecutionUpdate,
    ExecutionWaiter,
    OrchestrationStatusEvent,
    PendingTool,
    QuantLocalToolError,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolOutcome,
    ToolRunner,
    ToolStartEvent,
)

if TYPE_CHECKING:
    from langchain_quant.chat_models import ChatQuant

__all__ = [
    "EXECUTION_STATUS_EVENT",
    "ORCHESTRATION_STATUS_EVENT",
    "TOOL_COMPLETE_EVENT",
    "TOOL_INPUT_PROGRESS_EVENT",
    "TOOL_START_EVENT",
    "DurableExecution",
    "local_tool_registry",
    "status_emitter",
    "stream_event_data",
    "tool_runner",
]

EXECUTION_STATUS_EVENT = "quant_execution_status"
"""Custom event: a durable execution's status changed."""
TOOL_START_EVENT = "quant_tool_start"
"""Custom event: the service started running a tool (stream ``tool_start``)."""
TOOL_INPUT_PROGRESS_EVENT = "quant_tool_input_progress"
"""Custom event: the model is writing a tool's input (stream ``tool_input_progress``)."""
TOOL_COMPLETE_EVENT = "quant_tool_complete"
"""Custom event: a tool run by the service finished (stream ``tool_complete``)."""
ORCHESTRATION_STATUS_EVENT = "quant_orchestration_status"
"""Custom event: progress of the service's tool orchestration (``orchestration_status``)."""


def local_tool_registry(
    tools: Sequence[Any], wire: Sequence[Mapping[str, Any]]
) -> dict[str, BaseTool]:
    """The tools of ``bind_tools`` that can run locally, by their wire name.

    ``BaseTool``s are kept as they are and plain functions (sync or async) are wrapped with
    ``langchain_core.tools.tool``; pydantic classes, dicts and server tool names have no
    implementation and are left out.

    Args:
        tools: The tools given to ``bind_tools`` (``convert_tools`` makes one wire entry each).
        wire: Their wire entries, in the same order.

    Returns:
        ``{name: BaseTool}``.
    """
    registry: dict[str, BaseTool] = {}
    for item, entry in zip(tools, wire, strict=False):
        name = str(entry["toolSpec"]["name"])
        if isinstance(item, BaseTool):
            registry[name] = item
        elif callable(item) and not isinstance(item, (type, str, Mapping)):
            registry[name] = as_tool(item)
    return registry


def stream_event_data(event: Any, request_id: str | None) -> tuple[str, dict[str, Any]] | None:
    """The custom event (name, data) of a server-tool stream event, or None for the others."""
    if isinstance(event, ToolStartEvent):
        return TOOL_START_EVENT, {
            "request_id": request_id,
            "name": event.name,
            "tool_use_id": event.tool_use_id,
            "input": dict(event.input or {}),
        }
    if isinstance(event, ToolInputProgressEvent):
        return TOOL_INPUT_PROGRESS_EVENT, {"request_id": request_id, "name": event.name}
    if isinstance(event, ToolCompleteEvent):
        return TOOL_COMPLETE_EVENT, {
            "request_id": request_id,
            "name": event.name,
            "tool_use_id": event.tool_use_id,
            "result": event.result,
        }
    if isinstance(event, OrchestrationStatusEvent):
        return ORCHESTRATION_STATUS_EVENT, {"request_id": request_id, "message": event.message}
    return None


def _outcome(output: Any) -> ToolOutcome:
    """A tool's output (a ``ToolMessage`` when called with a tool call) as the core's outcome.

    An error status is reported as a failed tool (the core sends ``{"error": text}``).
    """
    if isinstance(output, ToolMessage):
        content: Any = output.content
        text = content if isinstance(content, str) else json.dumps(content)
        return ToolOutcome(value=content, is_error=output.status == "error", text=text)
    return ToolOutcome(value=output, text=output if isinstance(output, str) else None)


def _tool_call(pending: PendingTool) -> dict[str, Any]:
    return {
        "type": "tool_call",
        "name": pending.name,
        "args": dict(pending.input),
        "id": pending.tool_use_id,
    }


def status_emitter(
    callbacks: CallbackManager | AsyncCallbackManager | None,
) -> Callable[[ExecutionUpdate], Any] | None:
    """Reports the waiter's updates as ``quant_execution_status`` custom events."""
    if isinstance(callbacks, AsyncCallbackManager):
        manager = callbacks

        def aemit(update: ExecutionUpdate) -> Awaitable[None]:
            return adispatch_custom_event(
                EXECUTION_STATUS_EVENT, update.as_dict(), config={"callbacks": manager}
            )

        return aemit
    if isinstance(callbacks, CallbackManager):
        sync_manager = callbacks

        def emit(update: ExecutionUpdate) -> None:
            dispatch_custom_event(
                EXECUTION_STATUS_EVENT, update.as_dict(), config={"callbacks": sync_manager}
            )

        return emit
    return None


def tool_runner(
    tools: Mapping[str, BaseTool],
    waiter: ExecutionWaiter,
    callbacks: CallbackManager | AsyncCallbackManager | None,
    *,
    concurrent: bool,
) -> ToolRunner:
    """Runs the pending tools as LangChain tool calls (child runs of the model's run).

    Sync (``concurrent=False``): one after the other; async: concurrently. A tool that
    raises stops the wait with ``QuantLocalToolError`` (nothing is submitted).
    """
    config = RunnableConfig(callbacks=callbacks) if callbacks is not None else {}

    def failed(item: PendingTool, exc: Exception) -> QuantLocalToolError:
        error = QuantLocalToolError(waiter.request_id, waiter.callback_id, item.name)
        error.__cause__ = exc
        return error

    def run(pending: Sequence[PendingTool]) -> list[ToolOutcome]:
        outcomes = []
        for item in pending:
            try:
                outcomes.append(_outcome(tools[item.name].invoke(_tool_call(item), config)))
            except Exception as exc:
                raise failed(item, exc) from exc
        return outcomes

    async def arun_one(item: PendingTool) -> ToolOutcome:
        try:
            return _outcome(await tools[item.name].ainvoke(_tool_call(item), config))
        except Exception as exc:
            raise failed(item, exc) from exc

    async def arun(pending: Sequence[PendingTool]) -> list[ToolOutcome]:
        return list(await asyncio.gather(*(arun_one(item) for item in pending)))

    return arun if concurrent else run


@dataclass(frozen=True)
class DurableExecution(ExecutionHandle):
    """Handle of a started durable execution (from ``ChatQuant.start_execution``).

    Store ``request_id`` (a string) to resume later, from any process, with
    ``ChatQuant(...).resume_execution(request_id, tools=[...])``; ``resume()`` waits with the
    model (and tools) that started it.
    """

    _llm: ChatQuant | None = field(default=None, repr=False, compare=False)

    def resume(self, *, config: RunnableConfig | None = None) -> AIMessage:
        """Wait for the execution (running local tools) and return the final message.

        Uses the model (and tools) that started it.
        """
        return self._model().resume_execution(self.request_id, config=config)

    async def aresume(self, *, config: RunnableConfig | None = None) -> AIMessage:
        """Async twin of :meth:`resume`."""
        return await self._model().aresume_execution(self.request_id, config=config)

    def _model(self) -> ChatQuant:
        if self._llm is None:
            raise ValueError(
                "this handle has no model; call ChatQuant(...).resume_execution(request_id)"
            )
        return self._llm
