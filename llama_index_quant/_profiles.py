"""What ``QuantLLM`` knows of model ids without asking the service: output budget, context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from llama_index.core.base.llms.types import LLMMetadata
from llama_index.core.llms.function_calling import FunctionCallingLLM

from quant_ai import ModelInfo, QuantClient, QuantError

__all__ = [
    "DEFAULT_CONTEXT_WINDOW",
    "DEFAULT_MAX_TOKENS",
    "ModelMetadataMixin",
    "context_window_for",
]

DEFAULT_MAX_TOKENS = 4096
"""The service's own default output budget (512, as some integrations use, truncates)."""
DEFAULT_CONTEXT_WINDOW = 128_000
"""Used for model ids this package does not know (and when the models endpoint is not used)."""

_KNOWN_CONTEXT = (
    ("amazon.nova-micro", 128_000),
    ("amazon.nova-lite", 300_000),
    ("amazon.nova-pro", 300_000),
    ("amazon.nova-premier", 1_000_000),
    ("amazon.nova-2", 1_000_000),
    ("anthropic.claude", 200_000),
)
_REGION_PREFIXES = ("us.", "eu.", "apac.", "au.", "jp.", "global.", "us-gov.")


def context_window_for(model: str) -> int:
    """A known context window for a model id, else :data:`DEFAULT_CONTEXT_WINDOW`.

    Never raises: unknown and future ids get the default.
    """
    name = model
    for prefix in _REGION_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    for prefix, size in _KNOWN_CONTEXT:
        if name.startswith(prefix):
            return size
    return DEFAULT_CONTEXT_WINDOW


if TYPE_CHECKING:
    _Base = FunctionCallingLLM
else:
    _Base = object


class ModelMetadataMixin(_Base):
    """``QuantLLM.metadata``: known limits, optionally read once from the models endpoint."""

    if TYPE_CHECKING:
        model: str
        max_tokens: int
        context_window: int | None
        is_function_calling_model: bool | None
        fetch_model_info: bool
        _model_info: ModelInfo | None
        _model_info_tried: bool

        @property
        def client(self) -> QuantClient:
            """The core client."""

    def _info(self) -> ModelInfo | None:
        if self.fetch_model_info and not self._model_info_tried:
            self._model_info_tried = True
            try:
                self._model_info = self.client.get_model(self.model)
            except QuantError:
                self._model_info = None
        return self._model_info

    @property
    def metadata(self) -> LLMMetadata:
        """Context window, output budget and tool support; never raises for unknown ids."""
        info = self._info()
        context = self.context_window or (info.context_window if info else None)
        tools = self.is_function_calling_model
        if tools is None and info is not None:
            caps = info.capabilities
            tools = caps.supports_tools if caps.supports_tools is not None else caps.tool_use
        if tools is None:
            tools = True  # Claude and Nova call tools; override for models that cannot
        return LLMMetadata(
            context_window=context or context_window_for(self.model),
            num_output=self.max_tokens,
            is_chat_model=True,
            is_function_calling_model=tools,
            model_name=self.model,
        )
