"""JSON schemas of the Quant AI operations, derived from the official OpenAPI spec.

``ai_schemas.json`` is produced by ``scripts/derive_schemas.py`` and committed. The emulator
validates every request it receives against it, and the test-suite validates every request the
client sends. ``jsonschema`` is needed only here (the ``emulator`` extra and the test group), so
importing :mod:`quant_ai` never loads it.
"""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from functools import cache
from importlib import resources
from typing import Any

__all__ = [
    "OPERATIONS",
    "ContractViolation",
    "load_schemas",
    "operation_for",
    "request_errors",
    "response_errors",
    "validate_request",
    "validate_response",
]


class ContractViolation(AssertionError):
    """A body does not match the spec-derived schema."""

    def __init__(self, operation: str, where: str, errors: list[tuple[str, str]]) -> None:
        self.operation = operation
        self.errors = errors
        lines = "; ".join(f"{path or '<root>'}: {msg}" for path, msg in errors[:5])
        super().__init__(f"{operation} {where} does not match the spec: {lines}")


@cache
def load_schemas() -> dict[str, Any]:
    """Return the whole derived schema document (cached)."""
    text = resources.files(__package__).joinpath("ai_schemas.json").read_text("utf-8")
    doc: dict[str, Any] = json.loads(text)
    return doc


def _operations() -> dict[str, Any]:
    ops: dict[str, Any] = load_schemas()["operations"]
    return ops


OPERATIONS: tuple[str, ...] = (
    "chatInference",
    "chatInferenceStream",
    "embeddings",
    "imageGeneration",
    "getDurableExecutionStatus",
    "submitToolCallback",
    "listAIModels",
    "getAIModel",
    # The second wave (sessions, agents, usage, spend, vector database, tools): schemas only
    # until the client and the emulator serve them.
    "listAISessions",
    "createAISession",
    "deleteAISession",
    "getAISession",
    "updateAISession",
    "extendAISession",
    "getMyUsage",
    "getGovernanceSpend",
    "getAIUsageStats",
    "listAIAgents",
    "createAIAgent",
    "deleteAIAgent",
    "getAIAgent",
    "updateAIAgent",
    "chatWithAIAgent",
    "listVectorCollections",
    "createVectorCollection",
    "deleteVectorCollection",
    "getVectorCollection",
    "deleteVectorDocuments",
    "listVectorDocuments",
    "uploadVectorDocuments",
    "queryVectorCollection",
    "listAITools",
    "getAIToolExecutionStatus",
    "getAIOrchestrationStatus",
)


def _check_byte(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def _check_uuid(value: object) -> bool:
    if not isinstance(value, str):
        return True
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@cache
def _validator(operation: str, kind: str, status: str = "") -> Any:
    import jsonschema

    op = _operations()[operation]
    schema = op["request"] if kind == "request" else op["responses"][status]["schema"]
    checker = jsonschema.FormatChecker(formats=())
    checker.checks("byte")(_check_byte)
    checker.checks("uuid")(_check_uuid)
    cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
    return cls(schema, format_checker=checker)


def _path(error: Any) -> str:
    return ".".join(str(p) for p in error.absolute_path)


def _collect(validator: Any, body: Any) -> list[tuple[str, str]]:
    errors = []
    for err in sorted(validator.iter_errors(body), key=lambda e: list(map(str, e.path))):
        # For oneOf failures, point at the most specific sub-error when there is one.
        best = err
        while best.context:
            best = max(best.context, key=lambda e: (len(e.absolute_path), -len(e.message)))
        errors.append((_path(best), best.message))
    return errors


def request_errors(operation: str, body: Any) -> list[tuple[str, str]]:
    """Return ``(field path, message)`` for each way ``body`` breaks the request schema.

    Stream requests are checked against their own (loose) schema and, because the spec's prose
    says the same content blocks are used, against the buffered chat schema as well.
    """
    errors = _collect(_validator(operation, "request"), body)
    if operation == "chatInferenceStream" and isinstance(body, dict):
        errors += _collect(_validator("chatInference", "request"), body)
    return errors


def response_errors(operation: str, status: int | str, body: Any) -> list[tuple[str, str]]:
    """Return the schema errors of a response body (empty when it conforms)."""
    responses = _operations()[operation]["responses"]
    key = str(status)
    if key not in responses:
        return [("", f"status {key} has no documented body for {operation}")]
    if responses[key]["contentType"] != "application/json":
        return [] if isinstance(body, str) else [("", "expected a text body")]
    return _collect(_validator(operation, "response", key), body)


def validate_request(operation: str, body: Any) -> None:
    """Raise :class:`ContractViolation` unless ``body`` matches the operation's request schema."""
    errors = request_errors(operation, body)
    if errors:
        raise ContractViolation(operation, "request", errors)


def validate_response(operation: str, status: int | str, body: Any) -> None:
    """Raise :class:`ContractViolation` unless ``body`` matches the documented response."""
    errors = response_errors(operation, status, body)
    if errors:
        raise ContractViolation(operation, f"{status} response", errors)


def operation_for(method: str, path: str) -> str | None:
    """Map a request (method and path below ``/ai``) to its operation id, or ``None``."""
    method = method.upper()
    for op_id, op in _operations().items():
        if op["method"] != method:
            continue
        pattern = op["path"].split("/")
        parts = path.split("/")
        if len(pattern) != len(parts):
            continue
        if all(p == q or (p.startswith("{") and q) for p, q in zip(pattern, parts, strict=True)):
            return str(op_id)
    return None
