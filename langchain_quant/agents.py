"""``QuantAgent``: a hosted Quant AI agent as a LangChain ``Runnable``."""

from __future__ import annotations

import builtins
import re
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForChainRun, CallbackManagerForChainRun
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    convert_to_messages,
)
from langchain_core.prompt_values import PromptValue
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from langchain_core.tools import BaseTool, StructuredTool
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from langchain_quant._client import QuantConnection
from langchain_quant._convert import response_metadata, usage_to_metadata
from langchain_quant.chat_history import typed_validation_errors
from quant_ai import (
    Agent,
    AgentConversation,
    AgentReply,
    ContentEvent,
    DoneEvent,
    QuantValidationError,
    SessionEvent,
    StartEvent,
)
from quant_ai.sessions import check_session_id

__all__ = ["AgentQuestion", "QuantAgent"]


class AgentQuestion(BaseModel):
    """The one input of an agent used as a tool."""

    question: str = Field(description="The question or task for the agent, in full sentences.")


def _text_of(message: BaseMessage) -> str:
    if isinstance(message.content, str):
        return message.content
    texts = []
    for block in message.content:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        else:
            kind = block.get("type") if isinstance(block, dict) else type(block).__name__
            raise QuantValidationError(
                f"message: an agent takes text only; this message holds a {kind} block",
                field="message",
            )
    return "".join(texts)


def _question(value: Any) -> tuple[str, str | None]:
    """The message an agent turn sends, and this turn's system instructions.

    Accepts a string, a ``HumanMessage``, ``{"question": ...}`` (or ``{"input": ...}``), or a
    prompt's messages (a ``PromptValue`` or a list): their system messages become the turn's
    ``system`` (appended to the agent's prompt) and exactly one user message is the question.
    Earlier assistant or tool turns are refused: the agent keeps the conversation itself.
    """
    if isinstance(value, str):
        return value, None
    if isinstance(value, PromptValue):
        value = value.to_messages()
    if isinstance(value, dict):
        keys = set(value) - {"question", "input"}
        if keys or len(value) != 1:
            raise QuantValidationError(
                "message: pass a string, a message or {'question': ...} (got keys "
                f"{sorted(value)})",
                field="message",
            )
        return _question(next(iter(value.values())))
    if isinstance(value, BaseMessage):
        value = [value]
    if isinstance(value, Sequence):
        messages = convert_to_messages(value)
        system = [_text_of(m) for m in messages if isinstance(m, SystemMessage)]
        others = [m for m in messages if not isinstance(m, SystemMessage)]
        if len(others) != 1 or not isinstance(others[0], HumanMessage):
            raise QuantValidationError(
                "message: an agent takes one user message per turn (it keeps the conversation "
                "in its session); pass the last user message only",
                field="message",
            )
        return _text_of(others[0]), "\n\n".join(system) or None
    raise QuantValidationError(
        f"message: expected a string or a message, got {type(value).__name__}", field="message"
    )


def reply_to_message(reply: AgentReply) -> AIMessage:
    """An agent turn as an ``AIMessage`` (usage, ``cost_cents`` and the session kept)."""
    meta = response_metadata(
        model=None, finish_reason=reply.stop_reason, request_id=reply.request_id, usage=reply.usage
    )
    meta["agent_id"] = reply.agent_id
    meta["session_id"] = reply.session_id
    if reply.tool_results:
        meta["tool_results"] = reply.tool_results
    return AIMessage(
        content=reply.text,
        usage_metadata=usage_to_metadata(reply.usage),
        response_metadata=meta,
    )


class QuantAgent(QuantConnection, RunnableSerializable[Any, AIMessage]):
    """A hosted Quant AI agent (``/ai/agents/{id}/chat``) as a LangChain Runnable.

    The agent is configured on the service (system prompt, model, built-in tools, vector-db
    collections). It takes one message (a string, a ``HumanMessage``, ``{"question": ...}``, or
    a prompt's output: its system messages are appended to the agent's prompt for that turn and
    its one user message is the question) and returns an ``AIMessage`` with
    ``usage_metadata`` and ``response_metadata`` (``cost_cents``, ``session_id``,
    ``agent_id``, ``finish_reason``, ``tool_results``). The conversation is kept server-side:
    the first call opens a session and later calls continue it (:attr:`session_id`; pass it
    to a new object to continue in another process).

    Setup:
        ```bash
        pip install "quant-ai[langchain]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="my-org"
        ```

    Key init args:
        agent_id (str): The agent (see :meth:`list`).
        session_id (str | None): A session to continue (a UUID).
        user_id (str | None): The end user (``userId``).
        durable (bool): Run every turn as a durable execution (``async: true``) and wait for
            it: for long tasks that outlast an HTTP request.
        keep_session (bool): Keep the session across calls (default). ``False``: every call
            is independent and ``batch`` runs concurrently.
        system (str | None): Text appended to the agent's system prompt.
        max_tool_iterations (int | None): 1 to 1000.
        allowed_collections (list[str] | None): Narrow the collections the agent searches.
        poll_timeout (float): Durable mode: seconds to wait for a turn.
        api_key, organization, base_url, timeout, max_retries, client...: connection settings.

    Instantiate:
        ```python
        from langchain_quant import QuantAgent

        agent = QuantAgent(agent_id=QuantAgent.list()[0].agent_id, user_id="ada")
        ```

    Invoke:
        ```python
        agent.invoke("What's the weather in Paris?").content
        agent.invoke("And in London?")  # same session
        agent.session_id
        ```

    Stream:
        ```python
        for chunk in agent.stream("Tell me more"):
            print(chunk.content, end="")
        ```

        Streams use ``stream: true`` (the service's agent stream, parsed with the chat
        stream's event catalogue); ``durable`` applies to ``invoke`` and ``batch`` only.

    Async:
        ```python
        await agent.ainvoke("Hi")
        async for chunk in agent.astream("Hi"):
            ...
        ```

    Batch:
        With ``keep_session=True`` the inputs are turns of one conversation, sent one after
        the other (a conversation is ordered). With ``keep_session=False`` they run
        concurrently, each in a session of its own.

    As a tool:
        ```python
        tool = agent.as_tool()  # one input: question
        ```
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    agent_id: str
    """The agent."""
    session_id: str | None = None
    """The session kept across calls (set by the first answer)."""
    user_id: str | None = None
    """The end user."""
    durable: bool = False
    """Run turns as durable executions."""
    keep_session: bool = True
    """Keep the session across calls."""
    system: str | None = None
    """Appended to the agent's system prompt."""
    max_tool_iterations: int | None = None
    """1 to 1000."""
    allowed_collections: builtins.list[str] | None = None
    """Collections the agent may search (within its own allow-list)."""
    long_context: bool | None = None
    """Ask for the long-context variant of the agent's model."""
    poll_timeout: float = 900.0
    """Durable mode: seconds to wait for a turn."""
    agent_name: str | None = None
    """The agent's name (for :meth:`as_tool`)."""
    agent_description: str | None = None
    """What the agent does (for :meth:`as_tool`)."""

    _conversation: AgentConversation | None = PrivateAttr(default=None)

    def __init__(self, **kwargs: Any) -> None:
        with typed_validation_errors():
            super().__init__(**kwargs)

    @field_validator("session_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        return check_session_id(value, "session_id") if value is not None else None

    @model_validator(mode="after")
    def _limits(self) -> QuantAgent:
        """Check the agent options now, before anything is sent."""
        if not self.agent_id:
            raise QuantValidationError("agent_id: an agent id is required", field="agentId")
        AgentConversation.check_settings(self)
        return self

    def _make_conversation(self) -> AgentConversation:
        return AgentConversation.from_settings(self.quant_client, self.agent_id, self)

    @property
    def conversation(self) -> AgentConversation:
        """The core conversation (created on first use)."""
        if self._conversation is None:
            self._conversation = self._make_conversation()
        conv = self._conversation
        conv.session_id = self.session_id if self.keep_session else None
        return conv

    def _unpicklable(self) -> dict[str, Any]:
        return {**super()._unpicklable(), "_conversation": None}

    @classmethod
    def from_agent(cls, agent: Agent, **kwargs: Any) -> QuantAgent:
        """A ``QuantAgent`` for an agent of :meth:`list` (its name and description kept)."""
        return cls(
            agent_id=agent.agent_id,
            agent_name=agent.name or None,
            agent_description=agent.description,
            **kwargs,
        )

    @classmethod
    def list(cls, **connection: Any) -> builtins.list[Agent]:
        """The organisation's agents (``GET /ai/agents``).

        Args:
            **connection: Connection settings (``api_key``, ``organization``, ``base_url``,
                ``client``...), as for any ``langchain_quant`` class.
        """
        return QuantConnection(**connection).quant_client.agents.list()

    @classmethod
    async def alist(cls, **connection: Any) -> builtins.list[Agent]:
        """Async twin of :meth:`list`."""
        return await QuantConnection(**connection).quant_client.agents.alist()

    def reset(self) -> None:
        """Forget the session: the next call starts a new conversation."""
        self.session_id = None

    # ------------------------------------------------------------------ calls

    def _keep(self, reply: AgentReply) -> AIMessage:
        if self.keep_session and reply.session_id:
            self.session_id = reply.session_id
        return reply_to_message(reply)

    def _run(self, value: Any) -> AIMessage:
        text, system = _question(value)
        return self._keep(self.conversation.ask(text, system=system))

    async def _arun(self, value: Any) -> AIMessage:
        text, system = _question(value)
        return self._keep(await self.conversation.aask(text, system=system))

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> AIMessage:
        """Send one turn and return the agent's answer."""
        return self._call_with_config(self._run, input, config, **kwargs)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AIMessage:
        """Async twin of :meth:`invoke`."""
        return await self._acall_with_config(self._arun, input, config, **kwargs)

    def batch(
        self,
        inputs: builtins.list[Any],
        config: RunnableConfig | builtins.list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> builtins.list[AIMessage]:
        """Several turns: in order in the kept session, or concurrently without one."""
        if not self.keep_session:
            return super().batch(inputs, config, return_exceptions=return_exceptions, **kwargs)
        configs = config if isinstance(config, list) else [config] * len(inputs)
        out: builtins.list[Any] = []
        for value, cfg in zip(inputs, configs, strict=True):
            try:
                out.append(self.invoke(value, cfg, **kwargs))
            except Exception as exc:
                if not return_exceptions:
                    raise
                out.append(exc)
        return out

    async def abatch(
        self,
        inputs: builtins.list[Any],
        config: RunnableConfig | builtins.list[RunnableConfig] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> builtins.list[AIMessage]:
        """Async twin of :meth:`batch`."""
        if not self.keep_session:
            return await super().abatch(
                inputs, config, return_exceptions=return_exceptions, **kwargs
            )
        configs = config if isinstance(config, list) else [config] * len(inputs)
        out: builtins.list[Any] = []
        for value, cfg in zip(inputs, configs, strict=True):
            try:
                out.append(await self.ainvoke(value, cfg, **kwargs))
            except Exception as exc:
                if not return_exceptions:
                    raise
                out.append(exc)
        return out

    def _chunk(self, event: Any, agent_id: str) -> AIMessageChunk | None:
        if isinstance(event, SessionEvent):
            if self.keep_session:
                self.session_id = event.session_id
            return None
        if isinstance(event, ContentEvent):
            return AIMessageChunk(content=event.delta)
        if isinstance(event, DoneEvent):
            meta = response_metadata(
                model=None, finish_reason=event.finish_reason, request_id=None, usage=event.usage
            )
            meta["agent_id"] = agent_id
            meta["session_id"] = self.session_id
            return AIMessageChunk(
                content="",
                usage_metadata=usage_to_metadata(event.usage),
                response_metadata=meta,
                chunk_position="last",
            )
        if isinstance(event, StartEvent):
            return None
        return None

    def _stream_turn(
        self, inputs: Iterator[Any], run_manager: CallbackManagerForChainRun | None = None
    ) -> Iterator[AIMessageChunk]:
        values = list(inputs)
        if len(values) != 1:
            raise QuantValidationError("message: stream one message at a time", field="message")
        conv = self.conversation
        text, system = _question(values[0])
        for event in conv.stream(text, system=system):
            chunk = self._chunk(event, conv.agent_id)
            if chunk is not None:
                yield chunk

    async def _astream_turn(
        self,
        inputs: AsyncIterator[Any],
        run_manager: AsyncCallbackManagerForChainRun | None = None,
    ) -> AsyncIterator[AIMessageChunk]:
        values = [value async for value in inputs]
        if len(values) != 1:
            raise QuantValidationError("message: stream one message at a time", field="message")
        conv = self.conversation
        text, system = _question(values[0])
        async for event in conv.astream(text, system=system):
            chunk = self._chunk(event, conv.agent_id)
            if chunk is not None:
                yield chunk

    def stream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> Iterator[AIMessage]:
        """Stream one turn as ``AIMessageChunk``s (usage and cost on the last)."""
        yield from self._transform_stream_with_config(
            iter([input]), self._stream_turn, config, **kwargs
        )

    async def astream(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[AIMessage]:
        """Async twin of :meth:`stream`."""

        async def one() -> AsyncIterator[Any]:
            yield input

        async for chunk in self._atransform_stream_with_config(
            one(), self._astream_turn, config, **kwargs
        ):
            yield chunk

    # ------------------------------------------------------------------ tool

    def as_tool(  # type: ignore[override]
        self, name: str | None = None, description: str | None = None, **_: Any
    ) -> BaseTool:
        """The agent as a tool another agent can call (one input: ``question``).

        Args:
            name: Tool name (default: from the agent's name, else ``quant_agent``).
            description: What the agent does (default: its description).
        """
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", (self.agent_name or "").strip()).strip("_")
        tool_name = name or (slug[:64] if slug else "quant_agent")
        text = (
            description
            or self.agent_description
            or (
                f"Ask the hosted Quant AI agent {self.agent_id} a question; it answers in text "
                "and remembers the conversation."
            )
        )

        def ask(question: str) -> str:
            return str(self.invoke(HumanMessage(content=question)).content)

        async def aask(question: str) -> str:
            return str((await self.ainvoke(HumanMessage(content=question))).content)

        return StructuredTool.from_function(
            func=ask,
            coroutine=aask,
            name=tool_name,
            description=text,
            args_schema=AgentQuestion,
        )
