"""Compatibility: :func:`read_file_within` moved to the public :mod:`quant_ai.media`.

Kept so that core modules written against the old place keep importing; new code imports
``quant_ai.read_file_within`` (or ``quant_ai.media.read_file_within``).
"""

from __future__ import annotations

from quant_ai.media import read_file_within

__all__ = ["read_file_within"]
