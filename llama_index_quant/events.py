"""LlamaIndex instrumentation events of ``QuantLLM``: durable executions and server tools.

``QuantLLM`` dispatches these with the LlamaIndex instrumentation dispatcher, so every event
handler attached to the root dispatcher (or to ``llama_index_quant``'s) sees them, with the
``span_id`` of the ``QuantLLM`` call they belong to:

* :class:`QuantExecutionStatusEvent`: a durable execution was created (``queued``) or its
  status changed (``pending``, ``running``, ``waiting_callback`` with the tools it waits for,
  ``complete``, ``failed``).
* :class:`QuantLocalToolCallEvent`: a local tool ran to answer a waiting execution.
* :class:`QuantServerToolStartEvent`, :class:`QuantServerToolCompleteEvent`,
  :class:`QuantToolInputProgressEvent`, :class:`QuantOrchestrationStatusEvent`: the
  ``tool_start``, ``tool_complete``, ``tool_input_progress`` and ``orchestration_status``
  stream events, while streaming with server-side tools.

Every class derives from :class:`QuantEvent`, so one ``isinstance`` check selects them all.

Example:
    >>> from llama_index.core.instrumentation import get_dispatcher
    >>> from llama_index.core.instrumentation.event_handlers import BaseEventHandler
    >>> class Progress(BaseEventHandler):
    ...     def handle(self, event, **kwargs):
    ...         if isinstance(event, QuantExecutionStatusEvent):
    ...             print(event.status, event.pending_tools)
    >>> get_dispatcher().add_event_handler(Progress())  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

from llama_index.core.bridge.pydantic import Field
from llama_index.core.instrumentation.events import BaseEvent

__all__ = [
    "QuantEvent",
    "QuantExecutionStatusEvent",
    "QuantLocalToolCallEvent",
    "QuantOrchestrationStatusEvent",
    "QuantServerToolCompleteEvent",
    "QuantServerToolStartEvent",
    "QuantToolInputProgressEvent",
]


class QuantEvent(BaseEvent):
    """Base of the Quant AI events.

    Attributes:
        request_id: The request (or durable execution) the event belongs to, when known.
    """

    request_id: str | None = None

    @classmethod
    def class_name(cls) -> str:
        """Name used in serialized events: the class's own name."""
        return cls.__name__


class QuantExecutionStatusEvent(QuantEvent):
    """A durable execution was created or its status changed.

    Attributes:
        status: ``queued`` (created), ``pending``, ``running``, ``waiting_callback``,
            ``complete`` or ``failed``.
        callback_id: The callback to answer, while ``waiting_callback``.
        session_id: The session the service assigned (on ``queued``).
        pending_tools: Names of the client tools the execution waits for.
        pending_tool_calls: ``{"name", "id", "args"}`` of each tool it waits for.
        error_type: ``ErrorType`` of a failed execution.
        error_message: ``ErrorMessage`` of a failed execution.
    """

    status: str
    callback_id: str | None = None
    session_id: str | None = None
    pending_tools: list[str] = Field(default_factory=list)
    pending_tool_calls: list[dict[str, Any]] = Field(default_factory=list)
    error_type: str | None = None
    error_message: str | None = None


class QuantLocalToolCallEvent(QuantEvent):
    """A local tool ran to answer a durable execution waiting for it.

    Attributes:
        callback_id: The callback its result answers.
        tool_name: The tool's name.
        tool_use_id: The service's id of the call.
        arguments: The arguments it ran with.
        output: The tool's output as text.
        is_error: True when the tool raised (the error text is sent to the model).
    """

    callback_id: str | None = None
    tool_name: str
    tool_use_id: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    output: str = ""
    is_error: bool = False


class QuantServerToolStartEvent(QuantEvent):
    """The service started running a tool (stream ``tool_start``).

    Attributes:
        name: The tool's name.
        tool_use_id: The call's id, when the service gave one.
        input: The arguments, when the service gave them.
    """

    name: str
    tool_use_id: str | None = None
    input: dict[str, Any] = Field(default_factory=dict)


class QuantServerToolCompleteEvent(QuantEvent):
    """A tool run by the service finished (stream ``tool_complete``).

    Attributes:
        name: The tool's name.
        tool_use_id: The call's id, when the service gave one.
        result: The tool's result (an object or text).
    """

    name: str
    tool_use_id: str | None = None
    result: Any = None


class QuantToolInputProgressEvent(QuantEvent):
    """The model is writing a tool's input (stream ``tool_input_progress``).

    Attributes:
        name: The tool's name.
    """

    name: str


class QuantOrchestrationStatusEvent(QuantEvent):
    """Progress of the service's tool orchestration (stream ``orchestration_status``).

    Attributes:
        message: The service's progress message.
    """

    message: str
