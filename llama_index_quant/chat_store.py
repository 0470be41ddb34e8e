"""``QuantChatStore``: a LlamaIndex chat store over Quant AI sessions (keys are session ids)."""

from __future__ import annotations

import json
import warnings
from collections.abc import Sequence
from typing import Any, Literal

import httpx
from llama_index.core.base.llms.types import ChatMessage, MessageRole
from llama_index.core.storage.chat_store.base import BaseChatStore
from pydantic import Field, PrivateAttr

from quant_ai import (
    QuantClient,
    QuantNotFoundError,
    QuantSessionWarning,
    SessionMessage,
    TurnParts,
    session_turns,
)
from quant_ai.sessions import EXPIRATION_MINUTES, check_session_id

from ._client import QuantClientMixin

__all__ = ["QuantChatStore", "QuantSessionWarning"]


def _parts(message: ChatMessage) -> tuple[str, int, list[tuple[str, Any]]]:
    """Text, number of non-text blocks, and tool calls of a LlamaIndex message."""
    texts: list[str] = []
    media = 0
    calls: list[tuple[str, Any]] = []
    for block in message.blocks:
        kind = getattr(block, "block_type", "")
        if kind == "text":
            texts.append(str(getattr(block, "text", "")))
        elif kind == "tool_call":
            kwargs: Any = getattr(block, "tool_kwargs", None) or {}
            calls.append((str(getattr(block, "tool_name", "tool")), kwargs))
        else:
            media += 1
    for call in message.additional_kwargs.get("tool_calls") or []:
        function = call.get("function", call) if isinstance(call, dict) else {}
        args = function.get("arguments", function.get("input", {}))
        if isinstance(args, str):
            try:
                args = json.loads(args)
            except ValueError:
                args = {"value": args}
        calls.append((str(function.get("name", "tool")), args))
    return "".join(texts), media, calls


_ROLES = {
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}


def _turn_parts(message: ChatMessage) -> TurnParts:
    text, media, calls = _parts(message)
    role = _ROLES.get(message.role, str(message.role.value))
    extra = message.additional_kwargs
    return TurnParts(role, text, calls, extra.get("name") or extra.get("tool_call_id"), media)


def to_session_turns(
    messages: Sequence[ChatMessage], *, created: bool, policy: str, start: int = 0
) -> tuple[list[SessionMessage], list[str]]:
    """LlamaIndex messages as session turns (core rule :func:`quant_ai.session_turns`)."""
    parts = (_turn_parts(message) for message in messages)
    return session_turns(parts, created=created, policy=policy, start=start)


def from_session_turns(turns: Sequence[SessionMessage]) -> list[ChatMessage]:
    """Session turns as LlamaIndex messages."""
    roles = {"user": MessageRole.USER, "assistant": MessageRole.ASSISTANT}
    return [
        ChatMessage(
            role=roles.get(t.role, MessageRole.SYSTEM if t.role == "system" else MessageRole.USER),
            content=t.content,
        )
        for t in turns
    ]


def _unsupported(operation: str, reason: str) -> NotImplementedError:
    return NotImplementedError(f"QuantChatStore.{operation}: {reason}")


class QuantChatStore(QuantClientMixin, BaseChatStore):
    """A chat store whose keys are Quant AI session ids (conversations kept server-side).

    Use :meth:`create_session` for a new key (or pass an existing session id). Works as the
    store of a ``ChatMemoryBuffer``, e.g. for a ``FunctionAgent``::

        store = QuantChatStore(user_id="ada")
        key = store.create_session()
        memory = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=key)

    What a session cannot keep (tool calls, tool results, media, message ids; system turns
    after creation) follows ``on_unsupported``, the same core rule as LangChain's history:
    ``"text"`` (default) keeps it as text with a :class:`QuantSessionWarning`, ``"skip"``
    leaves it out with a warning, ``"error"`` refuses it before anything is sent.

    Unsupported operations raise ``NotImplementedError`` with the reason: a session has no
    per-message delete (``delete_message``, ``delete_last_message``) and cannot be rewritten
    (``set_messages`` with a list that does not extend the stored one). ``delete_messages``
    deletes the session. An expired or deleted session raises ``QuantNotFoundError``.

    Args:
        user_id: The end user new sessions belong to.
        expiration_minutes: Lifetime of new sessions, 5 to 1440.
        on_unsupported: ``text``, ``skip`` or ``error``.
        client / http_client / async_http_client: As for every ``llama_index_quant`` class.
    """

    user_id: str = Field(
        default="llama-index", min_length=1, description="End user of new sessions."
    )
    expiration_minutes: int | None = Field(
        default=None,
        ge=EXPIRATION_MINUTES[0],
        le=EXPIRATION_MINUTES[1],
        description="Lifetime of new sessions in minutes (5 to 1440).",
    )
    on_unsupported: Literal["text", "skip", "error"] = Field(
        default="text", description="What to do with what a session cannot keep."
    )

    _warned: bool = PrivateAttr(default=False)

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

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "QuantChatStore"

    def _warn(self, notes: list[str]) -> None:
        for note in notes:
            warnings.warn(note, QuantSessionWarning, stacklevel=4)

    # ------------------------------------------------------------------ keys

    def create_session(self) -> str:
        """Open a new session and return its id (a key of this store)."""
        created = self.client.sessions.create(
            self.user_id, expiration_minutes=self.expiration_minutes
        )
        return created.session_id

    async def acreate_session(self) -> str:
        """Async twin of :meth:`create_session`."""
        created = await self.client.sessions.acreate(
            self.user_id, expiration_minutes=self.expiration_minutes
        )
        return created.session_id

    def get_keys(self) -> list[str]:
        """The ids of the user's live sessions."""
        return [s.id for s in self.client.sessions.list(user_id=self.user_id, limit=100)]

    async def aget_keys(self) -> list[str]:
        """Async twin of :meth:`get_keys`."""
        sessions = await self.client.sessions.alist(user_id=self.user_id, limit=100)
        return [s.id for s in sessions]

    # ------------------------------------------------------------------ read

    def get_messages(self, key: str) -> list[ChatMessage]:
        """The session's messages (``QuantNotFoundError`` when it expired or was deleted)."""
        check_session_id(key, "key")
        return from_session_turns(self.client.sessions.get(key).messages)

    async def aget_messages(self, key: str) -> list[ChatMessage]:
        """Async twin of :meth:`get_messages`."""
        check_session_id(key, "key")
        return from_session_turns((await self.client.sessions.aget(key)).messages)

    # ------------------------------------------------------------------ write

    def _turns(self, messages: Sequence[ChatMessage], start: int) -> list[SessionMessage]:
        turns, notes = to_session_turns(
            messages, created=True, policy=self.on_unsupported, start=start
        )
        self._warn(notes)
        return turns

    def add_message(self, key: str, message: ChatMessage) -> None:
        """Append one message to the session."""
        check_session_id(key, "key")
        turns = self._turns([message], 0)
        if turns:
            self.client.sessions.update(key, new_messages=turns)

    async def async_add_message(self, key: str, message: ChatMessage) -> None:
        """Async twin of :meth:`add_message`."""
        check_session_id(key, "key")
        turns = self._turns([message], 0)
        if turns:
            await self.client.sessions.aupdate(key, new_messages=turns)

    def _extension(
        self, stored: list[ChatMessage], messages: Sequence[ChatMessage]
    ) -> list[SessionMessage]:
        new_turns = self._turns(messages, 0)
        old = [(m.role, m.content or "") for m in stored]
        given = [(from_session_turns([t])[0].role, t.content) for t in new_turns]
        if given[: len(old)] != old:
            raise _unsupported(
                "set_messages",
                "a session can only be extended, not rewritten: the new list must start with "
                "the stored messages (delete_messages(key) and use a new session to start over)",
            )
        return new_turns[len(old) :]

    def set_messages(self, key: str, messages: list[ChatMessage]) -> None:
        """Extend the session so it holds ``messages`` (which must start with what it holds)."""
        check_session_id(key, "key")
        extra = self._extension(self.get_messages(key), messages)
        if extra:
            self.client.sessions.update(key, new_messages=extra)

    async def aset_messages(self, key: str, messages: list[ChatMessage]) -> None:
        """Async twin of :meth:`set_messages`."""
        check_session_id(key, "key")
        extra = self._extension(await self.aget_messages(key), messages)
        if extra:
            await self.client.sessions.aupdate(key, new_messages=extra)

    def delete_messages(self, key: str) -> list[ChatMessage] | None:
        """Delete the session; return what it held (``None`` if it was already gone)."""
        check_session_id(key, "key")
        try:
            held = self.get_messages(key)
            self.client.sessions.delete(key)
        except QuantNotFoundError:
            return None
        return held

    async def adelete_messages(self, key: str) -> list[ChatMessage] | None:
        """Async twin of :meth:`delete_messages`."""
        check_session_id(key, "key")
        try:
            held = await self.aget_messages(key)
            await self.client.sessions.adelete(key)
        except QuantNotFoundError:
            return None
        return held

    def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Not supported: a session has no per-message delete."""
        raise _unsupported(
            "delete_message", "a Quant session has no per-message delete or truncation"
        )

    def delete_last_message(self, key: str) -> ChatMessage | None:
        """Not supported: a session has no per-message delete."""
        raise _unsupported(
            "delete_last_message", "a Quant session has no per-message delete or truncation"
        )

    async def adelete_message(self, key: str, idx: int) -> ChatMessage | None:
        """Not supported (see :meth:`delete_message`)."""
        return self.delete_message(key, idx)

    async def adelete_last_message(self, key: str) -> ChatMessage | None:
        """Not supported (see :meth:`delete_last_message`)."""
        return self.delete_last_message(key)
