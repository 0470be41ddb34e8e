"""Running totals of tokens and cost for one :class:`~quant_ai.QuantClient`."""

from __future__ import annotations

import threading
from typing import Any

from .types import EmbeddingsUsage, Usage

__all__ = ["UsageTotals"]


class UsageTotals:
    """Tokens and cost of every call made through one client (thread-safe).

    Share one client between ChatQuant, QuantEmbeddings, QuantLLM... (their ``client=``
    argument) to see the totals of a whole run.

    Attributes:
        requests: Calls that reported usage (chat, streams, embeddings, executions, images).
        input_tokens: Prompt tokens.
        output_tokens: Generated tokens.
        total_tokens: Sum reported by the service.
        cost_cents: Cost in US cents, where the service reports it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.total_tokens = 0
        self.cost_cents = 0.0

    def record(self, usage: Usage | EmbeddingsUsage | None) -> None:
        """Add one call's usage (``None`` counts the call only)."""
        with self._lock:
            self.requests += 1
            if usage is None:
                return
            self.input_tokens += usage.input_tokens
            self.total_tokens += usage.total_tokens
            if isinstance(usage, Usage):
                self.output_tokens += usage.output_tokens
                self.cost_cents += usage.cost_cents or 0.0

    def reset(self) -> None:
        """Start counting from zero."""
        with self._lock:
            self.requests = self.input_tokens = self.output_tokens = self.total_tokens = 0
            self.cost_cents = 0.0

    def as_dict(self) -> dict[str, Any]:
        """The totals as a plain dict."""
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_cents": round(self.cost_cents, 6),
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self.as_dict().items())
        return f"UsageTotals({fields})"

    def __getstate__(self) -> dict[str, Any]:
        return self.as_dict()

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
        self.requests = state["requests"]
        self.input_tokens = state["input_tokens"]
        self.output_tokens = state["output_tokens"]
        self.total_tokens = state["total_tokens"]
        self.cost_cents = state["cost_cents"]
