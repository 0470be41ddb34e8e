"""``QuantUsageCallbackHandler``: tokens and ``costCents`` of a run, with an optional budget."""

from __future__ import annotations

import threading
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, LLMResult

from quant_ai import Usage, UsageHandlerBase, UsageScopes, UsageTotals

__all__ = ["QuantUsageCallbackHandler", "get_quant_usage_callback"]

_PROVIDER = "quant"


def _usage_of(message: AIMessage) -> tuple[Usage, str | None] | None:
    meta = message.response_metadata or {}
    if meta.get("model_provider") != _PROVIDER:
        return None
    um: dict[str, Any] = dict(message.usage_metadata or {})
    usage = Usage(
        input_tokens=int(um.get("input_tokens", 0)),
        output_tokens=int(um.get("output_tokens", 0)),
        total_tokens=int(um.get("total_tokens", 0)),
        cost_cents=meta.get("cost_cents"),
    )
    model = meta.get("model_name")
    if model is None and meta.get("agent_id"):
        model = f"agent:{meta['agent_id']}"
    return usage, model


class QuantUsageCallbackHandler(UsageHandlerBase, BaseCallbackHandler):
    """Tokens and ``costCents`` of a run, per model too, with an optional budget.

    Two ways to use it:

    * **As a scope** (complete): ``with get_quant_usage_callback(max_cost_cents=5) as cb:``
      (or ``with handler:``). Every Quant call made inside the block is counted by the core,
      whichever class makes it: ``ChatQuant`` (buffered, streamed, durable), ``QuantAgent``,
      ``QuantEmbeddings``, ``NovaCanvasTool``, and the LlamaIndex classes too.
    * **As a callback** (``config={"callbacks": [handler]}``): counts what LangChain reports
      through callbacks: chat model answers (``ChatQuant``, streamed or not) and
      ``QuantAgent`` turns. Embeddings have no LangChain callbacks, so use the scope to count
      them.

    The budget rule (``max_cost_cents``) is the core's: the call that reaches the budget
    returns its answer; the next call is refused before it is sent with
    ``quant_ai.QuantBudgetExceededError``.

    Setup:
        ```bash
        pip install "quant-ai[langchain]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="my-org"
        ```

    Key init args:
        max_cost_cents (float | None): The budget in US cents (``None``: no budget).

    Instantiate:
        ```python
        from langchain_quant import QuantUsageCallbackHandler, get_quant_usage_callback

        handler = QuantUsageCallbackHandler(max_cost_cents=5.0)
        ```

    Use as a scope:
        ```python
        with get_quant_usage_callback(max_cost_cents=1.0) as cb:
            ChatQuant().invoke("Hello")
            QuantEmbeddings().embed_query("Hello")
        cb.total_cost_cents, cb.total_tokens, cb.by_model
        ```

    Use as a callback:
        ```python
        chain.invoke(question, config={"callbacks": [handler]})
        handler.total_cost_cents
        ```

    Attributes:
        totals: The core :class:`quant_ai.UsageTotals`.
    """

    raise_error: bool = True
    """Budget refusals raised in a callback stop the run (LangChain swallows them otherwise)."""

    def __init__(self, max_cost_cents: float | None = None) -> None:
        super().__init__()
        self._totals = UsageTotals(max_cost_cents)
        self._scopes = UsageScopes()
        self._lock = threading.Lock()
        self._agent_runs: set[UUID] = set()

    @property
    def totals(self) -> UsageTotals:
        """The core totals."""
        return self._totals

    def _scope_state(self) -> UsageScopes:
        return self._scopes

    @property
    def max_cost_cents(self) -> float | None:
        """The budget."""
        return self.totals.max_cost_cents

    def __repr__(self) -> str:
        return (
            f"QuantUsageCallbackHandler(total_cost_cents={self.total_cost_cents:.6g}, "
            f"total_tokens={self.total_tokens}, requests={self.requests})"
        )

    # ------------------------------------------------------------------ callbacks

    def _before(self) -> None:
        if not self.scoped:  # in a scope the core applies the budget itself
            self.totals.check_budget()

    def on_chat_model_start(
        self, serialized: dict[str, Any], messages: list[list[BaseMessage]], **kwargs: Any
    ) -> None:
        """Apply the budget before a chat model call."""
        self._before()

    def on_llm_start(self, serialized: dict[str, Any], prompts: list[str], **kwargs: Any) -> None:
        """Apply the budget before a completion call."""
        self._before()

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        """Count a Quant chat model's answer (outside a scope, which counts it already)."""
        if self.scoped:
            return
        for generations in response.generations:
            for generation in generations:
                if isinstance(generation, ChatGeneration) and isinstance(
                    generation.message, AIMessage
                ):
                    found = _usage_of(generation.message)
                    if found is not None:
                        self.totals.record(*found)

    def on_chain_start(
        self,
        serialized: dict[str, Any] | None,
        inputs: Any,
        *,
        run_id: UUID,
        **kwargs: Any,
    ) -> None:
        """Apply the budget before a ``QuantAgent`` turn; remember the run to count it."""
        if kwargs.get("name") == "QuantAgent":
            self._before()
            with self._lock:
                self._agent_runs.add(run_id)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kwargs: Any) -> None:
        """Count a ``QuantAgent`` turn (outside a scope)."""
        with self._lock:
            if run_id not in self._agent_runs:
                return
            self._agent_runs.discard(run_id)
        if self.scoped or not isinstance(outputs, AIMessage):
            return
        found = _usage_of(outputs)
        if found is not None:
            self.totals.record(*found)

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kwargs: Any) -> None:
        """Forget a failed agent run."""
        with self._lock:
            self._agent_runs.discard(run_id)


def get_quant_usage_callback(
    max_cost_cents: float | None = None,
) -> QuantUsageCallbackHandler:
    """Count (and budget) every Quant call made inside the block.

    In the style of langchain-core's ``get_usage_metadata_callback``, over every Quant class
    (chat, streams, durable runs, embeddings, images, agents) and with a budget.

    Args:
        max_cost_cents: The budget in US cents: the call that reaches it returns, the next one
            raises ``quant_ai.QuantBudgetExceededError`` before it is sent.

    Returns:
        The handler, to use in a ``with`` block (``with get_quant_usage_callback() as cb:``);
        it has the totals (``total_cost_cents``, ``total_tokens``, ``by_model``).
    """
    return QuantUsageCallbackHandler(max_cost_cents)
