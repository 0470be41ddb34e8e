"""The ``quant-ai`` console command.

Subcommands are registered by small ``_add_<name>`` functions, so new ones (e.g. ``demo``)
plug in without touching the others.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from quant_ai.emulator.cluster import EmulatorCluster

__all__ = ["build_parser", "main"]

Command = Callable[[argparse.Namespace], int]


def _route_latency(text: str) -> tuple[str, float]:
    name, sep, value = text.partition("=")
    if not sep:
        raise argparse.ArgumentTypeError("use ROUTE=MS, e.g. embeddings=50")
    return name.strip(), float(value)


def _add_emulator(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "emulator",
        help="run the local Quant AI emulator",
        description="Serve a local Quant AI emulator until interrupted.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8787, help="port, 0 for a free one (8787)")
    p.add_argument("--latency-ms", type=float, default=0.0, help="added latency per request")
    p.add_argument(
        "--route-latency",
        type=_route_latency,
        action="append",
        default=[],
        metavar="ROUTE=MS",
        help="added latency per route, e.g. embeddings=50 (repeatable)",
    )
    p.add_argument("--fault-status", type=int, help="status for the first --fault-count requests")
    p.add_argument("--fault-count", type=int, default=0)
    p.add_argument("--retry-after", type=float, help="Retry-After seconds for 429/503 faults")
    p.add_argument("--failure-rate", type=float, default=0.0, help="random failure rate 0..1")
    p.add_argument("--failure-status", type=int, default=500)
    p.add_argument("--failure-seed", type=int, default=0)
    p.add_argument("--drop-after-events", type=int, help="drop streams after N events")
    p.add_argument("--event-delay-ms", type=float, default=0.0, help="delay between SSE events")
    p.add_argument("--chunking", choices=["word", "char", "sentence", "none"], default="word")
    p.add_argument("--content-events", type=int, help="force N content events per stream")
    p.add_argument(
        "--wild",
        action="store_true",
        help="alternative shapes: docs-style SSE data frames, data: URL images",
    )
    p.add_argument("--execution-polls", type=int, default=1, help="reads per transient state")
    p.add_argument("--access-log", action="store_true", help="print access logs")
    p.add_argument(
        "--workers",
        type=int,
        default=1,
        help="worker processes on the one port (default 1; above 1 the stateful routes, "
        "vector-db, sessions, agents and durable executions, answer 501)",
    )
    p.add_argument(
        "--rate-limit",
        type=float,
        metavar="RPS",
        help="admit at most RPS AI requests a second (all workers together); past it 429 "
        "with Retry-After",
    )
    p.add_argument(
        "--rate-burst", type=int, metavar="N", help="requests admitted at once (default RPS)"
    )
    p.add_argument(
        "--api-key",
        help="accept only this API key (others get 401, as from the service); default: any",
    )
    p.add_argument(
        "--organization",
        "--organisation",
        help="serve only this organisation (others get 403); default: any, shown as 'demo'",
    )
    p.set_defaults(func=_run_emulator)


def _run_emulator(args: argparse.Namespace) -> int:
    from quant_ai.emulator import EmulatorConfig, QuantEmulator

    config = EmulatorConfig(
        host=args.host,
        port=args.port,
        latency_ms=args.latency_ms,
        route_latency_ms=dict(args.route_latency),
        fault_status=args.fault_status,
        fault_count=args.fault_count,
        retry_after=args.retry_after,
        failure_rate=args.failure_rate,
        failure_status=args.failure_status,
        failure_seed=args.failure_seed,
        drop_after_events=args.drop_after_events,
        event_delay_ms=args.event_delay_ms,
        chunking=args.chunking,
        content_events=args.content_events,
        shapes="wild" if args.wild else "spec",
        execution_polls_per_state=args.execution_polls,
        access_log=args.access_log,
        rate_limit_rps=args.rate_limit,
        rate_limit_burst=args.rate_burst,
        organization=args.organization,
        api_key=args.api_key,
    )
    if args.workers < 1:
        print("--workers must be at least 1", file=sys.stderr)
        return 2
    emu: QuantEmulator | EmulatorCluster
    if args.workers > 1:
        from quant_ai.emulator.cluster import EmulatorCluster

        emu = EmulatorCluster(args.workers, config)
    else:
        emu = QuantEmulator(config)
    emu.bind()
    org_rule = "only this one is served" if args.organization else "any is served"
    key_rule = "only the one given to --api-key" if args.api_key else "any bearer token"
    print(f"Quant AI emulator listening on {emu.base_url}", flush=True)
    print(f"  organisation: {emu.organization} ({org_rule})", flush=True)
    print(f"  API key: {key_rule}", flush=True)
    print(f"  native API: {emu.api_base}/ai", flush=True)
    print(f"  OpenAI API: {emu.openai_base_url}", flush=True)
    print(
        f"  export QUANT_BASE_URL={emu.base_url} QUANT_ORGANIZATION={emu.organization}",
        flush=True,
    )
    if args.workers > 1:
        print(f"  {args.workers} worker processes (stateful routes answer 501)", flush=True)
    if args.rate_limit:
        print(f"  rate limit: {args.rate_limit:g} requests/s", flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        emu.serve_forever()
    return 0


def _add_demo(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "demo",
        help="run the end-to-end demo (LangChain and LlamaIndex; emulator unless a token is set)",
        add_help=False,  # --help goes to the demo's own parser
    )
    p.set_defaults(func=lambda args: _run_demo([]))


def _run_demo(argv: list[str]) -> int:
    try:
        from quant_demo import main as demo_main
    except ImportError as exc:  # the demo needs both frameworks and the emulator
        print(f"The demo needs the extras: pip install 'quant-ai[all]' ({exc})", file=sys.stderr)
        return 2
    return demo_main(argv)


_COMMANDS: tuple[Callable[[argparse._SubParsersAction[argparse.ArgumentParser]], None], ...] = (
    _add_emulator,
    _add_demo,
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = argparse.ArgumentParser(prog="quant-ai", description="Quant AI tools")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in _COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``quant-ai`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["demo"]:  # every further argument belongs to the demo's own parser
        return _run_demo(argv[1:])
    args = build_parser().parse_args(argv)
    func: Command = args.func
    return func(args)


if __name__ == "__main__":
    sys.exit(main())
