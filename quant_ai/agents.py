"""Hosted agents (``/ai/agents``): models, limits, ``client.agents`` and the shared agent call.

An agent is configured on the service (system prompt, model, allowed built-in tools, allowed
vector-db collections, guardrails). ``POST /ai/agents/{id}/chat`` takes one message string and
keeps the conversation in a session (the answer says which).

* ``client.agents.list()``, ``get()``, ``create()``, ``delete()``.
* ``client.agents.chat(agent_id, message, ...)``: the answer (200); ``durable=True`` sends
  ``async: true`` and waits through :meth:`~quant_ai.QuantClient.wait_for_execution`;
  ``start_chat`` returns the 202 handle only.
* ``client.agents.stream(agent_id, message, ...)``: ``stream: true``. The spec gives the agent
  stream no schema, so the events are parsed with the chat stream's event catalogue
  (docs: quant-api section 3.3: ``start``, ``session``, ``content``, tool events, ``done``);
  an answer that comes back as JSON instead is turned into the same events.
* :class:`AgentConversation`: the agent call both adapters share (it keeps the session across
  calls, runs durable mode, records usage under ``agent:<id>``).

Limits checked before sending: a non-empty ``message``, ``maxToolIterations`` 1 to 1000, a UUID
``sessionId``, the agent id as one path segment; create: ``temperature`` 0 to 1,
``maxTokens`` 1 to 200000, the ``guardrailPreset`` values of the spec.
"""

from __future__ import annotations

import builtins
import json
import threading
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import Field

from ._wire import coerce_request as _coerce
from ._wire import parse_response as _parse
from .errors import QuantError, QuantNotFoundError, QuantValidationError
from .sessions import check_session_id, session_not_found
from .types import ExecutionStatus, Usage, _Tolerant, _Wire

if TYPE_CHECKING:
    from ._sse import StreamEvent
    from .client import QuantClient

__all__ = [
    "GUARDRAIL_PRESETS",
    "Agent",
    "AgentChatAccepted",
    "AgentChatRequest",
    "AgentChatResponse",
    "AgentConversation",
    "AgentCreated",
    "AgentList",
    "AgentReply",
    "Agents",
    "CreateAgentRequest",
    "agent_usage_key",
]

GUARDRAIL_PRESETS = ("official", "official-sensitive", "protected")
MAX_TOOL_ITERATIONS = (1, 1000)


def _fail(field: str, message: str) -> QuantValidationError:
    return QuantValidationError(f"{field}: {message}", field=field)


def agent_usage_key(agent_id: str) -> str:
    """The ``by_model`` key under which an agent's usage is totalled (``agent:<id>``)."""
    return f"agent:{agent_id}"


# --------------------------------------------------------------------------- models


class Agent(_Tolerant):
    """An agent as the service describes it (list items carry fewer fields than ``get``)."""

    agent_id: str = ""
    name: str = ""
    description: str | None = None
    model_id: str | None = None
    system_prompt: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    allowed_tools: list[str] = Field(default_factory=list)
    allowed_collections: list[str] = Field(default_factory=list)
    assigned_skills: list[str] = Field(default_factory=list)
    group: str | None = None
    guardrail_preset: str | None = None
    long_context: bool | None = None
    is_global: bool | None = None
    created_at: str | None = None
    updated_at: str | None = None


class AgentList(_Tolerant):
    """``GET /ai/agents``."""

    agents: list[Agent] = Field(default_factory=list)


class AgentCreated(_Tolerant):
    """201 answer of an agent create (``agent`` is loosely typed by the spec)."""

    success: bool | None = None
    agent: Agent = Field(default_factory=Agent)
    message: str | None = None


class CreateAgentRequest(_Wire):
    """Body of ``POST /ai/agents``."""

    name: str
    description: str
    system_prompt: str
    model_id: str
    temperature: float | None = None
    max_tokens: int | None = None
    allowed_tools: list[str] | None = None
    allowed_collections: list[str] | None = None
    assigned_skills: list[str] | None = None
    filter_policies: list[str] | None = None
    group: str | None = None
    guardrail_preset: str | None = None
    long_context: bool | None = None
    created_by: str | None = None

    def validate_limits(self) -> None:
        """Check the spec's limits.

        Raises:
            QuantValidationError: Naming the field.
        """
        for name in ("name", "description", "systemPrompt", "modelId"):
            value = getattr(self, _snake(name))
            if not value:
                raise _fail(name, "is required and must not be empty")
        if self.temperature is not None and not 0 <= self.temperature <= 1:
            raise _fail("temperature", f"{self.temperature} is out of range; use 0 to 1")
        if self.max_tokens is not None and not 1 <= self.max_tokens <= 200000:
            raise _fail("maxTokens", f"{self.max_tokens} is out of range; use 1 to 200000")
        if self.guardrail_preset is not None and self.guardrail_preset not in GUARDRAIL_PRESETS:
            raise _fail(
                "guardrailPreset",
                f"{self.guardrail_preset!r}: use one of {', '.join(GUARDRAIL_PRESETS)}",
            )
        for field in ("allowed_tools", "allowed_collections"):
            if any(not item for item in getattr(self, field) or []):
                raise _fail(_camel(field), "names must not be empty")


class AgentChatRequest(_Wire):
    """Body of ``POST /ai/agents/{agentId}/chat``."""

    message: str
    session_id: str | None = None
    user_id: str | None = None
    system: str | None = None
    long_context: bool | None = None
    max_tool_iterations: int | None = None
    allowed_collections: list[str] | None = None
    stream: bool | None = None
    async_: bool | None = Field(default=None, alias="async")

    def validate_limits(self) -> None:
        """Check the spec's limits.

        Raises:
            QuantValidationError: Naming the field.
        """
        if not isinstance(self.message, str) or not self.message.strip():
            raise _fail("message", "the agent needs a non-empty message")
        if self.session_id is not None:
            check_session_id(self.session_id)
        it = self.max_tool_iterations
        if it is not None and not MAX_TOOL_ITERATIONS[0] <= it <= MAX_TOOL_ITERATIONS[1]:
            raise _fail("maxToolIterations", f"{it} is out of range; use 1 to 1000")
        if any(not c for c in self.allowed_collections or []):
            raise _fail("allowedCollections", "collection ids must not be empty")


class AgentResponseBody(_Tolerant):
    """``response`` of an agent answer."""

    text: str = ""
    stop_reason: str | None = None
    usage: Usage | None = None
    tool_results: list[dict[str, Any]] = Field(default_factory=list)


class AgentChatResponse(_Tolerant):
    """An agent's answer (200).

    Attributes:
        session_id: The session the turn was kept in (send it back to continue).
        response: ``text``, ``stop_reason``, ``usage`` (with ``cost_cents``), ``tool_results``.
    """

    session_id: str | None = None
    response: AgentResponseBody = Field(default_factory=AgentResponseBody)

    @property
    def text(self) -> str:
        """The agent's text."""
        return self.response.text

    @property
    def usage(self) -> Usage | None:
        """Tokens and cost of the turn."""
        return self.response.usage


class AgentChatAccepted(_Tolerant):
    """The 202 answer to ``async: true``: a durable execution was started."""

    request_id: str
    agent_id: str | None = None
    agent_name: str | None = None
    session_id: str | None = None
    status: str = "queued"
    message: str | None = None
    poll_url: str | None = None


def _snake(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _agent_url(client: QuantClient, agent_id: str, tail: str = "") -> str:
    from ._config import encode_path_segment

    if not isinstance(agent_id, str) or not agent_id:
        raise _fail("agentId", "an agent id is required (see client.agents.list())")
    return client.config.ai_url("/agents/" + encode_path_segment(agent_id, "agent id") + tail)


def _dump_body(request: _Wire) -> bytes:
    return json.dumps(request.to_wire(), separators=(",", ":"), ensure_ascii=False).encode()


def response_from_execution(status: ExecutionStatus, session_id: str | None) -> AgentChatResponse:
    """The agent answer equivalent to a completed durable execution."""
    result = status.result
    if result is None:
        raise QuantError(f"execution {status.request_id} has no result yet ({status.status})")
    extra = status.model_extra or {}
    return AgentChatResponse(
        session_id=session_id or extra.get("sessionId"),
        response=AgentResponseBody(
            text=result.response.content,
            stop_reason=(result.model_extra or {}).get("stopReason", "end_turn"),
            usage=result.usage,
            tool_results=[dict(item) for item in result.tool_executions],
        ),
    )


def _events_from_answer(answer: AgentChatResponse) -> list[StreamEvent]:
    from ._sse import ContentEvent, DoneEvent, SessionEvent, StartEvent

    events: list[StreamEvent] = [StartEvent(None, None)]
    if answer.session_id:
        events.append(SessionEvent(answer.session_id))
    if answer.text:
        events.append(ContentEvent(answer.text))
    events.append(
        DoneEvent(
            complete=True,
            finish_reason=answer.response.stop_reason,
            usage=answer.usage,
            tool_uses=[],
            content=None,
            orchestration=None,
        )
    )
    return events


class Agents:
    """``client.agents``: list, read, create, delete and chat with hosted agents.

    Every method has an async twin prefixed ``a``.
    """

    def __init__(self, client: QuantClient) -> None:
        self._client = client

    # ------------------------------------------------------------------ catalogue

    def list(self) -> builtins.list[Agent]:
        """The organisation's agents (``GET /ai/agents``)."""
        c = self._client
        return _parse(AgentList, c.transport.request("GET", c.config.ai_url("/agents"))).agents

    async def alist(self) -> builtins.list[Agent]:
        """Async twin of :meth:`list`."""
        c = self._client
        response = await c.transport.arequest("GET", c.config.ai_url("/agents"))
        return _parse(AgentList, response).agents

    def get(self, agent_id: str) -> Agent:
        """One agent, with its system prompt and allowed collections."""
        response = self._client.transport.request("GET", _agent_url(self._client, agent_id))
        return _unwrap_agent(_parse(AgentCreated, response))

    async def aget(self, agent_id: str) -> Agent:
        """Async twin of :meth:`get`."""
        url = _agent_url(self._client, agent_id)
        response = await self._client.transport.arequest("GET", url)
        return _unwrap_agent(_parse(AgentCreated, response))

    @staticmethod
    def _create_body(request: CreateAgentRequest | Mapping[str, Any] | None, kw: Any) -> bytes:

        req = _coerce(CreateAgentRequest, request, kw)
        req.validate_limits()
        return _dump_body(req)

    def create(
        self, request: CreateAgentRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> Agent:
        """Create an agent (``POST /ai/agents``); fields of :class:`CreateAgentRequest`."""
        body = self._create_body(request, kwargs)
        c = self._client
        response = c.transport.request(
            "POST", c.config.ai_url("/agents"), body=body, replayable=False
        )
        return _unwrap_agent(_parse(AgentCreated, response))

    async def acreate(
        self, request: CreateAgentRequest | Mapping[str, Any] | None = None, /, **kwargs: Any
    ) -> Agent:
        """Async twin of :meth:`create`."""
        body = self._create_body(request, kwargs)
        c = self._client
        response = await c.transport.arequest(
            "POST", c.config.ai_url("/agents"), body=body, replayable=False
        )
        return _unwrap_agent(_parse(AgentCreated, response))

    def delete(self, agent_id: str) -> None:
        """Delete an agent (``DELETE /ai/agents/{id}``)."""
        self._client.transport.request("DELETE", _agent_url(self._client, agent_id))

    async def adelete(self, agent_id: str) -> None:
        """Async twin of :meth:`delete`."""
        await self._client.transport.arequest("DELETE", _agent_url(self._client, agent_id))

    # ------------------------------------------------------------------ chat

    @staticmethod
    def _chat_request(message: str, kwargs: Mapping[str, Any]) -> AgentChatRequest:

        req = _coerce(AgentChatRequest, {"message": message}, kwargs)
        req.validate_limits()
        return req

    def _answer(self, agent_id: str, response: httpx.Response) -> AgentChatResponse:
        from .usage import record_usage

        if response.status_code == 202:
            accepted = _parse(AgentChatAccepted, response)
            raise QuantError(
                f"the service started durable execution {accepted.request_id} instead of "
                "answering; use chat(..., durable=True) or wait_for_execution()"
            )
        answer = _parse(AgentChatResponse, response)
        record_usage(self._client.usage, answer.usage, agent_usage_key(agent_id))
        return answer

    def _send(self, agent_id: str, req: AgentChatRequest) -> httpx.Response:
        from .usage import check_budgets

        check_budgets(self._client.usage)
        url = _agent_url(self._client, agent_id, "/chat")
        try:
            return self._client.transport.request(
                "POST", url, body=_dump_body(req), replayable=False
            )
        except QuantNotFoundError as exc:
            raise _chat_not_found(agent_id, req, exc) from None

    async def _asend(self, agent_id: str, req: AgentChatRequest) -> httpx.Response:
        from .usage import check_budgets

        check_budgets(self._client.usage)
        url = _agent_url(self._client, agent_id, "/chat")
        try:
            return await self._client.transport.arequest(
                "POST", url, body=_dump_body(req), replayable=False
            )
        except QuantNotFoundError as exc:
            raise _chat_not_found(agent_id, req, exc) from None

    def chat(
        self,
        agent_id: str,
        message: str,
        *,
        durable: bool = False,
        poll_timeout: float = 900.0,
        **kwargs: Any,
    ) -> AgentChatResponse:
        """Send one message to an agent and return its answer.

        Args:
            agent_id: The agent.
            message: The user's message.
            durable: Run as a durable execution (``async: true``) and wait for it, for long
                tasks that would outlast an HTTP request.
            poll_timeout: With ``durable``, how long to wait (seconds).
            **kwargs: ``session_id``, ``user_id``, ``system`` (appended to the agent's
                prompt), ``long_context``, ``max_tool_iterations`` (1 to 1000),
                ``allowed_collections``.

        Returns:
            The answer, with the session it was kept in.
        """
        if durable:
            accepted = self.start_chat(agent_id, message, **kwargs)
            status = self._client.wait_for_execution(accepted.request_id, timeout=poll_timeout)
            return response_from_execution(status, accepted.session_id)
        req = self._chat_request(message, kwargs)
        return self._answer(agent_id, self._send(agent_id, req))

    async def achat(
        self,
        agent_id: str,
        message: str,
        *,
        durable: bool = False,
        poll_timeout: float = 900.0,
        **kwargs: Any,
    ) -> AgentChatResponse:
        """Async twin of :meth:`chat`."""
        if durable:
            accepted = await self.astart_chat(agent_id, message, **kwargs)
            status = await self._client.await_for_execution(
                accepted.request_id, timeout=poll_timeout
            )
            return response_from_execution(status, accepted.session_id)
        req = self._chat_request(message, kwargs)
        return self._answer(agent_id, await self._asend(agent_id, req))

    def _accepted(self, agent_id: str, response: httpx.Response) -> AgentChatAccepted:
        from .errors import QuantAPIError

        if response.status_code != 202:
            raise QuantAPIError(
                "expected 202 Accepted for an async agent chat",
                status_code=response.status_code,
                body=response.text[:2000],
            )
        accepted = _parse(AgentChatAccepted, response)
        self._client._execution_models[accepted.request_id] = agent_usage_key(agent_id)
        return accepted

    def start_chat(self, agent_id: str, message: str, **kwargs: Any) -> AgentChatAccepted:
        """Start a durable agent run (``async: true``); wait with ``wait_for_execution``."""
        req = self._chat_request(message, {**kwargs, "async_": True})
        return self._accepted(agent_id, self._send(agent_id, req))

    async def astart_chat(self, agent_id: str, message: str, **kwargs: Any) -> AgentChatAccepted:
        """Async twin of :meth:`start_chat`."""
        req = self._chat_request(message, {**kwargs, "async_": True})
        return self._accepted(agent_id, await self._asend(agent_id, req))

    def stream(self, agent_id: str, message: str, **kwargs: Any) -> Iterator[StreamEvent]:
        """Stream an agent's answer (``stream: true``) as typed chat-stream events.

        The events follow the chat stream's catalogue (the spec has no schema for the agent
        stream); a ``session`` event carries the session id. Usage is recorded from ``done``.
        """
        from ._sse import DoneEvent, iter_events
        from .usage import check_budgets, record_usage

        req = self._chat_request(message, {**kwargs, "stream": True})
        check_budgets(self._client.usage)
        url = _agent_url(self._client, agent_id, "/chat")
        body = _dump_body(req)
        try:
            frames = self._client.transport.stream_frames(url, body, _head_events, replayable=False)
            for event in iter_events(frames):
                if isinstance(event, DoneEvent):
                    record_usage(self._client.usage, event.usage, agent_usage_key(agent_id))
                yield event
        except QuantNotFoundError as exc:
            raise _chat_not_found(agent_id, req, exc) from None

    async def astream(
        self, agent_id: str, message: str, **kwargs: Any
    ) -> AsyncIterator[StreamEvent]:
        """Async twin of :meth:`stream`."""
        from ._sse import DoneEvent, aiter_events
        from .usage import check_budgets, record_usage

        req = self._chat_request(message, {**kwargs, "stream": True})
        check_budgets(self._client.usage)
        url = _agent_url(self._client, agent_id, "/chat")
        body = _dump_body(req)

        frames = self._client.transport.astream_frames(url, body, _head_events, replayable=False)
        try:
            async for event in aiter_events(frames):
                if isinstance(event, DoneEvent):
                    record_usage(self._client.usage, event.usage, agent_usage_key(agent_id))
                yield event
        except QuantNotFoundError as exc:
            raise _chat_not_found(agent_id, req, exc) from None


def _head_events(response: httpx.Response) -> list[StreamEvent]:
    """Events equivalent to a non-SSE answer to an agent stream request."""
    if "text/event-stream" in response.headers.get("content-type", ""):
        return []
    return _events_from_answer(_parse(AgentChatResponse, response))


def _unwrap_agent(wrapped: AgentCreated) -> Agent:
    """The agent of a ``{"agent": {...}}`` answer, or of a bare agent object.

    The spec types the create answer loosely, so both are read.
    """
    if wrapped.agent.agent_id or "agentId" not in (wrapped.model_extra or {}):
        return wrapped.agent
    return Agent.model_validate(wrapped.model_extra)


def _chat_not_found(
    agent_id: str, req: AgentChatRequest, exc: QuantNotFoundError
) -> QuantNotFoundError:
    if req.session_id and "session" in str(exc.message).lower():
        return session_not_found(req.session_id, exc)
    return QuantNotFoundError(
        f"agent {agent_id!r} or its session was not found ({exc.message}); list the "
        "organisation's agents with client.agents.list()",
        status_code=exc.status_code,
        request_id=exc.request_id,
        body=exc.body,
        code=exc.code,
    )


# --------------------------------------------------------------------------- shared agent call


class AgentReply:
    """One agent turn as the adapters need it.

    Attributes:
        text: The agent's text.
        session_id: The session the turn was kept in.
        usage: Tokens and cost (``None`` when not reported).
        stop_reason: Why the agent stopped.
        tool_results: What the agent's server-side tools returned.
        agent_id: The agent.
        request_id: The durable execution's id, in durable mode.
    """

    def __init__(
        self,
        answer: AgentChatResponse,
        agent_id: str,
        request_id: str | None = None,
    ) -> None:
        self.text = answer.text
        self.session_id = answer.session_id
        self.usage = answer.usage
        self.stop_reason = answer.response.stop_reason
        self.tool_results = list(answer.response.tool_results)
        self.agent_id = agent_id
        self.request_id = request_id

    @property
    def cost_cents(self) -> float | None:
        """The service's ``costCents`` for the turn."""
        return self.usage.cost_cents if self.usage is not None else None


class AgentConversation:
    """A conversation with one agent, keeping its session across calls (thread-safe).

    The first call creates the session (the service names it in the answer); later calls send
    it back. ``keep_session=False`` makes every call independent (no session sent, none kept).

    Args:
        client: The client to call through.
        agent_id: The agent.
        session_id: A session to continue (a UUID), e.g. from an earlier process.
        user_id: The end user (sent as ``userId``).
        durable: Run every turn as a durable execution (``async: true``) and wait for it.
        keep_session: Keep the session across calls (default).
        system: Text appended to the agent's system prompt.
        max_tool_iterations: 1 to 1000.
        allowed_collections: Collections the agent may search (within its own allow-list).
        long_context: Ask for the long-context variant of the agent's model.
        poll_timeout: Durable mode: how long to wait for a turn, in seconds.
    """

    @staticmethod
    def check_settings(settings: object) -> None:
        """Check an adapter agent's settings (:attr:`SETTINGS`) before anything is sent.

        Raises:
            QuantValidationError: For a malformed ``session_id`` or an option out of the spec's
                limits, naming it.
        """
        session_id = getattr(settings, "session_id", None)
        if session_id is not None:
            check_session_id(session_id, "session_id")
        AgentChatRequest(
            message="-",
            system=getattr(settings, "system", None),
            max_tool_iterations=getattr(settings, "max_tool_iterations", None),
            allowed_collections=getattr(settings, "allowed_collections", None),
        ).validate_limits()

    SETTINGS = (
        "session_id",
        "user_id",
        "durable",
        "keep_session",
        "system",
        "max_tool_iterations",
        "allowed_collections",
        "long_context",
        "poll_timeout",
    )
    """The keyword arguments an adapter's agent class keeps as fields of the same names."""

    @classmethod
    def from_settings(
        cls, client: QuantClient, agent_id: str, settings: object
    ) -> AgentConversation:
        """A conversation from an object with fields named as :attr:`SETTINGS` (those it has).

        Both adapters' ``QuantAgent`` classes keep these settings as fields; this is the one
        place that hands them over.
        """
        found = {name: getattr(settings, name) for name in cls.SETTINGS if hasattr(settings, name)}
        return cls(client, agent_id, **found)

    def __init__(
        self,
        client: QuantClient,
        agent_id: str,
        *,
        session_id: str | None = None,
        user_id: str | None = None,
        durable: bool = False,
        keep_session: bool = True,
        system: str | None = None,
        max_tool_iterations: int | None = None,
        allowed_collections: Sequence[str] | None = None,
        long_context: bool | None = None,
        poll_timeout: float = 900.0,
    ) -> None:
        if not agent_id:
            raise _fail("agentId", "an agent id is required (see client.agents.list())")
        if session_id is not None:
            check_session_id(session_id)
        self.client = client
        self.agent_id = agent_id
        self.session_id = session_id
        self.user_id = user_id
        self.durable = durable
        self.keep_session = keep_session
        self.poll_timeout = poll_timeout
        self.options: dict[str, Any] = {
            k: val
            for k, val in {
                "system": system,
                "max_tool_iterations": max_tool_iterations,
                "allowed_collections": list(allowed_collections)
                if allowed_collections is not None
                else None,
                "long_context": long_context,
            }.items()
            if val is not None
        }
        # Validate the options now, not at the first call.
        AgentChatRequest(message="check", **self.options).validate_limits()
        self._lock = threading.Lock()

    def _kwargs(self, system: str | None = None) -> dict[str, Any]:
        kwargs = dict(self.options)
        if system:  # this turn's instructions go after the conversation's own
            kwargs["system"] = "\n\n".join(s for s in (kwargs.get("system"), system) if s)
        if self.user_id is not None:
            kwargs["user_id"] = self.user_id
        if self.keep_session and self.session_id is not None:
            kwargs["session_id"] = self.session_id
        return kwargs

    def _keep(self, answer: AgentChatResponse, request_id: str | None = None) -> AgentReply:
        if self.keep_session and answer.session_id:
            with self._lock:
                self.session_id = answer.session_id
        return AgentReply(answer, self.agent_id, request_id)

    def ask(self, message: str, *, system: str | None = None) -> AgentReply:
        """Send one turn; keep the session the answer names.

        Args:
            message: The user's message.
            system: Instructions for this turn only, appended to the agent's system prompt
                (after the conversation's own ``system``).
        """
        agents = self.client.agents
        if self.durable:
            accepted = agents.start_chat(self.agent_id, message, **self._kwargs(system))
            status = self.client.wait_for_execution(accepted.request_id, timeout=self.poll_timeout)
            answer = response_from_execution(status, accepted.session_id)
            return self._keep(answer, accepted.request_id)
        return self._keep(agents.chat(self.agent_id, message, **self._kwargs(system)))

    async def aask(self, message: str, *, system: str | None = None) -> AgentReply:
        """Async twin of :meth:`ask`."""
        agents = self.client.agents
        if self.durable:
            accepted = await agents.astart_chat(self.agent_id, message, **self._kwargs(system))
            status = await self.client.await_for_execution(
                accepted.request_id, timeout=self.poll_timeout
            )
            answer = response_from_execution(status, accepted.session_id)
            return self._keep(answer, accepted.request_id)
        return self._keep(await agents.achat(self.agent_id, message, **self._kwargs(system)))

    def _see(self, event: StreamEvent) -> None:
        from ._sse import SessionEvent

        if isinstance(event, SessionEvent) and self.keep_session and event.session_id:
            with self._lock:
                self.session_id = event.session_id

    def stream(self, message: str, *, system: str | None = None) -> Iterator[StreamEvent]:
        """Stream one turn's events; keep the session a ``session`` event names."""
        for event in self.client.agents.stream(self.agent_id, message, **self._kwargs(system)):
            self._see(event)
            yield event

    async def astream(
        self, message: str, *, system: str | None = None
    ) -> AsyncIterator[StreamEvent]:
        """Async twin of :meth:`stream`."""
        stream = self.client.agents.astream(self.agent_id, message, **self._kwargs(system))
        async for event in stream:
            self._see(event)
            yield event

    def reset(self) -> None:
        """Forget the session: the next call starts a new conversation."""
        with self._lock:
            self.session_id = None
