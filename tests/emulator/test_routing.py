"""The emulator's route structure: the operation table, path parameters, methods, 404/405/501."""

from __future__ import annotations

import httpx
import pytest
from starlette.responses import Response
from starlette.testclient import TestClient

from quant_ai.emulator import EmulatorConfig, native_routes, org_routes, vector_db
from quant_ai.emulator.routing import Ctx, HandlerError, OperationTable, json_response
from quant_ai.emulator.server import NATIVE_TABLES, build_app, native_operations
from quant_ai.emulator.state import EmulatorState
from tests.emulator.conftest import AUTH

SESSION = "9b2f1f7e-0d9e-4a57-9b43-3a8a1f1e2c11"


def extra_table() -> OperationTable:
    table = OperationTable()

    @table.operation("deleteAISession", route="sessions")
    async def delete_session(ctx: Ctx) -> Response:
        if ctx.params["sessionId"] == "missing":
            raise HandlerError(404, "Session not found")
        return json_response(
            200,
            {
                "deleted": ctx.params["sessionId"],
                "method": ctx.request.method,
                "org": ctx.org,
                "segments": ctx.segments,
            },
        )

    @table.operation("extendAISession", route="sessions")
    async def extend_session(ctx: Ctx) -> Response:
        return json_response(200, {"id": ctx.params["sessionId"], "body": ctx.body})

    return table


@pytest.fixture
def app_client() -> TestClient:
    state = EmulatorState(EmulatorConfig())
    # The sessions module serves these operations for real; the first-wave table plus a test
    # table show how a module contributes PUT and DELETE operations.
    app = build_app(state, (native_routes.ROUTES, extra_table()))
    return TestClient(app, base_url="http://emulator.test/api/v3/organizations/acme", headers=AUTH)


def test_a_module_contributes_operations_with_put_and_delete(app_client: TestClient) -> None:
    r = app_client.delete(f"/ai/sessions/{SESSION}")
    assert r.status_code == 200
    assert r.json() == {
        "deleted": SESSION,
        "method": "DELETE",
        "org": "acme",
        "segments": ["sessions", SESSION],
    }
    r = app_client.delete("/ai/sessions/missing")
    assert r.status_code == 404
    assert r.json() == {"message": "Session not found"}
    r = app_client.put(f"/ai/sessions/{SESSION}/extend", json={"additionalMinutes": 60})
    assert r.status_code == 200
    assert r.json() == {"id": SESSION, "body": {"additionalMinutes": 60}}


def test_put_bodies_are_validated_against_the_spec(app_client: TestClient) -> None:
    r = app_client.put(f"/ai/sessions/{SESSION}/extend", json={"additionalMinutes": 0})
    assert r.status_code == 400
    assert list(r.json()["errors"]) == ["additionalMinutes"]
    r = app_client.put(f"/ai/sessions/{SESSION}/extend", content=b"{not json")
    assert r.status_code == 400
    assert "body" in r.json()["errors"]


def test_auth_and_faults_guard_contributed_routes(app_client: TestClient) -> None:
    r = app_client.delete(f"/ai/sessions/{SESSION}", headers={"Authorization": ""})
    assert r.status_code == 401
    r = app_client.delete(f"/ai/sessions/{SESSION}", headers={"X-Emulator-Fault": "status=503"})
    assert r.status_code == 503
    assert r.headers["retry-after"] == "0"


def test_spec_operations_without_a_handler_are_501(client: httpx.Client) -> None:
    for method, path in [
        ("GET", "/ai/tools"),
        ("GET", "/ai/tools/executions/x1"),
        ("GET", "/ai/usage"),
    ]:
        r = client.request(method, path)
        assert r.status_code == 501, (method, path)
        assert "is not served by the emulator" in r.json()["message"]


def test_methods_the_spec_lacks_are_405_with_allow(client: httpx.Client) -> None:
    r = client.request("PATCH", "/ai/chat")
    assert r.status_code == 405
    assert r.headers["allow"] == "POST"
    r = client.delete("/ai/models")
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    r = client.post(f"/ai/sessions/{SESSION}")
    assert r.status_code == 405
    assert set(r.headers["allow"].split(", ")) == {"GET", "PUT", "DELETE"}
    assert client.delete("/ai/nothing/here").status_code == 404


def test_the_table_refuses_unknown_and_duplicate_operations() -> None:
    table = OperationTable()

    async def handler(ctx: Ctx) -> Response:
        return json_response(200, {})

    with pytest.raises(ValueError, match="not an operation of the spec"):
        table.operation("makeCoffee")(handler)
    table.operation("getAISession")(handler)
    with pytest.raises(ValueError, match="registered twice"):
        table.operation("getAISession")(handler)
    with pytest.raises(ValueError, match="served by two route tables"):
        native_operations((*NATIVE_TABLES, *NATIVE_TABLES))


def test_the_native_table_serves_the_eight_first_wave_operations() -> None:
    assert sorted(native_operations((native_routes.ROUTES,))) == sorted(
        [
            "chatInference",
            "chatInferenceStream",
            "embeddings",
            "imageGeneration",
            "getDurableExecutionStatus",
            "submitToolCallback",
            "listAIModels",
            "getAIModel",
        ]
    )
    assert native_operations()["embeddings"].route == "embeddings"  # route_latency_ms key
    # sessions, agents, usage and spend come from their own table
    assert set(org_routes.ROUTES) == {
        "createAISession",
        "listAISessions",
        "getAISession",
        "updateAISession",
        "extendAISession",
        "deleteAISession",
        "listAIAgents",
        "getAIAgent",
        "createAIAgent",
        "updateAIAgent",
        "deleteAIAgent",
        "chatWithAIAgent",
        "getMyUsage",
        "getGovernanceSpend",
    }
    assert set(org_routes.ROUTES) <= set(native_operations())
    assert native_operations()["chatWithAIAgent"].route == "agent_chat"
    assert set(native_operations()) == (
        set(native_routes.ROUTES) | set(org_routes.ROUTES) | vector_db.VECTOR_OPERATIONS
    )
    assert native_operations()["queryVectorCollection"].route == "vector_db"
