"""How every adapter class is constructed: one set of connection arguments, unknown arguments
refused (naming the nearest valid one) or passed on as chat wire fields, default headers on
the wire, and no API key in any constructor error."""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pydantic
import pytest

from langchain_quant import ChatQuant, NovaCanvasTool, QuantEmbeddings
from llama_index_quant import NovaCanvasToolSpec, QuantEmbedding, QuantLLM
from quant_ai import QuantError, QuantValidationError
from quant_ai.arguments import CONNECTION_ARGUMENTS
from tests.contract import ContractTransport, ai_path
from tests.key_hygiene import assert_no_secret

SECRET = "qc_live_s3cr3t_key_0123456789"

CLASSES: dict[str, Callable[..., Any]] = {
    "ChatQuant": ChatQuant,
    "QuantEmbeddings": QuantEmbeddings,
    "NovaCanvasTool": NovaCanvasTool,
    "QuantLLM": QuantLLM,
    "QuantEmbedding": QuantEmbedding,
    "NovaCanvasToolSpec": NovaCanvasToolSpec,
}

PNG_B64 = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="


def reply(request: httpx.Request) -> httpx.Response:
    """A spec-valid answer to each operation the classes use."""
    path = ai_path(request)
    body = json.loads(request.content)
    if path.endswith("/embeddings"):
        texts = body["input"]
        return httpx.Response(
            200,
            json={
                "embeddings": [[1.0, 0.0, 0.5] for _ in texts],
                "model": body["modelId"],
                "dimension": 3,
                "usage": {"inputTokens": 1, "totalTokens": 1},
            },
        )
    if path.endswith("/image-generation"):
        return httpx.Response(200, json={"images": [PNG_B64]})
    return httpx.Response(
        200,
        json={
            "response": {"role": "assistant", "content": "ok"},
            "model": body["modelId"],
            "requestId": "req-1",
            "finishReason": "stop",
            "usage": {"inputTokens": 5, "outputTokens": 3, "totalTokens": 8},
        },
    )


# --------------------------------------------------------------------------- refusals


REFUSALS: list[tuple[str, dict[str, Any], type[Exception], str, str]] = [
    # (class, arguments, error type, field named, message)
    ("ChatQuant", {"totally_bogus": 1}, QuantValidationError, "totally_bogus", "no argument"),
    ("ChatQuant", {"temprature": 0.2}, QuantValidationError, "temprature", "'temperature'"),
    ("ChatQuant", {"maxTokens": 9}, QuantValidationError, "maxTokens", "'max_tokens'"),
    ("ChatQuant", {"default_header": {}}, QuantValidationError, "", "'default_headers'"),
    ("ChatQuant", {"messages": []}, QuantValidationError, "messages", "no argument"),
    ("ChatQuant", {"max_retries": -1}, pydantic.ValidationError, "max_retries", "greater"),
    ("QuantEmbeddings", {"totally_bogus": 1}, QuantValidationError, "totally_bogus", "no arg"),
    ("QuantEmbeddings", {"dimension": 256}, QuantValidationError, "dimension", "'dimensions'"),
    ("QuantEmbeddings", {"dimensions": 300}, QuantValidationError, "dimensions", "256, 512"),
    ("QuantEmbeddings", {"batch_size": 101}, QuantValidationError, "batch_size", "1 to 100"),
    ("QuantEmbeddings", {"max_concurrency": 0}, QuantValidationError, "max_concurrency", "1"),
    ("QuantEmbeddings", {"temperature": 0}, QuantValidationError, "temperature", "no argument"),
    ("NovaCanvasTool", {"totally_bogus": 1}, QuantValidationError, "totally_bogus", "no arg"),
    ("NovaCanvasTool", {"output_directory": "x"}, QuantValidationError, "", "'output_dir'"),
    (
        "NovaCanvasTool",
        {"connect_timeout": 0},
        pydantic.ValidationError,
        "connect_timeout",
        "than 0",
    ),
    ("QuantLLM", {"totally_bogus": 1}, QuantValidationError, "totally_bogus", "no argument"),
    ("QuantLLM", {"temprature": 0.2}, QuantValidationError, "temprature", "'temperature'"),
    ("QuantLLM", {"allowedTools": ["x"]}, QuantValidationError, "allowedTools", "allowed_tools"),
    ("QuantLLM", {"default_header": {}}, QuantValidationError, "", "'default_headers'"),
    ("QuantLLM", {"timeout": 0}, pydantic.ValidationError, "timeout", "greater than 0"),
    ("QuantEmbedding", {"totally_bogus": 1}, QuantValidationError, "totally_bogus", "no arg"),
    ("QuantEmbedding", {"dimension": 256}, QuantValidationError, "dimension", "'dimensions'"),
    ("QuantEmbedding", {"dimensions": 300}, QuantValidationError, "dimensions", "256, 512"),
    ("QuantEmbedding", {"embed_batch_size": 101}, pydantic.ValidationError, "", "100"),
    (
        "QuantEmbedding",
        {"model_name": "amazon.titan-embed-text-v1:0", "dimensions": 256},
        QuantValidationError,
        "dimensions",
        "fixed size of 1536",
    ),
    ("NovaCanvasToolSpec", {"totally_bogus": 1}, QuantValidationError, "totally_bogus", "no a"),
    ("NovaCanvasToolSpec", {"output_directory": "x"}, QuantValidationError, "", "'output_dir'"),
    ("NovaCanvasToolSpec", {"max_retries": "many"}, pydantic.ValidationError, "max_retries", "int"),
]


@pytest.mark.parametrize(
    ("name", "kwargs", "error", "field", "message"),
    REFUSALS,
    ids=[f"{r[0]}-{next(iter(r[1]))}" for r in REFUSALS],
)
def test_constructor_refusals(
    name: str, kwargs: dict[str, Any], error: type[Exception], field: str, message: str
) -> None:
    with pytest.raises(error, match=message) as info:
        CLASSES[name](**kwargs)
    exc = info.value
    assert isinstance(exc, ValueError)  # both kinds are ValueErrors
    if isinstance(exc, QuantValidationError):
        assert exc.field == (field or next(iter(kwargs)))
        assert name in str(exc) or field in str(exc)
    else:
        assert isinstance(exc, pydantic.ValidationError)
        assert (field,) in [e["loc"] for e in exc.errors()] or not field


def test_unknown_argument_names_the_nearest_valid_one() -> None:
    for name in CLASSES:
        with pytest.raises(QuantValidationError, match="did you mean 'default_headers'"):
            CLASSES[name](default_header={"X": "y"})
        with pytest.raises(QuantValidationError, match="did you mean 'async_http_client'"):
            CLASSES[name](async_http_clent=None)


def test_chat_wire_fields_are_passed_on() -> None:
    with pytest.warns(UserWarning, match="allowedTools via model_kwargs") as caught:
        chat = ChatQuant(allowed_tools=["calculate"])
    assert chat.model_kwargs == {"allowedTools": ["calculate"]}
    assert caught[0].filename == __file__  # the warning points at the caller's line
    with pytest.warns(UserWarning, match="stopSequences via additional_kwargs"):
        llm = QuantLLM(stop_sequences=["END"])
    assert llm.additional_kwargs == {"stop_sequences": ["END"]}
    # other classes refuse chat wire fields
    for name in ("QuantEmbeddings", "QuantEmbedding", "NovaCanvasTool", "NovaCanvasToolSpec"):
        with pytest.raises(QuantValidationError, match="allowed_tools"):
            CLASSES[name](allowed_tools=["x"])


def test_chat_wire_fields_reach_the_wire() -> None:
    transport = ContractTransport(reply)
    http = httpx.Client(transport=transport)
    settings = {"api_key": "k", "organization": "acme", "base_url": "https://quant.test"}
    with pytest.warns(UserWarning, match="allowed_tools is not a ChatQuant argument"):
        chat = ChatQuant(http_client=http, allowed_tools=["calculate"], **settings)
    chat.invoke("hi")
    with pytest.warns(UserWarning, match="stop_sequences is not a QuantLLM argument"):
        llm = QuantLLM(http_client=http, stop_sequences=["END"], **settings)
    llm.complete("hi")
    assert transport.requests[0][1]["allowedTools"] == ["calculate"]
    assert transport.requests[1][1]["stopSequences"] == ["END"]


# --------------------------------------------------------------------------- one shape


def test_every_class_takes_the_same_connection_arguments() -> None:
    assert set(CONNECTION_ARGUMENTS) == {
        "api_key",
        "organization",
        "base_url",
        "timeout",
        "connect_timeout",
        "max_retries",
        "default_headers",
        "allow_insecure_http",
        "http_client",
        "async_http_client",
        "client",
    }
    for name, cls in CLASSES.items():
        with httpx.Client() as http, warnings.catch_warnings():
            warnings.simplefilter("error")
            obj = cls(
                api_key="k",
                organization="acme",
                base_url="http://quant.internal",
                timeout=30,
                connect_timeout=2,
                max_retries=5,
                default_headers={"X-Team": "search"},
                allow_insecure_http=True,
                http_client=http,
                async_http_client=None,
            )
            core = obj.quant_client if hasattr(obj, "quant_client") else obj.client
            assert core.config.organization == "acme", name
            assert core.config.base_url == "http://quant.internal", name
            assert core.transport.timeout == httpx.Timeout(30.0, connect=2.0), name
            assert core.max_retries == 5, name


def test_old_async_client_name_still_works_with_a_deprecation_warning() -> None:
    http = httpx.AsyncClient()
    for name in ("ChatQuant", "QuantEmbeddings", "NovaCanvasTool"):
        with pytest.warns(DeprecationWarning, match="use async_http_client"):
            obj = CLASSES[name](http_async_client=http)
        assert obj.async_http_client is http
        assert obj.http_async_client is http
    with pytest.raises(QuantValidationError, match="give async_http_client only"):
        ChatQuant(http_async_client=http, async_http_client=http)


# --------------------------------------------------------------------------- default headers


def _headers_handler(seen: list[httpx.Headers]) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return reply(request)

    return handler


CALLS: dict[str, Callable[[Any], Any]] = {
    "ChatQuant": lambda obj: obj.invoke("hi"),
    "QuantEmbeddings": lambda obj: obj.embed_query("hi"),
    "NovaCanvasTool": lambda obj: obj.invoke({"prompt": "a fox"}),
    "QuantLLM": lambda obj: obj.complete("hi"),
    "QuantEmbedding": lambda obj: obj.get_text_embedding("hi"),
    "NovaCanvasToolSpec": lambda obj: obj.generate_image("a fox"),
}

ACALLS: dict[str, Callable[[Any], Any]] = {
    "ChatQuant": lambda obj: obj.ainvoke("hi"),
    "QuantEmbeddings": lambda obj: obj.aembed_query("hi"),
    "NovaCanvasTool": lambda obj: obj.ainvoke({"prompt": "a fox"}),
    "QuantLLM": lambda obj: obj.acomplete("hi"),
    "QuantEmbedding": lambda obj: obj.aget_text_embedding("hi"),
    "NovaCanvasToolSpec": lambda obj: obj.agenerate_image("a fox"),
}


@pytest.mark.parametrize("name", list(CLASSES))
async def test_default_headers_reach_the_wire(name: str) -> None:
    seen: list[httpx.Headers] = []
    transport = ContractTransport(_headers_handler(seen))
    async with httpx.AsyncClient(transport=transport) as ahttp:
        with httpx.Client(transport=transport) as http:
            obj = CLASSES[name](
                api_key="qc_test_key",
                organization="acme",
                base_url="https://quant.test",
                default_headers={"X-Team": "search"},
                http_client=http,
                async_http_client=ahttp,
            )
            CALLS[name](obj)
            await ACALLS[name](obj)
    assert len(seen) == 2
    for headers in seen:
        assert headers["x-team"] == "search"
        assert headers["authorization"] == "Bearer qc_test_key"


# --------------------------------------------------------------------------- key hygiene


BAD: dict[str, list[dict[str, Any]]] = {
    "ChatQuant": [{"temperature": "hot"}, {"temprature": 1}, {"max_retries": -1}],
    "QuantEmbeddings": [{"dimensions": 300}, {"batch_size": 500}, {"bogus": 1}],
    "NovaCanvasTool": [{"input_dirs": 3}, {"output_directory": "x"}, {"timeout": "soon"}],
    "QuantLLM": [{"temperature": "hot"}, {"session_id": "not-a-uuid"}, {"temprature": 1}],
    "QuantEmbedding": [{"dimensions": 300}, {"embed_batch_size": 500}, {"bogus": 1}],
    "NovaCanvasToolSpec": [{"timeout": "soon"}, {"max_retries": -1}, {"bogus": 1}],
}


@pytest.mark.parametrize(
    ("name", "bad"),
    [(name, bad) for name, cases in BAD.items() for bad in cases],
    ids=[f"{name}-{next(iter(bad))}" for name, cases in BAD.items() for bad in cases],
)
def test_no_key_in_constructor_errors(name: str, bad: dict[str, Any]) -> None:
    with httpx.Client() as http, pytest.raises(ValueError) as info:
        CLASSES[name](
            api_key=SECRET,
            organization="acme",
            default_headers={"Authorization": f"Bearer {SECRET}", "X-Team": "search"},
            http_client=http,
            **bad,
        )
    exc = info.value
    assert isinstance(exc, QuantError | pydantic.ValidationError)
    assert exc.__cause__ is None
    assert exc.__context__ is None
    assert_no_secret(exc, SECRET)
    if isinstance(exc, pydantic.ValidationError):
        # the error still says which argument is wrong and what was given for it
        assert next(iter(bad)) in str(exc)
        detail = exc.errors()[0]
        if isinstance(detail["input"], dict):
            assert detail["input"]["api_key"] == "**********"
            assert detail["input"]["http_client"] == "<Client object>"


def test_no_key_in_errors_of_a_key_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QUANT_API_KEY", SECRET)
    for name in CLASSES:
        with pytest.raises(ValueError) as info:
            CLASSES[name](max_retries=-1)
        assert_no_secret(info.value, SECRET)


def test_the_plain_pydantic_error_would_have_held_the_key() -> None:
    """The check above can fail: pydantic's own error of the same input holds the key."""

    class Plain(pydantic.BaseModel):
        api_key: pydantic.SecretStr | None = None
        dimensions: int | None = None

        @pydantic.model_validator(mode="after")
        def _dims(self) -> Plain:
            if self.dimensions == 300:
                raise ValueError("dimensions: 300 is not supported")
            return self

    with pytest.raises(pydantic.ValidationError) as info:
        Plain(api_key=SECRET, dimensions=300)
    with pytest.raises(AssertionError, match="errors"):
        assert_no_secret(info.value, SECRET)
