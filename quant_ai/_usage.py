"""Kept for imports of the old private name; the totals live in :mod:`quant_ai.usage`."""

from __future__ import annotations

from .usage import UsageTotals

__all__ = ["UsageTotals"]
