"""Fixtures: one emulator for the whole session, raw httpx clients bound to it."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from quant_ai.emulator import QuantEmulator

AUTH = {"Authorization": "Bearer qc_test_token"}


@pytest.fixture(scope="session")
def emulator() -> Iterator[QuantEmulator]:
    started = time.perf_counter()
    emu = QuantEmulator().start()
    emu.startup_seconds = time.perf_counter() - started  # type: ignore[attr-defined]
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="session")
def client(emulator: QuantEmulator) -> Iterator[httpx.Client]:
    """Native API client (base URL ends with the organisation)."""
    with httpx.Client(base_url=emulator.api_base, headers=AUTH, timeout=10) as c:
        yield c


@pytest.fixture
async def aclient(emulator: QuantEmulator) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=emulator.api_base, headers=AUTH, timeout=10) as c:
        yield c


@pytest.fixture(scope="session")
def oai(emulator: QuantEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.openai_base_url, headers=AUTH, timeout=10) as c:
        yield c
