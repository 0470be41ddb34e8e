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
from typing import TYPE_CHECKING, Any, cast

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ToolMessage
from langchain_core.runnables import RunnableConfig
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as as_tool

from langchain_quant._callbacks import achild_manager, child_manager
from langchain_quant._convert import execution_to_message
from langchain_quant.errors import langchain_errors
from quant_ai import (
    ChatAccepted,
    ChatRequest,
    OrchestrationStatusEvent,
    PendingTool,
    QuantClient,
    QuantLocalToolError,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolStartEvent,
)
from quant_ai.durable import (
    RESUME_KWARG,
    DurableOptions,
    DurableSpec,
    ExecutionUpdate,
    ExecutionWaiter,
    ResumableExecution,
    ToolOutcome,
    ToolRunner,
    arun_durable,
    run_durable,
)

if TYPE_CHECKING:
    from langchain_quant.chat_models import ChatQuant

__all__ = [
    "EXECUTION_STATUS_EVENT",
    "ORCHESTRATION_STATUS_EVENT",
    "TOOL_COMPLETE_EVENT",
    "TOOL_INPUT_PROGRESS_EVENT",
    "TOOL_START_EVENT",
    "DurableChatMixin",
    "DurableExecution",
    "ToolLike",
    "as_chunk",
    "local_tool_registry",
    "status_emitter",
    "stream_event_data",
    "tool_runner",
]

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool | str
"""What ``bind_tools`` takes: schemas, functions, ``BaseTool``s and server tool names."""

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


class DurableExecution(ResumableExecution[AIMessage]):
    """Handle of a started durable execution (from ``ChatQuant.start_execution``).

    Store ``request_id`` (a string) to resume later, from any process, with
    ``ChatQuant(...).resume_execution(request_id, tools=[...])``; ``resume(config=...)``
    waits with the model (and tools) that started it.
    """

    @classmethod
    def of(cls, accepted: ChatAccepted, request: ChatRequest, model: ChatQuant) -> DurableExecution:
        """The handle of an accepted request, resuming with ``model``."""
        return cls(
            accepted.request_id,
            accepted.session_id,
            request.model_id,
            accepted.poll_url,
            resumer=model.resume_execution,
            aresumer=model.aresume_execution,
        )


if TYPE_CHECKING:

    class _Base(DurableOptions, BaseChatModel):
        """What the mixin relies on."""

else:
    _Base = DurableOptions


class DurableChatMixin(_Base):
    """The durable mode of ``ChatQuant``: start, wait (the core's waiter), resume."""

    if TYPE_CHECKING:
        model: str
        _local_tools: dict[str, BaseTool]
        _tool_kwargs: dict[str, Any]

        @property
        def quant_client(self) -> QuantClient:
            """The core client."""

        def _request(
            self, messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
        ) -> ChatRequest: ...

        def _with_tools(
            self,
            tools: Sequence[ToolLike] | None,
            *,
            tool_choice: dict[str, Any] | str | bool | None = None,
            strict: bool | None = None,
            auto_execute: bool | None = None,
            allowed_tools: Sequence[str] | None = None,
        ) -> ChatQuant: ...

    def _should_stream(
        self,
        *,
        async_api: bool,
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> bool:
        """Durable calls never stream (``stream()`` yields the final message as one chunk).

        ``stream()`` then falls back to ``invoke()``, so the status events keep their run.
        """
        if self._is_durable(kwargs):
            return False
        return super()._should_stream(async_api=async_api, run_manager=run_manager, **kwargs)

    def _durable_spec(
        self,
        kwargs: Mapping[str, Any],
        callbacks: CallbackManager | AsyncCallbackManager | None,
        *,
        concurrent: bool,
    ) -> DurableSpec:
        """How this call waits: its poll settings, the bound tools, custom events."""
        tools = self._local_tools
        return DurableSpec(
            self._poll_settings(kwargs),
            tool_names=tools,
            how_to_provide="Bind them as BaseTools or functions with bind_tools()",
            on_update=status_emitter(callbacks),
            runner=lambda waiter: tool_runner(tools, waiter, callbacks, concurrent=concurrent),
        )

    def _durable_start(
        self, messages: list[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> tuple[ChatRequest | str, str]:
        """``(request to start, or the id to resume; model)``."""
        resume = kwargs.get(RESUME_KWARG)
        if resume:
            return str(resume), str(kwargs.get("model") or self.model)
        request = self._request(messages, stop, kwargs)
        return request, request.model_id

    def _durable_message(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        kwargs: Mapping[str, Any],
    ) -> AIMessage:
        """Start (or resume) a durable execution, wait for it running local tools, convert."""
        callbacks = child_manager(run_manager) if run_manager else None
        start, model = self._durable_start(messages, stop, kwargs)
        with langchain_errors():
            done = run_durable(
                self.quant_client, start, self._durable_spec(kwargs, callbacks, concurrent=False)
            )
        return execution_to_message(done, model=model)

    async def _adurable_message(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: Mapping[str, Any],
    ) -> AIMessage:
        """Async twin of :meth:`_durable_message` (the tools of one callback run concurrently)."""
        callbacks = achild_manager(run_manager) if run_manager else None
        start, model = self._durable_start(messages, stop, kwargs)
        with langchain_errors():
            done = await arun_durable(
                self.quant_client, start, self._durable_spec(kwargs, callbacks, concurrent=True)
            )
        return execution_to_message(done, model=model)

    @property
    def local_tools(self) -> dict[str, BaseTool]:
        """Tools bound with ``bind_tools`` that run locally during durable executions."""
        return dict(self._local_tools)

    def start_execution(
        self,
        messages: LanguageModelInput,
        *,
        tools: Sequence[ToolLike] | None = None,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> DurableExecution:
        """Start a durable execution and return its handle without waiting.

        Store ``handle.request_id`` and resume later (in this or another process) with
        ``resume_execution(request_id, tools=[...])``.

        Args:
            messages: The conversation (anything ``invoke`` accepts).
            tools: Tools as for ``bind_tools`` (default: the tools bound to this model).
            stop: Stop sequences.
            **kwargs: ``tool_choice``, ``auto_execute``, ``allowed_tools`` (with ``tools``),
                and per-call fields (``temperature``...).

        Returns:
            The handle (``request_id``, ``session_id``, ``model``); ``handle.resume()`` waits
            with this model and its tools.
        """
        target, call = self._execution_target(tools, kwargs)
        request = target._request(target._convert_input(messages).to_messages(), stop, call)
        with langchain_errors():
            accepted = target.quant_client.start_chat(request)
        return DurableExecution.of(accepted, request, target)

    async def astart_execution(
        self,
        messages: LanguageModelInput,
        *,
        tools: Sequence[ToolLike] | None = None,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> DurableExecution:
        """Async twin of :meth:`start_execution`."""
        target, call = self._execution_target(tools, kwargs)
        request = target._request(target._convert_input(messages).to_messages(), stop, call)
        with langchain_errors():
            accepted = await target.quant_client.astart_chat(request)
        return DurableExecution.of(accepted, request, target)

    def _execution_target(
        self, tools: Sequence[ToolLike] | None, kwargs: Mapping[str, Any]
    ) -> tuple[ChatQuant, dict[str, Any]]:
        call = dict(kwargs)
        tool_args = {
            k: call.pop(k) for k in ("tool_choice", "auto_execute", "allowed_tools") if k in call
        }
        target = (
            self._with_tools(tools, **tool_args) if tools is not None else cast("ChatQuant", self)
        )
        return target, {**target._tool_kwargs, **call}

    def resume_execution(
        self,
        request_id: str,
        *,
        tools: Sequence[BaseTool | Callable[..., Any]] | None = None,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Wait for a durable execution by id, answering its client tools; return the answer.

        Works from a new ``ChatQuant`` in another process: only the id is needed. It runs as
        a normal chat-model call (callbacks, ``quant_execution_status`` custom events,
        tracing), with no input messages.

        Args:
            request_id: The id from ``start_execution`` (``handle.request_id``).
            tools: Local tools to answer ``waiting_callback`` with (default: the tools bound
                to this model).
            config: A ``RunnableConfig`` (callbacks, tags...).
            **kwargs: ``durable_poll_initial``, ``durable_poll_max``, ``durable_timeout``.

        Returns:
            The final ``AIMessage`` (usage, ``response_metadata["request_id"]``,
            ``["tool_executions"]``, ``["local_tool_calls"]``).

        Raises:
            QuantModelExecutionFailedError: The execution failed.
            QuantModelExecutionTimeoutError: It did not finish within ``durable_timeout``.
            QuantLocalToolMissingError: It waits for a tool that is not available locally.
        """
        target = self._with_tools(tools) if tools is not None else self
        return target.invoke([], config, **{RESUME_KWARG: request_id, **kwargs})

    async def aresume_execution(
        self,
        request_id: str,
        *,
        tools: Sequence[BaseTool | Callable[..., Any]] | None = None,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Async twin of :meth:`resume_execution` (async tools run concurrently)."""
        target = self._with_tools(tools) if tools is not None else self
        return await target.ainvoke([], config, **{RESUME_KWARG: request_id, **kwargs})


def as_chunk(message: AIMessage) -> AIMessageChunk:
    """The final message of a durable call as the one (last) chunk of a stream."""
    return AIMessageChunk(
        content=message.content,
        usage_metadata=message.usage_metadata,
        response_metadata=message.response_metadata,
        chunk_position="last",
    )
