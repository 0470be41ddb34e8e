"""QuantVectorStore and QuantRetriever follow the construction rules of every adapter class
(tests/test_constructors.py): h3's connection arguments, unknown arguments refused naming the
nearest valid one, default headers on the wire, no API key in any constructor error."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pydantic
import pytest

from langchain_quant import QuantRetriever, QuantVectorStore
from quant_ai import QuantError, QuantValidationError
from tests.contract import ContractTransport, ai_path
from tests.key_hygiene import assert_no_secret

SECRET = "qc_live_s3cr3t_key_0123456789"
CID = "6f1c1f9e-1e43-4a4b-9d5c-2d6f7f3b9a01"
CLASSES: dict[str, Callable[..., Any]] = {
    "QuantVectorStore": functools.partial(QuantVectorStore, collection=CID),
    "QuantRetriever": functools.partial(QuantRetriever, collection=CID),
}


def reply(request: httpx.Request) -> httpx.Response:
    """A spec-valid empty search answer."""
    assert ai_path(request).endswith("/query")
    return httpx.Response(200, json={"results": [], "count": 0, "searchMode": "text"})


@pytest.mark.parametrize("name", list(CLASSES))
def test_unknown_argument_names_the_nearest_valid_one(name: str) -> None:
    with pytest.raises(QuantValidationError, match="did you mean 'default_headers'"):
        CLASSES[name](default_header={"X": "y"})
    with pytest.raises(QuantValidationError, match="did you mean 'collection'"):
        CLASSES[name](colection="x")


@pytest.mark.parametrize("name", list(CLASSES))
def test_the_shared_connection_arguments(name: str) -> None:
    with httpx.Client() as http, warnings.catch_warnings():
        warnings.simplefilter("error")
        obj = CLASSES[name](
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
        core = obj.quant_client
        assert core.config.organization == "acme"
        assert core.config.base_url == "http://quant.internal"
        assert core.transport.timeout == httpx.Timeout(30.0, connect=2.0)
        assert core.max_retries == 5


@pytest.mark.parametrize("name", list(CLASSES))
async def test_default_headers_reach_the_wire(name: str) -> None:
    seen: list[httpx.Headers] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers)
        return reply(request)

    transport = ContractTransport(handler)
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
            if isinstance(obj, QuantVectorStore):
                assert obj.similarity_search("hello") == []
                assert await obj.asimilarity_search("hello") == []
            else:
                assert obj.invoke("hello") == []
                assert await obj.ainvoke("hello") == []
    assert len(seen) == 2
    for headers in seen:
        assert headers["x-team"] == "search"
        assert headers["authorization"] == "Bearer qc_test_key"


BAD: list[tuple[str, dict[str, Any]]] = [
    ("QuantVectorStore", {"dimensions": "big"}),
    ("QuantVectorStore", {"batch_sise": 5}),
    ("QuantVectorStore", {"max_retries": -1}),
    ("QuantRetriever", {"k": "three"}),
    ("QuantRetriever", {"top_k": 3}),
    ("QuantRetriever", {"max_retries": -1}),
]


@pytest.mark.parametrize(("name", "bad"), BAD, ids=[f"{n}-{next(iter(b))}" for n, b in BAD])
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
    assert_no_secret(exc, SECRET)
    assert next(iter(bad)) in str(exc)
