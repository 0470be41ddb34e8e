"""The rules of embedding many texts: batches, blank texts, vector sizes.

:meth:`QuantClient.embed_many <quant_ai.QuantClient.embed_many>` and its async twin use them;
the LangChain and LlamaIndex embeddings classes call those and only translate.

- A request carries at most :data:`MAX_BATCH_SIZE` texts (the API's limit).
- Blank texts (empty or whitespace only) are not sent (the API refuses them): each gets a zero
  vector of the size of the other vectors of the call, else of ``dimensions``, else of the
  model's default size; for a model whose size is unknown, ``dimensions`` must be set.
- A model's sizes are looked up by its family, the model id without its ``:N`` version suffix
  (``amazon.titan-embed-text-v2:0`` and ``amazon.titan-embed-text-v2`` are the same model).
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TypeVar

from .errors import QuantAPIError, QuantValidationError
from .types import DEFAULT_EMBEDDINGS_MODEL, EmbeddingsResponse

__all__ = [
    "DEFAULT_MAX_CONCURRENCY",
    "EMBEDDING_SIZES",
    "MAX_BATCH_SIZE",
    "SPEC_DIMENSIONS",
    "BatchPlan",
    "asend_batches",
    "assemble_vectors",
    "check_batching",
    "check_dimensions",
    "default_dimensions",
    "is_blank",
    "model_family",
    "plan_batches",
    "send_batches",
]

T = TypeVar("T")
R = TypeVar("R")

MAX_BATCH_SIZE = 100
"""The API's limit of texts per embeddings request."""

DEFAULT_MAX_CONCURRENCY = 4
"""Requests in flight at once when a call needs several batches."""

SPEC_DIMENSIONS = (256, 512, 1024, 8192)
"""The sizes the spec lists for ``dimensions`` (for models not in :data:`EMBEDDING_SIZES`)."""


@dataclass(frozen=True)
class _Sizes:
    default: int
    choices: tuple[int, ...]


EMBEDDING_SIZES: dict[str, _Sizes] = {
    "amazon.titan-embed-text-v2": _Sizes(1024, (256, 512, 1024)),
    "amazon.titan-embed-text-v1": _Sizes(1536, (1536,)),
}
"""Vector sizes by model family: the default and the ``dimensions`` the model takes. The model
catalogue lists ``amazon.titan-embed-text-v2:0`` (1024 by default; 256, 512 or 1024; the spec
also lists 8192, which Titan v2 does not offer) and ``amazon.titan-embed-text-v1:0`` (1536,
fixed)."""


def model_family(model_id: str) -> str:
    """The model id without its ``:N`` version suffix."""
    return model_id.strip().split(":", 1)[0]


def default_dimensions(model_id: str | None) -> int | None:
    """The vector size a model returns when ``dimensions`` is not sent (None: unknown)."""
    sizes = EMBEDDING_SIZES.get(model_family(model_id or DEFAULT_EMBEDDINGS_MODEL))
    return sizes.default if sizes is not None else None


def check_dimensions(model_id: str | None, dimensions: int | None) -> None:
    """Refuse a ``dimensions`` the model does not offer.

    Raises:
        QuantValidationError: Naming ``dimensions`` and the sizes to choose from.
    """
    if dimensions is None:
        return
    model = model_id or DEFAULT_EMBEDDINGS_MODEL
    sizes = EMBEDDING_SIZES.get(model_family(model))
    if sizes is not None and len(sizes.choices) == 1:
        raise QuantValidationError(
            f"dimensions: {model} has a fixed size of {sizes.default}; leave dimensions unset",
            field="dimensions",
        )
    choices = sizes.choices if sizes is not None else SPEC_DIMENSIONS
    if dimensions not in choices:
        raise QuantValidationError(
            f"dimensions: {dimensions} is not supported by {model}; use one of "
            + ", ".join(map(str, choices)),
            field="dimensions",
        )


def check_batching(batch_size: int, max_concurrency: int) -> None:
    """Refuse a batch size beyond the API's limit or a concurrency below 1.

    Raises:
        QuantValidationError: Naming the argument.
    """
    if isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_BATCH_SIZE:
        raise QuantValidationError(
            f"batch_size: {batch_size!r}; use 1 to {MAX_BATCH_SIZE} (the API limit)",
            field="batch_size",
        )
    if isinstance(max_concurrency, bool) or max_concurrency < 1:
        raise QuantValidationError(
            f"max_concurrency: {max_concurrency!r}; use at least 1", field="max_concurrency"
        )


def is_blank(text: str) -> bool:
    """True for a text the API refuses to embed (empty or whitespace only)."""
    return not text or not text.strip()


@dataclass(frozen=True)
class BatchPlan:
    """How a call's texts are sent.

    Attributes:
        count: The number of input texts.
        batches: Input positions of the texts of each request, in order.
        blank: Input positions of the blank texts (not sent).
    """

    count: int
    batches: list[list[int]]
    blank: list[int]

    def texts(self, texts: Sequence[str]) -> list[list[str]]:
        """The texts of each request."""
        return [[texts[i] for i in batch] for batch in self.batches]


def plan_batches(texts: Sequence[str], batch_size: int = MAX_BATCH_SIZE) -> BatchPlan:
    """Split texts into requests of at most ``batch_size``, setting blank ones aside.

    Raises:
        QuantValidationError: For a non-text input or a batch size beyond the API's limit.
    """
    check_batching(batch_size, 1)
    filled: list[int] = []
    blank: list[int] = []
    for i, text in enumerate(texts):
        if not isinstance(text, str):
            raise QuantValidationError(
                f"input.{i}: expected a text, got {type(text).__name__}", field=f"input.{i}"
            )
        (blank if is_blank(text) else filled).append(i)
    batches = [filled[k : k + batch_size] for k in range(0, len(filled), batch_size)]
    return BatchPlan(len(texts), batches, blank)


def assemble_vectors(
    plan: BatchPlan,
    responses: Sequence[EmbeddingsResponse],
    *,
    model: str | None = None,
    dimensions: int | None = None,
) -> list[list[float]]:
    """One vector per input text, in input order; zero vectors for the blank texts.

    Raises:
        QuantAPIError: When the service returned a different number of vectors than texts.
        QuantValidationError: When only blank texts were given for a model whose size is
            unknown and ``dimensions`` is not set.
    """
    out: list[list[float] | None] = [None] * plan.count
    size: int | None = None
    for positions, response in zip(plan.batches, responses, strict=True):
        if len(response.embeddings) != len(positions):
            raise QuantAPIError(
                f"the service returned {len(response.embeddings)} vectors for "
                f"{len(positions)} texts",
                status_code=200,
            )
        for position, vector in zip(positions, response.embeddings, strict=True):
            out[position] = vector
            if size is None:
                size = len(vector)
    if plan.blank:
        if size is None:
            size = dimensions or default_dimensions(model)
        if size is None:
            raise QuantValidationError(
                f"dimensions: cannot tell the vector size of {model} for blank texts; "
                "set dimensions",
                field="dimensions",
            )
        for position in plan.blank:
            out[position] = [0.0] * size
    return [vector if vector is not None else [] for vector in out]


class _Skipped(Exception):
    """A batch not sent because an earlier one failed."""


def send_batches(send: Callable[[T], R], batches: Sequence[T], max_concurrency: int) -> list[R]:
    """``send`` every batch, ``max_concurrency`` at a time on a small thread pool; in order.

    One batch, or ``max_concurrency=1``, runs on the calling thread. When a batch fails, the
    batches not yet sent are not sent, the ones in flight are waited for, and the error of the
    first failed batch (in order) is raised.
    """
    if len(batches) <= 1 or max_concurrency == 1:
        return [send(batch) for batch in batches]
    failed = threading.Event()

    def guarded(batch: T) -> R:
        if failed.is_set():  # an earlier batch failed while this one was queued
            raise _Skipped
        try:
            return send(batch)
        except BaseException:
            failed.set()
            raise

    pool = ThreadPoolExecutor(
        max_workers=min(max_concurrency, len(batches)), thread_name_prefix="quant-ai-embed"
    )
    try:
        futures = [pool.submit(guarded, batch) for batch in batches]
        wait(futures, return_when=FIRST_EXCEPTION)
        if failed.is_set():
            for future in futures:
                future.cancel()
            wait(futures)
            for future in futures:
                error = None if future.cancelled() else future.exception()
                if error is not None and not isinstance(error, _Skipped):
                    raise error
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


async def asend_batches(
    send: Callable[[T], Awaitable[R]], batches: Sequence[T], max_concurrency: int
) -> list[R]:
    """Async twin of :func:`send_batches`: asyncio tasks under a semaphore, no threads.

    When a batch fails, the other batches (waiting or in flight) are cancelled and the error of
    the first failed batch (in order) is raised.
    """
    import asyncio  # on first async use (import time of QuantClient)

    semaphore = asyncio.Semaphore(max_concurrency)
    failed = False

    async def guarded(batch: T) -> R:
        nonlocal failed
        async with semaphore:
            if failed:  # a batch failed while this one waited: do not send it
                raise asyncio.CancelledError
            try:
                return await send(batch)
            except BaseException:
                failed = True
                raise

    tasks = [asyncio.ensure_future(guarded(batch)) for batch in batches]
    if not tasks:
        return []
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except BaseException:  # the caller was cancelled: cancel every batch
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    if pending:
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            raise task.exception()  # type: ignore[misc]
    return [task.result() for task in tasks]
