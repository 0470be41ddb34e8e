"""Model profiles (``BaseChatModel.profile``) of the Quant AI chat models.

Built from the core's model catalogue (:mod:`quant_ai.catalog`), the facts the LlamaIndex
adapter reads too: context window, output limit, media inputs and native structured output
(``structured_output`` is the native ``responseFormat``; not Nova Micro). LangChain's
``create_agent`` reads ``structured_output`` to choose its provider strategy (native JSON
schema) or its tool strategy. Unknown ids get no profile (``None``). Every Quant model takes
tools; ``tool_choice`` is emulated (see ``ChatQuant``).
"""

from __future__ import annotations

from langchain_core.language_models.model_profile import ModelProfile

from quant_ai import model_facts

__all__ = ["get_profile"]


def get_profile(model: str) -> ModelProfile | None:
    """Return the profile of ``model`` (None for an id the catalogue does not know)."""
    facts = model_facts(model)
    if facts is None:
        return None
    return ModelProfile(
        max_input_tokens=facts.context_window,
        max_output_tokens=facts.max_output_tokens,
        text_inputs=True,
        text_outputs=True,
        image_inputs=facts.vision,
        image_url_inputs=False,
        pdf_inputs=facts.documents,
        video_inputs=facts.video,
        audio_inputs=False,
        image_tool_message=facts.vision,
        pdf_tool_message=facts.documents,
        tool_calling=facts.tools,
        tool_choice=facts.tools,
        tool_call_streaming=facts.tools,
        structured_output=facts.structured_output,
        reasoning_output=False,
        image_outputs=False,
        audio_outputs=False,
        video_outputs=False,
        temperature=True,
    )
