"""Model profiles (``BaseChatModel.profile``) of the Quant AI chat models.

Hand-written from the Quant AI model catalogue (context window, max output) and the Bedrock
capabilities of each family. Unknown ids get no profile (``None``). Every Quant model takes
tools; ``tool_choice`` is emulated (see ``ChatQuant``). ``structured_output`` (the native
``responseFormat``) follows the catalogue's ``supportsStructuredOutput``: not Nova Micro.
"""

from __future__ import annotations

from langchain_core.language_models.model_profile import ModelProfile

__all__ = ["get_profile"]


def _nova(max_input: int, *, multimodal: bool) -> ModelProfile:
    # Nova Micro is text-only and has no native structured output; Lite and Pro have both.
    return ModelProfile(
        max_input_tokens=max_input,
        max_output_tokens=10_000,
        text_inputs=True,
        text_outputs=True,
        image_inputs=multimodal,
        image_url_inputs=False,
        pdf_inputs=multimodal,
        video_inputs=multimodal,
        audio_inputs=False,
        image_tool_message=multimodal,
        pdf_tool_message=multimodal,
        tool_calling=True,
        tool_choice=True,
        tool_call_streaming=True,
        structured_output=multimodal,
        reasoning_output=False,
        image_outputs=False,
        audio_outputs=False,
        video_outputs=False,
        temperature=True,
    )


def _claude(max_output: int) -> ModelProfile:
    return ModelProfile(
        max_input_tokens=200_000,
        max_output_tokens=max_output,
        text_inputs=True,
        text_outputs=True,
        image_inputs=True,
        image_url_inputs=False,
        pdf_inputs=True,
        video_inputs=False,
        audio_inputs=False,
        image_tool_message=True,
        pdf_tool_message=True,
        tool_calling=True,
        tool_choice=True,
        tool_call_streaming=True,
        structured_output=True,
        reasoning_output=False,
        image_outputs=False,
        audio_outputs=False,
        video_outputs=False,
        temperature=True,
    )


_PROFILES: dict[str, ModelProfile] = {
    "amazon.nova-micro-v1:0": _nova(128_000, multimodal=False),
    "amazon.nova-lite-v1:0": _nova(300_000, multimodal=True),
    "amazon.nova-pro-v1:0": _nova(300_000, multimodal=True),
    "anthropic.claude-3-5-sonnet-20241022-v2:0": _claude(8_192),
    "anthropic.claude-sonnet-4-20250514-v1:0": _claude(64_000),
    "anthropic.claude-sonnet-4-5": _claude(64_000),
    "anthropic.claude-sonnet-4-6": _claude(64_000),
}


def get_profile(model: str) -> ModelProfile | None:
    """Return a copy of the profile of ``model`` (None for an unknown id)."""
    profile = _PROFILES.get(model)
    return ModelProfile(**profile) if profile is not None else None
