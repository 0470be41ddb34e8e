"""The core token estimate against the emulator's usage numbers (input tokens)."""

from __future__ import annotations

import pytest

from quant_ai import ChatRequest, QuantClient, estimate_request_tokens
from quant_ai.emulator import QuantEmulator

TEXTS = [
    "What is the weather in Paris today? I am going for a walk.",
    "Lighthouses guide ships along dangerous coasts. " * 20,
    "The quick brown fox jumps over the lazy dog, again and again; it never tires! " * 50,
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize(
    "system", [None, "You are a terse assistant that answers in one sentence."]
)
def test_estimate_is_close_and_errs_high(
    emulator: QuantEmulator, text: str, system: str | None
) -> None:
    with QuantClient(api_key="qc_test", organization="acme", base_url=emulator.base_url) as qc:
        request = ChatRequest(
            messages=[{"role": "user", "content": text}], system_prompt=system, max_tokens=5
        )
        usage = qc.chat(request).usage
    assert usage is not None
    estimate = estimate_request_tokens(request)
    # characters / 4 is on the high side for English prose (safe when trimming to a budget)
    # and within a factor of two of what the service counts
    assert usage.input_tokens <= estimate <= 2 * usage.input_tokens


def test_estimate_grows_with_the_conversation_like_usage(emulator: QuantEmulator) -> None:
    messages: list[dict[str, str]] = []
    estimates, counted = [], []
    with QuantClient(api_key="qc_test", organization="acme", base_url=emulator.base_url) as qc:
        for turn in range(4):
            messages.append({"role": "user", "content": f"Tell me fact number {turn} about owls."})
            request = ChatRequest(messages=messages, max_tokens=20)
            answer = qc.chat(request)
            assert answer.usage is not None
            estimates.append(estimate_request_tokens(request))
            counted.append(answer.usage.input_tokens)
            messages.append({"role": "assistant", "content": answer.text})
    assert estimates == sorted(estimates)
    assert counted == sorted(counted)
    assert len(set(estimates)) == 4
