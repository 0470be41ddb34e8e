"""The Starlette application of one emulator server: it assembles the routes, nothing more.

Module map (imports point down this list; no module imports one that imports it back)::

    server          build_app: the app, the native dispatcher, the helper routes
      native_routes   the native chat/embeddings/images/executions/models handlers (ROUTES)
      vector_db       the vector database (/ai/vector-db/...: ROUTES, VectorDBState)
      openai_compat   the /oai/v1 routes (chat completions, embeddings, models)
        routing         Ctx, guarded (auth, faults, JSON, validation), OperationTable, errors
          state           EmulatorState: counters, fault counters, executions
          engine, native, executions, faults, images, embeddings, sse, catalog, text, config

To serve more native operations, write a module with an :class:`OperationTable` (see
:mod:`quant_ai.emulator.routing`) and add its table to :data:`NATIVE_TABLES`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from quant_ai._contract import load_schemas, operation_for
from quant_ai.emulator import native_routes, org_routes, vector_db
from quant_ai.emulator.openai_compat import openai_routes
from quant_ai.emulator.routing import Operation, OperationTable, guarded, json_response
from quant_ai.emulator.state import EmulatorState

__all__ = ["METHODS", "NATIVE_TABLES", "build_app", "native_operations"]

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
"""Methods the native catch-all route accepts (a method the spec lacks for a path is a 405)."""

NATIVE_TABLES: tuple[OperationTable, ...] = (
    native_routes.ROUTES,
    org_routes.ROUTES,
    vector_db.ROUTES,
)
"""The tables of served native operations; a new route module adds its table here."""


def native_operations(tables: tuple[OperationTable, ...] = NATIVE_TABLES) -> dict[str, Operation]:
    """Merge the tables into one ``operation id -> Operation`` map.

    Raises:
        ValueError: When two tables serve the same operation.
    """
    merged: dict[str, Operation] = {}
    for table in tables:
        for op_id, operation in table.items():
            if op_id in merged:
                raise ValueError(f"{op_id!r} is served by two route tables")
            merged[op_id] = operation
    return merged


def _path_params(operation: str, segments: list[str]) -> dict[str, str]:
    """The path parameters of ``operation`` by name, from the segments below ``/ai``."""
    template = str(load_schemas()["operations"][operation]["path"]).split("/")[2:]
    return {
        name[1:-1]: unquote(value)
        for name, value in zip(template, segments, strict=False)
        if name.startswith("{") and name.endswith("}")
    }


def make_native(
    state: EmulatorState, tables: tuple[OperationTable, ...] = NATIVE_TABLES
) -> Callable[[Request], Awaitable[Response]]:
    """Build the endpoint serving ``/api/v3/organi[sz]ations/{org}/ai/...``."""
    served = native_operations(tables)

    async def endpoint(request: Request) -> Response:
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        parts = raw_path.decode("latin-1").split("?", 1)[0].split("/")
        # ['', 'api', 'v3', 'organizations', '{org}', 'ai', ...]
        if len(parts) < 7 or parts[3] not in ("organizations", "organisations") or not parts[4]:
            return json_response(404, {"message": "Not found", "code": "NOT_FOUND"})
        below = "/ai/" + "/".join(parts[6:])
        op = operation_for(request.method, below)
        if op is None:
            allowed = [m for m in METHODS if operation_for(m, below) is not None]
            if allowed:
                return json_response(
                    405, {"message": "Method not allowed"}, headers={"Allow": ", ".join(allowed)}
                )
            return json_response(404, {"message": "Not found", "code": "NOT_FOUND"})
        operation = served.get(op)
        if operation is None:  # in the spec, not (yet) emulated
            return json_response(501, {"message": f"{op} is not served by the emulator"})
        return await guarded(
            state,
            request,
            operation.route,
            operation.handler,
            operation=op,
            params=_path_params(op, parts[6:]),
            org=unquote(parts[4]),
            segments=[unquote(p) for p in parts[6:]],
        )

    return endpoint


def build_app(
    state: EmulatorState, tables: tuple[OperationTable, ...] = NATIVE_TABLES
) -> Starlette:
    """Create the ASGI application of one emulator server.

    Args:
        state: The server's state.
        tables: The native operation tables served (default :data:`NATIVE_TABLES`).
    """

    async def stats(request: Request) -> Response:
        return json_response(200, {"requests": state.requests, "connections": state.connections})

    async def reset(request: Request) -> Response:
        state.reset()
        return json_response(200, {"reset": True})

    routes = [
        Route(
            "/api/v3/{spelling}/{org}/ai/{rest:path}",
            make_native(state, tables),
            methods=list(METHODS),
        ),
        *openai_routes(state),
        Route("/_emulator/stats", stats, methods=["GET"]),
        Route("/_emulator/reset", reset, methods=["POST"]),
    ]
    return Starlette(routes=routes)
