"""``QuantChatMessageHistory``: a LangChain chat history kept in a Quant AI session."""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar, Literal

import pydantic
from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
)
from pydantic import ConfigDict, Field, PrivateAttr, field_validator

from langchain_quant._client import QuantConnection
from quant_ai import (
    QuantNotFoundError,
    QuantSessionWarning,
    QuantValidationError,
    SessionMessage,
    TurnParts,
    session_turns,
)
from quant_ai.sessions import EXPIRATION_MINUTES, check_session_id

__all__ = ["QuantChatMessageHistory", "QuantSessionWarning", "typed_validation_errors"]


@contextlib.contextmanager
def typed_validation_errors() -> Iterator[None]:
    """Re-raise a ``QuantValidationError`` raised by a field validator as itself.

    pydantic wraps errors raised in validators into its ``ValidationError``; the typed error
    (naming the wire field) is what callers catch.
    """
    try:
        yield
    except pydantic.ValidationError as exc:
        for error in exc.errors():
            cause = (error.get("ctx") or {}).get("error")
            if isinstance(cause, QuantValidationError):
                raise cause from None
        raise


Policy = Literal["text", "skip", "error"]


def _text(content: Any) -> tuple[str, int]:
    """The text of a message's content and how many non-text blocks it holds."""
    if isinstance(content, str):
        return content, 0
    texts: list[str] = []
    media = 0
    for block in content or []:
        if isinstance(block, str):
            texts.append(block)
        elif isinstance(block, dict) and block.get("type") == "text":
            texts.append(str(block.get("text", "")))
        else:
            media += 1
    return "".join(texts), media


def _role(message: BaseMessage) -> str:
    if isinstance(message, HumanMessage):
        return "user"
    if isinstance(message, AIMessage):
        return "assistant"
    if isinstance(message, SystemMessage):
        return "system"
    if isinstance(message, ToolMessage):
        return "tool"
    if isinstance(message, ChatMessage):
        return {"human": "user", "ai": "assistant"}.get(message.role, message.role)
    return message.type


def _parts(message: BaseMessage) -> TurnParts:
    text, media = _text(message.content)
    calls = (
        [(c["name"], c["args"]) for c in message.tool_calls]
        if isinstance(message, AIMessage)
        else []
    )
    tool_name = None
    if isinstance(message, ToolMessage):
        tool_name = message.name or message.tool_call_id
    return TurnParts(_role(message), text, calls, tool_name, media)


def to_session_turns(
    messages: Sequence[BaseMessage], *, created: bool, policy: str, start: int = 0
) -> tuple[list[SessionMessage], list[str]]:
    """LangChain messages as session turns (core rule :func:`quant_ai.session_turns`).

    Returns:
        The turns to store and the notes of what could not be kept as it was.
    """
    parts = (_parts(message) for message in messages)
    return session_turns(parts, created=created, policy=policy, start=start)


def from_session_turns(turns: Sequence[SessionMessage]) -> list[BaseMessage]:
    """Session turns as LangChain messages (user, assistant, system; others kept by role)."""
    out: list[BaseMessage] = []
    for turn in turns:
        if turn.role == "user":
            out.append(HumanMessage(content=turn.content))
        elif turn.role == "assistant":
            out.append(AIMessage(content=turn.content))
        elif turn.role == "system":
            out.append(SystemMessage(content=turn.content))
        else:
            out.append(ChatMessage(role=turn.role, content=turn.content))
    return out


class QuantChatMessageHistory(QuantConnection, BaseChatMessageHistory):
    """A chat history kept server-side in a Quant AI session (``/ai/sessions``).

    The session is created on the first write (or by :meth:`start`) and its id is then
    :attr:`session_id`: pass it to a new object, in this process or another, to continue the
    same conversation. :meth:`clear` deletes the session; the next write starts a new one (a
    cleared history is a new session, so its id changes).

    What a session cannot keep: a session stores ``user`` and ``assistant`` text turns
    (``system`` ones only among the turns it is created with). Tool calls, tool results
    (``ToolMessage``), media blocks and message ids have no place there. ``on_unsupported``
    decides:

    * ``"text"`` (default): kept as text, with a :class:`QuantSessionWarning` saying what
      changed: a ``ToolMessage`` becomes a user turn ``[tool result (name)] ...``, an
      ``AIMessage``'s tool calls become ``[tool call] name({...})`` lines of its text, media
      become ``[N media block(s) not stored]``, a later ``SystemMessage`` becomes a user turn
      ``[system] ...``. Read back, they are plain ``HumanMessage`` / ``AIMessage`` text.
    * ``"skip"``: such messages are not stored (with a warning naming them).
    * ``"error"``: ``QuantValidationError`` naming the message, before anything is sent.

    Message ids are not kept: messages read back have no ``id``.

    Setup:
        ```bash
        pip install "quant-ai[langchain]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="my-org"
        ```

    Key init args:
        session_id (str | None): A session to continue (a UUID); ``None`` starts one lazily.
        user_id (str): The end user the session belongs to (the API requires one).
        expiration_minutes (int | None): Lifetime of a new session, 5 to 1440 (service
            default 60).
        session_group (str | None): Group name of a new session.
        on_unsupported ("text" | "skip" | "error"): What to do with what a session cannot
            keep (above).
        api_key, organization, base_url, timeout, max_retries, default_headers, client...:
            the connection settings shared by every ``langchain_quant`` class.

    Instantiate:
        ```python
        from langchain_quant import QuantChatMessageHistory

        history = QuantChatMessageHistory(user_id="ada", expiration_minutes=120)
        ```

    Use:
        ```python
        history.add_user_message("Hi, I'm Ada.")
        history.add_ai_message("Hello Ada!")
        history.session_id  # the session it created
        history.messages  # read back from the service
        ```

    With RunnableWithMessageHistory:
        ```python
        from langchain_core.runnables.history import RunnableWithMessageHistory

        chain = RunnableWithMessageHistory(
            ChatQuant(), lambda sid: QuantChatMessageHistory(sid, user_id="ada")
        )
        sid = QuantChatMessageHistory(user_id="ada").start()
        chain.invoke("Hi!", config={"configurable": {"session_id": sid}})
        ```

    Async:
        ``aget_messages``, ``aadd_messages``, ``aclear`` and ``astart`` use the core's async
        client; nothing runs in a thread pool.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, extra="forbid")

    # ``messages`` is the property below, not a pydantic field (the base class annotates it).
    messages: ClassVar[Any]  # type: ignore[misc,unused-ignore]

    session_id: str | None = None
    """The session (a UUID), or ``None`` until the first write."""
    user_id: str = "langchain"
    """The end user the session belongs to."""
    expiration_minutes: int | None = Field(default=None)
    """Lifetime of a new session in minutes (5 to 1440)."""
    session_group: str | None = None
    """Group name of a new session."""
    on_unsupported: Policy = "text"
    """What to do with tool messages, tool calls, media and late system messages."""

    _created_here: bool = PrivateAttr(default=False)

    def __init__(self, session_id: str | None = None, /, **kwargs: Any) -> None:
        if session_id is not None:
            kwargs["session_id"] = session_id
        with typed_validation_errors():
            super().__init__(**kwargs)

    @field_validator("session_id")
    @classmethod
    def _uuid(cls, value: str | None) -> str | None:
        return check_session_id(value, "session_id") if value is not None else None

    @field_validator("expiration_minutes")
    @classmethod
    def _minutes(cls, value: int | None) -> int | None:
        lo, hi = EXPIRATION_MINUTES
        if value is not None and not lo <= value <= hi:
            raise QuantValidationError(
                f"expiration_minutes: {value} is out of range; use {lo} to {hi}",
                field="expirationMinutes",
            )
        return value

    @field_validator("user_id")
    @classmethod
    def _user(cls, value: str) -> str:
        if not value:
            raise QuantValidationError("user_id: must not be empty", field="userId")
        return value

    # ------------------------------------------------------------------ helpers

    def _warn(self, notes: list[str]) -> None:
        for note in notes:
            warnings.warn(note, QuantSessionWarning, stacklevel=4)

    def _create_kwargs(self) -> dict[str, Any]:
        return {
            "expiration_minutes": self.expiration_minutes,
            "session_group": self.session_group,
        }

    # ------------------------------------------------------------------ start

    def start(self) -> str:
        """Create the session now (if there is none yet) and return its id."""
        if self.session_id is None:
            created = self.quant_client.sessions.create(self.user_id, **self._create_kwargs())
            self.session_id = created.session_id
        return self.session_id

    async def astart(self) -> str:
        """Async twin of :meth:`start`."""
        if self.session_id is None:
            created = await self.quant_client.sessions.acreate(
                self.user_id, **self._create_kwargs()
            )
            self.session_id = created.session_id
        return self.session_id

    # ------------------------------------------------------------------ read

    @property  # type: ignore[no-redef]
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        """The conversation, read from the service (``[]`` before the first write).

        Raises:
            QuantNotFoundError: The session expired or was deleted.
        """
        if self.session_id is None:
            return []
        return from_session_turns(self.quant_client.sessions.get(self.session_id).messages)

    async def aget_messages(self) -> list[BaseMessage]:
        """Async twin of :attr:`messages`."""
        if self.session_id is None:
            return []
        session = await self.quant_client.sessions.aget(self.session_id)
        return from_session_turns(session.messages)

    # ------------------------------------------------------------------ write

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Store messages (one request; the first write creates the session with them)."""
        client = self.quant_client.sessions
        created = self.session_id is not None
        turns, notes = to_session_turns(messages, created=created, policy=self.on_unsupported)
        self._warn(notes)
        if not turns:
            return
        if self.session_id is None:
            session = client.create(self.user_id, initial_messages=turns, **self._create_kwargs())
            self.session_id = session.session_id
        else:
            client.update(self.session_id, new_messages=turns)

    async def aadd_messages(self, messages: Sequence[BaseMessage]) -> None:
        """Async twin of :meth:`add_messages`."""
        client = self.quant_client.sessions
        created = self.session_id is not None
        turns, notes = to_session_turns(messages, created=created, policy=self.on_unsupported)
        self._warn(notes)
        if not turns:
            return
        if self.session_id is None:
            session = await client.acreate(
                self.user_id, initial_messages=turns, **self._create_kwargs()
            )
            self.session_id = session.session_id
        else:
            await client.aupdate(self.session_id, new_messages=turns)

    def clear(self) -> None:
        """Delete the session; the next write starts a new one (``session_id`` changes)."""
        if self.session_id is not None:
            # Already expired or deleted: cleared either way.
            with contextlib.suppress(QuantNotFoundError):
                self.quant_client.sessions.delete(self.session_id)
        self.session_id = None

    async def aclear(self) -> None:
        """Async twin of :meth:`clear`."""
        if self.session_id is not None:
            with contextlib.suppress(QuantNotFoundError):
                await self.quant_client.sessions.adelete(self.session_id)
        self.session_id = None
