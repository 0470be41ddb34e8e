"""The constructor-argument rules shared by the adapters (quant_ai.arguments)."""

from __future__ import annotations

import pickle
import warnings
from typing import Any

import httpx
import pydantic
import pytest

from quant_ai import QuantClient, QuantValidationError
from quant_ai.arguments import (
    REDACTED,
    chat_wire_field,
    check_arguments,
    constructor_error,
    nearest_name,
    rename_deprecated,
    resolve_timeout,
)
from tests.key_hygiene import assert_no_secret

SECRET = "qc_secret_value_42424242"


def test_nearest_name() -> None:
    valid = ["temperature", "max_tokens", "top_p", "default_headers", "dimensions"]
    assert nearest_name("temprature", valid) == "temperature"
    assert nearest_name("maxTokens", valid) == "max_tokens"  # another spelling of the same
    assert nearest_name("MAX-TOKENS", valid) == "max_tokens"
    assert nearest_name("default_header", valid) == "default_headers"
    assert nearest_name("dimension", valid) == "dimensions"
    assert nearest_name("zzzz", valid) is None


def test_chat_wire_fields() -> None:
    assert chat_wire_field("allowed_tools") == "allowed_tools"
    assert chat_wire_field("allowedTools") == "allowed_tools"
    assert chat_wire_field("longContext") == "long_context"
    for per_call in ("messages", "stream", "async", "modelId", "systemPrompt", "toolConfig"):
        assert chat_wire_field(per_call) is None
    assert chat_wire_field("topK") is None
    assert chat_wire_field("temprature") is None


def test_check_arguments() -> None:
    valid = {"model", "temperature", "model_kwargs"}
    assert check_arguments("C", {"model": "m"}, valid) == {"model": "m"}
    with pytest.raises(QuantValidationError, match="C has no argument 'temprature'; did you") as e:
        check_arguments("C", {"temprature": 1}, valid)
    assert e.value.field == "temprature"
    with pytest.raises(QuantValidationError, match="allowed_tools"):
        check_arguments("C", {"allowed_tools": ["a"]}, valid)  # no pass-on: refused
    with pytest.warns(UserWarning, match="sent as the wire field allowedTools via model_kwargs"):
        out = check_arguments(
            "C",
            {"allowed_tools": ["a"], "model_kwargs": {"guardrails": {}}},
            valid,
            pass_on_into="model_kwargs",
        )
    assert out == {"model_kwargs": {"guardrails": {}, "allowedTools": ["a"]}}
    with pytest.warns(UserWarning, match="allowedTools is not a C argument"):
        out = check_arguments(
            "C", {"allowedTools": ["a"]}, valid, pass_on_into="model_kwargs", wire_names=False
        )
    assert out == {"model_kwargs": {"allowed_tools": ["a"]}}
    # a wire name of a field the class has under another name is refused, not passed on
    with pytest.raises(QuantValidationError, match="'temperature'"):
        check_arguments("C", {"Temperature": 1}, valid, pass_on_into="model_kwargs")


def test_rename_deprecated() -> None:
    client = object()
    with pytest.warns(DeprecationWarning, match=r"C\(http_async_client=...\) is deprecated"):
        assert rename_deprecated("C", {"http_async_client": client}) == {
            "async_http_client": client
        }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rename_deprecated("C", {"a": 1}) == {"a": 1}


def test_resolve_timeout() -> None:
    assert resolve_timeout(None, None) is None
    assert resolve_timeout(5, None) == 5
    assert resolve_timeout(None, 2) == httpx.Timeout(120.0, connect=2.0)
    assert resolve_timeout(30, 2) == httpx.Timeout(30.0, connect=2.0)
    both = resolve_timeout(httpx.Timeout(30.0, write=7.0), 1)
    assert both == httpx.Timeout(30.0, connect=1.0, write=7.0)


class Model(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(arbitrary_types_allowed=True)

    api_key: pydantic.SecretStr | None = None
    dimensions: int | None = None
    headers: dict[str, str] | None = None
    client: Any = None

    @pydantic.model_validator(mode="after")
    def _check(self) -> Model:
        if self.dimensions == 1:
            raise ValueError(
                f"bad dimensions with key {self.api_key and self.api_key.get_secret_value()}"
            )
        if self.dimensions == 2:
            raise QuantValidationError("dimensions: 2 is refused", field="dimensions")
        return self


def error_of(**kwargs: Any) -> pydantic.ValidationError:
    try:
        Model(**kwargs)
    except pydantic.ValidationError as exc:
        return exc
    raise AssertionError("no error")


def test_constructor_error_removes_the_key_everywhere() -> None:
    arguments: dict[str, Any] = {
        "api_key": SECRET,
        "dimensions": 1,
        "headers": {"Authorization": f"Bearer {SECRET}", "X-Team": "a"},
        "client": QuantClient(api_key=SECRET, organization="o"),
    }
    original = error_of(**arguments)
    assert SECRET in str(original.errors())  # what pydantic alone gives
    clean = constructor_error(original, arguments)
    assert isinstance(clean, pydantic.ValidationError)
    assert_no_secret(clean, SECRET)
    detail = clean.errors()[0]
    assert detail["input"] == {
        "api_key": REDACTED,
        "dimensions": 1,
        "headers": {"Authorization": REDACTED, "X-Team": "a"},
        "client": "<QuantClient object>",
    }
    assert detail["msg"] == f"Value error, bad dimensions with key {REDACTED}"
    assert clean.title == "Model"
    assert pickle.loads(pickle.dumps(clean)).errors() == clean.errors()


def test_constructor_error_gives_back_a_core_error() -> None:
    original = error_of(api_key=SECRET, dimensions=2)
    clean = constructor_error(original, {"api_key": SECRET, "dimensions": 2})
    assert isinstance(clean, QuantValidationError)
    assert clean.field == "dimensions"
    assert str(clean) == "dimensions: 2 is refused"
    assert_no_secret(clean, SECRET)


def test_constructor_error_keeps_field_errors_readable() -> None:
    original = error_of(api_key=SECRET, dimensions="many")
    clean = constructor_error(original, {"api_key": SECRET, "dimensions": "many"})
    assert isinstance(clean, pydantic.ValidationError)
    assert [(e["loc"], e["type"], e["input"]) for e in clean.errors()] == [
        (("dimensions",), "int_parsing", "many")
    ]
    assert "dimensions" in str(clean)
