"""Deterministic embeddings from hashed word and bigram features (pure Python, fast).

Each word and each pair of neighbouring words adds a signed weight to a few hashed dimensions,
so texts that share words are closer (cosine) than texts that do not. Vectors are sparse; the
JSON text is built directly from precomputed strings, which keeps 100-text requests in the
millisecond range.
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

__all__ = ["embed_text", "embed_tokens", "vector_base64", "vector_json", "vectors_json"]

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


def embed_text(text: str, dim: int, normalize: bool = True) -> dict[int, float]:
    """Sparse vector (index -> value) of a text."""
    words = [w.lower() for w in _WORD_RE.findall(text)]
    features = [("w:" + w, 1.0) for w in words]
    features += [(f"b:{a} {b}", 0.5) for a, b in pairwise(words)]
    return _vector(features, dim, normalize)


def embed_tokens(tokens: Sequence[int], dim: int, normalize: bool = True) -> dict[int, float]:
    """Sparse vector of a list of token ids (OpenAI clients may send tokens, not text)."""
    features = [(f"t:{t}", 1.0) for t in tokens]
    features += [(f"tb:{a} {b}", 0.5) for a, b in pairwise(tokens)]
    return _vector(features, dim, normalize)


@lru_cache(maxsize=8)
def _zeros(dim: int) -> tuple[str, ...]:
    return ("0.0",) * dim


def vector_json(vec: dict[int, float], dim: int) -> str:
    """JSON array text of a sparse vector."""
    parts = list(_zeros(dim))
    for idx, value in vec.items():
        parts[idx] = repr(round(value, 8))
    return "[" + ",".join(parts) + "]"


def vectors_json(vectors: list[dict[int, float]], dim: int) -> list[str]:
    """JSON array texts of several sparse vectors."""
    return [vector_json(v, dim) for v in vectors]


def vector_base64(vec: dict[int, float], dim: int) -> str:
    """Little-endian float32 bytes of a vector, base64-encoded (OpenAI ``encoding_format``)."""
    dense = [0.0] * dim
    for idx, value in vec.items():
        dense[idx] = value
    return base64.b64encode(struct.pack(f"<{dim}f", *dense)).decode("ascii")
