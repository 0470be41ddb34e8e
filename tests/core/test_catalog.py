"""quant_ai.catalog: the one table of model capabilities, equal to the emulator's catalogue."""

from __future__ import annotations

import pytest

from quant_ai import model_facts, structured_output_method
from quant_ai.catalog import CHAT_MODELS, supports_native_structured_output
from quant_ai.emulator.catalog import MODELS


def test_core_catalogue_matches_the_emulators() -> None:
    emulated = {m.id: m for m in MODELS.values() if m.kind == "chat"}
    assert set(CHAT_MODELS) == set(emulated)
    for model_id, facts in CHAT_MODELS.items():
        served = emulated[model_id]
        assert facts.context_window == served.context_window, model_id
        assert facts.max_output_tokens == served.max_output_tokens, model_id
        assert facts.tools == served.tools, model_id
        assert facts.structured_output == served.structured, model_id
        assert facts.vision == served.vision, model_id


@pytest.mark.parametrize(
    ("model_id", "method"),
    [
        ("amazon.nova-micro-v1:0", "function_calling"),
        ("amazon.nova-lite-v1:0", "json_schema"),
        ("amazon.nova-pro-v1:0", "json_schema"),
        ("anthropic.claude-sonnet-4-5", "json_schema"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "json_schema"),
        ("eu.amazon.nova-micro-v1:0", "function_calling"),
        ("some.future-model-v9", "function_calling"),
    ],
)
def test_structured_output_method_follows_the_catalogue(model_id: str, method: str) -> None:
    assert structured_output_method(model_id) == method
    assert supports_native_structured_output(model_id) is (method == "json_schema")


def test_unknown_and_prefixed_ids() -> None:
    assert model_facts("some.future-model-v9") is None
    assert model_facts("us.amazon.nova-lite-v1:0") == model_facts("amazon.nova-lite-v1:0")
    micro = model_facts("amazon.nova-micro-v1:0")
    assert micro is not None
    assert (micro.structured_output, micro.vision, micro.tools) == (False, False, True)
