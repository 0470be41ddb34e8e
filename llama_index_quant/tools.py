"""``NovaCanvasToolSpec``: Amazon Nova Canvas image generation and editing as LlamaIndex tools."""

# ruff: noqa: B008  (pydantic ``Field`` defaults carry the tool schema bounds, by design)
# No ``from __future__ import annotations`` here: LlamaIndex builds the tool schemas from the
# runtime annotations of these methods.

import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

import httpx
from llama_index.core.base.llms.types import ImageBlock, TextBlock
from llama_index.core.tools.tool_spec.base import BaseToolSpec
from pydantic import Field, SecretStr
from pydantic.fields import FieldInfo

from quant_ai import ImageGenerationRequest, ImageGenerationResponse, QuantClient, read_file_within
from quant_ai.types import DEFAULT_IMAGE_MODEL, decode_image_data

__all__ = ["NovaCanvasToolSpec", "Style"]

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
Quality = Literal["standard", "premium"]
ToolResult = list[TextBlock | ImageBlock]


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

    def __init__(
        self,
        client: QuantClient | None = None,
        *,
        api_key: str | SecretStr | None = None,
        organization: str | None = None,
        base_url: str | None = None,
        timeout: float | httpx.Timeout | None = None,
        max_retries: int = 2,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        model_id: str = DEFAULT_IMAGE_MODEL,
        output_dir: str | Path | None = None,
        input_dirs: Iterable[str | Path] = (),
        return_images: bool = True,
    ) -> None:
        """Create the tool spec (no I/O until a tool runs).

        Args:
            client: A shared :class:`~quant_ai.QuantClient` (else one is made on first use).
            api_key: Key (default ``QUANT_API_KEY``).
            organization: Organisation (default ``QUANT_ORGANIZATION``).
            base_url: Service root (default ``QUANT_BASE_URL``).
            timeout: Request timeout in seconds or an ``httpx.Timeout`` (separate connect and
                read timeouts); default: the core's image timeout (connect 10 s, read 360 s).
            max_retries: Retries of retryable failures.
            http_client: ``httpx.Client`` for the private client.
            async_http_client: ``httpx.AsyncClient`` for the private client.
            model_id: The image model.
            output_dir: Save every image here (created if needed).
            input_dirs: Extra directories whose files may be used as input images.
            return_images: Return the images as ``ImageBlock``s after the summary (for
                multimodal models). False returns the summary alone (image names, and files
                in ``output_dir``), for text-only models; the images stay usable by name.
        """
        self._client = client
        self._settings: dict[str, Any] = {
            "api_key": api_key,
            "organization": organization,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "http_client": http_client,
            "async_http_client": async_http_client,
        }
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
        if self._client is None:
            self._client = QuantClient(**self._settings)
        return self._client

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
            ValueError: For an unknown name or a path outside the allowed directories.
        """
        ref = reference.strip()
        if ref in self._images:
            return self._images[ref][0]
        if ref.startswith("data:"):
            return decode_image_data(ref)[0]
        content = read_file_within(ref, self._allowed_dirs())
        if content is not None:
            return content
        known = ", ".join(self._images) or "none yet"
        raise ValueError(
            f"unknown image {reference!r}: use the name of an image made earlier ({known}), a "
            "data: URL, or a file in the tool's output or input directories"
        )

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
    def _config(
        width: int | None,
        height: int | None,
        quality: str | None,
        cfg_scale: float | None,
        seed: int | None,
        number_of_images: int | None,
    ) -> dict[str, Any]:
        config = {
            "width": _v(width),
            "height": _v(height),
            "quality": _v(quality),
            "cfg_scale": _v(cfg_scale),
            "seed": _v(seed),
            "number_of_images": _v(number_of_images),
        }
        return {k: v for k, v in config.items() if v is not None}

    @staticmethod
    def _details(config: dict[str, Any]) -> str:
        parts = []
        if "width" in config and "height" in config:
            parts.append(f"{config['width']}x{config['height']}")
        if "seed" in config:
            parts.append(f"seed {config['seed']}")
        return ", ".join(parts)

    def _request(
        self, task: str, params_field: str, params: dict[str, Any], config: dict[str, Any]
    ) -> ImageGenerationRequest:
        body: dict[str, Any] = {
            "task_type": task,
            "model_id": self.model_id,
            params_field: {k: v for k, v in params.items() if v is not None},
        }
        if config:
            body["image_generation_config"] = config
        return ImageGenerationRequest.model_validate(body)

    def _run(
        self, what: str, request: ImageGenerationRequest, config: dict[str, Any]
    ) -> ToolResult:
        return self._result(what, self.client.generate_image(request), self._details(config))

    async def _arun(
        self, what: str, request: ImageGenerationRequest, config: dict[str, Any]
    ) -> ToolResult:
        response = await self.client.agenerate_image(request)
        return self._result(what, response, self._details(config))

    # ------------------------------------------------------------------ request builders

    def _text_image(
        self,
        prompt: str,
        negative_prompt: str | None,
        style: Style | None,
        width: int,
        height: int,
        quality: Quality,
        cfg_scale: float,
        seed: int,
        number_of_images: int,
    ) -> tuple[ImageGenerationRequest, dict[str, Any]]:
        config = self._config(width, height, quality, cfg_scale, seed, number_of_images)
        params = {"text": prompt, "negative_text": _v(negative_prompt), "style": _v(style)}
        return self._request("TEXT_IMAGE", "text_to_image_params", params, config), config

    def _colors(
        self,
        prompt: str,
        colors: list[str],
        reference_image: str | None,
        negative_prompt: str | None,
        width: int,
        height: int,
        seed: int,
        number_of_images: int,
    ) -> tuple[ImageGenerationRequest, dict[str, Any]]:
        config = self._config(width, height, None, None, seed, number_of_images)
        ref = _v(reference_image)
        params = {
            "text": prompt,
            "colors": list(colors),
            "negative_text": _v(negative_prompt),
            "reference_image": self.load_image(ref) if ref else None,
        }
        return (
            self._request(
                "COLOR_GUIDED_GENERATION", "color_guided_generation_params", params, config
            ),
            config,
        )

    def _variation(
        self,
        images: list[str],
        prompt: str | None,
        similarity_strength: float,
        seed: int,
        number_of_images: int,
    ) -> tuple[ImageGenerationRequest, dict[str, Any]]:
        config = self._config(None, None, None, None, seed, number_of_images)
        params = {
            "images": [self.load_image(i) for i in images],
            "text": _v(prompt),
            "similarity_strength": _v(similarity_strength),
        }
        return self._request("IMAGE_VARIATION", "image_variation_params", params, config), config

    def _inpaint(
        self, image: str, prompt: str, mask_prompt: str, negative_prompt: str | None, seed: int
    ) -> tuple[ImageGenerationRequest, dict[str, Any]]:
        config = self._config(None, None, None, None, seed, None)
        params = {
            "image": self.load_image(image),
            "text": prompt,
            "mask_prompt": mask_prompt,
            "negative_text": _v(negative_prompt),
        }
        return self._request("INPAINTING", "in_painting_params", params, config), config

    def _outpaint(
        self, image: str, prompt: str, mask_prompt: str, mode: str, seed: int
    ) -> tuple[ImageGenerationRequest, dict[str, Any]]:
        config = self._config(None, None, None, None, seed, None)
        params = {
            "image": self.load_image(image),
            "text": prompt,
            "mask_prompt": mask_prompt,
            "out_painting_mode": _v(mode),
        }
        return self._request("OUTPAINTING", "out_painting_params", params, config), config

    def _background(self, image: str) -> ImageGenerationRequest:
        return self._request(
            "BACKGROUND_REMOVAL", "background_removal_params", {"image": self.load_image(image)}, {}
        )

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
        request, config = self._text_image(
            prompt,
            negative_prompt,
            style,
            width,
            height,
            quality,
            cfg_scale,
            seed,
            number_of_images,
        )
        return self._run("Generated", request, config)

    async def agenerate_image(
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
        """Async twin of :meth:`generate_image`."""
        request, config = self._text_image(
            prompt,
            negative_prompt,
            style,
            width,
            height,
            quality,
            cfg_scale,
            seed,
            number_of_images,
        )
        return await self._arun("Generated", request, config)

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
        request, config = self._colors(
            prompt,
            colors,
            reference_image,
            negative_prompt,
            width,
            height,
            seed,
            number_of_images,
        )
        return self._run("Generated", request, config)

    async def agenerate_image_with_colors(
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
        """Async twin of :meth:`generate_image_with_colors`."""
        request, config = self._colors(
            prompt,
            colors,
            reference_image,
            negative_prompt,
            width,
            height,
            seed,
            number_of_images,
        )
        return await self._arun("Generated", request, config)

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
        request, config = self._variation(
            images, prompt, similarity_strength, seed, number_of_images
        )
        return self._run("Created", request, config)

    async def acreate_image_variation(
        self,
        images: list[str],
        prompt: str | None = Field(default=None),
        similarity_strength: float = Field(default=0.7, ge=0.2, le=1.0),
        seed: int = Field(default=0, ge=0, le=2147483646),
        number_of_images: int = Field(default=1, ge=1, le=5),
    ) -> ToolResult:
        """Async twin of :meth:`create_image_variation`."""
        request, config = self._variation(
            images, prompt, similarity_strength, seed, number_of_images
        )
        return await self._arun("Created", request, config)

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
        request, config = self._inpaint(image, prompt, mask_prompt, negative_prompt, seed)
        return self._run("Edited into", request, config)

    async def ainpaint_image(
        self,
        image: str,
        prompt: str,
        mask_prompt: str,
        negative_prompt: str | None = Field(default=None),
        seed: int = Field(default=0, ge=0, le=2147483646),
    ) -> ToolResult:
        """Async twin of :meth:`inpaint_image`."""
        request, config = self._inpaint(image, prompt, mask_prompt, negative_prompt, seed)
        return await self._arun("Edited into", request, config)

    def outpaint_image(
        self,
        image: str,
        prompt: str,
        mask_prompt: str,
        mode: Literal["DEFAULT", "PRECISE"] = Field(default="DEFAULT"),
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
        request, config = self._outpaint(image, prompt, mask_prompt, mode, seed)
        return self._run("Edited into", request, config)

    async def aoutpaint_image(
        self,
        image: str,
        prompt: str,
        mask_prompt: str,
        mode: Literal["DEFAULT", "PRECISE"] = Field(default="DEFAULT"),
        seed: int = Field(default=0, ge=0, le=2147483646),
    ) -> ToolResult:
        """Async twin of :meth:`outpaint_image`."""
        request, config = self._outpaint(image, prompt, mask_prompt, mode, seed)
        return await self._arun("Edited into", request, config)

    def remove_background(self, image: str) -> ToolResult:
        """Remove the background of an earlier image (transparent PNG), with Nova Canvas.

        Args:
            image: Name of the earlier image.
        """
        return self._run("Made", self._background(image), {})

    async def aremove_background(self, image: str) -> ToolResult:
        """Async twin of :meth:`remove_background`."""
        return await self._arun("Made", self._background(image), {})
