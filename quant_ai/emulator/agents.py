"""Hosted agents of the emulator: defined in settings or created through the API.

An agent answers with the emulated model (:mod:`quant_ai.emulator.engine`) given:

* its system prompt (plus the request's ``system``, appended);
* the session's earlier turns, then the new message;
* its allowed built-in tools (``get_weather``, ``calculate``, ``search_web``,
  ``generate_image``), executed server-side;
* passages from its allowed collections (or the request's narrower list), put into the system
  prompt as ``Context:`` so the model answers from them. The passages come from
  :attr:`AgentStore.collection_search` (``(organisation, collection id, query, limit) ->
  texts``), the hook
  the emulator's vector database plugs into; without it no context is added.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from quant_ai.emulator.engine import BUILTIN_TOOLS, RequestError
from quant_ai.emulator.native import chat_model
from quant_ai.emulator.sessions import iso

__all__ = ["DEFAULT_AGENTS", "AgentStore", "CollectionSearch", "agent_chat_body"]

CollectionSearch = Callable[[str, str, str, int], Sequence[str]]
"""``(organisation, collection id, query, limit) -> passage texts``: the vector-db hook of
agent chats (the organisation is the path segment of the request)."""

_CREATED = 1767225600.0  # 2026-01-01T00:00:00Z: fixed, so answers do not change between runs

DEFAULT_AGENTS: tuple[Mapping[str, Any], ...] = (
    {
        "agentId": str(uuid.uuid5(uuid.NAMESPACE_URL, "quant-ai-emulator/agents/support")),
        "name": "Support assistant",
        "description": "Answers questions, checks the weather and does arithmetic.",
        "systemPrompt": "You are a concise, helpful support assistant.",
        "modelId": "amazon.nova-lite-v1:0",
        "temperature": 0.2,
        "maxTokens": 1024,
        "allowedTools": ["get_weather", "calculate"],
        "allowedCollections": [],
        "group": "support",
    },
)
"""The agents an emulator starts with unless its settings name others (``agents=``)."""

_FIELDS = (
    "name",
    "description",
    "systemPrompt",
    "modelId",
    "temperature",
    "maxTokens",
    "allowedTools",
    "allowedCollections",
    "assignedSkills",
    "filterPolicies",
    "group",
    "guardrailPreset",
    "longContext",
    "createdBy",
)
_LIST_FIELDS = (
    "agentId",
    "name",
    "description",
    "modelId",
    "temperature",
    "maxTokens",
    "allowedTools",
    "assignedSkills",
    "group",
    "guardrailPreset",
    "longContext",
    "isGlobal",
    "hasOverlay",
    "createdAt",
    "updatedAt",
)


def _check(body: Mapping[str, Any]) -> None:
    if "modelId" in body:
        chat_model(body["modelId"])
    for i, name in enumerate(body.get("allowedTools") or []):
        if name not in BUILTIN_TOOLS:
            raise RequestError(
                f"allowedTools.{i}",
                f"unknown built-in tool {name!r}; use {', '.join(sorted(BUILTIN_TOOLS))}",
            )


class AgentStore:
    """All agents of one emulator (thread-safe).

    Args:
        agents: The initial agents (spec field names; ``agentId`` optional).
    """

    def __init__(self, agents: Sequence[Mapping[str, Any]] | None = None) -> None:
        self._lock = threading.Lock()
        self._initial = list(DEFAULT_AGENTS if agents is None else agents)
        self._items: dict[str, dict[str, Any]] = {}
        self.collection_search: CollectionSearch | None = None
        self.reset()

    def reset(self) -> None:
        """Back to the initial agents."""
        with self._lock:
            self._items.clear()
        for spec in self._initial:
            self.create(spec, created=_CREATED)

    def create(self, body: Mapping[str, Any], *, created: float | None = None) -> dict[str, Any]:
        """Add an agent; return its record.

        Raises:
            RequestError: For an unknown model or tool.
        """
        _check(body)
        import time

        stamp = iso(created if created is not None else time.time())
        agent_id = str(body.get("agentId") or uuid.uuid4())
        record: dict[str, Any] = {
            "agentId": agent_id,
            "allowedTools": [],
            "allowedCollections": [],
            "assignedSkills": [],
            "isGlobal": False,
            "hasOverlay": False,
            "longContext": False,
            "createdBy": "emulator",
            **{k: body[k] for k in _FIELDS if k in body and body[k] is not None},
            "createdAt": stamp,
            "updatedAt": stamp,
        }
        with self._lock:
            self._items[agent_id] = record
        return dict(record)

    def get(self, agent_id: str) -> dict[str, Any] | None:
        """The agent, or ``None``."""
        with self._lock:
            record = self._items.get(agent_id)
            return dict(record) if record is not None else None

    def update(self, agent_id: str, body: Mapping[str, Any]) -> dict[str, Any] | None:
        """Change an agent's fields; ``None`` when unknown."""
        _check(body)
        import time

        with self._lock:
            record = self._items.get(agent_id)
            if record is None:
                return None
            record.update({k: body[k] for k in _FIELDS if k in body})
            record["updatedAt"] = iso(time.time())
            return dict(record)

    def delete(self, agent_id: str) -> bool:
        """Remove an agent."""
        with self._lock:
            return self._items.pop(agent_id, None) is not None

    def listing(self) -> list[dict[str, Any]]:
        """The ``listAIAgents`` items."""
        with self._lock:
            items = list(self._items.values())
        return [{k: a[k] for k in _LIST_FIELDS if k in a} for a in items]

    def context(
        self, org: str, collections: Sequence[str], query: str, limit: int = 3
    ) -> list[str]:
        """Passages from the collections for a question (empty without a search hook)."""
        search = self.collection_search
        if search is None or not collections:
            return []
        passages: list[str] = []
        for collection in collections:
            passages.extend(search(org, collection, query, limit))
        return passages


def _collections(agent: Mapping[str, Any], body: Mapping[str, Any]) -> list[str]:
    own = list(agent.get("allowedCollections") or [])
    asked = body.get("allowedCollections")
    if asked is None:
        return own
    for i, name in enumerate(asked):
        if own and name not in own:
            raise RequestError(
                f"allowedCollections.{i}",
                f"collection {name!r} is not in this agent's allowedCollections",
            )
    return list(asked)


def agent_chat_body(
    agent: Mapping[str, Any],
    history: Sequence[Mapping[str, str]],
    body: Mapping[str, Any],
    store: AgentStore,
    org: str = "",
) -> dict[str, Any]:
    """The native chat body an agent turn amounts to (what the emulated model answers).

    Raises:
        RequestError: For a collection outside the agent's allow-list.
    """
    message = str(body["message"])
    system = "\n".join(s for s in (agent.get("systemPrompt"), body.get("system")) if s)
    passages = store.context(org, _collections(agent, body), message)
    if passages:
        system += "\nContext:\n" + "\n".join(passages)
    turns = [{"role": m["role"], "content": [{"text": m["content"]}]} for m in history]
    turns = [t for t in turns if t["role"] in ("user", "assistant")]
    system_turns = [m["content"] for m in history if m["role"] == "system"]
    if system_turns:
        system = "\n".join([system, *system_turns])
    chat: dict[str, Any] = {
        "modelId": agent.get("modelId"),
        "messages": [*turns, {"role": "user", "content": [{"text": message}]}],
    }
    if system:
        chat["systemPrompt"] = system
    tools = list(agent.get("allowedTools") or [])
    if tools:
        chat["toolConfig"] = {"autoExecute": True, "allowedTools": tools}
    if agent.get("maxTokens"):
        chat["maxTokens"] = agent["maxTokens"]
    return chat
