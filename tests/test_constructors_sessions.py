"""The session, agent and store classes take the same connection arguments as every adapter
class, refuse unknown ones naming the nearest valid one, and keep the key out of errors."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from langchain_quant import QuantAgent as LangChainAgent
from langchain_quant import QuantChatMessageHistory
from llama_index_quant import QuantAgent as LlamaAgent
from llama_index_quant import QuantChatStore
from quant_ai import QuantValidationError
from tests.key_hygiene import assert_no_secret

SECRET = "qc_live_s3cr3t_key_0123456789"
AGENT = "87087515-1285-5e52-9abe-c19771666409"

CLASSES: dict[str, Callable[..., Any]] = {
    "QuantChatMessageHistory": QuantChatMessageHistory,
    "QuantAgent (LangChain)": lambda **kw: LangChainAgent(agent_id=AGENT, **kw),
    "QuantChatStore": QuantChatStore,
    "QuantAgent (LlamaIndex)": lambda **kw: LlamaAgent(agent_id=AGENT, **kw),
}


@pytest.mark.parametrize("name", CLASSES)
def test_the_connection_arguments(name: str) -> None:
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
        core = obj.quant_client if hasattr(obj, "quant_client") else obj.client
        assert core.config.organization == "acme"
        assert core.config.base_url == "http://quant.internal"
        assert core.transport.timeout == httpx.Timeout(30.0, connect=2.0)
        assert core.max_retries == 5
        assert core.transport.default_headers == {"X-Team": "search"}


@pytest.mark.parametrize(
    ("name", "kwargs", "nearest"),
    [
        ("QuantChatMessageHistory", {"user_idd": "x"}, "user_id"),
        ("QuantAgent (LangChain)", {"sesion_id": "x"}, "session_id"),
        ("QuantChatStore", {"expiration_minute": 5}, "expiration_minutes"),
        ("QuantAgent (LlamaIndex)", {"max_tool_iteration": 3}, "max_tool_iterations"),
    ],
)
def test_unknown_arguments_name_the_nearest(
    name: str, kwargs: dict[str, Any], nearest: str
) -> None:
    with pytest.raises(QuantValidationError) as info:
        CLASSES[name](api_key=SECRET, **kwargs)
    assert f"did you mean '{nearest}'" in str(info.value)
    assert_no_secret(info.value, SECRET)


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("QuantChatMessageHistory", {"expiration_minutes": 2}),
        ("QuantChatMessageHistory", {"session_id": "not-a-uuid"}),
        ("QuantAgent (LangChain)", {"max_tool_iterations": 0}),
        ("QuantChatStore", {"expiration_minutes": 2000}),
        ("QuantAgent (LlamaIndex)", {"session_id": "s-1"}),
    ],
)
def test_bad_values_are_refused_without_the_key(name: str, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError) as info:
        CLASSES[name](api_key=SECRET, **kwargs)
    assert_no_secret(info.value, SECRET)
