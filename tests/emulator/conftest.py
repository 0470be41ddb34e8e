"""Fixtures: one emulator for the whole session, raw httpx clients bound to it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from quant_ai.emulator import QuantEmulator
from tests.emulator.helpers import acheck_response, check_response

AUTH = {"Authorization": "Bearer qc_test_token"}


@pytest.fixture(scope="session")
def emulator() -> Iterator[QuantEmulator]:
    emu = QuantEmulator().start()
    try:
        yield emu
    finally:
        emu.stop()


@pytest.fixture(scope="session")
def client(emulator: QuantEmulator) -> Iterator[httpx.Client]:
    """Native API client (base URL ends with the organisation); responses are spec-checked."""
    hooks = {"response": [check_response]}
    with httpx.Client(base_url=emulator.api_base, headers=AUTH, timeout=10, event_hooks=hooks) as c:
        yield c


@pytest.fixture
async def aclient(emulator: QuantEmulator) -> AsyncIterator[httpx.AsyncClient]:
    hooks = {"response": [acheck_response]}
    async with httpx.AsyncClient(
        base_url=emulator.api_base, headers=AUTH, timeout=10, event_hooks=hooks
    ) as c:
        yield c


@pytest.fixture(scope="session")
def oai(emulator: QuantEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emulator.openai_base_url, headers=AUTH, timeout=10) as c:
        yield c
