"""Deterministic embeddings from hashed word and bigram features (pure Python, fast).

Each word and each pair of neighbouring words adds a signed weight to a few hashed dimensions,
so texts that share words are closer (cosine) than texts that do not. Vectors are sparse; the
JSON text is built from the non-zero entries and cached runs of zeros, and the vector of a text
is cached, which keeps 100-text requests well under a millisecond once seen (the emulator's own
CPU time must not bound the client benchmarks: the real service computes on its machines).
"""

from __future__ import annotations

import base64
import hashlib
import math
import re
import struct
from collections.abc import Sequence
from functools import lru_cache
from itertools import pairwise

__all__ = [
    "embed_text",
    "embed_tokens",
    "text_vector_base64",
    "text_vector_json",
    "vector_base64",
    "vector_json",
    "vectors_json",
]

_WORD_RE = re.compile(r"\w+")


@lru_cache(maxsize=65_536)
def _buckets(feature: str, dim: int) -> tuple[tuple[int, float], ...]:
    digest = hashlib.blake2b(feature.encode(), digest_size=16).digest()
    out = []
    for i in range(3):
        idx = int.from_bytes(digest[i * 4 : i * 4 + 3], "big") % dim
        sign = 1.0 if digest[i * 4 + 3] & 1 else -1.0
        out.append((idx, sign * (1.0 if i == 0 else 0.5)))
    return tuple(out)


def _vector(features: list[tuple[str, float]], dim: int, normalize: bool) -> dict[int, float]:
    vec: dict[int, float] = {}
    if not features:
        features = [("<empty>", 1.0)]
    for feat, weight in features:
        for idx, w in _buckets(feat, dim):
            vec[idx] = vec.get(idx, 0.0) + w * weight
    if normalize:
        norm = math.sqrt(sum(v * v for v in vec.values()))
        if norm > 0:
            vec = {k: v / norm for k, v in vec.items()}
    return vec


@lru_cache(maxsize=32_768)
def embed_text(text: str, dim: int, normalize: bool = True) -> dict[int, float]:
    """Sparse vector (index -> value) of a text (cached: callers must not change it)."""
    words = [w.lower() for w in _WORD_RE.findall(text)]
    features = [("w:" + w, 1.0) for w in words]
    features += [(f"b:{a} {b}", 0.5) for a, b in pairwise(words)]
    return _vector(features, dim, normalize)


def embed_tokens(tokens: Sequence[int], dim: int, normalize: bool = True) -> dict[int, float]:
    """Sparse vector of a list of token ids (OpenAI clients may send tokens, not text)."""
    features = [(f"t:{t}", 1.0) for t in tokens]
    features += [(f"tb:{a} {b}", 0.5) for a, b in pairwise(tokens)]
    return _vector(features, dim, normalize)


@lru_cache(maxsize=16_384)
def _zeros(count: int) -> str:
    """``count`` JSON zeros separated by commas."""
    return ",".join(("0.0",) * count)


def vector_json(vec: dict[int, float], dim: int) -> str:
    """JSON array text of a sparse vector (work in proportion to its non-zero entries)."""
    parts = []
    last = -1
    for idx in sorted(vec):
        if idx > last + 1:
            parts.append(_zeros(idx - last - 1))
        parts.append(repr(round(vec[idx], 8)))
        last = idx
    if dim > last + 1:
        parts.append(_zeros(dim - last - 1))
    return "[" + ",".join(parts) + "]"


@lru_cache(maxsize=16_384)
def text_vector_json(text: str, dim: int, normalize: bool = True) -> str:
    """JSON array text of a text's vector (cached)."""
    return vector_json(embed_text(text, dim, normalize), dim)


def vectors_json(vectors: list[dict[int, float]], dim: int) -> list[str]:
    """JSON array texts of several sparse vectors."""
    return [vector_json(v, dim) for v in vectors]


def vector_base64(vec: dict[int, float], dim: int) -> str:
    """Little-endian float32 bytes of a vector, base64-encoded (OpenAI ``encoding_format``)."""
    dense = [0.0] * dim
    for idx, value in vec.items():
        dense[idx] = value
    return base64.b64encode(struct.pack(f"<{dim}f", *dense)).decode("ascii")


@lru_cache(maxsize=16_384)
def text_vector_base64(text: str, dim: int, normalize: bool = True) -> str:
    """Base64 float32 form of a text's vector (cached)."""
    return vector_base64(embed_text(text, dim, normalize), dim)
