from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Replay (or record) the ``[cassette]`` runs of the conformance suite with vcrpy."""
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and callspec.params.get("settings") == "cassette":
            item.add_marker(pytest.mark.vcr)
