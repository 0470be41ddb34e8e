"""``ChatQuant``: LangChain chat model over the Quant AI inference API."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from operator import itemgetter
from typing import Any, ClassVar, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models import BaseChatModel, LangSmithParams, LanguageModelInput
from langchain_core.language_models.model_profile import ModelProfile
from langchain_core.messages import AIMessage, BaseMessage
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
)
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from langchain_quant._callbacks import STREAM_RUN, StreamRunsMixin, aemit, emit
from langchain_quant._client import QuantConnection
from langchain_quant._convert import (
    PROVIDER,
    StreamConverter,
    convert_messages,
    convert_tools,
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
    DurableChatMixin,
    ToolLike,
    as_chunk,
    local_tool_registry,
    stream_event_data,
)
from langchain_quant.errors import langchain_errors
from quant_ai import (
    DURABLE_KWARGS,
    ChatRequest,
    Tool,
    build_chat_request,
    plan_tool_choice,
    request_fields,
)
from quant_ai.types import DEFAULT_CHAT_MODEL

__all__ = ["ChatQuant"]

_DURABLE_KEYS = (STREAM_RUN, *DURABLE_KWARGS)
_CALL_FIELDS = (
    "temperature",
    "max_tokens",
    "top_p",
    "response_format",
    "guardrails",
    "long_context",
    "session_id",
)


class ChatQuant(TokenEstimates, DurableChatMixin, StreamRunsMixin, QuantConnection, BaseChatModel):
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
        model_kwargs (dict): Any other wire field, sent as given (camelCase). An unknown init
            argument that is a chat request field lands here; any other is refused.

    Key init args — client params:
        api_key (SecretStr | None): Key; default ``QUANT_API_KEY``. Not needed to construct.
        organization (str | None): Organisation machine name; default ``QUANT_ORGANIZATION``.
        base_url (str | None): Service root; default ``QUANT_BASE_URL`` or the public cloud.
        timeout (float | httpx.Timeout | None): Request timeout (core default: 10 s connect,
            120 s read).
        max_retries (int): Retries of 408/409/429/5xx and connection errors (0 disables).
        connect_timeout, default_headers, allow_insecure_http: As on ``QuantClient``.
        http_client / async_http_client: Your own ``httpx`` clients (proxies, TLS...).
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
    _wire_extras_into: ClassVar[str | None] = "model_kwargs"
    """Unknown init arguments that are chat wire fields land here (others are refused)."""

    _local_tools: dict[str, BaseTool] = PrivateAttr(default_factory=dict)
    _tool_kwargs: dict[str, Any] = PrivateAttr(default_factory=dict)
    _stream_runs: dict[str, RunnableConfig] = PrivateAttr(default_factory=dict)

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
        """Build the core request of one call (pure apart from reading fields)."""
        call = dict(kwargs)
        for key in ("ls_structured_output_format", "stream", "stream_usage", *_DURABLE_KEYS):
            call.pop(key, None)
        model = call.pop("model", None) or call.pop("model_id", None) or self.model
        tools = [Tool.model_validate(t) for t in call.pop("tools", None) or []]
        fields: dict[str, Any] = {name: getattr(self, name) for name in _CALL_FIELDS}
        fields.update({k: call.pop(k) for k in _CALL_FIELDS if k in call})
        stop_sequences = stop if stop is not None else call.pop("stop", None) or self.stop
        system, wire = convert_messages(messages)
        tool_choice = call.pop("tool_choice", None)
        parallel = call.pop("parallel_tool_calls", None) is not False
        auto_execute = call.pop("auto_execute", None)
        executable = call.pop("allowed_tools", None)
        extra = {**request_fields(self.model_kwargs), **request_fields(call)}
        response_format = pick_response_format(fields.pop("response_format"), extra)
        return build_chat_request(
            wire,
            system_prompt=system,
            tools=tools,
            tool_choice=tool_choice,
            parallel_tool_calls=parallel,
            auto_execute=auto_execute,
            executable_tools=executable,
            **{
                **extra,
                **{k: v for k, v in fields.items() if v is not None},
                "response_format": response_format,
                "model_id": model,
                "stop_sequences": list(stop_sequences) if stop_sequences else None,
            },
        )

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
        with langchain_errors():
            response = self.quant_client.chat(request)
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
        with langchain_errors():
            response = await self.quant_client.achat(request)
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
            yield ChatGenerationChunk(message=as_chunk(message))
            return
        stream_usage = bool(kwargs.get("stream_usage", self.stream_usage))
        request = self._request(messages, stop, kwargs)
        converter = StreamConverter(request.model_id, stream_usage=stream_usage)
        parser = StreamParser(kwargs.get("response_format"))
        with langchain_errors():
            for event in self.quant_client.stream_chat(request):
                custom = stream_event_data(event, converter.request_id)
                if custom is not None:
                    emit(run_manager or self._stream_manager(kwargs), *custom)
                for chunk in converter.feed(event):
                    generation = ChatGenerationChunk(message=parser.feed(chunk))
                    if run_manager:
                        run_manager.on_llm_new_token(chunk.text, chunk=generation)
                    yield generation

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        if self._is_durable(kwargs):  # only reached when called directly
            message = await self._adurable_message(messages, stop, run_manager, kwargs)
            yield ChatGenerationChunk(message=as_chunk(message))
            return
        stream_usage = bool(kwargs.get("stream_usage", self.stream_usage))
        request = self._request(messages, stop, kwargs)
        converter = StreamConverter(request.model_id, stream_usage=stream_usage)
        parser = StreamParser(kwargs.get("response_format"))
        with langchain_errors():
            async for event in self.quant_client.astream_chat(request):
                custom = stream_event_data(event, converter.request_id)
                if custom is not None:
                    await aemit(run_manager or self._astream_manager(kwargs), *custom)
                for chunk in converter.feed(event):
                    generation = ChatGenerationChunk(message=parser.feed(chunk))
                    if run_manager:
                        await run_manager.on_llm_new_token(chunk.text, chunk=generation)
                    yield generation

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
        plan_tool_choice([t["toolSpec"]["name"] for t in wire], tool_choice)  # validates it
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
            **kwargs: Other arguments bound to the model (wire fields);
                ``parallel_tool_calls=False`` tells the model to call one tool at a time.

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


def _require_parsed(value: Any) -> Any:
    """Refuse a missing tool call instead of returning None silently."""
    if value is None:
        raise OutputParserException(
            "The model did not call the structured-output tool; no output to parse."
        )
    return value
