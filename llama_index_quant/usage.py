"""``QuantUsageHandler``: tokens and ``costCents`` of a LlamaIndex run, with a budget."""

from __future__ import annotations

from typing import Any

from llama_index.core.instrumentation.event_handlers import BaseEventHandler
from llama_index.core.instrumentation.events import BaseEvent
from llama_index.core.instrumentation.events.llm import LLMChatEndEvent
from pydantic import PrivateAttr

from quant_ai import Usage, UsageHandlerBase, UsageScopes, UsageTotals

__all__ = ["QuantUsageHandler", "get_quant_usage_handler"]


class QuantUsageHandler(UsageHandlerBase, BaseEventHandler):
    """Tokens and ``costCents`` of a run, per model too, with an optional budget.

    * **As a scope** (complete, and the only way to apply a budget):
      ``with get_quant_usage_handler(max_cost_cents=5) as usage:`` (or ``with handler:``).
      Every Quant call made inside is counted by the core, whichever class makes it
      (``QuantLLM`` buffered, streamed or durable, ``QuantEmbedding``, ``QuantAgent``, Nova
      Canvas tools, LangChain classes too). With a budget, the call that reaches it returns
      and the next one raises ``quant_ai.QuantBudgetExceededError`` before it is sent: the
      same core rule as LangChain's ``QuantUsageCallbackHandler``.
    * **As an instrumentation event handler** (``get_dispatcher().add_event_handler(h)``):
      counts ``QuantLLM`` answers from their ``LLMChatEndEvent``. LlamaIndex swallows
      exceptions raised by event handlers, so a budget cannot stop a call this way: use the
      scope for budgets.

    Args:
        max_cost_cents: The budget in US cents (``None``: none).
    """

    max_cost_cents: float | None = None

    _totals: UsageTotals = PrivateAttr()
    _scopes: UsageScopes = PrivateAttr(default_factory=UsageScopes)

    def __init__(self, max_cost_cents: float | None = None, **kwargs: Any) -> None:
        super().__init__(max_cost_cents=max_cost_cents, **kwargs)
        self._totals = UsageTotals(max_cost_cents)

    @classmethod
    def class_name(cls) -> str:
        """Class name."""
        return "QuantUsageHandler"

    @property
    def totals(self) -> UsageTotals:
        """The core totals."""
        return self._totals

    def _scope_state(self) -> UsageScopes:
        return self._scopes

    def handle(self, event: BaseEvent, **kwargs: Any) -> None:
        """Count a ``QuantLLM`` answer (outside a scope, which counts it already)."""
        if self.scoped or not isinstance(event, LLMChatEndEvent) or event.response is None:
            return
        extra = event.response.additional_kwargs or {}
        if "cost_cents" not in extra and "quant_usage" not in (event.response.raw or {}):
            return
        usage = Usage(
            input_tokens=int(extra.get("prompt_tokens", 0)),
            output_tokens=int(extra.get("completion_tokens", 0)),
            total_tokens=int(extra.get("total_tokens", 0)),
            cost_cents=extra.get("cost_cents"),
        )
        self._totals.record(usage, extra.get("model"))


def get_quant_usage_handler(max_cost_cents: float | None = None) -> QuantUsageHandler:
    """Count (and budget) every Quant call made inside the block.

    Args:
        max_cost_cents: The budget in US cents: the call that reaches it returns, the next one
            raises ``quant_ai.QuantBudgetExceededError`` before it is sent.

    Returns:
        The handler, to use in a ``with`` block (``with get_quant_usage_handler() as usage:``).
    """
    return QuantUsageHandler(max_cost_cents)
