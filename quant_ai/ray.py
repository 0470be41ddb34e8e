"""Ray Data components: embed and index millions of documents on a Ray cluster.

Install with ``pip install 'quant-ai[ray]'``. Three pieces, all built on Ray's own machinery
(actor pools of ``Dataset.map_batches``, ``Datasink`` write tasks, a Ray actor for the shared
rate limit):

- :class:`QuantEmbedder`: a callable class for ``Dataset.map_batches`` that adds an
  ``embedding`` column from a ``text`` column (one :class:`~quant_ai.QuantClient` per actor,
  requests of up to 100 texts, ``max_concurrency`` of them in flight per actor, order kept).
- :class:`QuantCollectionDatasink`: a ``Datasink`` for ``Dataset.write_datasink`` that writes
  rows (``text``, ``metadata``, ``id``) into a Quant vector collection, batched, upserting by
  key, so a Ray task that is retried rewrites the same documents instead of adding copies.
- :class:`RayRateLimiter`: a :class:`~quant_ai.RateLimiter` whose state lives in one Ray actor,
  so every actor and task of a job shares one request budget, and one 429's ``Retry-After``
  holds all of them back, not only the request that got it. The two classes above always use
  one: the one given (``rate_limiter=``), else a named one for their target and
  ``max_requests_per_second`` (``None``: no cap, the 429 waits are still shared).

Example::

    import ray
    from quant_ai.ray import QuantCollectionDatasink, QuantEmbedder, RayRateLimiter

    limiter = RayRateLimiter.create(max_requests_per_second=20)
    ds = ray.data.read_parquet("s3://bucket/docs/")          # columns: id, text, metadata
    ds = ds.map_batches(
        QuantEmbedder,
        compute=ray.data.ActorPoolStrategy(size=4),         # 4 actors
        batch_size=400,
        fn_constructor_kwargs={"rate_limiter": limiter},   # key and organisation: env
    )
    ds.write_datasink(QuantCollectionDatasink("docs", rate_limiter=limiter))

Connection settings are the usual ones (``api_key``, ``organization``, ``base_url``,
``timeout``, ``max_retries``, ``default_headers``) or the environment (``QUANT_API_KEY``,
``QUANT_ORGANIZATION``, ``QUANT_BASE_URL``) of the process that runs the actor or task: the
environment is read there, not on the driver, so a key from the environment is never pickled
(on a multi-node cluster, give it to the workers with ``runtime_env={"env_vars": ...}``).
A key passed as an argument travels inside the pickled object, as any argument does. Objects
open no connection until they first send.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ._ratelimit import AdaptiveTokenBucket
from .client import QuantClient
from .embeddings import DEFAULT_MAX_CONCURRENCY, MAX_BATCH_SIZE

if TYPE_CHECKING:
    import pyarrow as pa
    from ray.actor import ActorHandle

__all__ = ["QuantCollectionDatasink", "QuantEmbedder", "RayRateLimiter"]

logger = logging.getLogger("quant_ai.ray")

_NAMESPACE = "quant-ai"


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:  # pragma: no cover - the extra is missing
        raise ImportError("quant_ai.ray needs Ray Data: pip install 'quant-ai[ray]'") from exc
    return ray


# ----------------------------------------------------------------------------- rate limit


class _LimiterActor:
    """The actor behind :class:`RayRateLimiter`: the core's in-process limiter, served."""

    def __init__(self, max_requests_per_second: float | None, burst: int) -> None:
        self._bucket = AdaptiveTokenBucket(max_requests_per_second, burst=burst)

    def acquire(self) -> float:
        return self._bucket.acquire()

    def backoff(self, seconds: float) -> None:
        self._bucket.backoff(seconds)


class RayRateLimiter:
    """A :class:`~quant_ai.RateLimiter` shared by every process of a Ray job.

    The budget (the core's :class:`~quant_ai.AdaptiveTokenBucket`: at most
    ``max_requests_per_second``, bursts of ``burst``) lives in one Ray actor; each request asks
    it for a slot (one small actor call) and sleeps the wait it is given in its own process. A
    429 answer's ``Retry-After`` is reported to the actor, which then holds back every
    reservation and spaces the next ones wider, so all workers back off together and come back
    at the rate the service takes instead of all at once.

    Make it on the driver with :meth:`create` (or find a named one with :meth:`get`) and pass
    it to the Ray classes (``rate_limiter=``) or to ``QuantClient(rate_limiter=...)``; it
    pickles as its actor handle.

    Args:
        handle: The limiter actor.
    """

    def __init__(self, handle: ActorHandle[Any]) -> None:
        self._handle: Any = handle

    @classmethod
    def create(
        cls,
        max_requests_per_second: float | None = None,
        *,
        burst: int = 1,
        name: str | None = None,
    ) -> RayRateLimiter:
        """Start the limiter actor (or reuse the live one of that ``name``).

        Args:
            max_requests_per_second: The cap for all users of the limiter together; ``None``
                caps nothing and only shares the service's ``Retry-After`` waits.
            burst: Requests allowed back to back after an idle time (default 1: evenly
                spaced requests).
            name: A name to find it by (:meth:`get`). A named limiter is detached: it lives
                until the cluster stops, whichever process made it, so the actors of a job
                that find it by name never lose it mid-run. By default the actor is anonymous
                and lives as long as a handle to it is referenced.

        Raises:
            QuantConfigurationError: For a rate that is not positive or a burst below 1.
        """
        AdaptiveTokenBucket(max_requests_per_second, burst=burst)  # its checks, before any actor
        ray = _ray()
        actor = ray.remote(num_cpus=0)(_LimiterActor)
        if name is not None:
            actor = actor.options(
                name=name, namespace=_NAMESPACE, get_if_exists=True, lifetime="detached"
            )
        return cls(actor.remote(max_requests_per_second, burst))

    @classmethod
    def get(cls, name: str) -> RayRateLimiter:
        """The live limiter made by :meth:`create` with this ``name``."""
        return cls(_ray().get_actor(name, namespace=_NAMESPACE))

    def acquire(self) -> float:
        """Reserve a slot; the seconds to wait before sending."""
        wait: float = _ray().get(self._handle.acquire.remote())
        return wait

    async def aacquire(self) -> float:
        """Async twin of :meth:`acquire` (awaits the actor call)."""
        wait: float = await self._handle.acquire.remote()
        return wait

    def backoff(self, seconds: float) -> None:
        """Hold back every later reservation for ``seconds`` (sent without waiting)."""
        self._handle.backoff.remote(seconds)

    def __reduce__(self) -> tuple[Any, ...]:
        return (RayRateLimiter, (self._handle,))


# ----------------------------------------------------------------------------- connection


class _Connected:
    """Connection settings kept as given; the client is made on first use in each process."""

    def __init__(
        self,
        *,
        api_key: str | SecretStr | None,
        organization: str | None,
        base_url: str | None,
        timeout: float | None,
        max_retries: int,
        default_headers: Mapping[str, str] | None,
        rate_limiter: Any | None,
        max_requests_per_second: float | None,
    ) -> None:
        if rate_limiter is not None and max_requests_per_second is not None:
            from .errors import QuantValidationError

            raise QuantValidationError(
                "give rate_limiter or max_requests_per_second, not both",
                field="max_requests_per_second",
            )
        self._settings: dict[str, Any] = {
            "api_key": SecretStr(api_key) if isinstance(api_key, str) else api_key,
            "organization": organization,
            "base_url": base_url,
            "timeout": timeout,
            "max_retries": max_retries,
            "default_headers": dict(default_headers) if default_headers else None,
        }
        self.rate_limiter = rate_limiter
        self.max_requests_per_second = max_requests_per_second
        self._client: QuantClient | None = None

    def _limiter(self) -> Any:
        if self.rate_limiter is None:
            # Every actor and task of the job (and of any job with the same target and rate)
            # finds the same named limiter: one budget, and one 429 holds back all of them.
            target = [
                self._settings["base_url"] or os.environ.get("QUANT_BASE_URL"),
                self._settings["organization"]
                or os.environ.get("QUANT_ORGANIZATION")
                or os.environ.get("QUANT_ORGANISATION"),
                self.max_requests_per_second,
            ]
            digest = hashlib.sha256(json.dumps(target).encode()).hexdigest()[:16]
            self.rate_limiter = RayRateLimiter.create(
                self.max_requests_per_second, name=f"quant-ai-limiter-{digest}"
            )
        return self.rate_limiter

    @property
    def client(self) -> QuantClient:
        """This process's client (made on first use)."""
        if self._client is None:
            settings = {k: v for k, v in self._settings.items() if v is not None}
            self._client = QuantClient(rate_limiter=self._limiter(), **settings)
        return self._client

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_client"] = None  # never ship a client (or its connections) to a worker
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


# ----------------------------------------------------------------------------- embedder


class QuantEmbedder(_Connected):
    """Adds Quant embeddings to batches: ``Dataset.map_batches(QuantEmbedder, compute=...)``.

    Ray makes one instance per actor (pass the arguments as ``fn_constructor_kwargs``); each
    instance keeps one :class:`~quant_ai.QuantClient` and sends the texts of a batch in
    requests of up to ``batch_size`` texts, ``max_concurrency`` at once, keeping their order.
    Blank texts are not sent and get a zero vector, as everywhere in this package; a missing
    text (``None``) counts as blank. Batches in Ray's ``numpy`` (dict of arrays, the default)
    and ``pandas`` formats are accepted and returned in the same format with one more column.

    Args:
        model: Embeddings model (default ``amazon.titan-embed-text-v2:0``).
        dimensions: Vector size (the model's default when unset).
        text_column: The input column.
        embedding_column: The output column (float32 vectors).
        batch_size: Texts per request, 1 to 100.
        max_concurrency: Requests in flight per actor.
        rate_limiter: A shared limiter (:class:`RayRateLimiter`), for every actor of the job.
        max_requests_per_second: Shorthand: a named :class:`RayRateLimiter` at this rate,
            shared by every actor that names the same rate.
        api_key: API key (default: ``QUANT_API_KEY`` in the worker's environment).
        organization: Organisation (default: ``QUANT_ORGANIZATION`` there).
        base_url: Service root (default: ``QUANT_BASE_URL`` there, else the service).
        timeout: Seconds per request.
        max_retries: Retries of a failed request.
        default_headers: Extra headers on every request.
    """

    def __init__(
        self,
        *,
        model: str | None = None,
        dimensions: int | None = None,
        text_column: str = "text",
        embedding_column: str = "embedding",
        batch_size: int = MAX_BATCH_SIZE,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        rate_limiter: Any | None = None,
        max_requests_per_second: float | None = None,
        api_key: str | SecretStr | None = None,
        organization: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(
            api_key=api_key,
            organization=organization,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            rate_limiter=rate_limiter,
            max_requests_per_second=max_requests_per_second,
        )
        self.model = model
        self.dimensions = dimensions
        self.text_column = text_column
        self.embedding_column = embedding_column
        self.batch_size = batch_size
        self.max_concurrency = max_concurrency

    def embed(self, texts: Sequence[str | None]) -> list[list[float]]:
        """Embed texts in order (``None`` counts as blank)."""
        return self.client.embed_many(
            [t if isinstance(t, str) else "" for t in texts],
            model=self.model,
            dimensions=self.dimensions,
            batch_size=self.batch_size,
            max_concurrency=self.max_concurrency,
        )

    def __call__(self, batch: Any) -> Any:
        """Return the batch with the embedding column added (same format as given)."""
        import numpy as np

        if self.text_column not in batch:
            from .errors import QuantValidationError

            raise QuantValidationError(
                f"the batch has no {self.text_column!r} column (columns: "
                f"{', '.join(map(str, batch.keys()))}); set text_column",
                field="text_column",
            )
        texts = list(batch[self.text_column])
        vectors = np.asarray(self.embed(texts), dtype=np.float32)
        if hasattr(batch, "assign"):  # pandas
            return batch.assign(**{self.embedding_column: list(vectors)})
        out = dict(batch)
        out[self.embedding_column] = vectors
        return out


# ----------------------------------------------------------------------------- datasink


def _datasink_base() -> type:
    try:
        from ray.data import Datasink
    except ImportError:  # pragma: no cover - the extra is missing
        return object
    return Datasink


class QuantCollectionDatasink(_Connected, _datasink_base()):  # type: ignore[misc]
    """Writes rows into a Quant vector collection: ``Dataset.write_datasink(...)``.

    Each row becomes one document: ``content`` from ``text_column``, the upsert ``key`` and
    the returned document id from ``id_column``, ``metadata`` from ``metadata_column`` (a
    mapping). Writes are upserts by key, so a Ray task that fails and is retried rewrites the
    same documents: nothing is duplicated. Rows without an id are refused (an id is what makes
    a retry safe). The service embeds ``content`` itself: other columns (an ``embedding``
    column from :class:`QuantEmbedder`, for example) are not sent, and the first write task
    logs a warning naming them.

    The collection (a name or an id) is created on the driver when the write starts, if
    ``create_collection`` and it does not exist yet; its id is resolved there once, so write
    tasks do not each look it up.

    Args:
        collection: The collection's name or id.
        create_collection: Create it when missing (with ``embedding_model``/``dimensions``).
        embedding_model: Model of a created collection.
        dimensions: Vector size of a created collection.
        text_column: The content column.
        id_column: The document id column (sent as the upsert key).
        metadata_column: The metadata column (a mapping per row, or missing).
        rows_per_write: Rows Ray hands each write call (and so each task's batch).
        rate_limiter: A shared limiter (:class:`RayRateLimiter`).
        max_requests_per_second: Shorthand for a named shared limiter at this rate.
        api_key: API key (default: ``QUANT_API_KEY`` in the worker's environment).
        organization: Organisation (default: ``QUANT_ORGANIZATION`` there).
        base_url: Service root (default: ``QUANT_BASE_URL`` there, else the service).
        timeout: Seconds per request.
        max_retries: Retries of a failed request.
        default_headers: Extra headers on every request.

    Rows whose text is blank or missing are not written (the service cannot embed empty text):
    they are counted in :attr:`skipped` and each write task that meets some logs a warning.

    Attributes:
        written: Rows written, once the write has completed (on the driver's object).
        skipped: Rows not written because their text was blank.
    """

    def __init__(
        self,
        collection: str,
        *,
        create_collection: bool = True,
        embedding_model: str | None = None,
        dimensions: int | None = None,
        text_column: str = "text",
        id_column: str = "id",
        metadata_column: str = "metadata",
        rows_per_write: int = 500,
        rate_limiter: Any | None = None,
        max_requests_per_second: float | None = None,
        api_key: str | SecretStr | None = None,
        organization: str | None = None,
        base_url: str | None = None,
        timeout: float | None = None,
        max_retries: int = 2,
        default_headers: Mapping[str, str] | None = None,
    ) -> None:
        _Connected.__init__(
            self,
            api_key=api_key,
            organization=organization,
            base_url=base_url,
            timeout=timeout,
            max_retries=max_retries,
            default_headers=default_headers,
            rate_limiter=rate_limiter,
            max_requests_per_second=max_requests_per_second,
        )
        if rows_per_write < 1:
            from .errors import QuantValidationError

            raise QuantValidationError("rows_per_write must be at least 1", field="rows_per_write")
        self.collection = collection
        self.create_collection = create_collection
        self.embedding_model = embedding_model
        self.dimensions = dimensions
        self.text_column = text_column
        self.id_column = id_column
        self.metadata_column = metadata_column
        self.rows_per_write = rows_per_write
        self.collection_id: str | None = None
        self.written = 0
        self.skipped = 0

    # -- Ray's Datasink interface -------------------------------------------------------------

    @property
    def min_rows_per_write(self) -> int:
        """Rows per write call (Ray bundles blocks up to it)."""
        return self.rows_per_write

    def get_name(self) -> str:
        """Name of the write tasks."""
        return "QuantCollection"

    def on_write_start(self, schema: pa.Schema | None = None) -> None:
        """On the driver: create the collection if asked, and resolve its id once."""
        vector_db = self.client.vector_db
        if self.create_collection:
            options: dict[str, Any] = {"exist_ok": True}
            if self.embedding_model is not None:
                options["embedding_model"] = self.embedding_model
            if self.dimensions is not None:
                options["dimensions"] = self.dimensions
            created = vector_db.create_collection(self.collection, **options)
            self.collection_id = created.collection_id
        else:
            self.collection_id = vector_db.resolve_collection_id(self.collection)

    def write(self, blocks: Iterable[Any], ctx: Any) -> tuple[int, int]:
        """In a write task: upload the rows of the blocks; return (written, skipped blank)."""
        from ray.data.block import BlockAccessor

        collection = self.collection_id or self.collection
        documents: list[dict[str, Any]] = []
        skipped = 0
        warned = False
        for block in blocks:
            accessor = BlockAccessor.for_block(block)
            if not warned:
                self._warn_unsent(accessor.to_arrow().column_names)
                warned = True
            rows: Iterable[Mapping[str, Any]] = accessor.iter_rows(True)
            for row in rows:
                document = self._document(row)
                if document is None:
                    skipped += 1
                else:
                    documents.append(document)
        if skipped:
            logger.warning(
                "quant_ai.ray: %d row(s) with blank %r not written (the service cannot embed "
                "empty text)",
                skipped,
                self.text_column,
            )
        if documents:
            self.client.vector_db.upload_documents(collection, documents)
        return len(documents), skipped

    def on_write_complete(self, write_result: Any) -> None:
        """On the driver: total the rows written and skipped."""
        self.written = sum(int(w) for w, _ in write_result.write_returns)
        self.skipped = sum(int(s) for _, s in write_result.write_returns)

    # -- rows -----------------------------------------------------------------------------------

    def _warn_unsent(self, columns: Sequence[str]) -> None:
        used = {self.text_column, self.id_column, self.metadata_column}
        unsent = [c for c in columns if c not in used]
        if unsent:
            logger.warning(
                "quant_ai.ray: columns %s are not written to the collection (the service embeds "
                "the %r column itself; put what should be kept into %r)",
                ", ".join(unsent),
                self.text_column,
                self.metadata_column,
            )

    def _document(self, row: Mapping[str, Any]) -> dict[str, Any] | None:
        from .errors import QuantValidationError

        key = row.get(self.id_column)
        if key is None or key == "":
            raise QuantValidationError(
                f"a row has no {self.id_column!r}: every row needs an id, which makes the "
                "write an upsert (a retried task must not duplicate documents)",
                field=self.id_column,
            )
        text = row.get(self.text_column)
        if text is None or (isinstance(text, str) and not text.strip()):
            return None  # counted and reported by write()
        if not isinstance(text, str):
            raise QuantValidationError(
                f"row {key!r}: {self.text_column!r} must be text, got {type(text).__name__}",
                field=self.text_column,
            )
        metadata = row.get(self.metadata_column)
        document: dict[str, Any] = {"id": str(key), "content": text}
        if metadata is not None:
            document["metadata"] = _plain(metadata)
        return document


def _plain(value: Any) -> Any:
    """Arrow/numpy values of a row as plain Python (lists, dicts, scalars).

    ``None`` values in a mapping are left out: Arrow stores a metadata column as one struct
    type for all rows and fills the keys a row did not have with ``None``.
    """
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
