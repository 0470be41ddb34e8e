"""The native routes of sessions, agents, usage and spend (their state: :mod:`.org`).

Agents search their allowed collections in the emulator's vector database
(:mod:`.vector_db`): the agents' ``collection_search`` hook is set to it on the first agent
chat, unless a test set a hook of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.responses import Response

from quant_ai.emulator import embeddings as emb
from quant_ai.emulator.agents import CollectionSearch
from quant_ai.emulator.org import ORG_ROUTES, org_response
from quant_ai.emulator.routing import Ctx, Handler, OperationTable
from quant_ai.emulator.vector_db import vector_state

__all__ = ["ROUTES", "vector_db_search"]

ROUTES = OperationTable()
"""``ORG_ROUTES``' operations, answered by :func:`quant_ai.emulator.org.org_response`."""


def vector_db_search(state: Any) -> CollectionSearch:
    """The agents' collection hook over the emulator's vector database (top-k, no threshold)."""

    def search(org: str, collection: str, query: str, limit: int) -> Sequence[str]:
        vdb = vector_state(state)
        found = vdb.find(org, collection)
        if found is None:
            return []
        hits = vdb.search(found, emb.embed_text(query, found.dimensions), limit=limit)
        return [doc.content for doc, _ in hits]

    return search


def _handler(op: str) -> Handler:
    async def handle(ctx: Ctx) -> Response:
        org = ctx.state.org
        if op == "chatWithAIAgent" and org.agents.collection_search is None:
            org.agents.collection_search = vector_db_search(ctx.state)
        target = ctx.params.get("sessionId") or ctx.params.get("agentId") or ""
        return org_response(org, op, target, ctx)

    handle.__name__ = f"org_{op}"
    return handle


for _op, _route in ORG_ROUTES.items():
    ROUTES.operation(_op, route=_route)(_handler(_op))
