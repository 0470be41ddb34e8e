"""Callbacks of ``ChatQuant`` runs: custom events on the model's run, stream run lookup.

``BaseChatModel.stream`` gives ``_stream`` no run manager, so :class:`StreamRunsMixin` fixes
the run id of each ``stream()`` call and finds its callbacks again; :func:`emit` and
:func:`aemit` dispatch custom events as children of the model's run.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessageChunk
from langchain_core.runnables import RunnableConfig, ensure_config

__all__ = [
    "STREAM_RUN",
    "StreamRunsMixin",
    "achild_manager",
    "aemit",
    "child_manager",
    "emit",
]

STREAM_RUN = "quant_stream_run"
"""Call kwarg (internal): the run id of a ``stream()`` call, to find its callbacks."""
_Manager = TypeVar("_Manager", CallbackManager, AsyncCallbackManager)

if TYPE_CHECKING:
    _Base = BaseChatModel
else:
    _Base = object


class StreamRunsMixin(_Base):
    """``stream``/``astream`` that remember each call's config under a fixed run id."""

    if TYPE_CHECKING:
        _stream_runs: dict[str, RunnableConfig]

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        """Stream the answer (see ``BaseChatModel.stream``).

        ``BaseChatModel.stream`` gives ``_stream`` no run manager; the run id is fixed here
        so that the server-tool custom events are dispatched on the model's run.
        """
        run_config = ensure_config(config)
        run_id = run_config.get("run_id") or uuid.uuid4()
        key = str(run_id)
        self._stream_runs[key] = run_config
        try:
            yield from super().stream(
                input, {**run_config, "run_id": run_id}, stop=stop, **{**kwargs, STREAM_RUN: key}
            )
        finally:
            self._stream_runs.pop(key, None)

    async def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        """Async twin of :meth:`stream`."""
        run_config = ensure_config(config)
        run_id = run_config.get("run_id") or uuid.uuid4()
        key = str(run_id)
        self._stream_runs[key] = run_config
        try:
            async for chunk in super().astream(
                input, {**run_config, "run_id": run_id}, stop=stop, **{**kwargs, STREAM_RUN: key}
            ):
                yield chunk
        finally:
            self._stream_runs.pop(key, None)

    def _stream_configure(self, kwargs: Mapping[str, Any]) -> tuple[str, RunnableConfig] | None:
        key = kwargs.get(STREAM_RUN)
        config = self._stream_runs.get(str(key)) if key else None
        return (str(key), config) if config is not None else None

    def _stream_manager(self, kwargs: Mapping[str, Any]) -> CallbackManager | None:
        return self._configured_manager(kwargs, CallbackManager)

    def _astream_manager(self, kwargs: Mapping[str, Any]) -> AsyncCallbackManager | None:
        return self._configured_manager(kwargs, AsyncCallbackManager)

    def _configured_manager(
        self, kwargs: Mapping[str, Any], kind: type[_Manager]
    ) -> _Manager | None:
        """A callback manager (sync or async) of the stream run ``kwargs`` belongs to."""
        found = self._stream_configure(kwargs)
        if found is None:
            return None
        key, config = found
        manager = kind.configure(
            config.get("callbacks"),
            self.callbacks,
            self.verbose,
            config.get("tags"),
            self.tags,
            config.get("metadata"),
            self.metadata,
        )
        manager.parent_run_id = uuid.UUID(key)
        return manager


def child_manager(run_manager: CallbackManagerForLLMRun) -> CallbackManager:
    """Callbacks of work done inside a chat-model run (custom events, local tools).

    LLM run managers have no ``get_child``; this builds the same manager (inheritable
    handlers, tags and metadata, parent = the model's run).
    """
    manager = CallbackManager(handlers=[], parent_run_id=run_manager.run_id)
    manager.set_handlers(run_manager.inheritable_handlers)
    manager.add_tags(run_manager.inheritable_tags)
    manager.add_metadata(run_manager.inheritable_metadata)
    return manager


def achild_manager(run_manager: AsyncCallbackManagerForLLMRun) -> AsyncCallbackManager:
    """Async twin of :func:`child_manager`."""
    manager = AsyncCallbackManager(handlers=[], parent_run_id=run_manager.run_id)
    manager.set_handlers(run_manager.inheritable_handlers)
    manager.add_tags(run_manager.inheritable_tags)
    manager.add_metadata(run_manager.inheritable_metadata)
    return manager


def emit(
    target: CallbackManagerForLLMRun | CallbackManager | None, name: str, data: dict[str, Any]
) -> None:
    """Dispatch a custom event on the model's run (nothing when there is no run)."""
    if isinstance(target, CallbackManagerForLLMRun):
        dispatch_custom_event(name, data, config=_child_config(target))
    elif target is not None:
        dispatch_custom_event(name, data, config=RunnableConfig(callbacks=target))


async def aemit(
    target: AsyncCallbackManagerForLLMRun | AsyncCallbackManager | None,
    name: str,
    data: dict[str, Any],
) -> None:
    """Async twin of :func:`emit`."""
    if isinstance(target, AsyncCallbackManagerForLLMRun):
        await adispatch_custom_event(name, data, config=_child_config(target))
    elif target is not None:
        await adispatch_custom_event(name, data, config=RunnableConfig(callbacks=target))


def _child_config(
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun,
) -> RunnableConfig:
    if isinstance(run_manager, AsyncCallbackManagerForLLMRun):
        return RunnableConfig(callbacks=achild_manager(run_manager))
    return RunnableConfig(callbacks=child_manager(run_manager))
