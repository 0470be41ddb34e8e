"""A fake clock for a ``QuantClient``: waits are recorded and advance time, nothing sleeps."""

from __future__ import annotations

from quant_ai import QuantClient


def fake_clock(client: QuantClient) -> list[float]:
    """Replace the client's clock and sleeps; return the list the waits are recorded in."""
    now = [0.0]
    sleeps: list[float] = []

    def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        now[0] += seconds

    async def asleep(seconds: float) -> None:
        sleep(seconds)

    client.clock = lambda: now[0]
    client.transport.sleep = sleep
    client.transport.asleep = asleep
    return sleeps
