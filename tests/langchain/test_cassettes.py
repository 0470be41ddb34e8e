"""Every cassette is free of keys, tokens and the recorder's organisation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.langchain import _support
from tests.langchain._support import PLACEHOLDER_BASE, PLACEHOLDER_ORG

CASSETTES = sorted((Path(__file__).resolve().parents[2] / "cassettes" / "langchain").glob("*.yaml"))
KEYLIKE = re.compile(r"(?i)authorization|bearer|api[-_]?key|x-api-key|\bqc_[A-Za-z0-9]{6,}|cookie")
# What a recording could leak: the emulator's key, organisation and loopback address (recording
# from the emulator), and the recorder's own key, organisation and URL (recording from the
# real service; read from the environment at import by _support).
LEAKS = [
    re.compile(r"127\.0\.0\.1|localhost|\[::1\]"),
    re.compile(re.escape(_support.EMULATOR_KEY)),
    re.compile(rf"\b{re.escape(_support.EMULATOR_ORG)}\b"),
    *(
        re.compile(re.escape(value))
        for value in (_support._REAL_KEY, _support._REAL_ORG, _support._REAL_URL)
        if value
    ),
]


def leaks(text: str) -> list[str]:
    """The secret-looking or recorder-identifying patterns found in a cassette's text."""
    return [pattern.pattern for pattern in (KEYLIKE, *LEAKS) if pattern.search(text)]


def test_there_are_cassettes() -> None:
    assert len(CASSETTES) >= 50


@pytest.mark.parametrize(
    "text",
    [
        "headers: {authorization: [Bearer x]}",
        'body: \'{"key": "qc_AbCdEf123456"}\'',
        "uri: http://127.0.0.1:5123/api/v3/organizations/quant-org/ai/chat",
        f"uri: https://quant.test/api/v3/organizations/{_support.EMULATOR_ORG}/ai/chat",
        f"string: '{_support.EMULATOR_KEY}'",
    ],
)
def test_the_scan_catches_leaks(text: str) -> None:
    assert leaks(text)


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name)
def test_cassette_is_clean(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert leaks(text) == [], f"{path.name} holds a key, token, or the recorder's org or host"
    assert path.stat().st_size < 64_000, f"{path.name} is large; use smaller media"
    data = yaml.safe_load(text)
    for interaction in data["interactions"]:
        request = interaction["request"]
        assert request["headers"] == {}
        assert request["uri"].startswith(
            f"{PLACEHOLDER_BASE}/api/v3/organizations/{PLACEHOLDER_ORG}/ai/"
        )
        assert set(interaction["response"]["headers"]) <= {"content-type", "Content-Type"}
