"""Error messages say each thing once, and every error survives a pickle round trip."""

from __future__ import annotations

import json
import pickle

import pytest

from quant_ai.errors import (
    QuantAPIError,
    QuantError,
    QuantExecutionFailedError,
    QuantExecutionTimeoutError,
    QuantLocalToolError,
    QuantLocalToolMissingError,
    QuantRateLimitError,
    QuantStreamError,
    QuantValidationError,
    error_for_status,
)


def test_a_laravel_400_states_its_error_once() -> None:
    body = {"message": "messages.0.role: bad role", "errors": {"messages.0.role": ["bad role"]}}
    error = error_for_status(400, json.dumps(body).encode())
    assert str(error) == "HTTP 400: messages.0.role: bad role"
    assert str(error).count("bad role") == 1


def test_errors_not_in_the_message_are_listed() -> None:
    body = {"message": "The given data was invalid.", "errors": {"a": ["x"], "b": ["y", "z"]}}
    error = error_for_status(422, json.dumps(body).encode())
    assert str(error) == "HTTP 422: The given data was invalid. (a: x, b: y; z)"
    body = {"message": "a: x (and 1 more errors)", "errors": {"a": ["x"], "b": ["y"]}}
    assert str(error_for_status(400, json.dumps(body).encode())).count("a: x") == 1


@pytest.mark.parametrize(
    "error",
    [
        QuantValidationError("f: bad", field="f"),
        error_for_status(404, b'{"message": "Model not found", "code": "MODEL_NOT_FOUND"}'),
        QuantRateLimitError("slow down", retry_after=2.5, status_code=429),
        QuantStreamError("cut", partial_text="half", request_id="r1"),
        QuantExecutionFailedError("r1", "Boom", "it broke"),
        QuantExecutionTimeoutError("r1", 30, "running"),
        QuantLocalToolMissingError("r1", "cb", ["a"], ["b"]),
        QuantLocalToolError("r1", "cb", "a"),
    ],
    ids=lambda e: type(e).__name__,
)
def test_every_error_pickles(error: QuantError) -> None:
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert copy.args == error.args
    assert vars(copy) == vars(error)
    if isinstance(error, QuantAPIError):
        assert copy.status_code == error.status_code
