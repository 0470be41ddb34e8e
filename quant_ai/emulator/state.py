"""The mutable state of one emulator server: request counters, fault counters, executions."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import Any

from quant_ai.emulator.config import EmulatorConfig
from quant_ai.emulator.executions import ExecutionStore
from quant_ai.emulator.faults import Faults
from quant_ai.emulator.org import OrgState

__all__ = ["HOLD_TIMEOUT_S", "EmulatorState"]

HOLD_TIMEOUT_S = 30.0
"""Longest wait at a ``hold=N`` gate before the requests there go on anyway."""


class EmulatorState:
    """Mutable per-server state (thread-safe): counters, faults, executions."""

    def __init__(self, config: EmulatorConfig) -> None:
        self.config = config
        self.faults = Faults(config)
        self.executions = ExecutionStore(config.execution_polls_per_state)
        self.org = OrgState(config, self.executions)  # sessions, agents, spend
        self._lock = threading.Lock()
        self._peers: set[tuple[str, int]] = set()
        self.requests = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self.injected_latency_s = 0.0
        self.injected_event_delay_s = 0.0
        self._gates: dict[int, tuple[asyncio.Event, list[int]]] = {}

    def seen(self, scope_client: Any) -> None:
        """Record a request and the connection (client address) it came on."""
        with self._lock:
            self.requests += 1
            if scope_client:
                self._peers.add((str(scope_client[0]), int(scope_client[1])))

    def enter(self) -> None:
        """A request started being handled (for the in-flight counters)."""
        with self._lock:
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)

    def leave(self) -> None:
        """A request finished being handled."""
        with self._lock:
            self.in_flight -= 1

    def record_latency(self, seconds: float) -> None:
        """Count latency injected before a response."""
        with self._lock:
            self.injected_latency_s += seconds

    def record_event_delay(self, seconds: float) -> None:
        """Count a pause injected between two SSE events."""
        with self._lock:
            self.injected_event_delay_s += seconds

    async def hold(self, count: int, timeout: float = HOLD_TIMEOUT_S) -> None:
        """Wait until ``count`` requests wait here at once, then release them all together.

        Runs on the server's event loop only. After ``timeout`` seconds the waiting requests go
        on anyway, so a test that sends too few cannot hang the server.
        """
        gate = self._gates.get(count)
        if gate is None:
            gate = self._gates[count] = (asyncio.Event(), [0])
        event, waiting = gate
        waiting[0] += 1
        self.enter()
        try:
            if waiting[0] >= count:
                del self._gates[count]
                event.set()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        finally:
            self.leave()

    @property
    def connections(self) -> int:
        """Distinct client connections seen so far."""
        with self._lock:
            return len(self._peers)

    def reset(self) -> None:
        """Reset counters, fault state and executions."""
        with self._lock:
            self._peers.clear()
            self.requests = 0
            self.peak_in_flight = self.in_flight
            self.injected_latency_s = 0.0
            self.injected_event_delay_s = 0.0
        self.faults.reset()
        self.executions.clear()
        self.org.reset()
