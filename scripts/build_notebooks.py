"""Write the notebooks under ``notebooks/`` and execute them with their outputs saved.

Usage::

    python scripts/build_notebooks.py            # every notebook, against the emulator
    python scripts/build_notebooks.py 02 05      # only the notebooks whose names start so

The cells are defined here so that the notebooks stay reviewable as code; the committed
``.ipynb`` files carry the outputs of the last run. ``tests/test_notebooks.py`` executes every
notebook again so that none of them rots.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "notebooks"

SETUP = """\
import os

# Use the real service when a token is set, else start the built-in emulator.
if not (os.environ.get("QUANT_API_KEY") and os.environ.get("QUANT_ORGANIZATION")):
    from quant_ai.emulator import QuantEmulator

    emulator = QuantEmulator().start()
    os.environ.update(
        QUANT_API_KEY="emulator-key", QUANT_ORGANIZATION="demo", QUANT_BASE_URL=emulator.base_url
    )
    print("Using the built-in emulator")
else:
    print("Using the Quant AI service")"""

NOTEBOOKS: dict[str, list[tuple[str, str]]] = {
    "01_langchain_quickstart.ipynb": [
        (
            "md",
            "# LangChain quickstart with `ChatQuant`\n\nInvoke, stream, async, batch, tools, "
            "structured output and multimodal input. Runs against the built-in emulator "
            "unless `QUANT_API_KEY` and `QUANT_ORGANIZATION` are set.",
        ),
        ("code", SETUP),
        ("md", "## Invoke"),
        (
            "code",
            "from langchain_quant import ChatQuant\n\n"
            'llm = ChatQuant(model="amazon.nova-lite-v1:0", temperature=0.2)\n'
            'message = llm.invoke("What is the capital of Australia?")\n'
            "print(message.content)\nprint(message.usage_metadata)\n"
            'print({k: message.response_metadata[k] for k in ("model_name", "finish_reason")})',
        ),
        ("md", "## Stream"),
        (
            "code",
            'for chunk in llm.stream("Tell me about the platypus in one sentence."):\n'
            '    print(chunk.content, end="|")',
        ),
        ("md", "## Async and batch"),
        (
            "code",
            'reply = await llm.ainvoke("Say hello in French.")\nprint(reply.content)\n\n'
            'async for chunk in llm.astream("Count to three."):\n    print(chunk.content, end="")\n'
            "print()\n"
            'for answer in llm.batch(["Name a colour.", "Name a fruit."]):\n'
            "    print(answer.content)",
        ),
        ("md", "## Tool calling"),
        (
            "code",
            "from langchain_core.messages import HumanMessage, ToolMessage\n"
            "from langchain_core.tools import tool\n\n\n"
            "@tool\ndef get_population(city: str) -> int:\n"
            '    """Get the population of a city."""\n'
            '    return {"Sydney": 5_450_000, "Perth": 2_310_000}.get(city, 0)\n\n\n'
            "with_tools = llm.bind_tools([get_population])\n"
            'messages = [HumanMessage("What is the population of Perth?")]\n'
            "reply = with_tools.invoke(messages)\nprint(reply.tool_calls)\n"
            "messages.append(reply)\n"
            "for call in reply.tool_calls:\n"
            '    messages.append(ToolMessage(str(get_population.invoke(call["args"])), tool_call_id=call["id"]))\n'
            "print(with_tools.invoke(messages).content)",
        ),
        ("md", "## Structured output"),
        (
            "code",
            "from pydantic import BaseModel, Field\n\n\n"
            "class City(BaseModel):\n"
            '    name: str = Field(description="The city")\n'
            '    country: str = Field(description="Its country")\n'
            '    founded: int = Field(description="Year founded")\n\n\n'
            "extractor = llm.with_structured_output(City)\n"
            'extractor.invoke("Melbourne, Australia, was founded in 1835.")',
        ),
        ("md", "## Multimodal input\n\nImages and PDFs go in as standard content blocks."),
        (
            "code",
            "import base64\n\n"
            "png = base64.b64decode(\n"
            '    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg=="\n'
            ")\n"
            "question = HumanMessage(\n"
            "    content=[\n"
            '        {"type": "image", "base64": base64.b64encode(png).decode(), "mime_type": "image/png"},\n'
            '        {"type": "text", "text": "What is in this image?"},\n'
            "    ]\n"
            ")\nprint(llm.invoke([question]).content)",
        ),
    ],
    "02_llamaindex_rag.ipynb": [
        (
            "md",
            "# LlamaIndex RAG over a Quant vector database collection\n\n"
            "`QuantIndex` (a managed index: the service chunks and embeds, nothing is embedded "
            "locally), query and chat engines with sources, metadata filters evaluated by the "
            "service, deleting a document, `VectorStoreIndex` over `QuantVectorStore`, and "
            "token counting.",
        ),
        ("code", SETUP),
        (
            "code",
            "from importlib import resources\n\n"
            "from llama_index.core import Document, Settings\n"
            "from llama_index_quant import QuantIndex, QuantLLM\n\n"
            'Settings.llm = QuantLLM(model="amazon.nova-lite-v1:0")\n\n'
            "documents = [\n"
            "    Document(\n"
            "        id_=f.name,  # a stable id: running again replaces instead of duplicating\n"
            '        text=f.read_text("utf-8"),\n'
            '        metadata={"file": f.name, "tags": ["australia", f.name.removesuffix(".md")]},\n'
            "    )\n"
            '    for f in sorted(resources.files("quant_demo").joinpath("data").iterdir(), key=str)\n'
            '    if f.name.endswith(".md")\n'
            "]\n"
            "# Uploads the text; the collection is created when it does not exist yet.\n"
            'index = QuantIndex.from_documents(documents, collection="notebook-rag")\n'
            'print(len(documents), "documents in", index.vector_store.collection_id)',
        ),
        ("md", "## Query engine, with its sources"),
        (
            "code",
            "engine = index.as_query_engine(similarity_top_k=2)\n"
            'response = engine.query("Who designed Canberra?")\nprint(response)\n'
            "for node in response.source_nodes:\n"
            '    print(node.node.node_id, node.metadata["file"], round(node.score, 3))',
        ),
        (
            "md",
            "## Metadata filters run on the service\n\n"
            "`EQ`, `CONTAINS` and `ANY` joined by `AND` are evaluated by the service; any other "
            "operator is refused before a request is sent (never dropped, never applied to "
            "fewer results than asked for).",
        ),
        (
            "code",
            "from llama_index.core.vector_stores import FilterOperator, MetadataFilter, MetadataFilters\n\n"
            'reef_only = MetadataFilters(filters=[MetadataFilter(key="file", value="reef.md")])\n'
            "filtered = index.as_query_engine(similarity_top_k=2, filters=reef_only)\n"
            'response = filtered.query("Who designed Canberra?")\n'
            'print([node.metadata["file"] for node in response.source_nodes])\n\n'
            "either = MetadataFilters(\n"
            '    filters=[MetadataFilter(key="tags", value=["platypus", "reef"], operator=FilterOperator.ANY)]\n'
            ")\n"
            'nodes = index.as_retriever(similarity_top_k=4, filters=either).retrieve("Australia")\n'
            "print(sorted(n.node.node_id for n in nodes))\n\n"
            'newer = MetadataFilters(filters=[MetadataFilter(key="year", value=1900, operator=FilterOperator.GT)])\n'
            "try:\n"
            '    index.as_retriever(filters=newer).retrieve("Australia")\n'
            "except ValueError as error:\n"
            "    print(type(error).__name__, error)",
        ),
        ("md", "## Chat engine"),
        (
            "code",
            'chat = index.as_chat_engine(chat_mode="context", similarity_top_k=1)\n'
            'reply = chat.chat("When did the reef become a World Heritage Area?")\n'
            "print(reply)\n"
            'print([node.metadata["file"] for node in reply.source_nodes])',
        ),
        ("md", "## Deleting a document removes it from answers"),
        (
            "code",
            'question = "When was the Cape Otway Lightstation first lit?"\n'
            'print([n.metadata["file"] for n in engine.query(question).source_nodes])\n'
            'index.delete_ref_doc("lighthouses.md")\n'
            'print([n.metadata["file"] for n in engine.query(question).source_nodes])\n'
            'index.insert(next(d for d in documents if d.id_ == "lighthouses.md"))  # and back',
        ),
        (
            "md",
            "## `VectorStoreIndex` over `QuantVectorStore`\n\n"
            "When you want LlamaIndex's own pipeline (node parsers, `IngestionPipeline`, code that "
            "expects a `VectorStoreIndex`), keep the nodes in a Quant collection with "
            "`QuantVectorStore`. `VectorStoreIndex` embeds every node locally before storing it "
            "(the service re-embeds the text), so it needs an embedding model; `QuantIndex` "
            "does not.",
        ),
        (
            "code",
            "from llama_index.core import StorageContext, VectorStoreIndex\n"
            "from llama_index.core.node_parser import SentenceSplitter\n"
            "from llama_index_quant import QuantEmbedding, QuantVectorStore\n\n"
            'store = QuantVectorStore(collection="notebook-rag-nodes")\n'
            "pipeline_index = VectorStoreIndex.from_documents(\n"
            "    documents,\n"
            "    storage_context=StorageContext.from_defaults(vector_store=store),\n"
            "    embed_model=QuantEmbedding(dimensions=512),\n"
            "    transformations=[SentenceSplitter(chunk_size=128, chunk_overlap=0)],\n"
            ")\n"
            'response = pipeline_index.as_query_engine(similarity_top_k=2).query("What do platypus males carry?")\n'
            "print(response)\n"
            "for node in response.source_nodes:\n"
            "    print(node.node.ref_doc_id, node.node.node_id[:8], round(node.score, 3))",
        ),
        (
            "md",
            "## Token counting\n\n`TokenCountingHandler` sees the real token counts Quant reports.",
        ),
        (
            "code",
            "from llama_index.core.callbacks import CallbackManager, TokenCountingHandler\n\n"
            "counter = TokenCountingHandler()\n"
            "Settings.callback_manager = CallbackManager([counter])\n"
            'engine = index.as_query_engine(similarity_top_k=1, llm=QuantLLM(model="amazon.nova-lite-v1:0"))\n'
            'engine.query("What do platypus males carry on their hind legs?")\n'
            'print("prompt tokens:", counter.prompt_llm_token_count)\n'
            'print("completion tokens:", counter.completion_llm_token_count)',
        ),
    ],
    "06_langchain_rag.ipynb": [
        (
            "md",
            "# LangChain RAG over a Quant vector database collection\n\n"
            "`QuantVectorStore` keeps the documents (the service embeds them: no `Embeddings` "
            "object), `ChatQuant` answers, and an LCEL chain joins them, with sources, "
            "metadata filters, streaming and async. Runs against the built-in emulator unless "
            "`QUANT_API_KEY` and `QUANT_ORGANIZATION` are set.",
        ),
        ("code", SETUP),
        (
            "code",
            "from importlib import resources\n\n"
            "from langchain_core.documents import Document\n"
            "from langchain_quant import ChatQuant, QuantVectorStore\n\n"
            "documents = [\n"
            "    Document(\n"
            '        page_content=f.read_text("utf-8"),\n'
            '        metadata={"file": f.name, "tags": ["australia", f.name.removesuffix(".md")]},\n'
            "    )\n"
            '    for f in sorted(resources.files("quant_demo").joinpath("data").iterdir(), key=str)\n'
            '    if f.name.endswith(".md")\n'
            "]\n"
            "# The collection is created on first use; the ids make a second run replace, not add.\n"
            'store = QuantVectorStore(collection="notebook-langchain-rag")\n'
            'store.add_documents(documents, ids=[d.metadata["file"] for d in documents])',
        ),
        ("md", "## Search, with scores and filters"),
        (
            "code",
            'for doc, score in store.similarity_search_with_score("Who designed Canberra?", k=2):\n'
            "    print(doc.id, round(score, 3), doc.metadata)\n\n"
            "print([d.id for d in store.similarity_search(\n"
            '    "Who designed Canberra?", k=2, filter={"tags": {"$contains": ["reef", "platypus"]}}\n'
            ")])\n"
            "try:\n"
            '    store.similarity_search("Who designed Canberra?", filter={"year": {"$gt": 1900}})\n'
            "except ValueError as error:  # quant_ai.UnsupportedFilterError\n"
            "    print(type(error).__name__, error)",
        ),
        ("md", "## An LCEL chain: retriever, prompt, `ChatQuant`, with its sources"),
        (
            "code",
            "from langchain_core.output_parsers import StrOutputParser\n"
            "from langchain_core.prompts import ChatPromptTemplate\n"
            "from langchain_core.runnables import RunnableParallel, RunnablePassthrough\n\n"
            "prompt = ChatPromptTemplate.from_messages(\n"
            "    [\n"
            '        ("system", "Answer from the context only.\\n\\nContext:\\n{context}"),\n'
            '        ("human", "{question}"),\n'
            "    ]\n"
            ")\n\n\n"
            "def as_context(docs: list[Document]) -> str:\n"
            '    return "\\n\\n".join(d.page_content for d in docs)\n\n\n'
            'retriever = store.as_retriever(search_kwargs={"k": 2})\n'
            'llm = ChatQuant(model="amazon.nova-lite-v1:0")\n'
            "answer = (\n"
            '    RunnablePassthrough.assign(context=lambda x: as_context(x["docs"]))\n'
            "    | prompt\n"
            "    | llm\n"
            "    | StrOutputParser()\n"
            ")\n"
            "rag = RunnableParallel(docs=retriever, question=RunnablePassthrough()).assign(answer=answer)\n"
            'result = rag.invoke("When was the Cape Otway Lightstation first lit?")\n'
            'print(result["answer"])\n'
            'print("sources:", [d.metadata["file"] for d in result["docs"]])',
        ),
        ("md", "## Streaming and async"),
        (
            "code",
            'for chunk in rag.stream("What do platypus males carry?"):\n'
            '    if "answer" in chunk:\n'
            '        print(chunk["answer"], end="|")\n'
            "print()\n"
            'result = await rag.ainvoke("When did the reef become a World Heritage Area?")\n'
            'print(result["answer"], [d.metadata["file"] for d in result["docs"]])',
        ),
        ("md", "## Deleting a document removes it from answers"),
        (
            "code",
            'store.delete(ids=["lighthouses.md"])\n'
            'result = rag.invoke("When was the Cape Otway Lightstation first lit?")\n'
            'print("sources:", [d.metadata["file"] for d in result["docs"]])\n'
            'store.add_documents([d for d in documents if d.metadata["file"] == "lighthouses.md"], ids=["lighthouses.md"])',
        ),
    ],
    "03_agents_and_tools.ipynb": [
        (
            "md",
            "# Agents and tools\n\nA LangChain tool loop, a LlamaIndex `FunctionAgent`, "
            "tools the service runs itself, and durable executions.",
        ),
        ("code", SETUP),
        ("md", "## LangChain: a manual tool loop"),
        (
            "code",
            "from langchain_core.messages import HumanMessage, ToolMessage\n"
            "from langchain_core.tools import tool\n"
            "from langchain_quant import ChatQuant\n\n\n"
            '@tool\ndef add(a: float, b: float) -> float:\n    """Add two numbers a and b."""\n'
            "    return a + b\n\n\n"
            "llm = ChatQuant().bind_tools([add])\n"
            'messages = [HumanMessage("Add 17 and 25.")]\n'
            "while True:\n"
            "    reply = llm.invoke(messages)\n"
            "    messages.append(reply)\n"
            "    if not reply.tool_calls:\n"
            "        break\n"
            "    for call in reply.tool_calls:\n"
            '        messages.append(ToolMessage(str(add.invoke(call["args"])), tool_call_id=call["id"]))\n'
            "print(reply.content)",
        ),
        ("md", "## LlamaIndex: FunctionAgent"),
        (
            "code",
            "from llama_index.core.agent.workflow import FunctionAgent\n"
            "from llama_index.core.tools import FunctionTool\n"
            "from llama_index_quant import QuantLLM\n\n\n"
            "def multiply(a: float, b: float) -> float:\n"
            '    """Multiply two numbers a and b."""\n'
            "    return a * b\n\n\n"
            "agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=QuantLLM())\n"
            'print(await agent.run("Multiply 12 by 12."))',
        ),
        (
            "md",
            "## Tools the service runs itself\n\nName Quant's built-in tools; the service "
            "executes them and returns the final answer. The executed calls come back as "
            "`server_tool_call` / `server_tool_result` blocks, never as `tool_calls` an agent "
            "would run again.",
        ),
        (
            "code",
            'server_side = ChatQuant().bind_tools(["get_weather"])\n'
            'reply = server_side.invoke("What is the weather in Paris?")\n'
            "print(reply.text)\nprint(reply.tool_calls)\n"
            'print([block["type"] for block in reply.content if isinstance(block, dict)])',
        ),
        (
            "md",
            "## Durable executions with LangChain\n\n`durable=True` sends `async: true`: the "
            "service runs the loop, pauses when it needs a client tool, and `ChatQuant` runs "
            "the bound tool locally and answers the callback. Each status change is a "
            "`quant_execution_status` custom event.",
        ),
        (
            "code",
            "from langchain_core.callbacks import BaseCallbackHandler\n\n\n"
            "@tool\ndef lookup_order(order: str) -> dict:\n"
            '    """Look up the status of an order by its number."""\n'
            '    return {"order": order, "status": "shipped"}\n\n\n'
            "class Progress(BaseCallbackHandler):\n"
            "    def on_custom_event(self, name, data, **kwargs):\n"
            '        if name == "quant_execution_status":\n'
            '            print("status:", data["status"], data["pending_tools"])\n\n\n'
            "durable_llm = ChatQuant(durable=True, durable_poll_initial=0.05, durable_poll_max=0.5)\n"
            "final = durable_llm.bind_tools([lookup_order]).invoke(\n"
            "    'look up order \"A-42\"', {'callbacks': [Progress()]}\n"
            ")\n"
            "print(final.text)\n"
            'print(final.usage_metadata, final.response_metadata["local_tool_calls"])',
        ),
        (
            "md",
            "## Durable executions with LlamaIndex, and resuming one\n\n`QuantLLM` does the "
            "same with `FunctionTool`s, tool specs or plain functions. A started execution can "
            "be stored by its `request_id` and resumed later, from another process.",
        ),
        (
            "code",
            "def lookup_parcel(order: str) -> dict:\n"
            '    """Look up the status of an order by its number."""\n'
            '    return {"order": order, "status": "delivered"}\n\n\n'
            "durable_llama = QuantLLM(durable_poll_initial=0.05, durable_poll_max=0.5)\n"
            "response = durable_llama.chat_with_tools(\n"
            "    [lookup_parcel], user_msg='look up parcel \"P-7\"', durable=True\n"
            ")\n"
            "print(response.message.content)\n\n"
            "handle = durable_llama.start_execution(\n"
            "    'look up parcel \"P-9\"', tools=[lookup_parcel]\n"
            ")\n"
            'print("stored id:", handle.request_id)\n'
            "later = QuantLLM(durable_poll_initial=0.05, durable_poll_max=0.5)  # e.g. after a restart\n"
            "print(later.resume_execution(handle.request_id, tools=[lookup_parcel]).message.content)",
        ),
    ],
    "04_nova_canvas.ipynb": [
        ("md", "# Nova Canvas image generation\n\nEvery task type, shown inline."),
        ("code", SETUP),
        (
            "code",
            "from IPython.display import Image, display\n"
            "from quant_ai import QuantClient\n\n"
            "client = QuantClient()\n"
            'size = {"width": 320, "height": 320}\n'
            "first = client.generate_image(QuantClient.text_to_image_request(\n"
            '    "a lighthouse at dusk", style="PHOTOREALISM", seed=7, **size)).images[0]\n'
            "display(Image(data=first.data))",
        ),
        (
            "code",
            "tasks = {\n"
            '    "TEXT_IMAGE with conditioning": {"task_type": "TEXT_IMAGE", "text_to_image_params": {\n'
            '        "text": "a lighthouse", "condition_image": first.data, "control_mode": "CANNY_EDGE"}},\n'
            '    "COLOR_GUIDED_GENERATION": {"task_type": "COLOR_GUIDED_GENERATION", "color_guided_generation_params": {\n'
            '        "text": "a lighthouse", "colors": ["#1E3A8A", "#F59E0B"]}},\n'
            '    "IMAGE_VARIATION": {"task_type": "IMAGE_VARIATION", "image_variation_params": {\n'
            '        "images": [first.data], "similarity_strength": 0.7, "text": "in winter"}},\n'
            '    "INPAINTING": {"task_type": "INPAINTING", "in_painting_params": {\n'
            '        "image": first.data, "mask_prompt": "the sky", "text": "a starry sky"}},\n'
            '    "OUTPAINTING": {"task_type": "OUTPAINTING", "out_painting_params": {\n'
            '        "image": first.data, "mask_prompt": "the lighthouse", "text": "a wide beach"}},\n'
            '    "BACKGROUND_REMOVAL": {"task_type": "BACKGROUND_REMOVAL", "background_removal_params": {\n'
            '        "image": first.data}},\n'
            '    "VIRTUAL_TRY_ON": {"task_type": "VIRTUAL_TRY_ON", "virtual_try_on_params": {\n'
            '        "sourceImage": first.data, "referenceImage": first.data}},\n'
            "}\n"
            "for title, request in tasks.items():\n"
            "    result = client.generate_image(request, image_generation_config=size)\n"
            '    print(title, [f"{len(i.data)} bytes {i.mime_type}" for i in result.images])\n'
            "    display(Image(data=result.images[0].data))",
        ),
        ("md", "## As a LangChain tool"),
        (
            "code",
            "from langchain_quant import NovaCanvasTool\n\n"
            'message = NovaCanvasTool().invoke({"name": "nova_canvas", "id": "call-1", "type": "tool_call",\n'
            '                                   "args": {"prompt": "a red fox", "width": 320, "height": 320}})\n'
            "print(message.content)\n"
            "display(Image(data=message.artifact[0].data))",
        ),
    ],
    "05_conversations_agents_spend.ipynb": [
        (
            "md",
            "# Conversations, agents and spend\n\nServer-side conversations (Quant sessions) as "
            "chat history, hosted Quant agents as runnables and tools, and the cost of a run "
            "with a budget, from the core, LangChain and LlamaIndex. Runs against the built-in "
            "emulator unless `QUANT_API_KEY` and `QUANT_ORGANIZATION` are set.",
        ),
        ("code", SETUP),
        ("md", "## Sessions in the core"),
        (
            "code",
            "from quant_ai import QuantClient\n\n"
            "client = QuantClient()\n"
            "session = client.sessions.create(\n"
            '    "ada", initial_messages=[("user", "Hi, I am Ada.")], expiration_minutes=30\n'
            ")\n"
            "client.sessions.update(session.session_id, "
            'new_messages=[("assistant", "Hello Ada!")])\n'
            "for turn in client.sessions.get(session.session_id).messages:\n"
            '    print(f"{turn.role}: {turn.content}")\n'
            "try:\n"
            '    client.sessions.create("ada", expiration_minutes=2)\n'
            "except ValueError as exc:\n"
            '    print("refused before sending:", exc)',
        ),
        ("md", "## A LangChain conversation kept by the service"),
        (
            "code",
            "import warnings\n\n"
            "from langchain_core.prompts import ChatPromptTemplate, MessagesPlaceholder\n"
            "from langchain_core.runnables.history import RunnableWithMessageHistory\n\n"
            "from langchain_quant import ChatQuant, QuantChatMessageHistory\n\n"
            "# LangChain 1.x marks RunnableWithMessageHistory deprecated; it still works.\n"
            'warnings.filterwarnings("ignore", message=".*RunnableWithMessageHistory.*")\n\n'
            "prompt = ChatPromptTemplate.from_messages(\n"
            '    [("system", "Be brief."), MessagesPlaceholder("history"), ("human", "{input}")]\n'
            ")\n"
            "chat = RunnableWithMessageHistory(\n"
            "    prompt | ChatQuant(),\n"
            '    lambda sid: QuantChatMessageHistory(sid, user_id="ada"),\n'
            '    input_messages_key="input",\n'
            '    history_messages_key="history",\n'
            ")\n"
            'sid = QuantChatMessageHistory(user_id="ada").start()\n'
            'for question in ["Hi, I am Ada.", "What is 2 plus 2?", "Thanks!"]:\n'
            '    answer = chat.invoke({"input": question}, config={"configurable": '
            '{"session_id": sid}})\n'
            '    print(question, "->", answer.content)\n'
            'print("session", sid, "holds", len(QuantChatMessageHistory(sid).messages), '
            '"messages")',
        ),
        (
            "md",
            "A session keeps user and assistant text only. Tool calls, tool results and media "
            "are kept as text, with a warning (or skipped, or refused: `on_unsupported`).",
        ),
        (
            "code",
            "from langchain_core.messages import AIMessage, ToolMessage\n\n"
            "from quant_ai import QuantSessionWarning\n\n"
            "history = QuantChatMessageHistory(sid)\n"
            "with warnings.catch_warnings(record=True) as caught:\n"
            '    warnings.simplefilter("always", QuantSessionWarning)\n'
            "    history.add_messages([\n"
            '        AIMessage("", tool_calls=[{"name": "lookup", "args": {"id": 7}, '
            '"id": "c1"}]),\n'
            '        ToolMessage("found it", tool_call_id="c1", name="lookup"),\n'
            "    ])\n"
            "for w in caught:\n"
            "    if w.category is QuantSessionWarning:\n"
            '        print("warning:", w.message)\n'
            "for message in history.messages[-2:]:\n"
            "    print(message.type, repr(message.content))",
        ),
        ("md", "## A hosted agent as a Runnable"),
        (
            "code",
            "from langchain_quant import QuantAgent\n\n"
            "agents = QuantAgent.list()\n"
            "for info in agents:\n"
            '    print(info.name, "|", info.model_id, "|", info.allowed_tools)\n'
            'support = QuantAgent.from_agent(agents[0], user_id="ada")\n'
            'reply = support.invoke("What is the weather in Paris?")\n'
            "print(reply.content)\n"
            'print(reply.usage_metadata, reply.response_metadata["cost_cents"])\n'
            'print(support.invoke("What is 6 times 7?").content, "| session:", '
            "support.session_id)",
        ),
        (
            "code",
            'for chunk in support.stream("Hello there"):\n'
            '    print(chunk.content, end="|")\n'
            "print()\n"
            'print([m.content for m in support.batch(["What is 1 plus 1?", "What is 2 plus 2?"])])\n'
            'print((await support.ainvoke("What is 3 plus 3?")).content)\n'
            "durable = QuantAgent(agent_id=support.agent_id, session_id=support.session_id, "
            "durable=True)\n"
            'print("durable:", durable.invoke("What is 4 plus 4?").content)',
        ),
        ("md", "### The agent as a tool of another agent"),
        (
            "code",
            "from langchain.agents import create_agent\n\n"
            "boss = create_agent(ChatQuant(), tools=[support.as_tool()])\n"
            "result = boss.invoke(\n"
            '    {"messages": [("human", "Ask the support assistant about the weather in '
            'London")]}\n'
            ")\n"
            'for message in result["messages"]:\n'
            "    print(type(message).__name__, str(message.content)[:100])",
        ),
        ("md", "## Spend: totals and a budget"),
        (
            "code",
            "from langchain_quant import QuantEmbeddings, get_quant_usage_callback\n"
            "from quant_ai import QuantBudgetExceededError\n\n"
            "with get_quant_usage_callback() as cb:\n"
            '    ChatQuant().invoke("Tell me about lighthouses")\n'
            '    QuantEmbeddings().embed_documents(["a", "b"])\n'
            '    support.invoke("What is 5 plus 5?")\n'
            'print(f"{cb.total_cost_cents:.6f} cents, {cb.total_tokens} tokens")\n'
            "for model, row in cb.by_model.items():\n"
            "    print(model, row)\n\n"
            "with get_quant_usage_callback(max_cost_cents=0.001) as budget:\n"
            "    try:\n"
            "        for i in range(100):\n"
            '            ChatQuant().invoke("Tell me a fact")\n'
            "    except QuantBudgetExceededError as exc:\n"
            '        print(f"stopped after {budget.requests} calls:", exc)\n'
            "me = client.usage.me()\n"
            'print("the service counted", me.monthly.request_count, "requests,", '
            'me.monthly.spend_cents, "whole cents")',
        ),
        ("md", "## LlamaIndex: a chat store, the agent as a tool, the same spend rule"),
        (
            "code",
            "from llama_index.core.agent.workflow import FunctionAgent\n"
            "from llama_index.core.memory import ChatMemoryBuffer\n\n"
            "from llama_index_quant import QuantAgent as LlamaQuantAgent\n"
            "from llama_index_quant import QuantChatStore, QuantLLM, get_quant_usage_handler\n\n"
            'store = QuantChatStore(user_id="ada")\n'
            "key = store.create_session()\n"
            "memory = ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key=key)\n"
            "helper = LlamaQuantAgent.from_agent(LlamaQuantAgent.list()[0])\n"
            "boss = FunctionAgent(tools=[helper.as_tool()], llm=QuantLLM())\n"
            "with get_quant_usage_handler() as usage:\n"
            "    with warnings.catch_warnings():\n"
            '        warnings.simplefilter("ignore")  # tool turns are kept as text\n'
            "        result = await boss.run(\n"
            '            user_msg="Ask the support assistant about the weather in Sydney", '
            "memory=memory\n"
            "        )\n"
            "print(result)\n"
            "for message in store.get_messages(key):\n"
            '    print(message.role.value, "|", str(message.content)[:90])\n'
            'print(f"{usage.total_cost_cents:.6f} cents over {usage.requests} calls", '
            "sorted(usage.by_model))",
        ),
    ],
    "07_ray_scale_out.ipynb": [
        (
            "md",
            "# Scaling out: embed and index a corpus on Ray\n\n"
            "`quant_ai.ray` runs the embedding and the loading of a Quant collection on a Ray "
            "cluster (here a local one): `QuantEmbedder` in `Dataset.map_batches`, "
            "`QuantCollectionDatasink` in `Dataset.write_datasink`, and one `RayRateLimiter` "
            "that keeps every actor under the same request rate. Then `ChatQuant` answers from "
            "the collection. Runs against the built-in emulator unless `QUANT_API_KEY` and "
            "`QUANT_ORGANIZATION` are set (`pip install 'quant-ai[ray]'`).",
        ),
        ("code", SETUP),
        (
            "md",
            "## A corpus\n\nGenerated here, so it is free to use: one short fact sheet per "
            "number from 1 to 3,000.",
        ),
        (
            "code",
            "def is_prime(n):\n"
            "    return n > 1 and all(n % d for d in range(2, int(n**0.5) + 1))\n\n\n"
            "def fact_sheet(n):\n"
            '    kind = "a prime number" if is_prime(n) else "not a prime number"\n'
            "    digits = sum(map(int, str(n)))\n"
            '    return f"{n} is {kind}. Its square is {n * n} and its digits add up to {digits}."\n\n\n'
            "corpus = [\n"
            '    {"id": f"number-{n}", "text": fact_sheet(n), "metadata": {"n": n, "prime": is_prime(n)}}\n'
            "    for n in range(1, 3001)\n"
            "]\n"
            'print(len(corpus), corpus[96]["text"])',
        ),
        ("md", "## Embed on a local Ray cluster"),
        (
            "code",
            "import logging\n\n"
            "import ray\n\n"
            "from quant_ai.ray import QuantCollectionDatasink, QuantEmbedder, RayRateLimiter\n\n"
            "ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, "
            "logging_level=logging.ERROR)\n"
            "context = ray.data.DataContext.get_current()\n"
            "context.enable_progress_bars = context.print_on_execution_start = False\n"
            'logging.getLogger("ray.data").setLevel(logging.ERROR)\n'
            'logging.getLogger("ray").setLevel(logging.ERROR)\n'
            "\n"
            "limiter = RayRateLimiter.create(max_requests_per_second=100, burst=10)\n"
            "dataset = ray.data.from_items(corpus)\n"
            "embedded = dataset.map_batches(\n"
            "    QuantEmbedder,\n"
            "    compute=ray.data.ActorPoolStrategy(size=2),  # two actors, one client each\n"
            "    batch_size=500,\n"
            '    fn_constructor_kwargs={"rate_limiter": limiter, "dimensions": 256},\n'
            ").materialize()\n"
            "row = embedded.take(1)[0]\n"
            'print(embedded.count(), "rows;", row["id"], row["embedding"].shape)',
        ),
        (
            "md",
            "## Load the collection\n\nRows are upserted by `id`: a retried Ray task "
            "rewrites the same documents instead of adding copies.",
        ),
        (
            "code",
            'sink = QuantCollectionDatasink("number-facts", rate_limiter=limiter)\n'
            "dataset.write_datasink(sink)\n"
            'print("written:", sink.written)\n'
            "ray.shutdown()",
        ),
        ("md", "## Ask `ChatQuant`, with the collection as context"),
        (
            "code",
            "from langchain_core.output_parsers import StrOutputParser\n"
            "from langchain_core.prompts import ChatPromptTemplate\n"
            "from langchain_core.runnables import RunnablePassthrough\n\n"
            "from langchain_quant import ChatQuant, QuantVectorStore\n\n"
            'retriever = QuantVectorStore(collection="number-facts").as_retriever(\n'
            '    search_kwargs={"k": 3, "filter": {"n": 97}}\n'
            ")\n"
            "prompt = ChatPromptTemplate.from_messages(\n"
            "    [\n"
            '        ("system", "Answer from the context only.\\n\\nContext:\\n{context}"),\n'
            '        ("human", "{question}"),\n'
            "    ]\n"
            ")\n"
            "chain = (\n"
            '    {"context": retriever | (lambda docs: "\\n".join(d.page_content for d in docs)),\n'
            '     "question": RunnablePassthrough()}\n'
            "    | prompt\n"
            '    | ChatQuant(model="amazon.nova-lite-v1:0")\n'
            "    | StrOutputParser()\n"
            ")\n"
            'print(retriever.invoke("Is 97 a prime number?")[0].page_content)\n'
            'print(chain.invoke("Is 97 a prime number?"))',
        ),
    ],
}


def build(name: str, cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    """A notebook from ``(kind, source)`` cells."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["language_info"] = {"name": "python"}
    for kind, source in cells:
        if kind == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(source))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(source))
    return nb


def execute(nb: nbformat.NotebookNode, cwd: Path, timeout: int = 120) -> nbformat.NotebookNode:
    """Run every cell (raising on the first error); return the notebook with outputs."""
    env_backup = {k: os.environ.pop(k) for k in list(os.environ) if k.startswith("QUANT_")}
    try:
        NotebookClient(
            nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(cwd)}}
        ).execute()
    finally:
        os.environ.update(env_backup)
    return nb


def main(names: list[str] | None = None) -> int:
    """Build every notebook, or only the chosen ones.

    Args:
        names: Full names (``05_conversations_agents_spend``, with or without ``.ipynb``) or
            prefixes (``02``); none builds every notebook.
    """
    OUT.mkdir(exist_ok=True)
    # Ray (notebook 7) keeps to loopback on a machine that is no cluster member.
    os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
    for name, cells in NOTEBOOKS.items():
        if names and not any(name.startswith(prefix) for prefix in names):
            continue
        nb = execute(build(name, cells), OUT)
        for cell in nb.cells:  # keep the committed outputs free of machine details
            cell.get("metadata", {}).pop("execution", None)
            # Libraries' logs and warnings on stderr (Ray's, with timestamps and local paths)
            # are not part of what a notebook shows.
            if "outputs" in cell:
                cell["outputs"] = [o for o in cell["outputs"] if o.get("name") != "stderr"]
        nbformat.write(nb, OUT / name)
        print(f"wrote notebooks/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
