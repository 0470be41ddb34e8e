"""Fault injection: per-server settings and the per-request ``X-Emulator-Fault`` header.

Header syntax (``;``-separated ``name=value`` pairs, all optional)::

    X-Emulator-Fault: status=429;count=2;retry_after=1;latency=50;key=my-test

See the package docstring of :mod:`quant_ai.emulator` for the meaning of each name.
"""

from __future__ import annotations

import hashlib
import random
import threading
from dataclasses import dataclass

from quant_ai.emulator.config import EmulatorConfig

__all__ = ["FAULT_HEADER", "FaultDecision", "FaultError", "FaultSpec", "Faults", "parse_fault"]

FAULT_HEADER = "x-emulator-fault"

_INT_FIELDS = {"status", "count", "seed", "drop_after", "hold"}
_FLOAT_FIELDS = {"retry_after", "latency", "rate", "event_delay"}


class FaultError(ValueError):
    """The fault header is malformed."""


@dataclass(frozen=True)
class FaultSpec:
    """One parsed ``X-Emulator-Fault`` header."""

    status: int | None = None
    count: int = 1
    retry_after: float | None = None
    latency: float = 0.0
    rate: float | None = None
    seed: int = 0
    drop_after: int | None = None
    event_delay: float = 0.0
    hold: int | None = None
    key: str | None = None


def parse_fault(value: str) -> FaultSpec:
    """Parse an ``X-Emulator-Fault`` header value.

    Args:
        value: e.g. ``"status=503;count=2"``.

    Returns:
        The parsed spec.

    Raises:
        FaultError: On unknown names or bad numbers.
    """
    fields: dict[str, object] = {}
    for part in value.split(";"):
        part = part.strip()
        if not part:
            continue
        name, sep, raw = part.partition("=")
        name = name.strip().lower()
        raw = raw.strip()
        if not sep:
            raise FaultError(f"fault item {part!r} is not name=value")
        try:
            if name in _INT_FIELDS:
                fields[name] = int(raw)
            elif name in _FLOAT_FIELDS:
                fields[name] = float(raw)
            elif name == "key":
                fields[name] = raw
            else:
                raise FaultError(f"unknown fault item {name!r}")
        except ValueError as exc:
            if isinstance(exc, FaultError):
                raise
            raise FaultError(f"fault item {name!r} needs a number, got {raw!r}") from None
    rate = fields.get("rate")
    if isinstance(rate, float) and not 0.0 <= rate <= 1.0:
        raise FaultError("rate must be between 0 and 1")
    status = fields.get("status")
    if isinstance(status, int) and not 100 <= status <= 599:
        raise FaultError("status must be an HTTP status code")
    hold = fields.get("hold")
    if isinstance(hold, int) and hold < 1:
        raise FaultError("hold must be at least 1")
    return FaultSpec(**fields)  # type: ignore[arg-type]


@dataclass(frozen=True)
class FaultDecision:
    """What to do with one request."""

    latency_s: float = 0.0
    status: int | None = None
    retry_after: float | None = None
    drop_after: int | None = None
    event_delay_s: float = 0.0
    drop_buffered: bool = False
    hold: int | None = None


class Faults:
    """Thread-safe fault counters of one server."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._served = 0
        self._server_rng = random.Random(config.failure_seed)  # noqa: S311 - test randomness
        self._counts: dict[str, int] = {}
        self._rngs: dict[str, random.Random] = {}

    def reset(self) -> None:
        """Forget all counters (server and per-key) and reseed the random generators."""
        with self._lock:
            self._served = 0
            self._server_rng = random.Random(self._config.failure_seed)  # noqa: S311
            self._counts.clear()
            self._rngs.clear()

    def decide(
        self, route: str, method: str, path: str, body: bytes, header: FaultSpec | None
    ) -> FaultDecision:
        """Decide the faults of one AI request and update the counters.

        Args:
            route: Route name (for per-route latency).
            method: HTTP method.
            path: Request path.
            body: Raw request body (part of the default per-request fault key).
            header: The parsed ``X-Emulator-Fault`` header, if any.

        Returns:
            The decision.
        """
        cfg = self._config
        latency = cfg.latency_ms + cfg.route_latency_ms.get(route, 0.0)
        status: int | None = None
        retry_after = cfg.retry_after
        drop_after = cfg.drop_after_events
        event_delay = cfg.event_delay_ms
        with self._lock:
            self._served += 1
            if cfg.fault_status is not None and self._served <= cfg.fault_count:
                status = cfg.fault_status
            elif cfg.failure_rate > 0 and self._server_rng.random() < cfg.failure_rate:
                status = cfg.failure_status
            if header is not None:
                latency += header.latency
                event_delay = header.event_delay or event_delay
                if header.drop_after is not None:
                    drop_after = header.drop_after
                if header.retry_after is not None:
                    retry_after = header.retry_after
                key = header.key or _default_key(method, path, body, header)
                if header.rate is not None:
                    rng = self._rngs.get(key)
                    if rng is None:
                        rng = random.Random(header.seed)  # noqa: S311
                        self._rngs[key] = rng
                    if rng.random() < header.rate:
                        status = header.status or 500
                elif header.status is not None:
                    seen = self._counts.get(key, 0) + 1
                    self._counts[key] = seen
                    if seen <= header.count:
                        status = header.status
        return FaultDecision(
            latency_s=latency / 1000.0,
            status=status,
            retry_after=retry_after,
            drop_after=drop_after,
            event_delay_s=event_delay / 1000.0,
            drop_buffered=header is not None and header.drop_after is not None,
            hold=header.hold if header is not None else None,
        )


def _default_key(method: str, path: str, body: bytes, header: FaultSpec) -> str:
    digest = hashlib.sha256(body).hexdigest()[:16]
    return f"{method} {path} {digest} {header!r}"
