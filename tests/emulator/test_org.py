"""Sessions, agents, usage and spend served by the emulator (requests validated by the
emulator against the spec; responses checked against the spec by the ``client`` fixture)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from quant_ai import QuantClient, QuantNotFoundError, UsageTotals, track_usage
from quant_ai.emulator import QuantEmulator

AUTH = {"Authorization": "Bearer qc_test_token"}


@pytest.fixture
def emu() -> Iterator[QuantEmulator]:
    with QuantEmulator(execution_polls_per_state=0) as emulator:
        yield emulator


@pytest.fixture
def qc(emu: QuantEmulator) -> Iterator[QuantClient]:
    with QuantClient(api_key="qc_x", organization="acme", base_url=emu.base_url) as client:
        yield client


def test_session_lifecycle_with_spec_checked_responses(client: httpx.Client) -> None:
    created = client.post(
        "/ai/sessions",
        json={"userId": "ada", "initialMessages": [{"role": "user", "content": "hi"}]},
    )
    assert created.status_code == 201
    sid = created.json()["sessionId"]
    updated = client.put(
        f"/ai/sessions/{sid}", json={"newMessages": [{"role": "assistant", "content": "hello"}]}
    )
    assert updated.json()["totalMessages"] == 2
    got = client.get(f"/ai/sessions/{sid}").json()
    assert got["id"] == sid
    assert [m["content"] for m in got["messages"]] == ["hi", "hello"]
    listed = client.get("/ai/sessions", params={"userId": "ada", "limit": 100}).json()
    assert sid in [s["id"] for s in listed]
    assert (
        client.put(f"/ai/sessions/{sid}/extend", json={"additionalMinutes": 5}).status_code == 200
    )
    assert client.delete(f"/ai/sessions/{sid}").status_code == 200
    assert client.get(f"/ai/sessions/{sid}").status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/ai/sessions", {"userId": "a", "expirationMinutes": 4}, "expirationMinutes"),
        (
            "/ai/sessions",
            {"userId": "a", "initialMessages": [{"role": "tool", "content": "x"}]},
            "initialMessages.0.role",
        ),
        ("/ai/sessions", {"expirationMinutes": 60}, "userId"),
        (
            "/ai/agents",
            {
                "name": "a",
                "description": "d",
                "systemPrompt": "p",
                "modelId": "amazon.nova-lite-v1:0",
                "temperature": 2,
            },
            "temperature",
        ),
    ],
)
def test_invalid_requests_are_refused_naming_the_field(
    client: httpx.Client, path: str, body: dict[str, object], field: str
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_expired_session_answers_404(emu: QuantEmulator, qc: QuantClient) -> None:
    sessions = emu.state.org.sessions
    now = [1_800_000_000.0]
    sessions.clock = lambda: now[0]
    sid = qc.sessions.create("ada", expiration_minutes=5).session_id
    now[0] += 4 * 60
    qc.sessions.extend(sid, 2)  # now expires 7 minutes after creation
    now[0] += 2 * 60
    assert qc.sessions.get(sid).id == sid
    now[0] += 60
    with pytest.raises(QuantNotFoundError, match="expired"):
        qc.sessions.get(sid)
    agent = qc.agents.list()[0].agent_id
    with pytest.raises(QuantNotFoundError, match="expired"):
        qc.agents.chat(agent, "still there?", session_id=sid)


def test_agent_keeps_the_session_and_uses_its_tools(qc: QuantClient) -> None:
    agent = qc.agents.list()[0]
    assert "get_weather" in agent.allowed_tools
    first = qc.agents.chat(agent.agent_id, "What is the weather in Paris?", user_id="ada")
    assert "get_weather" in first.text
    assert first.response.tool_results
    second = qc.agents.chat(agent.agent_id, "What is 6 times 7?", session_id=first.session_id)
    assert second.session_id == first.session_id
    assert "42" in second.text
    turns = qc.sessions.get(first.session_id).messages
    assert [t.role for t in turns] == ["user", "assistant", "user", "assistant"]
    assert turns[3].content == second.text


def test_agent_system_prompt_and_created_agents(qc: QuantClient) -> None:
    created = qc.agents.create(
        name="Docs",
        description="Answers from context",
        system_prompt="Context: The office opens at 9am. Parking is free on Sundays.",
        model_id="amazon.nova-lite-v1:0",
    )
    assert qc.agents.get(created.agent_id).name == "Docs"
    answer = qc.agents.chat(created.agent_id, "When does the office open?")
    assert answer.text == "The office opens at 9am."
    qc.agents.delete(created.agent_id)
    with pytest.raises(QuantNotFoundError):
        qc.agents.get(created.agent_id)


def test_agent_collections_go_through_the_search_hook(emu: QuantEmulator, qc: QuantClient) -> None:
    seen: list[tuple[str, str, str]] = []

    def search(org: str, collection: str, query: str, limit: int) -> list[str]:
        seen.append((org, collection, query))
        return ["Refunds take 5 business days.", "Shipping is free over 50 dollars."]

    emu.state.org.agents.collection_search = search
    agent = qc.agents.create(
        name="Kb",
        description="kb",
        system_prompt="Answer from the knowledge base.",
        model_id="amazon.nova-lite-v1:0",
        allowed_collections=["kb-1", "kb-2"],
    )
    answer = qc.agents.chat(
        agent.agent_id, "How long do refunds take?", allowed_collections=["kb-2"]
    )
    assert answer.text == "Refunds take 5 business days."
    assert seen == [("acme", "kb-2", "How long do refunds take?")]
    with pytest.raises(Exception, match="allowedCollections"):
        qc.agents.chat(agent.agent_id, "x", allowed_collections=["other"])


def test_durable_and_streamed_agent_turns_keep_the_session(qc: QuantClient) -> None:
    from quant_ai import ContentEvent, SessionEvent

    agent = qc.agents.list()[0].agent_id
    accepted = qc.agents.start_chat(agent, "What is 2 plus 2?")
    assert accepted.agent_id == agent
    assert accepted.session_id
    durable = qc.agents.chat(agent, "And 3 plus 3?", session_id=accepted.session_id, durable=True)
    assert durable.text == "The answer is 6."
    events = list(qc.agents.stream(agent, "Hello", session_id=accepted.session_id))
    assert any(isinstance(e, SessionEvent) and e.session_id == accepted.session_id for e in events)
    text = "".join(e.delta for e in events if isinstance(e, ContentEvent))
    assert text == 'Emulated answer to "Hello".'
    qc.wait_for_execution(accepted.request_id)
    contents = [t.content for t in qc.sessions.get(accepted.session_id).messages]
    assert contents[:2] == ["And 3 plus 3?", "The answer is 6."] or "What is 2 plus 2?" in contents
    assert len(contents) == 6


def test_spend_adds_up_the_reported_cost(qc: QuantClient) -> None:
    long = "Please summarise this. " + "word " * 3000
    costs = []
    with track_usage(UsageTotals()) as totals:
        for model in (
            "anthropic.claude-3-5-sonnet-20241022-v2:0",
            "anthropic.claude-sonnet-4-20250514-v1:0",
        ):
            answer = qc.chat(messages=[{"role": "user", "content": long}], model_id=model)
            assert answer.usage is not None
            assert answer.usage.cost_cents is not None
            costs.append(answer.usage.cost_cents)
        agent = qc.agents.list()[0].agent_id
        reply = qc.agents.chat(agent, long)
        assert reply.usage is not None
        assert reply.usage.cost_cents is not None
        costs.append(reply.usage.cost_cents)
    assert totals.cost_cents == pytest.approx(sum(costs))
    assert sum(costs) > 1.5  # large enough for whole cents to mean something
    me = qc.usage.me()
    spend = qc.usage.spend()
    assert me.monthly.spend_cents == round(sum(costs))
    assert me.monthly.request_count == 3
    assert spend.org_total.spend_cents == round(sum(costs))
    assert me.quota is None


def test_budgets_are_reported() -> None:
    with QuantEmulator(monthly_budget_cents=500, daily_budget_cents=50) as emu:
        raw = httpx.get(f"{emu.api_base}/ai/usage/me", headers=AUTH).json()
        assert raw["quota"]["monthlyLimit"]["limitCents"] == 500
        assert raw["quota"]["dailyLimit"]["remainingCents"] == 50
        spend = httpx.get(f"{emu.api_base}/ai/governance/spend", headers=AUTH).json()
        assert spend["budget"]["monthlyBudgetCents"] == 500


def test_agents_from_settings() -> None:
    spec = {
        "name": "Calc",
        "description": "Arithmetic",
        "systemPrompt": "Compute.",
        "modelId": "amazon.nova-micro-v1:0",
        "allowedTools": ["calculate"],
    }
    with QuantEmulator(agents=[spec]) as emu:
        qc = QuantClient(api_key="k", organization="o", base_url=emu.base_url)
        (agent,) = qc.agents.list()
        assert agent.name == "Calc"
        assert agent.model_id == "amazon.nova-micro-v1:0"
        assert "12" in qc.agents.chat(agent.agent_id, "What is 3 times 4?").text
        qc.close()
    with pytest.raises(Exception, match="allowedTools"):
        QuantEmulator(agents=[{**spec, "allowedTools": ["rm_rf"]}])


def test_agent_and_spend_answers_match_the_spec(client: httpx.Client) -> None:
    from tests.emulator.helpers import VALIDATED

    start = len(VALIDATED)
    agents = client.get("/ai/agents").json()["agents"]
    agent_id = agents[0]["agentId"]
    assert client.get(f"/ai/agents/{agent_id}").json()["agent"]["systemPrompt"]
    created = client.post(
        "/ai/agents",
        json={
            "name": "Spec",
            "description": "d",
            "systemPrompt": "p",
            "modelId": "amazon.nova-lite-v1:0",
            "allowedTools": ["calculate"],
        },
    )
    assert created.status_code == 201
    new_id = created.json()["agent"]["agentId"]
    assert client.put(f"/ai/agents/{new_id}", json={"temperature": 0.5}).status_code == 200
    answer = client.post(f"/ai/agents/{agent_id}/chat", json={"message": "What is 2 plus 2?"})
    assert answer.json()["response"]["usage"]["costCents"] > 0
    queued = client.post(f"/ai/agents/{agent_id}/chat", json={"message": "hi", "async": True})
    assert queued.status_code == 202
    assert client.delete(f"/ai/agents/{new_id}").status_code == 200
    assert client.get("/ai/usage/me").json()["monthly"]["requestCount"] >= 1
    assert "orgTotal" in client.get("/ai/governance/spend").json()
    assert set(VALIDATED[start:]) >= {
        "listAIAgents",
        "getAIAgent",
        "createAIAgent",
        "updateAIAgent",
        "chatWithAIAgent",
        "deleteAIAgent",
        "getMyUsage",
        "getGovernanceSpend",
    }
    stream = client.post(f"/ai/agents/{agent_id}/chat", json={"message": "Hi", "stream": True})
    assert stream.headers["content-type"].startswith("text/event-stream")
    assert "event: session" in stream.text
    assert "event: done" in stream.text


async def test_async_twins(emu: QuantEmulator) -> None:
    from quant_ai import ContentEvent

    async with QuantClient(api_key="k", organization="acme", base_url=emu.base_url) as qc:
        created = await qc.sessions.acreate("zoe", initial_messages=[("user", "hi")])
        sid = created.session_id
        await qc.sessions.aupdate(sid, new_messages=[("assistant", "hello")], tokens_used=3)
        extended = await qc.sessions.aextend(sid, 30)
        assert extended.expires_at is not None
        assert [s.id for s in await qc.sessions.alist(user_id="zoe")] == [sid]
        assert len((await qc.sessions.aget(sid)).messages) == 2
        agent = (await qc.agents.alist())[0]
        assert (await qc.agents.aget(agent.agent_id)).system_prompt
        reply = await qc.agents.achat(agent.agent_id, "What is 2 plus 9?", session_id=sid)
        assert reply.text == "The answer is 11."
        durable = await qc.agents.achat(agent.agent_id, "What is 1 plus 9?", durable=True)
        assert durable.text == "The answer is 10."
        deltas = [
            e.delta
            async for e in qc.agents.astream(agent.agent_id, "Hi", session_id=sid)
            if isinstance(e, ContentEvent)
        ]
        assert "".join(deltas) == 'Emulated answer to "Hi".'
        made = await qc.agents.acreate(
            name="tmp", description="d", system_prompt="p", model_id="amazon.nova-lite-v1:0"
        )
        await qc.agents.adelete(made.agent_id)
        assert (await qc.usage.ame()).monthly.request_count >= 3
        assert (await qc.usage.aspend()).org_total.request_count >= 3
        await qc.sessions.adelete(sid)
        with pytest.raises(QuantNotFoundError, match="or was deleted"):
            await qc.sessions.aget(sid)


def test_agents_answer_from_their_collections_in_the_vector_db(qc: QuantClient) -> None:
    from quant_ai import ContentEvent

    http = qc.transport.http
    base = qc.config.ai_url("")
    headers = {"Authorization": "Bearer k"}
    made = http.post(
        f"{base}/vector-db/collections",
        json={"name": "handbook", "embeddingModel": "amazon.titan-embed-text-v2:0"},
        headers=headers,
    )
    assert made.status_code == 201
    collection = made.json()["collection"]["collectionId"]
    docs = [
        {"content": "Refunds are paid within 5 business days of the return."},
        {"content": "The warehouse ships orders every weekday at noon."},
    ]
    uploaded = http.post(
        f"{base}/vector-db/collections/{collection}/documents",
        json={"documents": docs},
        headers=headers,
    )
    assert uploaded.status_code in (200, 201)
    agent = qc.agents.create(
        name="Support kb",
        description="Answers from the handbook",
        system_prompt="Answer from the handbook.",
        model_id="amazon.nova-lite-v1:0",
        allowed_collections=[collection],
    )
    answer = qc.agents.chat(agent.agent_id, "How fast are refunds paid?")
    assert answer.text == "Refunds are paid within 5 business days of the return."
    events = list(qc.agents.stream(agent.agent_id, "When does the warehouse ship orders?"))
    text = "".join(e.delta for e in events if isinstance(e, ContentEvent))
    assert text == "The warehouse ships orders every weekday at noon."
