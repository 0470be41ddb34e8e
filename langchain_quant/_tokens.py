"""Token counts of ``ChatQuant`` without downloading a tokenizer (estimates).

LangChain's default counts need ``transformers`` and a GPT-2 download; Quant AI publishes no
tokenizer. These methods use the core's estimate (:mod:`quant_ai.tokens`: characters / 4
rounded up, plus a per-message overhead) on the wire messages, system prompt and tool
definitions ``ChatQuant`` would send, so ``trim_messages(token_counter=llm)`` works offline.
Exact counts of a call are in ``AIMessage.usage_metadata``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from langchain_quant._convert import convert_messages, convert_tools
from quant_ai import estimate_chat_tokens, estimate_tokens

__all__ = ["TokenEstimates"]


class TokenEstimates:
    """Mixin of ``ChatQuant``: ``get_num_tokens`` and ``get_num_tokens_from_messages``."""

    custom_get_token_ids: Any

    def get_token_ids(self, text: str) -> list[int]:
        """Token ids need a tokenizer Quant AI does not publish; counts are estimated.

        Raises:
            NotImplementedError: Unless ``custom_get_token_ids`` is set; use
                ``get_num_tokens`` (an estimate) instead.
        """
        if self.custom_get_token_ids is not None:
            return list(self.custom_get_token_ids(text))
        raise NotImplementedError(
            "Quant AI publishes no tokenizer, so there are no token ids; get_num_tokens and "
            "get_num_tokens_from_messages give estimates (characters / 4)"
        )

    def get_num_tokens(self, text: str) -> int:
        """Estimate the tokens of a text (``ceil(len(text) / 4)``; see ``quant_ai.tokens``)."""
        if self.custom_get_token_ids is not None:
            return len(self.custom_get_token_ids(text))
        return estimate_tokens(text)

    def get_num_tokens_from_messages(
        self, messages: list[BaseMessage], tools: Sequence[Any] | None = None
    ) -> int:
        """Estimate the input tokens of a conversation, tools included.

        The estimate is of what would be sent (system prompt, messages, tool definitions), by
        the rule of ``quant_ai.tokens``.

        Args:
            messages: The conversation.
            tools: Tools as for ``bind_tools`` (their definitions count).

        Returns:
            The estimated number of input tokens.
        """
        if not messages:
            return 0  # nothing would be sent (trim_messages asks about empty prefixes)
        system, wire = convert_messages(messages)
        wire_tools = convert_tools(tools)[0] if tools else []
        return estimate_chat_tokens(wire, system_prompt=system, tools=wire_tools)
