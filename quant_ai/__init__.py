"""Quant AI (QuantCDN hosted inference) for Python.

The shared core of the LangChain (``langchain_quant``) and LlamaIndex (``llama_index_quant``)
integrations: one HTTP transport (sync and async), typed wire models from the official spec,
SSE streaming, retries, typed errors and durable executions.

Example:
    >>> from quant_ai import QuantClient
    >>> client = QuantClient(api_key="qc_...", organization="acme")  # no I/O here
"""

# Public names load on first use (PEP 562): ``import quant_ai`` stays cheap for the adapters,
# the emulator and the CLI, which need only parts of it. Type checkers see the real imports.
from typing import TYPE_CHECKING, Any

from ._version import __version__

if TYPE_CHECKING:
    from ._ratelimit import RateLimiter, TokenBucket
    from ._sse import (
        ChatStreamAccumulator,
        ContentEvent,
        DoneEvent,
        OrchestrationStatusEvent,
        SessionEvent,
        StartEvent,
        StreamEvent,
        ToolCompleteEvent,
        ToolInputProgressEvent,
        ToolRequestEvent,
        ToolStartEvent,
        UnknownEvent,
    )
    from ._transport import DEFAULT_TIMEOUT, RetryPolicy
    from ._usage import UsageTotals
    from .client import ExecutionHandle, QuantClient, ToolHandler
    from .errors import (
        QuantAPIError,
        QuantAuthenticationError,
        QuantBadRequestError,
        QuantConfigurationError,
        QuantConflictError,
        QuantConnectionError,
        QuantError,
        QuantExecutionFailedError,
        QuantExecutionTimeoutError,
        QuantLocalToolError,
        QuantLocalToolMissingError,
        QuantNotFoundError,
        QuantPermissionDeniedError,
        QuantRateLimitError,
        QuantServerError,
        QuantStreamError,
        QuantTimeoutError,
        QuantValidationError,
    )
    from .types import (
        CallbackResponse,
        ChatAccepted,
        ChatRequest,
        ChatResponse,
        DocumentBlock,
        EmbeddingsRequest,
        EmbeddingsResponse,
        ExecutionStatus,
        GeneratedImage,
        ImageBlock,
        ImageGenerationConfig,
        ImageGenerationRequest,
        ImageGenerationResponse,
        Message,
        ModelInfo,
        ModelList,
        PendingTool,
        ResponseFormat,
        TextBlock,
        Tool,
        ToolConfig,
        ToolResultBlock,
        ToolResultItem,
        ToolSpec,
        ToolUse,
        ToolUseBlock,
        Usage,
        VideoBlock,
    )

_LAZY: dict[str, str] = {
    "CallbackResponse": ".types",
    "ChatAccepted": ".types",
    "ChatRequest": ".types",
    "ChatResponse": ".types",
    "ChatStreamAccumulator": "._sse",
    "ContentEvent": "._sse",
    "DEFAULT_TIMEOUT": "._transport",
    "DocumentBlock": ".types",
    "DoneEvent": "._sse",
    "EmbeddingsRequest": ".types",
    "EmbeddingsResponse": ".types",
    "ExecutionHandle": ".client",
    "ExecutionStatus": ".types",
    "GeneratedImage": ".types",
    "ImageBlock": ".types",
    "ImageGenerationConfig": ".types",
    "ImageGenerationRequest": ".types",
    "ImageGenerationResponse": ".types",
    "Message": ".types",
    "ModelInfo": ".types",
    "ModelList": ".types",
    "OrchestrationStatusEvent": "._sse",
    "PendingTool": ".types",
    "QuantAPIError": ".errors",
    "QuantAuthenticationError": ".errors",
    "QuantBadRequestError": ".errors",
    "QuantClient": ".client",
    "QuantConfigurationError": ".errors",
    "QuantConflictError": ".errors",
    "QuantConnectionError": ".errors",
    "QuantError": ".errors",
    "QuantExecutionFailedError": ".errors",
    "QuantExecutionTimeoutError": ".errors",
    "QuantLocalToolError": ".errors",
    "QuantLocalToolMissingError": ".errors",
    "QuantNotFoundError": ".errors",
    "QuantPermissionDeniedError": ".errors",
    "QuantRateLimitError": ".errors",
    "QuantServerError": ".errors",
    "QuantStreamError": ".errors",
    "QuantTimeoutError": ".errors",
    "QuantValidationError": ".errors",
    "RateLimiter": "._ratelimit",
    "ResponseFormat": ".types",
    "RetryPolicy": "._transport",
    "SessionEvent": "._sse",
    "StartEvent": "._sse",
    "StreamEvent": "._sse",
    "TextBlock": ".types",
    "TokenBucket": "._ratelimit",
    "Tool": ".types",
    "ToolCompleteEvent": "._sse",
    "ToolConfig": ".types",
    "ToolHandler": ".client",
    "ToolInputProgressEvent": "._sse",
    "ToolRequestEvent": "._sse",
    "ToolResultBlock": ".types",
    "ToolResultItem": ".types",
    "ToolSpec": ".types",
    "ToolStartEvent": "._sse",
    "ToolUse": ".types",
    "ToolUseBlock": ".types",
    "UnknownEvent": "._sse",
    "Usage": ".types",
    "UsageTotals": "._usage",
    "VideoBlock": ".types",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'quant_ai' has no attribute {name!r}")
    from importlib import import_module

    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "DEFAULT_TIMEOUT",
    "CallbackResponse",
    "ChatAccepted",
    "ChatRequest",
    "ChatResponse",
    "ChatStreamAccumulator",
    "ContentEvent",
    "DocumentBlock",
    "DoneEvent",
    "EmbeddingsRequest",
    "EmbeddingsResponse",
    "ExecutionHandle",
    "ExecutionStatus",
    "GeneratedImage",
    "ImageBlock",
    "ImageGenerationConfig",
    "ImageGenerationRequest",
    "ImageGenerationResponse",
    "Message",
    "ModelInfo",
    "ModelList",
    "OrchestrationStatusEvent",
    "PendingTool",
    "QuantAPIError",
    "QuantAuthenticationError",
    "QuantBadRequestError",
    "QuantClient",
    "QuantConfigurationError",
    "QuantConflictError",
    "QuantConnectionError",
    "QuantError",
    "QuantExecutionFailedError",
    "QuantExecutionTimeoutError",
    "QuantLocalToolError",
    "QuantLocalToolMissingError",
    "QuantNotFoundError",
    "QuantPermissionDeniedError",
    "QuantRateLimitError",
    "QuantServerError",
    "QuantStreamError",
    "QuantTimeoutError",
    "QuantValidationError",
    "RateLimiter",
    "ResponseFormat",
    "RetryPolicy",
    "SessionEvent",
    "StartEvent",
    "StreamEvent",
    "TextBlock",
    "TokenBucket",
    "Tool",
    "ToolCompleteEvent",
    "ToolConfig",
    "ToolHandler",
    "ToolInputProgressEvent",
    "ToolRequestEvent",
    "ToolResultBlock",
    "ToolResultItem",
    "ToolSpec",
    "ToolStartEvent",
    "ToolUse",
    "ToolUseBlock",
    "UnknownEvent",
    "Usage",
    "UsageTotals",
    "VideoBlock",
    "__version__",
]
