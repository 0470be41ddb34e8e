"""The emulator's rate limit (GCRA): unit behaviour on a fake clock, a cell shared by two
limits as two processes share it, and 429 + Retry-After on the wire."""

from __future__ import annotations

import httpx
import pytest

from quant_ai import QuantClient
from quant_ai.emulator import QuantEmulator
from quant_ai.emulator.ratelimit import RateLimit, SharedCell, retry_after_header
from tests.emulator.conftest import AUTH
from tests.emulator.helpers import chat_body


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_burst_then_exact_wait_then_steady_rate() -> None:
    clock = Clock()
    limit = RateLimit(10, burst=3, clock=clock)
    assert [limit.admit() for _ in range(3)] == [None, None, None]
    wait = limit.admit("fourth")
    assert wait == pytest.approx(0.1)
    assert limit.refusals[-1].key == "fourth"
    clock.now += 0.1
    assert limit.admit() is None  # one emission interval later, exactly one more
    assert limit.admit() == pytest.approx(0.1)
    clock.now += 10  # idle: the burst is back, never more than it
    assert [limit.admit() for _ in range(4)][:3] == [None, None, None]
    assert limit.admitted == 7
    assert len(limit.refusals) == 3


def test_default_burst_is_one_second_of_rate() -> None:
    assert RateLimit(2.5).burst == 3
    assert RateLimit(0.5).burst == 1


@pytest.mark.parametrize(("rate", "burst"), [(0, None), (-1, None), (1, 0)])
def test_bad_settings_are_refused(rate: float, burst: int | None) -> None:
    with pytest.raises(ValueError, match=r"rate|burst"):
        RateLimit(rate, burst)


def test_a_shared_cell_makes_two_limits_one() -> None:
    clock = Clock()
    cell = SharedCell.create()
    try:
        other = SharedCell(cell.path)  # what a second process opens
        a = RateLimit(1, burst=2, cell=cell, clock=clock)
        b = RateLimit(1, burst=2, cell=other, clock=clock)
        assert a.admit() is None
        assert b.admit() is None
        assert a.admit() == pytest.approx(1.0)
        assert b.admit() == pytest.approx(1.0)
        other.close()
    finally:
        cell.close()
        import os

        os.unlink(cell.path)


@pytest.mark.parametrize(
    ("seconds", "header"), [(0, "0"), (1.0, "1"), (0.0421, "0.043"), (2.5, "2.500")]
)
def test_retry_after_header(seconds: float, header: str) -> None:
    assert retry_after_header(seconds) == header


def test_emulator_answers_429_with_the_wait_past_its_rate() -> None:
    with (
        QuantEmulator(rate_limit_rps=2, rate_limit_burst=1) as emu,
        httpx.Client(base_url=emu.api_base, headers=AUTH) as http,
    ):
        first = http.post("/ai/chat", json=chat_body("one"))
        second = http.post("/ai/chat", json=chat_body("two"))
        assert first.status_code == 200
        assert second.status_code == 429
        assert 0 < float(second.headers["retry-after"]) <= 0.5
        stats = http.get(emu.base_url + "/_emulator/stats").json()
        assert stats["rate_limited"] == 1
        # The emulator helpers are not AI requests: never limited.
        assert all(http.get(emu.base_url + "/_emulator/stats").is_success for _ in range(5))


def test_the_client_waits_out_retry_after_and_gets_through() -> None:
    with QuantEmulator(rate_limit_rps=4, rate_limit_burst=1) as emu:
        client = QuantClient(base_url=emu.base_url, organization="acme", api_key="qc_x")
        slept: list[float] = []

        def sleep(seconds: float) -> None:
            slept.append(seconds)
            import time

            time.sleep(seconds)

        client.transport.sleep = sleep
        answers = [client.embed(f"text {i}").embeddings for i in range(3)]
        client.close()
    assert len(answers) == 3
    refused = emu.state.faults.rate_limit
    assert refused is not None
    # Each retry waited at least what the 429 said, so no request was refused twice in a row
    # within one window.
    assert len(slept) == len(refused.refusals)
    for waited, refusal in zip(slept, refused.refusals, strict=True):
        assert waited >= refusal.retry_after - 0.001
