"""Ray Data components on a local Ray cluster (2 CPUs) against the emulator on loopback:
embeddings in order, a collection written once (even when a write task is retried), and many
workers under the emulator's rate limit backing off together."""

from __future__ import annotations

import itertools
import os
import pickle
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import ray

from quant_ai import QuantClient
from quant_ai.emulator import QuantEmulator
from quant_ai.ray import QuantCollectionDatasink, QuantEmbedder, RayRateLimiter

pytestmark = [pytest.mark.ray, pytest.mark.usefixtures("ray_cluster")]

ROWS = 2000


def _rows(n: int = ROWS) -> list[dict[str, Any]]:
    return [
        {
            "id": f"doc-{i:05d}",
            "text": f"Document {i} talks about topic {i % 7} and item {i}." if i % 250 else "",
            "metadata": {"n": i, "topic": f"t{i % 7}"},
        }
        for i in range(n)
    ]


def _connection(emu: QuantEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "organization": "acme", "api_key": "qc_ray_test"}


@pytest.fixture(scope="module")
def emulator() -> Any:
    with QuantEmulator() as emu:
        yield emu


def test_embedder_adds_vectors_in_order(emulator: QuantEmulator) -> None:
    rows = _rows()
    ds = ray.data.from_items(rows).map_batches(
        QuantEmbedder,
        compute=ray.data.ActorPoolStrategy(size=2),
        batch_size=250,
        fn_constructor_kwargs={**_connection(emulator), "dimensions": 256},
    )
    out = {r["id"]: r for r in ds.take_all()}  # Ray Data may reorder blocks; rows keep ids
    assert sorted(out) == [r["id"] for r in rows]
    assert all(len(r["embedding"]) == 256 for r in out.values())
    with QuantClient(**_connection(emulator)) as client:
        expected = client.embed_many([r["text"] for r in rows], dimensions=256)
    for row, vector in zip(rows, expected, strict=True):  # each row got its own text's vector
        assert list(out[row["id"]]["embedding"]) == pytest.approx(vector, abs=1e-6)
    assert not any(out["doc-00250"]["embedding"])  # "" is not sent: a zero vector


def test_embedder_and_datasink_pickle_without_connections_or_env_keys(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("QUANT_API_KEY", "qc_from_the_environment")
    monkeypatch.setenv("QUANT_ORGANIZATION", "acme")
    embedder = QuantEmbedder()
    sink = QuantCollectionDatasink("docs")
    assert embedder.client.embed_many  # a client was made (and reads the environment)
    for thing in (embedder, sink):
        data = pickle.dumps(thing)
        assert b"qc_from_the_environment" not in data
        assert b"httpx" not in data
        clone = pickle.loads(data)
        assert clone._client is None


def test_datasink_writes_every_row_once_even_when_a_task_is_retried(
    emulator: QuantEmulator, tmp_path: Path
) -> None:
    name = "ray-retry"
    marker = tmp_path / "failed-once"

    class FlakySink(QuantCollectionDatasink):
        """Fails its first write task after the upload went through (as a lost worker
        would): Ray retries the task and the documents are written again."""

        def write(self, blocks: Any, ctx: Any) -> int:
            written = super().write(blocks, ctx)
            if not marker.exists():
                marker.write_text("x")
                raise RuntimeError("worker lost after writing")
            return written

    sink = FlakySink(name, rows_per_write=500, **_connection(emulator))
    ray.data.from_items(_rows()).write_datasink(
        sink, ray_remote_args={"max_retries": 2, "retry_exceptions": True}
    )
    blank = [r["id"] for r in _rows() if not r["text"]]
    assert marker.exists()
    assert (sink.written, sink.skipped) == (ROWS - len(blank), len(blank))
    with QuantClient(**_connection(emulator)) as client:
        keys = _all_ids(client, name)
    assert len(keys) == ROWS - len(blank)  # every row once, though a task ran twice
    assert set(keys) == {r["id"] for r in _rows()} - set(blank)


def _all_ids(client: QuantClient, collection: str) -> list[str]:
    found: list[str] = []
    while True:
        page = client.vector_db.list_documents(collection, limit=100, offset=len(found))
        found += [str(document.id) for document in page]
        if len(page) < 100:
            return found


def test_under_a_rate_limit_workers_back_off_together_and_lose_nothing() -> None:
    with QuantEmulator(rate_limit_rps=40, rate_limit_burst=4) as emu:
        ds = ray.data.from_items(_rows(1200)).map_batches(
            QuantEmbedder,
            compute=ray.data.ActorPoolStrategy(size=2),
            batch_size=100,
            fn_constructor_kwargs={
                **_connection(emu),
                "batch_size": 10,
                "max_concurrency": 4,
                "max_retries": 8,
            },
        )
        out = ds.take_all()
        limit = emu.state.faults.rate_limit
        assert limit is not None
        refusals = list(limit.refusals)
    assert len(out) == 1200  # the run completed, nothing lost
    assert refusals  # the limit was reached
    by_request: dict[str, list[Any]] = defaultdict(list)
    for refusal in refusals:
        by_request[refusal.key].append(refusal)
    for seen in by_request.values():
        for earlier, later in itertools.pairwise(seen):
            # A refused request came back only after the wait it was told.
            assert later.at - earlier.at >= earlier.retry_after - 0.01


def test_a_shared_limiter_keeps_all_actors_under_the_cap() -> None:
    limiter = RayRateLimiter.create(30, burst=3)
    with QuantEmulator(rate_limit_rps=40, rate_limit_burst=4) as emu:
        ray.data.from_items(_rows(600)).map_batches(
            QuantEmbedder,
            compute=ray.data.ActorPoolStrategy(size=2),
            batch_size=100,
            fn_constructor_kwargs={
                **_connection(emu),
                "batch_size": 10,
                "rate_limiter": limiter,
            },
        ).materialize()
        limit = emu.state.faults.rate_limit
        assert limit is not None
        assert limit.admitted >= 60  # 600 texts, at most 10 a request
        assert limit.refusals == []  # paced below the service's limit: never refused


def test_the_limiter_pickles_as_its_actor() -> None:
    limiter = RayRateLimiter.create(1000)
    clone = pickle.loads(pickle.dumps(limiter))
    assert clone.acquire() == 0.0
    assert os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] == "0"
