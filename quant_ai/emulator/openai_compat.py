"""The OpenAI-compatible surface ``/oai/v1`` (chat completions, embeddings, models).

It shares the behaviour engine and embeddings with the native routes, so both surfaces give the
same answers and vectors for the same conversation or text. As documented for Quant AI,
``n > 1`` is refused, and streams report ``finish_reason: "stop"`` on max-token truncation.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import time
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from quant_ai.emulator import embeddings as emb
from quant_ai.emulator.catalog import MODELS, Model
from quant_ai.emulator.engine import (
    ChatOutcome,
    EngineRequest,
    Media,
    Msg,
    RequestError,
    ToolCall,
    ToolDef,
    ToolResult,
    respond,
)
from quant_ai.emulator.images import image_kind
from quant_ai.emulator.native import chat_model
from quant_ai.emulator.routing import Ctx, guarded, stream_settings
from quant_ai.emulator.sse import EventStream, chunk_text
from quant_ai.emulator.state import EmulatorState

__all__ = ["openai_routes"]

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    404: "not_found_error",
    429: "rate_limit_error",
}


def oai_error(status: int, message: str, param: str | None) -> Response:
    """An OpenAI-style error response."""
    body = {
        "error": {
            "message": message,
            "type": _TYPES.get(
                status, "server_error" if status >= 500 else "invalid_request_error"
            ),
            "param": param,
            "code": None,
        }
    }
    return JSONResponse(body, status_code=status)


def _text_of(content: Any, path: str) -> tuple[list[str], list[Media]]:
    if content is None:
        return [], []
    if isinstance(content, str):
        return [content], []
    if not isinstance(content, list):
        raise RequestError(path, "must be a string or a list of content parts")
    texts: list[str] = []
    media: list[Media] = []
    for j, part in enumerate(content):
        if not isinstance(part, dict):
            raise RequestError(f"{path}.{j}", "must be a content part object")
        kind = part.get("type")
        if kind == "text":
            texts.append(str(part.get("text", "")))
        elif kind == "image_url":
            url = str((part.get("image_url") or {}).get("url", ""))
            if not url.startswith("data:") or ";base64," not in url:
                raise RequestError(f"{path}.{j}.image_url.url", "only data: URLs are supported")
            try:
                data = base64.b64decode(url.split(",", 1)[1], validate=True)
            except (binascii.Error, ValueError):
                raise RequestError(f"{path}.{j}.image_url.url", "invalid base64") from None
            fmt = image_kind(data)
            if fmt is None:
                raise RequestError(f"{path}.{j}.image_url.url", "not a png/jpeg/gif/webp image")
            media.append(Media("image", fmt, data))
        else:
            raise RequestError(f"{path}.{j}.type", f"unsupported content part {kind!r}")
    return texts, media


def chat_request_from_openai(body: Any) -> tuple[EngineRequest, bool, bool]:
    """Translate an OpenAI chat-completions body; return the request, stream and usage flags.

    Raises:
        RequestError: With the OpenAI parameter name.
    """
    if not isinstance(body, dict):
        raise RequestError("body", "must be a JSON object")
    model = chat_model(body.get("model"), "model")
    raw_messages = body.get("messages")
    if not isinstance(raw_messages, list) or not raw_messages:
        raise RequestError("messages", "must be a non-empty list")
    if int(body.get("n") or 1) != 1:
        raise RequestError("n", "only n=1 is supported")
    system: list[str] = []
    messages: list[Msg] = []
    for i, m in enumerate(raw_messages):
        if not isinstance(m, dict) or "role" not in m:
            raise RequestError(f"messages.{i}", "must be an object with a role")
        role = m["role"]
        texts, media = _text_of(m.get("content"), f"messages.{i}.content")
        if role in ("system", "developer"):
            system.extend(texts)
        elif role == "user":
            messages.append(Msg("user", texts, media))
        elif role == "assistant":
            uses = []
            for call in m.get("tool_calls") or []:
                fn = call.get("function") or {}
                try:
                    args = json.loads(fn.get("arguments") or "{}")
                except ValueError:
                    raise RequestError(
                        f"messages.{i}.tool_calls", "arguments must be JSON"
                    ) from None
                uses.append(ToolCall(str(call.get("id")), str(fn.get("name")), dict(args)))
            messages.append(Msg("assistant", texts, tool_uses=uses))
        elif role == "tool":
            result = ToolResult(str(m.get("tool_call_id")), " ".join(texts))
            if messages and messages[-1].role == "user" and messages[-1].tool_results:
                messages[-1].tool_results.append(result)
            else:
                messages.append(Msg("user", tool_results=[result]))
        else:
            raise RequestError(f"messages.{i}.role", f"unsupported role {role!r}")
    tools = []
    for k, tool in enumerate(body.get("tools") or []):
        fn = tool.get("function") if isinstance(tool, dict) else None
        if not isinstance(fn, dict) or not fn.get("name"):
            raise RequestError(f"tools.{k}.function.name", "is required")
        params = fn.get("parameters") or {"type": "object", "properties": {}}
        tools.append(ToolDef(str(fn["name"]), str(fn.get("description", "")), params))
    choice = body.get("tool_choice", "auto")
    if isinstance(choice, dict):
        choice = str((choice.get("function") or {}).get("name", "auto"))
    elif choice not in ("auto", "none", "required"):
        raise RequestError("tool_choice", "must be auto, none, required or a function")
    fmt = body.get("response_format")
    response_format: dict[str, Any] | None = None
    if isinstance(fmt, dict) and fmt.get("type") == "json_object":
        response_format = {}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        response_format = {"jsonSchema": (fmt.get("json_schema") or {}).get("schema") or {}}
    if response_format and response_format.get("jsonSchema"):
        reason = model.refusal(json_schema=True)
        if reason:
            raise RequestError("response_format", reason)
    if any(m.media for m in messages):
        reason = model.refusal(media="image")
        if reason:
            raise RequestError("messages", reason)
    stop = body.get("stop")
    stops = [stop] if isinstance(stop, str) else list(stop or [])
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    request = EngineRequest(
        model=model,
        messages=messages,
        system="\n".join(system),
        tools=tools,
        response_format=response_format,
        max_tokens=int(max_tokens) if max_tokens else None,
        stop=stops,
        tool_choice=str(choice),
    )
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    return request, bool(body.get("stream")), include_usage


def _calls(calls: list[ToolCall]) -> list[dict[str, Any]]:
    return [
        {
            "id": c.tool_use_id,
            "type": "function",
            "function": {"name": c.name, "arguments": json.dumps(c.input)},
        }
        for c in calls
    ]


def _usage(outcome: ChatOutcome) -> dict[str, int]:
    return {
        "prompt_tokens": outcome.input_tokens,
        "completion_tokens": outcome.output_tokens,
        "total_tokens": outcome.total_tokens,
    }


def _finish(outcome: ChatOutcome, streaming: bool) -> str:
    if outcome.tool_calls:
        return "tool_calls"
    if outcome.finish_reason == "length" and not streaming:
        return "length"
    return "stop"


def completion_body(outcome: ChatOutcome, model: str, cid: str, created: int) -> dict[str, Any]:
    """The buffered ``chat.completion`` object."""
    message: dict[str, Any] = {"role": "assistant", "content": outcome.text, "refusal": None}
    if outcome.tool_calls:
        message["tool_calls"] = _calls(outcome.tool_calls)
    return {
        "id": cid,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": _finish(outcome, False),
                "logprobs": None,
            }
        ],
        "usage": _usage(outcome),
    }


def completion_frames(
    outcome: ChatOutcome,
    model: str,
    cid: str,
    created: int,
    *,
    include_usage: bool,
    chunking: str,
    content_events: int | None,
) -> list[bytes]:
    """The ``chat.completion.chunk`` frames of a stream, ending with ``[DONE]``."""
    head = f'{{"id":"{cid}","object":"chat.completion.chunk","created":{created},'
    head += f'"model":{json.dumps(model)},'
    tail = ',"usage":null}' if include_usage else "}"

    def chunk(delta: str, finish: str | None = None) -> bytes:
        fin = "null" if finish is None else f'"{finish}"'
        choices = f'"choices":[{{"index":0,"delta":{delta},"finish_reason":{fin}}}]'
        return f"data: {head}{choices}{tail}\n\n".encode()

    frames = [chunk('{"role":"assistant","content":""}')]
    for piece in chunk_text(outcome.text, chunking, content_events):
        frames.append(chunk('{"content":' + json.dumps(piece, ensure_ascii=False) + "}"))
    for i, call in enumerate(_calls(outcome.tool_calls)):
        frames.append(chunk(json.dumps({"tool_calls": [{"index": i, **call}]})))
    frames.append(chunk("{}", _finish(outcome, True)))
    if include_usage:
        usage = json.dumps(_usage(outcome))
        frames.append(f'data: {head}"choices":[],"usage":{usage}}}\n\n'.encode())
    frames.append(b"data: [DONE]\n\n")
    return frames


def _model_obj(model: Model) -> dict[str, Any]:
    released = datetime.combine(date.fromisoformat(model.release_date), datetime.min.time())
    return {
        "id": model.id,
        "object": "model",
        "created": int(released.replace(tzinfo=timezone.utc).timestamp()),
        "owned_by": model.provider.lower(),
    }


def _embedding_inputs(value: Any) -> list[str | list[int]]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and value:
        if all(isinstance(v, int) for v in value):
            return [list(value)]
        if all(isinstance(v, str) for v in value):
            return list(value)
        if all(isinstance(v, list) and all(isinstance(t, int) for t in v) for v in value):
            return [list(v) for v in value]
    raise RequestError("input", "must be a string, a list of strings or of token lists")


def openai_routes(state: EmulatorState) -> list[Route]:
    """Routes of the ``/oai/v1`` surface."""
    cfg = state.config

    async def chat(ctx: Ctx) -> Response:
        request, stream, include_usage = chat_request_from_openai(ctx.body)
        outcome = respond(request)
        created = int(time.time())
        cid = "chatcmpl-" + hashlib.sha256(ctx.raw).hexdigest()[:24]
        if not stream:
            return JSONResponse(completion_body(outcome, request.model.id, cid, created))
        chunking, forced = stream_settings(ctx, cfg)
        frames = completion_frames(
            outcome,
            request.model.id,
            cid,
            created,
            include_usage=include_usage,
            chunking=chunking,
            content_events=forced,
        )
        return EventStream(
            frames,
            delay_s=ctx.decision.event_delay_s,
            drop_after=ctx.decision.drop_after,
            on_delay=state.record_event_delay,
        )

    async def embeddings(ctx: Ctx) -> Response:
        body = ctx.body
        if not isinstance(body, dict):
            raise RequestError("body", "must be a JSON object")
        model = MODELS.get(str(body.get("model")))
        if model is None or model.kind != "embeddings":
            raise RequestError("model", f"{body.get('model')!r} is not an embeddings model")
        items = _embedding_inputs(body.get("input"))
        if len(items) > 2048:
            raise RequestError("input", "at most 2048 inputs per request")
        if model.embed_dimensions == (1536,):
            dim = 1536
        else:
            dim = int(body.get("dimensions") or 1024)
            if dim not in model.embed_dimensions:
                raise RequestError("dimensions", f"must be one of {list(model.embed_dimensions)}")
        as_base64 = body.get("encoding_format") == "base64"
        parts = []
        tokens = 0
        for i, item in enumerate(items):
            if isinstance(item, str):
                tokens += max(1, len(item.split()))
                if as_base64:
                    value = f'"{emb.text_vector_base64(item, dim)}"'
                else:
                    value = emb.text_vector_json(item, dim)
                parts.append(f'{{"object":"embedding","index":{i},"embedding":{value}}}')
                continue
            vec = emb.embed_tokens(item, dim)
            tokens += len(item)
            value = f'"{emb.vector_base64(vec, dim)}"' if as_base64 else emb.vector_json(vec, dim)
            parts.append(f'{{"object":"embedding","index":{i},"embedding":{value}}}')
        text = (
            '{"object":"list","data":[' + ",".join(parts) + f'],"model":{json.dumps(model.id)},'
            f'"usage":{{"prompt_tokens":{tokens},"total_tokens":{tokens}}}}}'
        )
        return Response(text, media_type="application/json")

    async def models(ctx: Ctx) -> Response:
        data = [_model_obj(m) for m in MODELS.values()]
        return JSONResponse({"object": "list", "data": data})

    def endpoint(route: str, handler: Callable[[Ctx], Awaitable[Response]]) -> Any:
        async def run(request: Request) -> Response:
            return await guarded(state, request, route, handler, oai_error)

        return run

    async def model_endpoint(request: Request) -> Response:
        model_id = request.path_params["model"]

        async def one(ctx: Ctx) -> Response:
            model = MODELS.get(model_id)
            if model is None:
                return oai_error(404, f"The model {model_id!r} does not exist", "model")
            return JSONResponse(_model_obj(model))

        return await guarded(state, request, "oai_models", one, oai_error)

    return [
        Route("/oai/v1/chat/completions", endpoint("oai_chat", chat), methods=["POST"]),
        Route("/oai/v1/embeddings", endpoint("oai_embeddings", embeddings), methods=["POST"]),
        Route("/oai/v1/models", endpoint("oai_models", models), methods=["GET"]),
        Route("/oai/v1/models/{model:path}", model_endpoint, methods=["GET"]),
    ]
