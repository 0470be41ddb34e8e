"""``NovaCanvasToolSpec``: Amazon Nova Canvas image generation and editing as LlamaIndex tools."""

# ruff: noqa: B008  (pydantic ``Field`` defaults carry the tool schema bounds, by design)
# No ``from __future__ import annotations`` here: LlamaIndex builds the tool schemas from the
# runtime annotations of these methods.

import base64
import inspect
import threading
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any, ClassVar

import httpx
from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from pydantic import ConfigDict, Field
from pydantic.fields import FieldInfo

from quant_ai import ImageGenerationRequest, ImageGenerationResponse, QuantClient
from quant_ai.arguments import sort_arguments
from quant_ai.errors import QuantValidationError
from quant_ai.images import (
    OutpaintingMode,
    Quality,
    Style,
    TaskType,
    image_request,
    load_image,
)
from quant_ai.types import DEFAULT_IMAGE_MODEL

from ._client import QuantClientMixin

__all__ = ["NovaCanvasToolSpec", "Style"]

ToolResult = list[TextBlock | ImageBlock]

_TOOLS: dict[str, tuple[TaskType, str]] = {
    "generate_image": ("TEXT_IMAGE", "Generated"),
    "generate_image_with_colors": ("COLOR_GUIDED_GENERATION", "Generated"),
    "create_image_variation": ("IMAGE_VARIATION", "Created"),
    "inpaint_image": ("INPAINTING", "Edited into"),
    "outpaint_image": ("OUTPAINTING", "Edited into"),
    "remove_background": ("BACKGROUND_REMOVAL", "Made"),
}
"""Each tool's Nova Canvas task and the verb of its summary."""


def _async_twin(tool: str) -> Callable[..., Awaitable[ToolResult]]:
    """The async twin of a tool: the same arguments, bound to the sync tool's signature."""

    async def twin(self: "NovaCanvasToolSpec", *args: Any, **kwargs: Any) -> ToolResult:
        return await self._acall(tool, args, kwargs)

    twin.__name__ = twin.__qualname__ = f"a{tool}"
    twin.__doc__ = f"Async twin of :meth:`{tool}` (same arguments)."
    return twin


class NovaCanvasConnection(QuantClientMixin):
    """The connection arguments of a :class:`NovaCanvasToolSpec` (itself no pydantic model).

    The same names and checks as every other class of this package.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    timeout: float | httpx.Timeout | None = None  # type: ignore[assignment]
    """Seconds or an ``httpx.Timeout`` (default: the core's image timeout)."""


def _v(value: Any) -> Any:
    """The value of a parameter whose default is a ``pydantic.Field`` (direct Python calls)."""
    if isinstance(value, FieldInfo):
        return value.get_default(call_default_factory=True)
    return value


class NovaCanvasToolSpec(BaseToolSpec):
    """Amazon Nova Canvas (via Quant AI) as LlamaIndex tools, sync and async.

    Tools: ``generate_image`` (text to image), ``generate_image_with_colors`` (colour-guided),
    ``create_image_variation``, ``inpaint_image``, ``outpaint_image`` and
    ``remove_background``. Each returns a short ``TextBlock`` summary naming the images and
    one ``ImageBlock`` per image, so a ``FunctionAgent`` hands the pictures to a multimodal
    model (``return_images=False`` returns the summary alone, for text-only models). With
    ``output_dir`` the images are also saved there.

    Tools that edit an image take a *reference*: the name of an image made earlier by this
    spec (for example ``nova_1.png``), a ``data:`` URL, or a file inside ``output_dir`` or one
    of ``input_dirs`` (other paths are refused, so a model cannot make the tool read arbitrary
    files).

    Example:
        >>> from llama_index_quant import NovaCanvasToolSpec
        >>> spec = NovaCanvasToolSpec(output_dir="images")
        >>> tools = spec.to_tool_list()  # FunctionTools for FunctionAgent
        >>> blocks = spec.generate_image("a lighthouse at dawn")  # doctest: +SKIP
        >>> blocks[0].text  # doctest: +SKIP
        'Generated 1 image (1024x1024, seed 0): nova_1.png ...'
    """

    spec_functions = [
        ("generate_image", "agenerate_image"),
        ("generate_image_with_colors", "agenerate_image_with_colors"),
        ("create_image_variation", "acreate_image_variation"),
        ("inpaint_image", "ainpaint_image"),
        ("outpaint_image", "aoutpaint_image"),
        ("remove_background", "aremove_background"),
    ]

    _OWN_ARGUMENTS: ClassVar[frozenset[str]] = frozenset(
        {"model_id", "output_dir", "input_dirs", "return_images"}
    )

    def __init__(
        self,
        client: QuantClient | None = None,
        *,
        model_id: str = DEFAULT_IMAGE_MODEL,
        output_dir: str | Path | None = None,
        input_dirs: Iterable[str | Path] = (),
        return_images: bool = True,
        **connection: Any,
    ) -> None:
        """Create the tool spec (no I/O until a tool runs).

        Args:
            client: A shared :class:`~quant_ai.QuantClient` (else one is made on first use).
            model_id: The image model.
            output_dir: Save every image here (created if needed).
            input_dirs: Extra directories whose files may be used as input images.
            return_images: Return the images as ``ImageBlock``s after the summary (for
                multimodal models). False returns the summary alone (image names, and files
                in ``output_dir``), for text-only models; the images stay usable by name.
            **connection: The connection arguments of every class of this package:
                ``api_key``, ``organization``, ``base_url``, ``timeout`` (seconds or an
                ``httpx.Timeout``; default: the core's image timeout, connect 10 s, read
                360 s), ``connect_timeout``, ``max_retries``, ``default_headers``,
                ``allow_insecure_http``, ``http_client``, ``async_http_client``.

        Raises:
            QuantValidationError: For an unknown argument (naming the nearest valid one).
        """
        valid = {*self._OWN_ARGUMENTS, *NovaCanvasConnection.model_fields, "client"}
        valid |= {"http_client", "async_http_client", "http_async_client"}
        sort_arguments(type(self).__name__, connection, valid)
        self._connection = NovaCanvasConnection(client=client, **connection)
        self.model_id = model_id
        self.output_dir = Path(output_dir) if output_dir is not None else None
        self.input_dirs = [Path(d) for d in input_dirs]
        self.return_images = return_images
        self._images: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._counter = 0

    def __repr__(self) -> str:
        return f"NovaCanvasToolSpec(model_id={self.model_id!r}, output_dir={self.output_dir!r})"

    @property
    def client(self) -> QuantClient:
        """The core client (created on first use)."""
        return self._connection.client

    @property
    def images(self) -> dict[str, tuple[bytes, str]]:
        """Images made so far: name -> (bytes, MIME type)."""
        return dict(self._images)

    # ------------------------------------------------------------------ references

    def _allowed_dirs(self) -> list[Path]:
        return [*self.input_dirs, *([self.output_dir] if self.output_dir is not None else [])]

    def load_image(self, reference: str) -> bytes:
        """Resolve an image reference to bytes.

        Args:
            reference: A name returned by an earlier call, a ``data:`` URL, or a file inside
                ``output_dir``/``input_dirs``.

        Raises:
            QuantValidationError: For an unknown name or a path outside the allowed
                directories (a ``ValueError``).
        """
        data = self._image_data(reference)
        return data if isinstance(data, bytes) else base64.b64decode(data)

    def _image_data(self, reference: str) -> bytes | str:
        """An image reference as bytes (an earlier image) or base64 text (the core's reader)."""
        ref = reference.strip()
        if ref in self._images:
            return self._images[ref][0]
        try:
            return load_image(ref, input_dirs=self._allowed_dirs(), allow_base64=False)
        except QuantValidationError:
            known = ", ".join(self._images) or "none yet"
            raise QuantValidationError(
                f"unknown image {reference!r}: use the name of an image made earlier ({known}), "
                "a data: URL, or a file in the tool's output or input directories",
                field="image",
            ) from None

    # ------------------------------------------------------------------ results

    def _name(self, extension: str) -> str:
        with self._lock:
            while True:
                self._counter += 1
                name = f"nova_{self._counter}.{extension}"
                clash = self.output_dir is not None and (self.output_dir / name).exists()
                if name not in self._images and not clash:
                    return name

    def _result(self, what: str, response: ImageGenerationResponse, details: str) -> ToolResult:
        names: list[str] = []
        blocks: ToolResult = []
        for image in response.images:
            name = self._name(image.extension)
            self._images[name] = (image.data, image.mime_type)
            if self.output_dir is not None:
                self.output_dir.mkdir(parents=True, exist_ok=True)
                (self.output_dir / name).write_bytes(image.data)
            names.append(name)
            if self.return_images:
                blocks.append(ImageBlock(image=image.data, image_mimetype=image.mime_type))
        count = len(names)
        summary = f"{what} {count} image{'s' if count != 1 else ''}"
        summary += f" ({details})" if details else ""
        summary += ": " + ", ".join(names) if names else "."
        if self.output_dir is not None and names:
            summary += " (saved in the output directory)"
        if response.error:
            summary += f" Some images were blocked: {response.error}"
        return [TextBlock(text=summary), *blocks]

    @staticmethod
    def _details(request: ImageGenerationRequest) -> str:
        config = request.image_generation_config
        parts = []
        if config is not None and config.width is not None and config.height is not None:
            parts.append(f"{config.width}x{config.height}")
        if config is not None and config.seed is not None:
            parts.append(f"seed {config.seed}")
        return ", ".join(parts)

    def _build(self, tool: str, arguments: dict[str, Any]) -> tuple[str, ImageGenerationRequest]:
        """The summary verb and the core's request for a tool's arguments.

        Image references (names of earlier images, data URLs, allowed files) are resolved
        here; everything else goes to :func:`quant_ai.images.image_request` as it is.
        """
        task, verb = _TOOLS[tool]
        values = {name: _v(value) for name, value in arguments.items() if name != "self"}
        references: list[str] = list(values.pop("images", None) or [])
        for name in ("image", "reference_image"):
            reference = values.pop(name, None)
            if reference:
                references = [reference]
        if "mode" in values:
            values["outpainting_mode"] = values.pop("mode")
        images = [self._image_data(reference) for reference in references]
        return verb, image_request(task, images=images, model_id=self.model_id, **values)

    def _bound(self, tool: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """An async twin's arguments bound to its sync tool's signature (defaults included)."""
        bound = inspect.signature(getattr(self, tool)).bind(*args, **kwargs)
        bound.apply_defaults()
        return dict(bound.arguments)

    def _run(self, what: str, request: ImageGenerationRequest) -> ToolResult:
        return self._result(what, self.client.generate_image(request), self._details(request))

    async def _arun(self, what: str, request: ImageGenerationRequest) -> ToolResult:
        response = await self.client.agenerate_image(request)
        return self._result(what, response, self._details(request))

    async def _acall(self, tool: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> ToolResult:
        return await self._arun(*self._build(tool, self._bound(tool, args, kwargs)))

    # ------------------------------------------------------------------ tools

    def generate_image(
        self,
        prompt: str,
        negative_prompt: str | None = Field(default=None),
        style: Style | None = Field(default=None),
        width: int = Field(default=1024, ge=320, le=4096),
        height: int = Field(default=1024, ge=320, le=4096),
        quality: Quality = Field(default="standard"),
        cfg_scale: float = Field(default=6.5, ge=1.1, le=10.0),
        seed: int = Field(default=0, ge=0, le=2147483646),
        number_of_images: int = Field(default=1, ge=1, le=5),
    ) -> ToolResult:
        """Generate images from a text description with Amazon Nova Canvas.

        Args:
            prompt: What the image shows (up to 1024 characters).
            negative_prompt: What the image must not show.
            style: An optional visual style preset.
            width: Width in pixels (a multiple of 16).
            height: Height in pixels (a multiple of 16).
            quality: Rendering quality.
            cfg_scale: How strictly to follow the prompt.
            seed: Seed for reproducible images.
            number_of_images: How many images to make.
        """
        return self._run(*self._build("generate_image", locals()))

    # the tools below take earlier images by reference (see load_image)

    def generate_image_with_colors(
        self,
        prompt: str,
        colors: list[str],
        reference_image: str | None = Field(default=None),
        negative_prompt: str | None = Field(default=None),
        width: int = Field(default=1024, ge=320, le=4096),
        height: int = Field(default=1024, ge=320, le=4096),
        seed: int = Field(default=0, ge=0, le=2147483646),
        number_of_images: int = Field(default=1, ge=1, le=5),
    ) -> ToolResult:
        """Generate images in a colour palette with Amazon Nova Canvas.

        Args:
            prompt: What the image shows.
            colors: One to ten colours as '#RRGGBB' hex codes.
            reference_image: Optional image (name of an earlier image) to take the layout from.
            negative_prompt: What the image must not show.
            width: Width in pixels.
            height: Height in pixels.
            seed: Seed for reproducible images.
            number_of_images: How many images to make.
        """
        return self._run(*self._build("generate_image_with_colors", locals()))

    def create_image_variation(
        self,
        images: list[str],
        prompt: str | None = Field(default=None),
        similarity_strength: float = Field(default=0.7, ge=0.2, le=1.0),
        seed: int = Field(default=0, ge=0, le=2147483646),
        number_of_images: int = Field(default=1, ge=1, le=5),
    ) -> ToolResult:
        """Make variations of one to five earlier images with Amazon Nova Canvas.

        Args:
            images: Names of earlier images to vary.
            prompt: Optional description steering the variation.
            similarity_strength: How close to the originals (0.2 loose, 1.0 very close).
            seed: Seed for reproducible images.
            number_of_images: How many images to make.
        """
        return self._run(*self._build("create_image_variation", locals()))

    def inpaint_image(
        self,
        image: str,
        prompt: str,
        mask_prompt: str,
        negative_prompt: str | None = Field(default=None),
        seed: int = Field(default=0, ge=0, le=2147483646),
    ) -> ToolResult:
        """Replace part of an earlier image, chosen by a description, with Amazon Nova Canvas.

        Args:
            image: Name of the earlier image to edit.
            prompt: What the edited area should show.
            mask_prompt: Which part of the image to replace (for example 'the sky').
            negative_prompt: What the edit must not show.
            seed: Seed for reproducible images.
        """
        return self._run(*self._build("inpaint_image", locals()))

    def outpaint_image(
        self,
        image: str,
        prompt: str,
        mask_prompt: str,
        mode: OutpaintingMode = Field(default="DEFAULT"),
        seed: int = Field(default=0, ge=0, le=2147483646),
    ) -> ToolResult:
        """Keep part of an earlier image and redraw everything around it (Amazon Nova Canvas).

        Args:
            image: Name of the earlier image.
            prompt: What the new surroundings should show.
            mask_prompt: The part of the image to keep (for example 'the dog').
            mode: PRECISE keeps the masked area exactly; DEFAULT blends it.
            seed: Seed for reproducible images.
        """
        return self._run(*self._build("outpaint_image", locals()))

    def remove_background(self, image: str) -> ToolResult:
        """Remove the background of an earlier image (transparent PNG), with Nova Canvas.

        Args:
            image: Name of the earlier image.
        """
        return self._run(*self._build("remove_background", locals()))

    # the async twins: LlamaIndex reads each tool's schema from its sync function
    agenerate_image = _async_twin("generate_image")
    agenerate_image_with_colors = _async_twin("generate_image_with_colors")
    acreate_image_variation = _async_twin("create_image_variation")
    ainpaint_image = _async_twin("inpaint_image")
    aoutpaint_image = _async_twin("outpaint_image")
    aremove_background = _async_twin("remove_background")
