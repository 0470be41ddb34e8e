"""Durable executions and server-tool progress for ``ChatQuant``: events, local tools, handle.

A durable execution (``async: true``) runs on the service; ``ChatQuant`` polls it with the
core's backoff, runs the client tools it waits for locally (the ``BaseTool``s and functions
given to ``bind_tools`` or ``resume_execution``), answers each ``callbackId`` once and turns
the ``complete`` status into an ``AIMessage``.

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
from collections.abc import Mapping, Sequence
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
    ExecutionStatus,
    OrchestrationStatusEvent,
    PendingTool,
    QuantLocalToolError,
    QuantLocalToolMissingError,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolStartEvent,
)
from quant_ai.client import callback_result

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
    "stream_event_data",
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


def status_event_data(status: ExecutionStatus, request_id: str) -> dict[str, Any]:
    """Data of a ``quant_execution_status`` event."""
    return {
        "request_id": status.request_id or request_id,
        "status": status.status,
        "callback_id": status.callback_id,
        "pending_tools": [p.name for p in status.pending_tools],
        "pending_tool_calls": [
            {"name": p.name, "id": p.tool_use_id, "args": dict(p.input)}
            for p in status.pending_tools
        ],
    }


def _tool_result(output: Any) -> dict[str, Any]:
    """A tool's output (a ``ToolMessage`` when called with a tool call) as a callback result.

    An error status is sent as ``{"error": text}``; anything else as ``callback_result`` says.
    """
    if isinstance(output, ToolMessage):
        content: Any = output.content
        if output.status == "error":
            return {"error": content if isinstance(content, str) else json.dumps(content)}
        output = content
    return callback_result(output)


def _tool_call(pending: PendingTool) -> dict[str, Any]:
    return {
        "type": "tool_call",
        "name": pending.name,
        "args": dict(pending.input),
        "id": pending.tool_use_id,
    }


@dataclass
class _Progress:
    """State of one durable wait: status changes seen and tools run locally."""

    request_id: str
    tools: Mapping[str, BaseTool]
    callbacks: CallbackManager | AsyncCallbackManager | None
    last: tuple[str, str | None] | None = None
    callback_id: str | None = None
    local_calls: list[dict[str, Any]] = field(default_factory=list)

    def changed(self, status: ExecutionStatus) -> dict[str, Any] | None:
        key = (status.status, status.callback_id)
        if key == self.last:
            return None
        self.last = key
        return status_event_data(status, self.request_id)

    def check(self, pending: list[PendingTool], callback_id: str | None) -> None:
        QuantLocalToolMissingError.check(
            self.request_id,
            callback_id,
            (p.name for p in pending),
            self.tools,
            how_to_provide="Bind them as BaseTools or functions with bind_tools()",
        )

    def config(self) -> RunnableConfig:
        return RunnableConfig(callbacks=self.callbacks) if self.callbacks is not None else {}

    def record(self, pending: PendingTool, callback_id: str | None) -> None:
        self.local_calls.append(
            {
                "name": pending.name,
                "id": pending.tool_use_id,
                "args": dict(pending.input),
                "callback_id": callback_id,
            }
        )


class SyncDurableRun(_Progress):
    """Callbacks of :meth:`QuantClient.wait_for_execution` for one sync durable call."""

    def emit(self, data: dict[str, Any]) -> None:
        if isinstance(self.callbacks, CallbackManager):
            dispatch_custom_event(
                EXECUTION_STATUS_EVENT, data, config={"callbacks": self.callbacks}
            )

    def on_status(self, status: ExecutionStatus) -> None:
        data = self.changed(status)
        if data is not None:
            self.emit(data)
        if status.is_waiting and status.callback_id:
            self.check(status.pending_tools, status.callback_id)
            self.callback_id = status.callback_id

    def handler(self, pending: list[PendingTool]) -> dict[str, Any]:
        callback_id = self.callback_id
        self.check(pending, callback_id)
        results: dict[str, Any] = {}
        for item in pending:
            try:
                output = self.tools[item.name].invoke(_tool_call(item), self.config())
            except Exception as exc:
                raise QuantLocalToolError(self.request_id, callback_id, item.name) from exc
            results[item.tool_use_id] = _tool_result(output)
            self.record(item, callback_id)
        return results


class AsyncDurableRun(_Progress):
    """Callbacks of :meth:`QuantClient.await_for_execution` for one async durable call."""

    async def _arun(self, item: PendingTool, callback_id: str | None) -> Any:
        try:
            return await self.tools[item.name].ainvoke(_tool_call(item), self.config())
        except Exception as exc:
            raise QuantLocalToolError(self.request_id, callback_id, item.name) from exc

    async def emit(self, data: dict[str, Any]) -> None:
        if isinstance(self.callbacks, AsyncCallbackManager):
            await adispatch_custom_event(
                EXECUTION_STATUS_EVENT, data, config={"callbacks": self.callbacks}
            )

    async def on_status(self, status: ExecutionStatus) -> None:
        data = self.changed(status)
        if data is not None:
            await self.emit(data)
        if status.is_waiting and status.callback_id:
            self.check(status.pending_tools, status.callback_id)
            self.callback_id = status.callback_id

    async def handler(self, pending: list[PendingTool]) -> dict[str, Any]:
        callback_id = self.callback_id
        self.check(pending, callback_id)
        outputs = await asyncio.gather(*(self._arun(item, callback_id) for item in pending))
        results: dict[str, Any] = {}
        for item, output in zip(pending, outputs, strict=True):
            results[item.tool_use_id] = _tool_result(output)
            self.record(item, callback_id)
        return results


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
