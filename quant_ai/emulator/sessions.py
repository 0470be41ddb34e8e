"""Server-side conversations of the emulator: in memory, expiring on an injectable clock.

A session lives ``expirationMinutes`` (default 60) from its creation or last extension,
measured on :attr:`SessionStore.clock` (``time.time`` unless a test replaces it). Once
expired it is gone: every read, write or chat that names it answers 404, as a deleted one.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

__all__ = ["SessionRecord", "SessionStore", "iso"]

DEFAULT_EXPIRATION_MINUTES = 60


def iso(seconds: float) -> str:
    """An RFC 3339 UTC timestamp (``2026-01-01T00:00:00Z``)."""
    return (
        datetime.fromtimestamp(seconds, tz=timezone.utc)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


@dataclass
class SessionRecord:
    """One session."""

    session_id: str
    user_id: str
    created: float
    expires: float
    updated: float
    group: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    messages: list[dict[str, str]] = field(default_factory=list)
    status: str = "active"
    model: str = ""
    tokens: int = 0

    @property
    def title(self) -> str:
        """The first user turn, shortened (what a dashboard would show)."""
        first = next((m["content"] for m in self.messages if m["role"] == "user"), "")
        return first[:60] or "New conversation"

    def detail(self) -> dict[str, Any]:
        """The ``getAISession`` 200 body."""
        return {
            "id": self.session_id,
            "title": self.title,
            "model": self.model,
            "messages": [dict(m) for m in self.messages],
            "created_at": iso(self.created),
        }

    def summary(self) -> dict[str, Any]:
        """One item of the ``listAISessions`` 200 body."""
        return {
            "id": self.session_id,
            "title": self.title,
            "model": self.model,
            "created_at": iso(self.created),
            "updated_at": iso(self.updated),
        }


class SessionStore:
    """All sessions of one emulator (thread-safe).

    Attributes:
        clock: Seconds since the epoch; replace it in tests to make sessions expire.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, SessionRecord] = {}
        self.clock: Callable[[], float] = time.time

    def clear(self) -> None:
        """Forget every session."""
        with self._lock:
            self._items.clear()

    def create(
        self,
        user_id: str,
        *,
        minutes: int = DEFAULT_EXPIRATION_MINUTES,
        group: str | None = None,
        metadata: dict[str, Any] | None = None,
        messages: list[dict[str, str]] | None = None,
        model: str = "",
    ) -> SessionRecord:
        """Open a session."""
        now = self.clock()
        record = SessionRecord(
            session_id=str(uuid.uuid4()),
            user_id=user_id,
            created=now,
            expires=now + minutes * 60,
            updated=now,
            group=group,
            metadata=dict(metadata or {}),
            messages=[{"role": m["role"], "content": m["content"]} for m in messages or []],
            model=model,
        )
        with self._lock:
            self._items[record.session_id] = record
        return record

    def get(self, session_id: str) -> SessionRecord | None:
        """The live session, or ``None`` when unknown, deleted or expired (then forgotten)."""
        with self._lock:
            record = self._items.get(session_id)
            if record is None:
                return None
            if self.clock() >= record.expires:
                del self._items[session_id]
                return None
            return record

    def append(
        self, record: SessionRecord, messages: list[dict[str, str]], tokens: int = 0
    ) -> None:
        """Add turns (and tokens) to a session."""
        with self._lock:
            record.messages.extend({"role": m["role"], "content": m["content"]} for m in messages)
            record.tokens += tokens
            record.updated = self.clock()

    def extend(self, record: SessionRecord, minutes: int) -> None:
        """Push the expiry back by ``minutes`` from now (or from the current expiry if later)."""
        with self._lock:
            record.expires = max(record.expires, self.clock()) + minutes * 60
            record.updated = self.clock()

    def delete(self, session_id: str) -> bool:
        """Delete a session; ``False`` when there was none (or it had expired)."""
        if self.get(session_id) is None:
            return False
        with self._lock:
            return self._items.pop(session_id, None) is not None

    def list(
        self, user_id: str | None, group: str | None, model: str | None
    ) -> list[SessionRecord]:
        """Live sessions, newest first, filtered."""
        now = self.clock()
        with self._lock:
            items = [r for r in self._items.values() if r.expires > now]
        items = [
            r
            for r in items
            if (user_id is None or r.user_id == user_id)
            and (group is None or r.group == group)
            and (model is None or r.model == model)
        ]
        return sorted(items, key=lambda r: r.created, reverse=True)
