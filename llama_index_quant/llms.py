"""``QuantLLM``: Quant AI chat (Claude and Amazon Nova on Bedrock) as a LlamaIndex LLM."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, Literal, cast

import httpx
import llama_index.core.instrumentation as instrument
import pydantic
from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    LLMMetadata,
    MessageRole,
    ToolCallBlock,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr, field_validator
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.instrumentation.span import active_span_id
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json
from llama_index.core.program.utils import FlexibleModel, create_flexible_model
from llama_index.core.types import Model, PydanticProgramMode

from quant_ai import (
    ChatAccepted,
    ChatRequest,
    ExecutionStatus,
    ModelInfo,
    QuantClient,
    QuantError,
    QuantValidationError,
    StreamEvent,
    extract_json_text,
    parse_structured,
    structured_output_method,
    to_response_format,
)
from quant_ai.types import DEFAULT_CHAT_MODEL

from ._client import QuantClientMixin
from ._convert import StreamState as _StreamState
from ._convert import (
    ToolChoice,
    build_chat_request,
    chat_response_from_quant,
    force_single_tool_call,
    resolve_tool_choice,
    tool_calls_from_response,
    tools_to_quant,
)
from ._structured import astream_by_tool, stream_by_tool
from .durable import (
    DurableExecution,
    DurableRun,
    ToolLike,
    as_tools,
    chat_response_from_execution,
    queued_event,
    server_tool_event,
)

if TYPE_CHECKING:
    from llama_index.core.prompts import BasePromptTemplate, PromptTemplate
    from llama_index.core.tools.types import BaseTool

__all__ = ["DEFAULT_CONTEXT_WINDOW", "DEFAULT_MAX_TOKENS", "QuantLLM"]

# The core re-exports get_dispatcher without __all__, hence the ignore.
dispatcher = instrument.get_dispatcher(__name__)  # type: ignore[attr-defined]

DEFAULT_MAX_TOKENS = 4096
"""The service's own default output budget (512, as some integrations use, truncates)."""
DEFAULT_CONTEXT_WINDOW = 128_000
"""Used for model ids this package does not know (and when the models endpoint is not used)."""

_KNOWN_CONTEXT = (
    ("amazon.nova-micro", 128_000),
    ("amazon.nova-lite", 300_000),
    ("amazon.nova-pro", 300_000),
    ("amazon.nova-premier", 1_000_000),
    ("amazon.nova-2", 1_000_000),
    ("anthropic.claude", 200_000),
)
_REGION_PREFIXES = ("us.", "eu.", "apac.", "au.", "jp.", "global.", "us-gov.")


def context_window_for(model: str) -> int:
    """A known context window for a model id, else :data:`DEFAULT_CONTEXT_WINDOW`.

    Never raises: unknown and future ids get the default.
    """
    name = model
    for prefix in _REGION_PREFIXES:
        if name.startswith(prefix):
            name = name[len(prefix) :]
            break
    for prefix, size in _KNOWN_CONTEXT:
        if name.startswith(prefix):
            return size
    return DEFAULT_CONTEXT_WINDOW


def _pt(prompt: BasePromptTemplate) -> PromptTemplate:
    """The base class annotates ``PromptTemplate`` but takes any prompt template."""
    return cast("PromptTemplate", prompt)


_REQUEST_ALIASES = {"stop": "stop_sequences", "model": "model_id"}
_PRIVATE_KWARGS = ("quant_tools", "quant_tool_instruction")
_RESUME = "quant_resume_request_id"
"""Call kwarg (internal) that makes a call resume an execution instead of starting one."""
_DURABLE_KEYS = ("durable", "durable_poll_initial", "durable_poll_max", "durable_timeout", _RESUME)


def _emit_server_event(event: StreamEvent, request_id: str | None, span_id: str | None) -> None:
    """Dispatch the instrumentation event of a server-tool stream event, if it is one."""
    found = server_tool_event(event, request_id, span_id)
    if found is not None:
        dispatcher.event(found)


def _one_chunk(response: ChatResponse) -> ChatResponse:
    """The final response of a durable call as the single chunk of a stream."""
    return ChatResponse(
        message=response.message,
        delta=response.message.content or "",
        raw=response.raw,
        additional_kwargs=response.additional_kwargs,
    )


def _as_messages(messages: str | ChatMessage | Sequence[ChatMessage]) -> list[ChatMessage]:
    if isinstance(messages, str):
        return [ChatMessage(role=MessageRole.USER, content=messages)]
    if isinstance(messages, ChatMessage):
        return [messages]
    return list(messages)


class QuantLLM(QuantClientMixin, FunctionCallingLLM):
    """Quant AI chat models (Amazon Nova, Anthropic Claude on Bedrock) for LlamaIndex.

    A thin adapter over :class:`quant_ai.QuantClient`: every entry point (``chat``,
    ``stream_chat``, ``complete``, ``stream_complete`` and their async twins) converts
    LlamaIndex messages with pure functions, calls the shared core and converts back.

    Setup:
        Install the extra and set the connection variables:

        ```bash
        pip install "quant-ai[llama-index]"
        export QUANT_API_KEY="qc_..."
        export QUANT_ORGANIZATION="your-org"      # organisation machine name
        # export QUANT_BASE_URL="http://127.0.0.1:8787"  # e.g. the local emulator
        ```

    Key init args — completion params:
        model: Model id (default ``amazon.nova-lite-v1:0``).
        temperature: Sampling temperature (0 to 2).
        max_tokens: Output budget (default 4096, the service's own default).
        top_p, stop, response_format, guardrails, long_context, session_id: Wire fields.
        auto_execute, allowed_tools: Server-side tools (see below).
        durable, durable_poll_initial, durable_poll_max, durable_timeout: Durable
            executions (see below).

    Key init args — client params:
        api_key: ``SecretStr``; default ``QUANT_API_KEY`` (never serialized or logged).
        organization: Default ``QUANT_ORGANIZATION``.
        base_url: Default ``QUANT_BASE_URL`` or the public cloud.
        timeout, max_retries: Per request; retries honour ``Retry-After``.
        client / http_client / async_http_client: Share a ``QuantClient`` or inject httpx
            clients.

        Construction does no I/O; the client is created on first use, so the object pickles
        before and after use (the key travels with the pickle so that worker processes work,
        but never with ``to_dict``/``to_json`` or instrumentation payloads).

    Instantiate:
        ```python
        from llama_index_quant import QuantLLM

        llm = QuantLLM(model="amazon.nova-lite-v1:0", temperature=0.2)
        ```

    Invoke:
        ```python
        from llama_index.core.llms import ChatMessage

        llm.complete("Name a Canberra landmark.").text
        response = llm.chat([ChatMessage(role="user", content="Hi")])
        response.message.content
        ```

    Stream:
        ```python
        for chunk in llm.stream_chat([ChatMessage(role="user", content="Hi")]):
            print(chunk.delta, end="")
        ```

        Each chunk holds the whole message so far; ``delta`` is the new text. The last chunk
        carries the usage and the finish reason.

    Async:
        ```python
        await llm.achat(messages)
        async for chunk in await llm.astream_chat(messages):
            ...
        ```

    Tool calling:
        ```python
        from llama_index.core.agent.workflow import FunctionAgent


        def multiply(a: int, b: int) -> int:
            '''Multiply two integers.'''
            return a * b


        agent = FunctionAgent(tools=[multiply], llm=llm)
        answer = await agent.run("multiply 6 by 7")
        ```

        ``chat_with_tools`` / ``predict_and_call`` work as usual; tool calls are
        ``ToolCallBlock``s. The native API has no ``toolChoice``: ``tool_required`` and a named
        ``tool_choice`` are expressed as an instruction (see ``_prepare_chat_with_tools``).

    Structured output:
        ```python
        from pydantic import BaseModel
        from llama_index.core.prompts import PromptTemplate


        class Pet(BaseModel):
            name: str
            age: int


        llm.structured_predict(Pet, PromptTemplate("Invent a pet called {name}."), name="Rex")
        llm.as_structured_llm(Pet).chat(messages).raw  # a Pet
        ```

        Uses the native ``responseFormat`` JSON schema for models with native structured
        output and a forced tool call for the others (the core catalogue decides:
        ``quant_ai.structured_output_method``); ``structured_output_method=...`` overrides.
        ``FunctionAgent(..., output_cls=Model)`` goes through ``as_structured_llm``.

    Token usage:
        ```python
        response.additional_kwargs
        # {'prompt_tokens': 12, 'completion_tokens': 8, 'total_tokens': 20, 'cost_cents': ...,
        #  'finish_reason': 'stop', 'request_id': 'req-...', 'model': 'amazon.nova-lite-v1:0'}
        ```

        The same OpenAI-style counts are in ``raw["usage"]``, so ``TokenCountingHandler``
        counts the service's numbers.

    Server-side tools:
        ```python
        llm = QuantLLM(auto_execute=True, allowed_tools=["get_weather"])
        response = llm.chat([ChatMessage(role="user", content="Weather in Paris?")])
        response.additional_kwargs["server_tool_calls"]
        # [{'toolUseId': '...', 'name': 'get_weather', 'input': {'location': 'Paris'},
        #   'status': 'complete', 'result': {...}}]
        ```

        The service runs the allowed built-in (``get_weather``, ``calculate``,
        ``search_web``, ``generate_image``) or org custom tools itself. Executed calls are
        listed under ``server_tool_calls`` in ``additional_kwargs`` and ``raw``, never as
        ``ToolCallBlock``s (an agent must not run them again); client tools given to
        ``chat_with_tools`` next to them still come back as ``ToolCallBlock``s. While
        streaming, the ``tool_start``, ``tool_complete``, ``tool_input_progress`` and
        ``orchestration_status`` stream events are dispatched as the instrumentation events
        ``QuantServerToolStartEvent``, ``QuantServerToolCompleteEvent``,
        ``QuantToolInputProgressEvent`` and ``QuantOrchestrationStatusEvent``
        (:mod:`llama_index_quant.events`).

    Durable executions:
        ```python
        llm = QuantLLM(durable=True)  # or per call: chat_with_tools(..., durable=True)
        response = llm.chat_with_tools([lookup_stock, find_museum], user_msg="...")
        response.additional_kwargs["local_tool_calls"]  # the tools that ran locally

        handle = llm.start_execution("...", tools=[lookup_stock])
        handle.request_id  # store it; later, in any process:
        QuantLLM().resume_execution(handle.request_id, tools=[lookup_stock])
        ```

        ``durable=True`` sends ``async: true`` and polls ``chat/executions/{id}`` with
        backoff (``durable_poll_initial`` doubling to ``durable_poll_max``; after
        ``durable_timeout`` it raises ``QuantExecutionTimeoutError`` and the execution can be
        resumed). When the execution waits for client tools (``waiting_callback``), the tools
        given to the call (``FunctionTool``s and other ``BaseTool``s, tool specs, plain
        functions) run locally and their results answer the ``callbackId`` once; a tool
        that raises is reported to the model as an error, like ``FunctionAgent`` does. A tool
        that is not available locally raises ``QuantLocalToolMissingError`` naming it
        (nothing is submitted); a failed execution raises ``QuantExecutionFailedError`` with
        the service's error type and message. Every status change is a
        ``QuantExecutionStatusEvent`` and every local tool run a ``QuantLocalToolCallEvent``
        (and a ``FUNCTION_CALL`` callback event). The answer is a normal ``ChatResponse``
        with usage, ``request_id``, ``server_tool_calls`` and ``local_tool_calls``; a durable
        stream yields it as one chunk, so a ``FunctionAgent`` with a durable ``QuantLLM``
        lets the service drive the tool loop. Async: ``achat``, ``astart_execution``,
        ``aresume_execution`` (the tools of one callback run concurrently).
    """

    model: str = Field(default=DEFAULT_CHAT_MODEL, description="Quant AI model id.")
    temperature: float | None = Field(
        default=None, ge=0.0, le=2.0, description="Sampling temperature (service default 0.7)."
    )
    max_tokens: int = Field(
        default=DEFAULT_MAX_TOKENS, ge=1, le=65536, description="Maximum tokens to generate."
    )
    top_p: float | None = Field(default=None, ge=0.0, le=1.0, description="Nucleus sampling.")
    stop: list[str] | None = Field(default=None, description="Up to 4 stop sequences.")
    response_format: dict[str, Any] | None = Field(
        default=None,
        description="Native structured output for every call: a JSON schema, a "
        "responseFormat mapping ({'type': 'json', 'jsonSchema': {...}}) or an OpenAI shape "
        "({'type': 'json_schema', 'json_schema': {...}}, {'type': 'json_object'}).",
    )
    guardrails: dict[str, Any] | None = Field(
        default=None,
        description="Bedrock guardrails: guardrail_identifier, guardrail_version, trace.",
    )
    long_context: bool | None = Field(default=None, description="Enable long-context mode.")
    session_id: str | None = Field(
        default=None, description="Server-side conversation session (a UUID)."
    )
    auto_execute: bool | None = Field(
        default=None, description="Let the service execute the allowed server-side tools."
    )
    allowed_tools: list[str] | None = Field(
        default=None, description="Tools the service may execute itself (with auto_execute)."
    )
    context_window: int | None = Field(
        default=None, gt=0, description="Override of the model's context window."
    )
    is_function_calling_model: bool | None = Field(
        default=None, description="Override of tool-calling support (default: True)."
    )
    fetch_model_info: bool = Field(
        default=False,
        description="Read the context window, output limit and tool support from the "
        "models endpoint (once, on first metadata use; falls back to defaults on error).",
    )
    structured_output_method: Literal["json_schema", "function_calling"] | None = Field(
        default=None,
        description="structured_predict via the native responseFormat JSON schema, or via "
        "the function-calling program (a forced tool call). Default: as the core model "
        "catalogue says (json_schema for models with native structured output).",
    )
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict, description="Extra ChatRequest fields sent with every call."
    )
    durable: bool = Field(
        default=False,
        description="Run every chat as a durable execution (async: true): poll until it "
        "completes, running the client tools locally when it waits for them. Per call: "
        "chat(..., durable=True).",
    )
    durable_poll_initial: float = Field(
        default=1.0, gt=0, description="First wait between status polls, in seconds."
    )
    durable_poll_max: float = Field(
        default=30.0, gt=0, description="Longest wait between polls (the wait doubles up to it)."
    )
    durable_timeout: float = Field(
        default=900.0,
        gt=0,
        description="Stop waiting after this many seconds (the execution may still finish: "
        "resume it by id).",
    )

    _model_info: ModelInfo | None = PrivateAttr(default=None)
    _model_info_tried: bool = PrivateAttr(default=False)

    def __init__(
        self,
        model: str = DEFAULT_CHAT_MODEL,
        *,
        client: QuantClient | None = None,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the LLM (no I/O).

        Args:
            model: The Quant AI model id.
            client: A shared :class:`~quant_ai.QuantClient` (its settings win over
                ``api_key``/``organization``/``base_url``/``timeout``/``max_retries``).
            http_client: An ``httpx.Client`` for the private core client.
            async_http_client: An ``httpx.AsyncClient`` for the private core client.
            **kwargs: The other fields (``temperature``, ``max_tokens``, ``api_key``...).
        """
        super().__init__(model=model, **kwargs)
        self._init_client(client, http_client, async_http_client)

    @field_validator("session_id")
    @classmethod
    def _session_uuid(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                uuid.UUID(value)
            except ValueError:
                raise ValueError(
                    f"session_id {value!r} is not a UUID (the API requires one)"
                ) from None
        return value

    @field_validator("stop")
    @classmethod
    def _stop_limit(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(value) > 4:
            raise ValueError(f"{len(value)} stop sequences given; the API takes at most 4")
        return value

    @classmethod
    def class_name(cls) -> str:
        """The name used in serialization and instrumentation."""
        return "QuantLLM"

    # ------------------------------------------------------------------ metadata

    def _info(self) -> ModelInfo | None:
        if self.fetch_model_info and not self._model_info_tried:
            self._model_info_tried = True
            try:
                self._model_info = self.client.get_model(self.model)
            except QuantError:
                self._model_info = None
        return self._model_info

    @property
    def metadata(self) -> LLMMetadata:
        """Context window, output budget and tool support; never raises for unknown ids."""
        info = self._info()
        context = self.context_window or (info.context_window if info else None)
        tools = self.is_function_calling_model
        if tools is None and info is not None:
            caps = info.capabilities
            tools = caps.supports_tools if caps.supports_tools is not None else caps.tool_use
        if tools is None:
            tools = True  # Claude and Nova call tools; override for models that cannot
        return LLMMetadata(
            context_window=context or context_window_for(self.model),
            num_output=self.max_tokens,
            is_chat_model=True,
            is_function_calling_model=tools,
            model_name=self.model,
        )

    # ------------------------------------------------------------------ requests

    def _request(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatRequest:
        """Build the wire request from messages, the fields and per-call overrides."""
        kwargs = dict(kwargs)
        tools: list[BaseTool] = list(kwargs.pop("quant_tools", None) or [])
        instruction: str | None = kwargs.pop("quant_tool_instruction", None)
        for key in ("tools", "tool_choice", "tool_required", "allow_parallel_tool_calls"):
            kwargs.pop(key, None)  # consumed by _prepare_chat_with_tools
        for key in _DURABLE_KEYS:
            kwargs.pop(key, None)  # consumed by the durable path
        auto_execute = kwargs.pop("auto_execute", self.auto_execute)
        allowed = kwargs.pop("allowed_tools", self.allowed_tools)
        params: dict[str, Any] = {
            "model_id": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "stop_sequences": self.stop,
            "response_format": to_response_format(self.response_format),
            "guardrails": self.guardrails,
            "long_context": self.long_context,
            "session_id": self.session_id,
            **self.additional_kwargs,
        }
        for key, value in kwargs.items():
            name = _REQUEST_ALIASES.get(key, key)
            if name == "response_format":
                value = to_response_format(value)
            params[name] = value
        try:
            return build_chat_request(
                messages,
                params,
                tool_config=tools_to_quant(tools, auto_execute=auto_execute, allowed_tools=allowed),
                instruction=instruction,
            )
        except pydantic.ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first["loc"])
            raise QuantValidationError(f"{field}: {first['msg']}", field=field) from None

    def _chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        if self._is_durable(kwargs):
            return self._durable_chat(messages, kwargs)
        request = self._request(messages, kwargs)
        return chat_response_from_quant(self.client.chat(request))

    async def _achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        if self._is_durable(kwargs):
            return await self._adurable_chat(messages, kwargs)
        request = self._request(messages, kwargs)
        return chat_response_from_quant(await self.client.achat(request))

    def _stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        if self._is_durable(kwargs):
            final = _one_chunk(self._durable_chat(messages, kwargs))

            def one() -> ChatResponseGen:
                yield final

            return one()
        request = self._request(messages, kwargs)
        events = self.client.stream_chat(request)
        # Start the request now, not on first iteration: bad input, connection errors and
        # error statuses (after retries) raise here, before any token is yielded.
        first = next(events)
        span_id = active_span_id.get()

        def gen() -> ChatResponseGen:
            state = _StreamState()
            for event in itertools.chain((first,), events):
                chunk = state.add(event)
                _emit_server_event(event, state.request_id, span_id)
                if chunk is not None:
                    yield chunk

        return gen()

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        if self._is_durable(kwargs):
            final = _one_chunk(await self._adurable_chat(messages, kwargs))

            async def one() -> ChatResponseAsyncGen:
                yield final

            return one()
        request = self._request(messages, kwargs)
        events = self.client.astream_chat(request)
        first = await events.__anext__()
        span_id = active_span_id.get()

        async def gen() -> ChatResponseAsyncGen:
            state = _StreamState()
            chunk = state.add(first)
            _emit_server_event(first, state.request_id, span_id)
            if chunk is not None:
                yield chunk
            async for event in events:
                chunk = state.add(event)
                _emit_server_event(event, state.request_id, span_id)
                if chunk is not None:
                    yield chunk

        return gen()

    # ------------------------------------------------------------------ durable executions

    def _is_durable(self, kwargs: dict[str, Any]) -> bool:
        if kwargs.get(_RESUME):
            return True
        durable = kwargs.get("durable")
        return self.durable if durable is None else bool(durable)

    def _poll_settings(self, kwargs: dict[str, Any]) -> dict[str, float]:
        return {
            "initial_delay": float(kwargs.get("durable_poll_initial") or self.durable_poll_initial),
            "max_delay": float(kwargs.get("durable_poll_max") or self.durable_poll_max),
            "timeout": float(kwargs.get("durable_timeout") or self.durable_timeout),
        }

    def _durable_run(self, request_id: str, kwargs: dict[str, Any]) -> DurableRun:
        return DurableRun.for_tools(
            request_id,
            kwargs.get("quant_tools") or (),
            span_id=active_span_id.get(),
            callback_manager=self.callback_manager,
        )

    def _durable_response(
        self,
        status: ExecutionStatus,
        run: DurableRun,
        kwargs: dict[str, Any],
        session_id: str | None,
    ) -> ChatResponse:
        return chat_response_from_execution(
            status,
            request_id=run.request_id,
            model=str(kwargs.get("model") or self.model),
            session_id=session_id,
            local_calls=run.local_calls,
        )

    def _durable_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponse:
        """Start (or resume) a durable execution, wait for it answering local tools, convert."""
        request_id = kwargs.get(_RESUME)
        session_id: str | None = None
        if not request_id:
            accepted = self.client.start_chat(self._request(messages, kwargs))
            request_id, session_id = accepted.request_id, accepted.session_id
            dispatcher.event(queued_event(request_id, session_id, active_span_id.get()))
        run = self._durable_run(str(request_id), kwargs)
        status = self.client.wait_for_execution(
            run.request_id,
            tool_handler=run.handler,
            on_status=run.on_status,
            **self._poll_settings(kwargs),
        )
        return self._durable_response(status, run, kwargs, session_id)

    async def _adurable_chat(
        self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]
    ) -> ChatResponse:
        """Async twin of :meth:`_durable_chat` (the tools of one callback run concurrently)."""
        request_id = kwargs.get(_RESUME)
        session_id: str | None = None
        if not request_id:
            accepted = await self.client.astart_chat(self._request(messages, kwargs))
            request_id, session_id = accepted.request_id, accepted.session_id
            dispatcher.event(queued_event(request_id, session_id, active_span_id.get()))
        run = self._durable_run(str(request_id), kwargs)
        status = await self.client.await_for_execution(
            run.request_id,
            tool_handler=run.ahandler,
            on_status=run.on_status,
            **self._poll_settings(kwargs),
        )
        return self._durable_response(status, run, kwargs, session_id)

    def _execution_args(
        self,
        messages: str | ChatMessage | Sequence[ChatMessage],
        tools: Sequence[ToolLike] | None,
        kwargs: dict[str, Any],
    ) -> tuple[ChatRequest, list[BaseTool]]:
        history = _as_messages(messages)
        local = as_tools(tools or ())
        call = dict(kwargs)
        if local:
            call.setdefault("allow_parallel_tool_calls", True)
            call = self._prepare_chat_with_tools(local, chat_history=history, **call)
            history = call.pop("messages")
        return self._request(history, call), local

    @dispatcher.span
    def start_execution(
        self,
        messages: str | ChatMessage | Sequence[ChatMessage],
        *,
        tools: Sequence[ToolLike] | None = None,
        **kwargs: Any,
    ) -> DurableExecution:
        """Start a durable execution and return its handle without waiting.

        Store ``handle.request_id`` and resume later, in this or another process, with
        ``QuantLLM(...).resume_execution(request_id, tools=[...])`` (or ``handle.resume()``).

        Args:
            messages: The conversation (a string is one user message).
            tools: The client tools the execution may ask for (``BaseTool``s, tool specs,
                functions); they are offered as for ``chat_with_tools``.
            **kwargs: ``tool_choice``, ``tool_required``, ``allow_parallel_tool_calls``
                (default True) and per-call request fields (``temperature``...).

        Returns:
            The handle (``request_id``, ``session_id``, ``model``, ``poll_url``).
        """
        request, local = self._execution_args(messages, tools, kwargs)
        accepted = self.client.start_chat(request)
        return self._started(accepted, request, local)

    @dispatcher.span
    async def astart_execution(
        self,
        messages: str | ChatMessage | Sequence[ChatMessage],
        *,
        tools: Sequence[ToolLike] | None = None,
        **kwargs: Any,
    ) -> DurableExecution:
        """Async twin of :meth:`start_execution`."""
        request, local = self._execution_args(messages, tools, kwargs)
        accepted = await self.client.astart_chat(request)
        return self._started(accepted, request, local)

    def _started(
        self, accepted: ChatAccepted, request: ChatRequest, local: Sequence[BaseTool]
    ) -> DurableExecution:
        """Report a started execution (a ``queued`` event) and return its handle."""
        dispatcher.event(
            queued_event(accepted.request_id, accepted.session_id, active_span_id.get())
        )
        return DurableExecution(
            accepted.request_id,
            accepted.session_id,
            request.model_id,
            accepted.poll_url,
            self,
            tuple(local),
        )

    def resume_execution(
        self,
        request_id: str,
        *,
        tools: Sequence[ToolLike] | None = None,
        **kwargs: Any,
    ) -> ChatResponse:
        """Wait for a durable execution by id, answering its client tools; return the answer.

        Works from a new ``QuantLLM`` in another process: only the id is needed. It runs as a
        ``chat`` call with no input messages, so LLM events, token counting and the
        :class:`~llama_index_quant.events.QuantExecutionStatusEvent`s are reported as usual.

        Args:
            request_id: The id from ``start_execution`` (``handle.request_id``).
            tools: The local tools to answer ``waiting_callback`` with (``BaseTool``s, tool
                specs, functions).
            **kwargs: ``durable_poll_initial``, ``durable_poll_max``, ``durable_timeout``.

        Returns:
            The final ``ChatResponse`` (usage, ``request_id``, ``server_tool_calls`` and
            ``local_tool_calls`` in ``additional_kwargs`` and ``raw``).

        Raises:
            QuantExecutionFailedError: The execution failed.
            QuantExecutionTimeoutError: It did not finish within ``durable_timeout``.
            QuantLocalToolMissingError: It waits for a tool that is not available locally.
        """
        local = as_tools(tools or ())
        response: ChatResponse = self.chat(
            [], **{**kwargs, _RESUME: request_id, "quant_tools": local}
        )
        return response

    async def aresume_execution(
        self,
        request_id: str,
        *,
        tools: Sequence[ToolLike] | None = None,
        **kwargs: Any,
    ) -> ChatResponse:
        """Async twin of :meth:`resume_execution` (the tools of one callback run concurrently)."""
        local = as_tools(tools or ())
        response: ChatResponse = await self.achat(
            [], **{**kwargs, _RESUME: request_id, "quant_tools": local}
        )
        return response

    # ------------------------------------------------------------------ entry points

    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Chat (``POST /ai/chat``).

        Args:
            messages: The conversation.
            **kwargs: Per-call ChatRequest fields (``temperature``, ``max_tokens``, ``stop``,
                ``response_format``, ``session_id``...).
        """
        return self._chat(messages, **kwargs)

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        """Stream a chat answer (``POST /ai/chat/stream``); each chunk holds the whole message."""
        return self._stream_chat(messages, **kwargs)

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        """Async twin of :meth:`chat`."""
        return await self._achat(messages, **kwargs)

    @llm_chat_callback()
    async def astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        """Async twin of :meth:`stream_chat` (``await`` it, then ``async for``)."""
        return await self._astream_chat(messages, **kwargs)

    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        """Complete a prompt (sent as one user message)."""
        return chat_to_completion_decorator(self._chat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseGen:
        """Stream a completion."""
        return stream_chat_to_completion_decorator(self._stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponse:
        """Async twin of :meth:`complete`."""
        return await achat_to_completion_decorator(self._achat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        """Async twin of :meth:`stream_complete`."""
        return await astream_chat_to_completion_decorator(self._astream_chat)(prompt, **kwargs)

    # ------------------------------------------------------------------ tools

    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        tool_choice: ToolChoice = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Arguments of ``chat`` for a call with tools.

        The native API has no ``toolChoice``: ``tool_required``/``"required"`` and a named tool
        are expressed by the tools offered plus a system instruction; ``"none"`` offers no
        tools. An empty tool list sends no ``toolConfig``.
        """
        tools = as_tools(tools)  # plain functions and tool specs are welcome too
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        has_tool_blocks = any(
            m.role == MessageRole.TOOL or any(isinstance(b, ToolCallBlock) for b in m.blocks)
            for m in messages
        )
        resolved = resolve_tool_choice(
            tools,
            tool_choice,
            tool_required=tool_required,
            allow_parallel_tool_calls=allow_parallel_tool_calls,
            history_has_tool_blocks=has_tool_blocks,
        )
        if not resolved.server_tools:  # "none": the service must not run a tool either
            kwargs = {**kwargs, "auto_execute": None, "allowed_tools": None}
        return {
            "messages": messages,
            "quant_tools": resolved.tools,
            "quant_tool_instruction": resolved.instruction,
            **kwargs,
        }

    def _validate_chat_with_tools_response(
        self,
        response: ChatResponse,
        tools: Sequence[BaseTool],
        allow_parallel_tool_calls: bool = False,
        **kwargs: Any,
    ) -> ChatResponse:
        """Keep only the first tool call unless parallel calls are allowed."""
        if not allow_parallel_tool_calls:
            force_single_tool_call(response)
        return response

    def get_tool_calls_from_response(
        self,
        response: ChatResponse,
        error_on_no_tool_call: bool = True,
        **kwargs: Any,
    ) -> list[ToolSelection]:
        """The client tool calls of a response (server-executed calls are never included)."""
        return tool_calls_from_response(response, error_on_no_tool_call=error_on_no_tool_call)

    # ------------------------------------------------------------------ structured output

    def _native_structured(self) -> bool:
        return (
            self.pydantic_program_mode == PydanticProgramMode.DEFAULT
            and (self.structured_output_method or structured_output_method(self.model))
            == "json_schema"
        )

    def _structured_args(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None,
        prompt_args: dict[str, Any],
    ) -> tuple[list[ChatMessage], dict[str, Any]]:
        messages = self._extend_messages(prompt.format_messages(llm=self, **prompt_args))
        kwargs = dict(llm_kwargs or {})
        for key in ("tool_choice", "tool_required"):
            kwargs.pop(key, None)
        kwargs["response_format"] = {"type": "json", "json_schema": output_cls.model_json_schema()}
        return messages, kwargs

    @staticmethod
    def _parse_structured(output_cls: type[Model], text: str) -> Model:
        return parse_structured(text, output_cls)

    @staticmethod
    def _partial(flexible: type[FlexibleModel], text: str) -> FlexibleModel | None:
        candidate = extract_json_text(text)
        if not candidate.startswith("{"):
            return None
        try:
            return flexible.model_validate(parse_partial_json(candidate))
        except (ValueError, pydantic.ValidationError):
            return None

    @dispatcher.span
    def structured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Predict a pydantic object with the native ``responseFormat`` JSON schema.

        Falls back to the function-calling program when ``structured_output_method`` is
        ``"function_calling"`` or ``pydantic_program_mode`` is not ``DEFAULT``.
        """
        if not self._native_structured():
            result = super().structured_predict(output_cls, _pt(prompt), llm_kwargs, **prompt_args)
            return cast(Model, result)
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages, kwargs = self._structured_args(output_cls, prompt, llm_kwargs, prompt_args)
        response = self.chat(messages, **kwargs)
        result = self._parse_structured(output_cls, response.message.content or "")
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    @dispatcher.span
    async def astructured_predict(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Model:
        """Async twin of :meth:`structured_predict`."""
        if not self._native_structured():
            result = await super().astructured_predict(
                output_cls, _pt(prompt), llm_kwargs, **prompt_args
            )
            return cast(Model, result)
        dispatcher.event(
            LLMStructuredPredictStartEvent(
                output_cls=output_cls, template=prompt, template_args=prompt_args
            )
        )
        messages, kwargs = self._structured_args(output_cls, prompt, llm_kwargs, prompt_args)
        response = await self.achat(messages, **kwargs)
        result = self._parse_structured(output_cls, response.message.content or "")
        dispatcher.event(LLMStructuredPredictEndEvent(output=result))
        return result

    def _structured_stream_call(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> Generator[Any, None, None]:
        if not self._native_structured():
            if self.pydantic_program_mode == PydanticProgramMode.DEFAULT:
                messages = self._extend_messages(prompt.format_messages(llm=self, **prompt_args))
                return stream_by_tool(self, output_cls, messages, llm_kwargs)
            return super()._structured_stream_call(
                output_cls, _pt(prompt), llm_kwargs, **prompt_args
            )
        messages, kwargs = self._structured_args(output_cls, prompt, llm_kwargs, prompt_args)
        stream = self.stream_chat(messages, **kwargs)
        flexible = create_flexible_model(output_cls)

        def gen() -> Generator[Any, None, None]:
            text = ""
            for chunk in stream:
                text = chunk.message.content or ""
                if chunk.delta:
                    partial = self._partial(flexible, text)
                    if partial is not None:
                        yield partial
            yield self._parse_structured(output_cls, text)

        return gen()

    async def _structured_astream_call(
        self,
        output_cls: type[Model],
        prompt: BasePromptTemplate,
        llm_kwargs: dict[str, Any] | None = None,
        **prompt_args: Any,
    ) -> AsyncGenerator[Any, None]:
        if not self._native_structured():
            if self.pydantic_program_mode == PydanticProgramMode.DEFAULT:
                messages = self._extend_messages(prompt.format_messages(llm=self, **prompt_args))
                return await astream_by_tool(self, output_cls, messages, llm_kwargs)
            return await super()._structured_astream_call(
                output_cls, _pt(prompt), llm_kwargs, **prompt_args
            )
        messages, kwargs = self._structured_args(output_cls, prompt, llm_kwargs, prompt_args)
        stream = await self.astream_chat(messages, **kwargs)
        flexible = create_flexible_model(output_cls)

        async def gen() -> AsyncGenerator[Any, None]:
            text = ""
            async for chunk in stream:
                text = chunk.message.content or ""
                if chunk.delta:
                    partial = self._partial(flexible, text)
                    if partial is not None:
                        yield partial
            yield self._parse_structured(output_cls, text)

        return gen()
