"""The langchain-tests standard suites of ``QuantVectorStore`` and ``QuantRetriever``, twice:
from cassettes (``*Standard``, marker ``vcr``) and live on a fresh local emulator (``*Live``).

The store's fixture makes a fresh collection per test (named after the test, so recordings
replay), yields the empty store and deletes the collection afterwards. Ids the store makes for
documents without one come from a per-test counter, so request bodies replay too.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.retrievers import BaseRetriever
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import (
    RetrieversIntegrationTests,
    VectorStoreIntegrationTests,
)

from langchain_quant import QuantRetriever, QuantVectorStore
from langchain_quant import vectorstores as vs_module
from tests.langchain import _support

RETRIEVER_DOCS = [
    "Annual leave is 25 days a year for full-time staff.",
    "Sick leave needs a doctor's note after three days.",
    "Parental leave is 16 weeks on full pay.",
    "Expenses are paid within 10 working days.",
    "Remote work is allowed up to three days a week.",
]


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """The shared cassette rules, plus the query string (``GET .../documents?key=...``)."""
    return {
        "before_record_request": _support.scrub_request,
        "before_record_response": _support.scrub_response,
        "match_on": ["method", "quant_path", "query", "json_body"],
        "allow_playback_repeats": True,
        "decode_compressed_response": True,
    }


@pytest.fixture
def _stable_ids(monkeypatch: pytest.MonkeyPatch) -> None:
    counter = iter(range(1, 1_000_000))
    monkeypatch.setattr(
        vs_module, "_new_id", lambda: f"00000000-0000-4000-8000-{next(counter):012d}"
    )


def _collection_name(prefix: str, request: pytest.FixtureRequest) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name).strip("-")
    return f"{prefix}-{name}"[:120]


class _StoreSuite(VectorStoreIntegrationTests):
    prefix = "lc"

    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    @pytest.fixture
    def vectorstore(  # type: ignore[override]
        self, request: pytest.FixtureRequest, _stable_ids: None
    ) -> Iterator[VectorStore]:
        store = QuantVectorStore(
            collection=_collection_name(self.prefix, request), dimensions=256, **self.params()
        )
        try:
            yield store
        finally:
            store.vector_db.delete_collection(store.collection)
            store.quant_client.close()

    @property
    def has_sync(self) -> bool:
        return True

    @property
    def has_async(self) -> bool:
        return True

    @property
    def has_get_by_ids(self) -> bool:
        return True


@pytest.mark.vcr
class TestQuantVectorStoreStandard(_StoreSuite):
    prefix = "lc-std"

    def params(self) -> dict[str, Any]:
        return dict(_support.cassette_params())


@pytest.mark.emulator
class TestQuantVectorStoreLive(_StoreSuite):
    prefix = "lc-live"

    def params(self) -> dict[str, Any]:
        return dict(_support.live_params())


def _fill(collection: str, params: dict[str, Any]) -> None:
    """Make the retriever's collection with five documents (outside any cassette)."""
    store = QuantVectorStore(collection=collection, **params)
    store.add_texts(RETRIEVER_DOCS, ids=[f"doc-{i}" for i in range(len(RETRIEVER_DOCS))])
    store.quant_client.close()


class _RetrieverSuite(RetrieversIntegrationTests):
    collection = "lc-retriever"

    @property
    def retriever_constructor(self) -> type[BaseRetriever]:
        return QuantRetriever

    @property
    def retriever_query_example(self) -> str:
        return "How much annual leave do I get?"


@pytest.mark.vcr
class TestQuantRetrieverStandard(_RetrieverSuite):
    collection = "lc-retriever-std"

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _filled(cls) -> None:
        """Class scope: runs before the per-test cassette, so the recordings hold only the
        retriever's own requests."""
        if _support.STATE.recording:
            _fill(cls.collection, _support.cassette_params())

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"collection": self.collection, **_support.cassette_params()}


@pytest.mark.emulator
class TestQuantRetrieverLive(_RetrieverSuite):
    collection = "lc-retriever-live"

    @pytest.fixture(scope="class", autouse=True)
    @classmethod
    def _filled(cls) -> None:
        _fill(cls.collection, _support.live_params())

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"collection": self.collection, **_support.live_params()}
