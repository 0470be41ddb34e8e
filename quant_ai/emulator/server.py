"""The Starlette application: auth, faults, contract validation and the native routes."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import re
import threading
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quant_ai._contract import operation_for, request_errors
from quant_ai.emulator import embeddings as emb
from quant_ai.emulator.auth import refusal
from quant_ai.emulator.catalog import DEFAULT_EMBED_MODEL, DEFAULT_IMAGE_MODEL, MODELS
from quant_ai.emulator.config import EmulatorConfig
from quant_ai.emulator.engine import ChatOutcome, RequestError, ToolCall, respond
from quant_ai.emulator.executions import CallbackError, ExecutionStore
from quant_ai.emulator.faults import FAULT_HEADER, FaultDecision, FaultError, Faults, parse_fault
from quant_ai.emulator.images import ImageError, plan_image_job, render_job
from quant_ai.emulator.native import chat_request_from_native
from quant_ai.emulator.sse import DroppingResponse, EventStream, chunk_text, frame

__all__ = ["EmulatorState", "build_app", "error_body", "stream_settings"]

_ROUTE_NAMES = {
    "chatInference": "chat",
    "chatInferenceStream": "chat_stream",
    "embeddings": "embeddings",
    "imageGeneration": "image_generation",
    "getDurableExecutionStatus": "executions",
    "submitToolCallback": "callback",
    "listAIModels": "models",
    "getAIModel": "models",
}
_FEATURES = {"chat", "embeddings", "vision", "streaming", "all", "image_generation"}
HOLD_TIMEOUT_S = 30.0
"""Longest wait at a ``hold=N`` gate before the requests there go on anyway."""


class EmulatorState:
    """Mutable per-server state (thread-safe): counters, faults, executions."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.faults = Faults(config)
        self.executions = ExecutionStore(config.execution_polls_per_state)
        self._lock = threading.Lock()
        self._peers: set[tuple[str, int]] = set()
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.injected_latency_s = 0.0
        self.injected_event_delay_s = 0.0
        self._gates: dict[int, tuple[asyncio.Event, list[int]]] = {}

    def seen(self, scope_client: Any) -> None:
        """Record a request and the connection (client address) it came on."""
        with self._lock:
            self.requests += 1
            if scope_client:
                self._peers.add((str(scope_client[0]), int(scope_client[1])))

    def enter(self) -> None:
        """A request started being handled (for the in-flight counters)."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        """A request finished being handled."""
        with self._lock:
            self.in_flight -= 1

    def record_latency(self, seconds: float) -> None:
        """Count latency injected before a response."""
        with self._lock:
            self.injected_latency_s += seconds

    def record_event_delay(self, seconds: float) -> None:
        """Count a pause injected between two SSE events."""
        with self._lock:
            self.injected_event_delay_s += seconds

    async def hold(self, count: int, timeout: float = HOLD_TIMEOUT_S) -> None:
        """Wait until ``count`` requests wait here at once, then release them all together.

        Runs on the server's event loop only. After ``timeout`` seconds the waiting requests go
        on anyway, so a test that sends too few cannot hang the server.
        """
        gate = self._gates.get(count)
        if gate is None:
            gate = self._gates[count] = (asyncio.Event(), [0])
        event, waiting = gate
        waiting[0] += 1
        self.enter()
        try:
            if waiting[0] >= count:
                del self._gates[count]
                event.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self.leave()

    @property
    def connections(self) -> int:
        """Distinct client connections seen so far."""
        with self._lock:
            return len(self._peers)

    def reset(self) -> None:
        """Reset counters, fault state and executions."""
        with self._lock:
            self._peers.clear()
            self.requests = 0
            self.peak_in_flight = self.in_flight
            self.injected_latency_s = 0.0
            self.injected_event_delay_s = 0.0
        self.faults.reset()
        self.executions.clear()


def error_body(field: str, message: str) -> dict[str, Any]:
    """A Laravel-style validation body naming one field."""
    return {"message": f"{field}: {message}", "errors": {field: [message]}}


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


def _json(status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse(body, status_code=status, headers=headers)


class Ctx:
    """What a handler gets: the request, its decoded body and the fault decision."""

    def __init__(self, request: Request, body: Any, decision: FaultDecision, raw: bytes) -> None:
        self.request = request
        self.body = body
        self.decision = decision
        self.raw = raw

    def header(self, name: str) -> str | None:
        """A request header."""
        value = self.request.headers.get(name)
        return value if value else None

    def wild(self, config: EmulatorConfig) -> bool:
        """Whether the alternative ("wild") shapes are wanted."""
        value = self.header("x-emulator-shapes")
        return (value or config.shapes).strip().lower() == "wild"


Handler = Callable[[Ctx], Awaitable[Response]]
ErrorMaker = Callable[[int, str, str | None], Response]


def _native_error(status: int, message: str, field: str | None) -> Response:
    if field is not None:
        return _json(status, error_body(field, message))
    return _json(status, {"message": message})


async def guarded(
    state: EmulatorState,
    request: Request,
    route: str,
    handler: Handler,
    make_error: ErrorMaker = _native_error,
    operation: str | None = None,
) -> Response:
    """Run a handler behind auth, faults, JSON decoding and (for native ops) validation."""
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
            ra = decision.retry_after or 0
            resp.headers["Retry-After"] = str(int(ra)) if ra == int(ra) else str(ra)
        return resp
    body: Any = None
    if request.method == "POST":
        try:
            body = json.loads(raw) if raw else None
        except (ValueError, UnicodeDecodeError):
            return make_error(400, "The request body is not valid JSON.", "body")
        if operation is not None:
            errors = request_errors(operation, body)
            if errors:
                return _json(400, _laravel(errors))
    ctx = Ctx(request, body, decision, raw)
    try:
        response = await handler(ctx)
    except RequestError as exc:
        return make_error(400, exc.message, exc.field)
    except ImageError as exc:
        return make_error(400, exc.message, exc.field)
    except CallbackError as exc:
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


# -- native handlers --------------------------------------------------------------------------


def _request_id(raw: bytes) -> str:
    return "req-" + hashlib.sha256(raw).hexdigest()[:20]


def _tool_use(outcome: ChatOutcome) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [dict(e) for e in outcome.executions]
    items += [_call(c) for c in outcome.tool_calls]
    return items


def _call(c: ToolCall) -> dict[str, Any]:
    return {"toolUseId": c.tool_use_id, "name": c.name, "input": c.input}


def chat_body(outcome: ChatOutcome, model: str, request_id: str) -> dict[str, Any]:
    """The ``chatInference`` 200 body."""
    message: dict[str, Any] = {"role": "assistant", "content": outcome.text}
    items = _tool_use(outcome)
    if len(items) == 1:
        message["toolUse"] = items[0]
    elif items:
        message["toolUse"] = items
    return {
        "response": message,
        "model": model,
        "requestId": request_id,
        "finishReason": outcome.finish_reason,
        "usage": outcome.usage(),
    }


def stream_frames(
    outcome: ChatOutcome,
    model: str,
    request_id: str,
    session_id: str | None,
    *,
    chunking: str,
    content_events: int | None,
    wild: bool,
) -> list[bytes]:
    """All SSE frames of a chat stream."""
    events: list[tuple[str, dict[str, Any]]] = [
        ("start", {"requestId": request_id, "model": model, "streaming": True})
    ]
    if session_id:
        events.append(("session", {"sessionId": session_id}))
    for ex in outcome.executions:
        events.append(
            ("tool_start", {"name": ex["name"], "toolUseId": ex["toolUseId"], "input": ex["input"]})
        )
        events.append(
            (
                "tool_complete",
                {"name": ex["name"], "toolUseId": ex["toolUseId"], "result": ex["result"]},
            )
        )
    if outcome.executions:
        n = len(outcome.executions)
        events.append(
            ("orchestration_status", {"message": f"Executed {n} tool(s); composing the answer."})
        )
    streamed = "".join(chunk_text(outcome.text, chunking, content_events))
    for delta in chunk_text(outcome.text, chunking, content_events):
        events.append(("content", {"delta": delta, "complete": False}))
    usage = outcome.usage()
    if content_events and streamed != outcome.text:
        out_tokens = len(streamed.split())
        usage["outputTokens"] = out_tokens
        usage["totalTokens"] = usage["inputTokens"] + out_tokens
    if outcome.tool_calls:
        for c in outcome.tool_calls:
            events.append(("tool_request", _call(c)))
        done: dict[str, Any] = {
            "complete": False,
            "stopReason": "tool_request",
            "finishReason": "tool_use",
            "response": {
                "role": "assistant",
                "content": outcome.text,
                "toolUse": [_call(c) for c in outcome.tool_calls],
            },
            "usage": usage,
        }
    else:
        done = {"complete": True, "finishReason": outcome.finish_reason, "usage": usage}
    if outcome.executions:
        done["toolExecutions"] = [dict(e) for e in outcome.executions]
    events.append(("done", done))
    return [frame(i, name, data, wild) for i, (name, data) in enumerate(events)]


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


def make_native(state: EmulatorState) -> Callable[[Request], Awaitable[Response]]:
    """Build the endpoint serving ``/api/v3/organi[sz]ations/{org}/ai/...``."""
    cfg = state.config

    async def chat(ctx: Ctx) -> Response:
        body = ctx.body
        if body.get("async"):
            return _json(202, state.executions.create(body))
        request = chat_request_from_native(body)
        outcome = respond(request)
        return _json(200, chat_body(outcome, request.model.id, _request_id(ctx.raw)))

    async def chat_stream(ctx: Ctx) -> Response:
        body = ctx.body
        if body.get("async"):
            return _json(202, state.executions.create(body))
        request = chat_request_from_native(body)
        outcome = respond(request)
        chunking, forced = stream_settings(ctx, cfg)
        frames = stream_frames(
            outcome,
            request.model.id,
            _request_id(ctx.raw),
            body.get("sessionId"),
            chunking=chunking,
            content_events=forced,
            wild=ctx.wild(cfg),
        )
        return EventStream(
            frames,
            delay_s=ctx.decision.event_delay_s,
            drop_after=ctx.decision.drop_after,
            on_delay=state.record_event_delay,
        )

    async def embeddings(ctx: Ctx) -> Response:
        body = ctx.body
        model_id = body.get("modelId", DEFAULT_EMBED_MODEL)
        model = MODELS.get(model_id)
        if model is None or model.kind != "embeddings":
            raise RequestError("modelId", f"{model_id!r} is not an embeddings model")
        texts = body["input"]
        single = isinstance(texts, str)
        items = [texts] if single else list(texts)
        if not items:
            raise RequestError("input", "must contain at least one text")
        if len(items) > 100:
            raise RequestError("input", "at most 100 texts per request")
        fixed = model.embed_dimensions == (1536,)
        dim = 1536 if fixed else int(body.get("dimensions", 1024))
        normalize = bool(body.get("normalize", True))
        vectors = [emb.text_vector_json(t, dim, normalize) for t in items]
        tokens = sum(max(1, len(t.split())) for t in items)
        data = vectors[0] if single else "[" + ",".join(vectors) + "]"
        text = (
            f'{{"embeddings":{data},"model":{json.dumps(model.id)},"dimension":{dim},'
            f'"usage":{{"inputTokens":{tokens},"totalTokens":{tokens}}}}}'
        )
        return Response(text, media_type="application/json")

    async def image_generation(ctx: Ctx) -> Response:
        body = ctx.body
        model_id = body.get("modelId", DEFAULT_IMAGE_MODEL)
        model = MODELS.get(model_id)
        if model is None or model.kind != "image":
            raise RequestError("modelId", f"{model_id!r} is not an image-generation model")
        job = plan_image_job(body)
        return _json(200, render_job(job, data_urls=ctx.wild(cfg)))

    async def callback(ctx: Ctx) -> Response:
        return _json(200, state.executions.callback(ctx.body))

    handlers: dict[str, Handler] = {
        "chatInference": chat,
        "chatInferenceStream": chat_stream,
        "embeddings": embeddings,
        "imageGeneration": image_generation,
        "submitToolCallback": callback,
    }

    async def endpoint(request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        parts = raw_path.decode("latin-1").split("?", 1)[0].split("/")
        # ['', 'api', 'v3', 'organizations', '{org}', 'ai', ...]
        if len(parts) < 7 or parts[3] not in ("organizations", "organisations") or not parts[4]:
            return _json(404, {"message": "Not found", "code": "NOT_FOUND"})
        segments = [unquote(p) for p in parts[6:]]
        below = "/ai/" + "/".join(parts[6:])
        op = operation_for(request.method, below)
        if op is None:
            other = "GET" if request.method == "POST" else "POST"
            if operation_for(other, below) is not None:
                return _json(405, {"message": "Method not allowed"})
            return _json(404, {"message": "Not found", "code": "NOT_FOUND"})
        if op not in _ROUTE_NAMES:  # in the spec, not (yet) emulated
            return _json(501, {"message": f"{op} is not served by the emulator"})
        route = _ROUTE_NAMES[op]

        if op == "getDurableExecutionStatus":

            async def execution(ctx: Ctx) -> Response:
                found = state.executions.read(segments[-1])
                if found is None:
                    return _json(404, {"message": "Execution not found"})
                return _json(200, found)

            return await guarded(state, request, route, execution)
        if op == "listAIModels":

            async def list_models(ctx: Ctx) -> Response:
                feature = request.query_params.get("feature", "all") or "all"
                if feature not in _FEATURES:
                    raise RequestError(
                        "feature", "must be chat, embeddings, vision, streaming or all"
                    )
                items = [m.list_item() for m in MODELS.values() if feature in m.features()]
                return _json(200, {"models": items, "count": len(items)})

            return await guarded(state, request, route, list_models)
        if op == "getAIModel":

            async def get_model(ctx: Ctx) -> Response:
                model = MODELS.get(segments[-1])
                if model is None:
                    return _json(404, {"message": "Model not found", "code": "MODEL_NOT_FOUND"})
                return _json(200, model.detail())

            return await guarded(state, request, route, get_model)
        return await guarded(state, request, route, handlers[op], operation=op)

    return endpoint


def build_app(state: EmulatorState) -> Starlette:
    """Create the ASGI application of one emulator server."""
    from quant_ai.emulator.openai_compat import openai_routes

    native = make_native(state)

    async def stats(request: Request) -> Response:
        return _json(200, {"requests": state.requests, "connections": state.connections})

    async def reset(request: Request) -> Response:
        state.reset()
        return _json(200, {"reset": True})

    routes = [
        Route("/api/v3/{spelling}/{org}/ai/{rest:path}", native, methods=["GET", "POST"]),
        *openai_routes(state),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]
    return Starlette(routes=routes)
