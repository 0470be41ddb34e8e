"""Arithmetic understanding of the emulated model: exact answers, operation tools, chaining.

The emulated model never states a wrong number. A question is turned into *steps*
(``multiply 6 and 7, then add 3 to the result`` is ``6 * 7`` then ``<previous> + 3``); when
every step is understood the answer is computed exactly, otherwise no number is claimed.

Tools are matched to steps by meaning: a tool whose name or description says *multiply*,
*product*, *times* or *mul* performs multiplication, *add*, *sum*, *plus* addition, and so on;
a tool taking an ``expression`` (or named like a calculator) performs any of them.
"""

from __future__ import annotations

import ast
import json
import re
from dataclasses import dataclass, replace
from typing import Any

from quant_ai.emulator.text import norm_word, numbers_in, safe_eval, split_name

__all__ = [
    "OPERATIONS",
    "Operation",
    "Ref",
    "Step",
    "connected",
    "evaluate",
    "format_number",
    "is_calculator",
    "number_from_result",
    "parse_steps",
    "plan",
    "refers_to_previous",
    "segment_operation",
    "step_for",
    "tool_operation",
]

OPERATIONS = {"add": "+", "subtract": "-", "multiply": "*", "divide": "/", "power": "**"}
"""Operation name to Python operator."""

_OP_ALIASES = {
    "add": "add",
    "addition": "add",
    "plus": "add",
    "sum": "add",
    "total": "add",
    "subtract": "subtract",
    "sub": "subtract",
    "minus": "subtract",
    "difference": "subtract",
    "multiply": "multiply",
    "mul": "multiply",
    "mult": "multiply",
    "times": "multiply",
    "product": "multiply",
    "prod": "multiply",
    "divide": "divide",
    "div": "divide",
    "quotient": "divide",
    "ratio": "divide",
    "power": "power",
    "pow": "power",
    "exponent": "power",
    "exponentiate": "power",
}
_CALC_WORDS = {"calculate", "calculator", "calc", "evaluate", "arithmetic", "expression", "eval"}
_EXPRESSION_PROPS = {"expression", "formula", "equation", "expr"}
_WORD_RE = re.compile(r"[A-Za-z]+")
_REFERENCE = re.compile(
    r"\b(?:the\s+)?(?:previous\s+|last\s+|that\s+)?(?:result|answer|output|outcome)\b"
    r"|\b(?:it|that|this)\b",
    re.IGNORECASE,
)
_WEAK_REFERENCE = re.compile(r"\bthe\s+(?:product|sum|total|difference|quotient)\b", re.I)
_INFIX = (
    (re.compile(r"(?<=\d)\s*(?:x|\u00d7|times|multiplied\s+by)\s*(?=-?\d)", re.I), " * "),
    (re.compile(r"(?<=\d)\s*(?:\u00f7|divided\s+by|over)\s*(?=-?\d)", re.I), " / "),
    (re.compile(r"(?<=\d)\s+plus\s+(?=-?\d)", re.I), " + "),
    (re.compile(r"(?<=\d)\s+minus\s+(?=-?\d)", re.I), " - "),
    (re.compile(r"(?<=\d)\s*(?:to\s+the\s+power\s+of|\^)\s*(?=-?\d)", re.I), " ** "),
)
_EXPR_RE = re.compile(r"[-+*/%().\d\s]*\d[-+*/%().\d\s]*")
_THEN = re.compile(r"\bthen\b|\bafter\s+that\b|\bafterwards\b|\bnext\b", re.I)
_OP_VERB_RE = re.compile(
    r"\b(?:add|plus|sum|subtract|minus|multiply|times|divide|raise|square)\b", re.I
)


@dataclass(frozen=True)
class Step:
    """One arithmetic operation of a question.

    Attributes:
        op: ``add``, ``subtract``, ``multiply``, ``divide``, ``power`` or ``expression``.
        operands: Numbers, or ``None`` for "the previous step's result".
        expression: The expression text of an ``expression`` step.
        text: The part of the question the step comes from.
        phase: Which ``then``-separated part of the question the step is in.
    """

    op: str
    operands: tuple[float | None, ...] = ()
    expression: str = ""
    text: str = ""
    phase: int = 0

    @property
    def chained(self) -> bool:
        """Whether the step uses the previous step's result."""
        return any(o is None for o in self.operands)

    def values(self, previous: float | None) -> list[float]:
        """The operands with the previous result put in.

        Raises:
            ValueError: When the step needs a previous result and there is none.
        """
        out = []
        for operand in self.operands:
            if operand is None:
                if previous is None:
                    raise ValueError("no previous result")
                out.append(previous)
            else:
                out.append(operand)
        return out

    def compute(self, previous: float | None) -> float:
        """The exact value of the step.

        Raises:
            ValueError: For division by zero or a step that cannot be evaluated.
        """
        if self.op == "expression":
            return safe_eval(self.expression)
        return safe_eval(self.render(previous))

    def render(self, previous: float | None) -> str:
        """The step as an expression (``6 * 7``)."""
        if self.op == "expression":
            return self.expression
        symbol = OPERATIONS[self.op]
        return f" {symbol} ".join(_paren(format_number(v)) for v in self.values(previous))


def _paren(text: str) -> str:
    return f"({text})" if text.startswith("-") else text


def format_number(value: float) -> str:
    """``42`` for whole numbers, else up to 10 decimals without trailing zeros."""
    if value == int(value) and abs(value) < 1e15:
        return str(int(value))
    return f"{round(value, 10):.10f}".rstrip("0").rstrip(".")


def _normalise(text: str) -> str:
    for pattern, symbol in _INFIX:
        text = pattern.sub(symbol, text)
    return text


def _operations(words: list[str]) -> list[str]:
    ops = []
    for word in words:
        op = _OP_ALIASES.get(word.lower()) or _OP_ALIASES.get(norm_word(word))
        if op and op not in ops:
            ops.append(op)
    return ops


def segment_operation(text: str) -> str | None:
    """The single operation a piece of text asks for (by its words), if exactly one."""
    ops = _operations(_WORD_RE.findall(text))
    return ops[0] if len(ops) == 1 else None


def refers_to_previous(text: str) -> bool:
    """Whether ``text`` refers to an earlier result (``the result``, ``it``)."""
    return bool(_REFERENCE.search(text))


def _expression_in(text: str) -> str | None:
    best = ""
    for match in _EXPR_RE.finditer(text):
        cand = match.group(0).strip()
        if re.search(r"\d\s*[-+*/%]+\s*[-(\d]", cand) and len(cand) > len(best):
            best = cand
    return best or None


def _pieces(text: str) -> list[tuple[str, int]]:
    """Split a question into its successive operations, each with its ``then`` phase."""
    pieces: list[tuple[str, int]] = []
    for n, phase in enumerate(_THEN.split(text)):
        verbs = list(_OP_VERB_RE.finditer(phase))
        if len(verbs) <= 1:
            pieces.append((phase, n))
            continue
        starts = [0] + [v.start() for v in verbs[1:]]
        for a, b in zip(starts, [*starts[1:], len(phase)], strict=True):
            pieces.append((phase[a:b], n))
    return [(p.strip(" ,;.!?"), n) for p, n in pieces if p.strip(" ,;.!?")]


def _step(piece: str, has_previous: bool) -> Step | bool | None:
    """A step for one piece; ``False`` when the piece is not arithmetic at all."""
    normal = _normalise(piece)
    expression = _expression_in(normal)
    numbers = numbers_in(normal)
    if expression is not None:
        if len(numbers_in(expression)) != len(numbers):
            return None  # numbers outside the expression: ambiguous
        return Step("expression", expression=expression, text=piece)
    op = segment_operation(normal)
    ops = _operations(_WORD_RE.findall(normal))
    if not ops:
        return None if numbers else False
    if op is None:
        return None
    refers = has_previous and (
        refers_to_previous(normal) or (len(numbers) < 2 and bool(_WEAK_REFERENCE.search(normal)))
    )
    if has_previous and not refers and len(numbers) < 2:
        refers = True  # "then add 3": to the running result
    operands: list[float | None] = list(numbers)
    if refers:
        ref = _REFERENCE.search(normal) or _WEAK_REFERENCE.search(normal)
        first_number = re.search(r"\d", normal)
        ref_first = ref is None or first_number is None or ref.start() < first_number.start()
        if op in ("add", "multiply"):
            operands.insert(0, None)  # commutative: the running result first
        elif re.search(r"\bfrom\b", normal, re.I) and op == "subtract":
            operands = [None, *numbers] if not ref_first else [*numbers, None]
        else:
            operands = [None, *numbers] if ref_first else [*numbers, None]
    elif op == "subtract" and len(numbers) == 2 and re.search(r"\bfrom\b", normal, re.I):
        operands = [numbers[1], numbers[0]]  # subtract 3 from 10
    if len(operands) < 2:
        return None
    return Step(op, tuple(operands), text=piece)


def step_for(text: str, *, has_previous: bool) -> Step | None:
    """The single arithmetic step of one piece of text (``None`` when it is not one)."""
    pieces = _pieces(_normalise(text))
    if len(pieces) != 1:
        return None
    step = _step(pieces[0][0], has_previous)
    return step if isinstance(step, Step) else None


def parse_steps(text: str) -> list[Step] | None:
    """The arithmetic steps of ``text``, or ``None`` when it is not fully understood.

    Pieces without numbers or operation words (``please``, ``tell me``) are ignored; a piece
    with numbers that cannot be read as one operation makes the whole text not understood.
    """
    steps: list[Step] = []
    for piece, phase in _pieces(_normalise(text)):
        step = _step(piece, has_previous=bool(steps))
        if step is False:
            continue
        if step is None or step is True:
            return None
        steps.append(replace(step, phase=phase))
    return steps or None


def evaluate(steps: list[Step]) -> list[float]:
    """The value of every step (each chained step uses the one before).

    Raises:
        ValueError: When a step cannot be computed (division by zero, overflow).
    """
    values: list[float] = []
    for step in steps:
        values.append(step.compute(values[-1] if values else None))
    return values


def _props(schema: Any) -> dict[str, Any]:
    props = schema.get("properties") if isinstance(schema, dict) else None
    return props if isinstance(props, dict) else {}


def is_calculator(name: str, description: str, schema: Any) -> bool:
    """Whether a tool evaluates expressions (an ``expression`` argument or a calculator name)."""
    words = {w.lower() for w in split_name(name)}
    if words & _CALC_WORDS:
        return True
    return any(p.lower() in _EXPRESSION_PROPS for p in _props(schema))


def _numeric_inputs(schema: Any) -> int:
    count = 0
    for sub in _props(schema).values():
        if not isinstance(sub, dict):
            continue
        typ = sub.get("type")
        if typ in ("integer", "number"):
            count += 1
        elif typ == "array" and isinstance(sub.get("items"), dict):
            if sub["items"].get("type") in ("integer", "number"):
                count += 2
        elif isinstance(sub.get("anyOf"), list) and any(
            isinstance(c, dict) and c.get("type") in ("integer", "number") for c in sub["anyOf"]
        ):
            count += 1
    return count


def tool_operation(name: str, description: str, schema: Any) -> str | None:
    """The operation a tool performs: by its name, else by its description.

    Returns:
        An :data:`OPERATIONS` key, ``"calculate"`` for an expression evaluator, or ``None``.
    """
    if is_calculator(name, description, schema):
        return "calculate"
    if _numeric_inputs(schema) < 2:
        return None
    by_name = _operations(split_name(name))
    if len(by_name) == 1:
        return by_name[0]
    by_description = _operations(_WORD_RE.findall(description.split(".")[0]))
    if len(by_description) >= 1:
        return by_description[0]
    return None


def number_from_result(text: str) -> float | None:
    """The number a tool returned (``42``, ``{"result": 42}``, ``"42.0"``), if it is one."""
    try:
        value = json.loads(text)
    except ValueError:
        value = text
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        for key in ("result", "value", "answer", "output", "content"):
            if key in value:
                return number_from_result(json.dumps(value[key]))
        return None
    if isinstance(value, str):
        found = numbers_in(value)
        if len(found) == 1 and re.fullmatch(r"\s*\S*\s*-?[\d.]+\s*\S*\s*", value):
            return found[0]
    return None


# -- plans of binary operations (for tools that do one operation each) ----------------------


@dataclass(frozen=True)
class Ref:
    """An operand that is the value of an earlier operation of the plan."""

    index: int


Operand = float | Ref


@dataclass(frozen=True)
class Operation:
    """One call-sized operation of a plan.

    Attributes:
        op: An :data:`OPERATIONS` key, or ``expression`` (evaluated whole).
        args: Numbers or references to earlier operations (binary operations).
        expression: The text of an ``expression`` operation.
        new_round: Starts a new round of calls (the question said ``then``).
    """

    op: str
    args: tuple[Operand, ...] = ()
    expression: str = ""
    new_round: bool = False

    def refs(self) -> set[int]:
        """The earlier operations this one needs."""
        return {a.index for a in self.args if isinstance(a, Ref)}

    def operands(self, values: list[float | None]) -> list[float]:
        """The numbers of this operation, earlier results put in.

        Raises:
            ValueError: When an earlier result is not known.
        """
        out = []
        for arg in self.args:
            value = values[arg.index] if isinstance(arg, Ref) else arg
            if value is None:
                raise ValueError("an earlier result is missing")
            out.append(value)
        return out

    def render(self, values: list[float | None]) -> str:
        """The operation as an expression (``6 * 7``)."""
        if self.op == "expression":
            return self.expression
        symbol = f" {OPERATIONS[self.op]} "
        return symbol.join(_paren(format_number(v)) for v in self.operands(values))

    def compute(self, values: list[float | None]) -> float:
        """The exact value.

        Raises:
            ValueError: For division by zero, overflow or a missing earlier result.
        """
        return safe_eval(self.render(values))


_AST_OPS: dict[type[ast.operator], str] = {
    ast.Add: "add",
    ast.Sub: "subtract",
    ast.Mult: "multiply",
    ast.Div: "divide",
    ast.Pow: "power",
}


def _expand(expression: str, out: list[Operation], new_round: bool) -> int | None:
    """Append the binary operations of ``expression`` (innermost first); return the last."""
    try:
        tree = ast.parse(expression, mode="eval").body
    except SyntaxError:
        return None

    def operand(node: ast.expr) -> Operand | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            inner = operand(node.operand)
            return -inner if isinstance(inner, float) else None
        if isinstance(node, ast.BinOp) and type(node.op) in _AST_OPS:
            left, right = operand(node.left), operand(node.right)
            if left is None or right is None:
                return None
            out.append(Operation(_AST_OPS[type(node.op)], (left, right)))
            return Ref(len(out) - 1)
        return None

    start = len(out)
    result = operand(tree)
    if not isinstance(result, Ref):
        del out[start:]
        return None
    if new_round and len(out) > start:
        out[start] = replace(out[start], new_round=True)
    for k in range(start + 1, len(out)):
        out[k] = replace(out[k], new_round=False)
    return result.index


def plan(steps: list[Step], *, expand: bool) -> list[Operation] | None:
    """The operations of ``steps``: expressions split into binary operations when ``expand``.

    Returns:
        The plan, or ``None`` when an expression cannot be split (``%``, ``//``).
    """
    out: list[Operation] = []
    last: int | None = None
    phase = steps[0].phase if steps else 0
    for step in steps:
        new_round = bool(out) and step.phase != phase
        phase = step.phase
        if step.op == "expression":
            if expand:
                index = _expand(step.expression, out, new_round)
                if index is None:
                    return None
                last = index
            else:
                out.append(Operation("expression", expression=step.expression, new_round=new_round))
                last = len(out) - 1
            continue
        args: list[Operand] = [
            (Ref(last) if last is not None else 0.0) if a is None else a for a in step.operands
        ]
        current: Operand = args[0]
        for n, arg in enumerate(args[1:]):
            out.append(Operation(step.op, (current, arg), new_round=new_round and n == 0))
            current = Ref(len(out) - 1)
        last = len(out) - 1
    return out or None


def connected(operations: list[Operation]) -> bool:
    """Whether the last operation's value depends on every operation (one final answer)."""
    needed = {len(operations) - 1}
    frontier = [len(operations) - 1]
    while frontier:
        for ref in operations[frontier.pop()].refs():
            if ref not in needed:
                needed.add(ref)
                frontier.append(ref)
    return len(needed) == len(operations)
