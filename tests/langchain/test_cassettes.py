"""Every cassette is free of keys, tokens and the recorder's organisation."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.langchain._support import PLACEHOLDER_BASE, PLACEHOLDER_ORG

CASSETTES = sorted((Path(__file__).resolve().parents[2] / "cassettes" / "langchain").glob("*.yaml"))
KEYLIKE = re.compile(r"(?i)authorization|bearer|api[-_]?key|x-api-key|\bqc_[A-Za-z0-9]{6,}|cookie")


def test_there_are_cassettes() -> None:
    assert len(CASSETTES) >= 50


@pytest.mark.parametrize("path", CASSETTES, ids=lambda p: p.name)
def test_cassette_is_clean(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not KEYLIKE.search(text), f"key-like text in {path.name}"
    assert path.stat().st_size < 64_000, f"{path.name} is large; use smaller media"
    data = yaml.safe_load(text)
    for interaction in data["interactions"]:
        request = interaction["request"]
        assert request["headers"] == {}
        assert request["uri"].startswith(
            f"{PLACEHOLDER_BASE}/api/v3/organizations/{PLACEHOLDER_ORG}/ai/"
        )
        assert set(interaction["response"]["headers"]) <= {"content-type", "Content-Type"}
