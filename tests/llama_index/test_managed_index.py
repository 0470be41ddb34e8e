"""``QuantIndex`` (managed index) and RAG over a Quant collection, live and from cassettes.

Every scenario of ``_RagScenarios`` runs against a freshly started emulator
(``TestRagLive``, marker ``emulator``) and replayed from ``cassettes/llama_index/``
(``TestRagCassette``, vcrpy, ``--record-mode=none`` by default, so a missing or changed
interaction fails). ``Settings.embed_model`` is an embedding model that raises in every
scenario: a managed index never embeds locally.

Re-record (the emulator by default; the real service when QUANT_API_KEY and QUANT_ORGANIZATION
are set, then add ``--force-enable-socket``)::

    python -m pytest tests/llama_index/test_managed_index.py -k Cassette --record-mode=rewrite

Requests are recorded with the placeholder host and organisation and without any header;
responses keep only their content type. ``test_rag_cassettes_are_clean`` checks the files.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from llama_index.core import Document, Settings
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.vector_stores.types import (
    FilterOperator,
    MetadataFilter,
    MetadataFilters,
)

from llama_index_quant import QuantIndex, QuantLLM, QuantVectorStore
from quant_ai import QuantClient, QuantValidationError, UnsupportedFilterError
from quant_ai.emulator import QuantEmulator
from tests.llama_index.test_durable import _scrub_request, _scrub_response

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes" / "llama_index"
PLACEHOLDER_BASE = "https://quant.test"
PLACEHOLDER_ORG = "quant-org"
LIVE_KEY = "qc-rag-live"
REPLAY_KEY = "qc-rag-replay"
REAL_SERVICE = {
    "api_key": os.environ.get("QUANT_API_KEY"),
    "organization": os.environ.get("QUANT_ORGANIZATION") or os.environ.get("QUANT_ORGANISATION"),
    "base_url": os.environ.get("QUANT_BASE_URL"),
}

LIGHTHOUSE_Q = "When was the Cape Otway Lightstation first lit?"


class LocalEmbeddingCalled(AssertionError):
    """Raised by :class:`NoLocalEmbedding`."""


class NoLocalEmbedding(BaseEmbedding):
    """An embedding model that fails: proves that nothing is embedded locally."""

    def _get_query_embedding(self, query: str) -> list[float]:
        raise LocalEmbeddingCalled(query)

    async def _aget_query_embedding(self, query: str) -> list[float]:
        raise LocalEmbeddingCalled(query)

    def _get_text_embedding(self, text: str) -> list[float]:
        raise LocalEmbeddingCalled(text)


@pytest.fixture(autouse=True)
def _failing_embed_model() -> Iterator[None]:
    previous = Settings._embed_model
    Settings.embed_model = NoLocalEmbedding()
    yield
    Settings._embed_model = previous


def documents() -> list[Document]:
    """The demo's four documents, with stable ids (their file names)."""
    files = sorted(resources.files("quant_demo").joinpath("data").iterdir(), key=str)
    return [
        Document(
            id_=f.name,
            text=f.read_text("utf-8"),
            metadata={
                "file": f.name,
                "topic": f.name.removesuffix(".md"),
                "tags": ["australia", f.name.removesuffix(".md")],
            },
        )
        for f in files
        if f.name.endswith(".md")
    ]


def files_of(response: Any) -> list[str]:
    return [n.node.metadata["file"] for n in response.source_nodes]


def only(key: str, value: Any, op: FilterOperator = FilterOperator.EQ) -> MetadataFilters:
    return MetadataFilters(filters=[MetadataFilter(key=key, value=value, operator=op)])


class _RagScenarios:
    """Scenarios shared by the live and the cassette runs (``self.settings`` says where)."""

    settings: dict[str, Any]

    def collection(self, request: pytest.FixtureRequest) -> str:
        kind = "cassette" if "Cassette" in type(self).__name__ else "live"
        return f"rag-{kind}-{request.node.originalname.removeprefix('test_')}"[:60]

    def client(self) -> QuantClient:
        return QuantClient(**self.settings)

    def test_rag_answer_with_sources(self, request: pytest.FixtureRequest) -> None:
        client = self.client()
        index = QuantIndex.from_documents(
            documents(), collection=self.collection(request), client=client
        )
        engine = index.as_query_engine(llm=QuantLLM(client=client), similarity_top_k=2)
        response = engine.query(LIGHTHOUSE_Q)
        assert "1848" in str(response)
        assert files_of(response)[0] == "lighthouses.md"
        top = response.source_nodes[0]
        assert top.node.node_id == "lighthouses.md"
        assert top.node.ref_doc_id == "lighthouses.md"
        assert top.node.metadata == {
            "file": "lighthouses.md",
            "topic": "lighthouses",
            "tags": ["australia", "lighthouses"],
        }
        assert top.score is not None
        assert 0 < top.score <= 1

    def test_rag_filtered(self, request: pytest.FixtureRequest) -> None:
        client = self.client()
        index = QuantIndex.from_documents(
            documents(), collection=self.collection(request), client=client
        )
        engine = index.as_query_engine(
            llm=QuantLLM(client=client), similarity_top_k=3, filters=only("topic", "reef")
        )
        response = engine.query(LIGHTHOUSE_Q)
        assert files_of(response) == ["reef.md"]  # the filter wins over similarity
        assert "1848" not in str(response)
        retriever = index.as_retriever(
            similarity_top_k=4, filters=only("tags", ["reef", "platypus"], FilterOperator.ANY)
        )
        assert sorted(n.node.node_id for n in retriever.retrieve(LIGHTHOUSE_Q)) == [
            "platypus.md",
            "reef.md",
        ]
        contains = index.as_retriever(
            similarity_top_k=4, filters=only("tags", "canberra", FilterOperator.CONTAINS)
        )
        assert [n.node.node_id for n in contains.retrieve(LIGHTHOUSE_Q)] == ["canberra.md"]
        refused = index.as_retriever(filters=only("topic", "reef", FilterOperator.NE))
        with pytest.raises(UnsupportedFilterError, match=r"FilterOperator.NE \('!='\)"):
            refused.retrieve(LIGHTHOUSE_Q)  # refused before anything is sent

    async def test_rag_async(self, request: pytest.FixtureRequest) -> None:
        client = self.client()
        index = await QuantIndex.afrom_documents(
            documents(), collection=self.collection(request), client=client
        )
        engine = index.as_query_engine(llm=QuantLLM(client=client), similarity_top_k=2)
        response = await engine.aquery(LIGHTHOUSE_Q)
        assert "1848" in str(response)
        assert files_of(response)[0] == "lighthouses.md"
        filtered = index.as_query_engine(
            llm=QuantLLM(client=client), similarity_top_k=2, filters=only("topic", "canberra")
        )
        answer = await filtered.aquery("Who designed the capital?")
        assert files_of(answer) == ["canberra.md"]
        nodes = await index.as_retriever(similarity_top_k=1).aretrieve(
            "Which mammals lay eggs? The platypus"
        )
        assert [n.node.node_id for n in nodes] == ["platypus.md"]

    def test_deleting_a_document_removes_it_from_answers(
        self, request: pytest.FixtureRequest
    ) -> None:
        client = self.client()
        index = QuantIndex.from_documents(
            documents(), collection=self.collection(request), client=client
        )
        engine = index.as_query_engine(llm=QuantLLM(client=client), similarity_top_k=2)
        assert "lighthouses.md" in files_of(engine.query(LIGHTHOUSE_Q))
        index.delete_ref_doc("lighthouses.md")
        after = engine.query(LIGHTHOUSE_Q)
        assert "lighthouses.md" not in files_of(after)
        assert "1848" not in str(after)
        assert len(after.source_nodes) == 2

    async def test_insert_and_adelete_ref_doc(self, request: pytest.FixtureRequest) -> None:
        client = self.client()
        index = QuantIndex(self.collection(request), client=client)
        index.insert(Document(id_="wombat", text="Wombats dig burrows with their claws."))
        await index.ainsert(Document(id_="koala", text="Koalas sleep most of the day in trees."))
        retriever = index.as_retriever(similarity_top_k=2)
        found = retriever.retrieve("Which animal digs burrows?")
        assert [n.node.node_id for n in found] == ["wombat", "koala"]
        await index.adelete_ref_doc("wombat")
        assert [n.node.node_id for n in await retriever.aretrieve("digs burrows")] == ["koala"]


# ------------------------------------------------------------------ where the service is


@pytest.fixture(scope="module")
def emulator() -> Iterator[QuantEmulator]:
    with QuantEmulator() as emu:
        yield emu


def emulator_settings(emu: QuantEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "organization": "acme", "api_key": LIVE_KEY}


@pytest.mark.emulator
class TestRagLive(_RagScenarios):
    @pytest.fixture(autouse=True)
    def _target(self, emulator: QuantEmulator) -> None:
        self.settings = emulator_settings(emulator)

    def test_no_embeddings_request_and_no_local_embedding(
        self, request: pytest.FixtureRequest
    ) -> None:
        paths: list[str] = []
        http = httpx.Client(event_hooks={"request": [lambda r: paths.append(r.url.path)]})
        client = QuantClient(**self.settings, http_client=http)
        index = QuantIndex.from_documents(
            documents(), collection=self.collection(request), client=client
        )
        index.as_query_engine(llm=QuantLLM(client=client)).query(LIGHTHOUSE_Q)
        assert paths
        assert not [p for p in paths if p.endswith("/embeddings")]
        assert any(p.endswith("/documents") for p in paths)
        with pytest.raises(LocalEmbeddingCalled):  # the failing model does fail when called
            Settings.embed_model.get_text_embedding("x")

    def test_local_transformations_are_opt_in(self, request: pytest.FixtureRequest) -> None:
        client = QuantClient(**self.settings)
        index = QuantIndex.from_documents(
            documents(),
            collection=self.collection(request),
            client=client,
            transformations=[SentenceSplitter(chunk_size=64, chunk_overlap=0)],
        )
        nodes = index.vector_store.get_nodes(filters=only("file", "lighthouses.md"))
        assert len(nodes) > 1
        assert {n.ref_doc_id for n in nodes} == {"lighthouses.md"}
        index.delete_ref_doc("lighthouses.md")
        assert index.vector_store.get_nodes(filters=only("file", "lighthouses.md")) == []

    def test_chat_engines(self, request: pytest.FixtureRequest) -> None:
        client = QuantClient(**self.settings)
        index = QuantIndex.from_documents(
            documents(), collection=self.collection(request), client=client
        )
        llm = QuantLLM(client=client)
        for mode in ("best", "context", "condense_plus_context", "condense_question"):
            chat = index.as_chat_engine(chat_mode=mode, llm=llm, similarity_top_k=1)
            reply = chat.chat(LIGHTHOUSE_Q)
            assert str(reply), mode
            assert [n.node.node_id for n in reply.source_nodes] == ["lighthouses.md"], mode

    def test_update_ref_doc_replaces_the_text(self, request: pytest.FixtureRequest) -> None:
        client = QuantClient(**self.settings)
        index = QuantIndex.from_documents(
            documents(), collection=self.collection(request), client=client
        )
        index.update_ref_doc(Document(id_="reef.md", text="The reef is made of coral polyps."))
        (node,) = index.vector_store.get_nodes(node_ids=["reef.md"])
        assert node.get_content() == "The reef is made of coral polyps."

    def test_an_existing_collection_by_name_or_store(self, request: pytest.FixtureRequest) -> None:
        client = QuantClient(**self.settings)
        name = self.collection(request)
        QuantIndex.from_documents(documents(), collection=name, client=client)
        by_name = QuantIndex(name, client=client)
        assert by_name.as_retriever().retrieve(LIGHTHOUSE_Q)[0].node.node_id == "lighthouses.md"
        store = QuantVectorStore(name, client=client)
        assert QuantIndex(vector_store=store).vector_store is store
        missing = QuantIndex(f"{name}-missing", client=client, create_collection=False)
        with pytest.raises(Exception, match="no vector collection named"):
            missing.as_retriever().retrieve(LIGHTHOUSE_Q)


def test_construction_refuses_unclear_arguments() -> None:
    with pytest.raises(QuantValidationError, match="collection="):
        QuantIndex()
    store = QuantVectorStore("c", api_key="k", organization="o")
    with pytest.raises(QuantValidationError, match="either vector_store"):
        QuantIndex("c", vector_store=store)
    with pytest.raises(QuantValidationError, match="either vector_store"):
        QuantIndex(vector_store=store, http_client=httpx.Client())
    with pytest.raises(QuantValidationError, match="either vector_store"):
        QuantIndex(vector_store=store, threshold=0.5)
    index = QuantIndex(vector_store=store)
    for option in ("doc_ids", "node_ids", "embed_model", "vector_store_kwargs", "alpha"):
        with pytest.raises(QuantValidationError, match=option):
            index.as_retriever(**{option: None})
    with pytest.raises(QuantValidationError, match="vector_store_query_mode"):
        index.as_retriever(vector_store_query_mode="hybrid")
    assert index.as_retriever(vector_store_query_mode="default", streaming=True)


_STABLE_NODE_KEYS = (
    "id_",
    "metadata",
    "relationships",
    "excluded_embed_metadata_keys",
    "excluded_llm_metadata_keys",
    "class_name",
)


def _stable_upload(request: Any) -> Any:
    """Scrub the request; in uploads keep only the version-stable part of each node's JSON.

    ``_node_content`` is LlamaIndex's own serialisation of a node, and its fields differ
    between llama-index-core versions (0.14.7 still writes ``metadata_seperator``), while the
    suite also runs at the lowest allowed version. The id, metadata, relationships and type
    must match; the rest of the body (content, key, every other metadata name) as well.
    """
    request = _scrub_request(request)
    if request.method != "POST" or not request.uri.endswith("/documents") or not request.body:
        return request
    body = json.loads(request.body)
    for document in body.get("documents", []):
        metadata = document.get("metadata") or {}
        if isinstance(metadata.get("_node_content"), str):
            node = json.loads(metadata["_node_content"])
            stable = {k: node.get(k) for k in _STABLE_NODE_KEYS}
            metadata["_node_content"] = json.dumps(stable, sort_keys=True)
    request.body = json.dumps(body).encode()
    return request


@pytest.mark.vcr
class TestRagCassette(_RagScenarios):
    @pytest.fixture
    def vcr_config(self) -> dict[str, Any]:
        return {
            "before_record_request": _stable_upload,
            "before_record_response": _scrub_response,
            "match_on": ["method", "scheme", "host", "port", "path", "query", "json_body"],
            "allow_playback_repeats": False,
            "decode_compressed_response": True,
        }

    @pytest.fixture
    def vcr_cassette_dir(self) -> str:
        return str(CASSETTES)

    @pytest.fixture(autouse=True)
    def _target(self, request: pytest.FixtureRequest) -> None:
        if request.config.getoption("--record-mode") == "none":
            self.settings = {
                "base_url": PLACEHOLDER_BASE,
                "organization": PLACEHOLDER_ORG,
                "api_key": REPLAY_KEY,
            }
        elif REAL_SERVICE["api_key"] and REAL_SERVICE["organization"]:
            self.settings = {k: v for k, v in REAL_SERVICE.items() if v}
        else:
            self.settings = emulator_settings(request.getfixturevalue("emulator"))


# ------------------------------------------------------------------ cassette hygiene


def _scenario_names() -> list[str]:
    return sorted(n for n in vars(_RagScenarios) if n.startswith("test_"))


def test_every_rag_scenario_has_a_cassette() -> None:
    names = {p.name for p in CASSETTES.glob("TestRagCassette.*.yaml")}
    expected = {f"TestRagCassette.{n}.yaml" for n in _scenario_names()}
    assert expected == names, "re-record the cassettes (see the module docstring)"


@pytest.mark.parametrize("name", _scenario_names())
def test_rag_cassettes_are_clean(name: str) -> None:
    path = CASSETTES / f"TestRagCassette.{name}.yaml"
    text = path.read_text(encoding="utf-8")
    forbidden = re.compile(
        r"(?i)authorization|bearer|api[-_]?key|cookie|127\.0\.0\.1|localhost|"
        + "|".join(re.escape(k) for k in (LIVE_KEY, REPLAY_KEY))
    )
    assert not forbidden.search(text), f"{path.name} holds a secret or a local address"
    for value in (REAL_SERVICE["api_key"], REAL_SERVICE["organization"]):
        if value:
            assert value not in text, f"{path.name} holds a real credential or organisation"
    data = yaml.safe_load(text)
    assert data["interactions"]
    paths = [i["request"]["uri"] for i in data["interactions"]]
    assert any("/ai/vector-db/collections/" in p and p.endswith("/query") for p in paths)
    for interaction in data["interactions"]:
        assert interaction["request"]["headers"] == {}
        assert interaction["request"]["uri"].startswith(
            f"{PLACEHOLDER_BASE}/api/v3/organizations/{PLACEHOLDER_ORG}/ai/"
        )
        assert set(interaction["response"]["headers"]) <= {"content-type", "Content-Type"}
