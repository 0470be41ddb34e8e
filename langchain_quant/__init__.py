"""LangChain integration of Quant AI (QuantCDN hosted inference).

Example:
    >>> from langchain_quant import ChatQuant, QuantEmbeddings, NovaCanvasTool, QuantVectorStore
    >>> llm = ChatQuant(model="amazon.nova-lite-v1:0")  # no I/O, no key needed yet
"""

from langchain_quant.chat_models import ChatQuant
from langchain_quant.embeddings import QuantEmbeddings
from langchain_quant.retrievers import QuantRetriever
from langchain_quant.tools import NovaCanvasInput, NovaCanvasTool, images_to_content_blocks
from langchain_quant.vectorstores import QuantVectorStore
from quant_ai import __version__

__all__ = [
    "ChatQuant",
    "NovaCanvasInput",
    "NovaCanvasTool",
    "QuantEmbeddings",
    "QuantRetriever",
    "QuantVectorStore",
    "__version__",
    "images_to_content_blocks",
]
