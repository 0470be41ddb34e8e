"""The ``quant-ai demo`` command: the whole package working end to end.

It lives outside :mod:`quant_ai` because it uses both frameworks (the core never imports
them). Run it with ``python3 dev.py demo`` or ``quant-ai demo``.
"""

from quant_demo.demo import main

__all__ = ["main"]
