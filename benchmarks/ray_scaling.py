"""Ray Data scaling: rows per second of ``QuantEmbedder`` with 1, 2 and 4 actors, and a
rate-limited run, against a multi-process emulator with 50 ms of latency per request.

Usage (after ``python3 dev.py test`` or ``bench`` has made ``.venv``)::

    .venv/bin/python benchmarks/ray_scaling.py          # full run; updates BENCHMARKS.md
    .venv/bin/python benchmarks/ray_scaling.py --quick  # smaller, prints only

What is measured, all in one run on a local Ray cluster:

- *Throughput at N actors*: rows / the window in which the actors embedded (from the first
  batch an actor started to the last one an actor finished; each batch records its times), so
  Ray's start-up of the actors and the job's scheduling are not counted. Each request carries
  ``TEXTS`` texts and each actor keeps ``CONCURRENCY`` requests in flight, so the
  latency-bound limit is ``N * CONCURRENCY * TEXTS / 0.050`` rows/s.
- *Scaling efficiency*: throughput at N / (N x throughput at 1).
- *Rate-limited run*: the emulator admits ``RATE`` requests/s (429 with Retry-After past it)
  and every actor shares one :class:`~quant_ai.ray.RayRateLimiter` at the same cap; the
  achieved request rate is compared with the cap (target: within 10%), rows are counted
  (target: none lost), and 429s are counted.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")  # Ray on loopback only

import numpy as np
import ray

from quant_ai.emulator.cluster import EmulatorCluster
from quant_ai.ray import QuantEmbedder, RayRateLimiter

ROOT = Path(__file__).resolve().parent.parent
LATENCY_MS = 50
TEXTS = 20  # texts per request
CONCURRENCY = 2  # requests in flight per actor
DIMENSIONS = 256
RATE = 40.0  # requests/s for the rate-limited run
START, END = "<!-- ray-scaling:start -->", "<!-- ray-scaling:end -->"


def rows(n: int) -> list[dict[str, Any]]:
    return [{"id": i, "text": f"row {i} about subject {i % 97} and more words"} for i in range(n)]


class TimedEmbedder(QuantEmbedder):
    """QuantEmbedder that records when each batch started and finished (wall clock)."""

    def __call__(self, batch: Any) -> Any:
        started = time.time()
        out = super().__call__(batch)
        size = len(out[self.text_column])
        out["t0"] = np.full(size, started)
        out["t1"] = np.full(size, time.time())
        return out


def run_job(base_url: str, n_rows: int, actors: int, **extra: Any) -> tuple[float, float]:
    """Run one job; return (wall seconds, seconds in which the actors embedded)."""
    kwargs = {
        "base_url": base_url,
        "organization": "bench",
        "api_key": "bench-key",
        "dimensions": DIMENSIONS,
        "batch_size": TEXTS,
        "max_concurrency": CONCURRENCY,
        "max_retries": 20,
        **extra,
    }
    ds = ray.data.from_items(rows(n_rows), override_num_blocks=max(actors * 4, 4))
    started = time.perf_counter()
    out = ds.map_batches(
        TimedEmbedder,
        compute=ray.data.ActorPoolStrategy(size=actors),
        batch_size=TEXTS * CONCURRENCY * 4,
        fn_constructor_kwargs=kwargs,
    ).select_columns(["t0", "t1"])
    times = out.to_pandas()
    elapsed = time.perf_counter() - started
    if len(times) != n_rows:
        raise RuntimeError(f"lost rows: {len(times)} of {n_rows}")
    return elapsed, float(times["t1"].max() - times["t0"].min())


def scaling(base_url: str, n_rows: int) -> list[str]:
    lines = [
        "| actors | rows | job wall s | embedding window s | rows/s | latency-bound limit "
        "rows/s | ratio to limit | scaling efficiency |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    single = 0.0
    for actors in (1, 2, 4):
        wall, window = run_job(base_url, n_rows, actors)
        rate = n_rows / window
        limit = actors * CONCURRENCY * TEXTS / (LATENCY_MS / 1000)
        single = single or rate
        efficiency = rate / (actors * single)
        lines.append(
            f"| {actors} | {n_rows} | {wall:.2f} | {window:.2f} | {rate:.0f} | {limit:.0f} | "
            f"{rate / limit:.2f} | {efficiency:.2f} |"
        )
        print(lines[-1], flush=True)
    return lines


def rate_limited(n_rows: int) -> list[str]:
    requests = -(-n_rows // TEXTS)
    with EmulatorCluster(
        workers=2, route_latency_ms={"embeddings": LATENCY_MS}, rate_limit_rps=RATE
    ) as emu:
        limiter = RayRateLimiter.create(RATE, burst=1)
        _, capped = run_job(emu.base_url, n_rows, 4, rate_limiter=limiter)
        _, uncapped = run_job(emu.base_url, n_rows, 4)  # no cap: the 429s pace the run
        refused = _refusals(emu.base_url)
    lines = [
        "| run | requests | embedding window s | achieved req/s | cap req/s | ratio to cap | "
        "rows lost |",
        "|---|---:|---:|---:|---:|---:|---:|",
        f"| 4 actors, one shared RayRateLimiter at the cap | {requests} | {capped:.2f} | "
        f"{requests / capped:.1f} | {RATE:.0f} | {requests / capped / RATE:.2f} | 0 |",
        f"| 4 actors, no cap (shared 429 backoff only; {refused} answers were 429) | "
        f"{requests} | {uncapped:.2f} | {requests / uncapped:.1f} | {RATE:.0f} | "
        f"{requests / uncapped / RATE:.2f} | 0 |",
    ]
    print("\n".join(lines[2:]), flush=True)
    return lines


def _refusals(base_url: str) -> int:
    """429s the emulator's workers sent (each reports its own; ask until all have answered)."""
    import httpx

    seen: dict[int, int] = {}
    with httpx.Client(base_url=base_url, headers={"Connection": "close"}) as http:
        for _ in range(50):
            stats = http.get("/_emulator/stats").json()
            seen[stats["pid"]] = stats["rate_limited"]
    return sum(seen.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller run, prints only")
    args = parser.parse_args(argv)
    n_rows = 4000 if args.quick else 16000
    limited_rows = 1600 if args.quick else 4800
    ray.init(num_cpus=os.cpu_count() or 2, include_dashboard=False, log_to_driver=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    try:
        with EmulatorCluster(workers=4, route_latency_ms={"embeddings": LATENCY_MS}) as emu:
            table = scaling(emu.base_url, n_rows)
        limited = rate_limited(limited_rows)
    finally:
        ray.shutdown()
    cpu = platform.processor() or platform.machine()
    text = "\n".join(
        [
            START,
            "## Scaling out on Ray (`benchmarks/ray_scaling.py`)",
            "",
            f"Run on {time.strftime('%Y-%m-%d')}: {os.cpu_count()} cores ({cpu}), Python "
            f"{platform.python_version()}, Ray {ray.__version__}. Emulator: 4 worker processes "
            f"(`quant-ai emulator --workers 4`), {LATENCY_MS} ms per embeddings request; "
            f"{TEXTS} texts per request, {CONCURRENCY} requests in flight per actor, "
            f"{DIMENSIONS} dimensions.",
            "",
            *table,
            "",
            f"Rate-limited: the emulator admits {RATE:.0f} requests/s (2 workers, one shared "
            "limit), 429 with Retry-After past it; "
            f"{limited_rows} rows.",
            "",
            *limited,
            END,
        ]
    )
    print(text)
    if not args.quick:
        path = ROOT / "BENCHMARKS.md"
        old = path.read_text(encoding="utf-8")
        pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.S)
        new = pattern.sub(lambda _: text, old) if pattern.search(old) else old + "\n" + text + "\n"
        path.write_text(new, encoding="utf-8")
        print(f"updated {path.name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
