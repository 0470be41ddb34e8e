"""Median latency of the emulator itself (raw httpx, warm-up, N rounds) as a markdown table,
and its start-up time (``QuantEmulator()`` entered until the first answer).

Run: ``python benchmarks/emulator_latency.py [--rounds 200]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import httpx

from quant_ai.emulator import QuantEmulator

AUTH = {"Authorization": "Bearer qc_bench"}


def measure(
    call: Callable[[], httpx.Response], rounds: int, warmup: int = 20
) -> tuple[float, float]:
    for _ in range(warmup):
        call().raise_for_status()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        call().raise_for_status()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.95) - 1]


def startup_ms(rounds: int) -> tuple[float, float]:
    """Median and worst time from ``with QuantEmulator()`` to the first answer, in ms."""
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        with QuantEmulator() as emu:
            httpx.get(f"{emu.base_url}/_emulator/stats").raise_for_status()
            times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), max(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--starts", type=int, default=10, help="start-ups to time")
    args = parser.parse_args()
    median_start, worst_start = startup_ms(args.starts)
    print(
        f"Emulator start-up, {args.starts} runs: median {median_start:.1f} ms, "
        f"worst {worst_start:.1f} ms (the target is under 1000 ms)\n"
    )
    texts = [f"benchmark document {i} about topic {i % 9} and more" for i in range(100)]
    chat = {
        "modelId": "amazon.nova-lite-v1:0",
        "messages": [{"role": "user", "content": "Hello, how are you?"}],
    }
    oai_chat = {
        "model": "amazon.nova-lite-v1:0",
        "messages": [{"role": "user", "content": "Hello, how are you?"}],
    }
    with QuantEmulator() as emu, httpx.Client(headers=AUTH, timeout=30) as client:
        api, oai = emu.api_base + "/ai", emu.openai_base_url
        cases = {
            "native chat (small)": lambda: client.post(f"{api}/chat", json=chat),
            "native chat/stream (small)": lambda: client.post(f"{api}/chat/stream", json=chat),
            "native embeddings (100 texts, 1024 d)": lambda: client.post(
                f"{api}/embeddings", json={"input": texts}
            ),
            "oai chat/completions (small)": lambda: client.post(
                f"{oai}/chat/completions", json=oai_chat
            ),
            "oai embeddings (100 texts, 1024 d)": lambda: client.post(
                f"{oai}/embeddings", json={"model": "amazon.titan-embed-text-v2:0", "input": texts}
            ),
        }
        print(f"Emulator latency, {args.rounds} rounds after warm-up (loopback, raw httpx)\n")
        print("| request | median ms | p95 ms |")
        print("|---|---:|---:|")
        for name, call in cases.items():
            median, p95 = measure(call, args.rounds)
            print(f"| {name} | {median:.2f} | {p95:.2f} |")


if __name__ == "__main__":
    main()
