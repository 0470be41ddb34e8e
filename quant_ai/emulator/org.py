"""The emulator's organisation-level operations: sessions, agents, usage and spend.

:class:`OrgState` holds the sessions (:mod:`.sessions`), agents (:mod:`.agents`) and spend
ledger (:mod:`.spend`) of one server (``EmulatorState.org``); :func:`org_response` answers one
of :data:`ORG_ROUTES`, registered in :mod:`.org_routes` (request bodies are validated against
the spec before a handler runs, as for every native operation).
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from starlette.responses import JSONResponse, Response

from quant_ai.emulator.agents import AgentStore, agent_chat_body
from quant_ai.emulator.engine import ChatOutcome, RequestError, respond
from quant_ai.emulator.native import chat_request_from_native
from quant_ai.emulator.sessions import SessionRecord, SessionStore, iso
from quant_ai.emulator.spend import EMULATOR_USER, SpendLedger
from quant_ai.emulator.sse import EventStream, chunk_text, frame

if TYPE_CHECKING:
    from quant_ai.emulator.config import EmulatorConfig
    from quant_ai.emulator.executions import Execution, ExecutionStore

__all__ = ["ORG_ROUTES", "OrgState", "org_response"]

ORG_ROUTES: dict[str, str] = {
    "createAISession": "sessions",
    "listAISessions": "sessions",
    "getAISession": "sessions",
    "updateAISession": "sessions",
    "extendAISession": "sessions",
    "deleteAISession": "sessions",
    "listAIAgents": "agents",
    "getAIAgent": "agents",
    "createAIAgent": "agents",
    "updateAIAgent": "agents",
    "deleteAIAgent": "agents",
    "chatWithAIAgent": "agent_chat",
    "getMyUsage": "usage",
    "getGovernanceSpend": "usage",
}
"""Operation id -> route name (for faults and latency settings) of the served operations."""

_SESSION_GONE = "Session not found or expired"


def _json(status: int, body: Any) -> Response:
    return JSONResponse(body, status_code=status)


def _stop_reason(outcome: ChatOutcome) -> str:
    return {"stop": "end_turn", "length": "max_tokens"}.get(
        outcome.finish_reason, outcome.finish_reason
    )


class OrgState:
    """Sessions, agents and spend of one emulator.

    Args:
        config: The server's settings (initial agents, budgets).
        executions: The durable executions (agent ``async: true`` chats run there).
    """

    def __init__(self, config: EmulatorConfig, executions: ExecutionStore) -> None:
        self.config = config
        self.sessions = SessionStore()
        self.agents = AgentStore(config.agents)
        self.spend = SpendLedger(config.monthly_budget_cents, config.daily_budget_cents)
        self.executions = executions
        self._agent_runs: dict[str, tuple[str, str]] = {}
        executions.on_complete.append(self._completed)

    def reset(self) -> None:
        """Forget sessions, spend and created agents."""
        self.sessions.clear()
        self.agents.reset()
        self.spend.reset()
        self._agent_runs.clear()

    def charge(self, outcome: ChatOutcome) -> None:
        """Add an answer's ``costCents`` to the spend totals."""
        self.spend.add(outcome.cost_cents)

    def _completed(self, execution: Execution) -> None:
        if execution.outcome is None:
            return
        self.charge(execution.outcome)
        run = self._agent_runs.pop(execution.request_id, None)
        if run is None:
            return
        session_id, message = run
        record = self.sessions.get(session_id)
        if record is not None:
            turns = [
                {"role": "user", "content": message},
                {"role": "assistant", "content": execution.outcome.text},
            ]
            self.sessions.append(record, turns, execution.outcome.total_tokens)

    # ------------------------------------------------------------------ agent chat

    def _session_for(self, body: dict[str, Any], agent: dict[str, Any]) -> SessionRecord | None:
        session_id = body.get("sessionId")
        if session_id:
            return self.sessions.get(str(session_id))
        return self.sessions.create(
            str(body.get("userId") or EMULATOR_USER), model=str(agent.get("modelId") or "")
        )

    def agent_chat(self, agent_id: str, ctx: Any, wild: bool) -> Response:
        """``POST /ai/agents/{id}/chat``: answer, start a durable run, or stream."""
        body: dict[str, Any] = ctx.body
        agent = self.agents.get(agent_id)
        if agent is None:
            return _json(404, {"message": "Agent not found", "code": "AGENT_NOT_FOUND"})
        record = self._session_for(body, agent)
        if record is None:
            return _json(404, {"message": _SESSION_GONE, "code": "SESSION_NOT_FOUND"})
        chat = agent_chat_body(agent, record.messages, body, self.agents, _org_of(ctx))
        chat["sessionId"] = record.session_id
        if body.get("async"):
            accepted = self.executions.create(chat)
            self._agent_runs[accepted["requestId"]] = (record.session_id, str(body["message"]))
            return _json(
                202,
                {**accepted, "agentId": agent_id, "agentName": agent.get("name", "")},
            )
        outcome = respond(chat_request_from_native(chat))
        self.charge(outcome)
        turns = [
            {"role": "user", "content": str(body["message"])},
            {"role": "assistant", "content": outcome.text},
        ]
        self.sessions.append(record, turns, outcome.total_tokens)
        if body.get("stream"):
            return EventStream(self._frames(outcome, agent, record, ctx.raw, wild))
        return _json(
            200,
            {
                "sessionId": record.session_id,
                "response": {
                    "text": outcome.text,
                    "stopReason": _stop_reason(outcome),
                    "usage": outcome.usage(),
                    "toolResults": [dict(e) for e in outcome.executions],
                },
            },
        )

    @staticmethod
    def _frames(
        outcome: ChatOutcome,
        agent: dict[str, Any],
        record: SessionRecord,
        raw: bytes,
        wild: bool,
    ) -> list[bytes]:
        """The agent stream, in the chat stream's event catalogue (the spec has none)."""
        request_id = "req-" + hashlib.sha256(raw).hexdigest()[:20]
        events: list[tuple[str, dict[str, Any]]] = [
            ("start", {"requestId": request_id, "model": agent.get("modelId"), "streaming": True}),
            ("session", {"sessionId": record.session_id}),
        ]
        for ex in outcome.executions:
            events.append(
                ("tool_start", {"name": ex["name"], "toolUseId": ex["toolUseId"]}),
            )
            events.append(
                (
                    "tool_complete",
                    {"name": ex["name"], "toolUseId": ex["toolUseId"], "result": ex["result"]},
                )
            )
        for delta in chunk_text(outcome.text, "word"):
            events.append(("content", {"delta": delta, "complete": False}))
        events.append(
            (
                "done",
                {
                    "complete": True,
                    "finishReason": outcome.finish_reason,
                    "stopReason": _stop_reason(outcome),
                    "sessionId": record.session_id,
                    "usage": outcome.usage(),
                },
            )
        )
        return [frame(i, name, data, wild) for i, (name, data) in enumerate(events)]


def _org_of(ctx: Any) -> str:
    """The organisation path segment of a native request."""
    found = getattr(ctx, "org", None)
    if found:
        return str(found)
    parts = ctx.request.url.path.split("/")
    return unquote(parts[4]) if len(parts) > 4 else ""


def _int_param(ctx: Any, name: str, lo: int, hi: int | None) -> int | None:
    value = ctx.request.query_params.get(name)
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise RequestError(name, "must be an integer") from None
    if number < lo or (hi is not None and number > hi):
        raise RequestError(name, f"must be from {lo} to {hi}" if hi else f"must be >= {lo}")
    return number


def org_response(org: OrgState, op: str, target: str, ctx: Any) -> Response:
    """Answer ``op`` (one of :data:`ORG_ROUTES`); ``target`` is the session or agent id.

    ``ctx`` needs ``body``, ``raw``, ``request`` and ``wild(config)`` (the emulator's ``Ctx``).
    """
    body: dict[str, Any] = ctx.body if isinstance(ctx.body, dict) else {}
    if op == "createAISession":
        created = org.sessions.create(
            str(body["userId"]),
            minutes=int(body.get("expirationMinutes", 60)),
            group=body.get("sessionGroup"),
            metadata=body.get("metadata"),
            messages=body.get("initialMessages"),
        )
        return _json(
            201,
            {
                "sessionId": created.session_id,
                "status": "active",
                "expiresAt": iso(created.expires),
                "createdAt": iso(created.created),
            },
        )
    if op == "listAISessions":
        limit = _int_param(ctx, "limit", 1, 100) or 20
        offset = _int_param(ctx, "offset", 0, None) or 0
        q = ctx.request.query_params
        items = org.sessions.list(q.get("userId"), q.get("sessionGroup"), q.get("model"))
        return _json(200, [r.summary() for r in items[offset : offset + limit]])
    if op in ("getAISession", "updateAISession", "extendAISession", "deleteAISession"):
        record = org.sessions.get(target)
        if record is None:
            return _json(404, {"message": _SESSION_GONE, "code": "SESSION_NOT_FOUND"})
        if op == "getAISession":
            return _json(200, record.detail())
        if op == "deleteAISession":
            org.sessions.delete(target)
            return _json(200, {"message": "Session deleted"})
        if op == "extendAISession":
            org.sessions.extend(record, int(body.get("additionalMinutes", 60)))
            return _json(
                200,
                {
                    "sessionId": record.session_id,
                    "expiresAt": iso(record.expires),
                    "message": "Session extended",
                },
            )
        org.sessions.append(record, body.get("newMessages") or [], body.get("tokensUsed", 0))
        if body.get("status"):
            record.status = body["status"]
        if body.get("metadata") is not None:
            record.metadata.update(body["metadata"])
        return _json(
            200,
            {
                "sessionId": record.session_id,
                "status": record.status,
                "totalMessages": len(record.messages),
                "totalTokens": record.tokens,
                "updatedAt": iso(record.updated),
            },
        )
    if op == "listAIAgents":
        return _json(200, {"agents": org.agents.listing()})
    if op == "createAIAgent":
        agent = org.agents.create(body)
        return _json(201, {"success": True, "agent": agent, "message": "Agent created"})
    if op == "getAIAgent":
        found = org.agents.get(target)
        if found is None:
            return _json(404, {"message": "Agent not found", "code": "AGENT_NOT_FOUND"})
        return _json(200, {"agent": found})
    if op == "updateAIAgent":
        updated = org.agents.update(target, body)
        if updated is None:
            return _json(404, {"message": "Agent not found", "code": "AGENT_NOT_FOUND"})
        return _json(200, {"success": True, "agent": updated, "message": "Agent updated"})
    if op == "deleteAIAgent":
        if not org.agents.delete(target):
            return _json(404, {"message": "Agent not found", "code": "AGENT_NOT_FOUND"})
        return _json(200, {"success": True, "message": "Agent deleted"})
    if op == "chatWithAIAgent":
        return org.agent_chat(target, ctx, ctx.wild(org.config))
    if op == "getMyUsage":
        return _json(200, org.spend.my_usage())
    if op == "getGovernanceSpend":
        return _json(200, org.spend.governance())
    raise AssertionError(op)  # pragma: no cover - ORG_ROUTES lists the served ops
