"""One machine, several processes: LlamaIndex's ``IngestionPipeline(num_workers=N)`` pickles
its transformations into worker processes, so the classes must pickle without their HTTP
clients and without a key they read from the environment (each worker reads it again)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import pytest
from llama_index.core.ingestion import IngestionPipeline
from llama_index.core.schema import TextNode

from llama_index_quant import QuantEmbedding, QuantLLM
from quant_ai.emulator import QuantEmulator

SECRET = "qc_secret_from_the_environment"


@pytest.fixture
def env_emulator(monkeypatch: pytest.MonkeyPatch) -> Iterator[QuantEmulator]:
    with QuantEmulator() as emu:
        monkeypatch.setenv("QUANT_API_KEY", SECRET)
        monkeypatch.setenv("QUANT_ORGANIZATION", "acme")
        monkeypatch.setenv("QUANT_BASE_URL", emu.base_url)
        yield emu


@pytest.mark.parametrize("cls", [QuantEmbedding, QuantLLM])
def test_classes_pickle_without_clients_or_environment_keys(
    env_emulator: QuantEmulator, cls: type[QuantEmbedding] | type[QuantLLM]
) -> None:
    thing = cls()
    if isinstance(thing, QuantEmbedding):
        thing.get_text_embedding("warm up")  # the clients now exist
    else:
        thing.complete("hi")
    data = pickle.dumps(thing)
    assert SECRET.encode() not in data
    assert b"httpx" not in data
    clone = pickle.loads(data)
    assert type(clone) is type(thing)


def test_ingestion_pipeline_embeds_in_worker_processes(env_emulator: QuantEmulator) -> None:
    nodes = [TextNode(text=f"Node {i} is about topic {i % 5}.", id_=f"node-{i}") for i in range(40)]
    embedding = QuantEmbedding(dimensions=256, embed_batch_size=10)
    served_before = env_emulator.requests
    parallel = IngestionPipeline(transformations=[embedding]).run(nodes=nodes, num_workers=2)
    assert env_emulator.requests - served_before == 4  # 40 texts, 10 a request, from workers
    assert sorted(n.node_id for n in parallel) == sorted(n.node_id for n in nodes)
    expected = dict(
        zip(
            [n.node_id for n in nodes],
            embedding.get_text_embedding_batch([n.text for n in nodes]),
            strict=True,
        )
    )
    for node in parallel:
        assert node.embedding == pytest.approx(expected[node.node_id])
        assert len(node.embedding or []) == 256
