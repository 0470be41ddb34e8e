"""Usage totals and the budget rule of the core, and the service's spend reports."""

from __future__ import annotations

import json
import pickle

import httpx
import pytest

from quant_ai import (
    QuantBudgetExceededError,
    QuantValidationError,
    Usage,
    UsageTotals,
    track_usage,
)
from tests.conftest import MakeClient


def test_budget_lets_the_reaching_call_return_and_stops_the_next(make_client: MakeClient) -> None:
    answer = {
        "response": {"role": "assistant", "content": "ok"},
        "model": "amazon.nova-lite-v1:0",
        "usage": {"inputTokens": 1, "outputTokens": 1, "totalTokens": 2, "costCents": 0.6},
    }
    client, transport = make_client(lambda r: httpx.Response(200, json=answer))
    msgs = [{"role": "user", "content": "hi"}]
    with track_usage(UsageTotals(max_cost_cents=1.0)) as spent:
        client.chat(messages=msgs)  # 0.6
        client.chat(messages=msgs)  # 1.2: reaches the budget, still returns
        with pytest.raises(QuantBudgetExceededError) as info:
            client.chat(messages=msgs)
        with pytest.raises(QuantBudgetExceededError):
            client.embed("not sent either")
    assert len(transport.requests) == 2
    assert spent.cost_cents == pytest.approx(1.2)
    assert info.value.max_cost_cents == 1.0
    assert info.value.spent_cents == pytest.approx(1.2)
    client.chat(messages=msgs)  # outside the block the budget no longer applies
    assert len(transport.requests) == 3


def test_nested_scopes_count_in_both_and_totals_by_model() -> None:
    outer, inner = UsageTotals(), UsageTotals()
    from quant_ai.usage import record_usage

    with track_usage(outer), track_usage(inner):
        record_usage(None, Usage(input_tokens=2, output_tokens=3, cost_cents=0.1), "m1")
    with track_usage(outer):
        record_usage(None, Usage(input_tokens=1, output_tokens=1, cost_cents=0.2), "m2")
    assert inner.requests == 1
    assert outer.requests == 2
    assert outer.total_tokens == 7
    assert outer.by_model["m2"]["cost_cents"] == pytest.approx(0.2)
    copy = pickle.loads(pickle.dumps(outer))
    assert copy.by_model == outer.by_model
    assert copy.cost_cents == outer.cost_cents


def test_negative_budget_is_refused() -> None:
    with pytest.raises(QuantValidationError):
        UsageTotals(max_cost_cents=-1)


def test_usage_reports_parse(make_client: MakeClient) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/usage/me"):
            return httpx.Response(200, json={"monthly": {"spendCents": 12, "requestCount": 3}})
        return httpx.Response(200, json={"orgTotal": {"spendCents": 40, "requestCount": 9}})

    client, _ = make_client(handler)
    assert client.usage.me().monthly.spend_cents == 12
    assert client.usage.spend().org_total.request_count == 9
    assert json.loads(json.dumps(client.usage.as_dict()))["requests"] == 0
