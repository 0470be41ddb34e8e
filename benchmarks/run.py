"""Side-by-side benchmarks of quant-ai against the clients users would otherwise pick.

Usage::

    python3 dev.py bench            # every scenario; rewrites BENCHMARKS.md
    python3 dev.py bench --quick    # smoke run: fewer rounds, smaller inputs, prints only
    python3 dev.py bench --only 1,5 # chosen scenarios, prints only

Starts the emulator in separate processes (so that server work does not share the measuring
interpreter), runs every scenario with warm-up and repeated rounds, alternating the subjects
round by round, and writes a markdown table (median, spread, ratio to the named baseline,
target, pass/fail) to ``BENCHMARKS.md`` and stdout. The baselines (langchain-openai's
``ChatOpenAI`` and ``OpenAIEmbeddings``, llama-index's ``OpenAI`` and ``OpenAIEmbedding``) talk
to the emulator's OpenAI-compatible ``/oai/v1``, ours to the native API, both served by the
same emulator process in each scenario.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MODEL = "amazon.nova-lite-v1:0"
EMBED_MODEL = "amazon.titan-embed-text-v2:0"
KEY = "bench-key"
ORG = "bench"
PROMPT = "What is the capital of Australia?"


# ----------------------------------------------------------------------------- results


@dataclass
class Row:
    """One line of the results table."""

    scenario: str
    subject: str
    unit: str
    samples: list[float]
    baseline: str | None = None
    baseline_samples: list[float] | None = None
    target: str = ""
    lower_is_better: bool = True
    limit: float | None = None  # the target ratio (ours / baseline)
    note: str = ""

    @property
    def median(self) -> float:
        return statistics.median(self.samples)

    @property
    def spread(self) -> str:
        lo, hi = min(self.samples), max(self.samples)
        return f"{lo:.3g}-{hi:.3g}"

    @property
    def ratio(self) -> float | None:
        if not self.baseline_samples:
            return None
        return self.median / statistics.median(self.baseline_samples)

    @property
    def verdict(self) -> str:
        if self.limit is None or self.ratio is None:
            return ""
        ok = self.ratio <= self.limit if self.lower_is_better else self.ratio >= self.limit
        return "pass" if ok else "FAIL"


@dataclass
class Report:
    """All rows, printed as they come."""

    rows: list[Row] = field(default_factory=list)

    def add(self, row: Row) -> None:
        self.rows.append(row)
        ratio = f"{row.ratio:.2f}x {row.baseline}" if row.ratio is not None else ""
        print(
            f"  {row.subject}: {row.median:.4g} {row.unit} [{row.spread}] {ratio} "
            f"{row.target} {row.verdict}",
            flush=True,
        )

    def markdown(self, meta: str) -> str:
        lines = [
            "# Benchmarks",
            "",
            HOW_TO_RUN,
            "",
            meta,
            "",
            METHOD,
            "",
            "| scenario | subject | median | spread (min-max of rounds) | rounds | baseline | "
            "ratio to baseline | target | result |",
            "|---|---|---:|---|---:|---|---:|---|---|",
        ]
        for r in self.rows:
            ratio = f"{r.ratio:.2f}x" if r.ratio is not None else ""
            spread = r.spread if len(r.samples) > 1 else "-"
            lines.append(
                f"| {r.scenario} | {r.subject} | {r.median:.4g} {r.unit} | {spread} | "
                f"{len(r.samples)} | {r.baseline or ''} | {ratio} | {r.target} | {r.verdict} |"
            )
        notes: list[str] = []
        for r in self.rows:
            note = f"- {r.scenario}, {r.subject}: {r.note}"
            if r.note and not any(n.endswith(r.note) and r.scenario in n for n in notes):
                notes.append(note)
        if notes:
            lines += ["", "## Notes", "", *notes]
        gaps = [r for r in self.rows if r.verdict == "FAIL"]
        if gaps:
            lines += ["", "## Targets not met", ""]
            for r in gaps:
                lines.append(
                    f"- {r.scenario}, {r.subject} vs {r.baseline}: {r.ratio:.2f}x, "
                    f"target {r.target}."
                )
            explained = {GAPS[key] for key in GAPS for r in gaps if key in r.scenario}
            lines += ["", *sorted(explained)] if explained else []
        return "\n".join(lines) + "\n"


HOW_TO_RUN = """\
Run: `python3 dev.py bench` (installs the `test` and `bench` dependency groups into `.venv`,
runs every scenario, prints the table and rewrites this file; about 15 minutes).
`python3 dev.py bench --quick` is a smoke run (fewer rounds, smaller inputs) and
`python3 dev.py bench --only 1,5` runs the chosen scenarios; both print the table and leave
this file alone. `benchmarks/run.py` is the script (`python benchmarks/run.py --help`)."""

METHOD = """\
Method. Every scenario talks to a `quant-ai emulator` started in its own process, so the
server's CPU work does not share the measuring interpreter: our classes call the native API,
the baselines call the same process's OpenAI-compatible `/oai/v1`. After warm-up, subjects
alternate round by round, so a baseline and ours see the same machine load; a round's value is
the mean of its calls, the median is over rounds, the spread is the smallest and largest round,
and the ratio is our median over the named baseline's median from the same run. Lower is
better for times and memory, higher for throughput. No timed unit tests: these targets are
checked here only."""

GAPS: dict[str, str] = {
    "5. embed": """\
Scenario 5, the latency-bound limit. The limit counts only the injected 50 ms per request;
on this machine each request also costs CPU that the limit leaves out, and our classes are as
fast as the bare-HTTP rows (threads of `httpx.Client.post` + `pydantic_core.from_json`, no
validation), which miss the limit by as much. Profiles (py-spy on both processes,
pyinstrument and cProfile on the client, per-request timers):
- Every 100-text response is 100 x 1024 JSON numbers (~400 KB). Turning them into Python
  floats is the client's floor: pydantic-core `validate_json` takes 3.7 ms per response at
  best (`from_json` alone 3.6 ms, stdlib `json.loads` 27 ms), 6-7 ms with four threads
  sharing the GIL. 10,000 texts are 10.2 million floats: 0.4-0.7 s of client CPU, more than
  the whole 350 ms limit at C=16, before any HTTP work; a call of `embed_documents` at C=16
  uses about as much CPU time as wall time, 1.0-1.4 s each in profiled runs (CPU-bound).
- At C=4 a request takes 61-64 ms from send to response (median): 50 ms injected, plus the
  single emulator process building and writing four 400 KB responses one after another (the
  four requests of a wave arrive together) and the client reading them, plus 7 ms to parse.
  25 waves x ~75 ms is the ~1.9-2.1 s measured; the limit assumes 25 x 50 ms.
- Both processes are single-threaded Python on 2 cores shared with other jobs. What was ours
  is fixed (see the commit log): the emulator's rendering (22.6 -> 7.1 ms per response), a
  per-element `float()` copy of every vector (2.5 ms per response), and a `mode="before"`
  validator that made pydantic build each response twice (4.6 -> 3.7 ms).""",
}
"""Explanations (with their profile) of targets not met, by scenario prefix."""


# ----------------------------------------------------------------------------- emulator


@contextlib.contextmanager
def emulator(*flags: str) -> Iterator[str]:
    """Run ``quant-ai emulator`` in its own process; yield its base URL."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "quant_ai.cli", "emulator", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            raise RuntimeError(f"emulator did not start: {line!r}")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def timed_rounds(call: Callable[[], Any], rounds: int, per_round: int, warmup: int) -> list[float]:
    """Milliseconds per call, one sample per round (the mean of ``per_round`` calls)."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(per_round):
            call()
        samples.append((time.perf_counter() - started) * 1000 / per_round)
    return samples


def interleaved(
    subjects: dict[str, Callable[[], Any]], rounds: int, per_round: int, warmup: int
) -> dict[str, list[float]]:
    """Like :func:`timed_rounds` for several subjects, alternating them round by round."""
    for call in subjects.values():
        for _ in range(warmup):
            call()
    out: dict[str, list[float]] = {name: [] for name in subjects}
    for _ in range(rounds):
        for name, call in subjects.items():
            started = time.perf_counter()
            for _ in range(per_round):
                call()
            out[name].append((time.perf_counter() - started) * 1000 / per_round)
    return out


# ----------------------------------------------------------------------------- scenarios


def chat_invoke(report: Report, url: str, q: Quick) -> None:
    import httpx
    from langchain_openai import ChatOpenAI

    from langchain_quant import ChatQuant

    ours = ChatQuant(model=MODEL, api_key=KEY, organization=ORG, base_url=url)
    theirs = ChatOpenAI(model=MODEL, base_url=f"{url}/oai/v1", api_key=KEY)
    floor_client = httpx.Client()
    native = f"{url}/api/v3/organizations/{ORG}/ai/chat"
    body = json.dumps({"messages": [{"role": "user", "content": PROMPT}], "modelId": MODEL})
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}

    def floor() -> Any:
        return json.loads(floor_client.post(native, content=body, headers=headers).content)

    res = interleaved(
        {
            "floor": floor,
            "ChatOpenAI": lambda: theirs.invoke(PROMPT),
            "ChatQuant": lambda: ours.invoke(PROMPT),
        },
        q.rounds,
        q.per_round,
        q.warmup,
    )
    s = "1. chat invoke"
    report.add(
        Row(
            s,
            "httpx post + json.loads (floor)",
            "ms",
            res["floor"],
            note=f"one question ({PROMPT!r}) to {MODEL}; the floor is one httpx.Client.post of "
            "the native JSON body over a kept-alive connection and json.loads of the answer",
        )
    )
    report.add(Row(s, "ChatOpenAI.invoke", "ms", res["ChatOpenAI"]))
    report.add(
        Row(
            s,
            "ChatQuant.invoke",
            "ms",
            res["ChatQuant"],
            "ChatOpenAI",
            res["ChatOpenAI"],
            "<= 0.8x",
            limit=0.8,
        )
    )
    report.add(
        Row(
            s,
            "ChatQuant.invoke",
            "ms",
            res["ChatQuant"],
            "floor",
            res["floor"],
            "<= 2.0x",
            limit=2.0,
        )
    )


def chat_stream(report: Report, url: str, q: Quick) -> None:
    from langchain_openai import ChatOpenAI

    from langchain_quant import ChatQuant

    headers = {"X-Emulator-Content-Events": "500"}
    ours = ChatQuant(
        model=MODEL, api_key=KEY, organization=ORG, base_url=url, default_headers=headers
    )
    theirs = ChatOpenAI(
        model=MODEL,
        base_url=f"{url}/oai/v1",
        api_key=KEY,
        default_headers=headers,
        stream_usage=True,
    )

    def consume(model: Any) -> Callable[[], int]:
        def run() -> int:
            n = 0
            for _ in model.stream(PROMPT):
                n += 1
            assert n >= 500, n
            return n

        return run

    res = interleaved(
        {"ChatOpenAI": consume(theirs), "ChatQuant": consume(ours)},
        q.rounds,
        max(1, q.per_round // 10),
        q.warmup,
    )
    s = "2. stream 500 events"
    report.add(
        Row(
            s,
            "ChatOpenAI.stream",
            "ms",
            res["ChatOpenAI"],
            note="500 content events per stream on both surfaces (X-Emulator-Content-Events); "
            "ChatOpenAI with stream_usage=True so that both end with usage; every stream is "
            "consumed to the end",
        )
    )
    report.add(
        Row(
            s,
            "ChatQuant.stream",
            "ms",
            res["ChatQuant"],
            "ChatOpenAI",
            res["ChatOpenAI"],
            "<= 0.8x",
            limit=0.8,
        )
    )


def fan_out(report: Report, url: str, q: Quick) -> None:
    from langchain_openai import ChatOpenAI

    from langchain_quant import ChatQuant

    n = q.fan_out
    ours = ChatQuant(model=MODEL, api_key=KEY, organization=ORG, base_url=url)
    theirs = ChatOpenAI(model=MODEL, base_url=f"{url}/oai/v1", api_key=KEY)

    async def burst(model: Any) -> float:
        started = time.perf_counter()
        await asyncio.gather(*(model.ainvoke(f"{PROMPT} #{i}") for i in range(n)))
        return n / (time.perf_counter() - started)

    async def main() -> dict[str, list[float]]:
        out: dict[str, list[float]] = {"ChatOpenAI": [], "ChatQuant": []}
        await burst(theirs)
        await burst(ours)
        for _ in range(q.rounds):
            out["ChatOpenAI"].append(await burst(theirs))
            out["ChatQuant"].append(await burst(ours))
        return out

    res = asyncio.run(main())
    s = f"3. async fan-out x{n}"
    report.add(
        Row(
            s,
            "ChatOpenAI.ainvoke",
            "req/s",
            res["ChatOpenAI"],
            lower_is_better=False,
            note=f"{n} ainvoke calls at once (asyncio.gather) on one model object, one event "
            f"loop; throughput = {n} / wall time of the burst; no added latency, so this is "
            "the CPU throughput of client and emulator",
        )
    )
    report.add(
        Row(
            s,
            "ChatQuant.ainvoke",
            "req/s",
            res["ChatQuant"],
            "ChatOpenAI",
            res["ChatOpenAI"],
            ">= 1.25x",
            lower_is_better=False,
            limit=1.25,
        )
    )


def _llama_openai() -> type[Any]:
    """llama-index's ``OpenAI`` with metadata for a model name it does not know.

    ``OpenAI.metadata`` looks the model name up in its table of OpenAI models and raises for
    any other name (the emulator's ``/oai/v1`` serves Quant model ids only). Overriding that
    one property is what a user pointing ``OpenAI`` at ``/oai/v1`` has to do; every request
    still goes through ``OpenAI``'s own code.
    """
    from llama_index.core.base.llms.types import LLMMetadata
    from llama_index.llms.openai import OpenAI

    class OpenAIOnQuant(OpenAI):  # type: ignore[misc]
        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(
                context_window=300_000,
                num_output=self.max_tokens or -1,
                is_chat_model=True,
                is_function_calling_model=True,
                model_name=self.model,
            )

    return OpenAIOnQuant


def llama_index(report: Report, url: str, q: Quick) -> None:
    from llama_index.core.llms import ChatMessage

    from llama_index_quant import QuantLLM

    ours = QuantLLM(model=MODEL, api_key=KEY, organization=ORG, base_url=url)
    theirs = _llama_openai()(model=MODEL, api_base=f"{url}/oai/v1", api_key=KEY)
    messages = [ChatMessage(role="user", content=PROMPT)]
    base = "OpenAI"
    res = interleaved(
        {base: lambda: theirs.chat(messages), "QuantLLM": lambda: ours.chat(messages)},
        q.rounds,
        q.per_round,
        q.warmup,
    )
    s = "4. LlamaIndex chat"
    report.add(
        Row(
            s,
            "OpenAI.chat (llama-index)",
            "ms",
            res[base],
            note="llama-index's OpenAI looks the model name up in its table of OpenAI models "
            "and raises for any other (/oai/v1 serves Quant model ids); the baseline is a "
            "subclass that overrides only `metadata`, so every request still goes through "
            "OpenAI's own code (llama-index-llms-openai-like would do the same; not needed)",
        )
    )
    report.add(
        Row(s, "QuantLLM.chat", "ms", res["QuantLLM"], base, res[base], "<= 0.8x", limit=0.8)
    )

    async def astream(llm: Any) -> None:
        gen = await llm.astream_chat(messages)
        async for _ in gen:
            pass

    async def main() -> dict[str, list[float]]:
        out: dict[str, list[float]] = {base: [], "QuantLLM": []}
        for llm in (theirs, ours):
            for _ in range(q.warmup):
                await astream(llm)
        for _ in range(q.rounds):
            for name, llm in ((base, theirs), ("QuantLLM", ours)):
                started = time.perf_counter()
                for _ in range(q.per_round):
                    await astream(llm)
                out[name].append((time.perf_counter() - started) * 1000 / q.per_round)
        return out

    res = asyncio.run(main())
    s = "4. LlamaIndex astream_chat"
    report.add(Row(s, "OpenAI.astream_chat (llama-index)", "ms", res[base]))
    report.add(
        Row(
            s,
            "QuantLLM.astream_chat",
            "ms",
            res["QuantLLM"],
            base,
            res[base],
            "<= 0.8x",
            limit=0.8,
        )
    )


EMBED_LATENCY_MS = 50.0


def embeddings(report: Report, url: str, q: Quick) -> None:
    from langchain_openai import OpenAIEmbeddings
    from llama_index.embeddings.openai import OpenAIEmbedding

    from langchain_quant import QuantEmbeddings
    from llama_index_quant import QuantEmbedding

    texts = [f"short text number {i} about topic {i % 37}" for i in range(q.texts)]
    batches = -(-len(texts) // 100)  # the API takes at most 100 texts per request
    lc_oai = OpenAIEmbeddings(
        model=EMBED_MODEL, base_url=f"{url}/oai/v1", api_key=KEY, check_embedding_ctx_length=False
    )

    def sync(call: Callable[[], list[Any]]) -> Callable[[], None]:
        def go() -> None:
            vectors = call()
            assert len(vectors) == len(texts)
            assert len(vectors[-1]) == 1024

        return go

    loop = asyncio.new_event_loop()  # one loop for every async call: clients keep connections

    def in_loop(call: Callable[[], Any]) -> Callable[[], None]:
        return sync(lambda: loop.run_until_complete(call()))

    import httpx
    import pydantic_core

    floor_client = httpx.Client(limits=httpx.Limits(max_connections=64))
    native = f"{url}/api/v3/organizations/{ORG}/ai/embeddings"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    groups = [texts[k : k + 100] for k in range(0, len(texts), 100)]

    def floor_batch(group: list[str]) -> list[list[float]]:
        body = json.dumps({"input": group}).encode()
        response = floor_client.post(native, content=body, headers=headers)
        return pydantic_core.from_json(response.content)["embeddings"]  # type: ignore[no-any-return]

    def floor(c: int) -> list[list[float]]:
        with ThreadPoolExecutor(max_workers=c) as pool:
            return [vector for batch in pool.map(floor_batch, groups) for vector in batch]

    subjects: dict[str, Callable[[], None]] = {
        "OpenAIEmbeddings": sync(lambda: lc_oai.embed_documents(texts)),
    }
    for c in q.concurrency:
        subjects[f"floor C={c}"] = sync(lambda c=c: floor(c))
        lc = QuantEmbeddings(api_key=KEY, organization=ORG, base_url=url, max_concurrency=c)
        li = QuantEmbedding(api_key=KEY, organization=ORG, base_url=url, num_workers=c)
        li_oai = OpenAIEmbedding(
            model_name=EMBED_MODEL, api_base=f"{url}/oai/v1", api_key=KEY, num_workers=c
        )
        subjects[f"QuantEmbeddings C={c}"] = sync(lambda lc=lc: lc.embed_documents(texts))
        subjects[f"QuantEmbedding C={c}"] = in_loop(
            lambda li=li: li.aget_text_embedding_batch(texts)
        )
        subjects[f"OpenAIEmbedding C={c}"] = in_loop(
            lambda li_oai=li_oai: li_oai.aget_text_embedding_batch(texts)
        )
    try:
        res = interleaved(subjects, q.embed_rounds, 1, 1)
    finally:
        loop.close()
        floor_client.close()
    s = f"5. embed {len(texts)} texts, {EMBED_LATENCY_MS:.0f} ms/request"
    base = "OpenAIEmbeddings"
    report.add(
        Row(
            s,
            "OpenAIEmbeddings.embed_documents (langchain-openai)",
            "ms",
            res[base],
            note="its defaults: chunk_size 1000 texts per request (/oai/v1 takes up to 2048), "
            "requests one after another; check_embedding_ctx_length=False so that it sends text "
            "(no tiktoken download)",
        )
    )
    for c in q.concurrency:
        waves = -(-batches // c)
        limit = [waves * EMBED_LATENCY_MS]
        lim = f"limit C={c}"
        report.add(
            Row(
                s,
                f"latency-bound limit, C={c}",
                "ms",
                limit,
                note=f"ceil({batches} requests / {c} in flight) x {EMBED_LATENCY_MS:.0f} ms "
                f"= {waves} x {EMBED_LATENCY_MS:.0f} ms",
            )
        )
        report.add(
            Row(
                s,
                f"bare HTTP: {c} threads of httpx.Client.post + pydantic_core.from_json",
                "ms",
                res[f"floor C={c}"],
                lim,
                limit,
                "(no target)",
                note="the bare-HTTP floor for this scenario: no validation, no retries, the "
                "fastest JSON-to-Python parser in our dependencies",
            )
        )
        li_base = f"OpenAIEmbedding C={c}"
        report.add(
            Row(
                s,
                f"OpenAIEmbedding.aget_text_embedding_batch (llama-index), num_workers={c}",
                "ms",
                res[li_base],
                note="LlamaIndex's num_workers runs batches concurrently on the async path; "
                "its sync get_text_embedding_batch sends them one after another for every "
                "embedding class, so both LlamaIndex classes are measured async, in one event "
                "loop kept for the whole scenario; the native API takes 100 texts per request, "
                "the same embed_batch_size for both",
            )
        )
        for name, call in (
            (f"QuantEmbeddings C={c}", f"QuantEmbeddings.embed_documents, max_concurrency={c}"),
            (f"QuantEmbedding C={c}", f"QuantEmbedding.aget_text_embedding_batch, num_workers={c}"),
        ):
            report.add(Row(s, call, "ms", res[name], lim, limit, "<= 1.3x", limit=1.3))
            report.add(
                Row(
                    s, call, "ms", res[name], f"bare HTTP C={c}", res[f"floor C={c}"], "(no target)"
                )
            )
            report.add(Row(s, call, "ms", res[name], base, res[base], "< 1.0x", limit=0.999))
            if name.startswith("QuantEmbedding "):
                report.add(
                    Row(s, call, "ms", res[name], li_base, res[li_base], "< 1.0x", limit=0.999)
                )


VECTOR_LATENCY_MS = 50.0
VECTOR_CONCURRENCY = 16


def _vector_corpus(docs: int, queries: int) -> tuple[list[str], list[str]]:
    """Documents of 8 and queries of 3 pseudo-words from a 3,000-word vocabulary (seeded).

    A real vocabulary keeps most words rare, so the emulator's search (postings of the
    words a query shares with documents) stays cheap next to the injected latency.
    """
    import random

    rng = random.Random(13)
    syllables = ["ka", "lo", "mi", "ter", "van", "qu", "ix", "ro", "sel", "dun", "pa", "zo"]
    vocab = sorted({"".join(rng.choice(syllables) for _ in range(4)) for _ in range(4000)})
    vocab = vocab[:3000]
    texts = [" ".join(rng.choice(vocab) for _ in range(8)) for _ in range(docs)]
    asks = [" ".join(rng.choice(vocab) for _ in range(3)) for _ in range(queries)]
    return texts, asks


def vector_store(report: Report, url: str, q: Quick) -> None:
    """LangChain ``QuantVectorStore`` against bare httpx on the same vector-db routes."""
    import httpx
    import pydantic_core

    from langchain_quant import QuantVectorStore
    from quant_ai import QuantClient

    texts, asks = _vector_corpus(q.vector_docs, q.vector_queries)
    ids = [f"doc-{i}" for i in range(len(texts))]
    metadatas = [{"n": i % 10} for i in range(len(texts))]
    admin = QuantClient(api_key=KEY, organization=ORG, base_url=url)
    vdb = admin.vector_db
    root = f"{url}/api/v3/organizations/{ORG}/ai/vector-db/collections"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    loop = asyncio.new_event_loop()  # one loop for every async call: clients keep connections
    bare = httpx.Client()
    abare = httpx.AsyncClient(limits=httpx.Limits(max_connections=64))
    counter = iter(range(1_000_000))

    def fresh() -> str:
        return vdb.create_collection(f"bench-{next(counter)}").collection_id

    def bare_upload(cid: str) -> None:
        for k in range(0, len(texts), 100):  # the batches QuantVectorStore sends (batch_size)
            docs = [
                {
                    "content": texts[i],
                    "key": ids[i],
                    "metadata": {**metadatas[i], "_quant_id": ids[i]},
                }
                for i in range(k, min(k + 100, len(texts)))
            ]
            body = json.dumps({"documents": docs}).encode()
            response = bare.post(f"{root}/{cid}/documents", content=body, headers=headers)
            response.raise_for_status()
            pydantic_core.from_json(response.content)

    async def bare_queries(cid: str) -> None:
        gate = asyncio.Semaphore(VECTOR_CONCURRENCY)

        async def one(text: str) -> Any:
            async with gate:
                body = json.dumps({"query": text, "limit": 4, "threshold": 0}).encode()
                response = await abare.post(f"{root}/{cid}/query", content=body, headers=headers)
                response.raise_for_status()
                found = pydantic_core.from_json(response.content)["results"]
                assert len(found) == 4
                return found

        await asyncio.gather(*(one(t) for t in asks))

    def ours_upload(store: Any) -> None:
        assert store.add_texts(texts, metadatas, ids=ids) == ids

    async def ours_queries(store: Any) -> None:
        gate = asyncio.Semaphore(VECTOR_CONCURRENCY)

        async def one(text: str) -> Any:
            async with gate:
                found = await store.asimilarity_search(text, k=4)
                assert len(found) == 4
                return found

        await asyncio.gather(*(one(t) for t in asks))

    def bare_round() -> tuple[float, float]:
        cid = fresh()
        started = time.perf_counter()
        bare_upload(cid)
        upload = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        loop.run_until_complete(bare_queries(cid))
        queries = (time.perf_counter() - started) * 1000
        vdb.delete_collection(cid)
        return upload, queries

    def ours_round() -> tuple[float, float]:
        cid = fresh()
        store = QuantVectorStore(collection=cid, api_key=KEY, organization=ORG, base_url=url)
        started = time.perf_counter()
        ours_upload(store)
        upload = (time.perf_counter() - started) * 1000
        started = time.perf_counter()
        loop.run_until_complete(ours_queries(store))
        queries = (time.perf_counter() - started) * 1000
        vdb.delete_collection(cid)
        return upload, queries

    out: dict[str, list[float]] = {n: [] for n in ("bare up", "ours up", "bare q", "ours q")}
    try:
        # warm-up: the emulator embeds each text once (then cached), connections open
        bare_round()
        ours_round()
        for number in range(q.vector_rounds):
            rounds = [("bare", bare_round), ("ours", ours_round)]
            for who, run in rounds if number % 2 == 0 else rounds[::-1]:
                upload, queries = run()
                out[f"{who} up"].append(upload)
                out[f"{who} q"].append(queries)
    finally:
        loop.run_until_complete(abare.aclose())
        loop.close()
        bare.close()
        admin.close()
    n = len(texts)
    s = f"8. vector store, upload {n} documents, {VECTOR_LATENCY_MS:.0f} ms/request"
    report.add(
        Row(
            s,
            "bare httpx: POST .../documents, 100 a request, one after another",
            "ms",
            out["bare up"],
            note=f"{n} documents of 8 words with metadata and ids (sent as key and _quant_id, "
            "the wire QuantVectorStore sends), 100 per request as QuantVectorStore's batch_size, "
            "requests one after another; a fresh collection per round; the emulator adds "
            f"{VECTOR_LATENCY_MS:.0f} ms to every vector-db request",
        )
    )
    report.add(
        Row(
            s,
            "QuantVectorStore.add_texts (langchain_quant)",
            "ms",
            out["ours up"],
            "bare httpx",
            out["bare up"],
            "<= 1.2x",
            limit=1.2,
        )
    )
    s = (
        f"8. vector store, {len(asks)} queries k=4, {VECTOR_CONCURRENCY} at once, "
        f"{VECTOR_LATENCY_MS:.0f} ms/request"
    )
    report.add(
        Row(
            s,
            f"bare httpx: {VECTOR_CONCURRENCY} concurrent AsyncClient.post of .../query",
            "ms",
            out["bare q"],
            note=f"{len(asks)} queries of 3 words against the {n} documents just uploaded, "
            f"{VECTOR_CONCURRENCY} in flight (asyncio.gather behind a semaphore, one event "
            "loop kept for the scenario); bare httpx parses the answer with "
            "pydantic_core.from_json, QuantVectorStore returns Documents",
        )
    )
    report.add(
        Row(
            s,
            "QuantVectorStore.asimilarity_search (langchain_quant)",
            "ms",
            out["ours q"],
            "bare httpx",
            out["bare q"],
            "<= 1.2x",
            limit=1.2,
        )
    )


def llama_ingest(report: Report, url: str, q: Quick) -> None:
    """``QuantIndex`` ingest (text only) against ``VectorStoreIndex`` + ``QuantVectorStore``."""
    from llama_index.core import Document, StorageContext, VectorStoreIndex

    from llama_index_quant import QuantEmbedding, QuantIndex, QuantVectorStore
    from quant_ai import QuantClient

    texts, _ = _vector_corpus(q.vector_docs, 0)
    docs = [Document(id_=f"doc-{i}", text=t) for i, t in enumerate(texts)]
    conn = {"api_key": KEY, "organization": ORG, "base_url": url}
    admin = QuantClient(**conn)
    counter = iter(range(1_000_000))
    used: list[str] = []

    def name() -> str:
        used.append(f"ingest-{next(counter)}")
        return used[-1]

    def managed() -> None:
        QuantIndex.from_documents(docs, collection=name(), **conn)

    def pipeline() -> None:
        VectorStoreIndex.from_documents(
            docs,
            storage_context=StorageContext.from_defaults(
                vector_store=QuantVectorStore(name(), **conn)
            ),
            embed_model=QuantEmbedding(**conn),
            transformations=[],  # the documents are the nodes, as for QuantIndex
        )

    def cleanup() -> None:
        while used:
            admin.vector_db.delete_collection(used.pop())

    out: dict[str, list[float]] = {"pipeline": [], "managed": []}
    try:
        for _ in range(q.vector_rounds):
            for key, call in (("pipeline", pipeline), ("managed", managed)):
                started = time.perf_counter()
                call()
                out[key].append((time.perf_counter() - started) * 1000)
                cleanup()
    finally:
        cleanup()
        admin.close()
    s = f"9. LlamaIndex ingest {len(docs)} documents, {VECTOR_LATENCY_MS:.0f} ms/request"
    base = "VectorStoreIndex"
    report.add(
        Row(
            s,
            "VectorStoreIndex.from_documents over QuantVectorStore, QuantEmbedding",
            "ms",
            out["pipeline"],
            note="VectorStoreIndex embeds every node locally (QuantEmbedding, 100 texts a "
            "request, one after another as its sync path does) and then QuantVectorStore "
            "uploads the text (the service embeds it again); no node parser on either side "
            f"(transformations=[]); {VECTOR_LATENCY_MS:.0f} ms on every embeddings and "
            "vector-db request; a fresh collection per run, its creation included",
        )
    )
    report.add(
        Row(
            s,
            "QuantIndex.from_documents (uploads text only)",
            "ms",
            out["managed"],
            base,
            out["pipeline"],
            "< 1.0x",
            limit=0.999,
        )
    )


IMPORT_SCRIPT = (
    "import time; t = time.perf_counter(); {stmt}; print((time.perf_counter() - t) * 1000)"
)


def import_time(report: Report, q: Quick) -> None:
    import tempfile

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    pairs = [
        ("import langchain_quant", "import langchain_openai", 0.6),
        ("import llama_index_quant", "import llama_index.core", 1.15),
        ("from quant_ai import QuantClient", "import httpx, pydantic", 1.5),
    ]
    floor = "import httpx; from pydantic import BaseModel"
    stmts = [s for pair in pairs for s in pair[1::-1]] + ["import quant_ai", floor]
    with tempfile.TemporaryDirectory() as cache:

        def once(stmt: str) -> float:
            out = subprocess.run(
                [
                    sys.executable,
                    "-X",
                    f"pycache_prefix={cache}",
                    "-c",
                    IMPORT_SCRIPT.format(stmt=stmt),
                ],
                capture_output=True,
                text=True,
                check=True,
                env=env,
                cwd=ROOT,
            )
            return float(out.stdout.strip().splitlines()[-1])

        for stmt in stmts:  # compile every module once, so that all runs read bytecode
            once(stmt)
        samples: dict[str, list[float]] = {stmt: [] for stmt in stmts}
        for _ in range(q.import_runs):
            for stmt in stmts:
                samples[stmt].append(once(stmt))
    s = "6. import time"
    method = (
        "a fresh interpreter per sample times the statement itself (perf_counter around it); "
        "every interpreter reads bytecode compiled once into a temporary pycache_prefix, so no "
        "side compiles sources (PYTHONDONTWRITEBYTECODE would otherwise recompile ours only)"
    )
    for ours, theirs, limit in pairs:
        report.add(Row(s, f"`{theirs}`", "ms", samples[theirs], note=method))
        report.add(
            Row(
                s,
                f"`{ours}`",
                "ms",
                samples[ours],
                f"`{theirs}`",
                samples[theirs],
                f"<= {limit}x",
                limit=limit,
            )
        )
    report.add(
        Row(
            s,
            "`import quant_ai`",
            "ms",
            samples["import quant_ai"],
            "`import httpx, pydantic`",
            samples["import httpx, pydantic"],
            "(no target)",
            note="quant_ai loads its public names on first use (PEP 562), so a bare "
            "`import quant_ai` loads almost nothing; the target is applied to "
            "`from quant_ai import QuantClient`, what a user of the client pays",
        )
    )
    report.add(
        Row(
            s,
            f"`{floor}`",
            "ms",
            samples[floor],
            "`import httpx, pydantic`",
            samples["import httpx, pydantic"],
            "(no target)",
            note="`import pydantic` is lazy and does not load the model machinery; this row is "
            "what any client with pydantic models pays before defining one",
        )
    )


MEMORY_SCRIPT = textwrap.dedent(
    """
    import base64, gc, json, resource, sys
    url, kind = sys.argv[1], sys.argv[2]
    size = 20 * 1024 * 1024

    def status(key):
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key):
                    return int(line.split()[1]) / 1024
        raise KeyError(key)

    image = bytes.fromhex("89504e470d0a1a0a") + bytes(range(256)) * (size // 256 - 1)
    if kind == "QuantClient.chat":
        from quant_ai import ImageBlock, QuantClient
        client = QuantClient("k", "bench", url)
        client.chat(messages=[{"role": "user", "content": "warm up"}])
        block = ImageBlock.from_bytes(image, "png")  # the caller's input, before the request
        content = [block, {"text": "What is this?"}]
        call = lambda: client.chat(messages=[{"role": "user", "content": content}])
    else:
        from langchain_core.messages import HumanMessage
        from langchain_quant import ChatQuant
        llm = ChatQuant(api_key="k", organization="bench", base_url=url)
        llm.invoke("warm up")
        message = HumanMessage(content=[  # the caller's input, before the request
            {"type": "image", "base64": base64.b64encode(image).decode(), "mime_type": "image/png"},
            {"type": "text", "text": "What is this?"}])
        call = lambda: llm.invoke([message])
    gc.collect()
    try:  # Linux: reset the peak (VmHWM) to the current RSS, then read it after the call
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        before = status("VmRSS")
        call()
        peak = status("VmHWM")
    except OSError:  # elsewhere: the lifetime peak, so the caller's input counts too
        before = 0.0
        call()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"increase_mb": peak - before}))
    """
)


def memory(report: Report, url: str, q: Quick) -> None:
    for subject in ("QuantClient.chat", "ChatQuant.invoke"):
        samples = []
        for _ in range(q.memory_runs):
            out = subprocess.run(
                [sys.executable, "-c", MEMORY_SCRIPT, url, subject],
                capture_output=True,
                text=True,
                check=True,
            )
            samples.append(json.loads(out.stdout.strip().splitlines()[-1])["increase_mb"])
        report.add(
            Row(
                "7. memory, one chat request with a 20 MB image",
                f"{subject} peak RSS increase",
                "MB",
                samples,
                "image size (20 MB)",
                [20.0],
                "<= 4x",
                limit=4.0,
                note="a fresh process per sample; peak RSS (VmHWM, reset just before the call) "
                "minus RSS before the call, with the caller's message already built",
            )
        )


# ----------------------------------------------------------------------------- main


@dataclass
class Quick:
    """Repetition settings."""

    rounds: int = 7
    per_round: int = 100
    warmup: int = 20
    fan_out: int = 500
    texts: int = 10_000
    concurrency: tuple[int, ...] = (4, 16)
    embed_rounds: int = 5
    import_runs: int = 25
    memory_runs: int = 3
    vector_docs: int = 10_000
    vector_queries: int = 1_000
    vector_rounds: int = 3


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (
        f"Run on {dt.date.today().isoformat()}: {cpu}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}."
    )


SCENARIOS: dict[str, Callable[..., None]] = {
    "1": chat_invoke,
    "2": chat_stream,
    "3": fan_out,
    "4": llama_index,
    "5": embeddings,
    "6": import_time,
    "7": memory,
    "8": vector_store,
    "9": llama_ingest,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="fewer rounds (a smoke run)")
    parser.add_argument("--only", help="scenario numbers, comma-separated")
    parser.add_argument("--output", default=str(ROOT / "BENCHMARKS.md"))
    args = parser.parse_args(argv)
    q = (
        Quick(
            rounds=3,
            per_round=20,
            warmup=5,
            fan_out=100,
            texts=2000,
            embed_rounds=2,
            import_runs=3,
            memory_runs=1,
            vector_docs=1_000,
            vector_queries=100,
            vector_rounds=1,
        )
        if args.quick
        else Quick()
    )
    chosen = args.only.split(",") if args.only else list(SCENARIOS)
    report = Report()
    with (
        emulator() as url,
        emulator(
            "--route-latency", "embeddings=50", "--route-latency", "oai_embeddings=50"
        ) as slow_url,
        emulator(
            "--route-latency", "vector_db=50", "--route-latency", "embeddings=50"
        ) as vector_url,
    ):
        for number in chosen:
            print(f"scenario {number}", flush=True)
            func = SCENARIOS[number]
            if number == "6":
                func(report, q)
            elif number == "5":
                func(report, slow_url, q)
            elif number in ("8", "9"):
                func(report, vector_url, q)
            else:
                func(report, url, q)
    meta = machine() + (" Quick run." if args.quick else "")
    text = report.markdown(meta)
    print(text)
    if not args.quick and not args.only:
        Path(args.output).write_text(text, encoding="utf-8")
        print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
