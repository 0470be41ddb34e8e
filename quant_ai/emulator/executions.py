"""Durable (async) executions: an in-memory, thread-safe state machine.

Progression is driven by status reads, so tests are fast and deterministic: each
``GET /ai/chat/executions/{id}`` shows the current state and then moves on. With
``execution_polls_per_state=1`` the reads show ``pending``, ``running``, then ``waiting_callback``
(client tools requested) or ``complete``/``failed``. After a callback the execution is
``running`` again for the same number of reads. Tool rounds follow the engine's ``then`` rule,
so two rounds of callbacks happen for ``... then ...`` requests. A user text containing
``[[fail]]`` makes the execution end ``failed``.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from quant_ai.emulator.engine import (
    ChatOutcome,
    Msg,
    ToolCall,
    ToolResult,
    respond,
)
from quant_ai.emulator.native import FAIL_MARKER, chat_request_from_native

__all__ = ["CallbackError", "Execution", "ExecutionStore"]

_AWS = {
    "pending": "PENDING",
    "running": "RUNNING",
    "waiting_callback": "RUNNING",
    "complete": "SUCCEEDED",
    "failed": "FAILED",
}


class CallbackError(Exception):
    """A callback cannot be applied; ``status`` is the HTTP status to answer."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


@dataclass
class Execution:
    """One durable chat execution."""

    request_id: str
    session_id: str
    body: dict[str, Any]
    extra: list[Msg] = field(default_factory=list)
    state: str = "pending"
    reads: int = 0
    callback_id: str | None = None
    pending: list[ToolCall] = field(default_factory=list)
    executions: list[dict[str, Any]] = field(default_factory=list)
    outcome: ChatOutcome | None = None
    error: dict[str, str] | None = None
    rounds: int = 0

    def snapshot(self) -> dict[str, Any]:
        """The ``getDurableExecutionStatus`` 200 body."""
        body: dict[str, Any] = {
            "requestId": self.request_id,
            "executionArn": "arn:aws:states:us-east-1:000000000000:execution:"
            f"quant-ai-emulator:{self.request_id.encode().hex()}",
            "status": self.state,
            "awsStatus": _AWS[self.state],
        }
        if self.state == "waiting_callback":
            body["callbackId"] = self.callback_id
            body["pendingTools"] = [
                {"name": c.name, "toolUseId": c.tool_use_id, "input": c.input} for c in self.pending
            ]
        elif self.state == "complete" and self.outcome is not None:
            body["result"] = {
                "response": {"role": "assistant", "content": self.outcome.text},
                "usage": self.outcome.usage(),
                "toolExecutions": list(self.executions),
            }
        elif self.state == "failed" and self.error is not None:
            body["error"] = dict(self.error)
        return body


class ExecutionStore:
    """All executions of one server."""

    def __init__(self, polls_per_state: int = 1) -> None:
        self.polls_per_state = polls_per_state
        self._lock = threading.Lock()
        self._items: dict[str, Execution] = {}
        self._callbacks: dict[str, str] = {}
        self._counter = 0
        self.on_complete: list[Callable[[Execution], None]] = []
        """Called once with each execution that completes (spend totals, agent sessions)."""

    def clear(self) -> None:
        """Forget every execution."""
        with self._lock:
            self._items.clear()
            self._callbacks.clear()

    def _next_id(self) -> str:
        self._counter += 1
        # The fixed prefix makes ids contain '+' and '/', the length gives '=' padding.
        raw = b"\xfb\xff\xbf" + self._counter.to_bytes(4, "big") + b"\x01"
        return base64.b64encode(raw).decode("ascii")

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        """Register an execution and return the 202 body.

        Raises:
            quant_ai.emulator.engine.RequestError: When the chat body is semantically invalid.
        """
        chat_request_from_native(body)  # validate now, answer 400 instead of a failed run
        with self._lock:
            request_id = self._next_id()
            session_id = str(body.get("sessionId") or f"session-{1769056496000 + self._counter}")
            self._items[request_id] = Execution(request_id, session_id, body)
        return {
            "requestId": request_id,
            "sessionId": session_id,
            "status": "queued",
            "message": "Execution started. Poll the status endpoint for updates.",
            "pollUrl": "/ai/chat/executions/" + quote(request_id, safe=""),
        }

    def read(self, identifier: str) -> dict[str, Any] | None:
        """Return the status of an execution and advance it, or ``None`` when unknown."""
        with self._lock:
            ex = self._items.get(identifier)
            if ex is None and identifier.startswith("arn:"):
                tail = identifier.rsplit(":", 1)[-1]
                ex = next(
                    (e for e in self._items.values() if e.request_id.encode().hex() == tail), None
                )
            if ex is None:
                return None
            while ex.state in ("pending", "running") and ex.reads >= self.polls_per_state:
                self._advance(ex)
            if ex.state in ("pending", "running"):
                ex.reads += 1
            return ex.snapshot()

    def _advance(self, ex: Execution) -> None:
        ex.reads = 0
        if ex.state == "pending":
            ex.state = "running"
            return
        request = chat_request_from_native(ex.body)
        request.messages = request.messages + ex.extra
        if any(FAIL_MARKER in m.text for m in request.messages if m.role == "user"):
            ex.state = "failed"
            ex.error = {
                "ErrorType": "EmulatedFailure",
                "ErrorMessage": f"The request contained the failure marker {FAIL_MARKER}.",
            }
            return
        outcome = respond(request)
        ex.executions.extend(outcome.executions)
        if outcome.tool_calls:
            ex.rounds += 1
            ex.state = "waiting_callback"
            ex.callback_id = f"cb-{ex.request_id.encode().hex()}-{ex.rounds}"
            ex.pending = list(outcome.tool_calls)
            self._callbacks[ex.callback_id] = ex.request_id
            ex.extra.append(Msg("assistant", texts=[outcome.text], tool_uses=ex.pending))
        else:
            ex.state = "complete"
            ex.outcome = outcome
            for listener in self.on_complete:
                listener(ex)

    def callback(self, body: dict[str, Any]) -> dict[str, Any]:
        """Apply ``chat/callback`` and return its 200 body.

        Raises:
            CallbackError: 400 for missing/mismatched results, 404 for unknown or used ids.
        """
        callback_id = body.get("callbackId")
        results = body.get("toolResults")
        if not callback_id or not isinstance(callback_id, str):
            raise CallbackError(400, "missing callbackId or toolResults", "callbackId")
        if not isinstance(results, list) or not results:
            raise CallbackError(400, "missing callbackId or toolResults", "toolResults")
        with self._lock:
            request_id = self._callbacks.get(callback_id)
            ex = self._items.get(request_id) if request_id else None
            if ex is None or ex.state != "waiting_callback" or ex.callback_id != callback_id:
                raise CallbackError(404, "Callback not found or already processed")
            wanted = {c.tool_use_id for c in ex.pending}
            given = {str(r.get("toolUseId")) for r in results}
            if given != wanted:
                missing = sorted(wanted - given)
                unknown = sorted(given - wanted)
                raise CallbackError(
                    400,
                    f"toolResults must answer every pending tool (missing {missing}, "
                    f"unknown {unknown})",
                    "toolResults",
                )
            del self._callbacks[callback_id]
            tool_results = [
                ToolResult(str(r["toolUseId"]), json.dumps(r.get("result"), sort_keys=True))
                for r in results
            ]
            ex.extra.append(Msg("user", tool_results=tool_results))
            ex.pending = []
            ex.callback_id = None
            ex.state = "running"
            ex.reads = 0
        return {
            "success": True,
            "message": "Callback submitted successfully",
            "callbackId": callback_id,
        }
