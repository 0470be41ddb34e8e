"""Checklist items of the LlamaIndex anchors that the conformance suite does not cover.

* class hierarchy of every public class;
* ``FunctionAgent`` hands the images of ``NovaCanvasToolSpec`` back to the model (the next
  chat request carries them as image blocks inside the tool result), and the summary-only
  option for text-only models;
* a history with tool calls sent without tools (plain ``chat``) goes as text;
* separate connect and read timeouts;
* ``ReActAgent`` (text-format tool use, streamed) over a scripted transport;
* ``AgentWorkflow``, ``index.as_chat_engine()`` and the global ``Settings`` live on the
  emulator.
"""

from __future__ import annotations

import base64
import json
import pickle
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from llama_index.core import Document, Settings, VectorStoreIndex
from llama_index.core.agent.react import ReActChatFormatter, ReActOutputParser
from llama_index.core.agent.workflow import AgentWorkflow, FunctionAgent, ReActAgent
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.base.llms.base import BaseLLM
from llama_index.core.base.llms.types import ChatMessage, ImageBlock, TextBlock, ToolCallBlock
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.tools import FunctionTool
from llama_index.core.tools.tool_spec.base import BaseToolSpec

from llama_index_quant import NovaCanvasToolSpec, QuantEmbedding, QuantLLM
from quant_ai.emulator import QuantEmulator
from tests.llama_index.test_llm import answer

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGP4z8DwHwAFAAH/iZk9HQAAAABJRU5ErkJggg=="
)
DATA = Path(__file__).resolve().parents[2] / "quant_demo" / "data"


def multiply(a: int, b: int) -> int:
    """Multiply two integers a and b and return the product."""
    return a * b


def sse(*events: tuple[str, dict[str, Any]]) -> httpx.Response:
    body = "".join(f"event: {n}\ndata: {json.dumps(d)}\n\n" for n, d in events)
    return httpx.Response(200, text=body, headers={"content-type": "text/event-stream"})


# ------------------------------------------------------------------ classes


def test_class_hierarchy() -> None:
    assert issubclass(QuantLLM, FunctionCallingLLM)
    assert issubclass(QuantLLM, BaseLLM)
    assert issubclass(QuantEmbedding, BaseEmbedding)
    assert issubclass(NovaCanvasToolSpec, BaseToolSpec)
    assert QuantLLM.class_name() == "QuantLLM"
    assert QuantEmbedding.class_name() == "QuantEmbedding"


# ------------------------------------------------------------------ images back to the model


def canvas_agent_handler(bodies: list[tuple[str, Any]]) -> Any:
    chats = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal chats
        body = json.loads(request.content)
        path = request.url.path
        bodies.append((path.rsplit("/ai/", 1)[1], body))
        if path.endswith("/ai/image-generation"):
            return httpx.Response(200, json={"images": [base64.b64encode(PNG).decode()]})
        chats += 1
        call = {"toolUseId": "c1", "name": "generate_image", "input": {"prompt": "a dot"}}
        if path.endswith("/chat/stream"):
            if chats == 1:
                return sse(
                    ("tool_request", {"toolUse": [call]}),
                    ("done", {"complete": False, "stopReason": "tool_request"}),
                )
            return sse(("content", {"delta": "A single red dot."}), ("done", {"complete": True}))
        if chats == 1:
            return httpx.Response(200, json=answer("", [call]))
        return httpx.Response(200, json=answer("A single red dot."))

    return handler


@pytest.mark.parametrize("streaming", [True, False])
async def test_function_agent_hands_the_generated_image_back_to_the_model(
    make_client: Any, streaming: bool
) -> None:
    bodies: list[tuple[str, Any]] = []
    client, _ = make_client(canvas_agent_handler(bodies))
    spec = NovaCanvasToolSpec(client=client)
    agent = FunctionAgent(
        tools=spec.to_tool_list(), llm=QuantLLM(client=client), streaming=streaming
    )
    result = await agent.run("draw a dot, then describe it")
    assert "red dot" in str(result)
    chat = "chat/stream" if streaming else "chat"
    assert [path for path, _ in bodies] == [chat, "image-generation", chat]
    last_turn = bodies[2][1]["messages"][-1]
    assert last_turn["role"] == "user"
    tool_result = last_turn["content"][0]["toolResult"]
    assert tool_result["toolUseId"] == "c1"
    text, image = tool_result["content"]
    assert "nova_1.png" in text["text"]
    assert image["image"]["format"] == "png"
    assert base64.b64decode(image["image"]["source"]["bytes"]) == PNG


def test_summary_only_for_text_only_models(make_client: Any, tmp_path: Path) -> None:
    client, _ = make_client(canvas_agent_handler([]))
    spec = NovaCanvasToolSpec(client=client, output_dir=tmp_path, return_images=False)
    blocks = spec.generate_image("a dot")
    assert len(blocks) == 1
    assert isinstance(blocks[0], TextBlock)
    assert "nova_1.png" in blocks[0].text
    assert (tmp_path / "nova_1.png").read_bytes() == PNG
    edited = spec.remove_background("nova_1.png")  # the image is still usable by name
    assert [type(b) for b in edited] == [TextBlock]
    full = NovaCanvasToolSpec(client=client).generate_image("a dot")
    assert [type(b) for b in full] == [TextBlock, ImageBlock]


# ------------------------------------------------------------------ tool history, timeouts


def test_plain_chat_sends_a_tool_history_as_text(make_client: Any) -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=answer("The product was 42."))

    client, _ = make_client(handler)
    llm = QuantLLM(client=client)
    history = [
        ChatMessage(role="user", content="multiply 6 and 7"),
        ChatMessage(
            role="assistant",
            blocks=[ToolCallBlock(tool_call_id="t1", tool_name="multiply", tool_kwargs={"a": 6})],
        ),
        ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "t1"}),
        ChatMessage(role="user", content="What was the result?"),
    ]
    assert llm.chat(history).message.content == "The product was 42."
    assert "toolConfig" not in bodies[0]
    texts = [
        b["text"]
        for m in bodies[0]["messages"]
        for b in ([{"text": m["content"]}] if isinstance(m["content"], str) else m["content"])
    ]
    assert texts == [
        "multiply 6 and 7",
        '[called tool `multiply` with {"a": 6}]',
        "[result of tool `multiply`]: 42",
        "What was the result?",
    ]
    llm.chat_with_tools([FunctionTool.from_defaults(multiply)], chat_history=history)
    assert bodies[1]["messages"][1]["content"][0]["toolUse"]["toolUseId"] == "t1"


def test_connect_and_read_timeouts_are_separate() -> None:
    llm = QuantLLM(timeout=30, connect_timeout=2)
    assert llm.client.transport.timeout == httpx.Timeout(30.0, connect=2.0)
    assert QuantLLM(connect_timeout=3).client.transport.timeout == httpx.Timeout(120.0, connect=3.0)
    assert QuantLLM(timeout=40).client.transport.timeout == httpx.Timeout(40.0)
    embed = QuantEmbedding(connect_timeout=1.5)
    assert embed.client.transport.timeout == httpx.Timeout(120.0, connect=1.5)
    copy = pickle.loads(pickle.dumps(llm))
    assert copy.client.transport.timeout == httpx.Timeout(30.0, connect=2.0)
    assert llm.to_dict()["connect_timeout"] == 2.0
    with pytest.raises(ValueError):
        QuantLLM(connect_timeout=0)
    spec = NovaCanvasToolSpec(timeout=httpx.Timeout(600.0, connect=5.0))
    assert spec.client.transport.timeout == httpx.Timeout(600.0, connect=5.0)


# ------------------------------------------------------------------ ReActAgent


@pytest.mark.filterwarnings("ignore:is_running called:DeprecationWarning")  # in the core
async def test_react_agent_streams_text_format_tool_use(make_client: Any) -> None:
    """ReActAgent drives a model through text (Thought/Action/Observation), streamed."""
    bodies: list[Any] = []
    steps = [
        "Thought: I need to use a tool to help me answer the question.\nAction: multiply\n"
        'Action Input: {"a": 6, "b": 7}',
        "Thought: I can answer without using any more tools.\nAnswer: The product is 42.",
    ]

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        text = steps[len(bodies) - 1]
        half = len(text) // 2
        return sse(
            ("start", {"requestId": f"r{len(bodies)}", "model": "amazon.nova-lite-v1:0"}),
            ("content", {"delta": text[:half]}),
            ("content", {"delta": text[half:]}),
            ("done", {"complete": True, "usage": {"inputTokens": 9, "outputTokens": 9}}),
        )

    client, transport = make_client(handler)
    agent = ReActAgent(tools=[FunctionTool.from_defaults(multiply)], llm=QuantLLM(client=client))
    result = await agent.run("What is 6 times 7?")
    assert "42" in str(result)
    assert [t.tool_name for t in result.tool_calls] == ["multiply"]
    assert [op for op, _ in transport.requests] == ["chatInferenceStream"] * 2
    assert "multiply" in bodies[0]["systemPrompt"]  # the ReAct header lists the tools
    second = json.dumps(bodies[1]["messages"])
    assert "Observation: 42" in second
    assert "toolConfig" not in bodies[1]


# ------------------------------------------------------------------ live on the emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[QuantEmulator]:
    with QuantEmulator() as emu:
        yield emu


def live(emu: QuantEmulator) -> dict[str, Any]:
    return {"base_url": emu.base_url, "organization": "acme", "api_key": "qc_emulator"}


def documents() -> list[Document]:
    return [
        Document(text=p.read_text(), metadata={"file": p.name}) for p in sorted(DATA.glob("*.md"))
    ]


@pytest.mark.emulator
async def test_agent_workflow_with_a_function_agent(emulator: QuantEmulator) -> None:
    calculator = FunctionAgent(
        name="calculator",
        description="Does arithmetic with the multiply tool.",
        tools=[FunctionTool.from_defaults(multiply)],
        llm=QuantLLM(**live(emulator)),
    )
    workflow = AgentWorkflow(agents=[calculator], root_agent="calculator")
    result = await workflow.run(user_msg="multiply 9 and 4")
    assert "36" in str(result)
    assert [t.tool_name for t in result.tool_calls] == ["multiply"]


@pytest.mark.emulator
def test_chat_engine_answers_from_the_index(emulator: QuantEmulator) -> None:
    index = VectorStoreIndex.from_documents(
        documents(), embed_model=QuantEmbedding(**live(emulator), dimensions=256)
    )
    engine = index.as_chat_engine(llm=QuantLLM(**live(emulator)))  # condense_plus_context
    answer = engine.chat("When was the Cape Otway Lightstation first lit?")
    assert "1848" in str(answer)
    assert any(n.node.metadata["file"] == "lighthouses.md" for n in answer.source_nodes)
    follow_up = engine.chat("And when was the Cape Otway Lightstation first lit again?")
    assert "1848" in str(follow_up)
    assert len(engine.chat_history) == 4


@pytest.mark.emulator
def test_global_settings(emulator: QuantEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Settings, "_llm", QuantLLM(**live(emulator)))
    monkeypatch.setattr(Settings, "_embed_model", QuantEmbedding(**live(emulator)))
    index = VectorStoreIndex.from_documents(documents())  # models from Settings
    answer = index.as_query_engine().query("When was the Cape Otway Lightstation first lit?")
    assert "1848" in str(answer)


def test_predict_and_call_falls_back_to_react_without_function_calling(make_client: Any) -> None:
    action = 'Thought: I need a tool.\nAction: multiply\nAction Input: {"a": 6, "b": 7}'
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if request.url.path.endswith("/chat/stream"):
            return sse(("content", {"delta": action}), ("done", {"complete": True}))
        return httpx.Response(200, json=answer(action))

    client, _ = make_client(handler)
    llm = QuantLLM(client=client, is_function_calling_model=False)
    # llama-index-core 0.14.25 passes formatter=None to ReActAgent unless given (a core bug)
    response = llm.predict_and_call(
        [FunctionTool.from_defaults(multiply)],
        "What is 6 times 7?",
        react_chat_formatter=ReActChatFormatter.from_defaults(),
        output_parser=ReActOutputParser(),
    )
    assert response.response == "42"
    assert "toolConfig" not in bodies[0]  # tools described in the prompt, not sent natively


# ------------------------------------------------------------------ real async


def sync_forbidden(request: httpx.Request) -> httpx.Response:
    raise AssertionError("the sync client was used by an async method")


async def test_async_methods_use_the_async_client_only() -> None:
    """Injected clients: the sync one fails every request, so each async entry point must go
    through the AsyncClient (no thread-pool fallback onto the sync path)."""
    from tests.contract import ContractTransport

    def handler(request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/chat/stream"):
            return sse(("content", {"delta": "Hi"}), ("done", {"complete": True}))
        if path.endswith("/embeddings"):
            texts = json.loads(request.content)["input"]
            return httpx.Response(
                200,
                json={
                    "embeddings": [[1.0, 0.0]] * len(texts),
                    "model": "amazon.titan-embed-text-v2:0",
                    "dimension": 2,
                    "usage": {"inputTokens": 1, "totalTokens": 1},
                },
            )
        if path.endswith("/image-generation"):
            return httpx.Response(200, json={"images": [base64.b64encode(PNG).decode()]})
        return httpx.Response(200, json=answer("Hi"))

    transport = ContractTransport(handler)
    settings: dict[str, Any] = {
        "api_key": "qc_async_key",
        "organization": "acme",
        "base_url": "https://quant.test",
        "http_client": httpx.Client(transport=httpx.MockTransport(sync_forbidden)),
        "async_http_client": httpx.AsyncClient(transport=transport),
    }
    llm = QuantLLM(**settings)
    messages = [ChatMessage(role="user", content="Hi")]
    assert (await llm.achat(messages)).message.content == "Hi"
    assert (await llm.acomplete("Hi")).text == "Hi"
    assert [c.delta async for c in await llm.astream_chat(messages)][-2:] == ["Hi", ""]
    assert [c.text async for c in await llm.astream_complete("Hi")][-1] == "Hi"
    embed = QuantEmbedding(**settings)
    assert await embed.aget_text_embedding_batch(["a", "b"]) == [[1.0, 0.0], [1.0, 0.0]]
    assert await embed.aget_query_embedding("q") == [1.0, 0.0]
    blocks = await NovaCanvasToolSpec(**settings).agenerate_image("a dot")
    assert isinstance(blocks[1], ImageBlock)
    assert [op for op, _ in transport.requests] == [
        "chatInference",
        "chatInference",
        "chatInferenceStream",
        "chatInferenceStream",
        "embeddings",
        "embeddings",
        "imageGeneration",
    ]
    with pytest.raises(AssertionError, match="sync client"):
        llm.chat(messages)  # the sync path really is the other client


def test_tool_choice_none_turns_server_side_execution_off(make_client: Any) -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=answer("No tools."))

    client, _ = make_client(handler)
    llm = QuantLLM(client=client, auto_execute=True, allowed_tools=["get_weather"])
    tools = [FunctionTool.from_defaults(multiply)]
    llm.chat_with_tools(tools, user_msg="weather in Paris?", tool_choice="none")
    assert "toolConfig" not in bodies[0]
    llm.chat_with_tools(tools, user_msg="weather in Paris?")
    config = bodies[1]["toolConfig"]
    assert (config["autoExecute"], config["allowedTools"]) == (True, ["get_weather"])
