"""The native routes of sessions, agents, usage and spend (their state: :mod:`.org`)."""

from __future__ import annotations

from starlette.responses import Response

from quant_ai.emulator.org import ORG_ROUTES, org_response
from quant_ai.emulator.routing import Ctx, Handler, OperationTable

__all__ = ["ROUTES"]

ROUTES = OperationTable()
"""``ORG_ROUTES``' operations, answered by :func:`quant_ai.emulator.org.org_response`."""


def _handler(op: str) -> Handler:
    async def handle(ctx: Ctx) -> Response:
        target = ctx.params.get("sessionId") or ctx.params.get("agentId") or ""
        return org_response(ctx.state.org, op, target, ctx)

    handle.__name__ = f"org_{op}"
    return handle


for _op, _route in ORG_ROUTES.items():
    ROUTES.operation(_op, route=_route)(_handler(_op))
