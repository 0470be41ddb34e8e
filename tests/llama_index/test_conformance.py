"""Conformance suite: real LlamaIndex flows, live on the emulator AND replayed from cassettes.

Every test runs twice: ``[emulator]`` against a local :class:`QuantEmulator` (real HTTP on
loopback) and ``[cassette]`` replayed from ``cassettes/llama_index/`` by vcrpy (pytest-recording,
``--record-mode=none`` by default, so a missing or changed interaction fails the test).

Re-record (emulator by default; the real service when QUANT_API_KEY and QUANT_ORGANIZATION
are set in the environment)::

    python -m pytest tests/llama_index/test_conformance.py -k cassette --record-mode=rewrite

(add ``--force-enable-socket`` when recording against the real service). When recording, the
host and organisation path segment are rewritten to ``https://quant.test`` / ``quant-org`` and
the Authorization header is dropped; ``test_cassettes_hold_no_secrets`` checks the result.

``IngestionPipeline(num_workers=2)`` embeds in spawned worker processes, which vcrpy cannot
patch, so that test runs on the emulator only (the workers reach it over loopback).
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from llama_index.core import Document, VectorStoreIndex
from llama_index.core.agent.workflow import AgentStream, FunctionAgent
from llama_index.core.callbacks import CallbackManager, TokenCountingHandler
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.llms import ChatMessage
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.prompts import PromptTemplate
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llama_index_quant import NovaCanvasToolSpec, QuantEmbedding, QuantLLM
from quant_ai.emulator import QuantEmulator

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes" / "llama_index"
DATA = ROOT / "quant_demo" / "data"
PLACEHOLDER_BASE = "https://quant.test"
PLACEHOLDER_ORG = "quant-org"
# Read at import: the suite's autouse fixture hides QUANT_* variables from each test.
REAL_SERVICE = {
    "api_key": os.environ.get("QUANT_API_KEY"),
    "organization": os.environ.get("QUANT_ORGANIZATION") or os.environ.get("QUANT_ORGANISATION"),
    "base_url": os.environ.get("QUANT_BASE_URL"),
}
_AI_URL = re.compile(r"^https?://[^/]+/api/v3/organizations/[^/]+/")


def scrub_request(request: Any) -> Any:
    """Rewrite host and organisation to placeholders (applied when recording and matching)."""
    request.uri = _AI_URL.sub(
        f"{PLACEHOLDER_BASE}/api/v3/organizations/{PLACEHOLDER_ORG}/", request.uri
    )
    return request


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    return {
        "filter_headers": ["authorization", "host", "cookie", "set-cookie"],
        "before_record_request": scrub_request,
        "match_on": ["method", "scheme", "host", "port", "path", "query", "json_body"],
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    return str(CASSETTES)


@pytest.fixture(scope="module")
def emulator() -> Iterator[QuantEmulator]:
    with QuantEmulator() as emu:
        yield emu


def emulator_settings(emu: QuantEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "organization": "acme", "api_key": "qc_emulator"}


@pytest.fixture(params=["emulator", "cassette"])
def settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Connection settings of QuantLLM/QuantEmbedding/NovaCanvasToolSpec for this run.

    ``[cassette]`` runs are marked ``vcr`` by ``conftest.py``, so the cassette is active.
    """
    if request.param == "emulator":
        return emulator_settings(request.getfixturevalue("emulator"))
    if request.config.getoption("--record-mode") == "none":
        return {
            "base_url": PLACEHOLDER_BASE,
            "organization": PLACEHOLDER_ORG,
            "api_key": "qc_replay",
        }
    if REAL_SERVICE["api_key"] and REAL_SERVICE["organization"]:
        return dict(REAL_SERVICE)
    return emulator_settings(request.getfixturevalue("emulator"))


def documents() -> list[Document]:
    return [
        Document(text=p.read_text(), metadata={"file": p.name}) for p in sorted(DATA.glob("*.md"))
    ]


def multiply(a: int, b: int) -> int:
    """Multiply two integers a and b and return the product."""
    return a * b


class Pet(BaseModel):
    """A pet with a name and an age in years."""

    name: str
    age: int


# ------------------------------------------------------------------ flows


def test_rag_query_engine_returns_the_right_passage(settings) -> None:  # type: ignore[no-untyped-def]
    index = VectorStoreIndex.from_documents(documents(), embed_model=QuantEmbedding(**settings))
    engine = index.as_query_engine(llm=QuantLLM(**settings), similarity_top_k=2)
    answer = engine.query("When was the Cape Otway Lightstation first lit?")
    assert "1848" in str(answer)
    assert any(n.node.metadata["file"] == "lighthouses.md" for n in answer.source_nodes)


async def test_function_agent_with_a_python_tool(settings) -> None:  # type: ignore[no-untyped-def]
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=QuantLLM(**settings))
    result = await agent.run("multiply 6 and 7")
    assert "42" in str(result)
    assert [t.tool_name for t in result.tool_calls] == ["multiply"]


async def test_function_agent_streaming(settings) -> None:  # type: ignore[no-untyped-def]
    agent = FunctionAgent(
        tools=[FunctionTool.from_defaults(multiply)], llm=QuantLLM(**settings), streaming=True
    )
    handler = agent.run("multiply 12 and 3")
    deltas = [ev.delta async for ev in handler.stream_events() if isinstance(ev, AgentStream)]
    result = await handler
    assert "36" in str(result)
    assert "36" in "".join(deltas)


async def test_function_agent_with_nova_canvas(settings, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spec = NovaCanvasToolSpec(output_dir=tmp_path, **settings)
    agent = FunctionAgent(tools=spec.to_tool_list(), llm=QuantLLM(**settings))
    result = await agent.run("generate an image of a lighthouse at dawn")
    assert [t.tool_name for t in result.tool_calls] == ["generate_image"]
    assert list(spec.images) == ["nova_1.png"]
    assert (tmp_path / "nova_1.png").read_bytes().startswith(b"\x89PNG")
    assert "nova_1.png" in str(result)


async def test_function_agent_with_nova_canvas_streaming(settings) -> None:  # type: ignore[no-untyped-def]
    spec = NovaCanvasToolSpec(**settings)
    agent = FunctionAgent(tools=spec.to_tool_list(), llm=QuantLLM(**settings), streaming=True)
    handler = agent.run("generate an image of a platypus in a river")
    events = [ev async for ev in handler.stream_events()]
    result = await handler
    assert any(isinstance(ev, AgentStream) for ev in events)
    assert spec.images
    assert "generate_image" in str(result)


def test_structured_predict_returns_the_pydantic_object(settings) -> None:  # type: ignore[no-untyped-def]
    llm = QuantLLM(**settings)
    pet = llm.structured_predict(Pet, PromptTemplate("Invent a pet called {name}."), name="Rex")
    assert isinstance(pet, Pet)
    structured = llm.as_structured_llm(Pet).chat(
        [ChatMessage(role="user", content="Invent a pet.")]
    )
    assert isinstance(structured.raw, Pet)


def test_token_counting_handler_reports_the_service_counts(settings) -> None:  # type: ignore[no-untyped-def]
    counter = TokenCountingHandler()
    llm = QuantLLM(callback_manager=CallbackManager([counter]), **settings)
    response = llm.chat([ChatMessage(role="user", content="Tell me about the reef.")])
    usage = response.additional_kwargs
    assert usage["prompt_tokens"] > 0
    assert counter.prompt_llm_token_count == usage["prompt_tokens"]
    assert counter.completion_llm_token_count == usage["completion_tokens"]
    for _ in llm.stream_chat([ChatMessage(role="user", content="And about Canberra?")]):
        pass
    assert len(counter.llm_token_counts) == 2
    assert counter.llm_token_counts[1].prompt_token_count > 0


def test_asyncio_run_twice_with_the_same_objects(settings) -> None:  # type: ignore[no-untyped-def]
    llm = QuantLLM(**settings)
    embed = QuantEmbedding(**settings)

    async def once(question: str) -> tuple[str, int]:
        answer = await llm.acomplete(question)
        vector = await embed.aget_query_embedding(question)
        return answer.text, len(vector)

    first = asyncio.run(once("What is 2 plus 2?"))
    second = asyncio.run(once("What is 3 plus 3?"))
    assert first[1] == second[1] == 1024
    assert "4" in first[0]
    assert "6" in second[0]


def test_ingestion_pipeline_with_two_workers(emulator) -> None:  # type: ignore[no-untyped-def]
    embed = QuantEmbedding(**emulator_settings(emulator), dimensions=256)
    # Split in this process: a SentenceSplitter loses its split functions when pickled into
    # spawned workers (a LlamaIndex limitation, unrelated to QuantEmbedding).
    chunks = SentenceSplitter(chunk_size=64, chunk_overlap=0).get_nodes_from_documents(documents())
    pipeline = IngestionPipeline(transformations=[embed])
    nodes = pipeline.run(nodes=chunks, num_workers=2)
    assert len(nodes) >= 4
    assert all(n.embedding is not None and len(n.embedding) == 256 for n in nodes)
    assert len({tuple(n.embedding or ()) for n in nodes}) == len(nodes)


# ------------------------------------------------------------------ cassette hygiene


def test_every_flow_has_a_cassette() -> None:
    names = {p.name for p in CASSETTES.glob("*.yaml")}
    flows = [
        n
        for n, f in globals().items()
        if n.startswith("test_") and "settings" in f.__code__.co_varnames
    ]
    for flow in flows:
        assert f"{flow}[cassette].yaml" in names, (
            f"missing cassette for {flow}; re-record (see module docstring)"
        )


def test_cassettes_hold_no_secrets() -> None:
    files = sorted(CASSETTES.glob("*.yaml"))
    assert files
    forbidden = [
        re.compile(p, re.IGNORECASE)
        for p in (
            r"authorization",
            r"bearer\s",
            r"qc_emulator",
            r"qc_replay",
            r"127\.0\.0\.1",
            r"localhost",
        )
    ]
    real = [v for v in (REAL_SERVICE["api_key"], REAL_SERVICE["organization"]) if v]
    for path in files:
        text = path.read_text()
        for pattern in forbidden:
            assert not pattern.search(text), f"{path.name} contains {pattern.pattern!r}"
        for value in real:
            assert value not in text, f"{path.name} contains a real credential or organisation"
        for uri in re.findall(r"uri: (\S+)", text):
            assert uri.startswith(
                f"{PLACEHOLDER_BASE}/api/v3/organizations/{PLACEHOLDER_ORG}/ai/"
            ), uri
