"""Version of the quant-ai distribution."""

__version__ = "0.1.0"
