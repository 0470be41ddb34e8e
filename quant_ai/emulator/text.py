"""Small deterministic text helpers: tokenizer, word features, safe arithmetic."""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

__all__ = [
    "STOPWORDS",
    "caps_groups",
    "content_words",
    "count_tokens",
    "find_expression",
    "norm_word",
    "numbers_in",
    "safe_eval",
    "split_name",
    "truncate_tokens",
]

_TOKEN_RE = re.compile(r"\w+|[^\w\s]")
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*[A-Za-z]|[A-Za-z]")
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w])")
_CAPS_RE = re.compile(r"\b[A-Z][a-zA-Z'\-]*(?:\s+[A-Z][a-zA-Z'\-]*)*")

_STOPWORD_TEXT = """
    a an the and or but if then than so to of in on at by for from with without about into
    over under as is are was were be been being am do does did done have has had having i
    me my you your he she it its we our they them their this that these those what which
    who whom whose when where why how all any both each few more most other some such no
    nor not only own same too very can will just should now please tell give show get find
    let lets let's could would may might must shall also use using tool tools call value
    values result hello hi hey yes ok okay thanks thank up down out off again once here
    there whats what's is's i'm im like want need know make take one two three four five
    six seven eight nine ten current currently given today answer question query context
    information
"""
STOPWORDS = frozenset(_STOPWORD_TEXT.split())

_SYNONYMS = {
    "plus": "add",
    "sum": "add",
    "addition": "add",
    "times": "multiply",
    "product": "multiply",
    "multiplied": "multiply",
    "multiplication": "multiply",
    "minus": "subtract",
    "difference": "subtract",
    "subtraction": "subtract",
    "divided": "divide",
    "quotient": "divide",
    "division": "divide",
    "temperature": "weather",
    "forecast": "weather",
    "compute": "calculate",
    "calculation": "calculate",
    "math": "calculate",
    "lookup": "search",
    "google": "search",
    "picture": "image",
    "draw": "image",
    "photo": "image",
    "painting": "image",
}


def count_tokens(text: str) -> int:
    """Count tokens: words and single punctuation marks."""
    return len(_TOKEN_RE.findall(text))


def truncate_tokens(text: str, limit: int) -> tuple[str, bool]:
    """Keep the first ``limit`` tokens of ``text``; return the text and whether it was cut."""
    for count, match in enumerate(_TOKEN_RE.finditer(text), start=1):
        if count == limit:
            end = match.end()
            return text[:end], end < len(text.rstrip())
    return text, False


def norm_word(word: str) -> str:
    """Lower-case, light stemming and synonyms, so related words compare equal."""
    w = word.lower().strip("'-")
    if w in _SYNONYMS:
        return _SYNONYMS[w]
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif len(w) > 3 and w.endswith("s") and not w.endswith("ss"):
        w = w[:-1]
    return _SYNONYMS.get(w, w)


def split_name(name: str) -> list[str]:
    """Split an identifier (snake, kebab or camel case) into normalised words."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [norm_word(p) for p in re.split(r"[\s_\-.:/]+", spaced) if p]


def content_words(text: str) -> list[str]:
    """Words of ``text`` that are not stopwords, normalised, in order."""
    out = []
    for w in _WORD_RE.findall(text):
        if w.lower() in STOPWORDS:
            continue
        out.append(norm_word(w))
    return out


def numbers_in(text: str) -> list[float]:
    """Numbers of ``text`` in order of appearance."""
    return [float(m) for m in _NUMBER_RE.findall(text)]


def caps_groups(text: str, exclude: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """Capitalised word groups (names such as ``New York``) that are not stopwords."""
    groups = []
    for match in _CAPS_RE.finditer(text):
        words = [
            w
            for w in match.group(0).split()
            if w.lower() not in STOPWORDS and norm_word(w) not in exclude
        ]
        if words:
            groups.append(" ".join(words))
    return groups


_EXPR_RE = re.compile(r"[-+*/^%().\d\s]*\d[-+*/^%().\d\s]*")
_VERB_OPS = (
    ("multiply", "*"),
    ("divide", "/"),
    ("subtract", "-"),
    ("add", "+"),
    ("power", "**"),
)


def find_expression(text: str) -> str:
    """Find an arithmetic expression in ``text`` or build one from its verbs and numbers."""
    cleaned = re.sub(r"(?<=\d)\s*[x\u00d7]\s*(?=\d)", " * ", text)
    best = ""
    for match in _EXPR_RE.finditer(cleaned):
        cand = match.group(0).strip()
        has_op = any(op in cand for op in "+-*/^%") and re.search(r"\d\s*[-+*/^%]", cand)
        if has_op and len(cand) > len(best):
            best = cand
    if best:
        return best.replace("^", "**")
    nums = [_fmt_number(n) for n in numbers_in(text)]
    words = {norm_word(w) for w in _WORD_RE.findall(text)}
    for verb, op in _VERB_OPS:
        if verb in words and nums:
            return f" {op} ".join(nums)
    return " + ".join(nums) if nums else "0"


def _fmt_number(n: float) -> str:
    return str(int(n)) if n == int(n) else repr(n)


_BIN_OPS: dict[type[ast.operator], Callable[[float, float], float]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv,
    ast.Mod: operator.mod,
    ast.Pow: operator.pow,
}


def safe_eval(expression: str) -> float:
    """Evaluate plain arithmetic (numbers, + - * / // % ** and parentheses) safely.

    Raises:
        ValueError: For anything else, or exponents/results that are too large.
    """
    try:
        tree = ast.parse(expression.replace("^", "**"), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"not an arithmetic expression: {expression!r}") from exc

    def ev(node: ast.AST) -> float:
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
            if isinstance(node.value, bool):
                raise ValueError("booleans are not numbers")
            return float(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.UAdd, ast.USub)):
            val = ev(node.operand)
            return -val if isinstance(node.op, ast.USub) else val
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN_OPS:
            left, right = ev(node.left), ev(node.right)
            if isinstance(node.op, ast.Pow) and (abs(right) > 64 or abs(left) > 1e6):
                raise ValueError("exponent too large")
            try:
                result = _BIN_OPS[type(node.op)](left, right)
            except ZeroDivisionError as exc:
                raise ValueError("division by zero") from exc
            if abs(result) > 1e300:
                raise ValueError("result too large")
            return result
        raise ValueError(f"unsupported element in expression: {expression!r}")

    return ev(tree)
