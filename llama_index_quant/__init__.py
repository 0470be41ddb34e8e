"""LlamaIndex integration of Quant AI (QuantCDN hosted inference).

``QuantLLM`` (chat with tools, streaming, structured output, server-side tools and durable
executions), ``QuantEmbedding`` (Titan text embeddings), ``NovaCanvasToolSpec`` (Nova Canvas
images as agent tools), ``QuantVectorStore`` (a Quant vector database collection as a vector
store) and ``QuantIndex`` (the same collection as a managed index: the service embeds), all
thin adapters over :class:`quant_ai.QuantClient`. The progress
events of durable executions and server tools are in :mod:`llama_index_quant.events`.

Example:
    >>> from llama_index_quant import QuantEmbedding, QuantLLM
    >>> llm = QuantLLM()  # reads QUANT_API_KEY / QUANT_ORGANIZATION; no I/O here
"""

from .agents import QuantAgent, QuantAgentQueryEngine
from .chat_store import QuantChatStore, QuantSessionWarning
from .durable import DurableExecution, QuantLocalToolMissingError
from .embeddings import QuantEmbedding
from .indices import QuantIndex, QuantIndexRetriever
from .llms import QuantLLM
from .tools import NovaCanvasToolSpec
from .usage import QuantUsageHandler, get_quant_usage_handler
from .vector_stores import QuantVectorStore

__all__ = [
    "DurableExecution",
    "NovaCanvasToolSpec",
    "QuantAgent",
    "QuantAgentQueryEngine",
    "QuantChatStore",
    "QuantEmbedding",
    "QuantIndex",
    "QuantIndexRetriever",
    "QuantLLM",
    "QuantLocalToolMissingError",
    "QuantSessionWarning",
    "QuantUsageHandler",
    "QuantVectorStore",
    "get_quant_usage_handler",
]
