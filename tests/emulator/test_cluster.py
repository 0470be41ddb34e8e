"""The multi-process emulator: several workers on one port, one shared rate limit, and the
stateful routes refused (they would answer from whichever worker took the connection)."""

from __future__ import annotations

import httpx
import pytest

from quant_ai.cli import build_parser
from quant_ai.emulator.cluster import EmulatorCluster
from tests.emulator.conftest import AUTH
from tests.emulator.helpers import chat_body, checked

CLOSE = {**AUTH, "Connection": "close"}  # a fresh connection each time: any worker may take it


@pytest.fixture(scope="module")
def cluster() -> EmulatorCluster:
    with EmulatorCluster(workers=2, rate_limit_rps=1000) as emu:
        yield emu


def test_every_worker_serves_the_port(cluster: EmulatorCluster) -> None:
    assert len(set(cluster.pids)) == 2
    with httpx.Client(base_url=cluster.api_base, headers=CLOSE) as http:
        pids = {http.get(cluster.base_url + "/_emulator/stats").json()["pid"] for _ in range(40)}
        answer = http.post("/ai/chat", json=chat_body("hello"))
    assert pids == set(cluster.pids)
    checked("chatInference", answer)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/ai/vector-db/collections", None),
        ("POST", "/ai/sessions", {"userId": "u"}),
        ("GET", "/ai/agents", None),
        ("GET", "/ai/chat/executions/req-1", None),
        ("POST", "/ai/chat", {**chat_body("durable"), "async": True}),
    ],
)
def test_stateful_routes_are_refused_with_a_reason(
    cluster: EmulatorCluster, method: str, path: str, body: object
) -> None:
    with httpx.Client(base_url=cluster.api_base, headers=CLOSE) as http:
        answer = http.request(method, path, json=body)
    assert answer.status_code == 501
    assert "--workers 1" in answer.json()["message"]


def test_a_buffered_chat_body_reaches_the_app_unchanged(cluster: EmulatorCluster) -> None:
    body = {**chat_body("not durable"), "async": False}
    with httpx.Client(base_url=cluster.api_base, headers=CLOSE) as http:
        answer = http.post("/ai/chat", json=body)
    checked("chatInference", answer)


def test_the_rate_limit_is_one_for_all_workers() -> None:
    with (
        EmulatorCluster(workers=2, rate_limit_rps=1, rate_limit_burst=3) as emu,
        httpx.Client(base_url=emu.api_base, headers=CLOSE) as http,
    ):
        codes = [http.post("/ai/embeddings", json={"input": f"t{i}"}).status_code for i in range(6)]
        pids = {http.get(emu.base_url + "/_emulator/stats").json()["pid"] for _ in range(20)}
    assert len(pids) == 2  # both workers answered, and together admitted only the burst
    assert codes == [200, 200, 200, 429, 429, 429]


def test_one_worker_refuses_nothing() -> None:
    with (
        EmulatorCluster(workers=1) as emu,
        httpx.Client(base_url=emu.api_base, headers=AUTH) as http,
    ):
        started = http.post("/ai/chat", json={**chat_body("durable"), "async": True})
        assert started.status_code == 202
        assert http.get(started.json()["pollUrl"]).is_success


def test_cli_takes_workers_and_rate_limit() -> None:
    args = build_parser().parse_args(
        ["emulator", "--workers", "4", "--rate-limit", "50", "--rate-burst", "10"]
    )
    assert (args.workers, args.rate_limit, args.rate_burst) == (4, 50.0, 10)


def test_bad_worker_count_is_refused() -> None:
    with pytest.raises(ValueError, match="workers"):
        EmulatorCluster(workers=0)


def test_strict_auth_holds_in_every_worker() -> None:
    with (
        EmulatorCluster(workers=2, api_key="qc_only", organization="acme") as emu,
        httpx.Client(base_url=emu.base_url) as http,
    ):
        assert emu.api_base.endswith("/organizations/acme")
        good = {"Authorization": "Bearer qc_only", "Connection": "close"}
        bad = {"Authorization": "Bearer qc_other", "Connection": "close"}
        for _ in range(6):  # fresh connections: both workers answer
            assert http.get(emu.api_base + "/ai/models", headers=good).status_code == 200
            assert http.get(emu.api_base + "/ai/models", headers=bad).status_code == 401
            other = emu.base_url + "/api/v3/organizations/other/ai/models"
            assert http.get(other, headers=good).status_code == 403
