"""The deterministic behaviour engine shared by the native and OpenAI-compatible routes.

The same request always gives the same answer. Rules:

Text answers
    RAG prompts (LlamaIndex ``Context information is below. ---... Query: ...`` or LangChain
    ``Context: ... Question: ...``, also context in the system prompt) are answered with the
    context sentence that shares the most words with the question. Media blocks are described
    (``I received 1 image (png, 68 bytes).``) and, for small PNGs asked about their content or
    colour, the average colour is named. Arithmetic questions are computed exactly, step by step
    (:mod:`quant_ai.emulator.arith`); a question that is not fully understood gets no number.
    Follow-ups are read with the subject of the earlier questions (``when was it founded?``),
    and "rephrase the follow up question to be a standalone question" prompts (LlamaIndex
    condense chat engines, LangChain history-aware retrievers) get that standalone question.
    Anything else gets ``Emulated answer to "<question>".``. ``maxTokens`` truncates
    (finishReason ``length``), ``stopSequences`` cut before the stop text. Tokens are words
    and punctuation marks.

Tools
    With tools, the last user text is split into phases on the word ``then`` and each phase
    into segments on ``and``, ``,`` and ``;``. Each segment requests the tool whose name and
    description share the most words with it; a segment naming no tool continues the previous
    call (its numbers fill missing arguments) or, when that call is complete and the segment
    brings a new name or number, repeats the same tool (``weather in Paris and in London``).
    Arguments come from :mod:`quant_ai.emulator.schema_fill`. Arithmetic tools are matched by
    meaning (``mul``/``product``/``times`` multiply, ``sum``/``plus`` add, a tool taking an
    ``expression`` calculates) and get the step's operands. A question that is only
    arithmetic is planned as operations (``6 times 7 plus 3`` is ``multiply(6, 7)`` then
    ``add(42, 3)``, by precedence, when there is no calculator tool); independent operations
    share a round, dependent ones wait for the results they need, and an operation no tool
    does is computed here.

Two rounds
    Phase *k* (0-based) is requested after *k* tool-result turns, so ``get the weather in Paris
    then search the web for museums`` requests ``get_weather`` first and ``search_web`` after
    its result. A phase referring to an earlier result (``then add 3 to the result``, or an
    operand missing) is a chained step: it gets the previous phase's numeric result as its
    first operand, and the final answer is the last result (``The answer is 45.``). When the
    system prompt asks for one tool at a time, a phase's calls come one per round. When all
    phases have results the answer is text built from the results.

Forcing
    ``tool_choice`` (OpenAI routes) or the adapters' instructions ("You must answer by calling
    one of the available tools", "Answer by calling the tool `X`") force a call: when the
    question asks for nothing more, the named tool, else the best tool not called yet (LangChain
    ``ToolStrategy``'s structured-output tool after the data tools) is called with arguments
    filled from the question and the tool results, schema-valid placeholders otherwise.

Catalogue
    What a model cannot do is refused with a 400 naming the field: native ``jsonSchema``
    structured output where ``supportsStructuredOutput`` is false, images where
    ``supportsVision`` is false, video and documents where ``supportsMultimodal`` is false.

Server-side tools
    With ``autoExecute`` and ``allowedTools``, allowed built-in tools (``get_weather``,
    ``calculate``, ``search_web``, ``generate_image``) are executed here; other requested tools
    are returned to the client.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from quant_ai.emulator.arith import (
    Operation,
    connected,
    evaluate,
    format_number,
    number_from_result,
    parse_steps,
    plan,
    refers_to_previous,
    segment_operation,
    step_for,
    tool_operation,
)
from quant_ai.emulator.catalog import Model
from quant_ai.emulator.images import colour_name, dominant_colour, image_kind, pattern_png
from quant_ai.emulator.schema_fill import Filler
from quant_ai.emulator.text import (
    STOPWORDS,
    caps_groups,
    content_words,
    count_tokens,
    numbers_in,
    safe_eval,
    split_name,
    truncate_tokens,
)

__all__ = [
    "BUILTIN_TOOLS",
    "ChatOutcome",
    "EngineRequest",
    "Media",
    "Msg",
    "RequestError",
    "ToolCall",
    "ToolDef",
    "ToolResult",
    "execute_builtin",
    "respond",
]

MAX_MEDIA_BYTES = 25 * 1024 * 1024


class RequestError(ValueError):
    """A request is invalid; ``field`` names the offending field (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class ToolDef:
    """A tool the model may request."""

    name: str
    description: str = ""
    schema: dict[str, Any] = field(default_factory=lambda: {"type": "object"})


@dataclass(frozen=True)
class ToolCall:
    """A tool request (``toolUse``)."""

    tool_use_id: str
    name: str
    input: dict[str, Any]


@dataclass(frozen=True)
class ToolResult:
    """A tool result sent back by the client."""

    tool_use_id: str
    text: str
    status: str = "success"


@dataclass(frozen=True)
class Media:
    """A decoded image, video or document block."""

    kind: str
    format: str
    data: bytes
    name: str = ""


@dataclass
class Msg:
    """A normalised conversation turn."""

    role: str
    texts: list[str] = field(default_factory=list)
    media: list[Media] = field(default_factory=list)
    tool_uses: list[ToolCall] = field(default_factory=list)
    tool_results: list[ToolResult] = field(default_factory=list)

    @property
    def text(self) -> str:
        """All text blocks joined."""
        return "\n".join(self.texts)


@dataclass
class EngineRequest:
    """A normalised chat request (native or OpenAI)."""

    model: Model
    messages: list[Msg]
    system: str = ""
    tools: list[ToolDef] = field(default_factory=list)
    auto_execute: set[str] = field(default_factory=set)
    response_format: dict[str, Any] | None = None
    max_tokens: int | None = None
    stop: list[str] = field(default_factory=list)
    tool_choice: str = "auto"  # auto | none | required | <tool name>


@dataclass
class ChatOutcome:
    """What the model answers."""

    text: str
    finish_reason: str
    tool_calls: list[ToolCall]
    executions: list[dict[str, Any]]
    input_tokens: int
    output_tokens: int
    cost_cents: float

    @property
    def total_tokens(self) -> int:
        """Input plus output tokens."""
        return self.input_tokens + self.output_tokens

    def usage(self) -> dict[str, Any]:
        """The native ``usage`` object."""
        return {
            "inputTokens": self.input_tokens,
            "outputTokens": self.output_tokens,
            "totalTokens": self.total_tokens,
            "costCents": self.cost_cents,
        }


# -- built-in (server-executable) tools ------------------------------------------------------

BUILTIN_TOOLS: dict[str, ToolDef] = {
    "get_weather": ToolDef(
        "get_weather",
        "Get the current weather for a location",
        {
            "type": "object",
            "properties": {
                "location": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["location"],
        },
    ),
    "calculate": ToolDef(
        "calculate",
        "Evaluate an arithmetic expression (add, subtract, multiply, divide)",
        {
            "type": "object",
            "properties": {"expression": {"type": "string"}},
            "required": ["expression"],
        },
    ),
    "search_web": ToolDef(
        "search_web",
        "Search the web for information",
        {
            "type": "object",
            "properties": {"query": {"type": "string"}},
            "required": ["query"],
        },
    ),
    "generate_image": ToolDef(
        "generate_image",
        "Generate an image from a text prompt (draw a picture)",
        {
            "type": "object",
            "properties": {"prompt": {"type": "string"}},
            "required": ["prompt"],
        },
    ),
}

_CONDITIONS = ("Sunny", "Cloudy", "Rainy", "Windy", "Snowy", "Foggy", "Clear")


def _h(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def execute_builtin(name: str, args: dict[str, Any]) -> dict[str, Any]:
    """Run a built-in tool deterministically and return its result object."""
    if name == "get_weather":
        loc = str(
            args.get("location")
            or args.get("city")
            or next((v for v in args.values() if isinstance(v, str) and v), "Unknown")
        )
        temp = 5 + _h(loc.lower()) % 25
        fahrenheit = args.get("unit") == "fahrenheit"
        label = f"{round(temp * 9 / 5 + 32)}F" if fahrenheit else f"{temp}C"
        cond = _CONDITIONS[_h("c" + loc.lower()) % len(_CONDITIONS)]
        return {"location": loc, "temperature": label, "conditions": cond}
    if name == "calculate":
        expr = str(args.get("expression", ""))
        try:
            value = safe_eval(expr)
        except ValueError as exc:
            return {"expression": expr, "error": str(exc)}
        shown: int | float = int(value) if value == int(value) else round(value, 10)
        return {"expression": expr, "result": shown}
    if name == "search_web":
        query = str(args.get("query", ""))
        slug = re.sub(r"[^a-z0-9]+", "-", query.lower()).strip("-") or "query"
        return {
            "query": query,
            "results": [
                {
                    "title": f"{query} - overview",
                    "url": f"https://example.com/{slug}",
                    "snippet": f"An overview of {query}.",
                },
                {
                    "title": f"{query} - latest",
                    "url": f"https://example.org/{slug}",
                    "snippet": f"Latest news about {query}.",
                },
            ],
        }
    prompt = str(args.get("prompt", ""))
    png = pattern_png(64, 64, prompt.encode())
    digest = hashlib.sha256(png).hexdigest()[:16]
    return {
        "images": ["data:image/png;base64," + base64.b64encode(png).decode("ascii")],
        "s3Urls": [f"https://emulator.invalid/images/{digest}.png"],
    }


# -- parsing native messages -----------------------------------------------------------------


def _decode_media(block: dict[str, Any], kind: str, path: str) -> Media:
    inner = block[kind]
    fmt = str(inner.get("format", ""))
    source = inner.get("source", {})
    raw = source.get("bytes", "")
    try:
        data = base64.b64decode(raw, validate=True)
    except ValueError:
        raise RequestError(f"{path}.{kind}.source.bytes", "must be valid base64") from None
    if len(data) > MAX_MEDIA_BYTES:
        raise RequestError(f"{path}.{kind}.source.bytes", "must be at most 25 MB")
    if not data:
        raise RequestError(f"{path}.{kind}.source.bytes", "must not be empty")
    if kind == "image":
        actual = image_kind(data)
        if actual != fmt:
            raise RequestError(
                f"{path}.image.source.bytes", f"is not a valid {fmt} image (found {actual})"
            )
    return Media(kind=kind, format=fmt, data=data, name=str(inner.get("name", "")))


def parse_native_messages(messages: list[dict[str, Any]]) -> tuple[list[Msg], str]:
    """Convert native ``messages`` into :class:`Msg` turns; system turns are returned apart.

    Raises:
        RequestError: Invalid media or tool blocks.
    """
    out: list[Msg] = []
    system: list[str] = []
    total = 0
    for i, raw in enumerate(messages):
        role = str(raw["role"])
        msg = Msg(role=role)
        content = raw["content"]
        if isinstance(content, str):
            msg.texts.append(content)
        else:
            for j, block in enumerate(content):
                path = f"messages.{i}.content.{j}"
                if not isinstance(block, dict):
                    raise RequestError(path, "must be a content block object")
                if "text" in block:
                    msg.texts.append(str(block["text"]))
                elif "toolUse" in block:
                    tu = block["toolUse"]
                    msg.tool_uses.append(
                        ToolCall(str(tu["toolUseId"]), str(tu["name"]), dict(tu["input"]))
                    )
                elif "toolResult" in block:
                    tr = block["toolResult"]
                    parts = []
                    for part in tr.get("content", []):
                        if "text" in part:
                            parts.append(str(part["text"]))
                        elif "json" in part:
                            parts.append(json.dumps(part["json"], sort_keys=True))
                    msg.tool_results.append(
                        ToolResult(
                            str(tr["toolUseId"]), " ".join(parts), str(tr.get("status", "success"))
                        )
                    )
                else:
                    kinds = [k for k in ("image", "video", "document") if k in block]
                    if not kinds:
                        raise RequestError(path, "unknown content block")
                    media = _decode_media(block, kinds[0], path)
                    total += len(media.data)
                    msg.media.append(media)
        if total > MAX_MEDIA_BYTES:
            raise RequestError("messages", "media payload exceeds 25 MB in total")
        if role == "system":
            system.append(msg.text)
        else:
            out.append(msg)
    if msg_tool_results_misplaced(out):
        raise RequestError("messages", "toolResult blocks must be in a user message")
    return out, "\n".join(system)


def msg_tool_results_misplaced(messages: list[Msg]) -> bool:
    """True when a non-user turn carries tool results."""
    return any(m.tool_results and m.role != "user" for m in messages)


# -- the engine ------------------------------------------------------------------------------


def _question_index(messages: list[Msg]) -> int:
    for i in range(len(messages) - 1, -1, -1):
        m = messages[i]
        if m.role == "user" and not m.tool_results and (m.texts or m.media):
            return i
    return -1


def _phases(text: str) -> list[str]:
    parts = [p.strip(" ,;.") for p in re.split(r"\bthen\b", text, flags=re.IGNORECASE)]
    phases: list[str] = []
    for part in [p for p in parts if p] or [text]:
        # "multiply 6 by 7 and add 3 to the result": the second step waits for the first.
        segs = [s for s in _SEGMENT_SPLIT.split(part) if s.strip()]
        cuts = [
            i
            for i, seg in enumerate(segs)
            if i > 0 and refers_to_previous(seg) and segment_operation(seg) is not None
        ]
        if not cuts:
            phases.append(part)
            continue
        for a, b in zip([0, *cuts], [*cuts, len(segs)], strict=True):
            phases.append(" and ".join(segs[a:b]))
    return phases


_SEGMENT_SPLIT = re.compile(r"\s*(?:[,;]|\band\b|\balso\b)\s*", re.IGNORECASE)
_ONE_AT_A_TIME = re.compile(r"\bat most one tool\b|\bone tool (?:call )?at a time\b", re.I)


def _score(tool: ToolDef, words: set[str], segment: str = "") -> int:
    name_words = {w for w in split_name(tool.name) if w not in STOPWORDS}
    desc_words = set(content_words(tool.description))
    score = 3 * len(name_words & words) + len((desc_words - name_words) & words)
    if segment:
        score += _arith_bonus(tool, segment)
    return score


def _arith_bonus(tool: ToolDef, segment: str) -> int:
    """Extra score for a tool doing the arithmetic operation a segment asks for."""
    op = tool_operation(tool.name, tool.description, tool.schema)
    if op is None:
        return 0
    wanted = segment_operation(segment)
    if op == wanted:
        return 4
    if op == "calculate" and (wanted is not None or parse_steps(segment) is not None):
        return 2
    return 0


def _tool_words(tool: ToolDef) -> set[str]:
    return {w for w in split_name(tool.name) if w not in STOPWORDS}


def _fill_args(tool: ToolDef, text: str) -> tuple[dict[str, Any], bool]:
    schema = tool.schema if isinstance(tool.schema, dict) else {"type": "object"}
    filler = Filler(text, schema, exclude=_tool_words(tool))
    value = filler.fill(schema)
    args = value if isinstance(value, dict) else {}
    complete = _required_filled(schema, text, tool)
    return args, complete


def _required_filled(schema: dict[str, Any], text: str, tool: ToolDef) -> bool:
    props = schema.get("properties") or {}
    required = schema.get("required") or []
    numeric = [
        r
        for r in required
        if isinstance(props.get(r), dict)
        and props[r].get("type")
        in (
            "integer",
            "number",
        )
    ]
    return len(numbers_in(text)) >= len(numeric)


def select_tools(text: str, tools: list[ToolDef], force: str = "auto") -> list[tuple[ToolDef, str]]:
    """Pick the tools a piece of user text asks for, with the text each call is built from."""
    if not tools or force == "none":
        return []
    segments = [s for s in _SEGMENT_SPLIT.split(text) if s.strip()]
    calls: list[list[Any]] = []  # [tool, text, complete]
    for seg in segments:
        words = set(content_words(seg))
        best = max(tools, key=lambda t: _score(t, words, seg))
        score = _score(best, words, seg)
        if force not in ("auto", "required", "none"):
            forced = [t for t in tools if t.name == force]
            if forced:
                best, score = forced[0], max(score, 2)
        if score >= 2 and (not calls or calls[-1][0] is not best or _has_new_value(seg)):
            _args, complete = _fill_args(best, seg)
            calls.append([best, seg, complete])
            continue
        if calls:
            prev = calls[-1]
            if not prev[2] or not _has_new_value(seg):
                merged = f"{prev[1]} and {seg}"
                prev[1] = merged
                prev[2] = _fill_args(prev[0], merged)[1]
            else:
                calls.append([prev[0], seg, _fill_args(prev[0], seg)[1]])
    if not calls and force not in ("auto", "none"):
        words = set(content_words(text))
        pool = [t for t in tools if t.name == force] or tools
        calls.append([max(pool, key=lambda t: _score(t, words, text)), text, True])
    return [(c[0], c[1]) for c in calls]


def _has_new_value(seg: str) -> bool:
    return bool(numbers_in(seg)) or bool(re.search(r"\b[A-Z][a-z]", seg))


def _call_id(name: str, args: dict[str, Any], salt: str) -> str:
    digest = hashlib.sha256(f"{salt}|{name}|{json.dumps(args, sort_keys=True)}".encode())
    return "tooluse_" + digest.hexdigest()[:22]


def _call_args(tool: ToolDef, segment: str, previous: float | None) -> dict[str, Any]:
    """Arguments of one call; arithmetic tools get the step's operands (earlier results in)."""
    op = tool_operation(tool.name, tool.description, tool.schema)
    step = step_for(segment, has_previous=previous is not None) if op is not None else None
    if step is not None:
        try:
            if op == "calculate":
                text = step.render(previous)
            elif step.op == "expression":
                text = " ".join(format_number(n) for n in numbers_in(step.expression))
            else:
                text = " ".join(format_number(v) for v in step.values(previous))
        except ValueError:
            text = segment
        return _fill_args(tool, text)[0]
    return _fill_args(tool, segment)[0]


Turn = list[tuple[ToolCall, ToolResult | None]]


def _tool_turns(messages: list[Msg], qidx: int) -> list[Turn]:
    """The tool-call turns since the question, in order, each call with its result."""
    results = {r.tool_use_id: r for m in messages[qidx + 1 :] for r in m.tool_results}
    return [
        [(c, results.get(c.tool_use_id)) for c in m.tool_uses]
        for m in messages[qidx + 1 :]
        if m.tool_uses
    ]


def _last_number(turns: list[Turn]) -> float | None:
    values = [
        number_from_result(r.text)
        for turn in turns
        for _c, r in turn
        if r is not None and r.status != "error"
    ]
    found = [v for v in values if v is not None]
    return found[-1] if found else None


@dataclass
class _ArithRun:
    """Where an arithmetic question stands: the next calls, or every value known."""

    operations: list[Operation]
    values: list[float | None]
    due: list[ToolCall]


def _arith_run(req: EngineRequest, qidx: int, turns: list[Turn], single: bool) -> _ArithRun | None:
    """Drive a fully arithmetic question through the arithmetic tools, round by round.

    The question becomes a plan of operations (expressions split into binary operations when
    there is no calculator tool); each operation goes to the tool doing it (by meaning), else
    a calculator tool, else is computed here. A round holds the consecutive operations that do
    not need each other's results (one when asked for one tool at a time; ``then`` starts a
    new round); each tool-call turn since the question answers one round, in order.

    Returns:
        ``None`` when the question is not arithmetic or no tool does any of its operations.
    """
    question = req.messages[qidx].text
    steps = parse_steps(question)
    if steps is None:
        return None
    ops = {t.name: tool_operation(t.name, t.description, t.schema) for t in req.tools}
    for phase in _phases(question):
        if any(ops[tool.name] is None for tool, _seg in select_tools(phase, req.tools)):
            return None  # "get the weather in Paris then add 2 and 3": not only arithmetic
    calc = next((t for t in req.tools if ops[t.name] == "calculate"), None)
    operations = plan(steps, expand=calc is None)
    if operations is None:
        return None

    def tool_for(operation: Operation) -> ToolDef | None:
        return next((t for t in req.tools if ops[t.name] == operation.op), None) or calc

    tools = [tool_for(o) for o in operations]
    if not any(tools):
        return None
    values: list[float | None] = [None] * len(operations)
    k = 0
    cursor = 0
    while k < len(operations):
        tool = tools[k]
        if tool is None:
            try:
                values[k] = operations[k].compute(values)
            except ValueError:
                return None
            k += 1
            continue
        group = [k]
        j = k + 1
        while (
            not single
            and j < len(operations)
            and tools[j] is not None
            and not operations[j].new_round
            and not operations[j].refs() & set(group)
        ):
            group.append(j)
            j += 1
        if cursor < len(turns):
            turn = turns[cursor]
            cursor += 1
            for index, (_call, result) in zip(group, turn, strict=False):
                number = None
                if result is not None and result.status != "error":
                    number = number_from_result(result.text)
                if number is None:
                    try:
                        number = operations[index].compute(values)
                    except ValueError:
                        return None
                values[index] = number
            k = j
            continue
        due = []
        for index in group:
            chosen = tools[index]
            assert chosen is not None
            operation = operations[index]
            if ops[chosen.name] == "calculate":
                text = operation.render(values)
            else:
                text = " ".join(format_number(v) for v in operation.operands(values))
            args = _fill_args(chosen, text)[0]
            due.append(ToolCall(_call_id(chosen.name, args, f"{qidx}.a{index}"), chosen.name, args))
        return _ArithRun(operations, values, due)
    return _ArithRun(operations, values, [])


def _tool_calls(req: EngineRequest, qidx: int) -> list[ToolCall]:
    """The calls of the next round: phase by phase, each after the results of the one before.

    A question that is only arithmetic is planned by :func:`_arith_run`. Otherwise each
    tool-call turn since the question completes one phase (calls the service ran itself are
    not in the history, so turns are counted, not calls). When the system prompt asks for one
    tool at a time, a phase's calls come one per round, matched to the calls made by name (see
    :func:`_match_calls`). A chained arithmetic phase (``then add 3 to the result``) takes the
    previous phase's numeric result as an operand. When every phase is done and a tool call
    is forced (``tool_choice`` any/required/a name), one more call is made: see
    :func:`_forced_call`.
    """
    if not req.tools or req.tool_choice == "none" or qidx < 0:
        return []
    question = req.messages[qidx].text
    turns = _tool_turns(req.messages, qidx)
    made = [call for turn in turns for call in turn]
    used: set[int] = set()
    single = bool(_ONE_AT_A_TIME.search(req.system))
    arith = _arith_run(req, qidx, turns, single)
    if arith is not None:
        return arith.due or _forced_call(req, qidx, made)
    previous: float | None = None
    cursor = 0
    for p, phase in enumerate(_phases(question)):
        force = req.tool_choice if p == 0 and not turns else "auto"
        planned: list[ToolCall] = []
        seen: set[str] = set()
        for n, (tool, seg) in enumerate(select_tools(phase, req.tools, force)):
            args = _call_args(tool, seg, previous)
            key = tool.name + json.dumps(args, sort_keys=True)
            if key in seen:
                continue
            seen.add(key)
            planned.append(ToolCall(_call_id(tool.name, args, f"{qidx}.{p}.{n}"), tool.name, args))
        if not planned:
            continue
        if single:
            flags, matched = _match_calls(planned, made, used)
            if not all(flags):
                return [next(c for c, done in zip(planned, flags, strict=True) if not done)]
            number = _last_number([matched])
        else:
            if cursor >= len(turns):
                return planned
            number = _last_number([turns[cursor]])
            cursor += 1
        previous = number if number is not None else previous
    return _forced_call(req, qidx, made)


def _match_calls(planned: list[ToolCall], made: Turn, used: set[int]) -> tuple[list[bool], Turn]:
    """Which planned calls are done (one tool at a time), and the made calls answering them.

    A planned call is done when an unused made call has its name; one that was not made but
    is followed by a made one was run by the service itself (``autoExecute``), whose calls do
    not come back in the history.
    """
    flags: list[bool] = []
    found: Turn = []
    for call in planned:
        index = next(
            (i for i, (c, _r) in enumerate(made) if i not in used and c.name == call.name), None
        )
        flags.append(index is not None)
        if index is not None:
            used.add(index)
            found.append(made[index])
    for i in range(len(flags) - 1, -1, -1):
        if i + 1 < len(flags) and flags[i + 1]:
            flags[i] = True
    return flags, found


def _forced_call(
    req: EngineRequest, qidx: int, made: list[tuple[ToolCall, ToolResult | None]]
) -> list[ToolCall]:
    """A call when the instructions force one but the question asks for nothing more.

    A named tool is called; for "any tool" the best-matching tool not called yet since the
    question (e.g. LangChain's structured-output tool after the data tools ran), else the best
    tool. Arguments are filled from the question and the tool results, with schema-valid
    placeholders for what they do not provide.
    """
    if req.tool_choice in ("auto", "none"):
        return []
    called = {c.name for c, _r in made}
    pool = (
        [t for t in req.tools if t.name == req.tool_choice]
        or [t for t in req.tools if t.name not in called]
        or list(req.tools)
    )
    source = "\n".join([req.messages[qidx].text] + [r.text for _c, r in made if r is not None])
    words = set(content_words(source))
    tool = max(pool, key=lambda t: _score(t, words))
    schema = tool.schema if isinstance(tool.schema, dict) else {"type": "object"}
    value = Filler(source, schema, fill_all=True, exclude=_tool_words(tool)).fill(schema)
    args = value if isinstance(value, dict) else {}
    return [ToolCall(_call_id(tool.name, args, f"{qidx}.forced.{len(made)}"), tool.name, args)]


def _results_answer(req: EngineRequest, qidx: int) -> str | None:
    names: dict[str, str] = {}
    results: list[tuple[str, ToolResult]] = []
    for m in req.messages[qidx + 1 :]:
        for tu in m.tool_uses:
            names[tu.tool_use_id] = tu.name
        for tr in m.tool_results:
            results.append((names.get(tr.tool_use_id, "tool"), tr))
    if not results:
        return None
    if req.tools:
        turns = _tool_turns(req.messages, qidx)
        single = bool(_ONE_AT_A_TIME.search(req.system))
        arith = _arith_run(req, qidx, turns, single)
        if arith is not None and not arith.due and connected(arith.operations):
            # One chain of operations ("... then add 3 to the result"): its last value.
            value = arith.values[-1]
            if value is not None:
                return f"The answer is {format_number(value)}."
    parts = []
    for name, tr in results:
        if tr.status == "error":
            parts.append(f"the {name} tool failed ({tr.text})")
        else:
            parts.append(f"{name} returned {tr.text}")
    return "Based on the tool results: " + "; ".join(parts) + "."


_RAG_LLAMA = re.compile(
    r"context information is below\.?\s*-{3,}\s*(?P<ctx>.*?)\s*-{3,}.*?(?:query|question)\s*:\s*"
    r"(?P<q>.*?)\s*(?:\n\s*answer\s*:|$)",
    re.IGNORECASE | re.DOTALL,
)
_RAG_CHAIN = re.compile(
    r"context\s*:\s*(?P<ctx>.*?)\s*(?:question|query)\s*:\s*(?P<q>.*?)\s*(?:\n\s*(?:helpful\s+)?"
    r"answer\s*:|$)",
    re.IGNORECASE | re.DOTALL,
)
_CTX_ONLY = re.compile(
    r"(?:context information (?:is )?below[^\n]*\s*-{3,}\s*(?P<a>.*?)\s*-{3,}"
    r"|relevant documents for the context:\s*(?P<c>.*?)\s*(?:instruction:|$)"
    r"|context\s*:\s*(?P<b>.*))",
    re.IGNORECASE | re.DOTALL,
)


_CONDENSE = re.compile(
    r"standalone question.*?(?:chat history:|<chat history>)\s*(?P<h>.*?)\s*"
    r"(?:follow up input:|<follow up message>)\s*(?P<q>.*?)\s*"
    r"(?:standalone question:?|<standalone question>)\s*$",
    re.IGNORECASE | re.DOTALL,
)
_STANDALONE = re.compile(r"\bstandalone question\b", re.IGNORECASE)
_PRONOUNS = {
    "it": "{t}",
    "they": "{t}",
    "them": "{t}",
    "he": "{t}",
    "she": "{t}",
    "its": "{t}'s",
    "their": "{t}'s",
    "his": "{t}'s",
    "her": "{t}'s",
}
_PRONOUN_RE = re.compile(r"\b(" + "|".join(_PRONOUNS) + r")\b", re.IGNORECASE)
_HISTORY_USER = re.compile(r"^\s*(?:user|human)\s*:\s*(.+)$", re.IGNORECASE | re.MULTILINE)


def _topic(previous_questions: list[str]) -> str | None:
    """The subject of the latest earlier question that names one (``Tokyo``).

    Earlier follow-ups are resolved first, so a chain of "it" questions keeps its subject.
    """
    resolved: list[str] = []
    for text in previous_questions:
        resolved.append(standalone_question(text, resolved) if resolved else text)
    for text in reversed(resolved):
        groups = caps_groups(text)
        if groups:
            return groups[0]
    for text in reversed(resolved):
        words = content_words(text)
        if words:
            return " ".join(words[:4])
    return None


def standalone_question(question: str, previous_questions: list[str]) -> str:
    """Rewrite a follow-up so it stands alone: pronouns become the earlier subject.

    ``When was it founded?`` after ``What is the population of Tokyo?`` becomes ``When was
    Tokyo founded?``. A question without such pronouns is returned as it is.
    """
    topic = _topic(previous_questions)
    if topic is None or not _PRONOUN_RE.search(question):
        return question.strip()

    def swap(match: re.Match[str]) -> str:
        return _PRONOUNS[match.group(1).lower()].format(t=topic)

    return _PRONOUN_RE.sub(swap, question.strip(), count=1)


def _condense(req: EngineRequest, qidx: int) -> str | None:
    """Answer a "rephrase the follow-up as a standalone question" request, if this is one."""
    text = req.messages[qidx].text if qidx >= 0 else ""
    m = _CONDENSE.search(text)
    if m:
        history = [h.strip() for h in _HISTORY_USER.findall(m.group("h"))]
        return standalone_question(m.group("q"), history)
    if qidx >= 0 and _STANDALONE.search(req.system):
        earlier = [x.text for x in req.messages[:qidx] if x.role == "user" and x.text]
        return standalone_question(text, earlier)
    return None


def _rag(req: EngineRequest, qidx: int) -> str | None:
    question_text = req.messages[qidx].text if qidx >= 0 else ""
    earlier = [m.text for m in req.messages[: max(qidx, 0)] if m.role == "user" and m.text]
    found = None
    for text in (question_text, req.system + "\n" + question_text):
        for pattern in (_RAG_LLAMA, _RAG_CHAIN):
            m = pattern.search(text)
            if m:
                found = (m.group("ctx"), m.group("q"))
                break
        if found:
            break
    if found is None and req.system:
        m = _CTX_ONLY.search(req.system)
        if m:
            found = (m.group("a") or m.group("c") or m.group("b") or "", question_text)
    if found is None:
        return None
    ctx, question = found
    # A follow-up ("when was it founded?") is read with the subject of the earlier questions.
    resolved = standalone_question(question, earlier)
    qwords = set(content_words(resolved))
    sentences = [
        s.strip()
        for s in re.split(r"(?<=[.!?])\s+|\n+", ctx)
        if s.strip() and not re.fullmatch(r"[\w\s_-]*:\s*\S*", s.strip())
    ]
    sentences = [s for s in sentences if not s.startswith("#")]  # markdown headings
    bags = [set(content_words(s)) for s in sentences]
    # A question about a name (Tokyo) that the context never mentions is not answered from
    # sentences about other names.
    names = {w for group in caps_groups(resolved) for w in content_words(group)}
    if names and qwords - names and not any(bag & names for bag in bags):
        return "I don't know based on the given context."
    # A question word found in few sentences says more than one found in many.
    weight = {w: 1.0 / sum(w in bag for bag in bags) for w in qwords if any(w in b for b in bags)}
    best, best_score = None, 0.0
    for sentence, bag in zip(sentences, bags, strict=True):
        score = sum(weight.get(w, 0.0) for w in bag & qwords)
        if score > best_score:
            best, best_score = sentence, score
    if best is None:
        return "I don't know based on the given context."
    return best


_PLURAL = {"image": "images", "video": "videos", "document": "documents"}
_ASKS_VISUAL = re.compile(
    r"\b(what|which|describe|show|shows|showing|colou?r|see|depict|contain|in the image)\b",
    re.IGNORECASE,
)


def _media_answer(msg: Msg) -> str:
    groups: dict[str, list[Media]] = {}
    for media in msg.media:
        groups.setdefault(media.kind, []).append(media)
    phrases = []
    for kind, items in groups.items():
        label = kind if len(items) == 1 else _PLURAL[kind]
        details = "; ".join(
            f"{m.format}, {len(m.data)} bytes" + (f", named {m.name}" if m.name else "")
            for m in items
        )
        phrases.append(f"{len(items)} {label} ({details})")
    text = "I received " + " and ".join(phrases) + "."
    images = [m for m in msg.media if m.kind == "image"]
    if images and _ASKS_VISUAL.search(msg.text):
        colours = []
        for m in images:
            rgb = dominant_colour(m.data)
            colours.append(colour_name(rgb) if rgb else None)
        if len(images) == 1:
            if colours[0]:
                text += f" The image is mostly {colours[0]}."
            else:
                text += f" The image is a {images[0].format} picture the emulator cannot analyse."
        else:
            named = ", ".join(
                f"image {i + 1} is mostly {c}" if c else f"image {i + 1} cannot be analysed"
                for i, c in enumerate(colours)
            )
            text += f" {named[0].upper()}{named[1:]}."
    return text


_ARITH_HINT = re.compile(
    r"\d\s*[-+*/x\u00d7^]\s*\d|\b(add|plus|sum|times|multiply|minus|divide|subtract)\b",
    re.IGNORECASE,
)


def arithmetic_answer(question: str) -> str | None:
    """The exact answer to an arithmetic question, or ``None`` when it is not understood.

    ``None`` means "do not claim a number": the model never guesses arithmetic.
    """
    steps = parse_steps(question)
    if steps is None:
        return None
    try:
        values = evaluate(steps)
    except ValueError as exc:
        return f"I cannot compute that: {exc}."
    if len(steps) == 1 or all(s.chained for s in steps[1:]):
        return f"The answer is {format_number(values[-1])}."
    previous: float | None = None
    shown = []
    for step, value in zip(steps, values, strict=True):
        shown.append(f"{step.render(previous)} = {format_number(value)}")
        previous = value
    return "; ".join(shown) + "."


def _generic(req: EngineRequest, qidx: int) -> str:
    question = req.messages[qidx].text.strip() if qidx >= 0 else ""
    if not question:
        question = next((m.text for m in reversed(req.messages) if m.text), "")
    if _ARITH_HINT.search(question) and len(numbers_in(question)) >= 2:
        answer = arithmetic_answer(question)
        if answer is not None:
            return answer
    words = question.split()
    short = " ".join(words[:24]) + (" ..." if len(words) > 24 else "")
    return f'Emulated answer to "{short}".' if short else "Emulated answer."


def _json_answer(req: EngineRequest, qidx: int) -> str:
    assert req.response_format is not None
    schema = req.response_format.get("jsonSchema")
    source = "\n".join(m.text for m in req.messages if m.role == "user")
    if qidx >= 0:
        source = req.messages[qidx].text
    if isinstance(schema, dict) and schema:
        # OpenAI-style wrappers {"name", "schema"} are unwrapped.
        if "schema" in schema and isinstance(schema["schema"], dict) and "type" not in schema:
            schema = schema["schema"]
        value = Filler(source, schema, fill_all=True).fill(schema)
    else:
        value = {"answer": _generic(req, qidx)}
    return json.dumps(value, ensure_ascii=False)


def _apply_limits(text: str, req: EngineRequest) -> tuple[str, str]:
    finish = "stop"
    cut = None
    for stop in req.stop:
        if stop:
            pos = text.find(stop)
            if pos >= 0 and (cut is None or pos < cut):
                cut = pos
    if cut is not None:
        text = text[:cut]
    if req.max_tokens is not None:
        text, truncated = truncate_tokens(text, req.max_tokens)
        if truncated:
            finish = "length"
    return text, finish


def _input_tokens(req: EngineRequest) -> int:
    total = count_tokens(req.system)
    for m in req.messages:
        total += 1 + count_tokens(m.text)
        total += sum(max(1, len(x.data) // 1000) for x in m.media)
        total += sum(count_tokens(json.dumps(t.input)) + 2 for t in m.tool_uses)
        total += sum(count_tokens(r.text) + 2 for r in m.tool_results)
    for t in req.tools:
        total += count_tokens(t.name) + count_tokens(t.description) + 4
    return max(total, 1)


def _answer_once(req: EngineRequest) -> tuple[str, list[ToolCall]]:
    qidx = _question_index(req.messages)
    calls = _tool_calls(req, qidx)
    if calls:
        names = ", ".join(dict.fromkeys(c.name for c in calls))
        return f"I will use {names}.", calls
    if req.response_format is not None:
        return _json_answer(req, qidx), []
    results = _results_answer(req, qidx)
    if results is not None:
        return results, []
    if qidx >= 0 and req.messages[qidx].media:
        return _media_answer(req.messages[qidx]), []
    condensed = _condense(req, qidx)
    if condensed is not None:
        return condensed, []
    rag = _rag(req, qidx)
    if rag is not None:
        return rag, []
    return _generic(req, qidx), []


def respond(req: EngineRequest) -> ChatOutcome:
    """Answer a chat request, executing allowed built-in tools server-side.

    Returns:
        The final text (or tool requests for the client), usage and executed tools.
    """
    executions: list[dict[str, Any]] = []
    messages = list(req.messages)
    input_tokens = _input_tokens(req)
    for _round in range(8):
        work = EngineRequest(**{**req.__dict__, "messages": messages})
        text, calls = _answer_once(work)
        server = [c for c in calls if c.name in req.auto_execute]
        client = [c for c in calls if c.name not in req.auto_execute]
        if not server:
            break
        results = []
        for call in server:
            result = execute_builtin(call.name, call.input)
            executions.append(
                {
                    "toolUseId": call.tool_use_id,
                    "name": call.name,
                    "input": call.input,
                    "status": "complete",
                    "result": result,
                }
            )
            results.append(ToolResult(call.tool_use_id, json.dumps(result, sort_keys=True)))
        if client:
            calls = client
            break
        messages = [
            *messages,
            Msg("assistant", tool_uses=server),
            Msg("user", tool_results=results),
        ]
    if calls:
        out_tokens = count_tokens(text) + sum(count_tokens(json.dumps(c.input)) for c in calls)
        return ChatOutcome(
            text=text,
            finish_reason="tool_use",
            tool_calls=calls,
            executions=executions,
            input_tokens=input_tokens,
            output_tokens=out_tokens,
            cost_cents=req.model.cost_cents(input_tokens, out_tokens),
        )
    text, finish = _apply_limits(text, req)
    out_tokens = count_tokens(text)
    return ChatOutcome(
        text=text,
        finish_reason=finish,
        tool_calls=[],
        executions=executions,
        input_tokens=input_tokens,
        output_tokens=out_tokens,
        cost_cents=req.model.cost_cents(input_tokens, out_tokens),
    )
