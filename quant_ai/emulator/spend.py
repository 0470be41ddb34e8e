"""What the emulator has charged: the sum of the ``costCents`` it reported.

Every answer that carries ``costCents`` (native chat, streams, durable executions, agent
chats) is added here, so ``GET /ai/usage/me`` and ``GET /ai/governance/spend`` report what a
client adding up the answers' ``costCents`` would get. The spec types the reported spends as
integers, so they are the exact sum rounded to the nearest cent (the exact sum is
:attr:`SpendLedger.total_cents`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

__all__ = ["EMULATOR_USER", "SpendLedger"]

EMULATOR_USER = "emulator-user"
"""The user every request is attributed to (the emulator does not tell keys apart)."""


def _cents(value: float) -> int:
    return round(value)


def _present(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if v is not None}


def _limit(limit: int | None, used: float, extra: dict[str, Any]) -> dict[str, Any] | None:
    if limit is None:
        return None
    used_c = _cents(used)
    return {
        "limitCents": limit,
        "usedPercent": round(100.0 * used / limit, 4) if limit else 100.0,
        "remainingCents": max(0, limit - used_c),
        **extra,
    }


class SpendLedger:
    """Spend totals of one emulator (thread-safe).

    Args:
        monthly_budget_cents: The organisation's (and user's) monthly budget, if any.
        daily_budget_cents: The daily budget, if any.
    """

    def __init__(
        self, monthly_budget_cents: int | None = None, daily_budget_cents: int | None = None
    ) -> None:
        self._lock = threading.Lock()
        self.monthly_budget_cents = monthly_budget_cents
        self.daily_budget_cents = daily_budget_cents
        self.clock: Callable[[], float] = time.time
        self.total_cents = 0.0
        self.requests = 0

    def add(self, cost_cents: float | None) -> None:
        """Charge one answer."""
        with self._lock:
            self.requests += 1
            self.total_cents += float(cost_cents or 0.0)

    def reset(self) -> None:
        """Start from zero."""
        with self._lock:
            self.total_cents = 0.0
            self.requests = 0

    def my_usage(self) -> dict[str, Any]:
        """The ``getMyUsage`` 200 body."""
        now = datetime.fromtimestamp(self.clock(), tz=timezone.utc)
        tomorrow = (now + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        with self._lock:
            total, count = self.total_cents, self.requests
        monthly = _limit(self.monthly_budget_cents, total, {})
        daily = _limit(
            self.daily_budget_cents,
            total,
            {"resetsAt": tomorrow.isoformat(timespec="seconds").replace("+00:00", "Z")},
        )
        body: dict[str, Any] = {
            "userId": EMULATOR_USER,
            "currentMonth": now.strftime("%Y-%m"),
            "monthly": {"spendCents": _cents(total), "requestCount": count},
            "daily": {"spendCents": _cents(total)},
        }
        # The spec marks these nullable; absent says the same and every validator accepts it.
        quota = _present({"monthlyLimit": monthly, "dailyLimit": daily})
        if quota:
            body["quota"] = quota
        return body

    def governance(self) -> dict[str, Any]:
        """The ``getGovernanceSpend`` 200 body."""
        with self._lock:
            total, count = self.total_cents, self.requests
        budget = None
        if self.monthly_budget_cents is not None:
            lim = _limit(self.monthly_budget_cents, total, {})
            assert lim is not None
            budget = {
                "monthlyBudgetCents": lim["limitCents"],
                "remainingCents": lim["remainingCents"],
                "usedPercent": lim["usedPercent"],
            }
        daily_budget = None
        if self.daily_budget_cents is not None:
            lim = _limit(self.daily_budget_cents, total, {})
            assert lim is not None
            daily_budget = {
                "dailyBudgetCents": lim["limitCents"],
                "remainingCents": lim["remainingCents"],
                "usedPercent": lim["usedPercent"],
            }
        return _present(
            {
                "orgTotal": {"spendCents": _cents(total), "requestCount": count},
                "todayTotal": {"spendCents": _cents(total), "requestCount": count},
                "budget": budget,
                "dailyBudget": daily_budget,
                "userTotal": {
                    "dailySpendCents": _cents(total),
                    "monthlySpendCents": _cents(total),
                },
            }
        )
