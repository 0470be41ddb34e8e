"""Error mapping: status -> class, message/code/request id/body extraction, and no key leaks."""

from __future__ import annotations

import email.utils
import json
import logging
import traceback
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from quant_ai import (
    QuantAPIError,
    QuantAuthenticationError,
    QuantBadRequestError,
    QuantClient,
    QuantConfigurationError,
    QuantConflictError,
    QuantConnectionError,
    QuantError,
    QuantNotFoundError,
    QuantPermissionDeniedError,
    QuantRateLimitError,
    QuantServerError,
    QuantStreamError,
    QuantTimeoutError,
)
from quant_ai.errors import error_for_status
from tests.contract import ContractTransport

MakeClient = Callable[..., tuple[QuantClient, ContractTransport]]
MODES = ["sync", "async"]
MESSAGES = [{"role": "user", "content": "x"}]
SECRET = "qc_SECRET_abc123"

CLASSES: dict[int, type[QuantAPIError]] = {
    400: QuantBadRequestError,
    401: QuantAuthenticationError,
    403: QuantPermissionDeniedError,
    404: QuantNotFoundError,
    408: QuantAPIError,
    409: QuantConflictError,
    418: QuantAPIError,
    422: QuantBadRequestError,
    429: QuantRateLimitError,
    451: QuantAPIError,
    500: QuantServerError,
    501: QuantServerError,
    502: QuantServerError,
    503: QuantServerError,
    504: QuantServerError,
}
HINTS = {
    401: "(check QUANT_API_KEY (a Quant dashboard API token))",
    403: "(check that the token may use this organisation (QUANT_ORGANIZATION) and model)",
    404: "(check the organisation machine name, model id or execution id)",
}


def responder(
    code: int,
    *,
    json_body: Any = None,
    content: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        if content is not None:
            return httpx.Response(code, content=content, headers=headers)
        return httpx.Response(code, json=json_body, headers=headers)

    return handler


async def chat(client: QuantClient, mode: str) -> Any:
    if mode == "sync":
        return client.chat(messages=MESSAGES)
    return await client.achat(messages=MESSAGES)


async def fail_with(client: QuantClient, mode: str) -> QuantError:
    with pytest.raises(QuantError) as info:
        await chat(client, mode)
    return info.value


# --------------------------------------------------------------------------- classes


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("code", sorted(CLASSES))
async def test_status_maps_to_class(make_client: MakeClient, mode: str, code: int) -> None:
    client, _ = make_client(responder(code, json_body={"message": "Nope"}), max_retries=0)
    exc = await fail_with(client, mode)
    assert type(exc) is CLASSES[code]
    assert isinstance(exc, QuantAPIError)
    assert exc.status_code == code
    assert exc.message.startswith("Nope")
    assert str(exc).startswith(f"HTTP {code}: Nope")
    assert not isinstance(exc, QuantConnectionError)


def test_class_hierarchy() -> None:
    for cls in {*CLASSES.values(), QuantConnectionError, QuantStreamError, QuantConfigurationError}:
        assert issubclass(cls, QuantError)
    assert issubclass(QuantTimeoutError, QuantConnectionError)
    assert issubclass(QuantConfigurationError, ValueError)
    assert not issubclass(QuantStreamError, QuantAPIError)


@pytest.mark.parametrize("code", sorted(CLASSES))
def test_hints(code: int) -> None:
    exc = error_for_status(code, b'{"message":"Denied"}')
    if code in HINTS:
        assert exc.message == f"Denied {HINTS[code]}"
    else:
        assert exc.message == "Denied"


# --------------------------------------------------------------------------- messages


@pytest.mark.parametrize(
    ("body", "message", "code"),
    [
        pytest.param({"message": "Invalid model"}, "Invalid model", None, id="message"),
        pytest.param(
            {"error": "Execution not found", "executionId": "exec_1"},
            "Execution not found",
            None,
            id="error-string",
        ),
        pytest.param(
            {"message": "Forbidden", "error": "Organisation mismatch"},
            "Forbidden Organisation mismatch",
            None,
            id="message-and-error",
        ),
        pytest.param({"message": "Same", "error": "Same"}, "Same", None, id="same-twice"),
        pytest.param({"error": True, "message": "V1 style"}, "V1 style", None, id="v1-error-bool"),
        pytest.param(
            {"error": {"message": "Throttled", "code": "THROTTLED"}},
            "Throttled",
            "THROTTLED",
            id="error-object",
        ),
        pytest.param(
            {"error": {"ErrorType": "ValidationException", "ErrorMessage": "bad input"}},
            "bad input",
            None,
            id="error-object-bedrock",
        ),
        pytest.param(
            {
                "message": "The given data was invalid.",
                "errors": {
                    "messages": ["The messages field is required."],
                    "modelId": ["Unknown model.", "Try another."],
                },
            },
            "The given data was invalid. (messages: The messages field is required., "
            "modelId: Unknown model.; Try another.)",
            None,
            id="laravel-errors",
        ),
        pytest.param(
            {"errors": {"temperature": "must be <= 1"}},
            "(temperature: must be <= 1)",
            None,
            id="errors-string-values",
        ),
        pytest.param({"errors": ["first", "second"]}, "(first; second)", None, id="errors-list"),
        pytest.param(
            {"message": "Model not found", "code": "MODEL_NOT_FOUND"},
            "Model not found",
            "MODEL_NOT_FOUND",
            id="message-and-code",
        ),
        pytest.param(
            {"code": "SPEND_LIMIT_REACHED"},
            "SPEND_LIMIT_REACHED",
            "SPEND_LIMIT_REACHED",
            id="code-only",
        ),
        pytest.param({"code": 4001}, "4001", "4001", id="numeric-code"),
        pytest.param({}, "Bad Request", None, id="empty-object"),
        pytest.param({"message": ""}, "Bad Request", None, id="empty-message"),
        pytest.param([1, 2], "Bad Request", None, id="json-list"),
        pytest.param("plain json string", "plain json string", None, id="json-string"),
    ],
)
def test_message_from_json_body(
    make_client: MakeClient, body: Any, message: str, code: str | None
) -> None:
    client, _ = make_client(responder(400, json_body=body), max_retries=0)
    with pytest.raises(QuantBadRequestError) as info:
        client.chat(messages=MESSAGES)
    exc = info.value
    assert exc.message == message
    assert exc.code == code
    assert exc.body == body
    assert str(exc) == f"HTTP 400: {message}"
    assert exc.args == (f"HTTP 400: {message}",)


@pytest.mark.parametrize("mode", MODES)
async def test_models_404(make_client: MakeClient, mode: str) -> None:
    body = {"message": "Model not found", "code": "MODEL_NOT_FOUND"}
    client, transport = make_client(responder(404, json_body=body))
    with pytest.raises(QuantNotFoundError) as info:
        if mode == "sync":
            client.get_model("no-such-model")
        else:
            await client.aget_model("no-such-model")
    exc = info.value
    assert transport.requests[0][0] == "getAIModel"
    assert len(transport.requests) == 1  # 404 is not retried
    assert exc.status_code == 404
    assert exc.code == "MODEL_NOT_FOUND"
    assert exc.message == f"Model not found {HINTS[404]}"
    assert exc.body == body


@pytest.mark.parametrize(
    ("code", "content", "message"),
    [
        (
            502,
            b"upstream connect error or disconnect/reset before headers",
            "upstream connect error or disconnect/reset before headers",
        ),
        (503, b"  Service Unavailable (maintenance)\n", "Service Unavailable (maintenance)"),
        (
            500,
            b"<html><body>Internal Server Error</body></html>",
            "<html><body>Internal Server Error</body></html>",
        ),
    ],
)
def test_message_from_text_body(
    make_client: MakeClient, code: int, content: bytes, message: str
) -> None:
    client, _ = make_client(
        responder(code, content=content, headers={"content-type": "text/plain"}), max_retries=0
    )
    with pytest.raises(QuantServerError) as info:
        client.chat(messages=MESSAGES)
    assert info.value.message == message
    assert info.value.body == content.decode()
    assert info.value.code is None


def test_text_body_is_truncated_and_undecodable_bytes_replaced() -> None:
    exc = error_for_status(500, b"\xff\xfe broken " + b"x" * 5000)
    assert isinstance(exc.body, str)
    assert len(exc.body) == 2000
    assert exc.body.startswith("\ufffd\ufffd broken ")


@pytest.mark.parametrize(
    ("code", "reason"),
    [
        (400, "Bad Request"),
        (401, f"Unauthorized {HINTS[401]}"),
        (403, f"Forbidden {HINTS[403]}"),
        (404, f"Not Found {HINTS[404]}"),
        (418, "I'm a teapot"),
        (429, "Too Many Requests"),
        (503, "Service Unavailable"),
        (499, "error"),
    ],
)
def test_empty_body_uses_reason_phrase(make_client: MakeClient, code: int, reason: str) -> None:
    client, _ = make_client(responder(code, content=b""), max_retries=0)
    with pytest.raises(QuantAPIError) as info:
        client.chat(messages=MESSAGES)
    assert info.value.message == reason
    assert info.value.body is None
    assert info.value.status_code == code


# --------------------------------------------------------------------------- request ids


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(
    ("body", "headers", "request_id"),
    [
        ({"message": "bad", "requestId": "req-body"}, None, "req-body"),
        ({"message": "bad", "request_id": "req-snake"}, None, "req-snake"),
        ({"message": "bad"}, {"x-request-id": "req-header"}, "req-header"),
        ({"message": "bad"}, {"x-amzn-requestid": "amzn-123"}, "amzn-123"),
        ({"message": "bad"}, {"x-quant-request-id": "q-9"}, "q-9"),
        ({"message": "bad"}, None, None),
    ],
    ids=["body", "body-snake", "x-request-id", "x-amzn-requestid", "x-quant-request-id", "none"],
)
async def test_request_id(
    make_client: MakeClient,
    mode: str,
    body: Any,
    headers: dict[str, str] | None,
    request_id: str | None,
) -> None:
    client, _ = make_client(responder(400, json_body=body, headers=headers), max_retries=0)
    exc = await fail_with(client, mode)
    assert isinstance(exc, QuantAPIError)
    assert exc.request_id == request_id
    if request_id:
        assert str(exc) == f"HTTP 400: bad (request id {request_id})"
    else:
        assert str(exc) == "HTTP 400: bad"


def test_request_id_from_text_body_error_headers(make_client: MakeClient) -> None:
    client, _ = make_client(
        responder(502, content=b"Bad gateway", headers={"x-amzn-requestid": "amzn-7"}),
        max_retries=0,
    )
    with pytest.raises(QuantServerError) as info:
        client.chat(messages=MESSAGES)
    assert info.value.request_id == "amzn-7"


# --------------------------------------------------------------------------- rate limits


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limit_retry_after_seconds(make_client: MakeClient, mode: str) -> None:
    body = {"message": "Too many requests"}
    client, _ = make_client(
        responder(429, json_body=body, headers={"retry-after": "17"}), max_retries=0
    )
    exc = await fail_with(client, mode)
    assert isinstance(exc, QuantRateLimitError)
    assert exc.retry_after == 17.0
    assert exc.message == "Too many requests"


@pytest.mark.parametrize("mode", MODES)
async def test_rate_limit_retry_after_date(make_client: MakeClient, mode: str) -> None:
    when = email.utils.format_datetime(
        datetime.now(timezone.utc) + timedelta(seconds=90), usegmt=True
    )
    client, _ = make_client(
        responder(429, json_body={}, headers={"retry-after": when}), max_retries=0
    )
    exc = await fail_with(client, mode)
    assert isinstance(exc, QuantRateLimitError)
    assert exc.retry_after is not None
    assert 88.0 <= exc.retry_after <= 90.0  # not capped: the caller sees what the server said


@pytest.mark.parametrize("header", [None, "soon"])
def test_rate_limit_without_usable_retry_after(make_client: MakeClient, header: str | None) -> None:
    headers = {"retry-after": header} if header else None
    client, _ = make_client(
        responder(429, json_body={"message": "slow down"}, headers=headers), max_retries=0
    )
    with pytest.raises(QuantRateLimitError) as info:
        client.chat(messages=MESSAGES)
    assert info.value.retry_after is None


def test_only_rate_limit_errors_have_retry_after() -> None:
    assert error_for_status(429, b"", retry_after=4.0).retry_after == 4.0  # type: ignore[attr-defined]
    assert not hasattr(error_for_status(503, b"", retry_after=4.0), "retry_after")


# --------------------------------------------------------------------------- the key never leaks


def everything_about(exc: BaseException) -> str:
    """Every string a user, a logger or an error tracker could get out of ``exc``."""
    parts = [str(exc), repr(exc), repr(exc.args), "".join(traceback.format_exception(exc))]
    parts.append(
        "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())
    )
    for name, value in vars(exc).items():
        parts.append(f"{name}={value!r}")
    cause = exc.__cause__ or exc.__context__
    if cause is not None:
        parts.append(str(cause))
        parts.append(repr(cause))
    return "\n".join(parts)


def keyed(
    handler: Callable[[httpx.Request], httpx.Response],
) -> Callable[[httpx.Request], httpx.Response]:
    """Check the key is really sent (so the leak tests are meaningful)."""

    def wrapped(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == f"Bearer {SECRET}"
        return handler(request)

    return wrapped


def raising(exc_type: type[httpx.TransportError]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc_type(f"failure talking to {request.url}", request=request)

    return handler


SSE = {"content-type": "text/event-stream"}
LEAK_CASES: dict[str, Callable[[httpx.Request], httpx.Response]] = {
    **{
        f"http-{code}": responder(code, json_body={"message": "Nope", "requestId": "r1"})
        for code in sorted(CLASSES)
    },
    "http-401-text": responder(401, content=b"Unauthorized"),
    "connect-error": raising(httpx.ConnectError),
    "read-timeout": raising(httpx.ReadTimeout),
    "connect-timeout": raising(httpx.ConnectTimeout),
    "stream-error-event": lambda r: httpx.Response(
        200,
        headers=SSE,
        content=b'event: content\ndata: {"delta":"hi"}\n\nevent: error\ndata: {"error":"boom"}\n\n',
    ),
    "stream-truncated": lambda r: httpx.Response(
        200, headers=SSE, content=b'event: content\ndata: {"delta":"hi"}\n\n'
    ),
    "202-to-stream": lambda r: httpx.Response(
        202, json={"requestId": "r1", "status": "queued", "pollUrl": "/x"}
    ),
}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("case", list(LEAK_CASES))
async def test_api_key_never_in_errors(make_client: MakeClient, mode: str, case: str) -> None:
    client, transport = make_client(keyed(LEAK_CASES[case]), api_key=SECRET, max_retries=1)
    with pytest.raises(QuantError) as info:
        if case.startswith(("stream", "202")):
            if mode == "sync":
                list(client.stream_chat(messages=MESSAGES))
            else:
                [e async for e in client.astream_chat(messages=MESSAGES)]
        else:
            await chat(client, mode)
    assert transport.requests  # the request was sent, with the key
    text = everything_about(info.value)
    assert SECRET not in text
    assert "SECRET" not in text
    assert SECRET not in repr(client)


async def test_api_key_never_in_logs(
    make_client: MakeClient, caplog: pytest.LogCaptureFixture
) -> None:
    def flaky(request: httpx.Request) -> httpx.Response:
        if len(transport.requests) == 1:
            raise httpx.ConnectError("refused", request=request)
        if len(transport.requests) == 2:
            return httpx.Response(503, json={"message": "busy"})
        return httpx.Response(
            200,
            json={
                "response": {"role": "assistant", "content": "ok"},
                "requestId": "r",
                "finishReason": "stop",
            },
        )

    client, transport = make_client(keyed(flaky), api_key=SECRET, max_retries=2)
    with caplog.at_level(logging.DEBUG, logger="quant_ai"):
        assert client.chat(messages=MESSAGES).text == "ok"
        assert (await client.achat(messages=MESSAGES)).text == "ok"
    assert caplog.records  # the retries were logged
    assert SECRET not in caplog.text


def test_configuration_error_does_not_show_the_key() -> None:
    client = QuantClient(api_key=SECRET, organization=None, base_url="https://quant.test")
    with client, pytest.raises(QuantConfigurationError) as info:
        client.chat(messages=MESSAGES)
    assert SECRET not in everything_about(info.value)
    assert "QUANT_ORGANIZATION" in str(info.value)
    assert json.dumps(SECRET) not in repr(client)


def test_local_tool_missing_names_the_tools_and_how_to_provide_them() -> None:
    from quant_ai import QuantLocalToolMissingError

    QuantLocalToolMissingError.check("r1", "cb", ["add"], {"add": 1, "mul": 2})  # all present
    with pytest.raises(QuantLocalToolMissingError) as info:
        QuantLocalToolMissingError.check(
            "r1", "cb", ["mul", "add", "pow", "mul"], ["add"], how_to_provide="Bind them"
        )
    err = info.value
    assert (err.request_id, err.callback_id, err.tool_names, err.available) == (
        "r1",
        "cb",
        ["mul", "pow"],
        ["add"],
    )
    assert isinstance(err, LookupError)
    assert "'mul', 'pow'" in str(err)
    assert "Bind them, or resume with resume_execution('r1'" in str(err)
