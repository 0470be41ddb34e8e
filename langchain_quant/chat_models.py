"""``ChatQuant``: LangChain chat model over the Quant AI inference API."""

from __future__ import annotations

import uuid
import warnings
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, Literal, TypeVar, cast

from langchain_core.callbacks import (
    AsyncCallbackManager,
    AsyncCallbackManagerForLLMRun,
    CallbackManager,
    CallbackManagerForLLMRun,
    adispatch_custom_event,
    dispatch_custom_event,
)
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.output_parsers import JsonOutputParser, PydanticOutputParser
from langchain_core.output_parsers.base import OutputParserLike
from langchain_core.output_parsers.openai_tools import (
    JsonOutputKeyToolsParser,
    PydanticToolsParser,
)
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import (
    Runnable,
    RunnableConfig,
    RunnableLambda,
    RunnableMap,
    RunnablePassthrough,
    ensure_config,
)
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from langchain_quant._client import QuantConnection
from langchain_quant._convert import (
    PROVIDER,
    StreamConverter,
    convert_messages,
    convert_tools,
    execution_to_message,
    plan_tool_choice,
    response_to_message,
)
from langchain_quant._profiles import get_profile
from langchain_quant._structured import (
    StreamParser,
    attach_parsed,
    default_method,
    pick_response_format,
)
from langchain_quant._tokens import TokenEstimates
from langchain_quant.durable import (
    EXECUTION_STATUS_EVENT,
    AsyncDurableRun,
    DurableExecution,
    SyncDurableRun,
    local_tool_registry,
    stream_event_data,
)
from langchain_quant.errors import to_langchain_error
from quant_ai import (
    ChatRequest,
    QuantError,
)
from quant_ai._history import has_tool_blocks, tool_blocks_as_text
from quant_ai.types import DEFAULT_CHAT_MODEL

__all__ = ["ChatQuant"]

_RESUME = "quant_resume_request_id"
"""Call kwarg (internal) that makes a call resume an execution instead of starting one."""
_STREAM_RUN = "quant_stream_run"
_Manager = TypeVar("_Manager", CallbackManager, AsyncCallbackManager)
"""Call kwarg (internal): the run id of a ``stream()`` call, to find its callbacks."""
_DURABLE_KEYS = (
    _STREAM_RUN,
    "durable",
    "durable_poll_initial",
    "durable_poll_max",
    "durable_timeout",
    _RESUME,
)

ToolLike = dict[str, Any] | type | Callable[..., Any] | BaseTool | str

_CALL_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "response_format",
    "guardrails",
    "long_context",
    "session_id",
)


def _raise(exc: QuantError) -> None:
    mapped = to_langchain_error(exc)
    if mapped is exc:
        raise exc
    raise mapped from exc


class ChatQuant(TokenEstimates, QuantConnection, BaseChatModel):
    """Quant AI chat models (Claude and Nova on Amazon Bedrock, hosted by QuantCDN).

    Setup:
        Install ``quant-ai`` with the LangChain extra and set your credentials:

        ```bash
        pip install "quant-ai[langchain]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="my-org"
        ```

    Key init args — completion params:
        model (str): Model id (alias ``model_id``), default ``amazon.nova-lite-v1:0``.
        temperature (float | None): Sampling temperature, 0 to 2.
        max_tokens (int | None): Maximum tokens to generate (1 to 65536).
        top_p (float | None): Nucleus sampling, 0 to 1.
        stop (list[str] | None): Up to 4 stop sequences (alias ``stop_sequences``).
        response_format (dict | None): Structured output: the native ``{"type": "json",
            "jsonSchema": {...}}`` or OpenAI's ``{"type": "json_schema", ...}`` /
            ``{"type": "json_object"}`` (mapped by ``quant_ai.to_response_format``).
        guardrails (dict | None): Bedrock guardrails (``guardrailIdentifier``...).
        long_context (bool | None): Enable the 1M-token context window.
        session_id (str | None): A UUID to continue a server-side session.
        model_kwargs (dict): Any other wire field, sent as given (camelCase).

    Key init args — client params:
        api_key (SecretStr | None): Key; default ``QUANT_API_KEY``. Not needed to construct.
        organization (str | None): Organisation machine name; default ``QUANT_ORGANIZATION``.
        base_url (str | None): Service root; default ``QUANT_BASE_URL`` or the public cloud.
        timeout (float | httpx.Timeout | None): Request timeout (core default: 10 s connect,
            120 s read).
        max_retries (int): Retries of 408/409/429/5xx and connection errors (0 disables).
        http_client / http_async_client: Your own ``httpx`` clients (proxies, TLS...).
        client (quant_ai.QuantClient | None): A shared core client; overrides the above.
        streaming (bool): Route ``invoke`` through the stream endpoint.
        stream_usage (bool): Put token usage on the final streamed chunk (default True).

    Instantiate:
        ```python
        from langchain_quant import ChatQuant

        llm = ChatQuant(model="amazon.nova-lite-v1:0", temperature=0, max_tokens=512)
        ```

        Construction does no I/O and needs no key; the ``quant_ai.QuantClient`` is built on
        first use and cached.

    Invoke:
        ```python
        messages = [
            ("system", "You are a helpful translator. Translate to French."),
            ("human", "I love programming."),
        ]
        llm.invoke(messages)
        # AIMessage(content="J'adore la programmation.", response_metadata={...},
        #           usage_metadata={'input_tokens': 21, 'output_tokens': 7, 'total_tokens': 28})
        ```

    Stream:
        ```python
        for chunk in llm.stream(messages):
            print(chunk.text, end="")

        full = None
        for chunk in llm.stream(messages):
            full = chunk if full is None else full + chunk
        full.usage_metadata  # on exactly one (the last) chunk
        ```

    Async:
        ```python
        await llm.ainvoke(messages)
        async for chunk in llm.astream(messages):
            ...
        await llm.abatch([messages])
        ```

        Async methods use the core's ``httpx.AsyncClient``; nothing runs in a thread pool.

    Tool calling:
        ```python
        from pydantic import BaseModel, Field


        class GetWeather(BaseModel):
            '''Get the current weather in a given location.'''

            location: str = Field(..., description="The city, e.g. Sydney")


        llm_with_tools = llm.bind_tools([GetWeather])
        ai_msg = llm_with_tools.invoke("What's the weather in Sydney?")
        ai_msg.tool_calls
        # [{'name': 'GetWeather', 'args': {'location': 'Sydney'}, 'id': '...', 'type': 'tool_call'}]
        ```

        The native API has no ``toolChoice``. ``tool_choice`` is carried out as follows:
        ``"auto"``/``None`` sends the tools; ``"none"`` does not send them and turns
        server-side execution off (or, when the history already holds tool calls, keeps them
        and tells the model not to call any);
        ``"any"``/``"required"``/``True`` sends all tools and tells the model in the system
        prompt that it must call one; a tool name sends only that tool and tells the model to
        call it. Forcing is an instruction, not a guarantee.

        Server-side tools (``get_weather``, ``calculate``, ``search_web``,
        ``generate_image`` or org custom tools) are bound by name:
        ``llm.bind_tools(["get_weather"])`` sets ``autoExecute`` and ``allowedTools``; the
        service runs them and they appear as ``server_tool_call`` / ``server_tool_result``
        content blocks, never as ``tool_calls``.

    Server-side tools:
        ```python
        ai_msg = llm.bind_tools(["get_weather"]).invoke("What is the weather in Paris?")
        [b["type"] for b in ai_msg.content if isinstance(b, dict)]
        # ['server_tool_call', 'server_tool_result', 'text']
        ```

        Names in ``bind_tools`` (``get_weather``, ``calculate``, ``search_web``,
        ``generate_image``, org custom tools) set ``autoExecute`` and ``allowedTools``
        (override with ``auto_execute=`` / ``allowed_tools=``). Executed calls are
        ``server_tool_call`` / ``server_tool_result`` blocks, never ``tool_calls``; client
        tools bound next to them still come back as ``tool_calls``. While streaming, the
        blocks arrive as chunks as they happen and the ``tool_start``, ``tool_input_progress``,
        ``tool_complete`` and ``orchestration_status`` stream events are dispatched as custom
        events ``quant_tool_start``, ``quant_tool_input_progress``, ``quant_tool_complete``
        and ``quant_orchestration_status`` (visible in ``astream_events`` and to
        ``on_custom_event`` handlers).

    Durable executions:
        ```python
        model = ChatQuant(durable=True).bind_tools([lookup_stock, find_museum])
        ai_msg = model.invoke("Look up ACME then find a museum in Paris")  # or durable=True
        ai_msg.response_metadata["local_tool_calls"]  # the tools that ran locally

        handle = llm.start_execution(messages, tools=[lookup_stock])
        handle.request_id  # store it; later, in any process:
        ChatQuant().resume_execution(handle.request_id, tools=[lookup_stock])
        ```

        ``durable=True`` sends ``async: true`` and polls ``chat/executions/{id}`` with
        backoff (``durable_poll_initial`` doubling to ``durable_poll_max``, giving up after
        ``durable_timeout`` with ``QuantModelExecutionTimeoutError``). When the execution
        waits for client tools, the bound ``BaseTool``s and functions run locally (as child
        runs) and their results answer the ``callbackId`` once; a tool that is not available
        locally raises ``QuantLocalToolMissingError`` naming it. Each status change is a
        ``quant_execution_status`` custom event (``request_id``, ``status``,
        ``callback_id``, ``pending_tools``). A failed execution raises
        ``QuantModelExecutionFailedError``. ``stream()`` of a durable call yields the final
        message once. Async: ``astart_execution``, ``aresume_execution``.

    Structured output:
        ```python
        class Joke(BaseModel):
            '''Joke to tell user.'''

            setup: str
            punchline: str


        llm.with_structured_output(Joke).invoke("Tell me a joke about cats")
        # Joke(setup='...', punchline='...')
        ```

        ``method="json_schema"`` uses the native ``responseFormat`` with the schema;
        ``"function_calling"`` forces a tool; ``"json_mode"`` asks for JSON (the schema, when
        given, is sent too). The default follows the model's profile: ``json_schema`` where
        ``profile["structured_output"]`` (Claude, Nova Lite/Pro), else ``function_calling``.
        A reply that does not parse raises ``OutputParserException``. ``create_agent(...,
        response_format=Model)`` works too: its provider strategy binds the OpenAI shape
        ``{"type": "json_schema", ...}``, which is mapped to ``responseFormat`` by
        ``quant_ai.to_response_format`` (so does ``bind(response_format=...)``).

    JSON mode:
        ```python
        llm.with_structured_output(None, method="json_mode").invoke(
            "Return a JSON object with keys 'a' and 'b'"
        )
        ```

    Image input:
        ```python
        from langchain_core.messages import HumanMessage

        message = HumanMessage(
            content=[
                {"type": "text", "text": "Describe this image"},
                {"type": "image", "base64": image_b64, "mime_type": "image/png"},
            ]
        )
        llm.invoke([message])
        ```

        PDFs (``{"type": "file", "base64": ..., "mime_type": "application/pdf"}``) and
        videos work the same way. Media by URL are refused (download them and pass base64).

    Token usage:
        ```python
        ai_msg = llm.invoke(messages)
        ai_msg.usage_metadata
        # {'input_tokens': 21, 'output_tokens': 7, 'total_tokens': 28}
        ```

    Response metadata:
        ```python
        ai_msg.response_metadata
        # {'model_provider': 'quant', 'model_name': 'amazon.nova-lite-v1:0',
        #  'finish_reason': 'stop', 'request_id': 'req-...', 'cost_cents': 0.0031}
        ```
    """

    model_config = ConfigDict(
        populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=()
    )

    model: str = Field(default=DEFAULT_CHAT_MODEL, alias="model_id")
    """Model id, e.g. ``amazon.nova-lite-v1:0`` or ``anthropic.claude-sonnet-4-5``."""
    temperature: float | None = None
    """Sampling temperature (0 to 2)."""
    max_tokens: int | None = None
    """Maximum number of tokens to generate."""
    top_p: float | None = None
    """Nucleus sampling (0 to 1)."""
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    """Default stop sequences (at most 4)."""
    response_format: dict[str, Any] | None = None
    """Structured output for every call: the native ``{"type": "json", "jsonSchema": {...}}``
    or an OpenAI shape (``{"type": "json_schema", ...}``), mapped by the core."""
    guardrails: dict[str, Any] | None = None
    """Wire ``guardrails`` (``guardrailIdentifier``, ``guardrailVersion``, ``trace``)."""
    long_context: bool | None = None
    """Enable the 1M-token context window."""
    session_id: str | None = None
    """Server-side session to continue (a UUID)."""
    streaming: bool = False
    """Route ``invoke`` through the stream endpoint."""
    stream_usage: bool = True
    """Put token usage on the final streamed chunk."""
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Other wire fields of the chat request, sent as given."""
    durable: bool = False
    """Run every call as a durable execution (``async: true``), polling until it completes
    and running client tools locally. Per call: ``invoke(..., durable=True)``."""
    durable_poll_initial: float = Field(default=1.0, gt=0)
    """First wait between status polls of a durable execution, in seconds."""
    durable_poll_max: float = Field(default=30.0, gt=0)
    """Longest wait between polls (the wait doubles up to this)."""
    durable_timeout: float = Field(default=900.0, gt=0)
    """Give up waiting after this many seconds (the execution may still finish: resume it)."""

    _local_tools: dict[str, BaseTool] = PrivateAttr(default_factory=dict)
    _tool_kwargs: dict[str, Any] = PrivateAttr(default_factory=dict)
    _stream_runs: dict[str, RunnableConfig] = PrivateAttr(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _build_extra(cls, values: Any) -> Any:
        """Move unknown init kwargs into ``model_kwargs`` (with a warning)."""
        if not isinstance(values, dict):
            return values
        known: set[str] = set()
        for name, info in cls.model_fields.items():
            known.add(name)
            if info.alias:
                known.add(info.alias)
        extra = {k: v for k, v in values.items() if k not in known}
        if not extra:
            return values
        values = {k: v for k, v in values.items() if k in known}
        model_kwargs = dict(values.get("model_kwargs") or {})
        for key, value in extra.items():
            warnings.warn(
                f"{key} is not a ChatQuant field; it is sent as a wire field via model_kwargs",
                UserWarning,
                stacklevel=4,
            )
            model_kwargs[key] = value
        values["model_kwargs"] = model_kwargs
        return values

    # ------------------------------------------------------------------ identity

    @property
    def _llm_type(self) -> str:
        return "quant-chat"

    @classmethod
    def is_lc_serializable(cls) -> bool:
        """ChatQuant can be serialized with ``dumpd`` (the key is kept out)."""
        return True

    @property
    def lc_secrets(self) -> dict[str, str]:
        """Secret fields and the environment variables they load from."""
        return {"api_key": "QUANT_API_KEY"}

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "stop": self.stop,
            "response_format": self.response_format,
            "guardrails": self.guardrails,
            "long_context": self.long_context,
            "model_kwargs": self.model_kwargs,
        }

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=str(kwargs.get("model") or kwargs.get("model_id") or self.model),
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
        )
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens:
            params["ls_max_tokens"] = max_tokens
        ls_stop = stop or kwargs.get("stop") or self.stop
        if ls_stop:
            params["ls_stop"] = list(ls_stop)
        return params

    def _resolve_model_profile(self) -> ModelProfile | None:
        return get_profile(self.model)

    # ------------------------------------------------------------------ client

    def _unpicklable(self) -> dict[str, Any]:
        # local tools are often closures that do not pickle; stream runs are per call
        return {**super()._unpicklable(), "_local_tools": {}, "_stream_runs": {}}

    # ------------------------------------------------------------------ requests

    def _request(
        self, messages: Sequence[BaseMessage], stop: list[str] | None, kwargs: Mapping[str, Any]
    ) -> ChatRequest:
        """Build the wire request of one call (pure apart from reading fields)."""
        call = dict(kwargs)
        for key in ("ls_structured_output_format", "stream", "stream_usage", *_DURABLE_KEYS):
            call.pop(key, None)
        model = call.pop("model", None) or call.pop("model_id", None) or self.model
        tools = call.pop("tools", None) or []
        tool_choice = call.pop("tool_choice", None)
        auto_execute = call.pop("auto_execute", None)
        allowed_tools = call.pop("allowed_tools", None)
        system, wire = convert_messages(messages)
        fields: dict[str, Any] = {name: getattr(self, name) for name in _CALL_FIELDS}
        for name in _CALL_FIELDS:
            if name in call:
                fields[name] = call.pop(name)
        stop_sequences = stop if stop is not None else call.pop("stop", None) or self.stop
        history_has_tools = has_tool_blocks(wire)
        plan = plan_tool_choice(list(tools), tool_choice, history_has_tools=history_has_tools)
        if plan.instruction:
            system = f"{system}\n\n{plan.instruction}" if system else plan.instruction
        if not plan.server_tools:
            auto_execute, allowed_tools = None, None
        tool_config: dict[str, Any] | None = None
        if plan.tools or auto_execute is not None or allowed_tools:
            tool_config = {
                "tools": plan.tools or None,
                "autoExecute": auto_execute,
                "allowedTools": allowed_tools or None,
            }
        elif history_has_tools:
            wire = tool_blocks_as_text(wire)  # no toolConfig: the service refuses tool blocks
        extra = {**self.model_kwargs, **call}
        response_format = pick_response_format(fields["response_format"], extra)
        body: dict[str, Any] = {
            **extra,
            "messages": wire,
            "modelId": model,
            "systemPrompt": system,
            "stopSequences": list(stop_sequences) if stop_sequences else None,
            "toolConfig": tool_config,
            "temperature": fields["temperature"],
            "maxTokens": fields["max_tokens"],
            "topP": fields["top_p"],
            "responseFormat": response_format,
            "guardrails": fields["guardrails"],
            "longContext": fields["long_context"],
            "sessionId": fields["session_id"],
        }
        return ChatRequest.model_validate({k: v for k, v in body.items() if v is not None})

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._is_durable(kwargs):
            return self._result(self._durable_message(messages, stop, run_manager, kwargs))
        request = self._request(messages, stop, kwargs)
        try:
            response = self.quant_client.chat(request)
        except QuantError as exc:
            _raise(exc)
            raise  # pragma: no cover
        message = response_to_message(response, requested_model=request.model_id)
        return self._result(attach_parsed(message, kwargs.get("response_format")))

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        if self._is_durable(kwargs):
            message = await self._adurable_message(messages, stop, run_manager, kwargs)
            return self._result(message)
        request = self._request(messages, stop, kwargs)
        try:
            response = await self.quant_client.achat(request)
        except QuantError as exc:
            _raise(exc)
            raise  # pragma: no cover
        message = response_to_message(response, requested_model=request.model_id)
        return self._result(attach_parsed(message, kwargs.get("response_format")))

    @staticmethod
    def _result(message: AIMessage) -> ChatResult:
        meta = message.response_metadata
        info = {"finish_reason": meta.get("finish_reason")} if meta.get("finish_reason") else None
        return ChatResult(
            generations=[ChatGeneration(message=message, generation_info=info)],
            llm_output={"model_name": meta.get("model_name"), "request_id": meta.get("request_id")},
        )

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        if self._is_durable(kwargs):  # only reached when called directly
            message = self._durable_message(messages, stop, run_manager, kwargs)
            yield ChatGenerationChunk(message=_as_chunk(message))
            return
        stream_usage = bool(kwargs.get("stream_usage", self.stream_usage))
        request = self._request(messages, stop, kwargs)
        converter = StreamConverter(request.model_id, stream_usage=stream_usage)
        parser = StreamParser(kwargs.get("response_format"))
        try:
            for event in self.quant_client.stream_chat(request):
                custom = stream_event_data(event, converter.request_id)
                if custom is not None:
                    _emit(run_manager or self._stream_manager(kwargs), *custom)
                for chunk in converter.feed(event):
                    generation = ChatGenerationChunk(message=parser.feed(chunk))
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=generation)
                    yield generation
        except QuantError as exc:
            _raise(exc)

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self._is_durable(kwargs):  # only reached when called directly
            message = await self._adurable_message(messages, stop, run_manager, kwargs)
            yield ChatGenerationChunk(message=_as_chunk(message))
            return
        stream_usage = bool(kwargs.get("stream_usage", self.stream_usage))
        request = self._request(messages, stop, kwargs)
        converter = StreamConverter(request.model_id, stream_usage=stream_usage)
        parser = StreamParser(kwargs.get("response_format"))
        try:
            async for event in self.quant_client.astream_chat(request):
                custom = stream_event_data(event, converter.request_id)
                if custom is not None:
                    await _aemit(run_manager or self._astream_manager(kwargs), *custom)
                for chunk in converter.feed(event):
                    generation = ChatGenerationChunk(message=parser.feed(chunk))
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=generation)
                    yield generation
        except QuantError as exc:
            _raise(exc)

    # ------------------------------------------------------------------ stream callbacks

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
                input, {**run_config, "run_id": run_id}, stop=stop, **{**kwargs, _STREAM_RUN: key}
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
                input, {**run_config, "run_id": run_id}, stop=stop, **{**kwargs, _STREAM_RUN: key}
            ):
                yield chunk
        finally:
            self._stream_runs.pop(key, None)

    def _stream_configure(self, kwargs: Mapping[str, Any]) -> tuple[str, RunnableConfig] | None:
        key = kwargs.get(_STREAM_RUN)
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

    # ------------------------------------------------------------------ durable

    def _should_stream(
        self,
        *,
        async_api: bool,
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> bool:
        """Durable calls never stream (``stream()`` yields the final message as one chunk).

        ``stream()`` then falls back to ``invoke()``, so the status events keep their run.
        """
        if self._is_durable(kwargs):
            return False
        return super()._should_stream(async_api=async_api, run_manager=run_manager, **kwargs)

    def _is_durable(self, kwargs: Mapping[str, Any]) -> bool:
        if kwargs.get(_RESUME):
            return True
        durable = kwargs.get("durable")
        return self.durable if durable is None else bool(durable)

    def _poll_settings(self, kwargs: Mapping[str, Any]) -> dict[str, float]:
        return {
            "initial_delay": float(kwargs.get("durable_poll_initial") or self.durable_poll_initial),
            "max_delay": float(kwargs.get("durable_poll_max") or self.durable_poll_max),
            "timeout": float(kwargs.get("durable_timeout") or self.durable_timeout),
        }

    def _durable_message(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: CallbackManagerForLLMRun | None,
        kwargs: Mapping[str, Any],
    ) -> AIMessage:
        """Start (or resume) a durable execution, wait for it, run local tools, convert."""
        callbacks = _child_manager(run_manager) if run_manager else None
        client = self.quant_client
        resume = kwargs.get(_RESUME)
        session_id: str | None = None
        try:
            if resume:
                request_id, model = str(resume), str(kwargs.get("model") or self.model)
            else:
                request = self._request(messages, stop, kwargs)
                accepted = client.start_chat(request)
                request_id, model = accepted.request_id, request.model_id
                session_id = accepted.session_id
            run = SyncDurableRun(request_id, self._local_tools, callbacks)
            if not resume and callbacks is not None:
                run.last = ("queued", None)
                dispatch_custom_event(
                    EXECUTION_STATUS_EVENT,
                    _queued(request_id, session_id),
                    config=RunnableConfig(callbacks=callbacks),
                )
            status = client.wait_for_execution(
                request_id,
                tool_handler=run.handler,
                on_status=run.on_status,
                **self._poll_settings(kwargs),
            )
        except QuantError as exc:
            _raise(exc)
            raise  # pragma: no cover
        return execution_to_message(
            status,
            request_id=request_id,
            model=model,
            session_id=session_id,
            local_calls=run.local_calls,
        )

    async def _adurable_message(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None,
        run_manager: AsyncCallbackManagerForLLMRun | None,
        kwargs: Mapping[str, Any],
    ) -> AIMessage:
        """Async twin of :meth:`_durable_message`."""
        callbacks = _achild_manager(run_manager) if run_manager else None
        client = self.quant_client
        resume = kwargs.get(_RESUME)
        session_id: str | None = None
        try:
            if resume:
                request_id, model = str(resume), str(kwargs.get("model") or self.model)
            else:
                request = self._request(messages, stop, kwargs)
                accepted = await client.astart_chat(request)
                request_id, model = accepted.request_id, request.model_id
                session_id = accepted.session_id
            run = AsyncDurableRun(request_id, self._local_tools, callbacks)
            if not resume and callbacks is not None:
                run.last = ("queued", None)
                await adispatch_custom_event(
                    EXECUTION_STATUS_EVENT,
                    _queued(request_id, session_id),
                    config=RunnableConfig(callbacks=callbacks),
                )
            status = await client.await_for_execution(
                request_id,
                tool_handler=run.handler,
                on_status=run.on_status,
                **self._poll_settings(kwargs),
            )
        except QuantError as exc:
            _raise(exc)
            raise  # pragma: no cover
        return execution_to_message(
            status,
            request_id=request_id,
            model=model,
            session_id=session_id,
            local_calls=run.local_calls,
        )

    def _with_tools(
        self,
        tools: Sequence[ToolLike] | None,
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        auto_execute: bool | None = None,
        allowed_tools: Sequence[str] | None = None,
    ) -> ChatQuant:
        """A copy of this model that carries tools: wire kwargs and the local registry."""
        if tools is None:
            return self
        wire, server = convert_tools(tools, strict=strict)
        allowed = list(dict.fromkeys([*(allowed_tools or []), *server]))
        if server and auto_execute is None:
            auto_execute = True
        if isinstance(tool_choice, str) and tool_choice not in ("auto", "none", "any", "required"):
            plan_tool_choice(wire, tool_choice, history_has_tools=False)  # validates the name
        bound: dict[str, Any] = {"tools": wire}
        if tool_choice is not None:
            bound["tool_choice"] = tool_choice
        if auto_execute is not None:
            bound["auto_execute"] = auto_execute
        if allowed:
            bound["allowed_tools"] = allowed
        copy = self.model_copy()
        if self.client is None:
            copy._quant_client = self.quant_client  # share one connection pool
        copy._local_tools = local_tool_registry(tools, wire)
        copy._tool_kwargs = bound
        return copy

    @property
    def local_tools(self) -> dict[str, BaseTool]:
        """Tools bound with ``bind_tools`` that run locally during durable executions."""
        return dict(self._local_tools)

    def start_execution(
        self,
        messages: LanguageModelInput,
        *,
        tools: Sequence[ToolLike] | None = None,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> DurableExecution:
        """Start a durable execution and return its handle without waiting.

        Store ``handle.request_id`` and resume later (in this or another process) with
        ``resume_execution(request_id, tools=[...])``.

        Args:
            messages: The conversation (anything ``invoke`` accepts).
            tools: Tools as for ``bind_tools`` (default: the tools bound to this model).
            stop: Stop sequences.
            **kwargs: ``tool_choice``, ``auto_execute``, ``allowed_tools`` (with ``tools``),
                and per-call fields (``temperature``...).

        Returns:
            The handle (``request_id``, ``session_id``, ``model``); ``handle.resume()`` waits
            with this model and its tools.
        """
        target, call = self._execution_target(tools, kwargs)
        request = target._request(target._convert_input(messages).to_messages(), stop, call)
        try:
            accepted = target.quant_client.start_chat(request)
        except QuantError as exc:
            _raise(exc)
            raise  # pragma: no cover
        return DurableExecution(
            accepted.request_id, accepted.session_id, request.model_id, accepted.poll_url, target
        )

    async def astart_execution(
        self,
        messages: LanguageModelInput,
        *,
        tools: Sequence[ToolLike] | None = None,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> DurableExecution:
        """Async twin of :meth:`start_execution`."""
        target, call = self._execution_target(tools, kwargs)
        request = target._request(target._convert_input(messages).to_messages(), stop, call)
        try:
            accepted = await target.quant_client.astart_chat(request)
        except QuantError as exc:
            _raise(exc)
            raise  # pragma: no cover
        return DurableExecution(
            accepted.request_id, accepted.session_id, request.model_id, accepted.poll_url, target
        )

    def _execution_target(
        self, tools: Sequence[ToolLike] | None, kwargs: Mapping[str, Any]
    ) -> tuple[ChatQuant, dict[str, Any]]:
        call = dict(kwargs)
        tool_args = {
            k: call.pop(k) for k in ("tool_choice", "auto_execute", "allowed_tools") if k in call
        }
        target = self._with_tools(tools, **tool_args) if tools is not None else self
        return target, {**target._tool_kwargs, **call}

    def resume_execution(
        self,
        request_id: str,
        *,
        tools: Sequence[BaseTool | Callable[..., Any]] | None = None,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Wait for a durable execution by id, answering its client tools; return the answer.

        Works from a new ``ChatQuant`` in another process: only the id is needed. It runs as
        a normal chat-model call (callbacks, ``quant_execution_status`` custom events,
        tracing), with no input messages.

        Args:
            request_id: The id from ``start_execution`` (``handle.request_id``).
            tools: Local tools to answer ``waiting_callback`` with (default: the tools bound
                to this model).
            config: A ``RunnableConfig`` (callbacks, tags...).
            **kwargs: ``durable_poll_initial``, ``durable_poll_max``, ``durable_timeout``.

        Returns:
            The final ``AIMessage`` (usage, ``response_metadata["request_id"]``,
            ``["tool_executions"]``, ``["local_tool_calls"]``).

        Raises:
            QuantModelExecutionFailedError: The execution failed.
            QuantModelExecutionTimeoutError: It did not finish within ``durable_timeout``.
            QuantLocalToolMissingError: It waits for a tool that is not available locally.
        """
        target = self._with_tools(tools) if tools is not None else self
        return target.invoke([], config, **{_RESUME: request_id, **kwargs})

    async def aresume_execution(
        self,
        request_id: str,
        *,
        tools: Sequence[BaseTool | Callable[..., Any]] | None = None,
        config: RunnableConfig | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        """Async twin of :meth:`resume_execution` (async tools run concurrently)."""
        target = self._with_tools(tools) if tools is not None else self
        return await target.ainvoke([], config, **{_RESUME: request_id, **kwargs})

    # ------------------------------------------------------------------ tools

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool | str],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        strict: bool | None = None,
        auto_execute: bool | None = None,
        allowed_tools: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Bind tools to the model.

        Args:
            tools: Python functions, ``BaseTool``s, pydantic classes, JSON-schema or OpenAI
                tool dicts, wire dicts (``{"toolSpec": ...}``), and names (str) of tools the
                service runs itself (``get_weather``, ``calculate``, ``search_web``,
                ``generate_image`` or an org custom tool).
            tool_choice: ``"auto"``, ``"none"``, ``"any"``/``"required"``/``True`` or a tool
                name. The API has no toolChoice: see the class docstring for how each is
                carried out.
            strict: Passed to ``convert_to_openai_tool`` (no wire effect: the API has no
                strict mode).
            auto_execute: Let the service run the allowed tools (``toolConfig.autoExecute``).
                Defaults to True when server-side tool names are bound.
            allowed_tools: Tools the service may run (``toolConfig.allowedTools``); server-side
                tool names are always added.
            **kwargs: Other arguments bound to the model (wire fields).

        Returns:
            A runnable that calls the model with the tools.

        Raises:
            ValueError: If ``tool_choice`` names a tool that is not bound.
        """
        target = self._with_tools(
            tools,
            tool_choice=tool_choice,
            strict=strict,
            auto_execute=auto_execute,
            allowed_tools=allowed_tools,
        )
        return target.bind(**{**target._tool_kwargs, **kwargs})

    def with_structured_output(
        self,
        schema: dict[str, Any] | type | None = None,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] | None = None,
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Return a runnable whose output follows ``schema``.

        Args:
            schema: A pydantic class, TypedDict, JSON schema or OpenAI tool dict (optional for
                ``json_mode``).
            method: ``"json_schema"`` (native ``responseFormat`` with the schema),
                ``"function_calling"`` (the schema as a forced tool) or ``"json_mode"``
                (``responseFormat`` JSON; say in the prompt what to return; a schema, when
                given, is sent as well). Default (None): as the model's profile says,
                ``"json_schema"`` for models with native structured output,
                ``"function_calling"`` for the others (Nova Micro, unknown ids).
            include_raw: Return ``{"raw", "parsed", "parsing_error"}`` instead of raising.
            strict: Accepted for compatibility; the API has no strict mode.
            **kwargs: Unused; an error if given.

        Returns:
            A runnable returning a pydantic instance or a dict.

        Raises:
            ValueError: For a bad method, a missing schema or unexpected kwargs.
            OutputParserException: At run time, when the reply does not parse (unless
                ``include_raw``).
        """
        if kwargs:
            raise ValueError(f"Received unsupported arguments {sorted(kwargs)}")
        method = method or cast(Any, default_method(self.profile))
        is_pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        if method == "function_calling":
            if schema is None:
                raise ValueError("schema is required for method='function_calling'")
            tool_name = convert_to_openai_tool(schema)["function"]["name"]
            llm = self.bind_tools(
                [schema],
                tool_choice=tool_name,
                strict=strict,
                ls_structured_output_format={
                    "kwargs": {"method": method, "strict": strict},
                    "schema": convert_to_openai_tool(schema),
                },
            )
            tools_parser: OutputParserLike[Any] = (
                PydanticToolsParser(tools=[cast(type, schema)], first_tool_only=True)
                if is_pydantic
                else JsonOutputKeyToolsParser(key_name=tool_name, first_tool_only=True)
            )
            parser: Runnable[Any, Any] = tools_parser | RunnableLambda(_require_parsed)
        elif method in ("json_schema", "json_mode"):
            if method == "json_schema" and schema is None:
                raise ValueError("schema is required for method='json_schema'")
            response_format: dict[str, Any] = {"type": "json"}
            if schema is not None:
                # json_mode with a schema sends it too: the API has one JSON mode and the
                # schema only makes the reply more reliable.
                response_format["jsonSchema"] = convert_to_json_schema(cast(Any, schema))
            llm = self.bind(
                response_format=response_format,
                ls_structured_output_format={
                    "kwargs": {"method": method, "strict": strict},
                    "schema": (
                        convert_to_json_schema(cast(Any, schema)) if schema is not None else None
                    ),
                },
            )
            parser = (
                PydanticOutputParser(pydantic_object=cast(type[BaseModel], schema))
                if is_pydantic
                else JsonOutputParser()
            )
        else:
            raise ValueError(
                f"method must be 'json_schema', 'function_calling' or 'json_mode', not {method!r}"
            )
        if not include_raw:
            return llm | parser
        parser_assign = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | parser, parsing_error=lambda _: None
        )
        parser_none = RunnablePassthrough.assign(parsed=lambda _: None)
        with_fallback = parser_assign.with_fallbacks([parser_none], exception_key="parsing_error")
        return RunnableMap(raw=llm) | with_fallback


def _child_manager(run_manager: CallbackManagerForLLMRun) -> CallbackManager:
    """Callbacks of work done inside a chat-model run (custom events, local tools).

    LLM run managers have no ``get_child``; this builds the same manager (inheritable
    handlers, tags and metadata, parent = the model's run).
    """
    manager = CallbackManager(handlers=[], parent_run_id=run_manager.run_id)
    manager.set_handlers(run_manager.inheritable_handlers)
    manager.add_tags(run_manager.inheritable_tags)
    manager.add_metadata(run_manager.inheritable_metadata)
    return manager


def _achild_manager(run_manager: AsyncCallbackManagerForLLMRun) -> AsyncCallbackManager:
    """Async twin of :func:`_child_manager`."""
    manager = AsyncCallbackManager(handlers=[], parent_run_id=run_manager.run_id)
    manager.set_handlers(run_manager.inheritable_handlers)
    manager.add_tags(run_manager.inheritable_tags)
    manager.add_metadata(run_manager.inheritable_metadata)
    return manager


def _emit(
    target: CallbackManagerForLLMRun | CallbackManager | None, name: str, data: dict[str, Any]
) -> None:
    """Dispatch a custom event on the model's run (nothing when there is no run)."""
    if isinstance(target, CallbackManagerForLLMRun):
        dispatch_custom_event(name, data, config=_child_config(target))
    elif target is not None:
        dispatch_custom_event(name, data, config=RunnableConfig(callbacks=target))


async def _aemit(
    target: AsyncCallbackManagerForLLMRun | AsyncCallbackManager | None,
    name: str,
    data: dict[str, Any],
) -> None:
    """Async twin of :func:`_emit`."""
    if isinstance(target, AsyncCallbackManagerForLLMRun):
        await adispatch_custom_event(name, data, config=_child_config(target))
    elif target is not None:
        await adispatch_custom_event(name, data, config=RunnableConfig(callbacks=target))


def _child_config(
    run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun,
) -> RunnableConfig:
    if isinstance(run_manager, AsyncCallbackManagerForLLMRun):
        return RunnableConfig(callbacks=_achild_manager(run_manager))
    return RunnableConfig(callbacks=_child_manager(run_manager))


def _queued(request_id: str, session_id: str | None) -> dict[str, Any]:
    return {
        "request_id": request_id,
        "session_id": session_id,
        "status": "queued",
        "callback_id": None,
        "pending_tools": [],
        "pending_tool_calls": [],
    }


def _as_chunk(message: AIMessage) -> AIMessageChunk:
    """The final message of a durable call as the one (last) chunk of a stream."""
    return AIMessageChunk(
        content=message.content,
        usage_metadata=message.usage_metadata,
        response_metadata=message.response_metadata,
        chunk_position="last",
    )


def _require_parsed(value: Any) -> Any:
    """Refuse a missing tool call instead of returning None silently."""
    if value is None:
        raise OutputParserException(
            "The model did not call the structured-output tool; no output to parse."
        )
    return value
