"""Server-side tools and durable executions end to end, live on the emulator and from cassettes.

Every scenario runs four ways: sync and async, against the live emulator (``*Live``, marker
``emulator``) and replayed from ``cassettes/langchain/`` (``*Cassette``, marker ``vcr``).
Polling never sleeps: the client's clock and sleeps are replaced by a fake clock that records
each wait.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import AsyncCallbackHandler, BaseCallbackHandler
from langchain_core.exceptions import ModelAPIError, ModelTimeoutError
from langchain_core.messages import AIMessage, AIMessageChunk
from langchain_core.tools import ToolException, tool
from pydantic import BaseModel

from langchain_quant import ChatQuant
from langchain_quant.errors import (
    QuantLocalToolError,
    QuantLocalToolMissingError,
    QuantModelExecutionFailedError,
    QuantModelExecutionTimeoutError,
)
from quant_ai import QuantExecutionFailedError, QuantNotFoundError
from tests import clock
from tests.langchain import _support

WEATHER_Q = "What is the weather in Paris?"
TWO_ROUNDS_Q = "please look up the stock price for ACME then find a museum in Paris"
MIXED_Q = "What is the weather in Paris and look up the stock price for ACME"


@tool
def lookup_stock(symbol: str) -> str:
    """Look up the stock price of a ticker symbol."""
    return f"{symbol} trades at 42 dollars"


@tool
def find_museum(city: str) -> dict[str, str]:
    """Find a museum in a city."""
    return {"museum": f"Museum of {city}"}


class Collector(BaseCallbackHandler):
    """Records custom events and tool runs (sync callbacks)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, Any]] = []
        self.tools: list[str] = []

    def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append((name, data))

    def on_tool_start(self, serialized: dict[str, Any], input_str: str, **kwargs: Any) -> None:
        self.tools.append(serialized["name"])

    def names(self) -> list[str]:
        return [name for name, _ in self.events]

    def statuses(self) -> list[str]:
        return [d["status"] for n, d in self.events if n == "quant_execution_status"]


class ACollector(AsyncCallbackHandler, Collector):
    """Records custom events and tool runs (async callbacks)."""

    async def on_custom_event(self, name: str, data: Any, *, run_id: UUID, **kwargs: Any) -> None:
        self.events.append((name, data))

    async def on_tool_start(
        self, serialized: dict[str, Any], input_str: str, **kwargs: Any
    ) -> None:
        self.tools.append(serialized["name"])


def fake_clock(llm: ChatQuant) -> list[float]:
    """The model's client on a fake clock (see ``tests.clock``)."""
    return clock.fake_clock(llm.quant_client)


def blocks(message: AIMessage, kind: str) -> list[dict[str, Any]]:
    return [b for b in message.content if isinstance(b, dict) and b.get("type") == kind]


def final_of(chunks: list[AIMessageChunk]) -> AIMessageChunk:
    full = chunks[0]
    for chunk in chunks[1:]:
        full = full + chunk
    return full


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


class _Scenarios:
    """The scenarios; subclasses say where the service is."""

    def params(self) -> dict[str, Any]:
        raise NotImplementedError

    def llm(self, **kwargs: Any) -> ChatQuant:
        model = ChatQuant(**self.params(), **kwargs)
        fake_clock(model)
        return model

    # -------------------------------------------------------------- server-side tools

    def test_server_tool_final_answer(self) -> None:
        message = self.llm().bind_tools(["get_weather"]).invoke(WEATHER_Q)
        assert message.tool_calls == []
        [call] = blocks(message, "server_tool_call")
        [result] = blocks(message, "server_tool_result")
        assert call["name"] == "get_weather"
        assert call["args"] == {"location": "Paris"}
        assert result["tool_call_id"] == call["id"]
        assert result["output"]["location"] == "Paris"
        assert "Paris" in message.text
        assert message.usage_metadata is not None

    async def test_server_tool_final_answer_async(self) -> None:
        message = await self.llm().bind_tools(["get_weather"]).ainvoke(WEATHER_Q)
        assert message.tool_calls == []
        assert [b["name"] for b in blocks(message, "server_tool_call")] == ["get_weather"]
        assert len(blocks(message, "server_tool_result")) == 1

    def test_server_tool_stream_events(self) -> None:
        handler = Collector()
        chunks = list(
            self.llm().bind_tools(["get_weather"]).stream(WEATHER_Q, {"callbacks": [handler]})
        )
        kinds = [b["type"] for c in chunks if isinstance(c.content, list) for b in c.content]
        assert kinds[:2] == ["server_tool_call", "server_tool_result"]
        assert handler.names() == [
            "quant_tool_start",
            "quant_tool_complete",
            "quant_orchestration_status",
        ]
        assert handler.events[0][1]["input"] == {"location": "Paris"}
        full = final_of(chunks)
        assert full.tool_calls == []
        assert "Paris" in full.text
        assert full.usage_metadata is not None

    async def test_server_tool_stream_events_async(self) -> None:
        seen: list[str] = []
        kinds: list[str] = []
        model = self.llm().bind_tools(["get_weather"])
        async for event in model.astream_events(WEATHER_Q, version="v2"):
            if event["event"] == "on_custom_event":
                seen.append(event["name"])
            elif event["event"] == "on_chat_model_stream":
                content = event["data"]["chunk"].content
                kinds += [b["type"] for b in content if isinstance(content, list)]
        assert seen == ["quant_tool_start", "quant_tool_complete", "quant_orchestration_status"]
        assert kinds == ["server_tool_call", "server_tool_result"]

    def test_mixed_server_and_client_tools(self) -> None:
        model = self.llm().bind_tools(["get_weather", lookup_stock])
        message = model.invoke(MIXED_Q)
        assert [c["name"] for c in message.tool_calls] == ["lookup_stock"]
        assert [b["name"] for b in blocks(message, "server_tool_call")] == ["get_weather"]
        streamed = final_of(list(model.stream(MIXED_Q)))
        assert [c["name"] for c in streamed.tool_calls] == ["lookup_stock"]
        assert [b["name"] for b in blocks(streamed, "server_tool_call")] == ["get_weather"]

    async def test_mixed_server_and_client_tools_async(self) -> None:
        model = self.llm().bind_tools(["get_weather", lookup_stock])
        message = await model.ainvoke(MIXED_Q)
        assert [c["name"] for c in message.tool_calls] == ["lookup_stock"]
        chunks = [c async for c in model.astream(MIXED_Q)]
        streamed = final_of(chunks)
        assert [c["name"] for c in streamed.tool_calls] == ["lookup_stock"]
        assert len(blocks(streamed, "server_tool_result")) == 1

    # -------------------------------------------------------------- durable executions

    def test_durable_two_callback_rounds(self) -> None:
        handler = Collector()
        model = self.llm(durable=True).bind_tools([lookup_stock, find_museum])
        message = model.invoke(TWO_ROUNDS_Q, {"callbacks": [handler]})
        assert handler.statuses() == STATUSES_TWO_ROUNDS
        waiting = [d for n, d in handler.events if d["status"] == "waiting_callback"]
        assert [d["pending_tools"] for d in waiting] == [["lookup_stock"], ["find_museum"]]
        assert handler.tools == ["lookup_stock", "find_museum"]
        assert "ACME trades at 42 dollars" in message.text
        assert "Museum of Paris" in message.text
        assert message.tool_calls == []
        assert message.usage_metadata is not None
        assert message.usage_metadata["total_tokens"] > 0
        meta = message.response_metadata
        assert meta["request_id"]
        assert meta["execution_status"] == "complete"
        assert [c["name"] for c in meta["local_tool_calls"]] == ["lookup_stock", "find_museum"]
        assert len({c["callback_id"] for c in meta["local_tool_calls"]}) == 2

    async def test_durable_two_callback_rounds_async(self) -> None:
        handler = ACollector()
        model = self.llm().bind_tools([lookup_stock, find_museum])
        message = await model.ainvoke(TWO_ROUNDS_Q, {"callbacks": [handler]}, durable=True)
        assert handler.statuses() == STATUSES_TWO_ROUNDS
        assert handler.tools == ["lookup_stock", "find_museum"]
        assert "Museum of Paris" in message.text

    def test_durable_stream_is_one_chunk_after_status_events(self) -> None:
        handler = Collector()
        model = self.llm(durable=True).bind_tools(["get_weather", lookup_stock])
        chunks = list(model.stream(MIXED_Q, {"callbacks": [handler]}))
        # LangChain's fallback for calls that do not stream: the final message, once
        assert len(chunks) == 1
        assert isinstance(chunks[0], AIMessage)
        assert handler.statuses()[0] == "queued"
        assert handler.statuses()[-1] == "complete"
        assert [b["name"] for b in blocks(chunks[0], "server_tool_call")] == ["get_weather"]
        assert chunks[0].usage_metadata is not None

    async def test_durable_astream_events_show_status(self) -> None:
        model = self.llm(durable=True).bind_tools([lookup_stock, find_museum])
        names: list[str] = []
        async for event in model.astream_events(TWO_ROUNDS_Q, version="v2"):
            if event["event"] == "on_custom_event":
                names.append(event["data"]["status"])
            elif event["event"] in ("on_tool_start", "on_chat_model_end"):
                names.append(event["name"])
        assert names == [
            *STATUSES_TWO_ROUNDS[:4],
            "lookup_stock",
            *STATUSES_TWO_ROUNDS[4:6],
            "find_museum",
            *STATUSES_TWO_ROUNDS[6:],
            "ChatQuant",
        ]

    def test_durable_failure_is_typed(self) -> None:
        with pytest.raises(QuantModelExecutionFailedError) as info:
            self.llm().invoke("Please answer [[fail]]", durable=True)
        assert isinstance(info.value, QuantExecutionFailedError)
        assert isinstance(info.value, ModelAPIError)
        assert info.value.error_type == "EmulatedFailure"
        assert info.value.request_id

    async def test_durable_failure_is_typed_async(self) -> None:
        with pytest.raises(QuantModelExecutionFailedError) as info:
            await self.llm(durable=True).ainvoke("Please answer [[fail]]")
        assert "EmulatedFailure" in str(info.value)

    def test_durable_missing_local_tool_names_it(self) -> None:
        class FindMuseum(BaseModel):
            """Find a museum in a city."""

            city: str

        model = self.llm(durable=True).bind_tools([lookup_stock, FindMuseum])
        with pytest.raises(QuantLocalToolMissingError) as info:
            model.invoke("Find a museum in Paris")
        assert info.value.tool_names == ["FindMuseum"]
        assert "'FindMuseum'" in str(info.value)
        assert info.value.request_id in str(info.value)
        # nothing was submitted: the execution can still be answered
        resumed = self.llm().resume_execution(info.value.request_id, tools=[find_museum_tool()])
        assert "Museum of Paris" in resumed.text

    def test_reused_callback_id_is_handled(self) -> None:
        other = self.llm()
        used: list[str] = []

        @tool
        def racing_stock(symbol: str) -> str:
            """Look up the stock price of a ticker symbol."""
            # another process answers the same callback first: ours then gets a 404
            status = other.quant_client.get_execution(started[0])
            assert status.callback_id
            used.append(status.callback_id)
            other.quant_client.submit_tool_results(
                status.callback_id,
                {p.tool_use_id: {"result": "7 dollars"} for p in status.pending_tools},
            )
            return "unused"

        model = self.llm(durable=True).bind_tools([racing_stock])
        handle = model.start_execution("please look up the stock price for ACME")
        started = [handle.request_id]
        message = handle.resume()
        assert "7 dollars" in message.text
        with pytest.raises(QuantNotFoundError):
            other.quant_client.submit_tool_results(used[0], {"x": {"result": 1}})

    def test_resume_by_id_from_new_object(self) -> None:
        handle = self.llm().start_execution(TWO_ROUNDS_Q, tools=[lookup_stock, find_museum])
        stored = handle.request_id  # e.g. saved in a database
        assert isinstance(stored, str)
        assert handle.model == "amazon.nova-lite-v1:0"
        fresh = self.llm()  # a new object, as in another process
        message = fresh.resume_execution(stored, tools=[lookup_stock, find_museum])
        assert "ACME trades at 42 dollars" in message.text
        assert message.response_metadata["request_id"] == stored

    async def test_resume_by_id_from_new_object_async(self) -> None:
        model = self.llm().bind_tools([lookup_stock, find_museum])
        handle = await model.astart_execution(TWO_ROUNDS_Q)
        fresh = self.llm().bind_tools([lookup_stock, find_museum])
        message = await fresh.aresume_execution(handle.request_id)
        assert "Museum of Paris" in message.text


def find_museum_tool() -> Any:
    @tool("FindMuseum")
    def find(city: str) -> dict[str, str]:
        """Find a museum in a city."""
        return {"museum": f"Museum of {city}"}

    return find


@pytest.mark.emulator
class TestServerAndDurableToolsLive(_Scenarios):
    def params(self) -> dict[str, Any]:
        return _support.live_params()

    def test_polling_backoff_with_fake_clock(self) -> None:
        model = ChatQuant(**self.params(), durable_poll_initial=1, durable_poll_max=4)
        sleeps = fake_clock(model)
        model.bind_tools([lookup_stock, find_museum]).invoke(TWO_ROUNDS_Q, durable=True)
        # pending, running, answer (delay resets), running, answer, running, complete
        assert sleeps == [1, 2, 1, 1]

    def test_a_raising_local_tool_stops_the_call_and_the_execution_can_resume(self) -> None:
        calls: list[str] = []

        @tool
        def lookup_stock(symbol: str) -> str:
            """Look up the stock price of a ticker symbol."""
            calls.append(symbol)
            raise RuntimeError("quote service down")

        model = self.llm()
        with pytest.raises(QuantLocalToolError) as info:
            model.bind_tools([lookup_stock]).invoke(MIXED_Q.split(" and ")[1], durable=True)
        assert calls == ["ACME"]
        assert isinstance(info.value.__cause__, RuntimeError)
        assert info.value.tool_name == "lookup_stock"
        # nothing was submitted: the execution still waits and a working tool finishes it
        status = model.quant_client.get_execution(info.value.request_id)
        assert (status.status, status.callback_id) == ("waiting_callback", info.value.callback_id)
        final = model.resume_execution(info.value.request_id, tools=[globals()["lookup_stock"]])
        assert "42 dollars" in final.text

    async def test_a_raising_local_tool_stops_the_async_call_too(self) -> None:
        @tool
        async def lookup_stock(symbol: str) -> str:
            """Look up the stock price of a ticker symbol."""
            raise RuntimeError("quote service down")

        with pytest.raises(QuantLocalToolError) as info:
            await (
                self.llm()
                .bind_tools([lookup_stock])
                .ainvoke(MIXED_Q.split(" and ")[1], durable=True)
            )
        assert str(info.value.__cause__) == "quote service down"
        assert info.value.request_id in str(info.value)

    def test_a_tool_with_handle_tool_error_reports_the_error_to_the_model(self) -> None:
        @tool
        def lookup_stock(symbol: str) -> str:
            """Look up the stock price of a ticker symbol."""
            raise ToolException("quote service down")

        lookup_stock.handle_tool_error = True
        final = (
            self.llm().bind_tools([lookup_stock]).invoke(MIXED_Q.split(" and ")[1], durable=True)
        )
        assert "quote service down" in final.text
        [call] = final.response_metadata["local_tool_calls"]
        assert call["name"] == "lookup_stock"

    async def test_polling_backoff_caps_and_times_out(self) -> None:
        from quant_ai.emulator import QuantEmulator

        with QuantEmulator(execution_polls_per_state=6) as emu:
            params = {"base_url": emu.base_url, "api_key": "qc-emulator", "organization": "acme"}
            model = ChatQuant(**params, durable_poll_initial=1, durable_poll_max=4)
            sleeps = fake_clock(model)
            with pytest.raises(QuantModelExecutionTimeoutError) as info:
                await model.ainvoke("Hello", durable=True, durable_timeout=10)
            assert isinstance(info.value, ModelTimeoutError)
            assert sleeps == [1, 2, 4]  # the next wait (4) would pass the 10 s deadline
            resumed = await ChatQuant(**params, durable_poll_initial=0.001).aresume_execution(
                info.value.request_id
            )
            assert resumed.text


@pytest.mark.vcr
class TestServerAndDurableToolsCassette(_Scenarios):
    @pytest.fixture
    def vcr_config(self) -> dict[str, Any]:
        # polls repeat the same request: each recorded answer must play once, in order
        return {
            "before_record_request": _support.scrub_request,
            "before_record_response": _support.scrub_response,
            "match_on": ["method", "quant_path", "json_body"],
            "allow_playback_repeats": False,
            "decode_compressed_response": True,
        }

    def params(self) -> dict[str, Any]:
        return _support.cassette_params()
