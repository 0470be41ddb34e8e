"""Six short steps that show quant-ai with LangChain and LlamaIndex.

The demo runs against the built-in emulator unless ``QUANT_API_KEY`` and
``QUANT_ORGANIZATION`` are set (or ``--backend`` says otherwise). All steps share one
:class:`quant_ai.QuantClient`, so the last step can print the run's token and cost totals.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

from quant_ai import QuantClient, QuantConfigurationError

STEPS = ("chain", "tools", "structured", "rag", "agent", "usage")


@dataclass
class Context:
    """What every step gets."""

    client: QuantClient
    output_dir: Path
    chat_model: str
    out: Callable[[str], None]


# ----------------------------------------------------------------------------- steps


def step_chain(ctx: Context) -> None:
    """A LangChain LCEL chain, streamed token by token."""
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate

    from langchain_quant import ChatQuant

    prompt = ChatPromptTemplate.from_messages(
        [("system", "You are a concise guide to Australia."), ("human", "{question}")]
    )
    chain = prompt | ChatQuant(model=ctx.chat_model, client=ctx.client) | StrOutputParser()
    pieces = 0
    sys.stdout.write("  answer: ")  # the streamed answer follows on the same line
    for token in chain.stream({"question": "Why is Canberra the capital of Australia?"}):
        sys.stdout.write(token)
        sys.stdout.flush()
        pieces += 1
    ctx.out(f"\n  ({pieces} streamed chunks)")
    if pieces < 2:
        raise RuntimeError("the answer did not stream")


def step_tools(ctx: Context) -> None:
    """A LangChain tool-calling loop with a local Python tool."""
    from langchain_core.messages import BaseMessage, HumanMessage, ToolMessage
    from langchain_core.tools import tool

    from langchain_quant import ChatQuant

    @tool
    def multiply(a: float, b: float) -> float:
        """Multiply two numbers a and b."""
        return a * b

    llm = ChatQuant(model=ctx.chat_model, client=ctx.client).bind_tools([multiply])
    messages: list[BaseMessage] = [HumanMessage("Multiply 6.5 by 12, please.")]
    for _ in range(4):
        reply = llm.invoke(messages)
        messages.append(reply)
        if not reply.tool_calls:
            ctx.out(f"  final answer: {reply.content}")
            return
        for call in reply.tool_calls:
            result = multiply.invoke(call["args"])
            ctx.out(f"  tool call: multiply({call['args']}) -> {result}")
            messages.append(ToolMessage(str(result), tool_call_id=call["id"]))
    raise RuntimeError("the tool loop did not finish in 4 rounds")


class Landmark(BaseModel):
    """A landmark extracted from a sentence."""

    name: str = Field(description="The landmark's name")
    city: str = Field(description="The city it is in")
    year_opened: int = Field(description="The year it opened")


def step_structured(ctx: Context) -> None:
    """LangChain structured output into a pydantic model."""
    from langchain_quant import ChatQuant

    llm = ChatQuant(model=ctx.chat_model, client=ctx.client).with_structured_output(Landmark)
    result = llm.invoke("The Sydney Opera House in Sydney opened in 1973. Extract the landmark.")
    if not isinstance(result, Landmark):
        raise TypeError(f"expected a Landmark, got {type(result).__name__}")
    ctx.out(f"  {result!r}")


def _bundled_documents() -> list[Any]:
    from llama_index.core import Document

    docs = []
    for entry in sorted(resources.files("quant_demo").joinpath("data").iterdir(), key=str):
        if entry.name.endswith(".md"):
            # the file name is the id: running the demo again replaces, not duplicates
            docs.append(
                Document(
                    id_=entry.name, text=entry.read_text("utf-8"), metadata={"file": entry.name}
                )
            )
    return docs


DEMO_COLLECTION = "quant-ai-demo"


def step_rag(ctx: Context) -> None:
    """LlamaIndex RAG over a Quant vector database collection, answered by QuantLLM."""
    from llama_index_quant import QuantIndex, QuantLLM

    # The service chunks and embeds the text: no local embedding calls.
    index = QuantIndex.from_documents(
        _bundled_documents(), collection=DEMO_COLLECTION, client=ctx.client
    )
    ctx.out(f"  collection: {DEMO_COLLECTION} ({index.vector_store.collection_id})")
    engine = index.as_query_engine(
        llm=QuantLLM(model=ctx.chat_model, client=ctx.client), similarity_top_k=2
    )
    question = "When was the Cape Otway Lightstation first lit?"
    response = engine.query(question)
    ctx.out(f"  question: {question}")
    ctx.out(f"  answer:   {str(response).strip()}")
    for node in response.source_nodes:
        ctx.out(f"  source:   {node.metadata.get('file')} (score {node.score:.3f})")
    if not response.source_nodes:
        raise RuntimeError("the query engine returned no sources")


def step_agent(ctx: Context) -> None:
    """A LlamaIndex FunctionAgent with NovaCanvasToolSpec that saves a PNG."""
    from llama_index.core.agent.workflow import FunctionAgent

    from llama_index_quant import NovaCanvasToolSpec, QuantLLM

    image_dir = ctx.output_dir / "images"
    spec = NovaCanvasToolSpec(client=ctx.client, output_dir=image_dir)
    agent = FunctionAgent(
        tools=spec.to_tool_list(),
        llm=QuantLLM(model=ctx.chat_model, client=ctx.client),
        system_prompt="You create images with the generate_image tool when asked.",
    )

    request = "Generate an image of a lighthouse at dusk."
    ctx.out(f"  asked the agent: {request}")

    async def run() -> str:
        from llama_index.core.agent.workflow import ToolCall

        handler = agent.run(request)
        async for event in handler.stream_events():
            if isinstance(event, ToolCall):
                prompt = event.tool_kwargs.get("prompt")
                ctx.out(f"  Nova Canvas prompt ({event.tool_name}): {prompt!r}")
        return str(await handler)

    answer = asyncio.run(run())
    pngs = sorted(image_dir.glob("*.png"))
    ctx.out(f"  agent: {answer.strip()[:200]}")
    if not pngs:
        raise RuntimeError("the agent saved no image")
    for png in pngs:
        ctx.out(f"  saved: {png} ({png.stat().st_size} bytes)")


def step_usage(ctx: Context) -> None:
    """Token usage and cost totals of the run."""
    totals = ctx.client.usage.as_dict()
    ctx.out(
        f"  {totals['requests']} calls, {totals['input_tokens']} input + "
        f"{totals['output_tokens']} output tokens, {totals['cost_cents']:.4f} US cents"
    )
    if not totals["requests"]:
        raise RuntimeError("no usage was recorded")


RUNNERS: dict[str, tuple[str, Callable[[Context], None]]] = {
    "chain": ("LangChain LCEL chain, streamed", step_chain),
    "tools": ("LangChain tool calling with bind_tools", step_tools),
    "structured": ("LangChain structured output", step_structured),
    "rag": ("LlamaIndex RAG over a Quant vector database collection", step_rag),
    "agent": ("LlamaIndex FunctionAgent with Nova Canvas", step_agent),
    "usage": ("Token usage and cost", step_usage),
}


# ----------------------------------------------------------------------------- backend


@contextlib.contextmanager
def backend(name: str) -> Iterator[tuple[QuantClient, str]]:
    """Yield a client for the chosen backend and a description of it."""
    if name == "quant":
        client = QuantClient()
        client.config.require()  # fail now, naming the variable to set
        yield client, f"the Quant AI service at {client.config.base_url}"
        client.close()
        return
    from quant_ai.emulator import QuantEmulator

    with QuantEmulator() as emu:
        client = QuantClient(api_key="demo-key", organization="demo", base_url=emu.base_url)
        yield client, f"the built-in emulator at {emu.base_url} (no token needed)"
        client.close()


def _step_names(only: str | None) -> list[str]:
    if not only:
        return list(STEPS)
    chosen = []
    for item in only.split(","):
        item = item.strip()
        if item.isdigit() and 1 <= int(item) <= len(STEPS):
            chosen.append(STEPS[int(item) - 1])
        elif item in STEPS:
            chosen.append(item)
        else:
            raise SystemExit(f"unknown step {item!r}: use 1-{len(STEPS)} or {', '.join(STEPS)}")
    return chosen


def build_parser() -> argparse.ArgumentParser:
    """The demo's command-line options."""
    has_token = bool(os.environ.get("QUANT_API_KEY")) and bool(
        os.environ.get("QUANT_ORGANIZATION") or os.environ.get("QUANT_ORGANISATION")
    )
    parser = argparse.ArgumentParser(prog="quant-ai demo", description=__doc__)
    parser.add_argument(
        "--backend",
        choices=("emulator", "quant"),
        default="quant" if has_token else "emulator",
        help="where to send requests (default: quant when QUANT_API_KEY and "
        "QUANT_ORGANIZATION are set, else the emulator)",
    )
    parser.add_argument("--output-dir", default="demo-output", help="where images are saved")
    parser.add_argument("--only", help="run only these steps (numbers or names, comma-separated)")
    parser.add_argument("--model", default="amazon.nova-lite-v1:0", help="chat model id")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the demo; return 0 only when every step succeeded (2 when it cannot start)."""
    args = build_parser().parse_args(argv)
    steps = _step_names(args.only)
    output_dir = Path(args.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        with backend(args.backend) as (client, description):
            return _run_steps(client, description, steps, output_dir, args.model)
    except QuantConfigurationError as exc:
        print(
            "quant-ai demo: --backend quant needs QUANT_API_KEY and QUANT_ORGANIZATION "
            f"(and QUANT_BASE_URL if not the default): {exc}",
            file=sys.stderr,
        )
        return 2


def _run_steps(
    client: QuantClient, description: str, steps: list[str], output_dir: Path, model: str
) -> int:
    failed: list[str] = []
    started = time.perf_counter()
    print(f"quant-ai demo: using {description}", flush=True)
    ctx = Context(client, output_dir, model, lambda line: print(line, flush=True))
    for number, name in enumerate(STEPS, 1):
        if name not in steps:
            continue
        title, runner = RUNNERS[name]
        print(f"\n[{number}/{len(STEPS)}] {title}", flush=True)
        try:
            runner(ctx)
        except Exception as exc:  # every failure is reported, then counted
            failed.append(name)
            print(f"  FAILED: {type(exc).__name__}: {exc}", flush=True)
            if os.environ.get("QUANT_DEMO_DEBUG"):
                traceback.print_exc()
        else:
            print("  ok", flush=True)
    elapsed = time.perf_counter() - started
    if failed:
        print(f"\n{len(failed)} step(s) failed: {', '.join(failed)} ({elapsed:.1f}s)")
        return 1
    print(f"\nall {len(steps)} step(s) succeeded in {elapsed:.1f}s; output in {output_dir}")
    return 0
