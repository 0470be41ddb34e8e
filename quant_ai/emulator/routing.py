"""What every emulator route is built from: the request context, the guard, the operation table.

A module that serves native operations (``/api/v3/organizations/{org}/ai/...``) declares an
:class:`OperationTable` and registers one handler per spec operation id::

    from quant_ai.emulator.routing import Ctx, OperationTable, json_response

    ROUTES = OperationTable()

    @ROUTES.operation("getVectorCollection", route="vector_db")
    async def get_collection(ctx: Ctx) -> Response:
        found = ctx.state.vector_db.get(ctx.params["collectionId"])   # path parameters by name
        ...
        return json_response(200, found)

then adds ``ROUTES`` to :data:`quant_ai.emulator.server.NATIVE_TABLES` (one line). The server
finds the operation of each request from the spec (method and path), answers 404/405 for paths
and methods the spec does not have and 501 for a spec operation no table serves, and runs the
handler behind :func:`guarded`: auth, fault injection, JSON decoding and, for operations with a
request schema, validation against the spec-derived schema (a Laravel-style 400 naming the
field). Handlers raise :class:`HandlerError` (or the engine's ``RequestError``, a 400 naming a
field) for answers other than success.

Imports point one way: this module imports the state and the leaf modules (engine, faults,
executions, images, sse); route modules import this one; only :mod:`quant_ai.emulator.server`
imports the route modules. Nothing here imports a route module or the server.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from quant_ai._contract import load_schemas, request_errors
from quant_ai.emulator.auth import refusal
from quant_ai.emulator.config import EmulatorConfig
from quant_ai.emulator.engine import RequestError
from quant_ai.emulator.executions import CallbackError
from quant_ai.emulator.faults import FAULT_HEADER, FaultDecision, FaultError, parse_fault
from quant_ai.emulator.images import ImageError
from quant_ai.emulator.ratelimit import retry_after_header
from quant_ai.emulator.sse import DroppingResponse, EventStream
from quant_ai.emulator.state import EmulatorState

__all__ = [
    "Ctx",
    "ErrorMaker",
    "Handler",
    "HandlerError",
    "Operation",
    "OperationTable",
    "error_body",
    "guarded",
    "json_response",
    "native_error",
    "stream_settings",
]

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})


class HandlerError(Exception):
    """An error answer from a handler: ``status`` with ``message`` (and the field at fault)."""

    def __init__(self, status: int, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field


class Ctx:
    """What a handler gets: the request, its decoded body, the fault decision and the state.

    Attributes:
        request: The Starlette request.
        body: The decoded JSON body (None when there is none).
        decision: The fault decision of this request.
        raw: The raw body.
        state: The server's state.
        params: Path parameters by their spec name (decoded), e.g. ``{"modelId": "..."}``.
        org: The organisation path segment (decoded; empty on ``/oai/v1``).
        segments: The decoded path segments below ``/ai/`` (empty on ``/oai/v1``).
    """

    def __init__(
        self,
        request: Request,
        body: Any,
        decision: FaultDecision,
        raw: bytes,
        *,
        state: EmulatorState,
        params: Mapping[str, str] | None = None,
        org: str = "",
        segments: Sequence[str] = (),
    ) -> None:
        self.request = request
        self.body = body
        self.decision = decision
        self.raw = raw
        self.state = state
        self.params = dict(params or {})
        self.org = org
        self.segments = list(segments)

    def header(self, name: str) -> str | None:
        """A request header."""
        value = self.request.headers.get(name)
        return value if value else None

    def wild(self, config: EmulatorConfig) -> bool:
        """Whether the alternative ("wild") shapes are wanted."""
        value = self.header("x-emulator-shapes")
        return (value or config.shapes).strip().lower() == "wild"


Handler = Callable[[Ctx], Awaitable[Response]]
H = TypeVar("H", bound=Handler)
ErrorMaker = Callable[[int, str, str | None], Response]


@dataclass(frozen=True)
class Operation:
    """One served spec operation.

    Attributes:
        handler: Answers the request.
        route: The name faults and ``route_latency_ms`` know the operation by.
    """

    handler: Handler
    route: str


class OperationTable(dict[str, Operation]):
    """Handlers of native operations by spec operation id (one table per route module)."""

    def operation(self, operation_id: str, *, route: str | None = None) -> Callable[[H], H]:
        """Register the decorated handler for ``operation_id``.

        Args:
            operation_id: An operation id of the spec (checked).
            route: Route name for faults and per-route latency (default: the operation id).

        Raises:
            ValueError: For an id the spec does not have, or one registered twice.
        """

        def register(handler: H) -> H:
            if operation_id not in load_schemas()["operations"]:
                raise ValueError(f"{operation_id!r} is not an operation of the spec")
            if operation_id in self:
                raise ValueError(f"{operation_id!r} is registered twice")
            self[operation_id] = Operation(handler, route or operation_id)
            return handler

        return register


def json_response(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    """A JSON response."""
    return JSONResponse(body, status_code=status, headers=headers)


def error_body(field: str, message: str) -> dict[str, Any]:
    """A Laravel-style validation body naming one field."""
    return {"message": f"{field}: {message}", "errors": {field: [message]}}


def native_error(status: int, message: str, field: str | None) -> Response:
    """A native error answer: ``{"message", "errors"}`` when a field is named."""
    if field is not None:
        return json_response(status, error_body(field, message))
    return json_response(status, {"message": message})


def _laravel(errors: list[tuple[str, str]]) -> dict[str, Any]:
    fields: dict[str, list[str]] = {}
    for path, message in errors:
        name = path
        m = re.match(r"'([^']+)' is a required property", message)
        if m:
            name = f"{path}.{m.group(1)}" if path else m.group(1)
        m = re.match(r"Additional properties are not allowed \('([^']+)'", message)
        if m:
            name = f"{path}.{m.group(1)}" if path else m.group(1)
        name = name or "body"
        if message not in fields.setdefault(name, []):
            fields[name].append(message)
    first = next(iter(fields))
    more = len(fields) - 1
    summary = f"{first}: {fields[first][0]}" + (f" (and {more} more errors)" if more else "")
    return {"message": summary, "errors": fields}


def _has_request_schema(operation: str) -> bool:
    op = load_schemas()["operations"].get(operation) or {}
    return bool(op.get("request"))


async def guarded(
    state: EmulatorState,
    request: Request,
    route: str,
    handler: Handler,
    make_error: ErrorMaker = native_error,
    operation: str | None = None,
    params: Mapping[str, str] | None = None,
    org: str = "",
    segments: Sequence[str] = (),
) -> Response:
    """Run a handler behind auth, faults, JSON decoding and (for native ops) validation.

    Args:
        state: The server's state.
        request: The request.
        route: Route name (faults, per-route latency).
        handler: Answers the request.
        make_error: Builds error answers in the surface's style (native or OpenAI).
        operation: The spec operation id: its request schema (when it has one) validates the
            body.
        params: Path parameters for the handler.
        org: The organisation path segment, for the handler.
        segments: The path segments below ``/ai/``, for the handler.
    """
    state.seen(request.scope.get("client"))
    if (refused := refusal(state.config, request)) is not None:
        return make_error(*refused, None)
    header: Any = None
    fault_text = request.headers.get(FAULT_HEADER)
    if fault_text:
        try:
            header = parse_fault(fault_text)
        except FaultError as exc:
            return make_error(400, str(exc), "X-Emulator-Fault")
    raw = await request.body()
    decision = state.faults.decide(route, request.method, request.url.path, raw, header)
    if decision.hold is not None:
        await state.hold(decision.hold)
    if decision.latency_s > 0:
        state.record_latency(decision.latency_s)
        state.enter()
        try:
            await asyncio.sleep(decision.latency_s)
        finally:
            state.leave()
    if decision.status is not None:
        resp = make_error(decision.status, f"Emulated fault: HTTP {decision.status}", None)
        if decision.status in (429, 503):
            resp.headers["Retry-After"] = retry_after_header(decision.retry_after or 0)
        return resp
    body: Any = None
    if raw or request.method in _BODY_METHODS:
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            return make_error(400, "The request body is not valid JSON.", "body")
        if operation is not None and _has_request_schema(operation):
            errors = request_errors(operation, body)
            if errors:
                return json_response(400, _laravel(errors))
    ctx = Ctx(request, body, decision, raw, state=state, params=params, org=org, segments=segments)
    try:
        response = await handler(ctx)
    except RequestError as exc:
        return make_error(400, exc.message, exc.field)
    except ImageError as exc:
        return make_error(400, exc.message, exc.field)
    except (CallbackError, HandlerError) as exc:
        return make_error(exc.status, exc.message, exc.field if exc.status == 400 else None)
    if (
        decision.drop_buffered
        and not isinstance(response, EventStream)
        and response.status_code < 300
    ):
        return DroppingResponse(
            content=response.body,
            status_code=response.status_code,
            media_type=response.media_type,
        )
    return response


def _int_header(ctx: Ctx, name: str) -> int | None:
    value = ctx.header(name)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        raise RequestError(name, "must be an integer") from None
    if number < 1:
        raise RequestError(name, "must be at least 1")
    return number


def stream_settings(ctx: Ctx, config: EmulatorConfig) -> tuple[str, int | None]:
    """Chunking and forced content-event count of a stream (headers win over the server).

    Raises:
        RequestError: For a bad ``X-Emulator-Chunking`` or ``X-Emulator-Content-Events``.
    """
    chunking = (ctx.header("x-emulator-chunking") or config.chunking).lower()
    if chunking not in ("word", "char", "sentence", "none"):
        raise RequestError("X-Emulator-Chunking", "must be word, char, sentence or none")
    return chunking, _int_header(ctx, "X-Emulator-Content-Events") or config.content_events
