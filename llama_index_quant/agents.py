"""A hosted Quant AI agent for LlamaIndex: a tool and a query engine over one conversation."""

from __future__ import annotations

import builtins
import re
from typing import Any

import httpx
from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.tools import FunctionTool, ToolMetadata
from pydantic import Field, PrivateAttr, model_validator

from quant_ai import Agent, AgentConversation, AgentReply, QuantClient

from ._client import QuantClientMixin

__all__ = ["QuantAgent", "QuantAgentQueryEngine"]


def reply_metadata(reply: AgentReply) -> dict[str, Any]:
    """What a LlamaIndex answer carries of an agent turn (usage with OpenAI names, cost)."""
    meta: dict[str, Any] = {
        "agent_id": reply.agent_id,
        "session_id": reply.session_id,
        "stop_reason": reply.stop_reason,
        "tool_results": reply.tool_results,
    }
    if reply.request_id:
        meta["request_id"] = reply.request_id
    if reply.usage is not None:
        meta["usage"] = {
            "prompt_tokens": reply.usage.input_tokens,
            "completion_tokens": reply.usage.output_tokens,
            "total_tokens": reply.usage.total_tokens,
        }
        meta["cost_cents"] = reply.usage.cost_cents
    return meta


class QuantAgent(QuantClientMixin):
    """A hosted Quant AI agent (``/ai/agents/{id}/chat``) for LlamaIndex.

    The conversation is kept server-side: the first call opens a session, later calls continue
    it (:attr:`session_id`). Use it directly (:meth:`chat` / :meth:`achat`), as a tool of a
    ``FunctionAgent`` or ``AgentWorkflow`` (:meth:`as_tool`), or as a query engine
    (:meth:`as_query_engine`). The agent call itself is the core's ``AgentConversation``,
    shared with LangChain's ``QuantAgent``.

    Args:
        agent_id: The agent (see :meth:`list`).
        session_id: A session to continue (a UUID).
        user_id: The end user.
        durable: Run turns as durable executions (``async: true``) and wait for them.
        keep_session: Keep the session across calls (default).
        system: Text appended to the agent's system prompt.
        max_tool_iterations: 1 to 1000.
        allowed_collections: Narrow the collections the agent searches.
        name / description: For :meth:`as_tool` (default: from :meth:`list`, or generic).

    Example:
        >>> from llama_index_quant import QuantAgent
        >>> agent = QuantAgent(agent_id="...")  # doctest: +SKIP
        >>> agent.chat("What is the weather in Paris?")  # doctest: +SKIP
    """

    agent_id: str = Field(min_length=1, description="The agent.")
    session_id: str | None = Field(default=None, description="The session kept across calls.")
    user_id: str | None = Field(default=None, description="The end user.")
    durable: bool = Field(default=False, description="Run turns as durable executions.")
    keep_session: bool = Field(default=True, description="Keep the session across calls.")
    system: str | None = Field(default=None, description="Appended to the agent's prompt.")
    max_tool_iterations: int | None = Field(default=None, description="1 to 1000.")
    allowed_collections: builtins.list[str] | None = Field(
        default=None, description="Collections the agent may search."
    )
    poll_timeout: float = Field(default=900.0, gt=0, description="Durable mode: wait (s).")
    name: str | None = Field(default=None, description="Tool name.")
    description: str | None = Field(default=None, description="Tool description.")

    _conversation: AgentConversation | None = PrivateAttr(default=None)

    def __init__(
        self,
        *,
        client: QuantClient | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._init_client(client, http_client, async_http_client)

    @model_validator(mode="after")
    def _limits(self) -> QuantAgent:
        AgentConversation.check_settings(self)
        return self

    @classmethod
    def from_agent(cls, agent: Agent, **kwargs: Any) -> QuantAgent:
        """A ``QuantAgent`` for an agent of :meth:`list` (its name and description kept)."""
        return cls(
            agent_id=agent.agent_id,
            name=kwargs.pop("name", None) or agent.name or None,
            description=kwargs.pop("description", None) or agent.description,
            **kwargs,
        )

    @classmethod
    def list(cls, client: QuantClient | None = None, **connection: Any) -> builtins.list[Agent]:
        """The organisation's agents (``GET /ai/agents``)."""
        if client is not None:
            return client.agents.list()
        return cls(agent_id="-", **connection).client.agents.list()

    @property
    def conversation(self) -> AgentConversation:
        """The core conversation (created on first use)."""
        if self._conversation is None:
            self._conversation = AgentConversation.from_settings(self.client, self.agent_id, self)
        conv = self._conversation
        conv.session_id = self.session_id if self.keep_session else None
        return conv

    def _keep(self, reply: AgentReply) -> AgentReply:
        if self.keep_session and reply.session_id:
            self.session_id = reply.session_id
        return reply

    def ask(self, message: str, *, system: str | None = None) -> AgentReply:
        """One turn; the reply with text, usage and cost.

        Args:
            message: The user's message.
            system: Instructions for this turn only, appended to the agent's prompt.
        """
        return self._keep(self.conversation.ask(message, system=system))

    async def aask(self, message: str, *, system: str | None = None) -> AgentReply:
        """Async twin of :meth:`ask`."""
        return self._keep(await self.conversation.aask(message, system=system))

    def chat(self, message: str) -> str:
        """One turn; the agent's text."""
        return self.ask(message).text

    async def achat(self, message: str) -> str:
        """Async twin of :meth:`chat`."""
        return (await self.aask(message)).text

    def reset(self) -> None:
        """Forget the session: the next call starts a new conversation."""
        self.session_id = None

    def _tool_name(self) -> str:
        slug = re.sub(r"[^A-Za-z0-9_-]+", "_", (self.name or "").strip()).strip("_")
        return slug[:64] if slug else "quant_agent"

    def as_tool(self, name: str | None = None, description: str | None = None) -> FunctionTool:
        """The agent as a tool of a ``FunctionAgent`` / ``AgentWorkflow`` (input: question)."""
        text = (
            description
            or self.description
            or (
                f"Ask the hosted Quant AI agent {self.agent_id} a question; it answers in text "
                "and remembers the conversation."
            )
        )

        def ask_agent(question: str) -> str:
            """Ask the agent."""
            return self.chat(question)

        async def aask_agent(question: str) -> str:
            """Ask the agent."""
            return await self.achat(question)

        return FunctionTool.from_defaults(
            fn=ask_agent,
            async_fn=aask_agent,
            tool_metadata=ToolMetadata(
                name=name or self._tool_name(),
                description=text,
                fn_schema=_question_schema(),
            ),
        )

    def as_query_engine(self, **kwargs: Any) -> QuantAgentQueryEngine:
        """The agent as a query engine (each query is a turn of the kept conversation)."""
        return QuantAgentQueryEngine(agent=self, **kwargs)


def _question_schema() -> type:
    from pydantic import BaseModel

    class AgentQuestion(BaseModel):
        """The one input of an agent used as a tool."""

        question: str = Field(description="The question or task for the agent.")

    return AgentQuestion


class QuantAgentQueryEngine(CustomQueryEngine):
    """A query engine answering with a hosted Quant AI agent (``metadata`` has cost, session)."""

    agent: QuantAgent

    def custom_query(self, query_str: str) -> Response:
        """One agent turn."""
        reply = self.agent.ask(query_str)
        return Response(response=reply.text, metadata=reply_metadata(reply))

    async def acustom_query(self, query_str: str) -> Response:
        """Async twin of :meth:`custom_query`."""
        reply = await self.agent.aask(query_str)
        return Response(response=reply.text, metadata=reply_metadata(reply))
