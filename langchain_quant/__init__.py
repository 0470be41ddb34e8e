"""LangChain integration of Quant AI (QuantCDN hosted inference).

Example:
    >>> from langchain_quant import ChatQuant, QuantEmbeddings, NovaCanvasTool, QuantVectorStore
    >>> llm = ChatQuant(model="amazon.nova-lite-v1:0")  # no I/O, no key needed yet
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from langchain_quant.chat_models import ChatQuant
from langchain_quant.embeddings import QuantEmbeddings
from langchain_quant.tools import NovaCanvasInput, NovaCanvasTool, images_to_content_blocks
from quant_ai import __version__

if TYPE_CHECKING:
    from langchain_quant.agents import AgentQuestion, QuantAgent
    from langchain_quant.chat_history import QuantChatMessageHistory, QuantSessionWarning
    from langchain_quant.retrievers import QuantRetriever
    from langchain_quant.usage import QuantUsageCallbackHandler, get_quant_usage_callback
    from langchain_quant.vectorstores import QuantVectorStore

# Loaded on first use: agents and vector stores pull in parts of LangChain (tracers, numpy)
# that a chat model does not need, so `import langchain_quant` stays as quick as before.
_LAZY = {
    "AgentQuestion": "langchain_quant.agents",
    "QuantAgent": "langchain_quant.agents",
    "QuantChatMessageHistory": "langchain_quant.chat_history",
    "QuantSessionWarning": "langchain_quant.chat_history",
    "QuantRetriever": "langchain_quant.retrievers",
    "QuantUsageCallbackHandler": "langchain_quant.usage",
    "get_quant_usage_callback": "langchain_quant.usage",
    "QuantVectorStore": "langchain_quant.vectorstores",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AgentQuestion",
    "ChatQuant",
    "NovaCanvasInput",
    "NovaCanvasTool",
    "QuantAgent",
    "QuantChatMessageHistory",
    "QuantEmbeddings",
    "QuantRetriever",
    "QuantSessionWarning",
    "QuantUsageCallbackHandler",
    "QuantVectorStore",
    "__version__",
    "get_quant_usage_callback",
    "images_to_content_blocks",
]
