"""Build JSON values that satisfy a JSON schema, filled from words and numbers of a text.

Used for tool-call arguments and for ``responseFormat`` JSON answers. Rules, in short:

- numbers are taken from the text in order (clamped to ``minimum``/``maximum``);
- enums match a value named in the text, else the default or the first value;
- location/name-like strings take the next capitalised word group (``Paris``, ``New York``);
  query-like strings take the phrase after ``for``/``about``/``of`` (or the cleaned text);
  ``expression`` strings take an arithmetic expression (or one built from verbs and numbers);
  ``format`` date/date-time/email/uri/uuid get a valid value;
- booleans are true when the property's words appear in the text (not after ``not``/``no``);
- ``$ref``/``$defs`` (as pydantic emits them), ``allOf``, ``anyOf``/``oneOf`` (first non-null
  choice, ``null`` when nothing in the text fills an optional one), nested objects and arrays.
"""

from __future__ import annotations

import re
from typing import Any, cast

from quant_ai.emulator.text import (
    STOPWORDS,
    caps_groups,
    find_expression,
    norm_word,
    numbers_in,
    split_name,
)

__all__ = ["Filler", "sample_for_pattern"]

_LOCATION = {"location", "city", "place", "country", "destination", "origin", "region", "town"}
_NAMEISH = {"name", "title", "person", "author", "company", "user", "username", "owner"}
_QUERYISH = {
    "query",
    "q",
    "search",
    "text",
    "prompt",
    "question",
    "topic",
    "keyword",
    "input",
    "message",
    "content",
    "description",
    "subject",
    "term",
}
_EXPRESSION = {"expression", "formula", "equation", "expr"}
_NEGATIONS = {"not", "no", "without", "never", "don't", "dont", "isn't", "false"}
_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'\-]*")
_MISSING = object()


_QUOTED_RE = re.compile(
    r'"([^"]+)"|\u201c([^\u201d]+)\u201d|\u300c([^\u300d]+)\u300d|(?<!\w)\'([^\']+)\'(?!\w)'
)


class Filler:
    """Fill schemas from one piece of text; values are consumed in order.

    Args:
        text: The text to take values from.
        root: The root schema (for ``$ref`` resolution).
        fill_all: Fill optional properties too (``responseFormat``) instead of only those the
            text provides (tool arguments).
        exclude: Normalised words never used as string values (e.g. the tool's name words).
    """

    def __init__(
        self,
        text: str,
        root: dict[str, Any],
        *,
        fill_all: bool = False,
        exclude: set[str] | None = None,
    ) -> None:
        self.text = text
        self.root = root
        self.fill_all = fill_all
        self.exclude = exclude or set()
        self.numbers = numbers_in(text)
        # each name once: a name used for one field is not reused for the next
        self.caps = _names_first(text, list(dict.fromkeys(caps_groups(text, self.exclude))))
        self.words = [
            w
            for w in _WORD_RE.findall(text)
            if w.lower() not in STOPWORDS and norm_word(w) not in self.exclude
        ]
        self.lower_words = [w.lower() for w in _WORD_RE.findall(text)]
        self.quoted = [next(g for g in m if g) for m in _QUOTED_RE.findall(text) if any(m)]

    # -- public -----------------------------------------------------------------------------

    def fill(self, schema: dict[str, Any], name: str = "") -> Any:
        """Return a value for ``schema`` (always one; never the missing marker)."""
        value, _found = self._value(schema, name, depth=0)
        return value

    # -- internals --------------------------------------------------------------------------

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        seen = 0
        while "$ref" in schema and seen < 32:
            ref = str(schema["$ref"])
            target: Any = self.root
            if not ref.startswith("#"):
                return {}
            for part in ref.lstrip("#/").split("/"):
                if not part:
                    continue
                target = target.get(part.replace("~1", "/").replace("~0", "~"), {})
            merged = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **merged} if isinstance(target, dict) else merged
            seen += 1
        if "allOf" in schema and isinstance(schema["allOf"], list):
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for sub in schema["allOf"]:
                if isinstance(sub, dict):
                    sub = self._resolve(sub)
                    props = {**sub.get("properties", {}), **merged.get("properties", {})}
                    req = list(sub.get("required", [])) + list(merged.get("required", []))
                    merged = {**sub, **merged}
                    if props:
                        merged["properties"] = props
                    if req:
                        merged["required"] = req
            schema = merged
        return schema

    def _value(self, schema: Any, name: str, depth: int) -> tuple[Any, bool]:
        if not isinstance(schema, dict) or depth > 12:
            return self._string({}, name)
        schema = self._resolve(schema)
        if "const" in schema:
            return schema["const"], True
        if "enum" in schema and isinstance(schema["enum"], list) and schema["enum"]:
            return self._enum(schema)
        for key in ("anyOf", "oneOf"):
            choices = schema.get(key)
            if isinstance(choices, list) and choices:
                resolved = [self._resolve(c) if isinstance(c, dict) else {} for c in choices]
                non_null = [c for c in resolved if c.get("type") != "null"]
                nullable = len(non_null) < len(resolved)
                if not non_null:
                    return None, False
                value, found = self._value(non_null[0], name, depth + 1)
                if nullable and not found and "default" not in schema:
                    return None, False
                return value, found
        typ = schema.get("type")
        if isinstance(typ, list):
            non_null_types = [t for t in typ if t != "null"]
            typ = non_null_types[0] if non_null_types else "null"
        if typ is None:
            typ = "object" if "properties" in schema else ("array" if "items" in schema else "")
        if typ == "object":
            return self._object(schema, depth), True
        if typ == "array":
            return self._array(schema, name, depth)
        if typ in ("integer", "number"):
            return self._number(schema, typ == "integer")
        if typ == "boolean":
            return self._boolean(schema, name)
        if typ == "null":
            return None, True
        return self._string(schema, name)

    def _object(self, schema: dict[str, Any], depth: int) -> dict[str, Any]:
        props = schema.get("properties")
        required = set(schema.get("required", []))
        out: dict[str, Any] = {}
        if not isinstance(props, dict):
            return out
        for prop, sub in props.items():
            value, found = self._value(sub, prop, depth + 1)
            if prop in required or found or self.fill_all:
                out[prop] = value
        return out

    def _array(self, schema: dict[str, Any], name: str, depth: int) -> tuple[list[Any], bool]:
        items = schema.get("items", {})
        items = self._resolve(items) if isinstance(items, dict) else {}
        lo = int(schema.get("minItems", 0))
        hi = int(schema.get("maxItems", 10))
        typ = items.get("type")
        values: list[Any] = []
        if typ in ("integer", "number") and not items.get("enum"):
            while len(values) < hi:
                value, found = self._number(items, typ == "integer")
                if not found:
                    break
                values.append(value)
        elif typ == "string" and not items.get("enum") and not items.get("format"):
            pool = self.caps if len(self.caps) > 1 else self.words
            values = list(pool[: max(hi, 0)])
            if values:
                self.caps = [c for c in self.caps if c not in values]
        found = bool(values)
        if not values and (lo > 0 or self.fill_all):
            values.append(self._value(items, name, depth + 1)[0])
        while len(values) < lo:
            values.append(values[-1] if values else self._value(items, name, depth + 1)[0])
        return values[:hi] if hi >= lo else values, found

    def _enum(self, schema: dict[str, Any]) -> tuple[Any, bool]:
        options = schema["enum"]
        text = self.text.lower()
        for opt in options:
            label = str(opt).lower().replace("_", " ")
            if label and re.search(rf"\b{re.escape(label)}\b", text):
                return opt, True
        if "default" in schema and schema["default"] in options:
            return schema["default"], False
        return options[0], False

    def _number(self, schema: dict[str, Any], integer: bool) -> tuple[Any, bool]:
        found = bool(self.numbers)
        if found:
            value = self.numbers.pop(0)
        elif isinstance(schema.get("default"), (int, float)):
            value = float(schema["default"])
        else:
            value = float(schema.get("minimum", schema.get("exclusiveMinimum", 0)))
        value = _in_bounds(value, schema, integer)
        if integer or value == int(value):
            return round(value), found
        return value, found

    def _boolean(self, schema: dict[str, Any], name: str) -> tuple[bool, bool]:
        words = [w for w in split_name(name) if w not in STOPWORDS]
        lowered = [norm_word(w) for w in self.lower_words]
        for i, w in enumerate(lowered):
            if w in words:
                negated = any(p in _NEGATIONS for p in self.lower_words[max(0, i - 3) : i])
                return not negated, True
        default = schema.get("default")
        return (default if isinstance(default, bool) else False), False

    def _string(self, schema: dict[str, Any], name: str) -> tuple[str, bool]:
        fmt = schema.get("format")
        words = set(split_name(name)) if name else set()
        value: str | None = None
        if fmt == "date":
            m = re.search(r"\d{4}-\d{2}-\d{2}", self.text)
            value = m.group(0) if m else "2025-01-01"
        elif fmt == "date-time":
            m = re.search(r"\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})", self.text)
            value = m.group(0) if m else "2025-01-01T00:00:00Z"
        elif fmt == "email":
            m = re.search(r"[\w.+-]+@[\w-]+\.[\w.]+", self.text)
            value = m.group(0) if m else "user@example.com"
        elif fmt in ("uri", "url"):
            m = re.search(r"https?://\S+", self.text)
            value = m.group(0).rstrip(".,)") if m else "https://example.com"
        elif fmt == "uuid":
            value = "00000000-0000-4000-8000-000000000000"
        if value is not None:
            return value, True
        found = True
        if self.quoted and not words & _EXPRESSION:  # a quoted phrase is meant literally
            value = self.quoted.pop(0)
        elif words & _EXPRESSION:
            value = find_expression(self.text)
        elif words & (_LOCATION | _NAMEISH) or name.lower().endswith("name"):
            value = self._take_caps() or self._take_word()
        elif words & _QUERYISH:
            value = self._phrase()
        else:
            value = self._take_caps() or self._take_word()
        if not value:
            found = False
            value = str(schema.get("default") or (name or "value"))
        min_len = int(schema.get("minLength", 0))
        max_len = schema.get("maxLength")
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and not _matches(pattern, value):
            # the text's own words first (``AAPL`` for a ticker), else a made-up match
            pool = [*self.quoted, *self.caps, *(w for w in self.words), *map(_num, self.numbers)]
            value = next((c for c in pool if _matches(pattern, c)), None) or (
                sample_for_pattern(pattern, min_len) or value
            )
        if len(value) < min_len:
            value = value + "x" * (min_len - len(value))
        if isinstance(max_len, int) and len(value) > max_len:
            value = value[:max_len]
        return value, found

    def _take_caps(self) -> str | None:
        if self.caps:
            value = self.caps.pop(0)
            first = value.split()[0]
            if first in self.words:
                self.words.remove(first)
            return value
        return None

    def _take_word(self) -> str | None:
        if self.words:
            word: str = self.words.pop(0)
            return word
        return None

    def _phrase(self) -> str:
        m = re.search(r"\b(?:for|about|of|on)\s+(.+)", self.text, re.IGNORECASE)
        phrase = m.group(1) if m else self.text
        phrase = phrase.strip().rstrip("?.!").strip()
        return phrase or self.text.strip()


def _num(value: float) -> str:
    return str(int(value)) if value == int(value) else str(value)


def _bound(schema: dict[str, Any], key: str) -> float | None:
    value = schema.get(key)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _in_bounds(value: float, schema: dict[str, Any], integer: bool) -> float:
    """Clamp into ``minimum``/``maximum``/exclusive bounds and onto ``multipleOf``."""
    lo, hi = _bound(schema, "minimum"), _bound(schema, "maximum")
    xlo, xhi = _bound(schema, "exclusiveMinimum"), _bound(schema, "exclusiveMaximum")
    step = _bound(schema, "multipleOf")
    lows = [b for b in (lo, xlo) if b is not None]
    highs = [b for b in (hi, xhi) if b is not None]
    low = max(lows) if lows else None
    high = min(highs) if highs else None
    if low is not None and value < low:
        value = low
    if high is not None and value > high:
        value = high
    if xlo is not None and value <= xlo:
        value = xlo + (1.0 if integer else _gap(xlo, high))
    if xhi is not None and value >= xhi:
        value = xhi - (1.0 if integer else _gap(low, xhi))
    if step is not None and step > 0:
        multiple = round(value / step) * step
        for candidate in (multiple, multiple + step, multiple - step):
            inside = (low is None or candidate >= low) and (high is None or candidate <= high)
            strict = (xlo is None or candidate > xlo) and (xhi is None or candidate < xhi)
            if inside and strict:
                value = candidate
                break
    return value


def _gap(low: float | None, high: float | None) -> float:
    """A step that stays inside an open interval (half its width, at most 1)."""
    if low is not None and high is not None and high > low:
        return min(1.0, (high - low) / 2)
    return 1.0


def _matches(pattern: str, value: str) -> bool:
    try:
        return re.search(pattern, value) is not None
    except re.error:
        return True  # a pattern Python cannot read is not ours to enforce


def sample_for_pattern(pattern: str, min_length: int = 0) -> str | None:
    """A short string matching a regular expression (JSON-schema ``pattern``), if one is found.

    Walks the parsed pattern taking the first choice of every class, branch and repeat
    (repeats at their minimum count), then checks the result. Back-references and
    look-arounds are not followed; ``None`` when the result does not match.
    """
    try:
        parsed = _sre_parse(pattern)
        text = _generate(list(parsed))
    except Exception:  # any unsupported construct: no sample
        return None
    if len(text) < min_length and _matches(pattern, text + "x" * (min_length - len(text))):
        text += "x" * (min_length - len(text))
    return text if _matches(pattern, text) else None


def _sre_parse(pattern: str) -> Any:
    try:
        from re import _parser as parser  # type: ignore[attr-defined]  # Python 3.11+
    except ImportError:  # pragma: no cover - Python 3.10
        import sre_parse as parser
    return parser.parse(pattern)


_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
}
_POOL = "aA0_-. xzZ9@/:#"


def _generate(items: list[tuple[Any, Any]]) -> str:
    out: list[str] = []
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if arg != ord("a") else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_class_char(list(arg)))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, _high, sub = arg
            out.append(_generate(list(sub)) * int(low))
        elif name in ("SUBPATTERN", "ATOMIC_GROUP"):
            out.append(_generate(list(arg[-1] if name == "SUBPATTERN" else arg)))
        elif name == "BRANCH":
            out.append(_generate(list(arg[1][0])))
        elif name == "CATEGORY":
            out.append(_CATEGORY_CHARS.get(str(arg), "a"))
        elif name == "AT":
            continue
        else:
            raise ValueError(f"unsupported pattern element {name}")
    return "".join(out)


def _class_char(items: list[tuple[Any, Any]]) -> str:
    """A character of a ``[...]`` class (its first member, or one outside a negated class)."""
    negate = any(str(op) == "NEGATE" for op, _arg in items)
    if not negate:
        op, arg = next((i for i in items if str(i[0]) != "NEGATE"), ("", None))
        arg = cast(Any, arg)
        if str(op) == "LITERAL":
            return chr(arg)
        if str(op) == "RANGE":
            return chr(arg[0])
        if str(op) == "CATEGORY":
            return _CATEGORY_CHARS.get(str(arg), "a")
    for ch in _POOL:
        if _in_class(items, ch) != negate:
            return ch
    raise ValueError("no character for the class")


def _in_class(items: list[tuple[Any, Any]], ch: str) -> bool:
    code = ord(ch)
    for op, arg in items:
        name = str(op)
        if name == "LITERAL" and arg == code:
            return True
        if name == "RANGE" and arg[0] <= code <= arg[1]:
            return True
        if name == "CATEGORY":
            sample = {"CATEGORY_DIGIT": r"\d", "CATEGORY_SPACE": r"\s", "CATEGORY_WORD": r"\w"}
            base = str(arg).replace("NOT_", "")
            hit = re.fullmatch(sample.get(base, r"\w"), ch) is not None
            if hit != ("NOT_" in str(arg)):
                return True
    return False


def _names_first(text: str, groups: list[str]) -> list[str]:
    """Put a single capitalised word that only starts a sentence (``Weather in Oslo?``) last.

    Such a word is capitalised by position, not because it is a name, so the names of the
    text (``Oslo``) are used first.
    """

    def initial(group: str) -> bool:
        if " " in group:
            return False
        found = [m.start() for m in re.finditer(rf"\b{re.escape(group)}\b", text)]
        return bool(found) and all(
            not text[:pos].strip() or text[:pos].rstrip()[-1] in ".!?:\n\"'(" for pos in found
        )

    return sorted(groups, key=initial)
