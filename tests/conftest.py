from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from quant_ai import QuantClient
from tests.cassette_match import match_json_body
from tests.contract import ContractTransport, Handler

# Ray (tests/ray, the README) binds its services to the machine's address unless told that
# this node is no cluster member; tests stay on loopback. Ray reads it when first imported,
# which happens after this file (the root conftest) is loaded.
os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"

MakeClient = Callable[..., tuple[QuantClient, ContractTransport]]


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Register the ``json_body`` matcher of the Quant cassettes (LangChain and LlamaIndex)."""
    vcr.register_matcher("json_body", match_json_body)


@pytest.fixture(autouse=True)
def _no_quant_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's real settings."""
    for name in ("QUANT_API_KEY", "QUANT_ORGANIZATION", "QUANT_ORGANISATION", "QUANT_BASE_URL"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def make_client() -> Iterator[MakeClient]:
    """Build a QuantClient whose sync and async transports are contract-checked mocks.

    Retries sleep for nothing (the waits are recorded in ``client.sleeps``).
    """
    made: list[QuantClient] = []

    def factory(handler: Handler, **kwargs: object) -> tuple[QuantClient, ContractTransport]:
        transport = ContractTransport(handler, check_responses=bool(kwargs.pop("check", True)))
        client = QuantClient(
            api_key=kwargs.pop("api_key", "qc_test_key"),  # type: ignore[arg-type]
            organization=kwargs.pop("organization", "acme"),  # type: ignore[arg-type]
            base_url="https://quant.test",
            http_client=httpx.Client(transport=transport),
            async_http_client=httpx.AsyncClient(transport=transport),
            **kwargs,  # type: ignore[arg-type]
        )
        sleeps: list[float] = []
        client.sleeps = sleeps  # type: ignore[attr-defined]
        client.transport.sleep = sleeps.append

        async def asleep(seconds: float) -> None:
            sleeps.append(seconds)

        client.transport.asleep = asleep
        made.append(client)
        return client, transport

    yield factory
    for client in made:
        client.close()
