"""Tokens, cost and budgets: the running totals every adapter shares, and the spend reports.

One rule, one place: the totals (by model too) and the budget rule live here, so LangChain's
``QuantUsageCallbackHandler`` and LlamaIndex's ``QuantUsageHandler`` give the same numbers and
stop at the same call.

* :class:`UsageTotals` adds up the ``usage`` of every answer (tokens, and the service's own
  ``costCents``), per model too.
* :func:`track_usage` makes a :class:`UsageTotals` see every call made inside a ``with``
  block, through any :class:`~quant_ai.QuantClient` (chat, streams, durable executions,
  embeddings, images, agents), in this thread and the tasks and threads started from it
  (a ``contextvars`` scope).
* The budget rule: with ``max_cost_cents`` set, the call that reaches the budget returns its
  answer; the next call that can cost money is refused *before it is sent* with
  :class:`~quant_ai.QuantBudgetExceededError`. Reads (session history, execution polls,
  model lists, spend reports) are never refused. The check runs as a call starts, so calls
  already in flight (concurrent batches) when the budget is reached still complete and count:
  the overshoot is at most what those calls cost.
* ``client.usage.me()`` and ``client.usage.spend()`` read what the service itself counted
  (``GET /ai/usage/me``, ``GET /ai/governance/spend``).
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import Field

from ._wire import parse_response as _parse
from .errors import QuantBudgetExceededError, QuantValidationError
from .types import EmbeddingsUsage, Usage, _Tolerant

if TYPE_CHECKING:
    from .client import QuantClient

__all__ = [
    "ClientUsage",
    "DailyLimit",
    "MonthlyLimit",
    "MyUsage",
    "SpendBudget",
    "SpendReport",
    "SpendTotal",
    "UsageHandlerBase",
    "UsageQuota",
    "UsageScopes",
    "UsageTotals",
    "check_budgets",
    "record_usage",
    "track_usage",
]

UNKNOWN_MODEL = "unknown"
"""The ``by_model`` key of calls whose model the client could not tell."""


def _model_entry() -> dict[str, float]:
    return {
        "requests": 0,
        "input_tokens": 0,
        "output_tokens": 0,
        "total_tokens": 0,
        "cost_cents": 0.0,
    }


class UsageTotals:
    """Tokens and cost of calls, in total and per model (thread-safe), with an optional budget.

    Every :class:`~quant_ai.QuantClient` keeps one (``client.usage``); :func:`track_usage`
    scopes another over a block of code, whichever client the calls go through.

    Args:
        max_cost_cents: A budget in US cents: once the totals reach it, the next call that can
            cost money is refused before it is sent (:meth:`check_budget`). ``None``: no budget.

    Attributes:
        requests: Calls that reported usage (chat, streams, embeddings, executions, agents).
        input_tokens: Prompt tokens.
        output_tokens: Generated tokens.
        total_tokens: Sum reported by the service.
        cost_cents: Sum of the service's ``costCents``, in US cents.
        by_model: Per model id: ``requests``, ``input_tokens``, ``output_tokens``,
            ``total_tokens``, ``cost_cents``.
        max_cost_cents: The budget, or ``None``.
    """

    def __init__(self, max_cost_cents: float | None = None) -> None:
        if max_cost_cents is not None and max_cost_cents < 0:
            raise QuantValidationError(
                "max_cost_cents: a budget must be 0 or more US cents", field="max_cost_cents"
            )
        self._lock = threading.Lock()
        self.max_cost_cents = max_cost_cents
        self.requests = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.total_tokens = 0
        self.cost_cents = 0.0
        self.by_model: dict[str, dict[str, float]] = {}

    def record(self, usage: Usage | EmbeddingsUsage | None, model: str | None = None) -> None:
        """Add one call's usage (``None`` counts the call only).

        Args:
            usage: The ``usage`` the service reported.
            model: The model (or ``agent:<id>``) that answered; ``unknown`` when not given.
        """
        with self._lock:
            self.requests += 1
            entry = self.by_model.setdefault(model or UNKNOWN_MODEL, _model_entry())
            entry["requests"] += 1
            if usage is None:
                return
            cost = 0.0
            output = 0
            if isinstance(usage, Usage):
                output = usage.output_tokens
                cost = usage.cost_cents or 0.0
            self.input_tokens += usage.input_tokens
            self.output_tokens += output
            self.total_tokens += usage.total_tokens
            self.cost_cents += cost
            entry["input_tokens"] += usage.input_tokens
            entry["output_tokens"] += output
            entry["total_tokens"] += usage.total_tokens
            entry["cost_cents"] += cost

    @property
    def remaining_cents(self) -> float | None:
        """What is left of the budget (never below 0), or ``None`` without a budget."""
        if self.max_cost_cents is None:
            return None
        return max(0.0, self.max_cost_cents - self.cost_cents)

    @property
    def budget_reached(self) -> bool:
        """True once the totals reached the budget."""
        return self.max_cost_cents is not None and self.cost_cents >= self.max_cost_cents

    def check_budget(self) -> None:
        """Refuse the next call once the budget is reached.

        Raises:
            QuantBudgetExceededError: When ``cost_cents >= max_cost_cents``.
        """
        if self.budget_reached:
            assert self.max_cost_cents is not None
            raise QuantBudgetExceededError(self.cost_cents, self.max_cost_cents)

    def reset(self) -> None:
        """Start counting from zero (the budget stays)."""
        with self._lock:
            self.requests = self.input_tokens = self.output_tokens = self.total_tokens = 0
            self.cost_cents = 0.0
            self.by_model = {}

    def as_dict(self) -> dict[str, Any]:
        """The totals as a plain dict (``by_model`` excluded; see the attribute)."""
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "total_tokens": self.total_tokens,
            "cost_cents": round(self.cost_cents, 6),
        }

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v}" for k, v in self.as_dict().items())
        return f"{type(self).__name__}({fields})"

    def __getstate__(self) -> dict[str, Any]:
        return {
            **self.as_dict(),
            "cost_cents": self.cost_cents,
            "by_model": {k: dict(v) for k, v in self.by_model.items()},
            "max_cost_cents": self.max_cost_cents,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        UsageTotals.__init__(self, state.get("max_cost_cents"))
        self.requests = state["requests"]
        self.input_tokens = state["input_tokens"]
        self.output_tokens = state["output_tokens"]
        self.total_tokens = state["total_tokens"]
        self.cost_cents = state["cost_cents"]
        self.by_model = state.get("by_model", {})


# --------------------------------------------------------------------------- scopes

_TRACKERS: contextvars.ContextVar[tuple[UsageTotals, ...]] = contextvars.ContextVar(
    "quant_ai_usage_trackers", default=()
)


@contextlib.contextmanager
def track_usage(totals: UsageTotals | None = None) -> Iterator[UsageTotals]:
    """Count (and budget) every Quant call made inside the block.

    Scopes nest: an inner block counts its calls in its own totals and in the outer ones,
    and every budget in force is checked before a call is sent.

    Args:
        totals: The totals to add to (a new :class:`UsageTotals` when omitted).

    Yields:
        The totals.

    Example:
        >>> from quant_ai import QuantClient, UsageTotals, track_usage
        >>> with track_usage(UsageTotals(max_cost_cents=5)) as spent:  # doctest: +SKIP
        ...     QuantClient().chat(messages=[{"role": "user", "content": "Hi"}])
        >>> spent.cost_cents  # doctest: +SKIP
    """
    scoped = totals if totals is not None else UsageTotals()
    token = _TRACKERS.set((*_TRACKERS.get(), scoped))
    try:
        yield scoped
    finally:
        _TRACKERS.reset(token)


class UsageHandlerBase:
    """What a framework's usage handler shares: its totals read out, and ``with handler:``.

    ``QuantUsageCallbackHandler`` (LangChain) and ``QuantUsageHandler`` (LlamaIndex) extend it
    and give it their totals (:attr:`totals`). ``with handler:`` is a :func:`track_usage` scope
    over those totals; scopes may be entered again and from several threads, and while one is
    open (:attr:`scoped`) the core counts and budgets every call itself, so the handler's own
    framework callbacks must not count them again.
    """

    @property
    def totals(self) -> UsageTotals:
        """The totals (provided by the handler)."""
        raise NotImplementedError

    def _scope_state(self) -> UsageScopes:
        """The handler's scope state (one per handler, made by the handler)."""
        raise NotImplementedError

    @property
    def total_cost_cents(self) -> float:
        """Sum of the service's ``costCents``."""
        return self.totals.cost_cents

    @property
    def total_tokens(self) -> int:
        """Sum of the tokens reported."""
        return self.totals.total_tokens

    @property
    def input_tokens(self) -> int:
        """Prompt tokens."""
        return self.totals.input_tokens

    @property
    def output_tokens(self) -> int:
        """Generated tokens."""
        return self.totals.output_tokens

    @property
    def requests(self) -> int:
        """Calls counted."""
        return self.totals.requests

    @property
    def by_model(self) -> dict[str, dict[str, float]]:
        """Per model id (``agent:<id>`` for agents): requests, tokens, ``cost_cents``."""
        return self.totals.by_model

    @property
    def scoped(self) -> bool:
        """True while a ``with handler:`` block is open."""
        return self._scope_state().depth > 0

    def __enter__(self: _H) -> _H:
        self._scope_state().enter(self.totals)
        return self

    def __exit__(self, *exc: object) -> None:
        self._scope_state().exit()


_H = TypeVar("_H", bound=UsageHandlerBase)


class UsageScopes:
    """The open :func:`track_usage` scopes of one usage handler (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._stacks: list[contextlib.ExitStack] = []

    @property
    def depth(self) -> int:
        """How many scopes are open."""
        return len(self._stacks)

    def enter(self, totals: UsageTotals) -> None:
        """Open a :func:`track_usage` scope over ``totals``."""
        stack = contextlib.ExitStack()
        stack.enter_context(track_usage(totals))
        with self._lock:
            self._stacks.append(stack)

    def exit(self) -> None:
        """Close the last scope opened."""
        with self._lock:
            stack = self._stacks.pop()
        stack.close()


def active_trackers() -> tuple[UsageTotals, ...]:
    """The totals of the :func:`track_usage` blocks in force here (outermost first)."""
    return _TRACKERS.get()


def check_budgets(own: UsageTotals | None = None) -> None:
    """Apply the budget rule before a call that can cost money is sent.

    Args:
        own: The client's own totals (checked too when it has a budget).

    Raises:
        QuantBudgetExceededError: When a budget in force is reached.
    """
    if own is not None:
        own.check_budget()
    for totals in _TRACKERS.get():
        totals.check_budget()


def record_usage(
    own: UsageTotals | None, usage: Usage | EmbeddingsUsage | None, model: str | None
) -> None:
    """Record one answer's usage in the client's totals and in every scope in force."""
    if own is not None:
        own.record(usage, model)
    for totals in _TRACKERS.get():
        if totals is not own:
            totals.record(usage, model)


# --------------------------------------------------------------------------- service reports


class SpendTotal(_Tolerant):
    """Spend and request count of a period (``monthly``, ``orgTotal``, ``todayTotal``)."""

    spend_cents: int = 0
    request_count: int = 0


class DailySpend(_Tolerant):
    """Today's spend of the caller."""

    spend_cents: int = 0


class DailyLimit(_Tolerant):
    """The caller's daily spend limit."""

    limit_cents: int | None = None
    used_percent: float | None = None
    remaining_cents: int | None = None
    resets_at: str | None = None


class MonthlyLimit(_Tolerant):
    """The caller's monthly spend limit."""

    limit_cents: int | None = None
    used_percent: float | None = None
    remaining_cents: int | None = None


class UsageQuota(_Tolerant):
    """The caller's spend limits (each may be ``None``: no limit)."""

    monthly_limit: MonthlyLimit | None = None
    daily_limit: DailyLimit | None = None


class MyUsage(_Tolerant):
    """``GET /ai/usage/me``: what the service counted for the calling user."""

    user_id: str | None = None
    current_month: str | None = None
    monthly: SpendTotal = Field(default_factory=SpendTotal)
    daily: DailySpend = Field(default_factory=DailySpend)
    quota: UsageQuota | None = None


class SpendBudget(_Tolerant):
    """The organisation's monthly or daily budget."""

    monthly_budget_cents: int | None = None
    daily_budget_cents: int | None = None
    remaining_cents: int | None = None
    used_percent: float | None = None


class UserSpend(_Tolerant):
    """The calling user's spend in ``governance/spend``."""

    daily_spend_cents: int | None = None
    monthly_spend_cents: int | None = None


class SpendReport(_Tolerant):
    """``GET /ai/governance/spend``: the organisation's spend and budgets."""

    org_total: SpendTotal = Field(default_factory=SpendTotal)
    today_total: SpendTotal = Field(default_factory=SpendTotal)
    budget: SpendBudget | None = None
    daily_budget: SpendBudget | None = None
    user_total: UserSpend | None = None


class ClientUsage(UsageTotals):
    """``client.usage``: the client's running totals, and the service's own spend reports.

    Args:
        client: The client whose transport the reports are read with.
    """

    def __init__(self, client: QuantClient) -> None:
        super().__init__()
        self._client = client

    def me(self) -> MyUsage:
        """The calling user's spend and quota (``GET /ai/usage/me``)."""
        c = self._client
        return _parse(MyUsage, c.transport.request("GET", c.config.ai_url("/usage/me")))

    async def ame(self) -> MyUsage:
        """Async twin of :meth:`me`."""
        c = self._client
        return _parse(MyUsage, await c.transport.arequest("GET", c.config.ai_url("/usage/me")))

    def spend(self) -> SpendReport:
        """The organisation's spend and budgets (``GET /ai/governance/spend``)."""
        c = self._client
        url = c.config.ai_url("/governance/spend")
        return _parse(SpendReport, c.transport.request("GET", url))

    async def aspend(self) -> SpendReport:
        """Async twin of :meth:`spend`."""
        c = self._client
        url = c.config.ai_url("/governance/spend")
        return _parse(SpendReport, await c.transport.arequest("GET", url))

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "_client": self._client}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self._client = state["_client"]
