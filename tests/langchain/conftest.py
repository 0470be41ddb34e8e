"""Fixtures of the langchain_quant tests (VCR configuration, modes, media stand-ins)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.langchain import _support

CASSETTE_DIR = Path(__file__).resolve().parents[2] / "cassettes" / "langchain"


def pytest_recording_configure(config: pytest.Config, vcr: Any) -> None:
    """Register the matchers of the Quant cassettes."""
    vcr.register_matcher("quant_path", _support.match_path)


@pytest.fixture(scope="session", autouse=True)
def _quant_test_mode(request: pytest.FixtureRequest) -> Iterator[None]:
    """Recording when --record-mode is not 'none'; stop the emulator at the end."""
    mode = request.config.getoption("--record-mode", default="none")
    _support.STATE.recording = mode not in (None, "none")
    yield
    _support.stop_emulator()


@pytest.fixture(scope="module")
def vcr_config() -> dict[str, Any]:
    """VCR settings: scrubbed requests and responses, path + JSON body matching.

    ``record_mode`` is deliberately absent so that ``--record-mode`` decides.
    """
    return {
        "before_record_request": _support.scrub_request,
        "before_record_response": _support.scrub_response,
        "match_on": ["method", "quant_path", "json_body"],
        "allow_playback_repeats": True,
        "decode_compressed_response": True,
    }


@pytest.fixture(scope="module")
def vcr_cassette_dir() -> str:
    """Cassettes live in cassettes/langchain at the repository root."""
    return str(CASSETTE_DIR)


_MEDIA = {
    "agentic-rag-output.png": ("image/png", _support.tiny_png),
    "dummy.pdf": ("application/pdf", _support.tiny_pdf),
    "Northern_Flicker_202280456.wav": ("audio/wav", _support.tiny_wav),
}


@pytest.fixture
def offline_media(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve the sample media that the standard suites download with ``httpx.get``.

    Tests never touch the internet: the standard image and PDF are replaced by small local
    stand-ins (which also keeps cassettes small). Any other ``httpx.get`` fails loudly.
    """

    def fake_get(url: str, *args: Any, **kwargs: Any) -> httpx.Response:
        name = str(url).rsplit("/", 1)[-1]
        if name not in _MEDIA:
            raise AssertionError(f"unexpected download in a test: {url}")
        mime, make = _MEDIA[name]
        return httpx.Response(
            200, content=make(), headers={"content-type": mime}, request=httpx.Request("GET", url)
        )

    monkeypatch.setattr(httpx, "get", fake_get)
