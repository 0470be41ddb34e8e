"""Durable executions for ``QuantLLM``: local tools, progress events, the final response.

A durable execution (``async: true``) runs on the service. ``QuantLLM`` polls it with the
core's backoff (:meth:`quant_ai.QuantClient.wait_for_execution`), runs the client tools it
waits for locally (``BaseTool``s such as ``FunctionTool``, the tools of a ``BaseToolSpec``,
plain functions), answers each ``callbackId`` once and turns the ``complete`` status into a
LlamaIndex ``ChatResponse``.

The waiting itself (backoff, one report per change, the missing-tool check, one answer per
``callbackId``, the record of local calls) is the core's :class:`quant_ai.ExecutionWaiter`;
this module only runs the tools the LlamaIndex way (:func:`tool_runner`) and turns the
waiter's reports into the instrumentation events of :mod:`llama_index_quant.events`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

import llama_index.core.instrumentation as instrument
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    MessageRole,
)
from llama_index.core.callbacks import CallbackManager, CBEventType, EventPayload
from llama_index.core.instrumentation.span import active_span_id
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.tools import BaseTool, FunctionTool, ToolOutput
from llama_index.core.tools.calling import acall_tool, call_tool
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from pydantic import BaseModel

from quant_ai import (
    RESUME_KWARG,
    ChatAccepted,
    ChatRequest,
    DurableOptions,
    DurableResult,
    DurableSpec,
    ExecutionStatus,
    ExecutionUpdate,
    LocalToolCall,
    OrchestrationStatusEvent,
    PendingTool,
    QuantClient,
    QuantLocalToolMissingError,
    ResumableExecution,
    StreamEvent,
    ToolCompleteEvent,
    ToolInputProgressEvent,
    ToolOutcome,
    ToolRunner,
    ToolStartEvent,
    arun_durable,
    execution_outcome,
    run_durable,
)

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
    # what DurableLLMMixin relies on: QuantLLM's fields and FunctionCallingLLM's methods
    class _LLM(DurableOptions, FunctionCallingLLM):
        model: str

else:
    _LLM = DurableOptions

__all__ = [
    "DurableExecution",
    "DurableLLMMixin",
    "QuantLocalToolMissingError",
    "ToolLike",
    "aone_chunk_stream",
    "as_messages",
    "as_tools",
    "chat_response_from_execution",
    "local_call_event",
    "one_chunk",
    "one_chunk_stream",
    "registry",
    "server_tool_event",
    "status_event",
    "tool_outcome",
    "tool_output_to_result",
    "tool_runner",
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


def tool_outcome(output: ToolOutput) -> ToolOutcome:
    """A tool's output as the core's outcome (sent as ``quant_ai.callback_result`` says).

    An error (the tool raised) is reported as failed, so ``{"error": text}`` is sent and the
    model can react, as a ``FunctionAgent`` would; a raw value that is no JSON-like data (or
    none) sends the output's text.
    """
    if output.is_error:
        return ToolOutcome(is_error=True, text=output.content)
    raw = output.raw_output
    if not isinstance(raw, (BaseModel, Mapping, str, bool, int, float, list, tuple)):
        raw = {"result": output.content or None}
    return ToolOutcome(value=raw, text=output.content)


def tool_output_to_result(output: ToolOutput) -> dict[str, Any]:
    """The callback's result object of a tool's output."""
    return tool_outcome(output).result()


# --------------------------------------------------------------------------- events


def status_event(update: ExecutionUpdate, span_id: str | None) -> QuantExecutionStatusEvent:
    """The instrumentation event of a status report of the core's waiter."""
    return QuantExecutionStatusEvent(
        request_id=update.request_id,
        session_id=update.session_id,
        status=update.status,
        callback_id=update.callback_id,
        pending_tools=list(update.pending_tools),
        pending_tool_calls=[dict(c) for c in update.pending_tool_calls],
        error_type=update.error_type,
        error_message=update.error_message,
        span_id=span_id,
    )


def local_call_event(call: LocalToolCall, span_id: str | None) -> QuantLocalToolCallEvent:
    """The instrumentation event of a local tool run."""
    return QuantLocalToolCallEvent(
        request_id=call.request_id,
        callback_id=call.callback_id,
        tool_name=call.name,
        tool_use_id=call.id,
        arguments=dict(call.args),
        output=call.output,
        is_error=call.is_error,
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
    local_calls: Sequence[LocalToolCall] = (),
) -> ChatResponse:
    """Convert a ``complete`` durable execution to the final ``ChatResponse``.

    The message holds the answer text only: the client tools that ran locally were answered
    already (they are never ``ToolCallBlock``s, which an agent would run again) and are listed
    under ``local_tool_calls``; the tools the service ran are under ``server_tool_calls``.
    Both lists, OpenAI-style usage (``prompt_tokens``, ``completion_tokens``,
    ``total_tokens``, ``cost_cents``), ``request_id``, ``model``, ``session_id`` and
    ``execution_status`` are in ``additional_kwargs``; ``raw`` is the status body with
    ``usage`` (OpenAI names), ``quant_usage`` and the same two lists.

    Args:
        status: The ``complete`` status.
        request_id: The execution's id.
        model: The model id requested.
        session_id: The execution's session, when known.
        local_calls: The tools run locally (the core waiter's record).
    """
    outcome = execution_outcome(status, request_id, local_calls)
    usage = outcome.usage
    server = [
        u.model_dump(by_alias=True, exclude_none=True, mode="json") for u in outcome.server_tools
    ]
    local = [call.as_dict() for call in local_calls]
    extra: dict[str, Any] = usage_to_openai(usage)
    extra.update(
        finish_reason="stop",
        request_id=outcome.request_id,
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
        message=ChatMessage(role=MessageRole.ASSISTANT, content=outcome.text),
        raw=raw,
        additional_kwargs=extra,
    )


# --------------------------------------------------------------------------- one wait


def tool_runner(
    tools: Mapping[str, BaseTool],
    callback_manager: CallbackManager | None,
    *,
    concurrent: bool,
) -> ToolRunner:
    """Runs the pending tools with LlamaIndex's ``call_tool`` / ``acall_tool``.

    Sync (``concurrent=False``): one after the other; async: concurrently. Each run is a
    ``FUNCTION_CALL`` event of ``callback_manager``; a tool that raises is a failed outcome
    (the model is told), as in a ``FunctionAgent``.
    """

    def start(pending: PendingTool) -> str | None:
        if callback_manager is None:
            return None
        return callback_manager.on_event_start(
            CBEventType.FUNCTION_CALL,
            payload={
                EventPayload.FUNCTION_CALL: json.dumps(pending.input, default=str),
                EventPayload.TOOL: tools[pending.name].metadata,
            },
        )

    def end(event_id: str | None, output: ToolOutput) -> ToolOutcome:
        if callback_manager is not None and event_id is not None:
            callback_manager.on_event_end(
                CBEventType.FUNCTION_CALL,
                payload={EventPayload.FUNCTION_OUTPUT: str(output)},
                event_id=event_id,
            )
        return tool_outcome(output)

    def run(pending: Sequence[PendingTool]) -> list[ToolOutcome]:
        outcomes = []
        for item in pending:
            event_id = start(item)
            outcomes.append(end(event_id, call_tool(tools[item.name], dict(item.input))))
        return outcomes

    async def arun(pending: Sequence[PendingTool]) -> list[ToolOutcome]:
        event_ids = [start(item) for item in pending]
        outputs = await asyncio.gather(
            *(acall_tool(tools[item.name], dict(item.input)) for item in pending)
        )
        return [end(e, o) for e, o in zip(event_ids, outputs, strict=True)]

    return arun if concurrent else run


def registry(tools: Iterable[BaseTool]) -> dict[str, BaseTool]:
    """The tools by their metadata name."""
    return {tool.metadata.get_name(): tool for tool in tools}


# --------------------------------------------------------------------------- handle


class DurableExecution(ResumableExecution[ChatResponse]):
    """Handle of a started durable execution (from ``QuantLLM.start_execution``).

    Store ``request_id`` (a string) to resume later, from any process, with
    ``QuantLLM(...).resume_execution(request_id, tools=[...])``; ``resume()`` waits with the
    LLM and tools that started it (kwargs: ``durable_poll_initial``, ``durable_poll_max``,
    ``durable_timeout``).
    """


# --------------------------------------------------------------------------- the mode


class DurableLLMMixin(_LLM):
    """The durable mode of ``QuantLLM``: start, wait (the core's waiter), resume."""

    if TYPE_CHECKING:

        @property
        def client(self) -> QuantClient:
            """The core client."""

        def _request(
            self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
        ) -> ChatRequest: ...

    def _durable_spec(self, kwargs: dict[str, Any], *, concurrent: bool) -> DurableSpec:
        """How this call waits: its poll settings, its tools, instrumentation events."""
        span_id = active_span_id.get()
        tools = registry(kwargs.get("quant_tools") or ())
        manager = self.callback_manager
        return DurableSpec(
            self._poll_settings(kwargs),
            tool_names=tools,
            how_to_provide="Pass them to chat_with_tools() or as tools=",
            on_update=lambda update: dispatcher.event(status_event(update, span_id)),
            on_local_call=lambda call: dispatcher.event(local_call_event(call, span_id)),
            runner=lambda _: tool_runner(tools, manager, concurrent=concurrent),
        )

    def _durable_response(self, done: DurableResult, kwargs: dict[str, Any]) -> ChatResponse:
        return chat_response_from_execution(
            done.status,
            request_id=done.waiter.request_id,
            model=str(kwargs.get("model") or self.model),
            session_id=done.session_id,
            local_calls=done.waiter.local_calls,
        )

    def _durable_start(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatRequest | str:
        resume = kwargs.get(RESUME_KWARG)
        return str(resume) if resume else self._request(messages, kwargs)

    def _durable_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponse:
        """Start (or resume) a durable execution, wait for it answering local tools, convert."""
        start = self._durable_start(messages, kwargs)
        spec = self._durable_spec(kwargs, concurrent=False)
        return self._durable_response(run_durable(self.client, start, spec), kwargs)

    async def _adurable_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponse:
        """Async twin of :meth:`_durable_chat` (the tools of one callback run concurrently)."""
        start = self._durable_start(messages, kwargs)
        spec = self._durable_spec(kwargs, concurrent=True)
        return self._durable_response(await arun_durable(self.client, start, spec), kwargs)

    def _execution_args(
        self,
        messages: str | ChatMessage | Sequence[ChatMessage],
        tools: Sequence[ToolLike] | None,
        kwargs: dict[str, Any],
    ) -> tuple[ChatRequest, list[BaseTool]]:
        history = as_messages(messages)
        local = as_tools(tools or ())
        call = dict(kwargs)
        if local:
            call.setdefault("allow_parallel_tool_calls", True)
            call = self._prepare_chat_with_tools(local, chat_history=history, **call)
            history = call.pop("messages")
        return self._request(history, call), local

    @dispatcher.span
    def start_execution(
        self,
        messages: str | ChatMessage | Sequence[ChatMessage],
        *,
        tools: Sequence[ToolLike] | None = None,
        **kwargs: Any,
    ) -> DurableExecution:
        """Start a durable execution and return its handle without waiting.

        Store ``handle.request_id`` and resume later, in this or another process, with
        ``QuantLLM(...).resume_execution(request_id, tools=[...])`` (or ``handle.resume()``).

        Args:
            messages: The conversation (a string is one user message).
            tools: The client tools the execution may ask for (``BaseTool``s, tool specs,
                functions); they are offered as for ``chat_with_tools``.
            **kwargs: ``tool_choice``, ``tool_required``, ``allow_parallel_tool_calls``
                (default True) and per-call request fields (``temperature``...).

        Returns:
            The handle (``request_id``, ``session_id``, ``model``, ``poll_url``).
        """
        request, local = self._execution_args(messages, tools, kwargs)
        return self._started(self.client.start_chat(request), request, local)

    @dispatcher.span
    async def astart_execution(
        self,
        messages: str | ChatMessage | Sequence[ChatMessage],
        *,
        tools: Sequence[ToolLike] | None = None,
        **kwargs: Any,
    ) -> DurableExecution:
        """Async twin of :meth:`start_execution`."""
        request, local = self._execution_args(messages, tools, kwargs)
        return self._started(await self.client.astart_chat(request), request, local)

    def _started(
        self, accepted: ChatAccepted, request: ChatRequest, local: Sequence[BaseTool]
    ) -> DurableExecution:
        """Report a started execution (a ``queued`` event) and return its handle."""
        queued = ExecutionUpdate.queued(accepted.request_id, accepted.session_id)
        dispatcher.event(status_event(queued, active_span_id.get()))
        return DurableExecution(
            accepted.request_id,
            accepted.session_id,
            request.model_id,
            accepted.poll_url,
            resumer=partial(self.resume_execution, tools=tuple(local)),
            aresumer=partial(self.aresume_execution, tools=tuple(local)),
        )

    def resume_execution(
        self,
        request_id: str,
        *,
        tools: Sequence[ToolLike] | None = None,
        **kwargs: Any,
    ) -> ChatResponse:
        """Wait for a durable execution by id, answering its client tools; return the answer.

        Works from a new ``QuantLLM`` in another process: only the id is needed. It runs as a
        ``chat`` call with no input messages, so LLM events, token counting and the
        :class:`~llama_index_quant.events.QuantExecutionStatusEvent`s are reported as usual.

        Args:
            request_id: The id from ``start_execution`` (``handle.request_id``).
            tools: The local tools to answer ``waiting_callback`` with (``BaseTool``s, tool
                specs, functions).
            **kwargs: ``durable_poll_initial``, ``durable_poll_max``, ``durable_timeout``.

        Returns:
            The final ``ChatResponse`` (usage, ``request_id``, ``server_tool_calls`` and
            ``local_tool_calls`` in ``additional_kwargs`` and ``raw``).

        Raises:
            QuantExecutionFailedError: The execution failed.
            QuantExecutionTimeoutError: It did not finish within ``durable_timeout``.
            QuantLocalToolMissingError: It waits for a tool that is not available locally.
        """
        local = as_tools(tools or ())
        response: ChatResponse = self.chat(
            [], **{**kwargs, RESUME_KWARG: request_id, "quant_tools": local}
        )
        return response

    async def aresume_execution(
        self,
        request_id: str,
        *,
        tools: Sequence[ToolLike] | None = None,
        **kwargs: Any,
    ) -> ChatResponse:
        """Async twin of :meth:`resume_execution` (the tools of one callback run concurrently)."""
        local = as_tools(tools or ())
        response: ChatResponse = await self.achat(
            [], **{**kwargs, RESUME_KWARG: request_id, "quant_tools": local}
        )
        return response


def one_chunk(response: ChatResponse) -> ChatResponse:
    """The final response of a durable call as the single chunk of a stream."""
    return ChatResponse(
        message=response.message,
        delta=response.message.content or "",
        raw=response.raw,
        additional_kwargs=response.additional_kwargs,
    )


def one_chunk_stream(response: ChatResponse) -> ChatResponseGen:
    """A durable call's final response as a stream of one chunk."""
    yield one_chunk(response)


async def aone_chunk_stream(response: ChatResponse) -> ChatResponseAsyncGen:
    """Async twin of :func:`one_chunk_stream`."""
    yield one_chunk(response)


def as_messages(messages: str | ChatMessage | Sequence[ChatMessage]) -> list[ChatMessage]:
    """A conversation as a list of messages (a string is one user message)."""
    if isinstance(messages, str):
        return [ChatMessage(role=MessageRole.USER, content=messages)]
    if isinstance(messages, ChatMessage):
        return [messages]
    return list(messages)
