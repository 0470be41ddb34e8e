"""LangChain integration of Quant AI (QuantCDN hosted inference).

Example:
    >>> from langchain_quant import ChatQuant, QuantEmbeddings, NovaCanvasTool, QuantVectorStore
    >>> llm = ChatQuant(model="amazon.nova-lite-v1:0")  # no I/O, no key needed yet
"""

from langchain_quant.agents import AgentQuestion, QuantAgent
from langchain_quant.chat_history import QuantChatMessageHistory, QuantSessionWarning
from langchain_quant.chat_models import ChatQuant
from langchain_quant.embeddings import QuantEmbeddings
from langchain_quant.retrievers import QuantRetriever
from langchain_quant.tools import NovaCanvasInput, NovaCanvasTool, images_to_content_blocks
from langchain_quant.usage import QuantUsageCallbackHandler, get_quant_usage_callback
from langchain_quant.vectorstores import QuantVectorStore
from quant_ai import __version__

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
