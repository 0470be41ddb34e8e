"""The native routes of the chat, embeddings, images, durable-execution and model operations.

They are served under ``/api/v3/organizations/{org}/ai/...``.

Each handler is registered in :data:`ROUTES` under its spec operation id (see
:mod:`quant_ai.emulator.routing` for how a module contributes routes).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from starlette.responses import Response

from quant_ai.emulator import embeddings as emb
from quant_ai.emulator.catalog import DEFAULT_EMBED_MODEL, DEFAULT_IMAGE_MODEL, MODELS
from quant_ai.emulator.engine import ChatOutcome, RequestError, ToolCall, respond
from quant_ai.emulator.images import plan_image_job, render_job
from quant_ai.emulator.native import chat_request_from_native
from quant_ai.emulator.routing import Ctx, OperationTable, json_response, stream_settings
from quant_ai.emulator.sse import EventStream, chunk_text, frame

__all__ = ["ROUTES", "chat_body", "stream_frames"]

ROUTES = OperationTable()
"""The native operations this module serves."""

_FEATURES = {"chat", "embeddings", "vision", "streaming", "all", "image_generation"}


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


@ROUTES.operation("chatInference", route="chat")
async def chat(ctx: Ctx) -> Response:
    """``POST /ai/chat``: a buffered answer, or a durable execution for ``async: true``."""
    body = ctx.body
    if body.get("async"):
        return json_response(202, ctx.state.executions.create(body))
    request = chat_request_from_native(body)
    outcome = respond(request)
    ctx.state.org.charge(outcome)
    return json_response(200, chat_body(outcome, request.model.id, _request_id(ctx.raw)))


@ROUTES.operation("chatInferenceStream", route="chat_stream")
async def chat_stream(ctx: Ctx) -> Response:
    """``POST /ai/chat/stream``: SSE events, or a durable execution for ``async: true``."""
    body = ctx.body
    state = ctx.state
    if body.get("async"):
        return json_response(202, state.executions.create(body))
    request = chat_request_from_native(body)
    outcome = respond(request)
    state.org.charge(outcome)
    chunking, forced = stream_settings(ctx, state.config)
    frames = stream_frames(
        outcome,
        request.model.id,
        _request_id(ctx.raw),
        body.get("sessionId"),
        chunking=chunking,
        content_events=forced,
        wild=ctx.wild(state.config),
    )
    return EventStream(
        frames,
        delay_s=ctx.decision.event_delay_s,
        drop_after=ctx.decision.drop_after,
        on_delay=state.record_event_delay,
    )


@ROUTES.operation("embeddings", route="embeddings")
async def embeddings(ctx: Ctx) -> Response:
    """``POST /ai/embeddings``: deterministic vectors (see :mod:`.embeddings`)."""
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


@ROUTES.operation("imageGeneration", route="image_generation")
async def image_generation(ctx: Ctx) -> Response:
    """``POST /ai/image-generation``: placeholder PNGs of the requested size."""
    body = ctx.body
    model_id = body.get("modelId", DEFAULT_IMAGE_MODEL)
    model = MODELS.get(model_id)
    if model is None or model.kind != "image":
        raise RequestError("modelId", f"{model_id!r} is not an image-generation model")
    job = plan_image_job(body)
    return json_response(200, render_job(job, data_urls=ctx.wild(ctx.state.config)))


@ROUTES.operation("submitToolCallback", route="callback")
async def callback(ctx: Ctx) -> Response:
    """``POST /ai/chat/callback``: tool results for a waiting execution."""
    return json_response(200, ctx.state.executions.callback(ctx.body))


@ROUTES.operation("getDurableExecutionStatus", route="executions")
async def execution(ctx: Ctx) -> Response:
    """``GET /ai/chat/executions/{identifier}``: an execution's status (each read moves it on)."""
    found = ctx.state.executions.read(ctx.params["identifier"])
    if found is None:
        return json_response(404, {"message": "Execution not found"})
    return json_response(200, found)


@ROUTES.operation("listAIModels", route="models")
async def list_models(ctx: Ctx) -> Response:
    """``GET /ai/models``: the catalogue, optionally by feature."""
    feature = ctx.request.query_params.get("feature", "all") or "all"
    if feature not in _FEATURES:
        raise RequestError("feature", "must be chat, embeddings, vision, streaming or all")
    items = [m.list_item() for m in MODELS.values() if feature in m.features()]
    return json_response(200, {"models": items, "count": len(items)})


@ROUTES.operation("getAIModel", route="models")
async def get_model(ctx: Ctx) -> Response:
    """``GET /ai/models/{modelId}``: one model's details."""
    model = MODELS.get(ctx.params["modelId"])
    if model is None:
        return json_response(404, {"message": "Model not found", "code": "MODEL_NOT_FOUND"})
    return json_response(200, model.detail())
