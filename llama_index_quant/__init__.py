"""LlamaIndex integration of Quant AI (QuantCDN hosted inference).

``QuantLLM`` (chat with tools, streaming, structured output), ``QuantEmbedding`` (Titan text
embeddings) and ``NovaCanvasToolSpec`` (Nova Canvas images as agent tools), all thin adapters
over :class:`quant_ai.QuantClient`.

Example:
    >>> from llama_index_quant import QuantEmbedding, QuantLLM
    >>> llm = QuantLLM()  # reads QUANT_API_KEY / QUANT_ORGANIZATION; no I/O here
"""

from .embeddings import QuantEmbedding
from .llms import QuantLLM
from .tools import NovaCanvasToolSpec

__all__ = ["NovaCanvasToolSpec", "QuantEmbedding", "QuantLLM"]
