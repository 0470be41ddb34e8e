"""``NovaCanvasTool``: an agent-ready image generation tool over Amazon Nova Canvas."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.callbacks import AsyncCallbackManagerForToolRun, CallbackManagerForToolRun
from langchain_core.tools import BaseTool
from pydantic import BaseModel, ConfigDict, Field

from langchain_quant._client import QuantConnection
from langchain_quant.errors import langchain_errors
from quant_ai import GeneratedImage, ImageGenerationRequest, ImageGenerationResponse
from quant_ai.images import OutpaintingMode, Quality, Style, TaskType, image_request
from quant_ai.images import load_image as _load_image
from quant_ai.types import DEFAULT_IMAGE_MODEL

__all__ = [
    "NovaCanvasInput",
    "NovaCanvasTool",
    "build_image_request",
    "images_to_content_blocks",
    "load_image",
]


class NovaCanvasInput(BaseModel):
    """Arguments of :class:`NovaCanvasTool` (an unknown one is refused, not dropped)."""

    model_config = ConfigDict(extra="forbid")

    prompt: str | None = Field(
        default=None,
        description="What the image should show (1-1024 characters). Required for every task "
        "except BACKGROUND_REMOVAL.",
    )
    negative_prompt: str | None = Field(
        default=None, description="What the image should not show (1-1024 characters)."
    )
    style: Style | None = Field(default=None, description="A visual style (TEXT_IMAGE only).")
    width: int | None = Field(default=None, description="Width in pixels, e.g. 1024.")
    height: int | None = Field(default=None, description="Height in pixels, e.g. 1024.")
    quality: Quality | None = Field(default=None)
    cfg_scale: float | None = Field(
        default=None, ge=1.1, le=10, description="How closely to follow the prompt (1.1-10)."
    )
    seed: int | None = Field(default=None, ge=0, le=2147483646)
    number_of_images: int | None = Field(default=None, ge=1, le=5)
    task_type: TaskType = Field(
        default="TEXT_IMAGE",
        description="TEXT_IMAGE (default), COLOR_GUIDED_GENERATION, IMAGE_VARIATION, "
        "INPAINTING, OUTPAINTING or BACKGROUND_REMOVAL.",
    )
    images: list[str | bytes] | None = Field(
        default=None,
        description="Input images as file paths, base64 text or data URLs: the image to edit "
        "(INPAINTING, OUTPAINTING, BACKGROUND_REMOVAL), the references (IMAGE_VARIATION, up to "
        "5), the reference (COLOR_GUIDED_GENERATION) or a condition image (TEXT_IMAGE).",
    )
    mask_prompt: str | None = Field(
        default=None, description="Which part to edit, in words (INPAINTING, OUTPAINTING)."
    )
    mask_image: str | bytes | None = Field(
        default=None, description="Mask image (path, base64 or data URL) for (in/out)painting."
    )
    colors: list[str] | None = Field(
        default=None, description="1-10 hex colours like '#FF8800' (COLOR_GUIDED_GENERATION)."
    )
    similarity_strength: float | None = Field(
        default=None, ge=0.2, le=1.0, description="Closeness to the inputs (IMAGE_VARIATION)."
    )
    outpainting_mode: OutpaintingMode | None = None


def load_image(value: str | bytes, *, input_dirs: Sequence[str | Path] = ()) -> str:
    """Return an input image as base64 text (the core's ``quant_ai.images.load_image``).

    Args:
        value: Raw bytes, a data URL, base64 text, or a file inside ``input_dirs``.
        input_dirs: Directories whose files may be read. A path anywhere else is refused, so
            a model calling the tool cannot make it read (and upload) any file of the machine.

    Raises:
        ValueError: If the value is none of these (a ``QuantValidationError``).
    """
    return _load_image(value, input_dirs=input_dirs)


def build_image_request(
    args: NovaCanvasInput,
    *,
    model: str,
    region: str | None,
    input_dirs: Sequence[str | Path] = (),
) -> ImageGenerationRequest:
    """Build the wire request of one tool call with the core's ``image_request``.

    Pure apart from reading image files inside ``input_dirs``.

    Raises:
        ValueError: When the task lacks what it needs (a prompt, an image...).
    """
    return image_request(
        args.task_type,
        prompt=args.prompt,
        negative_prompt=args.negative_prompt,
        style=args.style,
        images=[load_image(i, input_dirs=input_dirs) for i in args.images or []],
        mask_image=load_image(args.mask_image, input_dirs=input_dirs) if args.mask_image else None,
        mask_prompt=args.mask_prompt,
        colors=args.colors,
        similarity_strength=args.similarity_strength,
        outpainting_mode=args.outpainting_mode,
        width=args.width,
        height=args.height,
        quality=args.quality,
        cfg_scale=args.cfg_scale,
        seed=args.seed,
        number_of_images=args.number_of_images,
        model_id=model,
        region=region,
    )


def images_to_content_blocks(images: list[GeneratedImage]) -> list[dict[str, Any]]:
    """LangChain standard image blocks of generated images (for a ``ToolMessage``)."""
    return [
        {"type": "image", "base64": image.to_base64(), "mime_type": image.mime_type}
        for image in images
    ]


class NovaCanvasTool(QuantConnection, BaseTool):
    """Generate and edit images with Amazon Nova Canvas through Quant AI.

    Setup:
        The LangChain extra holds the tool; it reads the same variables as ``ChatQuant``:

        ```bash
        pip install "quant-ai[langchain]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="my-org"
        ```

    Instantiation:
        ```python
        from langchain_quant import NovaCanvasTool

        tool = NovaCanvasTool(output_dir="images")  # output_dir is optional
        ```

    Invocation with args:
        ```python
        tool.invoke({"prompt": "A lighthouse at dusk", "width": 512, "height": 512})
        # 'Generated 1 image (image/png) with Nova Canvas (TEXT_IMAGE). Saved to: images/...'
        ```

        Other tasks take input images as file paths, base64 text, data URLs or bytes:
        ``{"task_type": "BACKGROUND_REMOVAL", "images": ["photo.png"]}``.

    Invocation with ToolCall:
        ```python
        message = tool.invoke(
            {"name": "nova_canvas", "args": {"prompt": "A red fox"}, "id": "1",
             "type": "tool_call"}
        )
        message.content   # short text summary (and file paths when output_dir is set)
        message.artifact  # list[quant_ai.GeneratedImage]: bytes + mime_type
        images_to_content_blocks(message.artifact)  # standard image blocks
        ```

        With ``include_images_in_content=True`` the content is a list of a text block and
        standard image blocks, so a multimodal model sees the images.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True, protected_namespaces=())

    name: str = "nova_canvas"
    description: str = (
        "Generate an image from a text prompt with Amazon Nova Canvas, or edit images "
        "(variation, inpainting, outpainting, background removal, colour-guided generation). "
        "Input: a prompt and optional size, style, quality, seed and number of images."
    )
    args_schema: type[BaseModel] = NovaCanvasInput
    response_format: Literal["content", "content_and_artifact"] = "content_and_artifact"

    model: str = DEFAULT_IMAGE_MODEL
    """Image model id."""
    region: str | None = None
    """Bedrock region of the model (us-east-1, ap-northeast-1, eu-west-1)."""
    output_dir: str | None = None
    """Directory to save the images to (their paths go in the content)."""
    include_images_in_content: bool = False
    """Put the images as standard image blocks in the content too."""
    input_dirs: list[str] = Field(default_factory=list)
    """Directories whose files may be given as input images (``output_dir`` is included).
    Paths anywhere else are refused, so a model cannot make the tool read arbitrary files."""

    def _request(self, kwargs: dict[str, Any]) -> ImageGenerationRequest:
        args = NovaCanvasInput(**kwargs)
        dirs = [*self.input_dirs, *([self.output_dir] if self.output_dir else [])]
        return build_image_request(args, model=self.model, region=self.region, input_dirs=dirs)

    def _save(self, images: list[GeneratedImage]) -> list[str]:
        if not self.output_dir:
            return []
        folder = Path(self.output_dir)
        folder.mkdir(parents=True, exist_ok=True)
        paths = []
        for image in images:
            digest = hashlib.sha256(image.data).hexdigest()[:16]
            path = folder / f"nova-canvas-{digest}.{image.extension}"
            path.write_bytes(image.data)
            paths.append(str(path))
        return paths

    def _output(
        self, request: ImageGenerationRequest, response: ImageGenerationResponse, paths: list[str]
    ) -> tuple[str | list[str | dict[str, Any]], list[GeneratedImage]]:
        images = list(response.images)
        if images:
            kinds = ", ".join(sorted({image.mime_type for image in images}))
            plural = "image" if len(images) == 1 else "images"
            text = (
                f"Generated {len(images)} {plural} ({kinds}) with Nova Canvas "
                f"({request.task_type})."
            )
        else:
            text = f"No image was generated ({request.task_type})."
        if paths:
            text += " Saved to: " + ", ".join(paths)
        if response.error:
            text += f" Note from the service: {response.error}"
        if self.include_images_in_content and images:
            content: list[str | dict[str, Any]] = [{"type": "text", "text": text}]
            content.extend(images_to_content_blocks(images))
            return content, images
        return text, images

    def _run(
        self,
        run_manager: CallbackManagerForToolRun | None = None,
        **kwargs: Any,
    ) -> tuple[str | list[str | dict[str, Any]], list[GeneratedImage]]:
        request = self._request(kwargs)
        with langchain_errors():
            response = self.quant_client.generate_image(request)
        return self._output(request, response, self._save(list(response.images)))

    async def _arun(
        self,
        run_manager: AsyncCallbackManagerForToolRun | None = None,
        **kwargs: Any,
    ) -> tuple[str | list[str | dict[str, Any]], list[GeneratedImage]]:
        request = await asyncio.to_thread(self._request, kwargs)
        with langchain_errors():
            response = await self.quant_client.agenerate_image(request)
        paths = await asyncio.to_thread(self._save, list(response.images))
        return self._output(request, response, paths)
