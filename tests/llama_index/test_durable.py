"""QuantLLM server-side tools and durable executions, live on the emulator and from cassettes.

Every scenario of ``_Scenarios`` runs twice: against a freshly started emulator
(``TestServerAndDurableToolsLive``, marker ``emulator``) and replayed from
``cassettes/llama_index/`` (``TestServerAndDurableToolsCassette``, vcrpy, ``--record-mode=none``
by default, so a missing or changed interaction fails the test). Polling never sleeps: the
client's clock and sleeps are replaced by a fake clock that records each wait.

Re-record (the emulator by default; the real service when QUANT_API_KEY and QUANT_ORGANIZATION
are set, then add ``--force-enable-socket``)::

    python -m pytest tests/llama_index/test_durable.py -k Cassette --record-mode=rewrite

Requests are recorded with the placeholder host and organisation and without any header;
responses keep only their content type. ``test_durable_cassettes_are_clean`` checks the files.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from llama_index.core.agent.workflow import AgentStream, FunctionAgent
from llama_index.core.base.llms.types import ChatMessage, ChatResponse, ToolCallBlock
from llama_index.core.callbacks import CallbackManager, CBEventType, TokenCountingHandler
from llama_index.core.callbacks.base_handler import BaseCallbackHandler
from llama_index.core.instrumentation import get_dispatcher
from llama_index.core.instrumentation.events.llm import LLMChatStartEvent
from llama_index.core.tools import FunctionTool, ToolOutput
from llama_index.core.tools.tool_spec.base import BaseToolSpec

from llama_index_quant import QuantLLM
from llama_index_quant.durable import (
    QuantLocalToolMissingError,
    as_tools,
    chat_response_from_execution,
    tool_output_to_result,
)
from llama_index_quant.events import (
    QuantEvent,
    QuantExecutionStatusEvent,
    QuantLocalToolCallEvent,
    QuantOrchestrationStatusEvent,
    QuantServerToolCompleteEvent,
    QuantServerToolStartEvent,
)
from quant_ai import (
    ExecutionStatus,
    LocalToolCall,
    QuantExecutionFailedError,
    QuantExecutionTimeoutError,
    QuantNotFoundError,
)
from quant_ai.emulator import QuantEmulator
from tests import clock
from tests.llama_index.test_llm import Recorder as EventRecorder

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes" / "llama_index"
PLACEHOLDER_BASE = "https://quant.test"
PLACEHOLDER_ORG = "quant-org"
LIVE_KEY = "qc-durable-live"
REPLAY_KEY = "qc-durable-replay"
# Read at import: the suite's autouse fixture hides QUANT_* variables from each test.
REAL_SERVICE = {
    "api_key": os.environ.get("QUANT_API_KEY"),
    "organization": os.environ.get("QUANT_ORGANIZATION") or os.environ.get("QUANT_ORGANISATION"),
    "base_url": os.environ.get("QUANT_BASE_URL"),
}
_ORG_URL = re.compile(r"^https?://[^/]+/api/v3/organi[sz]ations/[^/]+/")

WEATHER_Q = "What is the weather in Paris?"
TWO_ROUNDS_Q = "please look up the stock price for ACME then find a museum in Paris"
MIXED_Q = "What is the weather in Paris and look up the stock price for ACME"
STATUSES_TWO_ROUNDS = [
    "queued",
    "pending",
    "running",
    "waiting_callback",
    "running",
    "waiting_callback",
    "running",
    "complete",
]


# ------------------------------------------------------------------ tools that record their calls


class Calls:
    """Local tools whose every run is recorded as ``(name, kwargs)``."""

    def __init__(self) -> None:
        self.made: list[tuple[str, dict[str, Any]]] = []

        def lookup_stock(symbol: str) -> str:
            """Look up the stock price of a ticker symbol."""
            self.made.append(("lookup_stock", {"symbol": symbol}))
            return f"{symbol} trades at 42 dollars"

        async def find_museum(city: str) -> dict[str, str]:
            """Find a museum in a city."""
            self.made.append(("find_museum", {"city": city}))
            return {"museum": f"Museum of {city}"}

        self.lookup_stock = FunctionTool.from_defaults(lookup_stock)
        self.find_museum = FunctionTool.from_defaults(async_fn=find_museum)
        self.lookup_fn = lookup_stock

    @property
    def tools(self) -> list[FunctionTool]:
        return [self.lookup_stock, self.find_museum]

    def names(self) -> list[str]:
        return [name for name, _ in self.made]


class MuseumSpec(BaseToolSpec):
    """A tool spec with one async function (to check that specs work as local tools)."""

    spec_functions = ["find_museum"]

    def __init__(self) -> None:
        self.cities: list[str] = []

    async def find_museum(self, city: str) -> dict[str, str]:
        """Find a museum in a city."""
        self.cities.append(city)
        return {"museum": f"Museum of {city}"}


# ------------------------------------------------------------------ observers


class Recorder(EventRecorder):
    """Every instrumentation event, in order, with the Quant ones picked out."""

    @classmethod
    def class_name(cls) -> str:
        return "DurableRecorder"

    def quant(self) -> list[QuantEvent]:
        return [e for e in self.events if isinstance(e, QuantEvent)]

    def statuses(self) -> list[QuantExecutionStatusEvent]:
        return [e for e in self.events if isinstance(e, QuantExecutionStatusEvent)]

    def local_calls(self) -> list[QuantLocalToolCallEvent]:
        return [e for e in self.events if isinstance(e, QuantLocalToolCallEvent)]

    def chat_spans(self) -> list[str | None]:
        return [e.span_id for e in self.events if isinstance(e, LLMChatStartEvent)]


class FunctionCalls(BaseCallbackHandler):
    """Legacy callback handler: the FUNCTION_CALL events of local tools."""

    def __init__(self) -> None:
        super().__init__(event_starts_to_ignore=[], event_ends_to_ignore=[])
        self.started: list[str] = []
        self.ended: list[str] = []

    def on_event_start(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        parent_id: str = "",
        **kwargs: Any,
    ) -> str:
        if event_type == CBEventType.FUNCTION_CALL and payload:
            self.started.append(payload["tool"].name)
        return event_id

    def on_event_end(
        self,
        event_type: CBEventType,
        payload: dict[str, Any] | None = None,
        event_id: str = "",
        **kwargs: Any,
    ) -> None:
        if event_type == CBEventType.FUNCTION_CALL and payload:
            self.ended.append(str(payload["function_call_response"]))

    def start_trace(self, trace_id: str | None = None) -> None:
        return None

    def end_trace(
        self, trace_id: str | None = None, trace_map: dict[str, list[str]] | None = None
    ) -> None:
        return None


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    dispatcher = get_dispatcher()
    rec = Recorder(events=[])
    dispatcher.add_event_handler(rec)
    yield rec
    dispatcher.event_handlers.remove(rec)


def fake_clock(llm: QuantLLM) -> list[float]:
    """The model's client on a fake clock (see ``tests.clock``)."""
    return clock.fake_clock(llm.client)


def count_callbacks(llm: QuantLLM) -> dict[str, int]:
    """Count the callbacks the client submits (per ``callbackId``)."""
    client = llm.client
    counts: dict[str, int] = {}
    sync_submit, async_submit = client.submit_tool_results, client.asubmit_tool_results

    def submit(callback_id: str, results: Any) -> Any:
        counts[callback_id] = counts.get(callback_id, 0) + 1
        return sync_submit(callback_id, results)

    async def asubmit(callback_id: str, results: Any) -> Any:
        counts[callback_id] = counts.get(callback_id, 0) + 1
        return await async_submit(callback_id, results)

    client.submit_tool_results = submit  # type: ignore[method-assign]
    client.asubmit_tool_results = asubmit  # type: ignore[method-assign]
    return counts


def user(text: str) -> list[ChatMessage]:
    return [ChatMessage(role="user", content=text)]


def tool_blocks(response: ChatResponse) -> list[ToolCallBlock]:
    return [b for b in response.message.blocks if isinstance(b, ToolCallBlock)]


def assert_usage_is_the_services(llm: QuantLLM, response: ChatResponse) -> None:
    """The usage of a durable answer is what the service reports for the execution."""
    status = llm.client.get_execution(response.additional_kwargs["request_id"])
    assert status.result is not None
    assert status.result.usage is not None
    usage = status.result.usage
    extra = response.additional_kwargs
    assert usage.input_tokens > 0
    assert extra["prompt_tokens"] == usage.input_tokens
    assert extra["completion_tokens"] == usage.output_tokens
    assert extra["total_tokens"] == usage.total_tokens
    assert extra["cost_cents"] == usage.cost_cents
    assert response.raw is not None
    assert response.raw["usage"]["total_tokens"] == usage.total_tokens


# ------------------------------------------------------------------ scenarios


class _Scenarios:
    """The scenarios; subclasses say where the service is (``settings``)."""

    settings: dict[str, Any]

    def llm(self, **kwargs: Any) -> QuantLLM:
        model = QuantLLM(**self.settings, **kwargs)
        fake_clock(model)
        return model

    def server_llm(self, **kwargs: Any) -> QuantLLM:
        return self.llm(auto_execute=True, allowed_tools=["get_weather"], **kwargs)

    # -------------------------------------------------------------- server-side tools

    def test_server_tool_final_answer(self) -> None:
        response = self.server_llm().chat(user(WEATHER_Q))
        assert tool_blocks(response) == []
        [call] = response.additional_kwargs["server_tool_calls"]
        assert call["name"] == "get_weather"
        assert call["input"] == {"location": "Paris"}
        assert call["status"] == "complete"
        assert call["result"]["location"] == "Paris"
        assert response.raw is not None
        assert response.raw["server_tool_calls"] == [call]
        text = response.message.content or ""
        assert call["result"]["temperature"] in text
        assert (
            response.additional_kwargs["total_tokens"]
            == (response.raw["quant_usage"]["totalTokens"])
        )

    async def test_server_tool_final_answer_async(self) -> None:
        llm = self.server_llm()
        response = await llm.achat(user(WEATHER_Q))
        assert llm.get_tool_calls_from_response(response, error_on_no_tool_call=False) == []
        names = [c["name"] for c in response.additional_kwargs["server_tool_calls"]]
        assert names == ["get_weather"]

    def test_server_tool_stream_events(self, recorder: Recorder) -> None:
        chunks = list(self.server_llm().stream_chat(user(WEATHER_Q)))
        events = recorder.quant()
        assert [type(e) for e in events] == [
            QuantServerToolStartEvent,
            QuantServerToolCompleteEvent,
            QuantOrchestrationStatusEvent,
        ]
        start, complete, orchestration = events
        assert isinstance(start, QuantServerToolStartEvent)
        assert isinstance(complete, QuantServerToolCompleteEvent)
        assert isinstance(orchestration, QuantOrchestrationStatusEvent)
        assert (start.name, start.input) == ("get_weather", {"location": "Paris"})
        assert complete.tool_use_id == start.tool_use_id
        assert complete.result["location"] == "Paris"
        assert orchestration.message
        final = chunks[-1]
        assert {e.request_id for e in events} == {final.additional_kwargs["request_id"]}
        # the events belong to the stream_chat span
        assert {e.span_id for e in events} == set(recorder.chat_spans())
        assert tool_blocks(final) == []
        [call] = final.additional_kwargs["server_tool_calls"]
        assert call["status"] == "complete"
        assert call["result"] == complete.result
        assert final.additional_kwargs["total_tokens"] > 0
        assert "".join(c.delta or "" for c in chunks) == final.message.content

    async def test_server_tool_stream_events_async(self, recorder: Recorder) -> None:
        stream = await self.server_llm().astream_chat(user(WEATHER_Q))
        chunks = [c async for c in stream]
        assert [e.class_name() for e in recorder.quant()] == [
            "QuantServerToolStartEvent",
            "QuantServerToolCompleteEvent",
            "QuantOrchestrationStatusEvent",
        ]
        assert chunks[-1].additional_kwargs["server_tool_calls"][0]["name"] == "get_weather"

    def test_mixed_server_and_client_tools(self) -> None:
        calls = Calls()
        llm = self.server_llm()
        response = llm.chat_with_tools([calls.lookup_stock], user_msg=MIXED_Q)
        [selection] = llm.get_tool_calls_from_response(response)
        assert (selection.tool_name, selection.tool_kwargs) == ("lookup_stock", {"symbol": "ACME"})
        assert [c["name"] for c in response.additional_kwargs["server_tool_calls"]] == [
            "get_weather"
        ]
        chunks = list(llm.stream_chat_with_tools([calls.lookup_stock], user_msg=MIXED_Q))
        assert [b.tool_name for b in tool_blocks(chunks[-1])] == ["lookup_stock"]
        assert [c["name"] for c in chunks[-1].additional_kwargs["server_tool_calls"]] == [
            "get_weather"
        ]
        assert calls.made == []  # not durable: the client tool is the caller's to run

    async def test_mixed_server_and_client_tools_async(self) -> None:
        calls = Calls()
        llm = self.server_llm()
        response = await llm.achat_with_tools([calls.lookup_stock], user_msg=MIXED_Q)
        assert [b.tool_name for b in tool_blocks(response)] == ["lookup_stock"]
        stream = await llm.astream_chat_with_tools([calls.lookup_stock], user_msg=MIXED_Q)
        chunks = [c async for c in stream]
        assert [b.tool_name for b in tool_blocks(chunks[-1])] == ["lookup_stock"]
        assert len(chunks[-1].additional_kwargs["server_tool_calls"]) == 1

    def test_durable_mixed_server_and_client_tools(self, recorder: Recorder) -> None:
        calls = Calls()
        llm = self.server_llm(durable=True)
        response = llm.chat_with_tools([calls.lookup_stock], user_msg=MIXED_Q)
        assert calls.made == [("lookup_stock", {"symbol": "ACME"})]
        extra = response.additional_kwargs
        [server] = extra["server_tool_calls"]
        assert (server["name"], server["input"]) == ("get_weather", {"location": "Paris"})
        assert [c["name"] for c in extra["local_tool_calls"]] == ["lookup_stock"]
        text = response.message.content or ""
        assert "ACME trades at 42 dollars" in text
        assert server["status"] == "complete"
        assert server["result"]["location"] == "Paris"
        waiting = [s for s in recorder.statuses() if s.status == "waiting_callback"]
        assert [s.pending_tools for s in waiting] == [["lookup_stock"]]
        assert tool_blocks(response) == []

    # -------------------------------------------------------------- durable executions

    def test_durable_two_callback_rounds(self, recorder: Recorder) -> None:
        calls = Calls()
        counter = TokenCountingHandler()
        functions = FunctionCalls()
        llm = self.llm(durable=True, callback_manager=CallbackManager([counter, functions]))
        submitted = count_callbacks(llm)
        response = llm.chat_with_tools(calls.tools, user_msg=TWO_ROUNDS_Q)
        # the tools really ran, once each, with the model's arguments
        assert calls.made == [
            ("lookup_stock", {"symbol": "ACME"}),
            ("find_museum", {"city": "Paris"}),
        ]
        statuses = recorder.statuses()
        assert [s.status for s in statuses] == STATUSES_TWO_ROUNDS
        waiting = [s for s in statuses if s.status == "waiting_callback"]
        assert [s.pending_tools for s in waiting] == [["lookup_stock"], ["find_museum"]]
        assert waiting[0].pending_tool_calls[0]["args"] == {"symbol": "ACME"}
        # each callback answered exactly once
        assert submitted == {s.callback_id: 1 for s in waiting}
        assert len(submitted) == 2
        local = recorder.local_calls()
        assert [(e.tool_name, e.callback_id) for e in local] == [
            ("lookup_stock", waiting[0].callback_id),
            ("find_museum", waiting[1].callback_id),
        ]
        assert local[0].output == "ACME trades at 42 dollars"
        # every event belongs to the chat span
        [span] = recorder.chat_spans()
        assert span is not None
        assert {e.span_id for e in recorder.quant()} == {span}
        assert functions.started == ["lookup_stock", "find_museum"]
        assert functions.ended == ["ACME trades at 42 dollars", "{'museum': 'Museum of Paris'}"]
        # the answer uses the results; nothing is left for an agent to run again
        text = response.message.content or ""
        assert "ACME trades at 42 dollars" in text
        assert "Museum of Paris" in text
        assert tool_blocks(response) == []
        extra = response.additional_kwargs
        assert extra["request_id"] == statuses[0].request_id
        assert extra["execution_status"] == "complete"
        assert extra["session_id"] == statuses[0].session_id
        assert [c["name"] for c in extra["local_tool_calls"]] == ["lookup_stock", "find_museum"]
        assert extra["local_tool_calls"][1]["args"] == {"city": "Paris"}
        assert extra["server_tool_calls"] == []
        assert_usage_is_the_services(llm, response)
        assert counter.prompt_llm_token_count == extra["prompt_tokens"]
        assert counter.completion_llm_token_count == extra["completion_tokens"]

    async def test_durable_two_callback_rounds_async(self, recorder: Recorder) -> None:
        calls = Calls()
        spec = MuseumSpec()
        llm = self.llm()  # durable per call
        submitted = count_callbacks(llm)
        response = await llm.achat_with_tools(
            [calls.lookup_fn, spec], user_msg=TWO_ROUNDS_Q, durable=True
        )
        assert calls.names() == ["lookup_stock"]
        assert spec.cities == ["Paris"]
        assert [s.status for s in recorder.statuses()] == STATUSES_TWO_ROUNDS
        assert sorted(submitted.values()) == [1, 1]
        text = response.message.content or ""
        assert "ACME trades at 42 dollars" in text
        assert "Museum of Paris" in text
        assert response.additional_kwargs["total_tokens"] > 0

    def test_durable_stream_chat_is_one_final_chunk(self, recorder: Recorder) -> None:
        calls = Calls()
        llm = self.llm(durable=True)
        chunks = list(llm.stream_chat_with_tools(calls.tools, user_msg=TWO_ROUNDS_Q))
        assert len(chunks) == 1
        [final] = chunks
        assert final.delta == final.message.content
        assert "Museum of Paris" in (final.delta or "")
        assert [s.status for s in recorder.statuses()][-1] == "complete"
        assert final.additional_kwargs["total_tokens"] > 0
        assert calls.names() == ["lookup_stock", "find_museum"]

    async def test_durable_astream_chat_is_one_final_chunk(self, recorder: Recorder) -> None:
        calls = Calls()
        stream = await self.llm().astream_chat_with_tools(
            calls.tools, user_msg=TWO_ROUNDS_Q, durable=True
        )
        chunks = [c async for c in stream]
        assert len(chunks) == 1
        assert "ACME trades at 42 dollars" in (chunks[0].delta or "")
        assert [s.status for s in recorder.statuses()] == STATUSES_TWO_ROUNDS

    def test_durable_tool_error_is_sent_to_the_model(self, recorder: Recorder) -> None:
        def lookup_stock(symbol: str) -> str:
            """Look up the stock price of a ticker symbol."""
            raise RuntimeError(f"market closed for {symbol}")

        llm = self.llm(durable=True)
        response = llm.chat_with_tools(
            [lookup_stock], user_msg="please look up the stock price for ACME"
        )
        # like a FunctionAgent: the error is the tool's answer and the execution goes on
        assert "market closed for ACME" in (response.message.content or "")
        [call] = response.additional_kwargs["local_tool_calls"]
        assert call["is_error"] is True
        assert "market closed for ACME" in call["output"]
        [event] = recorder.local_calls()
        assert event.is_error
        assert [s.status for s in recorder.statuses()][-1] == "complete"

    def test_durable_failure_is_typed(self, recorder: Recorder) -> None:
        with pytest.raises(QuantExecutionFailedError) as info:
            self.llm().chat(user("Please answer [[fail]]"), durable=True)
        assert info.value.error_type == "EmulatedFailure"
        assert info.value.error_message is not None
        assert "[[fail]]" in info.value.error_message
        assert info.value.request_id
        assert "EmulatedFailure" in str(info.value)
        last = recorder.statuses()[-1]
        assert (last.status, last.error_type) == ("failed", "EmulatedFailure")
        assert last.request_id == info.value.request_id

    async def test_durable_failure_is_typed_async(self) -> None:
        with pytest.raises(QuantExecutionFailedError) as info:
            await self.llm(durable=True).acomplete("Please answer [[fail]]")
        assert info.value.error_type == "EmulatedFailure"

    def test_durable_missing_local_tool_names_it(self) -> None:
        calls = Calls()
        handle = self.llm().start_execution(TWO_ROUNDS_Q, tools=calls.tools)
        fresh = self.llm()
        with pytest.raises(QuantLocalToolMissingError) as info:
            fresh.resume_execution(handle.request_id, tools=[calls.lookup_stock])
        assert isinstance(info.value, LookupError)
        assert info.value.tool_names == ["find_museum"]
        assert info.value.available == ["lookup_stock"]
        assert info.value.request_id == handle.request_id
        assert "'find_museum'" in str(info.value)
        assert handle.request_id in str(info.value)
        assert calls.names() == ["lookup_stock"]  # round one was answered
        # nothing was submitted for round two: the execution can still be answered
        response = self.llm().resume_execution(handle.request_id, tools=calls.tools)
        assert "Museum of Paris" in (response.message.content or "")
        assert calls.names() == ["lookup_stock", "find_museum"]

    def test_reused_callback_id_is_handled(self) -> None:
        other = self.llm()
        used: list[str] = []
        started: list[str] = []

        def lookup_stock(symbol: str) -> str:
            """Look up the stock price of a ticker symbol."""
            # another process answers the same callback first: ours then gets a 404
            status = other.client.get_execution(started[0])
            assert status.callback_id
            used.append(status.callback_id)
            other.client.submit_tool_results(
                status.callback_id,
                {p.tool_use_id: {"result": "7 dollars"} for p in status.pending_tools},
            )
            return "unused"

        llm = self.llm()
        handle = llm.start_execution(
            "please look up the stock price for ACME", tools=[lookup_stock]
        )
        started.append(handle.request_id)
        response = handle.resume()
        assert "7 dollars" in (response.message.content or "")
        assert "unused" not in (response.message.content or "")
        assert [c["callback_id"] for c in response.additional_kwargs["local_tool_calls"]] == used
        with pytest.raises(QuantNotFoundError):
            other.client.submit_tool_results(used[0], {"x": {"result": 1}})

    def test_resume_by_id_from_new_object(self, recorder: Recorder) -> None:
        calls = Calls()
        handle = self.llm().start_execution(TWO_ROUNDS_Q, tools=calls.tools)
        stored = handle.request_id  # e.g. saved in a database
        assert isinstance(stored, str)
        assert handle.model == "amazon.nova-lite-v1:0"
        assert handle.session_id
        assert [s.status for s in recorder.statuses()] == ["queued"]
        fresh = self.llm()  # a new object, as in another process
        response = fresh.resume_execution(stored, tools=[calls.lookup_fn, calls.find_museum])
        assert "ACME trades at 42 dollars" in (response.message.content or "")
        assert response.additional_kwargs["request_id"] == stored
        assert calls.names() == ["lookup_stock", "find_museum"]
        assert [s.status for s in recorder.statuses()] == STATUSES_TWO_ROUNDS
        assert_usage_is_the_services(fresh, response)

    async def test_resume_by_id_from_new_object_async(self) -> None:
        calls = Calls()
        handle = await self.llm().astart_execution(TWO_ROUNDS_Q, tools=calls.tools)
        fresh = self.llm()
        response = await fresh.aresume_execution(handle.request_id, tools=calls.tools)
        assert "Museum of Paris" in (response.message.content or "")
        assert calls.names() == ["lookup_stock", "find_museum"]
        again = await handle.aresume()  # complete already: the same answer, no tool runs
        assert again.message.content == response.message.content
        assert calls.names() == ["lookup_stock", "find_museum"]

    def test_polling_backoff_with_fake_clock(self) -> None:
        calls = Calls()
        llm = QuantLLM(**self.settings, durable_poll_initial=1, durable_poll_max=4)
        sleeps = fake_clock(llm)
        llm.chat_with_tools(calls.tools, user_msg=TWO_ROUNDS_Q, durable=True)
        # pending, running, answer (the wait resets), running, answer, running, complete
        assert sleeps == [1, 2, 1, 1]

    async def test_polling_backoff_with_fake_clock_async(self) -> None:
        calls = Calls()
        llm = QuantLLM(**self.settings, durable=True)
        sleeps = fake_clock(llm)
        await llm.achat_with_tools(
            calls.tools, user_msg=TWO_ROUNDS_Q, durable_poll_initial=2, durable_poll_max=3
        )
        assert sleeps == [2, 3, 2, 2]

    # -------------------------------------------------------------- agents

    async def test_function_agent_in_durable_mode(self, recorder: Recorder) -> None:
        calls = Calls()
        agent = FunctionAgent(tools=calls.tools, llm=self.llm(durable=True), streaming=False)
        result = await agent.run(TWO_ROUNDS_Q)
        assert calls.names() == ["lookup_stock", "find_museum"]
        assert "ACME trades at 42 dollars" in str(result)
        assert "Museum of Paris" in str(result)
        # the service drove the loop: the agent itself had nothing left to call
        assert result.tool_calls == []
        assert [c["name"] for c in result.raw["local_tool_calls"]] == [
            "lookup_stock",
            "find_museum",
        ]
        assert [s.status for s in recorder.statuses()] == STATUSES_TWO_ROUNDS

    async def test_function_agent_streaming_in_durable_mode(self) -> None:
        calls = Calls()
        agent = FunctionAgent(tools=calls.tools, llm=self.llm(durable=True))
        handler = agent.run(TWO_ROUNDS_Q)
        deltas = [ev.delta async for ev in handler.stream_events() if isinstance(ev, AgentStream)]
        result = await handler
        assert calls.names() == ["lookup_stock", "find_museum"]
        assert "Museum of Paris" in str(result)
        assert "Museum of Paris" in "".join(deltas)


# ------------------------------------------------------------------ where the service is


@pytest.fixture(scope="module")
def emulator() -> Iterator[QuantEmulator]:
    with QuantEmulator() as emu:
        yield emu


def emulator_settings(emu: QuantEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "organization": "acme", "api_key": LIVE_KEY}


@pytest.mark.emulator
class TestServerAndDurableToolsLive(_Scenarios):
    @pytest.fixture(autouse=True)
    def _target(self, emulator: QuantEmulator) -> None:
        self.settings = emulator_settings(emulator)

    async def test_polling_gives_up_at_the_deadline_and_resumes(self) -> None:
        with QuantEmulator(execution_polls_per_state=6) as emu:
            settings = emulator_settings(emu)
            llm = QuantLLM(**settings, durable_poll_initial=1, durable_poll_max=4)
            sleeps = fake_clock(llm)
            with pytest.raises(QuantExecutionTimeoutError) as info:
                await llm.achat(user("Hello"), durable=True, durable_timeout=10)
            assert sleeps == [1, 2, 4]  # the next wait (4) would pass the 10 s deadline
            assert info.value.last_status == "pending"
            fresh = QuantLLM(**settings)
            fake_clock(fresh)
            resumed = await fresh.aresume_execution(info.value.request_id)
            assert resumed.message.content
            assert resumed.additional_kwargs["request_id"] == info.value.request_id


def _scrub_request(request: Any) -> Any:
    """Placeholder host and organisation, no headers at all (applied on record and match)."""
    request.uri = _ORG_URL.sub(
        f"{PLACEHOLDER_BASE}/api/v3/organizations/{PLACEHOLDER_ORG}/", request.uri
    )
    for name in list(request.headers):
        del request.headers[name]
    return request


def _scrub_response(response: dict[str, Any]) -> dict[str, Any]:
    """Keep only the content type header."""
    headers = response.get("headers") or {}
    response["headers"] = {k: v for k, v in headers.items() if k.lower() == "content-type"}
    return response


@pytest.mark.vcr
class TestServerAndDurableToolsCassette(_Scenarios):
    @pytest.fixture
    def vcr_config(self) -> dict[str, Any]:
        # polls repeat the same request: each recorded answer must play once, in order
        return {
            "before_record_request": _scrub_request,
            "before_record_response": _scrub_response,
            "match_on": ["method", "scheme", "host", "port", "path", "query", "json_body"],
            "allow_playback_repeats": False,
            "decode_compressed_response": True,
        }

    @pytest.fixture
    def vcr_cassette_dir(self) -> str:
        return str(CASSETTES)

    @pytest.fixture(autouse=True)
    def _target(self, request: pytest.FixtureRequest) -> None:
        if request.config.getoption("--record-mode") == "none":
            self.settings = {
                "base_url": PLACEHOLDER_BASE,
                "organization": PLACEHOLDER_ORG,
                "api_key": REPLAY_KEY,
            }
        elif REAL_SERVICE["api_key"] and REAL_SERVICE["organization"]:
            self.settings = {k: v for k, v in REAL_SERVICE.items() if v}
        else:
            self.settings = emulator_settings(request.getfixturevalue("emulator"))


# ------------------------------------------------------------------ cassette hygiene


def _scenario_names() -> list[str]:
    return sorted(n for n in vars(_Scenarios) if n.startswith("test_"))


def test_every_scenario_has_a_cassette() -> None:
    names = {p.name for p in CASSETTES.glob("TestServerAndDurableToolsCassette.*.yaml")}
    expected = {f"TestServerAndDurableToolsCassette.{n}.yaml" for n in _scenario_names()}
    assert expected == names, "re-record the cassettes (see the module docstring)"


@pytest.mark.parametrize("name", _scenario_names())
def test_durable_cassettes_are_clean(name: str) -> None:
    path = CASSETTES / f"TestServerAndDurableToolsCassette.{name}.yaml"
    text = path.read_text(encoding="utf-8")
    forbidden = re.compile(
        r"(?i)authorization|bearer|api[-_]?key|cookie|127\.0\.0\.1|localhost|"
        + "|".join(re.escape(k) for k in (LIVE_KEY, REPLAY_KEY))
    )
    assert not forbidden.search(text), f"{path.name} holds a secret or a local address"
    for value in (REAL_SERVICE["api_key"], REAL_SERVICE["organization"]):
        if value:
            assert value not in text, f"{path.name} holds a real credential or organisation"
    data = yaml.safe_load(text)
    assert data["interactions"]
    for interaction in data["interactions"]:
        assert interaction["request"]["headers"] == {}
        assert interaction["request"]["uri"].startswith(
            f"{PLACEHOLDER_BASE}/api/v3/organizations/{PLACEHOLDER_ORG}/ai/"
        )
        assert set(interaction["response"]["headers"]) <= {"content-type", "Content-Type"}


# ------------------------------------------------------------------ pure functions


def test_as_tools_accepts_tools_specs_and_functions() -> None:
    calls = Calls()
    tools = as_tools([calls.lookup_stock, MuseumSpec(), calls.lookup_fn])
    assert [t.metadata.get_name() for t in tools] == ["lookup_stock", "find_museum", "lookup_stock"]
    assert tools[0] is calls.lookup_stock
    with pytest.raises(TypeError, match="not a tool"):
        as_tools(["get_weather"])  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("raw", "content", "expected"),
    [
        ({"museum": "M"}, None, {"museum": "M"}),
        ('{"a": 1}', None, {"a": 1}),
        ("plain text", None, {"result": "plain text"}),
        ("[1, 2]", None, {"result": [1, 2]}),
        (42, None, {"result": 42}),
        ((1, 2), None, {"result": [1, 2]}),
        (None, "shown", {"result": "shown"}),
        (object, "text form", {"result": "text form"}),
    ],
)
def test_tool_output_to_result(raw: Any, content: str | None, expected: dict[str, Any]) -> None:
    output = ToolOutput(tool_name="t", content=content or str(raw), raw_input={}, raw_output=raw)
    assert tool_output_to_result(output) == expected


def test_tool_errors_are_sent_to_the_model() -> None:
    output = ToolOutput(
        tool_name="t",
        content="Encountered error: boom",
        raw_input={},
        raw_output="boom",
        is_error=True,
    )
    assert tool_output_to_result(output) == {"error": "Encountered error: boom"}


def test_chat_response_from_execution_keeps_local_calls_out_of_server_calls() -> None:
    status = ExecutionStatus.model_validate(
        {
            "requestId": "r1",
            "status": "complete",
            "result": {
                "response": {"role": "assistant", "content": "Done."},
                "usage": {"inputTokens": 7, "outputTokens": 3, "totalTokens": 10},
                "toolExecutions": [
                    {"toolUseId": "s1", "name": "get_weather", "input": {"location": "Oslo"}},
                    {"toolUseId": "c1", "name": "lookup_stock", "input": {"symbol": "X"}},
                ],
            },
        }
    )
    local = [LocalToolCall(name="lookup_stock", id="c1", args={"symbol": "X"}, callback_id="cb")]
    response = chat_response_from_execution(status, request_id="r1", model="m", local_calls=local)
    extra = response.additional_kwargs
    assert response.message.content == "Done."
    assert [c["name"] for c in extra["server_tool_calls"]] == ["get_weather"]
    assert extra["server_tool_calls"][0]["status"] == "complete"
    assert extra["local_tool_calls"] == [local[0].as_dict()]
    assert (extra["prompt_tokens"], extra["completion_tokens"], extra["total_tokens"]) == (7, 3, 10)
    assert "session_id" not in extra
    assert response.raw is not None
    assert response.raw["usage"] == {"prompt_tokens": 7, "completion_tokens": 3, "total_tokens": 10}


def test_durable_settings_are_plain_fields_and_keep_the_key_out() -> None:
    llm = QuantLLM(api_key="qc_secret_durable", durable=True, durable_poll_max=5)
    dumped = str(llm.to_dict()) + repr(llm) + llm.to_json()
    if hasattr(llm, "to_payload"):  # llama-index-core >= 0.14.23 (earlier: to_dict in events)
        dumped += str(llm.to_payload())
    assert "qc_secret_durable" not in dumped
    assert llm.to_dict()["durable"] is True
    assert llm.to_dict()["durable_poll_max"] == 5


def test_tool_handler_failure_leaves_nothing_submitted(make_client: Callable[..., Any]) -> None:
    """A missing local tool is refused from the status read, before any callback is sent."""
    import httpx

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200,
            json={
                "requestId": "r9",
                "status": "waiting_callback",
                "callbackId": "cb-9",
                "pendingTools": [{"name": "nowhere", "toolUseId": "t9", "input": {}}],
            },
        )

    client, transport = make_client(handler)
    llm = QuantLLM(client=client)
    with pytest.raises(QuantLocalToolMissingError) as info:
        llm.resume_execution("r9", tools=[Calls().lookup_stock])
    assert info.value.callback_id == "cb-9"
    assert [op for op, _ in transport.requests] == ["getDurableExecutionStatus"]
