"""Server-side conversations (``/ai/sessions``): models, limits and ``client.sessions``.

A session keeps text turns (``system`` | ``user`` | ``assistant`` when created, ``user`` |
``assistant`` when updated) for ``expirationMinutes`` (5 to 1440, default 60; ``extend`` adds 1
to 1440). It cannot keep tool calls, tool results, media or per-message ids, and it has no
per-message delete or truncation: what the adapters do with such messages is their documented
policy. An expired or deleted session answers 404 (:class:`~quant_ai.QuantNotFoundError`);
:func:`session_not_found` turns that into a message that says what happened.

Every limit of the spec is checked before anything is sent
(:class:`~quant_ai.QuantValidationError` naming the wire field). Creating a session, appending
to it and extending it change server state, so they are sent with ``replayable=False``: the
transport retries them only when they provably did not reach the service.
"""

from __future__ import annotations

import builtins
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import pydantic
from pydantic import Field, field_validator

from ._wire import parse_response as _parse
from .errors import QuantNotFoundError, QuantValidationError
from .types import _Tolerant, _Wire

if TYPE_CHECKING:
    from .client import QuantClient

__all__ = [
    "CREATE_ROLES",
    "UNSUPPORTED_POLICIES",
    "UPDATE_ROLES",
    "CreateSessionRequest",
    "DeletedResponse",
    "QuantSessionWarning",
    "Session",
    "SessionCreated",
    "SessionExtended",
    "SessionMessage",
    "SessionSummary",
    "SessionUpdated",
    "Sessions",
    "TurnParts",
    "UpdateSessionRequest",
    "check_session_id",
    "session_not_found",
    "session_turn",
    "session_turns",
]

CREATE_ROLES = ("system", "user", "assistant")
"""Roles a session accepts in ``initialMessages``."""
UPDATE_ROLES = ("user", "assistant")
"""Roles a session accepts in ``newMessages``."""
EXPIRATION_MINUTES = (5, 1440)
ADDITIONAL_MINUTES = (1, 1440)
MAX_LIST_LIMIT = 100
SESSION_STATUSES = ("active", "completed")


def _fail(field: str, message: str) -> QuantValidationError:
    return QuantValidationError(f"{field}: {message}", field=field)


def check_session_id(session_id: object, field: str = "sessionId") -> str:
    """Return ``session_id`` when it is a UUID (the API requires one), else refuse it.

    Raises:
        QuantValidationError: Naming ``field``.
    """
    if not isinstance(session_id, str):
        raise _fail(field, f"expected a UUID string, got {type(session_id).__name__}")
    try:
        uuid.UUID(session_id)
    except ValueError:
        raise _fail(field, f"{session_id!r} is not a UUID (the API requires one)") from None
    return session_id


def _check_range(field: str, value: int | None, bounds: tuple[int, int]) -> None:
    lo, hi = bounds
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(field, f"expected a whole number of minutes from {lo} to {hi}")
    if not lo <= value <= hi:
        raise _fail(field, f"{value} is out of range; use {lo} to {hi}")


def _check_messages(field: str, messages: Sequence[SessionMessage], roles: Iterable[str]) -> None:
    allowed = tuple(roles)
    for i, message in enumerate(messages):
        if message.role not in allowed:
            raise _fail(
                f"{field}.{i}.role",
                f"{message.role!r} is not accepted here; a session keeps {', '.join(allowed)} "
                "turns (tool calls, tool results and media cannot be stored in a session)",
            )
        if not isinstance(message.content, str):
            raise _fail(f"{field}.{i}.content", "a session message is text only")


# --------------------------------------------------------------------------- models


class SessionMessage(_Tolerant):
    """One turn of a session: a role and text (responses may carry more fields; kept)."""

    role: str
    content: str = ""

    @field_validator("content", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if value is None:
            return ""
        if isinstance(value, list):  # block-shaped content
            return "".join(str(b.get("text", "")) for b in value if isinstance(b, Mapping))
        return value


class _OutMessage(_Wire):
    role: Literal["system", "user", "assistant"]
    content: str


class CreateSessionRequest(_Wire):
    """Body of ``POST /ai/sessions``."""

    user_id: str
    session_group: str | None = None
    metadata: dict[str, Any] | None = None
    expiration_minutes: int | None = None
    initial_messages: list[SessionMessage] | None = None

    def validate_limits(self) -> None:
        """Check the spec's limits.

        Raises:
            QuantValidationError: Naming the field.
        """
        if not self.user_id:
            raise _fail("userId", "a user id is required (any stable id of the end user)")
        _check_range("expirationMinutes", self.expiration_minutes, EXPIRATION_MINUTES)
        _check_messages("initialMessages", self.initial_messages or [], CREATE_ROLES)

    def to_body(self) -> dict[str, Any]:
        """The JSON body (messages reduced to the two fields the API takes)."""
        body = self.to_wire()
        if self.initial_messages is not None:
            body["initialMessages"] = [
                {"role": m.role, "content": m.content} for m in self.initial_messages
            ]
        return body


class UpdateSessionRequest(_Wire):
    """Body of ``PUT /ai/sessions/{sessionId}``."""

    new_messages: list[SessionMessage] | None = None
    tokens_used: int | None = None
    status: str | None = None
    metadata: dict[str, Any] | None = None

    def validate_limits(self) -> None:
        """Check the spec's limits.

        Raises:
            QuantValidationError: Naming the field.
        """
        _check_messages("newMessages", self.new_messages or [], UPDATE_ROLES)
        if self.status is not None and self.status not in SESSION_STATUSES:
            raise _fail("status", f"{self.status!r}: use one of {', '.join(SESSION_STATUSES)}")
        if self.tokens_used is not None and self.tokens_used < 0:
            raise _fail("tokensUsed", "must be 0 or more")

    def to_body(self) -> dict[str, Any]:
        """The JSON body."""
        body = self.to_wire()
        if self.new_messages is not None:
            body["newMessages"] = [
                {"role": m.role, "content": m.content} for m in self.new_messages
            ]
        return body


class SessionCreated(_Tolerant):
    """201 answer of a session create."""

    session_id: str
    status: str | None = None
    expires_at: str | None = None
    created_at: str | None = None


class Session(_Tolerant):
    """A session and its messages (``GET /ai/sessions/{id}``; note ``id``, not ``sessionId``)."""

    id: str = ""
    title: str | None = None
    model: str | None = None
    messages: list[SessionMessage] = Field(default_factory=list)
    created_at: str | None = Field(default=None, alias="created_at")


class SessionSummary(_Tolerant):
    """One item of a session list."""

    id: str = ""
    title: str | None = None
    model: str | None = None
    created_at: str | None = Field(default=None, alias="created_at")
    updated_at: str | None = Field(default=None, alias="updated_at")


class SessionUpdated(_Tolerant):
    """200 answer of a session update."""

    session_id: str | None = None
    status: str | None = None
    total_messages: int | None = None
    total_tokens: int | None = None
    updated_at: str | None = None


class SessionExtended(_Tolerant):
    """200 answer of a session extension."""

    session_id: str | None = None
    expires_at: str | None = None
    message: str | None = None


class DeletedResponse(_Tolerant):
    """200 answer of a delete."""

    message: str | None = None
    success: bool | None = None


def session_not_found(session_id: str, exc: QuantNotFoundError) -> QuantNotFoundError:
    """The 404 of a session read or write, saying it expired or was deleted.

    Returns:
        A :class:`~quant_ai.QuantNotFoundError` with the same status, body and request id.
    """
    return QuantNotFoundError(
        f"session {session_id} was not found: it expired (sessions live expirationMinutes "
        "after their last extension) or was deleted; start a new session",
        status_code=exc.status_code,
        request_id=exc.request_id,
        body=exc.body,
        code=exc.code,
    )


def _messages(value: Iterable[Any] | None) -> list[SessionMessage] | None:
    if value is None:
        return None
    out: list[SessionMessage] = []
    for i, item in enumerate(value):
        if isinstance(item, SessionMessage):
            out.append(item)
            continue
        if isinstance(item, tuple) and len(item) == 2:
            item = {"role": item[0], "content": item[1]}
        if not isinstance(item, Mapping):
            raise _fail(f"messages.{i}", "expected {'role': ..., 'content': ...}")
        try:
            out.append(SessionMessage.model_validate(item))
        except pydantic.ValidationError as exc:
            raise _fail(f"messages.{i}", exc.errors()[0]["msg"]) from None
    return out


def _list_params(
    user_id: str | None,
    session_group: str | None,
    limit: int | None,
    offset: int | None,
    model: str | None,
) -> dict[str, str]:
    if limit is not None and not 1 <= limit <= MAX_LIST_LIMIT:
        raise _fail("limit", f"{limit} is out of range; use 1 to {MAX_LIST_LIMIT}")
    if offset is not None and offset < 0:
        raise _fail("offset", "must be 0 or more")
    raw = {
        "userId": user_id,
        "sessionGroup": session_group,
        "limit": limit,
        "offset": offset,
        "model": model,
    }
    return {k: str(val) for k, val in raw.items() if val is not None}


class Sessions:
    """``client.sessions``: create, read, list, update, extend and delete sessions.

    Every method has an async twin prefixed ``a``. Bad input raises
    :class:`~quant_ai.QuantValidationError` before anything is sent; a missing (expired or
    deleted) session raises :class:`~quant_ai.QuantNotFoundError` saying so.
    """

    def __init__(self, client: QuantClient) -> None:
        self._client = client

    def _url(self, session_id: str | None = None, tail: str = "") -> str:
        from ._config import encode_path_segment

        path = "/sessions"
        if session_id is not None:
            path += "/" + encode_path_segment(check_session_id(session_id), "session id") + tail
        return self._client.config.ai_url(path)

    # ------------------------------------------------------------------ create

    @staticmethod
    def _create_body(
        user_id: str,
        initial_messages: Iterable[Any] | None,
        expiration_minutes: int | None,
        session_group: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> bytes:
        request = CreateSessionRequest(
            user_id=user_id,
            initial_messages=_messages(initial_messages),
            expiration_minutes=expiration_minutes,
            session_group=session_group,
            metadata=dict(metadata) if metadata is not None else None,
        )
        request.validate_limits()
        return _dump_body(request.to_body())

    def create(
        self,
        user_id: str,
        *,
        initial_messages: Iterable[Any] | None = None,
        expiration_minutes: int | None = None,
        session_group: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionCreated:
        """Create a session (``POST /ai/sessions``).

        Args:
            user_id: The end user the session belongs to (required by the API).
            initial_messages: Turns to start with: ``{"role", "content"}`` mappings,
                ``(role, content)`` pairs or :class:`SessionMessage` (system, user, assistant).
            expiration_minutes: Lifetime, 5 to 1440 (the service's default is 60).
            session_group: A group name to list sessions by.
            metadata: Free-form metadata.

        Returns:
            The new session's id, status and expiry.
        """
        body = self._create_body(
            user_id, initial_messages, expiration_minutes, session_group, metadata
        )
        response = self._client.transport.request("POST", self._url(), body=body, replayable=False)
        return _parse(SessionCreated, response)

    async def acreate(
        self,
        user_id: str,
        *,
        initial_messages: Iterable[Any] | None = None,
        expiration_minutes: int | None = None,
        session_group: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionCreated:
        """Async twin of :meth:`create`."""
        body = self._create_body(
            user_id, initial_messages, expiration_minutes, session_group, metadata
        )
        response = await self._client.transport.arequest(
            "POST", self._url(), body=body, replayable=False
        )
        return _parse(SessionCreated, response)

    # ------------------------------------------------------------------ read

    def get(self, session_id: str) -> Session:
        """Read a session and its messages (``GET /ai/sessions/{id}``).

        Raises:
            QuantNotFoundError: When it expired or was deleted.
        """
        url = self._url(session_id)
        try:
            return _parse(Session, self._client.transport.request("GET", url))
        except QuantNotFoundError as exc:
            raise session_not_found(session_id, exc) from None

    async def aget(self, session_id: str) -> Session:
        """Async twin of :meth:`get`."""
        url = self._url(session_id)
        try:
            return _parse(Session, await self._client.transport.arequest("GET", url))
        except QuantNotFoundError as exc:
            raise session_not_found(session_id, exc) from None

    def list(
        self,
        *,
        user_id: str | None = None,
        session_group: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        model: str | None = None,
    ) -> builtins.list[SessionSummary]:
        """List sessions (``GET /ai/sessions``; ``limit`` 1 to 100)."""
        params = _list_params(user_id, session_group, limit, offset, model)
        response = self._client.transport.request("GET", self._url(), params=params)
        return _parse_list(response)

    async def alist(
        self,
        *,
        user_id: str | None = None,
        session_group: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        model: str | None = None,
    ) -> builtins.list[SessionSummary]:
        """Async twin of :meth:`list`."""
        params = _list_params(user_id, session_group, limit, offset, model)
        response = await self._client.transport.arequest("GET", self._url(), params=params)
        return _parse_list(response)

    # ------------------------------------------------------------------ write

    @staticmethod
    def _update_body(
        new_messages: Iterable[Any] | None,
        tokens_used: int | None,
        status: str | None,
        metadata: Mapping[str, Any] | None,
    ) -> bytes:
        request = UpdateSessionRequest(
            new_messages=_messages(new_messages),
            tokens_used=tokens_used,
            status=status,
            metadata=dict(metadata) if metadata is not None else None,
        )
        request.validate_limits()
        return _dump_body(request.to_body())

    def update(
        self,
        session_id: str,
        *,
        new_messages: Iterable[Any] | None = None,
        tokens_used: int | None = None,
        status: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionUpdated:
        """Append turns to a session, or change its status or metadata (``PUT``).

        Args:
            session_id: The session (a UUID).
            new_messages: ``user`` and ``assistant`` turns to append (text only).
            tokens_used: Tokens to add to the session's count.
            status: ``active`` or ``completed``.
            metadata: Metadata to set.

        Raises:
            QuantNotFoundError: When it expired or was deleted.
        """
        body = self._update_body(new_messages, tokens_used, status, metadata)
        url = self._url(session_id)
        try:
            response = self._client.transport.request("PUT", url, body=body, replayable=False)
        except QuantNotFoundError as exc:
            raise session_not_found(session_id, exc) from None
        return _parse(SessionUpdated, response)

    async def aupdate(
        self,
        session_id: str,
        *,
        new_messages: Iterable[Any] | None = None,
        tokens_used: int | None = None,
        status: str | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> SessionUpdated:
        """Async twin of :meth:`update`."""
        body = self._update_body(new_messages, tokens_used, status, metadata)
        url = self._url(session_id)
        try:
            response = await self._client.transport.arequest(
                "PUT", url, body=body, replayable=False
            )
        except QuantNotFoundError as exc:
            raise session_not_found(session_id, exc) from None
        return _parse(SessionUpdated, response)

    @staticmethod
    def _extend_body(additional_minutes: int) -> bytes:
        _check_range("additionalMinutes", additional_minutes, ADDITIONAL_MINUTES)
        return _dump_body({"additionalMinutes": additional_minutes})

    def extend(self, session_id: str, additional_minutes: int = 60) -> SessionExtended:
        """Push a session's expiry back by 1 to 1440 minutes (``PUT .../extend``)."""
        body = self._extend_body(additional_minutes)
        url = self._url(session_id, "/extend")
        try:
            response = self._client.transport.request("PUT", url, body=body, replayable=False)
        except QuantNotFoundError as exc:
            raise session_not_found(session_id, exc) from None
        return _parse(SessionExtended, response)

    async def aextend(self, session_id: str, additional_minutes: int = 60) -> SessionExtended:
        """Async twin of :meth:`extend`."""
        body = self._extend_body(additional_minutes)
        url = self._url(session_id, "/extend")
        try:
            response = await self._client.transport.arequest(
                "PUT", url, body=body, replayable=False
            )
        except QuantNotFoundError as exc:
            raise session_not_found(session_id, exc) from None
        return _parse(SessionExtended, response)

    def delete(self, session_id: str) -> DeletedResponse:
        """Delete a session (``DELETE /ai/sessions/{id}``)."""
        url = self._url(session_id)
        try:
            return _parse(DeletedResponse, self._client.transport.request("DELETE", url))
        except QuantNotFoundError as exc:
            raise session_not_found(session_id, exc) from None

    async def adelete(self, session_id: str) -> DeletedResponse:
        """Async twin of :meth:`delete`."""
        url = self._url(session_id)
        try:
            response = await self._client.transport.arequest("DELETE", url)
        except QuantNotFoundError as exc:
            raise session_not_found(session_id, exc) from None
        return _parse(DeletedResponse, response)


def _dump_body(body: Mapping[str, Any]) -> bytes:
    import json

    return json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _parse_list(response: Any) -> list[SessionSummary]:
    from .errors import QuantAPIError

    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, Mapping):  # a wrapped list, as some endpoints answer
        data = data.get("sessions", data.get("data"))
    if not isinstance(data, list):
        raise QuantAPIError(
            "unexpected session list body: expected an array",
            status_code=response.status_code,
            body=response.text[:2000],
        )
    return [SessionSummary.model_validate(item) for item in data if isinstance(item, Mapping)]


# --------------------------------------------------------------------------- what a session keeps


class QuantSessionWarning(UserWarning):
    """A message could not be kept in a session as it was (see :func:`session_turn`)."""


UNSUPPORTED_POLICIES = ("text", "skip", "error")
"""What the adapters do with a message a session cannot keep (see :func:`session_turn`)."""


def session_turn(
    role: str,
    text: str,
    *,
    index: int = 0,
    created: bool = True,
    tool_calls: Sequence[tuple[str, Any]] = (),
    tool_name: str | None = None,
    media: int = 0,
    policy: str = "text",
) -> tuple[SessionMessage | None, str | None]:
    """The session turn a framework message becomes, and what was lost on the way.

    A session keeps text turns only: ``user`` and ``assistant`` (``system`` too in the turns
    a session is created with). It cannot keep tool calls, tool results, media or message ids.
    The policy decides what happens to what it cannot keep:

    * ``"text"`` (the adapters' default): kept as text. A tool result becomes a ``user`` turn
      ``[tool result (name)] content``; an assistant's tool calls are appended to its text as
      ``[tool call] name({...})`` lines; media blocks become ``[N media block(s) not stored]``;
      a ``system`` message after the session exists becomes a ``user`` turn ``[system] ...``.
      The note says what changed (the adapters warn with it).
    * ``"skip"``: the message is not stored (the note says which; the adapters warn).
    * ``"error"``: :class:`~quant_ai.QuantValidationError` naming the message.

    Message ids are never stored (a session does not keep them): that is not reported.

    Args:
        role: ``system``, ``user``, ``assistant`` or ``tool``.
        text: The message's text.
        index: Its position (for messages and errors).
        created: Whether the session exists already (``system`` turns only fit at creation).
        tool_calls: ``(name, arguments)`` of an assistant's tool calls.
        tool_name: For a tool result: the tool (or call id) it answers.
        media: How many media blocks (images, audio, video, files) the message holds.
        policy: ``text``, ``skip`` or ``error``.

    Returns:
        ``(turn, note)``: the turn to store (``None`` when skipped) and what was lost.

    Raises:
        QuantValidationError: For ``policy="error"`` and an unknown policy.
    """
    if policy not in UNSUPPORTED_POLICIES:
        raise _fail("policy", f"{policy!r}: use one of {', '.join(UNSUPPORTED_POLICIES)}")
    problems: list[str] = []
    if role == "tool":
        problems.append("a tool result")
    elif role == "system" and created:
        problems.append("a system message after the session was created")
    elif role not in CREATE_ROLES:
        problems.append(f"a {role!r} message")
    if tool_calls:
        problems.append(f"{len(tool_calls)} tool call(s)")
    if media:
        problems.append(f"{media} media block(s)")
    if not problems:
        return SessionMessage(role=role, content=text), None
    what = f"message {index} ({role}) holds " + " and ".join(problems)
    if policy == "error":
        raise _fail(
            f"messages.{index}",
            f"{what}, which a session cannot keep (it stores user and assistant text only); "
            "use on_unsupported='text' or 'skip'",
        )
    if policy == "skip":
        return None, f"{what}: not stored (on_unsupported='skip')"
    parts = [text] if text else []
    out_role = role
    if role == "tool":
        label = f" ({tool_name})" if tool_name else ""
        parts = [f"[tool result{label}] {text}".rstrip()]
        out_role = "user"
    elif role == "system":
        parts = [f"[system] {text}".rstrip()]
        out_role = "user"
    elif role not in CREATE_ROLES:
        out_role = "user"
    import json as _json

    for name, args in tool_calls:
        parts.append(f"[tool call] {name}({_json.dumps(args, sort_keys=True, default=str)})")
    if media:
        parts.append(f"[{media} media block(s) not stored]")
    return (
        SessionMessage(role=out_role, content="\n".join(parts)),
        f"{what}: stored as text (on_unsupported='text')",
    )


class TurnParts(NamedTuple):
    """What :func:`session_turns` needs of one framework message."""

    role: str
    text: str
    tool_calls: Sequence[tuple[str, Any]] = ()
    tool_name: str | None = None
    media: int = 0


def session_turns(
    messages: Iterable[TurnParts], *, created: bool, policy: str, start: int = 0
) -> tuple[list[SessionMessage], list[str]]:
    """The session turns of a run of messages (:func:`session_turn` for each, in order).

    Args:
        messages: The messages, as their parts.
        created: Whether the session exists already (late ``system`` messages differ).
        policy: ``text``, ``skip`` or ``error`` (see :func:`session_turn`).
        start: The position of the first message in the history.

    Returns:
        The turns to store and the notes of what could not be kept as it was.
    """
    turns: list[SessionMessage] = []
    notes: list[str] = []
    for i, parts in enumerate(messages):
        turn, note = session_turn(
            parts.role,
            parts.text,
            index=start + i,
            created=created,
            tool_calls=parts.tool_calls,
            tool_name=parts.tool_name,
            media=parts.media,
            policy=policy,
        )
        if turn is not None:
            turns.append(turn)
        if note:
            notes.append(note)
    return turns, notes
