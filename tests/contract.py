"""Contract checks shared by the tests: every request the client sends, and every response
fixture the tests serve, is validated against the schemas derived from the official spec."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx

from quant_ai._contract import load_schemas, operation_for, validate_request, validate_response

AI_PREFIX = "/api/v3/organizations/"

Handler = Callable[[httpx.Request], httpx.Response]


def ai_path(request: httpx.Request) -> str:
    """The path below the organisation (``/ai/...``)."""
    path = request.url.raw_path.decode().split("?", 1)[0]
    assert path.startswith(AI_PREFIX), path
    rest = path[len(AI_PREFIX) :]
    return "/" + rest.split("/", 1)[1]


def check_request(request: httpx.Request) -> tuple[str, Any]:
    """Validate a request against the spec; return its operation id and decoded body."""
    op = operation_for(request.method, ai_path(request))
    assert op is not None, f"{request.method} {request.url} is not an AI operation of the spec"
    body = json.loads(request.content) if request.content else None
    if "request" in load_schemas()["operations"][op]:  # POST, and DELETE with a body
        validate_request(op, body)
    else:
        assert not request.content, f"{op} takes no body"
    assert request.headers["authorization"].startswith("Bearer ")
    return op, body


def check_response(op: str, response: httpx.Response) -> None:
    """Validate a response fixture against the spec when its status has a documented body."""
    ctype = response.headers.get("content-type", "")
    documented = str(response.status_code) in load_schemas()["operations"][op]["responses"]
    if response.status_code < 300 and "json" in ctype and documented:
        validate_response(op, response.status_code, json.loads(response.content))


class ContractTransport(httpx.MockTransport):
    """A MockTransport that validates every exchange and records the requests."""

    def __init__(self, handler: Handler, *, check_responses: bool = True) -> None:
        self.requests: list[tuple[str, Any]] = []

        def wrapped(request: httpx.Request) -> httpx.Response:
            op, body = check_request(request)
            self.requests.append((op, body))
            response = handler(request)
            if check_responses:
                check_response(op, response)
            return response

        super().__init__(wrapped)
