"""Nova Canvas requests from plain arguments, and input images read on a caller's behalf.

:func:`image_request` is the one builder of an ``ImageGenerationRequest`` from the arguments
a person or a model gives (a task, a prompt, images, sizes); the LangChain and LlamaIndex tools
and :meth:`QuantClient.text_to_image_request <quant_ai.QuantClient.text_to_image_request>` call
it. :func:`load_image` turns an input image (bytes, a data URL, base64 text, or a file inside
directories the caller allowed) into base64 text: a tool called by a model never reads a file
anywhere else.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal, get_args

from .errors import QuantValidationError
from .media import parse_data_url, read_file_within
from .types import (
    BackgroundRemovalParams,
    ColorGuidedGenerationParams,
    ImageGenerationConfig,
    ImageGenerationRequest,
    ImageVariationParams,
    InPaintingParams,
    OutPaintingParams,
    TextToImageParams,
)

__all__ = [
    "STYLES",
    "TASK_TYPES",
    "OutpaintingMode",
    "Quality",
    "Style",
    "TaskType",
    "image_request",
    "load_image",
]

Style = Literal[
    "3D_ANIMATED_FAMILY_FILM",
    "DESIGN_SKETCH",
    "FLAT_VECTOR_ILLUSTRATION",
    "GRAPHIC_NOVEL_ILLUSTRATION",
    "MAXIMALISM",
    "MIDCENTURY_RETRO",
    "PHOTOREALISM",
    "SOFT_DIGITAL_PAINTING",
]
"""Nova Canvas's visual styles (``textToImageParams.style``)."""
STYLES: tuple[str, ...] = get_args(Style)

TaskType = Literal[
    "TEXT_IMAGE",
    "COLOR_GUIDED_GENERATION",
    "IMAGE_VARIATION",
    "INPAINTING",
    "OUTPAINTING",
    "BACKGROUND_REMOVAL",
]
"""The tasks :func:`image_request` builds."""
TASK_TYPES: tuple[str, ...] = get_args(TaskType)

Quality = Literal["standard", "premium"]
OutpaintingMode = Literal["DEFAULT", "PRECISE"]

_ONE_IMAGE = ("INPAINTING", "OUTPAINTING", "BACKGROUND_REMOVAL")
_NEEDS_PROMPT = ("TEXT_IMAGE", "COLOR_GUIDED_GENERATION")


def load_image(
    value: str | bytes,
    *,
    input_dirs: Sequence[str | Path] = (),
    allow_base64: bool = True,
) -> str:
    """Return an input image as base64 text.

    Args:
        value: Raw bytes, a ``data:`` URL, base64 text, or a file inside ``input_dirs``.
        input_dirs: Directories whose files may be read. A path anywhere else is refused, so
            a model calling a tool cannot make it read (and upload) any file of the machine.
        allow_base64: Accept bare base64 text (tools whose model refers to images by name
            turn it off, so a mistyped name is reported rather than sent as data).

    Raises:
        QuantValidationError: If the value is none of these.
    """
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    if value.startswith("data:"):
        return parse_data_url(value)[1]
    content = read_file_within(value, input_dirs)
    if content is not None:
        return base64.b64encode(content).decode("ascii")
    if allow_base64:
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            pass
        else:
            return value
    where = (
        "a file in " + ", ".join(str(d) for d in input_dirs) + ", "
        if input_dirs
        else "a file path (only with input_dirs set), "
    )
    kinds = "base64 text, a data URL or bytes" if allow_base64 else "a data URL or bytes"
    raise QuantValidationError(f"an input image must be {where}{kinds}", field="image")


def image_request(
    task_type: TaskType = "TEXT_IMAGE",
    *,
    prompt: str | None = None,
    negative_prompt: str | None = None,
    style: str | None = None,
    images: Sequence[str | bytes] = (),
    mask_image: str | bytes | None = None,
    mask_prompt: str | None = None,
    colors: Sequence[str] | None = None,
    similarity_strength: float | None = None,
    outpainting_mode: str | None = None,
    width: int | None = None,
    height: int | None = None,
    quality: str | None = None,
    cfg_scale: float | None = None,
    seed: int | None = None,
    number_of_images: int | None = None,
    model_id: str | None = None,
    region: str | None = None,
) -> ImageGenerationRequest:
    """Build the request of one Nova Canvas task from plain arguments (pure).

    Args:
        task_type: The task (default ``TEXT_IMAGE``).
        prompt: What the image should show (required for ``TEXT_IMAGE`` and
            ``COLOR_GUIDED_GENERATION``, optional for the editing tasks).
        negative_prompt: What the image should not show.
        style: A visual style (``TEXT_IMAGE`` only; one of :data:`STYLES`).
        images: Input images as bytes or base64 text (see :func:`load_image`): the image to
            edit (in/outpainting, background removal), the references (variation, 1 to 5),
            the reference (colour-guided) or a condition image (text to image).
        mask_image: Mask image for in/outpainting.
        mask_prompt: Which part to edit, in words (in/outpainting).
        colors: 1 to 10 ``#RRGGBB`` colours (colour-guided generation).
        similarity_strength: Closeness to the inputs (variation).
        outpainting_mode: ``DEFAULT`` or ``PRECISE``.
        width: Width in pixels.
        height: Height in pixels.
        quality: ``standard`` or ``premium``.
        cfg_scale: How closely to follow the prompt.
        seed: Seed for reproducible images.
        number_of_images: How many images to make.
        model_id: The image model (default: the service's).
        region: The model's Bedrock region.

    Raises:
        QuantValidationError: When the task lacks what it needs (a prompt, an image...). The
            request's ranges are checked when it is sent.
    """
    task = task_type
    if task not in TASK_TYPES:
        raise QuantValidationError(
            f"task_type: {task!r}; use one of {', '.join(TASK_TYPES)}", field="task_type"
        )
    images = list(images)
    if task in _NEEDS_PROMPT and not prompt:
        raise QuantValidationError(f"{task} needs a prompt", field="prompt")
    if task in _ONE_IMAGE and len(images) != 1:
        raise QuantValidationError(f"{task} needs exactly one input image", field="images")
    if task == "IMAGE_VARIATION" and not 1 <= len(images) <= 5:
        raise QuantValidationError("IMAGE_VARIATION needs 1 to 5 input images", field="images")
    if task == "TEXT_IMAGE" and len(images) > 1:
        raise QuantValidationError("TEXT_IMAGE takes at most one condition image", field="images")
    fields: dict[str, Any] = {"task_type": task, "model_id": model_id, "region": region}
    first = images[0] if images else None
    if task == "TEXT_IMAGE":
        fields["text_to_image_params"] = TextToImageParams(
            text=prompt, negative_text=negative_prompt, style=style, condition_image=first
        )
    elif task == "COLOR_GUIDED_GENERATION":
        fields["color_guided_generation_params"] = ColorGuidedGenerationParams(
            colors=list(colors) if colors is not None else None,
            reference_image=first,
            text=prompt,
            negative_text=negative_prompt,
        )
    elif task == "IMAGE_VARIATION":
        fields["image_variation_params"] = ImageVariationParams(
            images=images,
            similarity_strength=similarity_strength,
            text=prompt,
            negative_text=negative_prompt,
        )
    elif task == "INPAINTING":
        fields["in_painting_params"] = InPaintingParams(
            image=first,
            mask_image=mask_image,
            mask_prompt=mask_prompt,
            text=prompt,
            negative_text=negative_prompt,
        )
    elif task == "OUTPAINTING":
        fields["out_painting_params"] = OutPaintingParams(
            image=first,
            mask_image=mask_image,
            mask_prompt=mask_prompt,
            out_painting_mode=outpainting_mode,
            text=prompt,
            negative_text=negative_prompt,
        )
    else:
        fields["background_removal_params"] = BackgroundRemovalParams(image=first)
    config = ImageGenerationConfig(
        width=width,
        height=height,
        quality=quality,
        cfg_scale=cfg_scale,
        seed=seed,
        number_of_images=number_of_images,
    )
    if task != "BACKGROUND_REMOVAL" and config.to_wire():
        fields["image_generation_config"] = config
    return ImageGenerationRequest(**fields)
