"""``QuantLLM``: Quant AI chat (Claude and Amazon Nova on Bedrock) as a LlamaIndex LLM."""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Generator, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal, cast

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
    MessageRole,
)
from llama_index.core.bridge.pydantic import Field, PrivateAttr, field_validator
from llama_index.core.instrumentation.events.llm import (
    LLMStructuredPredictEndEvent,
    LLMStructuredPredictStartEvent,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from llama_index.core.llms.utils import parse_partial_json
from llama_index.core.program.utils import FlexibleModel, create_flexible_model
from llama_index.core.types import Model, PydanticProgramMode

from quant_ai import (
    DURABLE_KWARGS,
    ChatRequest,
    ModelInfo,
    QuantClient,
    build_chat_request,
    extract_json_text,
    parse_structured,
    request_fields,
    structured_output_method,
)
from quant_ai.types import DEFAULT_CHAT_MODEL

from ._client import QuantClientMixin
from ._convert import (
    chat_response_from_quant,
    force_single_tool_call,
    messages_to_quant,
    tool_calls_from_response,
    tools_to_quant,
)
from ._profiles import DEFAULT_CONTEXT_WINDOW, DEFAULT_MAX_TOKENS, ModelMetadataMixin
from ._stream import astream_chunks, stream_chunks
from ._structured import astream_by_tool, stream_by_tool
from .durable import DurableLLMMixin, aone_chunk_stream, as_tools, one_chunk_stream

if TYPE_CHECKING:
    from llama_index.core.prompts import BasePromptTemplate, PromptTemplate
    from llama_index.core.tools.types import BaseTool

__all__ = ["DEFAULT_CONTEXT_WINDOW", "DEFAULT_MAX_TOKENS", "QuantLLM"]

# The core re-exports get_dispatcher without __all__, hence the ignore.
dispatcher = instrument.get_dispatcher(__name__)  # type: ignore[attr-defined]


def _pt(prompt: BasePromptTemplate) -> PromptTemplate:
    """The base class annotates ``PromptTemplate`` but takes any prompt template."""
    return cast("PromptTemplate", prompt)


_REQUEST_ALIASES = {"stop": "stop_sequences", "model": "model_id"}
_TOOL_KWARGS = (
    "tool_choice",
    "tool_required",
    "allow_parallel_tool_calls",
    "auto_execute",
    "allowed_tools",
)
"""Call kwargs of tool use (``allowed_tools`` per call is ``toolConfig.allowedTools``)."""


class QuantLLM(DurableLLMMixin, ModelMetadataMixin, QuantClientMixin, FunctionCallingLLM):
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
    _wire_extras_into: ClassVar[str | None] = "additional_kwargs"
    """Unknown init arguments that are chat wire fields land here (others are refused)."""

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

    # ------------------------------------------------------------------ requests

    def _request(self, messages: Sequence[ChatMessage], kwargs: dict[str, Any]) -> ChatRequest:
        """Build the core request from messages, the fields and per-call overrides."""
        call = dict(kwargs)
        tools: list[BaseTool] = list(call.pop("quant_tools", None) or [])
        for key in ("tools", *DURABLE_KWARGS):
            call.pop(key, None)  # consumed by _prepare_chat_with_tools / the durable path
        tool_args = {k: call.pop(k) for k in _TOOL_KWARGS if k in call}
        wire, system = messages_to_quant(messages)
        fields: dict[str, Any] = {
            "model_id": self.model,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "top_p": self.top_p,
            "stop_sequences": self.stop,
            "response_format": self.response_format,
            "guardrails": self.guardrails,
            "long_context": self.long_context,
            "session_id": self.session_id,
            **request_fields(self.additional_kwargs),
        }
        fields.update(request_fields({_REQUEST_ALIASES.get(k, k): v for k, v in call.items()}))
        return build_chat_request(
            wire,
            system_prompt=[fields.pop("system_prompt", None), system],
            tools=tools_to_quant(tools),
            tool_choice=tool_args.get("tool_choice"),
            tool_required=bool(tool_args.get("tool_required", False)),
            parallel_tool_calls=bool(tool_args.get("allow_parallel_tool_calls", True)),
            auto_execute=tool_args.get("auto_execute", self.auto_execute),
            executable_tools=tool_args.get("allowed_tools", self.allowed_tools),
            **fields,
        )

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
            return one_chunk_stream(self._durable_chat(messages, kwargs))
        return stream_chunks(self.client.stream_chat(self._request(messages, kwargs)))

    async def _astream_chat(
        self, messages: Sequence[ChatMessage], **kwargs: Any
    ) -> ChatResponseAsyncGen:
        if self._is_durable(kwargs):
            return aone_chunk_stream(await self._adurable_chat(messages, kwargs))
        return await astream_chunks(self.client.astream_chat(self._request(messages, kwargs)))

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
        tool_choice: str | dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> dict[str, Any]:
        """Arguments of ``chat`` for a call with tools.

        The native API has no ``toolChoice``: ``tool_required``/``"required"`` and a named tool
        are expressed by the tools offered plus a system instruction; ``"none"`` offers no
        tools. An empty tool list sends no ``toolConfig``.
        """
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        return {
            "messages": messages,
            "quant_tools": as_tools(tools),  # plain functions and tool specs are welcome too
            "tool_choice": tool_choice,
            "tool_required": tool_required,
            "allow_parallel_tool_calls": allow_parallel_tool_calls,
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
